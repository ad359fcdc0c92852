"""What the proxy-informed estimators see: the oracle's few answers and the proxy's many.

``collect`` asks each model once. The oracle answers exactly the masks of
the plain explainer at budget ``oracle_samples`` (so "the oracle alone at n"
is the same calls and the same fit); the proxy answers the masks of budget
``samples`` and any of the oracle's masks not among them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from functools import cached_property

import numpy as np

from .base import Attribution, Explainer, ValueFn, evaluate, make_explainer
from .heldout import HeldOut
from .linear import LinearSurrogate
from .masks import find_rows, kept_counts
from .uncertainty import plain_errors


@dataclass(frozen=True, eq=False)
class Answers:
    """Everything an estimator sees: the oracle's masks and answers, the proxy's on its own and the oracle's masks."""

    explainer: Explainer  # the plain explainer at the oracle's budget n: its masks, its fit
    oracle_masks: np.ndarray
    y_oracle: np.ndarray
    proxy_on_oracle: np.ndarray  # the proxy's answers on oracle_masks
    proxy_masks: np.ndarray  # the masks of budget N
    y_proxy: np.ndarray  # the proxy's answers on proxy_masks
    oracle_weights: np.ndarray
    proxy_weights: np.ndarray
    proxy_calls: int

    @property
    def method(self) -> str:
        return self.explainer.method

    @property
    def n_units(self) -> int:
        return self.oracle_masks.shape[1]

    def oracle_fit(self, rows: np.ndarray | None = None) -> LinearSurrogate:
        """The method's fit on the oracle's masks (on ``rows`` of them only: a cross-fitting fold)."""
        if rows is None:
            return self._oracle_fit
        return self.explainer.closed_form(self.oracle_masks, self.oracle_weights, rows)

    def proxy_fit(self) -> LinearSurrogate:
        """The method's fit on the proxy's masks (budget N)."""
        return self._proxy_fit

    @cached_property
    def proxy_explanation(self) -> tuple[np.ndarray, float]:
        """``(values, base_value)`` of the proxy's own fit at budget N (``phi_p``)."""
        return self.proxy_fit().fit(self.y_proxy)

    @cached_property
    def _oracle_fit(self) -> LinearSurrogate:
        return self.explainer.closed_form(self.oracle_masks, self.oracle_weights)

    @cached_property
    def _proxy_fit(self) -> LinearSurrogate:
        return self.explainer.closed_form(self.proxy_masks, self.proxy_weights)

    @cached_property
    def eligible(self) -> np.ndarray:
        """The oracle's masks that carry weight in the fit (all but Kernel SHAP's full and empty masks)."""
        return np.flatnonzero(self.oracle_weights > 0)

    @cached_property
    def sampled(self) -> np.ndarray:
        """The eligible masks of levels (number of units kept) that were drawn at random, not enumerated.

        Cross-validation leaves out only these: an enumerated level is fixed
        by the design (Kernel SHAP enumerates the heavy small levels first),
        and holding part of it out would make the fit look far worse than it
        is and favour the prior for a reason that does not exist.
        """
        kept = kept_counts(self.oracle_masks)
        n = self.n_units
        counts = np.bincount(kept, minlength=n + 1)
        complete = np.array([counts[k] == math.comb(n, k) for k in range(n + 1)])[kept]
        return np.flatnonzero((self.oracle_weights > 0) & ~complete)

    @cached_property
    def held_out(self) -> HeldOut:
        """The blocks of ``sampled`` masks the estimators leave out to check themselves (``heldout.py``)."""
        return HeldOut(self.oracle_fit(), self.sampled)

    def oracle_alone(self) -> Attribution:
        """The plain explainer at the oracle's budget on its answers, with its standard errors: the baseline every
        estimate is checked against, at no extra call."""
        plain = self.explainer.fit(self.oracle_masks, self.y_oracle)
        return replace(plain, standard_errors=plain_errors(self.explainer, self.oracle_masks, self.y_oracle,
                                                           self.oracle_weights))


def collect(method: str, n_units: int, oracle_fn: ValueFn, proxy_fn: ValueFn, *, samples: int,
            oracle_samples: int, seed: int, sampler: str = "kernel") -> Answers:
    """Ask the oracle (one call) and the proxy (one call) what the estimators need.

    Both budgets draw their masks with ``sampler``, and each set is weighted by that sampler's kernel
    (``KernelShapExplainer.kernel`` fits either sampler's masks).
    """
    small = make_explainer(method, samples=oracle_samples, seed=seed, sampler=sampler)
    large = make_explainer(method, samples=samples, seed=seed, sampler=sampler)
    oracle_masks, proxy_masks = small.sample_masks(n_units), large.sample_masks(n_units)
    y_oracle = evaluate(oracle_fn, oracle_masks)
    where = find_rows(proxy_masks, oracle_masks)  # the proxy answers each oracle mask: among its own, or extra
    extra = np.flatnonzero(where < 0)
    asked = np.vstack([proxy_masks, oracle_masks[extra]]) if len(extra) else proxy_masks
    y_asked = evaluate(proxy_fn, asked)
    where[extra] = len(proxy_masks) + np.arange(len(extra))
    return Answers(
        explainer=small, oracle_masks=oracle_masks, y_oracle=y_oracle,
        proxy_on_oracle=y_asked[where],
        proxy_masks=proxy_masks, y_proxy=y_asked[: len(proxy_masks)],
        oracle_weights=small.kernel(oracle_masks), proxy_weights=large.kernel(proxy_masks),
        proxy_calls=len(asked),
    )


def weighted_correlation(x: np.ndarray, y: np.ndarray, w: np.ndarray) -> float | None:
    """Pearson correlation with weights ``w``; None when either side is constant or nothing has weight."""
    if w.sum() <= 0:
        return None
    xc, yc = x - w @ x / w.sum(), y - w @ y / w.sum()
    sxx, syy = w @ (xc * xc), w @ (yc * yc)
    if sxx <= 1e-30 or syy <= 1e-30:
        return None
    return float(np.clip(w @ (xc * yc) / np.sqrt(sxx * syy), -1.0, 1.0))
