"""LIME for text with the defaults of lime's ``LimeTextExplainer``.

Sampling: the unmasked text, then masks that remove a uniform number of
units (1..n_units) chosen uniformly. Kernel: cosine distance to the unmasked
row times 100, weighted by ``sqrt(exp(-d**2 / 25**2))`` (lime takes the
square root: its weights are the square of an RBF "similarity"). Surrogate:
weighted ridge regression (``alpha = 1``) with an intercept, as lime's
``Ridge(alpha=1)``; the attributions are its coefficients
(``InterceptSurrogate``, the closed form of ``linear.py``; any explainer whose
surrogate has a free intercept can take it, with its own ``alpha``).

Weighting with deduplicated masks: lime makes ``samples - 1`` draws and
counts a mask drawn twice twice, so a level (number of units removed) gets
``(samples - 1) / n_units`` draws on average, many of them repeats at the
small levels. Here masks are unique (and all enumerated for short texts), so
each level's expected kernel mass ``kernel(level) * (samples - 1) / n_units``
is spread evenly over the distinct masks evaluated at that level, as
``kernel_shap.py`` does with the Shapley kernel. The weights then have
lime's expected scale, which matters because the ridge penalty is absolute.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from .base import Explainer, register_explainer
from .linear import LinearSurrogate
from .masks import CHUNK, MaskSet, kept_counts, max_rounds, random_subsets


class InterceptSurrogate(LinearSurrogate):
    """``minimise sum w (y - b - x.phi)^2 + alpha |phi|^2`` with the intercept ``b`` free.

    ``theta = phi``, ``Z = X - xbar``, ``t = y - ybar`` (weighted means over
    the fitted rows), ``b = ybar - xbar.phi``. On a single unit the ridge is
    dropped: its two answers (kept, removed) fix the line, and a penalty
    would shrink the one coefficient to about zero (LIME weighs the empty
    text very little).
    """

    intercept = True

    def _anchor(self, fitted: np.ndarray, w: np.ndarray) -> None:
        self.center = w @ fitted / w.sum()
        if self.n_units == 1:
            self.alpha = 0.0

    def _offset(self, rows) -> np.ndarray:
        return self.center

    def target(self, y: np.ndarray) -> np.ndarray:
        y = np.asarray(y, dtype=float)
        return y - y[..., self.rows] @ (self.w_fit / self.w_fit.sum())[:, None]

    def prior_direction(self, prior_values: np.ndarray) -> np.ndarray:
        return np.asarray(prior_values, dtype=float)

    def attribution(self, theta: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, float | np.ndarray]:
        y = np.asarray(y, dtype=float)
        base = y[..., self.rows] @ (self.w_fit / self.w_fit.sum()) - theta @ self.center
        return theta.copy(), (float(base) if y.ndim == 1 else base)


@register_explainer
class LimeExplainer(Explainer):
    """LIME (Ribeiro et al. 2016) with lime's text defaults."""

    method = "lime"
    surrogate = InterceptSurrogate
    alpha = 1.0
    kernel_width: ClassVar[float] = 25.0

    def _sample(self, n_units: int, rng: np.random.Generator) -> np.ndarray:
        rows = MaskSet(n_units, self.samples)
        rows.add(np.ones(n_units, dtype=bool))
        for _ in range(max_rounds(self.samples)):
            if rows.full:
                break
            n_removed = rng.integers(1, n_units + 1, size=CHUNK)
            rows.add_many(random_subsets(rng, n_units, n_units - n_removed))
        return rows.to_array()

    def similarity(self, masks: np.ndarray) -> np.ndarray:
        """lime's kernel of each mask: the weight one draw of it gets in lime."""
        return self._similarity(kept_counts(masks), masks.shape[1])

    def _similarity(self, kept: np.ndarray, n_units: int) -> np.ndarray:
        """``similarity`` of masks keeping ``kept`` of ``n_units`` units."""
        # Cosine distance of a 0/1 row with k ones to the all-ones row is
        # 1 - sqrt(k / n); the empty row gets 1, as in scikit-learn.
        distance = 100.0 * (1.0 - np.sqrt(kept / n_units))
        return np.sqrt(np.exp(-(distance**2) / self.kernel_width**2))

    def kernel(self, masks: np.ndarray) -> np.ndarray:
        """lime's expected weight per level, spread over the distinct masks of that level (module docstring)."""
        n_rows, n_units = masks.shape
        kept = kept_counts(masks)
        draws_per_level = (max(self.samples, n_rows) - 1) / n_units
        similarity = self._similarity(np.arange(n_units + 1), n_units)[kept]  # one per level, then per mask
        weights = similarity * draws_per_level / np.bincount(kept, minlength=n_units + 1)[kept]
        unmasked = kept == n_units
        weights[unmasked] = similarity[unmasked]  # lime's row 0: counted once
        return weights
