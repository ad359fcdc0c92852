"""LIME for text with the defaults of lime's ``LimeTextExplainer``.

Sampling: the unmasked text, then masks that remove a uniform number of
units (1..n_units) chosen uniformly. Kernel: cosine distance to the unmasked
row times 100, weighted by ``sqrt(exp(-d**2 / 25**2))`` (lime takes the
square root: its weights are the square of an RBF "similarity"). Surrogate:
weighted ``Ridge(alpha=1)`` with an intercept; the attributions are its
coefficients.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
from sklearn.linear_model import Ridge

from .base import CHUNK, Explainer, MaskSet, max_rounds, random_subsets


class LimeExplainer(Explainer):
    """LIME (Ribeiro et al. 2016) with lime's text defaults."""

    method = "lime"
    kernel_width: ClassVar[float] = 25.0
    alpha: ClassVar[float] = 1.0

    def _sample(self, n_units: int, rng: np.random.Generator) -> np.ndarray:
        rows = MaskSet(n_units, self.samples)
        rows.add(np.ones(n_units, dtype=bool))
        for _ in range(max_rounds(self.samples)):
            if rows.full:
                break
            n_removed = rng.integers(1, n_units + 1, size=CHUNK)
            for row in random_subsets(rng, n_units, n_units - n_removed):
                rows.add(row)
        return rows.to_array()

    def _kernel(self, masks: np.ndarray) -> np.ndarray:
        # Cosine distance of a 0/1 row with k ones to the all-ones row is
        # 1 - sqrt(k / n); the empty row gets 1, as in scikit-learn.
        distance = 100.0 * (1.0 - np.sqrt(masks.sum(axis=1) / masks.shape[1]))
        return np.sqrt(np.exp(-(distance**2) / self.kernel_width**2))

    def _fit(self, masks: np.ndarray, y: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, float]:
        if masks.shape == (2, 1):
            # One unit, kept and removed: the only line through both points.
            # (The ridge penalty and the tiny weight of the empty text would
            # otherwise shrink the single coefficient to about zero.)
            return np.array([y[0] - y[1]]), float(y[1])
        model = Ridge(alpha=self.alpha, fit_intercept=True)
        model.fit(masks.astype(float), y, sample_weight=weights)
        return model.coef_, float(model.intercept_)
