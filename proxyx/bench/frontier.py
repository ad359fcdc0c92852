"""Quality against oracle spend: the oracle-only frontier and the proxy-informed estimators.

The competitor of every proxy method is the oracle alone with fewer
samples. For each explained instance and explainer method this module runs

* the oracle alone at every budget of a ladder (e.g. 25 ... 1000): the
  *frontier*; its top budget is the *reference* quality;
* per proxy, the proxy substituted for the oracle at N samples (one oracle
  call for the label), and every proxy-informed estimator at every oracle
  budget n (the proxy answers N masks, the oracle the n masks of the plain
  explainer at n; ``proxyx.explainers.estimators``);
* per peer (shap's and lime's own explainers, ``proxyx.bench.peers``), the
  peer on the oracle at every oracle budget n.

Every explanation is scored on the oracle two ways: AOPC of deletion and
local fidelity (kernel-weighted R² of the surrogate on held-out masks drawn
like the fitting masks; ``proxyx.fidelity``). Costs are nominal and counted
from the answers each explanation asked for (cache hits at the price first
paid), so a rerun from the cache gives the same numbers. Oracle calls and
tokens count the oracle; dollars count every model at its price.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from ..data import Instance
from ..errors import ModelError
from ..explain import instance_seed
from ..explainers import Attribution, explainer_class, make_explainer
from ..explainers.estimators import explain_informed
from ..fidelity import heldout_masks, local_fidelity, quality
from ..perturb import Segments
from ..results import nano
from ..results.frontier import FrontierCell, FrontierPoint, Route
from ..scorer import Scorer
from .peers import PEER_METHOD, explain_peer

log = logging.getLogger(__name__)

#: (label, done, total, stage) -> None
OnProgress = Callable[[str, int, int, str], None]


@dataclass
class _Recorder:
    """A scorer as a value function that keeps every answer it was asked for (to count cost)."""

    scorer: Scorer
    segments: Segments
    target: int
    purpose: str

    def __post_init__(self) -> None:
        self.answers: dict = {}

    def __call__(self, masks: np.ndarray) -> np.ndarray:
        texts = self.segments.render_many(masks)
        got = self.scorer.answers(texts, self.purpose)
        self.answers.update(got)
        return np.array([got[t].probs[self.target] for t in texts], dtype=float)

    @property
    def calls(self) -> int:
        return len(self.answers)

    @property
    def tokens(self) -> int:
        return sum(a.prompt_tokens + a.completion_tokens for a in self.answers.values())

    @property
    def nano_usd(self) -> int:
        return sum(nano(a.usd) for a in self.answers.values())


@dataclass
class _Judge:
    """Scores explanations of one instance on the oracle: AOPC and local fidelity."""

    oracle: Scorer
    segments: Segments
    target: int
    method: str
    seed: int
    heldout: int
    k_fraction: float

    def __post_init__(self) -> None:
        n = len(self.segments)
        self.masks = heldout_masks(self.method, n, samples=self.heldout, seed=self.seed)
        self.y = _Recorder(self.oracle, self.segments, self.target, "evaluate")(self.masks)
        self.weights = make_explainer(self.method, samples=self.heldout, seed=self.seed).kernel(self.masks)

    def value_fn(self, texts: Sequence[str]) -> np.ndarray:
        return self.oracle(list(texts), "evaluate")[:, self.target]

    def point(self, attr: Attribution, instance_id: str, oracle: _Recorder, proxy: _Recorder | None = None,
              **estimator) -> FrontierPoint:
        q = quality(self.segments, attr.values, self.value_fn, k_fraction=self.k_fraction, seed=self.seed)
        return FrontierPoint(id=instance_id, aopc=q.aopc,
                     local_fidelity=local_fidelity(attr, self.masks, self.y, self.weights),
                     oracle_calls=oracle.calls, oracle_tokens=oracle.tokens,
                     nano_usd=oracle.nano_usd + (proxy.nano_usd if proxy else 0),
                     proxy_calls=proxy.calls if proxy else 0, **estimator)


def routes(method: str, ladder: Sequence[int], proxies: Sequence[str], estimators: Sequence[str],
           oracle_samples: Sequence[int], proxy_samples: int, substitute: bool = True,
           peers: Sequence[str] = ()) -> list[Route]:
    """Every way of explaining an instance that the grid compares, the oracle's ladder first, the peers last."""
    out = [Route(method=method, kind="oracle", oracle_samples=b) for b in sorted(ladder)]
    for proxy in proxies:
        if substitute:
            out.append(Route(method=method, kind="substitute", proxy=proxy, oracle_samples=1,
                             proxy_samples=proxy_samples))
        for est in estimators:
            for n in sorted(oracle_samples):
                out.append(Route(method=method, kind="estimator", proxy=proxy, estimator=est, oracle_samples=n,
                                 proxy_samples=proxy_samples))
    out += [Route(method=method, kind="peer", peer=peer, oracle_samples=n)
            for peer in peers if PEER_METHOD[peer] == method for n in sorted(oracle_samples)]
    return out


