"""Intervals for comparing explanation methods on the same instances.

Every comparison in proxyx is paired: two methods explain the same
instances, so per-instance differences remove the instances' own spread.

* ``paired_t``: mean of per-instance differences with a two-sided Student t
  interval (what "better than the oracle alone at the same spend" means).
* ``ratio_of_means``: mean(a) / mean(b) with a seeded paired bootstrap
  percentile interval; per-instance ratios are heavy-tailed where b is small,
  the ratio of means is not.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

#: bootstrap resamples of ``ratio_of_means``
RESAMPLES = 2000


@dataclass(frozen=True)
class Interval:
    """An estimate with a two-sided interval at ``level``; bounds are None when n is too small."""

    estimate: float | None
    low: float | None
    high: float | None
    n: int
    level: float = 0.95

    @property
    def above_zero(self) -> bool:
        return self.low is not None and self.low > 0

    def above(self, value: float) -> bool:
        return self.low is not None and self.low > value


def _pairs(a: Sequence[float | None], b: Sequence[float | None]) -> tuple[np.ndarray, np.ndarray]:
    if len(a) != len(b):
        raise ValueError(f"paired samples differ in length: {len(a)} and {len(b)}")
    keep = [(x, y) for x, y in zip(a, b) if x is not None and y is not None and math.isfinite(x) and math.isfinite(y)]
    arr = np.array(keep, dtype=float).reshape(-1, 2)
    return arr[:, 0], arr[:, 1]


def paired_t(a: Sequence[float | None], b: Sequence[float | None], *, level: float = 0.95) -> Interval:
    """mean(a - b) over the pairs where both are defined, with a Student t interval."""
    x, y = _pairs(a, b)
    return mean_t(x - y, level=level)


def mean_t(values: Sequence[float], *, level: float = 0.95) -> Interval:
    """The mean of ``values`` with a Student t interval (no bounds below 2 values)."""
    d = np.asarray(values, dtype=float)
    n = len(d)
    if n == 0:
        return Interval(None, None, None, 0, level)
    m = float(d.mean())
    if n < 2:
        return Interval(m, None, None, n, level)
    half = float(stats.t.ppf(0.5 + level / 2, n - 1)) * float(d.std(ddof=1)) / math.sqrt(n)
    return Interval(m, m - half, m + half, n, level)


def ratio_of_means(a: Sequence[float | None], b: Sequence[float | None], *, level: float = 0.95,
                   seed: int = 0) -> Interval:
    """mean(a) / mean(b) over the pairs where both are defined, with a paired bootstrap interval."""
    x, y = _pairs(a, b)
    n = len(x)
    if n == 0 or y.mean() <= 0:
        return Interval(None, None, None, n, level)
    estimate = float(x.mean() / y.mean())
    if n < 2:
        return Interval(estimate, None, None, n, level)
    idx = np.random.default_rng(seed).integers(0, n, size=(RESAMPLES, n))
    den = y[idx].mean(axis=1)
    ratios = x[idx].mean(axis=1)[den > 0] / den[den > 0]
    low, high = np.quantile(ratios, [0.5 - level / 2, 0.5 + level / 2])
    return Interval(estimate, float(low), float(high), n, level)
