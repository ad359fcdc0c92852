"""Kernel SHAP (Lundberg & Lee 2017): LIME with the Shapley kernel.

Three pieces change with respect to LIME:

* sampler (``sampler="kernel"``, the default): the empty and the full
  coalition always; then, like shap's ``KernelExplainer``, whole size levels
  (a size ``s`` paired with ``n - s``) are enumerated, smallest first, while
  the budget covers their share of the kernel mass; the remaining levels are
  sampled with the size drawn in proportion to its kernel mass
  ``(n-1)/(s(n-s))`` and each coalition added with its complement (paired
  sampling), deduplicated, until the budget is spent exactly. Sizes are
  drawn over *all* levels and draws from an enumerated level are dropped as
  repeats: the same distribution over the remaining levels, and a random
  stream that does not depend on the budget, so a smaller budget's masks are
  nearly all among a larger one's.
  ``sampler="leverage"`` draws by leverage score instead (``leverage.py``:
  every size equally, paired, without replacement, nested across budgets).
* kernel: the Shapley kernel mass of a size level, ``(n-1)/(s(n-s))``, is
  spread evenly over the coalitions of that size that were evaluated. A fully
  enumerated level thus gets the exact kernel; a sampled level is a
  stratified estimate (lower variance than weighting by draw counts, and
  unaffected by deduplication). For the leverage sampler's masks this is
  Leverage SHAP's re-weighting: the regression weight over the inclusion
  probability.
* regressor: weighted least squares constrained to
  ``sum(values) == f(full) - f(empty)``, solved symmetrically (no unit is
  eliminated) as the minimum-norm solution in the sum-zero subspace, which
  also behaves when there are more units than samples
  (``EfficientSurrogate``, the closed form of ``linear.py``).

With every coalition enumerated the result equals the exact Shapley values.
"""

from __future__ import annotations

import itertools
import math

import numpy as np

from .base import Explainer, register_explainer
from .leverage import leverage_masks
from .linear import LinearSurrogate
from .masks import CHUNK, MaskSet, kept_counts, max_rounds, random_subsets


class EfficientSurrogate(LinearSurrogate):
    """``minimise sum w (y - f(empty) - x.phi)^2`` subject to ``sum(phi) = f(full) - f(empty)`` (the gap).

    ``theta = phi - gap/d`` (sum zero), ``Z = X - rowmean(X)`` (``x.theta``
    only sees the sum-zero part), ``t = y - f(empty) - |x| gap/d``, base
    ``f(empty)``. ``Z 1 = 0`` keeps the solution in the sum-zero subspace,
    and without penalty the pseudo-inverse gives the minimum-norm solution.
    The full and the empty mask must be among the masks (they pin the
    constraint); their weight is zero.
    """

    sum_zero = True

    def _anchor(self, fitted: np.ndarray, w: np.ndarray) -> None:
        d = self.n_units
        full, empty = np.flatnonzero(self.kept == d), np.flatnonzero(self.kept == 0)
        if not len(full) or not len(empty):
            raise ValueError("Kernel SHAP needs the full and the empty mask among the masks")
        self.full_row, self.empty_row = int(full[0]), int(empty[0])

    def _offset(self, rows) -> np.ndarray:
        return (self.kept[rows] / self.n_units)[:, None]

    def target(self, y: np.ndarray) -> np.ndarray:
        y = np.asarray(y, dtype=float)
        empty = y[..., self.empty_row, None]
        return y - empty - (y[..., self.full_row, None] - empty) * (self.kept / self.n_units)

    def prior_direction(self, prior_values: np.ndarray) -> np.ndarray:
        prior_values = np.asarray(prior_values, dtype=float)
        return prior_values - prior_values.mean()

    def attribution(self, theta: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, float | np.ndarray]:
        y = np.asarray(y, dtype=float)
        gap = y[..., self.full_row] - y[..., self.empty_row]
        values = gap[..., None] / self.n_units + theta
        values += (gap - values.sum(axis=-1))[..., None] / self.n_units  # remove round-off: the sum is exact
        base = y[..., self.empty_row]
        return values, (float(base) if y.ndim == 1 else base)


@register_explainer
class KernelShapExplainer(Explainer):
    """Kernel SHAP with exact budget control and deduplicated coalitions."""

    method = "kernel_shap"
    surrogate = EfficientSurrogate
    n_forced = 2
    samplers = ("kernel", "leverage")
    paired = True

    def _sample(self, n_units: int, rng: np.random.Generator) -> np.ndarray:
        if self.sampler == "leverage":
            return leverage_masks(n_units, max(self.samples, self.n_forced), rng)
        n = n_units
        rows = MaskSet(n, max(self.samples, self.n_forced))
        rows.add(np.ones(n, dtype=bool))
        rows.add(np.zeros(n, dtype=bool))

        # Size levels s = 1..n//2, each standing for itself and its complement n - s.
        sizes = list(range(1, n // 2 + 1))
        twice = [2 if 2 * s != n else 1 for s in sizes]
        mass = [f * (n - 1) / (s * (n - s)) for s, f in zip(sizes, twice)]
        left, mass_left, n_full = rows.limit - len(rows), sum(mass), 0
        for s, f, m in zip(sizes, twice, mass):
            count = f * math.comb(n, s)
            if count > left * m / mass_left + 1e-8:
                break
            kept = np.array(list(itertools.combinations(range(n), s)))
            level = np.zeros((len(kept), n), dtype=bool)
            level[np.arange(len(kept))[:, None], kept] = True
            paired = np.empty((2 * len(level), n), dtype=bool)
            paired[0::2], paired[1::2] = level, ~level  # each coalition, then its complement
            rows.add_many(paired)
            left, mass_left, n_full = left - count, mass_left - m, n_full + 1

        if n_full < len(sizes) and not rows.full:
            p = np.array(mass) / sum(mass)
            for _ in range(max_rounds(self.samples)):
                drawn = random_subsets(rng, n, rng.choice(sizes, size=CHUNK, p=p))
                paired = np.empty((2 * len(drawn), n), dtype=bool)
                paired[0::2], paired[1::2] = drawn, ~drawn  # each coalition, then its complement
                rows.add_many(paired)
                if rows.full:
                    break
        return rows.to_array()

    def kernel(self, masks: np.ndarray) -> np.ndarray:
        n = masks.shape[1]
        kept = kept_counts(masks)
        inner = (kept > 0) & (kept < n)  # the empty and full rows are constraints, not data
        weights = np.zeros(len(masks))
        levels = kept[inner]
        weights[inner] = (n - 1) / (levels * (n - levels) * np.bincount(levels, minlength=n)[levels])
        return weights
