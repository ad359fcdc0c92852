"""Explaining a run's instances on the workers of a Ray cluster, with one cache, one budget and the same report.

The driver (the ``proxyx`` process) screens as it does alone, then hands the
instances, one at a time, to ``engine.workers`` Ray actors. Each worker
loads the models once and explains an instance exactly as one process would
(``pipeline.explain_instance``: the same seeds, the same masks), through a
``SharedCache`` and ``SharedLedger`` (``proxyx.engine.shared``); it returns
the instance's result with what the instance cost in its ledger, and the
driver puts the results back in instance order. The report is the one a
single process writes, apart from timings and which instance paid for a text
two instances share (the other reads it from the cache). ``run_on_cluster``
is the loop itself, for any work done per instance: ``proxyx bench`` hands
each worker every cell of an instance (``proxyx.bench.sharded``), ``proxyx
influence`` one source's gradients (``proxyx.influence.sharded``).

Faults: a worker that dies loses no paid answer (each is stored at the owner
before the worker goes on); the driver ends its claims and gives its instance
to a new worker (up to ``RETRIES`` times). A budget stop lets the running
instances finish and stops. Ctrl-C stops every worker; a rerun resumes from
the cache.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from ..config import Config, EngineConfig
from ..data import Instance
from ..errors import BudgetExceeded, ConfigError, ModelError
from ..ledger import Key, Ledger
from ..results import Cost, InstanceResult
from ..runtime import Runtime
from .shared import BudgetOwner, CacheOwner, SharedCache, SharedLedger

#: times an instance is given to a new worker after its worker died
RETRIES = 3

#: ``pipeline.explain_instance``: (session, instance, eligible proxies, unavailable=...) -> its result
ExplainInstance = Callable[..., InstanceResult]

#: what a worker does with one item: (its session, the item) -> a result the driver collects
Work = Callable[..., object]


@contextmanager
def connected(engine: EngineConfig):
    """Ray, started on this machine (``address: local``) or joined; shut down after if this call started it."""
    try:
        import ray
    except ImportError:
        raise ConfigError("engine.kind: ray needs the ray package: run 'make install' (it installs proxyx[ray]) "
                          "or pip install 'proxyx[ray]'") from None
    started = not ray.is_initialized()
    if started:
        cpus = max(os.cpu_count() or 1, int(engine.workers * engine.cpus_per_worker + 0.999))
        options = dict(include_dashboard=False, log_to_driver=False, configure_logging=False)
        # the notice that a local cluster uses token authentication (the default) is not the user's business
        logging.getLogger("ray._private.authentication.authentication_token_setup").setLevel(logging.ERROR)
        try:
            if engine.address == "local":
                ray.init(num_cpus=cpus, **options)
            else:
                ray.init(address=engine.address, **options)
        except (ConnectionError, RuntimeError, ValueError) as e:
            raise ConfigError(f"cannot reach the Ray cluster at engine.address {engine.address!r} "
                              f"({str(e).splitlines()[0] if str(e) else type(e).__name__}); start it with "
                              "'ray start --head', or use address: local") from None
    try:
        yield ray
    finally:
        if started:
            ray.shutdown()


def on_this_node(ray, owner: type, *args):
    """``owner(*args)`` as an actor on the driver's node (the head node when the driver runs there), no CPU held:
    what it owns (a file under ``cache_dir``) stays where the driver finds it after the run."""
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    here = NodeAffinitySchedulingStrategy(ray.get_runtime_context().get_node_id(), soft=False)
    return ray.remote(owner).options(num_cpus=0, scheduling_strategy=here).remote(*args)


class ExplainWorker:
    """One worker: the run's models, loaded once, behind the cluster's cache and budget; runs any per-item work."""

    def __init__(self, config: Config, cache_owner, budget_owner, worker: str, cwd: str, path: list[str]):
        from ..session import open_session

        if Path(cwd).is_dir():  # the config's relative paths (data, python: models) mean what they meant to the driver
            os.chdir(cwd)
        sys.path[:0] = [p for p in path if p not in sys.path]
        ledger = SharedLedger(budget_owner) if budget_owner is not None else Ledger()
        self.session = open_session(config, runtime=Runtime(cache=SharedCache(cache_owner, worker), ledger=ledger))

    def pid(self) -> int:
        return os.getpid()

    def run(self, work: Work, item):
        """(``work(session, item)`` or None, the budget's reason when it stopped the item or None, what the item
        paid by ledger key, its answers' flags)."""
        session = self.session
        before = session.ledger.snapshot()
        flags = {s.name: dict(s.flags) for s in [session.oracle, *session.proxies]}
        result = stopped = None
        try:
            result = work(session, item)
        except BudgetExceeded as e:
            stopped = str(e)
        finally:
            if isinstance(session.ledger, SharedLedger):
                session.ledger.give_back()
        cost = {k: c - before[k] if k in before else c for k, c in session.ledger.snapshot().items()}
        new_flags = {s.name: {f: n - flags[s.name].get(f, 0) for f, n in s.flags.items()}
                     for s in [session.oracle, *session.proxies]}
        return result, stopped, cost, new_flags


@dataclass
class ClusterRun:
    """What the workers finished, in item order, and how the run ended."""

    entries: list = field(default_factory=list)  # the work's results of the finished items
    costs: dict[Key, Cost] = field(default_factory=dict)
    flags: dict[str, dict[str, int]] = field(default_factory=dict)
    stopped: str | None = None  # the budget's reason, when it stopped the run
    cache_stats: dict = field(default_factory=dict)  # the cache owner's operations and their seconds
    startup_s: float = 0.0  # starting the workers and loading their models
    done: list[int] = field(default_factory=list)  # the indices of the finished items, in order


def run_on_cluster(config: Config, ids: list[str], item: Callable[[int], object], work: Work, *,
                   spent: dict[Key, Cost],
                   on_done: Callable[[int, object], None] = lambda i, result: None) -> ClusterRun:
    """``work(session, item(i))`` for every item i on ``config.engine.workers`` Ray workers.

    ``ids``: the items' names (in errors); ``item(i)`` is built when the item is handed out (it may carry what
    the items before it found); ``work``: a module-level function (it travels to the workers by name);
    ``spent``: the driver's ledger so far (it counts against ``max_usd``); ``on_done(i, result)``: in the driver,
    as each item finishes. A budget stop lets the running items finish and hands out no more.
    """
    engine = config.engine
    with connected(engine) as ray:
        cache_owner = on_this_node(ray, CacheOwner, str(Path(config.cache_dir).resolve()))
        budget_owner = on_this_node(ray, BudgetOwner, config.max_usd, spent) if config.max_usd is not None else None
        worker_class = ray.remote(ExplainWorker).options(num_cpus=engine.cpus_per_worker, max_restarts=0)
        started = [0]

        def new_worker():
            started[0] += 1
            name = f"worker-{started[0]}"
            return name, worker_class.remote(config, cache_owner, budget_owner, name, os.getcwd(), sys.path)

        run = ClusterRun()
        done: dict[int, object] = {}
        queue = list(range(len(ids)))
        tries = [0] * len(ids)
        clock = time.perf_counter()
        idle = [new_worker() for _ in range(min(engine.workers, len(ids)))]
        ray.get([worker.pid.remote() for _, worker in idle])  # every worker has its models: the start is over
        run.startup_s = time.perf_counter() - clock
        running: dict = {}  # object ref -> (worker name, worker, item index)
        try:
            while (queue and run.stopped is None) or running:
                while idle and queue and run.stopped is None:
                    name, worker = idle.pop()
                    i = queue.pop(0)
                    running[worker.run.remote(work, item(i))] = (name, worker, i)
                [ref], _ = ray.wait(list(running), num_returns=1)
                name, worker, i = running.pop(ref)
                try:
                    outcome = ray.get(ref)
                except ray.exceptions.RayActorError:  # the worker died: free its claims, retry elsewhere
                    ray.get(cache_owner.drop.remote(name))
                    tries[i] += 1
                    if tries[i] > RETRIES:
                        raise ModelError(f"instance {ids[i]!r}: {RETRIES + 1} workers died on it; see the Ray logs "
                                         "(/tmp/ray/session_latest/logs)") from None
                    queue.insert(0, i)
                    idle.append(new_worker())
                    continue
                idle.append((name, worker))
                result, stopped, cost, flags = outcome
                for key, c in cost.items():  # a stopped item's paid calls too: they are in the cache
                    run.costs[key] = run.costs.get(key, Cost()) + c
                for model, counts in flags.items():
                    for flag, n in counts.items():
                        if n:
                            run.flags.setdefault(model, {})[flag] = run.flags.get(model, {}).get(flag, 0) + n
                if stopped is not None:
                    run.stopped = run.stopped or stopped
                    continue
                done[i] = result
                on_done(i, result)
            run.cache_stats = ray.get(cache_owner.stats.remote())
        finally:  # Ctrl-C, a stop or the end: no worker goes on paying
            for _, worker in [*idle, *((n, w) for n, w, _ in running.values())]:
                ray.kill(worker)
        run.done = sorted(done)
        run.entries = [done[i] for i in run.done]
        return run


def _explain_one(explain_instance: ExplainInstance, failed_instance: Callable, session, item):
    """One instance as the pipeline explains it: (its result, the proxies found unavailable)."""
    x, eligible, unavailable = item
    down = dict(unavailable)
    try:
        entry = explain_instance(session, x, [session.proxy(n) for n in eligible], unavailable=down)
    except ModelError as e:
        entry = failed_instance(x, e)
    return entry, down


def explain_on_cluster(config: Config, instances: list[Instance], eligible: list[str], *,
                       explain_instance: ExplainInstance, failed_instance: Callable, spent: dict[Key, Cost],
                       unavailable: dict[str, str],
                       on_instance: Callable[[int, int, InstanceResult | None, str], None]) -> ClusterRun:
    """Explain ``instances`` on ``config.engine.workers`` Ray workers; ``spent``: the driver's ledger so far.

    ``explain_instance(session, x, eligible, unavailable=...)`` and ``failed_instance(x, error)``: the pipeline's
    own (passed in, so that this module stays below the pipeline).

    ``unavailable`` (proxies that failed for good) is updated with what the workers found.
    """
    finished = [0]

    def on_done(i: int, result) -> None:
        entry, down = result
        unavailable.update({k: v for k, v in down.items() if k not in unavailable})
        finished[0] += 1
        on_instance(finished[0], len(instances), entry, entry.id)

    run = run_on_cluster(config, [x.id for x in instances],
                         lambda i: (instances[i], eligible, dict(unavailable)),
                         partial(_explain_one, explain_instance, failed_instance), spent=spent, on_done=on_done)
    run.entries = [entry for entry, _ in run.entries]
    return run
