"""Coarse-to-fine explanations (TextGenSHAP's document -> sentence -> word refinement).

Level 0 explains every unit of the coarsest level. Each next level explains
only the finer units inside the units the level above *selected*, with the
rest of the input held as it is in the full input; the other units of that
level get no attribution.

Refinement rule: the ``top_k`` highest-attributed units of the level above,
and with ``threshold`` only those among them whose attribution is positive and
at least ``threshold`` times the largest. Budget split: ``samples[i]`` unique
masks at level i (one number: the same at every level); Kernel SHAP enumerates
every coalition when ``2**n <= samples[i]``, so small levels cost ``2**n`` and
are exact.

With a ``proxy_fn`` and a proxy-informed ``estimator``
(``proxyx.explainers.estimators``), each level asks the oracle only
``oracle_samples`` of its masks and the proxy ``samples[i]``.

Levels are given as objects with ``unit`` and ``ranges`` (the word span
``[start, end)`` of each unit, e.g. ``proxyx.perturb.ContextSegments``); the
value function takes word-level masks, so every level asks the same questions
of the model.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from .base import Attribution, ValueFn, make_explainer
from .estimators import EstimatorInfo, explain_informed


@dataclass(frozen=True)
class LevelResult:
    """One level: which of its units were explained (``active``), their attribution, its budget."""

    unit: str
    active: tuple[int, ...]  # indices into the level's units
    attribution: Attribution  # over the active units, in that order
    samples: int  # the level's budget (unique masks)
    exact: bool  # every coalition of the active units was evaluated by the oracle
    seconds: float
    estimator: EstimatorInfo | None = None  # with a proxy-informed estimator: what it chose and spent

    def values(self, n_units: int) -> np.ndarray:
        """Attribution per unit of the level (NaN for the units not explained)."""
        out = np.full(n_units, np.nan)
        out[list(self.active)] = self.attribution.values
        return out


def select(values: np.ndarray, top_k: int, threshold: float | None = None) -> np.ndarray:
    """Positions of the units to refine (ties: the earlier unit first)."""
    values = np.asarray(values, dtype=float)
    order = np.argsort(-values, kind="stable")[:top_k]
    if threshold is not None:
        best = values.max()
        order = order[(values[order] > 0) & (values[order] >= threshold * best)]
    return np.sort(order)


def on_spans(value_fn: ValueFn, spans: Sequence[tuple[int, int]], n_words: int) -> ValueFn:
    """``value_fn`` over word masks as a value function over masks of ``spans`` (the other words kept)."""
    def level_fn(masks: np.ndarray) -> np.ndarray:
        masks = np.asarray(masks, dtype=bool)
        words = np.ones((len(masks), n_words), dtype=bool)
        for j, (a, b) in enumerate(spans):
            words[:, a:b] = masks[:, j : j + 1]
        return value_fn(words)
    return level_fn


class HierarchicalExplainer:
    """Explain level by level, refining the selected units; constructor stores arguments only."""

    def __init__(self, *, method: str = "kernel_shap", samples: int | Sequence[int] = 1000, top_k: int = 2,
                 threshold: float | None = None, seed: int = 0, estimator: str = "plain",
                 oracle_samples: int | None = None, sampler: str = "kernel"):
        self.method = method
        self.sampler = sampler
        self.samples = samples
        self.top_k = top_k
        self.threshold = threshold
        self.seed = seed
        self.estimator = estimator
        self.oracle_samples = oracle_samples

    def budget(self, n_levels: int) -> list[int]:
        """Unique masks per level (the stated split)."""
        if isinstance(self.samples, int):
            return [self.samples] * n_levels
        if len(self.samples) != n_levels:
            raise ValueError(f"samples gives {len(self.samples)} budgets for {n_levels} levels")
        return list(self.samples)

    def explain(self, levels: Sequence, value_fn: ValueFn, n_words: int,
                on_level: Callable[[int, LevelResult], None] | None = None,
                proxy_fn: ValueFn | None = None) -> list[LevelResult]:
        """Explain ``value_fn`` (word masks (m, n_words) -> values) at each level, coarse to fine
        (with ``proxy_fn`` and an estimator: ``value_fn`` sharpened by the proxy's answers)."""
        informed = proxy_fn is not None and self.estimator != "plain"
        budgets = self.budget(len(levels))
        out: list[LevelResult] = []
        parents: list[tuple[int, int]] | None = None  # word spans of the units selected above
        for i, (level, samples) in enumerate(zip(levels, budgets)):
            ranges = list(level.ranges)
            if parents is None:
                active = list(range(len(ranges)))
            else:
                active = [u for u, (a, b) in enumerate(ranges) if any(p <= a and b <= q for p, q in parents)]
            if not active:
                break
            start = time.perf_counter()
            spans = [ranges[u] for u in active]

            level_fn = on_spans(value_fn, spans, n_words)
            info, oracle_budget = None, samples
            if informed:
                oracle_budget = min(self.oracle_samples or samples, samples)
                attr, info = explain_informed(self.method, len(active), level_fn, on_spans(proxy_fn, spans, n_words),
                                              samples=samples, oracle_samples=oracle_budget,
                                              estimator=self.estimator, seed=self.seed + i, sampler=self.sampler)
            else:
                attr = make_explainer(self.method, samples=samples, seed=self.seed + i,
                                      sampler=self.sampler).explain(len(active), level_fn)
            result = LevelResult(unit=level.unit, active=tuple(active), attribution=attr, samples=samples,
                                 exact=2 ** len(active) <= oracle_budget, seconds=time.perf_counter() - start,
                                 estimator=info)
            out.append(result)
            if on_level is not None:
                on_level(i, result)
            chosen = select(attr.values, self.top_k, self.threshold)
            parents = [spans[j] for j in chosen]
        return out
