"""Running the bench grid: the oracle alone and one cell per proxy at every budget.

For every budget (method, samples) of the config's ``bench:`` block, on the
config's data set, with ``estimator: plain`` (the screen and the fallback
are about substituting a proxy; the frontier compares the estimators):

* **reference**: the oracle explains every instance alone (the pipeline's
  ``explain_instance`` with no proxy), and each explanation is scored on the
  oracle. It is the reference of fidelity (q_proxy / q_oracle at the same
  budget and masks), the pipeline's fallback (fidelity 1 by definition, null
  when q_oracle <= 0), and the all-oracle cost.
* **one cell per proxy**: ``screen_proxy`` at that budget on the screen pool
  (its oracle explanations are shared across proxies through the cache), then
  ``explain_instance`` with the proxy and fidelity on; ``bench.summary`` turns
  them into the *proxy only* and *pipeline* (screen-and-apply) views.

Costs are nominal (cache hits at the price they were paid; see
``proxyx.ledger``), so a bench killed and started again reuses every paid call
and reports the same numbers; only ``created`` and the ``run`` blocks (paid in
this run, wall time) change. Throughput uses the model time the answers took
when they were paid (kept in the cache with each answer). With ``engine.kind:
ray`` the instances run on a cluster's workers (``proxyx.bench.sharded``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from ..adaptive import refuse_auto
from ..config import UNSET, Config, apply_overrides
from ..data import Instance
from ..errors import BudgetExceeded, ConfigError, DataError
from ..explainers import explainer_class
from ..output import check_outputs, run_inputs, write_json, write_text
from ..report import created, notes, versions
from ..results import BenchCell, BenchReport, Frontier, InstanceResult, Reference, RunInfo
from ..screen import no_screening_instances, screen_pool
from ..session import Session, open_session
from ..tasks import task_for
from .frontier import run_frontier
from .parts import bench_routes, explain_or_fail, failed_cell, frontier_of, reference_entry, screen_progress, screened
from .peers import check_peers
from .plot import plot_fidelity_vs_cost
from .render import bench_markdown
from .sharded import bench_on_cluster
from .summary import headline, mark_pareto, quality_vs_top_budget, reference_summary, summarise_cell

FILES = ("bench.json", "bench.md", "fidelity_vs_cost.png")

log = logging.getLogger(__name__)

#: (label of the bar, done, total, stage) -> None; one label per cell
OnProgress = Callable[[str, int, int, str], None]


def bench_proxies(config: Config) -> list[str]:
    """The proxies the grid runs (``bench.proxies``, default the whole pool), checked against the pool."""
    pool = [p.name for p in config.proxies]
    if not pool:
        raise DataError("'proxies' is empty; name at least one proxy model to bench against the oracle")
    names = config.bench.proxies if config.bench.proxies is not None else pool
    unknown = [n for n in names if n not in pool]
    if unknown:
        raise ConfigError(f"bench.proxies: {unknown} not in the proxy pool {pool}; list names (or aliases) from 'proxies'")
    if not names:
        raise ConfigError(f"bench.proxies is empty; list at least one of {pool} (or leave it out for all)")
    return names


def grid_configs(config: Config) -> dict[tuple[str, int], Config]:
    """The config of each screen-and-apply budget (method, samples); ``ConfigError`` for any budget that cannot run.

    The grid runs ``estimator: plain`` whatever the config says: the screen
    and the pipeline's fallback are about substituting a proxy. A method's cells
    draw its own masks unless it takes ``explainer.sampler`` (``Explainer.sampler_for``). The
    frontier's estimators need each oracle budget n within the proxy's N.
    """
    b = config.bench
    over = [n for n in b.oracle_samples if n > b.proxy_samples]
    if b.oracle_ladder and b.estimators and over:
        raise ConfigError(f"bench.oracle_samples {over} exceed bench.proxy_samples ({b.proxy_samples}), the proxy's "
                          "budget N of the estimators; lower them or raise proxy_samples")
    return {(m, s): apply_overrides(config, **{"explainer.method": m, "explainer.samples": s, "fidelity.enabled": True,
                                               "explainer.estimator": "plain", "explainer.oracle_samples": UNSET,
                                               "explainer.sampler": explainer_class(m).sampler_for(
                                                   config.explainer.sampler)})
            for m in b.methods for s in b.samples}


def run_info(session: Session, since: dict, started: float) -> RunInfo:
    """What this run paid and how long it took: the only numbers a rerun changes."""
    c = session.ledger.total(since=since)
    return RunInfo(wall_time_s=time.perf_counter() - started, paid=c.paid, cache_hits=c.hits, failures=c.failures)


def _reference(session: Session, instances: list[Instance], progress: OnProgress) -> tuple[Reference, dict[str, InstanceResult]]:
    """The oracle alone at this budget: summary and entries by instance id."""
    ex = session.config.explainer
    label = f"{session.oracle.name} alone · {ex.method} · {ex.samples}"
    since, started = session.ledger.snapshot(), time.perf_counter()
    entries: dict[str, InstanceResult] = {}
    for i, x in enumerate(instances):
        progress(label, i, len(instances), x.id)
        entries[x.id] = reference_entry(session, x)
    progress(label, len(instances), len(instances), "done")
    summary = reference_summary(ex.method, ex.samples, list(entries.values()), run_info(session, since, started))
    return summary, entries


def _cell(session: Session, proxy, instances: list[Instance], pool: list[Instance],
          reference: dict[str, InstanceResult], progress: OnProgress) -> BenchCell:
    ex = session.config.explainer
    label = f"{proxy.name} · {ex.method} · {ex.samples}"
    since, started = session.ledger.snapshot(), time.perf_counter()
    n_all = len(instances)
    progress(label, 0, n_all, "screening")
    result = screened(session, proxy, pool, screen_progress(progress, label, n_all))
    if result.decision == "failed":
        return failed_cell(session, result)
    entries = []
    for i, x in enumerate(instances):
        progress(label, i, n_all, x.id)
        entries.append(explain_or_fail(session, x, [proxy]))
    progress(label, n_all, n_all, result.decision)
    return summarise_cell(proxy.name, ex.method, ex.samples, entries, reference, result, session.oracle.name,
                          run_info(session, since, started))


def _checkpoint(report: BenchReport, out_dir: str | Path | None) -> None:
    """Rewrite bench.json after a cell; a failure only warns (the end of the run writes, or falls back)."""
    if out_dir is not None:
        try:
            write_json(Path(out_dir) / "bench.json", report.to_dict())
        except ConfigError as e:
            log.warning("checkpoint not written: %s", e)


def run_bench(config: Config, *, out_dir: str | Path | None = None, session: Session | None = None,
              on_progress: OnProgress = lambda label, done, total, stage: None, task=None) -> BenchReport:
    """Run the grid; return the ``proxyx.bench/2`` document and, with ``out_dir``, write ``FILES`` there.

    ``bench.json`` is rewritten after every cell (``status: running``), so a
    killed bench leaves what finished; run it again to resume from the cache. ``task``: the config's kind
    (``proxyx.tasks``; default the session's, else the one the config names).
    """
    refuse_auto(config, "proxyx bench (its frontier fixes the oracle's budgets: bench.oracle_samples)")
    started = time.perf_counter()
    names = bench_proxies(config)
    grid = grid_configs(config)  # every budget is checked before anything is paid
    check_peers(config.bench)
    if out_dir is not None:  # before anything is paid
        check_outputs(bench_files(out_dir), run_inputs(config))
    task = task or (session.task if session is not None else task_for(config))
    instances = task.instances()
    if not instances:
        raise DataError("no instances to explain: the data set split is empty")
    pool = screen_pool(config, {x.id for x in instances}, task)
    if not pool and config.bench.samples:
        raise no_screening_instances(config, task)
    own = session is None
    session = session or open_session(config, task)
    report = BenchReport(created=created(), status="running", seed=config.seed, versions=versions(),
                         config=config.model_dump(mode="json"), notes=notes(config), oracle=config.oracle.name, proxies=names,
                         instances=len(instances), screen_pool=len(pool))
    if config.explainer.estimator != "plain" and config.bench.samples:
        report.notes.append(f"the screen-and-apply grid runs estimator: plain, not the config's "
                            f"{config.explainer.estimator} (the screen tests substituting a proxy); bench.oracle_ladder "
                            "compares the estimators with the oracle alone")
    since = session.ledger.snapshot()
    # Largest budget first: smaller budgets' masks are nearly all among its masks (see
    # proxyx.explainers.base), so they come from the cache, and a bench stopped early has
    # its most telling cells. The document lists cells in the config's order.
    order = [(m, s) for s in sorted(config.bench.samples, reverse=True) for m in config.bench.methods]
    try:
        if config.engine.kind == "ray":  # every cell of an instance on one worker of a cluster
            bench_on_cluster(session, report, [(b, grid[b]) for b in order], names, instances, pool, on_progress)
        else:
            for method, samples in order:
                budget = replace(session, config=grid[method, samples])
                summary, reference = _reference(budget, instances, on_progress)
                report.references.append(summary)
                for name in names:
                    report.cells.append(_cell(budget, session.proxy(name), instances, pool, reference, on_progress))
                    _checkpoint(report, out_dir)
            if config.bench.oracle_ladder:
                report.frontier = _frontier(session, instances, names, on_progress)
        failed = (any(c.status != "ok" for c in report.cells) or any(r.failed for r in report.references)
                  or bool(report.frontier and report.frontier.failed))
        report.status = "complete_with_failures" if failed else "complete"
    except BudgetExceeded as e:
        report.status, report.stop_reason = "stopped_budget", str(e)
    finally:
        report.run = run_info(session, since, started).model_copy(update={"ledger": session.ledger.rows()})
        if own:
            session.close()
    rank = {key: i for i, key in enumerate((m, s) for m in config.bench.methods for s in config.bench.samples)}
    report.references.sort(key=lambda r: rank[r.method, r.samples])
    report.cells.sort(key=lambda c: (rank[c.method, c.samples], names.index(c.proxy)))
    cells = [c for c in report.cells if c.pipeline is not None]
    mark_pareto(cells)
    quality_vs_top_budget(cells, report.references)
    report.headline = headline(cells, config.screen.tau)
    if out_dir is not None:
        write_outputs(report, out_dir, fallback_dir=config.cache_dir)
    return report


def _frontier(session: Session, instances: list[Instance], names: list[str], progress: OnProgress) -> Frontier:
    """The oracle alone over the ladder and every proxy route, on every instance (``proxyx.bench.frontier``)."""
    config = session.config
    cells, failed = run_frontier(session.oracle, {n: session.proxy(n) for n in names}, instances,
                                 bench_routes(config.bench, names), seed=config.seed,
                                 heldout=config.fidelity.heldout_samples, k_fraction=config.fidelity.k_fraction,
                                 sampler=config.explainer.sampler, units_of=session.units, on_progress=progress)
    return frontier_of(cells, failed, config.seed)


def write_outputs(report: BenchReport, out_dir: str | Path, *, fallback_dir: str | Path | None = None) -> dict[str, Path]:
    """bench.json, bench.md and fidelity_vs_cost.png in ``out_dir``; where they went.

    A file that cannot be written there goes to ``fallback_dir`` (a warning says where).
    """
    out = Path(out_dir)
    fallback = Path(fallback_dir) if fallback_dir else None
    paths = {"bench.json": write_json(out / "bench.json", report.to_dict(), fallback_dir=fallback),
             "bench.md": write_text(out / "bench.md", bench_markdown(report), fallback_dir=fallback)}
    paths["fidelity_vs_cost.png"] = plot_fidelity_vs_cost(report, out / "fidelity_vs_cost.png", fallback_dir=fallback)
    return paths


def bench_files(out_dir: str | Path) -> list[tuple[Path, str]]:
    """What a bench writes in ``out_dir``, as ``proxyx.output.check_outputs`` takes it."""
    return [(Path(out_dir) / name, f"the bench's {name}") for name in FILES]
