"""``proxyx explain`` for ``task.type: generate``: answer each question, explain the answer level by level.

For each question the oracle answers greedily from the whole context (that
answer is what is explained); then ``explainer.hierarchy`` (or the single
``explainer.unit``) is explained coarse to fine by
``proxyx.explainers.hierarchy`` with the config's value function, every mask
asked as a word-level mask of the same context, so all levels share one cache.
The calls and seconds of each level are read from the ledger around it.

With one proxy (``proxyx.generation.proxy``):

* and a proxy-informed ``explainer.estimator``: each level asks the oracle
  only ``oracle_samples`` masks and the proxy ``samples``;
* with ``estimator: plain``: the proxy substitutes for the oracle on the
  questions where it passes the gate, once the task-level screen
  (``screen.enabled``, or a saved ``--screen`` result) accepted it; a
  rejected proxy explains nothing.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from collections.abc import Callable

import numpy as np

from ..baseline import baseline_record, generated_baseline_summary
from ..config import Config
from ..errors import BudgetExceeded, ModelError
from ..explain import estimator_result
from ..explainers.hierarchy import LevelResult, on_spans, select
from ..ledger import Ledger
from ..report import created, versions
from ..results import Cost, ExplainReport, ExplainSummary, ScreenResult
from ..runtime import open_runtime
from ..results.generate import GeneratedInstance, GenerationInfo, GenLevel, ReuseInfo
from .data import QAInstance, load_qa
from .proxy import GenProxy, build_proxy, check_scoring, gate_rule
from .question import Question, hierarchy, plan, rule
from .screen import run_screen, validity
from .scorer import Generator
from .value import AnswerMatch, make_value

OnInstance = Callable[[int, int, str], None]


def explain_question(config: Config, gen: Generator, ledger: Ledger, x: QAInstance,
                     proxy: GenProxy | None = None) -> GeneratedInstance:
    """One question: the oracle's answer and its explanation at every level (``ModelError`` propagates).

    ``proxy``: sharpens the oracle with a proxy-informed ``explainer.estimator``;
    with ``estimator: plain`` it explains in the oracle's place when it passes the gate."""
    ex = config.explainer
    levels, _, top_k, threshold = plan(config)
    start, t0 = ledger.snapshot(), time.perf_counter()
    q = Question.ask(config, gen, x)
    value = make_value(ex.value, gen, q.render, q.answer, match=ex.match, reuse=ex.reuse)
    proxy_fn, gate, by = None, [], gen.name
    if proxy is not None:
        proxy_value = proxy.value(ex, q.render, q.words.render_words, q.answer)
        if ex.estimator != "plain":
            proxy_fn, by = proxy_value, f"{ex.estimator}({gen.name}, {proxy.name})"
        else:
            gate.append(proxy.gate(q.prompt, q.answer, ex.match))
            if gate[-1].agrees:
                value, by = proxy_value, proxy.name
    out: list[GenLevel] = []
    explainer, n_words, fid = hierarchy(config, x), len(q.words.all_words), config.fidelity
    scored_on = None  # with an estimator and fidelity.enabled: the oracle's values that score it and its baseline
    if proxy_fn is not None and fid.enabled:
        scored_on = make_value(ex.value, gen, q.render, q.answer, match=ex.match, reuse=ex.reuse, purpose="evaluate")

    def baseline(i: int, r: LevelResult):
        """The oracle alone at this level's n, from the estimator's own oracle answers (no further call)."""
        if r.estimator is None:
            return None
        spans = [q.levels[i].ranges[u] for u in r.active]
        record, _ = baseline_record(
            r.attribution, r.estimator.baseline, samples=r.estimator.oracle_samples,
            value_of_masks=None if scored_on is None else on_spans(scored_on, spans, n_words),
            k_fraction=fid.k_fraction, heldout=fid.heldout_samples, seed=explainer.seed + i)
        return record

    since = [ledger.snapshot(), time.perf_counter()]

    def on_level(i: int, r: LevelResult) -> None:
        chosen = select(r.attribution.values, top_k, threshold) if i + 1 < len(levels) else []
        vals = r.values(len(q.levels[i]))
        level = GenLevel(unit=r.unit, units=list(q.levels[i].units), active=list(r.active),
                         values=[None if np.isnan(v) else float(v) for v in vals],
                         selected=[r.active[j] for j in chosen], base_value=r.attribution.base_value,
                         full_value=r.attribution.full_value, samples=r.samples, evals=r.attribution.n_evals,
                         exact=r.exact, cost=ledger.total(since=since[0]),
                         oracle_calls=ledger.total(model=gen.name, since=since[0]).nominal.calls,
                         seconds=time.perf_counter() - since[1],
                         estimator=None if r.estimator is None else estimator_result(r.estimator))
        out.append(level.model_copy(update={"baseline": baseline(i, r)}))  # its scoring is not the level's cost
        since[:] = [ledger.snapshot(), time.perf_counter()]

    explainer.explain(q.levels, value, n_words, on_level, proxy_fn=proxy_fn)
    reuse = ReuseInfo(**vars(value.stats)) if isinstance(value, AnswerMatch) else None
    return GeneratedInstance(id=x.id, question=x.question, documents=[" ".join(d.split()) for d in x.documents],
                             gold_document=x.gold_document, answer=q.answer, prompt_tokens=q.prompt_tokens,
                             explained_by=by, gate=gate, levels=out, reuse=reuse, cost=ledger.total(since=start),
                             seconds=time.perf_counter() - t0)


