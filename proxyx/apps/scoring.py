"""Models that answer prompts with demonstrations masked, and what the apps ask them.

With prompt units (``proxyx.perturb.PromptSegments``) the text a scorer sees
is a whole rendered prompt. An LLM answers it verbatim (built with
``raw_task``); ``local/incontext-tfidf`` is built with the task itself and
reads the demonstrations back; a model that reads only the input text
cannot see what a demonstration unit masks and is refused. Every call goes
through a ``Scorer`` (cache, ledger, budget).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ..cache import CallCache
from ..config import Config, TaskConfig
from ..data import Instance
from ..explain import attribute, instance_seed
from ..explainers import explain_informed
from ..fidelity import agreement, fidelity_ratio, quality, top_k
from ..ledger import Ledger
from ..perturb import PromptSegments
from ..scorer import Scorer
from ..runtime import open_runtime
from ..session import prompt_model
from ..results import Cost
from ..screen import screen_decision
from .results import ProxyCheck

#: progress callback: (stage, done, total)
OnProgress = Callable[[str, int, int], None]
#: the ranking of the oracle alone at ``oracle_samples``: the informed routes' free baseline
ORACLE_AT_N = "oracle_at_n"


@dataclass
class PromptSession:
    """The oracle and proxies of an app, behind one cache and one ledger."""

    task: TaskConfig
    unit: str
    cache: CallCache
    ledger: Ledger
    oracle: Scorer
    proxies: list[Scorer] = field(default_factory=list)

    def segments(self, text: str, task: TaskConfig | None = None) -> PromptSegments:
        return PromptSegments(task or self.task, text, unit=self.unit)

    def close(self) -> None:
        for s in [self.oracle, *self.proxies]:
            s.close()
        self.cache.close()


def open_prompt_session(config: Config, task: TaskConfig, unit: str) -> PromptSession:
    """Build (do not load) the config's oracle and proxies for prompts of ``task``."""
    models = [prompt_model(m, task, unit) for m in [config.oracle, *config.proxies]]  # refuse before opening files
    rt = open_runtime(config)
    oracle = rt.scorer(models[0], role="oracle")
    proxies = [rt.scorer(m, role="proxy") for m in models[1:]]
    return PromptSession(task=task, unit=unit, cache=rt.cache, ledger=rt.ledger, oracle=oracle, proxies=proxies)


def probabilities(scorer: Scorer, task: TaskConfig, unit: str, items: list[Instance], masks: list[np.ndarray],
                  purpose: str) -> np.ndarray:
    """(len(masks), len(items), n_labels): the answers on every item's prompt under every mask, in one batch."""
    segs = [PromptSegments(task, x.text, unit=unit) for x in items]
    texts = [s.render(m) for m in masks for s in segs]
    return scorer(texts, purpose).reshape(len(masks), len(items), -1)


def accuracy(probs: np.ndarray, items: list[Instance], labels: list[str]) -> np.ndarray:
    """Accuracy under each mask from ``probabilities``: argmax == gold label."""
    gold = np.array([labels.index(x.label) for x in items])
    return (probs.argmax(axis=-1) == gold[None, :]).mean(axis=1)


@dataclass
class Explained:
    """Attributions of one model over the validation instances (rows) and the prompt's units (columns)."""

    model: str
    values: np.ndarray
    targets: list[int]
    baseline: np.ndarray | None = None  # informed: the oracle alone at oracle_samples, from the same oracle answers


def explain_all(session: PromptSession, scorer: Scorer, items: list[Instance], targets: list[int], *,
                config: Config, on_progress: OnProgress | None = None) -> Explained:
    """Attribute ``scorer``'s probability of ``targets[i]`` on item i to the prompt's units."""
    ex, rows = config.explainer, []
    for i, (x, target) in enumerate(zip(items, targets)):
        if on_progress:
            on_progress(f"explaining with {scorer.name}", i, len(items))
        attr = attribute(scorer, session.segments(x.text), target, method=ex.method, samples=ex.samples,
                         seed=instance_seed(config.seed, x.id), purpose=f"explain:{scorer.name}", sampler=ex.sampler)
        rows.append(attr.values)
    if on_progress:
        on_progress(f"explaining with {scorer.name}", len(items), len(items))
    return Explained(model=scorer.name, values=np.array(rows, dtype=float).reshape(len(items), -1), targets=targets)


