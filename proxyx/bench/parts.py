"""The parts of a bench that one process and a Ray cluster's workers both run (``proxyx.bench.run``,
``proxyx.bench.sharded``): an instance's entries, a cell's screen, what a part paid and took."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np

from ..config import BenchConfig
from ..data import Instance
from ..errors import BudgetExceeded, ModelError
from ..explain import compare
from ..explainers import Attribution
from ..pipeline import explain_instance, failed_instance
from ..results import BenchCell, Cost, Frontier, InstanceResult, ProxyScreen, RunInfo, Target
from ..results.frontier import FrontierCell, Route
from ..screen import screen_proxy
from ..session import Session
from .frontier import routes
from .frontier_summary import headline as frontier_headline
from .frontier_summary import summarise as summarise_frontier


def explain_or_fail(session: Session, x: Instance, eligible: list) -> InstanceResult:
    """``x`` explained at the session's budget with ``eligible`` proxies (none: the oracle alone), or failed."""
    try:
        return explain_instance(session, x, eligible)
    except ModelError as e:
        return failed_instance(x, e)


def reference_entry(session: Session, x: Instance) -> InstanceResult:
    """The oracle alone explains ``x``, its explanation scored on the oracle, as the pipeline's fallback:
    fidelity 1 (or null)."""
    entry = explain_or_fail(session, x, [])
    if entry.status != "ok":
        return entry
    attr = Attribution(values=np.asarray(entry.attribution), base_value=entry.base_value,
                       full_value=entry.full_value, n_evals=entry.n_evals, method=entry.explainer)
    target = session.task.labels.index(entry.oracle.label)
    before = session.ledger.snapshot()
    entry.fidelity = compare(session.oracle, session.units(x), target, attr, attr,
                             k_fraction=session.config.fidelity.k_fraction)
    entry.cost.evaluation = session.ledger.total(since=before)
    return entry


def screened(session: Session, proxy, pool: list[Instance], on_step) -> ProxyScreen:
    """The proxy screened at the session's budget on ``pool``; ``BudgetExceeded`` when the budget stopped it."""
    result = screen_proxy(session, proxy, pool, on_step=on_step)
    if result.decision == "stopped_budget":
        raise BudgetExceeded(result.error)
    return result


def screen_progress(progress, label: str, n_all: int):
    """The screen's steps on a cell's progress bar (``progress(label, done, total, stage)``)."""
    return lambda p: progress(label, 0, n_all, f"screening: n={p.n}, examined {p.examined}")


def failed_cell(session: Session, result: ProxyScreen) -> BenchCell:
    """The cell of a proxy whose screen could not finish: it has nothing to show."""
    ex = session.config.explainer
    return BenchCell(proxy=result.proxy, method=ex.method, samples=ex.samples, status="failed", errors=[result.error])


def bench_routes(b: BenchConfig, names: list[str]) -> list[Route]:
    """Every route of the frontier, method by method (``proxyx.bench.frontier.routes``)."""
    return [r for m in b.methods for r in routes(m, b.oracle_ladder, names, b.estimators, b.oracle_samples,
                                                b.proxy_samples, b.substitute, b.peers)]


def frontier_of(cells: list[FrontierCell], failed: list[str], seed: int) -> Frontier:
    """The frontier block of the report: its cells, their summaries and the headline."""
    summaries = summarise_frontier(cells, seed=seed)
    target = Target()
    return Frontier(target=target, summaries=summaries, headline=frontier_headline(summaries, target), cells=cells,
                    failed=failed)


@contextmanager
def timed(session: Session, into: dict, key) -> Iterator[None]:
    """Add what the block paid (``Cost``) and took (seconds) to ``into[key]``."""
    before, started = session.ledger.snapshot(), time.perf_counter()
    try:
        yield
    finally:
        seconds, cost = into.get(key, (0.0, Cost()))
        into[key] = (seconds + time.perf_counter() - started, cost + session.ledger.total(since=before))


def run_of(pieces: list[tuple[float, Cost]]) -> RunInfo:
    """A part's run block from what its pieces paid and took (seconds summed)."""
    cost = sum((c for _, c in pieces), Cost())
    return RunInfo(wall_time_s=sum(s for s, _ in pieces), paid=cost.paid, cache_hits=cost.hits,
                   failures=cost.failures)
