"""``proxyx explain`` for ``task.type: generate``: answer each question, explain the answer level by level.

For each question the oracle answers greedily from the whole context (that
answer is what is explained); then ``explainer.hierarchy`` (or the single
``explainer.unit``) is explained coarse to fine by
``proxyx.explainers.hierarchy`` with the config's value function, every mask
asked as a word-level mask of the same context, so all levels share one cache.
The calls and seconds of each level are read from the ledger around it.

With one proxy and a proxy-informed ``explainer.estimator``, each level asks
the oracle only ``oracle_samples`` masks and the proxy ``samples``: the proxy
is ``local/answer-overlap`` (the share of the oracle's answer's words in the
kept context, no model call) or a generation model scoring the oracle's
answer with the same value function.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable

import numpy as np

from ..cache import CallCache
from ..config import Config
from ..errors import BudgetExceeded, ConfigError, ModelError
from ..explain import estimator_result, instance_seed
from ..explainers.hierarchy import HierarchicalExplainer, LevelResult, select
from ..ledger import Ledger
from ..perturb import ContextSegments
from ..report import created, versions
from ..results import Cost, ExplainReport, ExplainSummary
from ..results.generate import GeneratedInstance, GenerationInfo, GenLevel, ReuseInfo
from .build import build_generator
from .data import QAInstance, load_qa
from .scorer import Generator
from .value import AnswerMatch, AnswerOverlap, make_value

OnInstance = Callable[[int, int, str], None]

#: the lexical generation proxy (``AnswerOverlap``): no model, no cost
LEXICAL_PROXY = "local/answer-overlap"


def plan(config: Config) -> tuple[list[str], list[int], int, float | None]:
    """Levels, budget per level, top_k and threshold of a generate config."""
    ex = config.explainer
    h = ex.hierarchy
    if h is None:
        return [ex.unit], [ex.samples], 1, None
    return list(h.levels), list(h.samples or [ex.samples] * len(h.levels)), h.top_k, h.threshold


def rule(config: Config) -> str:
    levels, samples, top_k, threshold = plan(config)
    if len(levels) == 1:
        return f"one level ({levels[0]}), {samples[0]} unique masks ({config.explainer.method})"
    thr = f" whose attribution is positive and >= {threshold:g} x the largest" if threshold is not None else ""
    return (f"levels {' > '.join(levels)}: below the first, only the units inside the top-{top_k} units{thr} of the "
            f"level above are explained, the rest held as in the full input; budget per level {samples} unique masks "
            f"({config.explainer.method}; every coalition, exact, when 2^n <= budget)")


def explain_question(config: Config, gen: Generator, ledger: Ledger, x: QAInstance,
                     proxy: Generator | str | None = None) -> GeneratedInstance:
    """One question: the oracle's answer and its explanation at every level (``ModelError`` propagates).

    ``proxy``: a generation model, or ``LEXICAL_PROXY``, for the proxy-informed estimator."""
    task, ex = config.task, config.explainer
    levels, samples, top_k, threshold = plan(config)
    start, t0 = ledger.snapshot(), time.perf_counter()
    segs = [ContextSegments(x.documents, unit=u, separator=task.separator) for u in levels]
    words = segs[-1]
    prompt = task.prompt(words.full, x.question)
    n_tokens = gen.check_fits(prompt)
    answer = gen.answer([prompt])[0].text

    def render(word_mask: np.ndarray) -> str:
        return task.prompt(words.render_words(word_mask), x.question)

    value = make_value(ex.value, gen, render, answer, match=ex.match, reuse=ex.reuse)
    if proxy == LEXICAL_PROXY:
        proxy_value = AnswerOverlap(words.render_words, answer)
    elif proxy is not None:
        proxy_value = make_value(ex.value, proxy, render, answer, match=ex.match, reuse=ex.reuse)
    else:
        proxy_value = None
    out: list[GenLevel] = []
    since = [ledger.snapshot(), time.perf_counter()]

    def on_level(i: int, r: LevelResult) -> None:
        cost = ledger.total(model=gen.name, since=since[0])
        chosen = select(r.attribution.values, top_k, threshold) if i + 1 < len(levels) else []
        vals = r.values(len(segs[i]))
        out.append(GenLevel(unit=r.unit, units=list(segs[i].units), active=list(r.active),
                            values=[None if np.isnan(v) else float(v) for v in vals],
                            selected=[r.active[j] for j in chosen], base_value=r.attribution.base_value,
                            full_value=r.attribution.full_value, samples=r.samples, evals=r.attribution.n_evals,
                            exact=r.exact, cost=cost, seconds=time.perf_counter() - since[1],
                            estimator=None if r.estimator is None else estimator_result(r.estimator)))
        since[:] = [ledger.snapshot(), time.perf_counter()]

    HierarchicalExplainer(method=ex.method, samples=samples, top_k=top_k, threshold=threshold,
                          seed=instance_seed(config.seed, x.id), estimator=ex.estimator,
                          oracle_samples=ex.oracle_samples).explain(segs, value, len(words.all_words), on_level,
                                                                    proxy_fn=proxy_value)
    reuse = ReuseInfo(**vars(value.stats)) if isinstance(value, AnswerMatch) else None
    return GeneratedInstance(id=x.id, question=x.question, documents=[" ".join(d.split()) for d in x.documents],
                             gold_document=x.gold_document, answer=answer, prompt_tokens=n_tokens, levels=out,
                             reuse=reuse, cost=ledger.total(model=gen.name, since=start),
                             seconds=time.perf_counter() - t0)


def run_generate(config: Config, *, on_instance: OnInstance = lambda i, n, s: None, **backend) -> ExplainReport:
    """Explain every sampled question of a generate config; always returns what finished."""
    started = time.perf_counter()
    cache = CallCache(config.cache_dir)
    cache.check()
    ledger = Ledger(max_usd=config.max_usd)
    gen = build_generator(config.oracle, config.task, cache=cache, ledger=ledger, **backend)
    proxy: Generator | str | None = None
    if config.proxies:  # exactly one, with an estimator (config check)
        pc = config.proxies[0]
        proxy = LEXICAL_PROXY if pc.model == LEXICAL_PROXY else build_generator(
            pc, config.task, cache=cache, ledger=ledger, role="proxy", **backend)
    notes = []
    if not gen.can_score:
        if config.explainer.value != "answer_match":
            raise ConfigError(f"explainer.value: {config.explainer.value} needs prompt log-probabilities, which "
                              f"{gen.name} does not return (a chat model); use value: answer_match, or style: "
                              "completion on an endpoint with echo and logprobs (llama.cpp server, vLLM)")
        notes.append(f"{gen.name} returns no prompt log-probabilities: answer_logprob is not available and "
                     "decoded-output reuse is off (every perturbed input is decoded)")
    instances = load_qa(config)
    done: list[GeneratedInstance] = []
    status, reason, failed = "complete", None, 0
    try:
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
        if isinstance(proxy, Generator):
            proxy.close()
        cache.close()
    return ExplainReport(
        created=created(), status=status, stop_reason=reason, seed=config.seed, versions=versions(),
        config=config.model_dump(mode="json"), notes=notes, summary=ExplainSummary(
            instances=len(instances), explained=len(done) - failed, failed=failed,
            explained_by={config.oracle.name: len(done) - failed}, wall_time_s=time.perf_counter() - started),
        ledger=ledger.rows(), instances=[], generation=info(config, gen, done), generated=done)


def info(config: Config, gen: Generator, done: list[GeneratedInstance]) -> GenerationInfo:
    ex = config.explainer
    levels = plan(config)[0]
    secs, calls = defaultdict(list), defaultdict(list)
    for g in done:
        for lv in g.levels:
            secs[lv.unit].append(lv.seconds)
            calls[lv.unit].append(lv.cost.nominal.calls)
    reuse = [g.reuse for g in done if g.reuse is not None]
    match = ex.value == "answer_match"
    return GenerationInfo(
        oracle=gen.name, scoring=gen.can_score, value=ex.value, match=ex.match if match else None, reuse=ex.reuse if match else None,
        levels=levels, rule=rule(config), method=ex.method, max_tokens=config.task.max_tokens,
        mean_seconds_by_level={u: float(np.mean(v)) for u, v in secs.items()},
        mean_calls_by_level={u: float(np.mean(v)) for u, v in calls.items()},
        decodes_saved=sum(r.saved for r in reuse) if reuse else None,
        decodes=sum(r.decodes for r in reuse) if reuse else None)