def explain_routes(oracle: Scorer, proxies: dict[str, Scorer], x: Instance, routes_: Sequence[Route], *,
                   seed: int, heldout: int, k_fraction: float, sampler: str = "kernel",
                   units_of: Callable[[Instance], Segments] = lambda x: Segments(x.text)) -> dict[Route, FrontierPoint]:
    """One instance explained every way in ``routes_`` (all of one method), each scored on the oracle.

    ``sampler``: the config's mask sampler, for a method that draws with it (``Explainer.sampler_for``: LIME
    draws its own way whatever it is). ``units_of``: an instance's
    units (the task's ``units``; default its words).
    """
    segments = units_of(x)
    s = instance_seed(seed, x.id)
    target = int(np.argmax(oracle([segments.full], "explain")[0]))
    method = routes_[0].method
    how = dict(seed=s, sampler=explainer_class(method).sampler_for(sampler))
    judge = _Judge(oracle, segments, target, method, s, heldout, k_fraction)
    out: dict[Route, FrontierPoint] = {}
    for r in routes_:
        o = _Recorder(oracle, segments, target, "explain")
        if r.kind == "oracle":
            attr = make_explainer(method, samples=r.oracle_samples, **how).explain(len(segments), o)
            out[r] = judge.point(attr, x.id, o)
            continue
        if r.kind == "peer":
            attr = explain_peer(r.peer, segments, o, samples=r.oracle_samples, seed=s)
            out[r] = judge.point(attr, x.id, o, peer_rows=attr.n_evals)
            continue
        p = _Recorder(proxies[r.proxy], segments, target, "explain")
        if r.kind == "substitute":
            o(np.ones((1, len(segments)), dtype=bool))  # the oracle's label: the one oracle call
            attr = make_explainer(method, samples=r.proxy_samples, **how).explain(len(segments), p)
            out[r] = judge.point(attr, x.id, o, p)
            continue
        attr, info = explain_informed(method, len(segments), o, p, samples=r.proxy_samples,
                                      oracle_samples=r.oracle_samples, estimator=r.estimator, **how)
        out[r] = judge.point(attr, x.id, o, p, lam=info.lam, beta=info.beta, rho=info.rho)
    return out


def by_method(routes_: Sequence[Route]) -> dict[str, list[Route]]:
    """The routes of each explainer method, in order (``explain_routes`` takes one method's)."""
    out: dict[str, list[Route]] = {}
    for r in routes_:
        out.setdefault(r.method, []).append(r)
    return out


def frontier_cells(routes_: Sequence[Route], outcomes: Sequence[tuple[str, dict[Route, FrontierPoint] | None]]
                   ) -> tuple[list[FrontierCell], list[str]]:
    """One cell per route from each (instance id, its points; None when its calls failed), in the order run;
    the failed instances' ids."""
    cells = {r: FrontierCell(route=r, points=[]) for r in routes_}
    failed: list[str] = []
    for instance_id, points in outcomes:
        if points is None:
            failed.append(instance_id)
            continue
        for r, point in points.items():
            cells[r].points.append(point)
    return [cells[r] for r in routes_], list(dict.fromkeys(failed))


def explain_or_leave_out(oracle: Scorer, proxies: dict[str, Scorer], x: Instance, routes_: Sequence[Route],
                         **how) -> dict[Route, FrontierPoint] | None:
    """``explain_routes``, or None (logged) when the instance's model calls fail for good."""
    try:
        return explain_routes(oracle, proxies, x, routes_, **how)
    except ModelError as e:
        log.warning("frontier: %s left out (%s)", x.id, e)
        return None


def run_frontier(oracle: Scorer, proxies: dict[str, Scorer], instances: Sequence[Instance], routes_: Sequence[Route],
                 *, seed: int, heldout: int, k_fraction: float, sampler: str = "kernel",
                 units_of: Callable[[Instance], Segments] = lambda x: Segments(x.text),
                 on_progress: OnProgress = lambda *a: None) -> tuple[list[FrontierCell], list[str]]:
    """Every route on every instance: one cell per route, points in instance order, and the failed instances.

    An instance whose model calls fail for good is left out of every cell
    (the comparisons stay paired) and its id is returned.
    """
    outcomes = []
    for method, rs in by_method(routes_).items():
        label = f"frontier · {method}"
        for i, x in enumerate(instances):
            on_progress(label, i, len(instances), x.id)
            outcomes.append((x.id, explain_or_leave_out(oracle, proxies, x, rs, seed=seed, heldout=heldout,
                                                        k_fraction=k_fraction, sampler=sampler, units_of=units_of)))
        on_progress(label, len(instances), len(instances), "done")
    return frontier_cells(routes_, outcomes)