def run_generate(config: Config, *, screen: ScreenResult | None = None,
                 on_instance: OnInstance = lambda i, n, s: None, **backend) -> ExplainReport:
    """Explain every sampled question of a generate config; always returns what finished.

    ``screen``: a saved screen of the config's proxy (checked against this run
    before any call: ``DataError`` when it was made for another oracle, task,
    proxy or settings; not used, and a note says so, with an estimator).
    Without it, a substituting proxy is screened first when
    ``screen.enabled``; a rejected proxy explains nothing."""
    started = time.perf_counter()
    rt = open_runtime(config)
    ledger = rt.ledger
    gen = rt.generator(config.oracle, config.task, **backend)
    proxy = None
    notes = []
    instances = load_qa(config)
    done: list[GeneratedInstance] = []
    status, reason, failed = "complete", None, 0
    try:
        check_scoring(gen, config.explainer.value)
        proxy = build_proxy(config, rt, **backend)
        if not gen.can_score:
            notes.append(f"{gen.name} returns no prompt log-probabilities: answer_logprob is not available and "
                         "decoded-output reuse is off (every perturbed input is decoded)")
        substitute = proxy is not None and config.explainer.estimator == "plain"
        if screen is not None and proxy is not None:
            screen.check_valid_for(validity(config, gen, proxy))
        if screen is not None and not substitute:  # nothing substitutes: the screen is not used, nor charged
            notes.append("the saved screen was not used and its cost is not counted: "
                         + (f"estimator {config.explainer.estimator} guards every question, the screen tests "
                            "substituting the proxy (estimator: plain)" if proxy else "the config has no proxy"))
            screen = None
        elif substitute and screen is None and config.screen.enabled:
            on_instance(0, len(instances), f"screening {proxy.name}")
            screen = run_screen(config, gen, proxy, ledger, {x.id for x in instances})
            if screen.stopped == "budget":
                raise BudgetExceeded(screen.proxies[-1].error or "budget max_usd reached while screening")
        if substitute and screen is not None and proxy.name not in screen.accepted:
            notes.append(f"the screen did not accept {proxy.name} ({screen.proxies[-1].decision}): the oracle "
                         "explains every question")
            proxy.close()
            proxy = None
        for i, x in enumerate(instances):
            on_instance(i, len(instances), x.id)
            try:
                done.append(explain_question(config, gen, ledger, x, proxy))
            except ModelError as e:
                failed, status = failed + 1, "complete_with_failures"
                done.append(GeneratedInstance(id=x.id, question=x.question, documents=list(x.documents),
                                              gold_document=x.gold_document, answer="", prompt_tokens=0,
                                              cost=Cost(), seconds=0.0, error=str(e)))
            on_instance(i + 1, len(instances), x.id)
    except BudgetExceeded as e:
        status, reason = "stopped_budget", str(e)
    finally:
        gen.close()
        if proxy is not None:
            proxy.close()
        rt.close()
    by = Counter(g.explained_by for g in done if g.error is None)
    return ExplainReport(
        created=created(), status=status, stop_reason=reason, seed=config.seed, versions=versions(),
        config=config.model_dump(mode="json"), notes=notes, screen=screen,
        baseline=generated_baseline_summary(done), summary=ExplainSummary(
            instances=len(instances), explained=len(done) - failed, failed=failed, explained_by=dict(by),
            wall_time_s=time.perf_counter() - started),
        ledger=ledger.rows(), instances=[], generation=info(config, gen, done), generated=done)


def info(config: Config, gen: Generator, done: list[GeneratedInstance]) -> GenerationInfo:
    ex = config.explainer
    levels = plan(config)[0]
    secs, calls = defaultdict(list), defaultdict(list)
    for g in done:
        for lv in g.levels:
            secs[lv.unit].append(lv.seconds)
            calls[lv.unit].append(lv.oracle_calls)
    reuse = [g.reuse for g in done if g.reuse is not None]
    match = ex.value == "answer_match"
    return GenerationInfo(
        oracle=gen.name, scoring=gen.can_score, value=ex.value, match=ex.match if match else None, reuse=ex.reuse if match else None,
        levels=levels, rule=rule(config), method=ex.method, max_tokens=config.task.max_tokens,
        mean_seconds_by_level={u: float(np.mean(v)) for u, v in secs.items()},
        mean_calls_by_level={u: float(np.mean(v)) for u, v in calls.items()},
        decodes_saved=sum(r.saved for r in reuse) if reuse else None,
        decodes=sum(r.decodes for r in reuse) if reuse else None,
        proxy=config.proxies[0].name if config.proxies else None,
        gate=gate_rule(ex.match) if config.proxies and ex.estimator == "plain" else None)
