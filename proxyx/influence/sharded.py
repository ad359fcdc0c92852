"""``proxyx influence`` on a Ray cluster (``engine.kind: ray``): each source's gradients on one worker, one store.

The driver makes the queries as it does alone (the oracle's paraphrases and
labels, the run's only paid calls, through the call cache and the ledger),
then hands the sources, one at a time, to ``engine.workers`` Ray workers:
explain's loop (``proxyx.engine.cluster.run_on_cluster``), with its retries
of a dead worker's item and its stop on Ctrl-C. A worker loads the torch
Gemma once and keeps it; it computes all of a source's queries and candidates
(``GradientEngine.compute``), so the held query gradients never leave it, and
returns their statistics only. The driver scores them as one process does.

One store: the gradient store sits behind one owner on the driver's node
(``StoreOwner``, as the call cache sits behind ``CacheOwner``), so workers on
any machine read and write the same records. A record is on the owner's disk
before its worker goes on, so a killed worker loses none, and a rerun
computes nothing. A record read by two workers is counted once in the ledger,
as in one process.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..engine.cluster import connected, on_this_node, run_on_cluster
from ..engine.shared import reraised
from ..errors import BudgetExceeded, CacheError
from .context import InfluenceContext
from .engine import ExampleStats, GradientEngine
from .gradients import Example, GemmaGradients
from .store import GradStore

#: a source's work: its examples and the (query, candidate) pairs of their indices
Work = tuple[list[Example], list[tuple[int, int]]]


class StoreOwner:
    """The run's gradient store (``GradStore``) and which records the run has counted."""

    def __init__(self, directory: str, fingerprint: str):
        self.store = GradStore(directory, fingerprint)
        self.counted: set[str] = set()

    def get(self, key: str) -> dict[str, np.ndarray] | None | CacheError:
        try:
            return self.store.get(key)
        except CacheError as e:  # crosses the actor boundary as a value: the worker raises it again
            return e

    def put(self, key: str, arrays: dict[str, np.ndarray]) -> CacheError | None:
        self.counted.add(key)  # computed: the ledger has it as a call
        try:
            return self.store.put(key, **arrays)
        except CacheError as e:
            return e

    def first_use(self, key: str) -> bool:
        new = key not in self.counted
        self.counted.add(key)
        return new


class SharedStore:
    """A ``GradStore`` whose files are the owner's: the same methods, each one round trip to the ``StoreOwner``."""

    def __init__(self, owner):
        self.owner = owner

    def get(self, key: str) -> dict[str, np.ndarray] | None:
        import ray

        return reraised(ray.get(self.owner.get.remote(key)))

    def put(self, key: str, **arrays: np.ndarray) -> None:
        """Stored before returning: a record a worker made is on the owner's disk if the worker dies."""
        import ray

        reraised(ray.get(self.owner.put.remote(key, arrays)))

    def first_use(self, key: str) -> bool:
        import ray

        return ray.get(self.owner.first_use.remote(key))


@dataclass(frozen=True)
class Source:
    """What a worker needs for one source: the store's owner, the engine's settings, the source's work."""

    owner: object
    components: tuple[str, ...]
    sketch_dim: int
    examples: list[Example]
    pairs: list[tuple[int, int]]


_WORKER_ENGINE: list[GradientEngine] = []  # this worker process's engine: its Gemma loads once, then stays


def source_gradients(session, source: Source) -> tuple[list[ExampleStats], dict]:
    """On a worker: one source's (stats of each example, inner products of each pair)."""
    if not _WORKER_ENGINE:
        c = session.config
        threads = max(1, min(c.influence.threads, int(c.engine.cpus_per_worker)))  # one worker, its own CPUs
        model = GemmaGradients(task=c.task, model_path=c.oracle.model_path, n_threads=threads)  # loads on first use
        _WORKER_ENGINE.append(GradientEngine(model=model, store=SharedStore(source.owner), ledger=session.ledger,
                                             components=source.components, sketch_dim=source.sketch_dim, seed=c.seed))
    return _WORKER_ENGINE[0].compute(source.examples, source.pairs)


def compute_on_cluster(ctx: InfluenceContext, engine: GradientEngine, ids: list[str], work: list[Work],
                       on_progress) -> list[tuple[list[ExampleStats], dict]]:
    """``engine.compute`` of every source's work on the cluster's workers, in source order; ``ids``: the sources'.

    The workers' ledger tallies join ``ctx.ledger`` and their records ``engine.seen_stats`` (the report's
    timings and memory), as if ``engine`` had computed them.
    """
    config = ctx.config
    finished = [0]

    def on_done(p: int, result) -> None:
        finished[0] += 1
        on_progress and on_progress("gradients", finished[0], len(work))

    with connected(config.engine) as ray:
        owner = on_this_node(ray, StoreOwner, str(Path(config.cache_dir).resolve()), ctx.store.dir.name)
        spec = (tuple(engine.components), engine.sketch.dim if engine.sketch else 0)
        on_progress and on_progress("gradients", 0, len(work))
        run = run_on_cluster(config, ids, lambda p: Source(owner, *spec, *work[p]), source_gradients,
                             spent=ctx.ledger.snapshot(), on_done=on_done)
    ctx.ledger.absorb(run.costs)
    if run.stopped:  # gradients cost $0 and reserve nothing: only a cap the driver's calls reached stops them
        raise BudgetExceeded(run.stopped)
    for (examples, _), (stats, _) in zip(work, run.entries):
        engine.seen_stats.update({engine.key(ex): st for ex, st in zip(examples, stats)})
    return run.entries
