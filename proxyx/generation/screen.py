"""Task-level screen of a generation proxy: may it explain generated answers in the oracle's place?

The same sequential test as the classifier screen (``proxyx.screen``), on
screening questions: every question of the data set but the explained ones,
in the data's seeded order. For each question the oracle answers; a proxy
that fails the gate (``proxyx.generation.proxy``) is skipped there, as it
would be when explaining. Otherwise the oracle explains the question level
by level (its own refinement), and at each level the proxy explains the same
active units with the same masks; both explanations are scored on the
oracle's values (``screen.metric``: AOPC of deletion, or local fidelity on
``fidelity.heldout_samples`` held-out masks), and

    d = mean over levels of (q_proxy - tau * q_oracle),

over the levels where local fidelity is defined (a question where it is
defined at no level has no d: counted in ``undefined``, left out of the test).

With ``explainer.value: answer_logprob`` the screen scores on
``answer_logprob_mean`` (``screen_value``): a question's answer is fixed, so
the mean is the sum divided by a per-question constant, and the
explanations, their rankings and their fidelity ratios are the same; only
d is in nats per answer token, so a few long answers do not dominate the
test. Other value functions are screened as they are.

The decision rule, its looks and its error rate are the classifier screen's.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable

import numpy as np

from ..config import Config
from ..costs import mean
from ..errors import DataError
from ..explain import compare_masks
from ..explainers import make_explainer
from ..explainers.hierarchy import LevelResult, on_spans
from ..ledger import Ledger
from ..runtime import open_runtime
from ..results import ProxyScreen, ScreenResult, ScreenValidity
from ..results.screen import GenScreenInstance, GenScreenLevel
from ..screen import difference, measured_by, recorded, sequential_test
from .data import QAInstance, load_qa
from .proxy import GenProxy, build_proxy, check_scoring
from .question import Question, hierarchy, plan
from .scorer import Generator
from .value import make_value

OnStep = Callable[[ProxyScreen], None]


def screen_value(value: str) -> str:
    """The value function the screen scores on for an explanation's ``value`` (module docstring)."""
    return "answer_logprob_mean" if value == "answer_logprob" else value


def validity(config: Config, gen: Generator, proxy: GenProxy) -> ScreenValidity:
    """What a generation screen is valid for: the task, the value function and the hierarchy count as the task."""
    ex = config.explainer
    spec = {"task": config.task.model_dump(mode="json"), "value": ex.value, "screen_value": screen_value(ex.value),
            "match": ex.match, "plan": plan(config)}
    return ScreenValidity(oracle=gen.fingerprint, task=hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest(),
                          proxies={proxy.name: proxy.fingerprint}, **measured_by(config))


def screening_questions(config: Config, explained: set[str]) -> list[QAInstance]:
    return [x for x in load_qa(config, every=True) if x.id not in explained]


def screen_question(config: Config, gen: Generator, proxy: GenProxy, x: QAInstance) -> GenScreenInstance | None:
    """One screening question: both explanations level by level, or None when the proxy fails the gate."""
    fid, sc = config.fidelity, config.screen
    ex = config.explainer.model_copy(update={"value": screen_value(config.explainer.value)})
    q = Question.ask(config, gen, x, purpose="screen")
    gate = proxy.gate(q.prompt, q.answer, ex.match, purpose="screen")
    if not gate.agrees:
        return None
    oracle_value = make_value(ex.value, gen, q.render, q.answer, match=ex.match, reuse=ex.reuse, purpose="screen")
    proxy_value = proxy.value(ex, q.render, q.words.render_words, q.answer, purpose="screen")
    explainer, n_words, levels = hierarchy(config, x, plain=True), len(q.words.all_words), []
    local = sc.metric == "local_fidelity"  # held-out masks cost oracle calls: only when the screen tests them

    def on_level(i: int, r: LevelResult) -> None:
        spans = [q.levels[i].ranges[u] for u in r.active]
        seed = explainer.seed + i  # the oracle's masks at this level
        pa = make_explainer(ex.method, samples=r.samples, seed=seed, sampler=ex.sampler).explain(
            len(spans), on_spans(proxy_value, spans, n_words))
        c = compare_masks(on_spans(oracle_value, spans, n_words), pa, r.attribution, k_fraction=fid.k_fraction,
                          heldout=fid.heldout_samples if local else 0, seed=seed)
        levels.append(GenScreenLevel(unit=r.unit, active=list(r.active), **dict(c)))

    explainer.explain(q.levels, oracle_value, n_words, on_level)
    defined = [d for d in (difference(lv, sc) for lv in levels) if d is not None]
    return GenScreenInstance(id=x.id, answer=q.answer, proxy_answer=gate.answer, levels=levels,
                             d=float(np.mean(defined)) if defined else None)


def screen_proxy(config: Config, gen: Generator, proxy: GenProxy, ledger: Ledger, questions: list[QAInstance],
                 on_step: OnStep | None = None) -> ProxyScreen:
    """The sequential test over ``questions``; ``ModelError`` and ``BudgetExceeded`` are recorded, not raised."""
    record, since = ProxyScreen(proxy=proxy.name), ledger.snapshot()

    def judge(x: QAInstance) -> tuple[GenScreenInstance, float | None] | None:
        got = screen_question(config, gen, proxy, x)
        return None if got is None else (got, got.d)

    with recorded(record):
        sequential_test(record, questions, judge, config.screen, on_step)
    levels = [lv for i in record.instances for lv in i.levels]
    fids = [lv.fidelity for lv in levels]
    record.mean_fidelity, record.fidelity_undefined = mean(fids), sum(f is None for f in fids)
    record.mean_spearman = mean(lv.agreement.spearman for lv in levels)
    record.mean_topk_jaccard = mean(lv.agreement.topk_jaccard for lv in levels)
    record.cost = {m: c for m in (gen.name, proxy.name)
                   if (c := ledger.total(model=m, purpose="screen", since=since)).nominal.calls or c.failures}
    return record


def run_screen(config: Config, gen: Generator, proxy: GenProxy, ledger: Ledger, explained: set[str],
               on_step: OnStep | None = None) -> ScreenResult:
    """Screen the config's proxy on every question but ``explained``."""
    questions = screening_questions(config, explained)
    if not questions:
        raise DataError("no screening questions: every question of the data set is explained; lower dataset.limit")
    record = screen_proxy(config, gen, proxy, ledger, questions, on_step)
    return ScreenResult(valid_for=validity(config, gen, proxy), config=config.model_dump(mode="json"), proxies=[record],
                        stopped="budget" if record.decision == "stopped_budget" else None)


def screen_generate(config: Config, on_step: OnStep | None = None, **backend) -> ScreenResult:
    """``proxyx screen`` for a generate config: its one proxy, against the explained questions' complement."""
    if not config.proxies:
        raise DataError("'proxies' is empty; name the proxy to screen (a generation model or local/answer-overlap)")
    rt = open_runtime(config)
    gen = rt.generator(config.oracle, config.task, **backend)
    proxy = None
    try:
        check_scoring(gen, config.explainer.value)
        proxy = build_proxy(config, rt, **backend)
        return run_screen(config, gen, proxy, rt.ledger, {x.id for x in load_qa(config)}, on_step)
    finally:
        gen.close()
        if proxy is not None:
            proxy.close()
        rt.close()