def explain_informed_all(session: PromptSession, proxy: Scorer, items: list[Instance], targets: list[int], *,
                         config: Config, on_progress: OnProgress | None = None) -> Explained:
    """The proxy-informed estimator (``explainer.estimator``): ``oracle_samples`` oracle answers, ``samples`` proxy ones.

    ``baseline`` holds the oracle alone at ``oracle_samples`` (the plain
    explainer on the same oracle answers: no further call).
    """
    ex, rows, alone, purpose = config.explainer, [], [], f"informed:{proxy.name}"
    for i, (x, target) in enumerate(zip(items, targets)):
        if on_progress:
            on_progress(f"explaining with {proxy.name} informing the oracle", i, len(items))
        seg = session.segments(x.text)
        attr, info = explain_informed(
            ex.method, len(seg), lambda m: session.oracle(seg.render_many(m), purpose)[:, target],  # noqa: B023
            lambda m: proxy(seg.render_many(m), purpose)[:, target], samples=ex.samples,  # noqa: B023
            oracle_samples=ex.oracle_samples, estimator=ex.estimator, seed=instance_seed(config.seed, x.id),
            sampler=ex.sampler)
        rows.append(attr.values)
        alone.append(info.baseline.values)
    shape = (len(items), -1)
    return Explained(model=proxy.name, values=np.array(rows, dtype=float).reshape(shape), targets=targets,
                     baseline=np.array(alone, dtype=float).reshape(shape))


def check_proxy(session: PromptSession, proxy: Explained, oracle: Explained, items: list[Instance],
                agree: list[bool], config: Config) -> ProxyCheck:
    """Quality of both explanations on the oracle (AOPC of deletion), the screen's d, rank agreement.

    ``agree[i]``: the proxy's label on item i's full prompt is the oracle's (else the item is left out).
    """
    d, fids, rho, jac, skipped = [], [], [], [], 0
    kf, tau = config.fidelity.k_fraction, config.screen.tau
    for i, x in enumerate(items):
        target = oracle.targets[i]
        if not agree[i]:
            skipped += 1
            continue
        seg = session.segments(x.text)
        f = lambda texts, t=target: session.oracle(list(texts), "screen")[:, t]  # noqa: E731
        qp = quality(seg, proxy.values[i], f, k_fraction=kf).aopc
        qo = quality(seg, oracle.values[i], f, k_fraction=kf).aopc
        d.append(qp - tau * qo)
        fids.append(fidelity_ratio(qp, qo))
        ranks = agreement(proxy.values[i], oracle.values[i], k=top_k(len(seg), kf))
        rho.append(ranks["spearman"])
        jac.append(ranks["topk_jaccard"])
    s = screen_decision(d, config.screen)
    of_means = agreement(proxy.values.mean(axis=0), oracle.values.mean(axis=0), k=1)["spearman"]
    return ProxyCheck(proxy=proxy.model, decision=s.decision, n=s.n, disagreements=skipped, mean_d=s.mean_d,
                      lower=s.lower,
                      mean_fidelity=_mean(fids), mean_spearman=_mean(rho), mean_topk_jaccard=_mean(jac),
                      spearman_of_means=of_means)


def _mean(xs: list) -> float | None:
    xs = [x for x in xs if x is not None]
    return float(np.mean(xs)) if xs else None


def path_cost(session: PromptSession, method: str, *, model: str | None = None) -> Cost:
    """What a ranking cost (every model, or only ``model``): its explanations and the oracle's labels they
    explain, or the self-information pass."""
    ledger, oracle = session.ledger, session.oracle.name
    if method == "self_information":
        return ledger.total(model=model, purpose="self_information")
    labels = ledger.total(model=oracle, purpose="predict") if model in (None, oracle) else Cost()
    if method == ORACLE_AT_N:  # the first informed route's own oracle answers
        first = f"informed:{session.proxies[0].name}"
        return (ledger.total(model=oracle, purpose=first) if model in (None, oracle) else Cost()) + labels
    if method.startswith("informed:"):
        return ledger.total(model=model, purpose=method) + labels
    name = oracle if method == "oracle" else method.removeprefix("proxy:")
    if model not in (None, name):
        return labels
    return ledger.total(model=name, purpose=f"explain:{name}") + labels
