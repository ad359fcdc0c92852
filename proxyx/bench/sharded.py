"""``proxyx bench`` on a Ray cluster (``engine.kind: ray``): every cell of an instance on one worker, one report.

The driver screens each cell's proxy first, as one process does (the screen
is sequential; on the screen pool, largest budget first), then hands the
instances to the cluster's workers (``proxyx.engine.cluster``). A worker
runs every part of its instance in the order one process runs them (at each
budget the oracle alone, scored, then each proxy whose screen finished; then
the frontier's routes), through the cluster's one cache and one budget. The
driver assembles the references, the cells and the frontier in instance
order: the bench.json of one process, but for the ``run`` blocks (a part's
seconds there are summed over the workers that ran it, and of two parts that
need one text the first to ask pays for it).

A budget stop lets the running instances finish: every reference, cell and
frontier route then holds the instances that finished (a note says how
many), and the report's status is ``stopped_budget``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

from ..config import Config
from ..data import Instance
from ..engine.cluster import connected, run_on_cluster
from ..errors import BudgetExceeded
from ..results import BenchReport, FrontierPoint, InstanceResult
from ..results.frontier import Route
from ..session import Session
from .frontier import by_method, explain_or_leave_out, frontier_cells
from .parts import (bench_routes, explain_or_fail, failed_cell, frontier_of, reference_entry, run_of,
                    screen_progress, screened, timed)
from .summary import reference_summary, summarise_cell

Budget = tuple[str, int]  # (method, samples)


@dataclass(frozen=True)
class Plan:
    """What a worker runs on each instance: per budget its config and the proxies whose screen finished."""

    budgets: list[tuple[Budget, Config, list[str]]]
    proxies: list[str]  # the frontier's proxies
    routes: list[Route]  # the frontier's routes; none without bench.oracle_ladder


@dataclass
class Parts:
    """One instance's parts: entries by budget (and proxy), frontier points by method, each part's cost."""

    references: dict[Budget, InstanceResult] = field(default_factory=dict)
    cells: dict[tuple[Budget, str], InstanceResult] = field(default_factory=dict)
    frontier: dict[str, dict[Route, FrontierPoint] | None] = field(default_factory=dict)
    runs: dict = field(default_factory=dict)  # budget or (budget, proxy) -> (seconds, Cost)


def bench_instance(session: Session, item: tuple[Instance, Plan]) -> Parts:
    """Every part of one instance, on a worker."""
    x, plan = item
    parts = Parts()
    for budget, config, proxies in plan.budgets:
        at = replace(session, config=config)
        with timed(at, parts.runs, budget):
            parts.references[budget] = reference_entry(at, x)
        for name in proxies:
            with timed(at, parts.runs, (budget, name)):
                parts.cells[budget, name] = explain_or_fail(at, x, [at.proxy(name)])
    c = session.config
    for method, rs in by_method(plan.routes).items():
        parts.frontier[method] = explain_or_leave_out(
            session.oracle, {n: session.proxy(n) for n in plan.proxies}, x, rs, seed=c.seed,
            heldout=c.fidelity.heldout_samples, k_fraction=c.fidelity.k_fraction, sampler=c.explainer.sampler,
            units_of=session.units)
    return parts


def bench_on_cluster(session: Session, report: BenchReport, budgets: list[tuple[Budget, Config]], names: list[str],
                     instances: list[Instance], pool: list[Instance],
                     progress: Callable[[str, int, int, str], None]) -> None:
    """Fill ``report``'s references, cells and frontier from the cluster's workers; ``budgets``: largest first.

    Raises ``BudgetExceeded`` when the budget stopped the run, after filling what finished. Ray is reached
    before the screens: a cluster that cannot be reached is reported before anything is paid.
    """
    with connected(session.config.engine):
        _bench_on_cluster(session, report, budgets, names, instances, pool, progress)


def _bench_on_cluster(session: Session, report: BenchReport, budgets: list[tuple[Budget, Config]], names: list[str],
                      instances: list[Instance], pool: list[Instance],
                      progress: Callable[[str, int, int, str], None]) -> None:
    screens, screen_runs = {}, {}
    for budget, config in budgets:
        at = replace(session, config=config)
        for name in names:
            label = f"{name} · {budget[0]} · {budget[1]}"
            with timed(at, screen_runs, (budget, name)):
                screens[budget, name] = screened(at, at.proxy(name), pool, screen_progress(progress, label,
                                                                                            len(instances)))
    b = session.config.bench
    plan = Plan(budgets=[(budget, config, [n for n in names if screens[budget, n].decision != "failed"])
                         for budget, config in budgets],
                proxies=names, routes=bench_routes(b, names) if b.oracle_ladder else [])
    label = f"every cell on {session.config.engine.workers} Ray workers"
    progress(label, 0, len(instances), "starting the workers")
    finished = [0]

    def on_done(i: int, parts: Parts) -> None:
        finished[0] += 1
        progress(label, finished[0], len(instances), instances[i].id)

    run = run_on_cluster(session.config, [x.id for x in instances], lambda i: (instances[i], plan), bench_instance,
                         spent=session.ledger.snapshot(), on_done=on_done)
    session.ledger.absorb(run.costs)
    if run.entries:
        _assemble(session, report, plan, screens, screen_runs, [instances[i] for i in run.done], run.entries)
    if run.stopped:
        report.notes.append(f"stopped at the budget with {len(run.entries)} of {len(instances)} instances done on "
                            "the cluster: every reference, cell and frontier route holds those")
        raise BudgetExceeded(run.stopped)


def _assemble(session: Session, report: BenchReport, plan: Plan, screens: dict, screen_runs: dict,
              done: list[Instance], parts: list[Parts]) -> None:
    """References, cells and frontier from the finished instances' parts, as ``run_bench`` builds them alone."""
    oracle = session.oracle.name
    for budget, config, proxies in plan.budgets:
        method, samples = budget
        reference = {x.id: p.references[budget] for x, p in zip(done, parts)}
        report.references.append(reference_summary(method, samples, list(reference.values()),
                                                    run_of([p.runs[budget] for p in parts])))
        for name in report.proxies:
            if name not in proxies:
                report.cells.append(failed_cell(replace(session, config=config), screens[budget, name]))
                continue
            run = run_of([screen_runs[budget, name], *(p.runs[budget, name] for p in parts)])
            report.cells.append(summarise_cell(name, method, samples, [p.cells[budget, name] for p in parts],
                                               reference, screens[budget, name], oracle, run))
    if plan.routes:
        outcomes = [(x.id, p.frontier[method]) for method in by_method(plan.routes) for x, p in zip(done, parts)]
        report.frontier = frontier_of(*frontier_cells(plan.routes, outcomes), session.config.seed)

