"""Gradient statistics of examples and (query, candidate) pairs, through the store and the ledger.

For each example: the squared norm of its gradient in every component and
its CountSketch (unit length, float16). For each pair: the inner product of
the two gradients in every component. Together they give the cosine of any
set of components (``proxyx.influence.scoring``) and of the projection.

Memory: the queries of a batch are held (``ExampleGradient.compact``: the
body in bfloat16, the embedding as factors, about 200 MB each); every other
example's gradient is streamed, used for its pairs and dropped.

Every gradient computed is a call in the ledger (model ``GemmaGradients.name``,
role ``influence``, purpose ``gradient``: calls, tokens, seconds, $0); a
record read from the store is a cache hit, so a rerun computes nothing. A
record also keeps the peak memory of the process that computed it.
"""

from __future__ import annotations

import hashlib
import resource
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from ..ledger import Ledger
from ..models.base import Answer
from .gradients import Example, ExampleGradient, GemmaGradients
from .sketch import CountSketch
from .store import GradStore, record_key

ROLE, PURPOSE = "influence", "gradient"
_VERSION = "stats-2"  # bump when what a record holds changes


def peak_rss_gb() -> float:
    """Peak resident memory of this process so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e9


@dataclass(frozen=True)
class ExampleStats:
    norms: np.ndarray  # squared gradient norm per component
    sketch: np.ndarray  # unit-length CountSketch of the gradient, float16 (length 0 without a sketch)
    loss: float
    tokens: int
    seconds: float  # backward pass
    sketch_seconds: float
    rss_gb: float  # peak memory of the process that computed it, when it did


class GradientEngine:
    """``compute(examples, pairs)``: per-example stats and per-pair inner products, computed at most once."""

    def __init__(self, *, model: GemmaGradients, store: GradStore, ledger: Ledger, components: Sequence[str],
                 sketch_dim: int = 0, seed: int = 0):
        self.model = model
        self.store = store
        self.ledger = ledger
        self.components = list(components)
        self.sketch = CountSketch(dim=sketch_dim, seed=seed) if sketch_dim else None
        names = hashlib.sha256("\x00".join(self.components).encode()).hexdigest()[:16]
        self._spec = f"{_VERSION}:{names}:{sketch_dim}:{seed}"
        self.seen_stats: dict[str, ExampleStats] = {}  # records used in this run (each counted once in the ledger)

    def key(self, ex: Example) -> str:
        """The store's key of an example's record."""
        return record_key("example", self._spec, ex.text, ex.label)

    def _answer(self, st: ExampleStats) -> Answer:
        return Answer(probs=(float(np.exp(-st.loss)),), prompt_tokens=st.tokens,
                      seconds=st.seconds + st.sketch_seconds)

    def _load(self, key: str) -> ExampleStats | None:
        rec = self.store.get(key)
        if rec is None:
            return None
        loss, tokens, seconds, sketch_seconds, rss = rec["meta"].tolist()
        st = ExampleStats(rec["norms"], rec["sketch"], loss, int(tokens), seconds, sketch_seconds, rss)
        if key not in self.seen_stats:
            self.seen_stats[key] = st
            if self.store.first_use(key):  # on a cluster, not counted by another worker yet
                self.ledger.record_hit((self.model.name, ROLE, PURPOSE), self._answer(st))
        return st

    def _gradient(self, ex: Example, key: str) -> tuple[ExampleGradient, ExampleStats]:
        g = self.model.gradient(ex, self.components)
        start = time.perf_counter()
        sketch = np.zeros(0, dtype=np.float16)
        if self.sketch:
            s = self.sketch.project(g.blocks(self.components))
            sketch = (s / max(np.linalg.norm(s), 1e-300)).astype(np.float16)
        sketch_s = time.perf_counter() - start
        norms = np.array(g.dots(g, self.components))
        st = ExampleStats(norms, sketch, g.loss, g.tokens, g.seconds, sketch_s, peak_rss_gb())
        self.store.put(key, norms=norms, sketch=sketch,
                       meta=np.array([g.loss, g.tokens, g.seconds, sketch_s, st.rss_gb]))
        self.seen_stats[key] = st
        self.ledger.record_call((self.model.name, ROLE, PURPOSE), self._answer(st))
        return g, st

    def compute(self, examples: Sequence[Example], pairs: Sequence[tuple[int, int]],
                on_gradient: Callable[[int, int], None] | None = None
                ) -> tuple[list[ExampleStats], dict[tuple[int, int], np.ndarray]]:
        """Stats of every example, and the per-component inner products of every (i, j) pair of indices."""
        keys = [self.key(ex) for ex in examples]
        stats: list[ExampleStats | None] = [self._load(k) for k in keys]
        dots: dict[tuple[int, int], np.ndarray] = {}
        missing: list[tuple[int, int]] = []
        for i, j in dict.fromkeys(pairs):
            rec = self.store.get(record_key("pair", self._spec, keys[i], keys[j]))
            if rec is None:
                missing.append((i, j))
            else:
                dots[(i, j)] = rec["dots"]
        held_ids = sorted({i for i, _ in missing})
        stream = sorted(({j for _, j in missing} | {k for k, s in enumerate(stats) if s is None}) - set(held_ids))
        total, done = len(held_ids) + len(stream), 0
        held: dict[int, ExampleGradient] = {}
        for i in held_ids:
            g, stats[i] = self._gradient(examples[i], keys[i])
            held[i] = g.compact()
            del g
            done += 1
            on_gradient and on_gradient(done, total)
        for i, j in missing:  # pairs of two held gradients
            if j in held:
                dots[(i, j)] = self._pair(keys, i, j, held[i], held[j])
        for j in stream:
            g, stats[j] = self._gradient(examples[j], keys[j])
            for i, jj in missing:
                if jj == j:
                    dots[(i, j)] = self._pair(keys, i, j, held[i], g)
            del g
            done += 1
            on_gradient and on_gradient(done, total)
        return stats, dots  # type: ignore[return-value]

    def _pair(self, keys: list[str], i: int, j: int, a: ExampleGradient, b: ExampleGradient) -> np.ndarray:
        d = np.array(a.dots(b, self.components))
        self.store.put(record_key("pair", self._spec, keys[i], keys[j]), dots=d)
        return d


# What a component set costs: the measured time of a backward pass restricted to it. A gradient with respect to a
# few components stops autograd at the earliest of them and skips every other weight gradient. The benchmark times
# ``influence.timing_examples`` such passes on training examples; the times are kept in the gradient store (purpose
# ``timing`` in the ledger), so a rerun reports the same figure without recomputing.
def component_seconds(ctx, names: list[str], timings: dict | None = None) -> float:
    """Median seconds of one backward pass restricted to ``names`` (on the first training examples)."""
    seconds = []
    for x in ctx.train[: ctx.config.influence.timing_examples]:
        key = record_key("timing", "\x00".join(names), x.text, x.label)
        rec = ctx.store.get(key)
        if rec is None:
            res = ctx.model.gradient(ctx.example(x), names)
            ctx.store.put(key, meta=np.array([res.seconds, res.tokens]))
            ctx.ledger.record_call((ctx.model.name, ROLE, "timing"), Answer(probs=(float(np.exp(-res.loss)),),
                                                                          prompt_tokens=res.tokens, seconds=res.seconds))
            seconds.append(res.seconds)
        else:
            seconds.append(float(rec["meta"][0]))
            ctx.ledger.record_hit((ctx.model.name, ROLE, "timing"), Answer(probs=(1.0,), prompt_tokens=int(rec["meta"][1]),
                                                                         seconds=float(rec["meta"][0])))
    return float(np.median(seconds))
