"""The explainers' surrogate fits in closed form, linear in the answers ``y``.

Every explainer fits a weighted linear surrogate ``g(x) = base + x.phi`` to
the answers, and declares how (``Explainer.surrogate``, ``Explainer.alpha``):
a change of variables turns its fit into one ridge problem in ``theta``,

    minimise  sum w (t - Z theta)^2 + alpha |theta|^2 + lam |theta - theta0|^2,

solved as ``theta = (G + (alpha + lam) I)^-1 (Z' W t + lam theta0)`` with
``G = Z' W Z``; one eigendecomposition of ``G`` gives every ``lam`` at once,
and their exact leave-one-out errors (the prior estimator's cross-validation),
for a whole stack of answer vectors in one pass. A single fit needs only a
linear solve (``LinearSurrogate.solve``); the eigendecomposition is made
when first needed.

A subclass of ``LinearSurrogate`` is one such change of variables: ``Z``
(``_anchor``, ``_offset``), ``t`` (``target``), ``theta -> (phi, base)``
(``attribution``) and what a prior on ``phi`` is in ``theta``
(``prior_direction``). ``lime.InterceptSurrogate`` (a free intercept: LIME,
with ``alpha = 1``) and ``kernel_shap.EfficientSurrogate`` (Kernel SHAP's
efficiency constraint) are the two the explainers use. With ``lam = 0`` the
fit is the explainer's own (``Explainer.fit`` is this fit); ``lam`` and
``theta0`` are the proxy-informed estimators' prior (``estimators.py``).
With ``alpha + lam = 0`` a singular ``G`` gets the pseudo-inverse: the
minimum-norm solution.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from functools import cached_property
from typing import ClassVar

import numpy as np
from scipy.linalg import lapack

from .masks import find_rows

#: eigenvalues below this share of the largest count as zero in a pseudo-inverse
RANK_TOL = 1e-10
#: pivots below this share of the largest diagonal entry make ``_unpenalised`` leave ``G`` to the pseudo-inverse
CHOLESKY_TOL = 1e-6
#: a row the unpenalised fit interpolates is left out at ridges of this share of the mean eigenvalue
#: and twice it, extrapolated to 0 (``loo_residuals``: the limit ``lam -> 0+``)
LIMIT = 1e-5


def _times(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a @ b`` for a stack ``a`` of rows, as one 2-D product (``@`` would loop over the leading axes)."""
    return (a.reshape(-1, a.shape[-1]) @ b).reshape(*a.shape[:-1], b.shape[-1])


class LinearSurrogate(ABC):
    """One explainer's fit on fixed masks and weights, for any answers ``y``.

    ``rows`` restricts the fit to a subset of the masks (a cross-validation
    fold); rows with zero weight never enter it. ``alpha`` is the fit's own
    ridge; ``paired`` says the masks were drawn with their complements, and
    leaving one out leaves its complement out with it (``loo_residuals``).
    Made by ``Explainer.closed_form``.

    Every method taking answers ``y`` (one per mask) also takes a stack of
    them, shape ``(..., masks)``, and puts the stack's axes first in its
    result: several answer vectors share one pass.
    """

    #: ``Z 1 = 0``: ``theta`` lives in the sum-zero subspace, and ``1`` is a null direction of ``G``
    sum_zero: ClassVar[bool] = False
    #: a free intercept, W-orthogonal to the centred ``Z``: it adds ``w_i / sum(w)`` to each row's leverage
    intercept: ClassVar[bool] = False

    def __init__(self, masks: np.ndarray, weights: np.ndarray, rows: np.ndarray | None = None, *,
                 alpha: float = 0.0, paired: bool = False) -> None:
        self.alpha, self.paired = float(alpha), paired
        self.masks = np.asarray(masks, dtype=bool)
        self.weights = np.asarray(weights, dtype=float)
        m, d = self.masks.shape
        use = self.weights > 0
        if rows is not None:
            chosen = np.zeros(m, dtype=bool)
            chosen[rows] = True
            use &= chosen
        self.rows = np.flatnonzero(use)
        x = self.masks.astype(float)
        self.kept = x @ np.ones(d)  # a product, not sum(axis=1): several times faster on short rows
        w = self.weights[self.rows]
        fitted = x if len(self.rows) == m else x[self.rows]  # made sqrt(W) Z in place: few large temporaries
        self._anchor(fitted, w)
        fitted -= self._offset(self.rows)
        self.w_fit, self.root_w = w, np.sqrt(w)
        fitted *= self.root_w[:, None]
        self.root_fit = fitted  # the fitted rows' design, times the square roots of their weights
        self.gram = fitted.T @ fitted

    @property
    def n_units(self) -> int:
        return self.masks.shape[1]

    @property
    def n_params(self) -> int:
        """The fit's free parameters: the units, less one for a sum-zero ``theta``, plus one for an intercept."""
        return self.n_units - self.sum_zero + self.intercept

    @property
    def interpolates(self) -> bool:
        """Whether the unpenalised fit passes through every answer: no ridge and no more fitted masks than free
        parameters."""
        return self.alpha == 0 and len(self.rows) <= self.n_params

    @abstractmethod
    def _anchor(self, fitted: np.ndarray, w: np.ndarray) -> None:
        """Learn what the change of variables needs from the fitted rows' masks (float) and weights."""

    @abstractmethod
    def _offset(self, rows) -> np.ndarray:
        """What ``Z`` subtracts from the masks on ``rows`` (a row, or a column of one per row)."""

    @abstractmethod
    def target(self, y: np.ndarray) -> np.ndarray:
        """``t`` for every mask."""

    @abstractmethod
    def prior_direction(self, prior_values: np.ndarray) -> np.ndarray:
        """``theta0`` for a prior mean ``prior_values`` of the attributions."""

    @abstractmethod
    def attribution(self, theta: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, float | np.ndarray]:
        """``(values, base_value)`` from ``theta`` (for a stack of answer vectors: a stack of each)."""

    def _design(self, rows) -> np.ndarray:
        """``Z`` on ``rows``: the masks, centred."""
        return self.masks[rows].astype(float) - self._offset(rows)

    @cached_property
    def z(self) -> np.ndarray:
        """``Z`` on every mask."""
        return self._design(slice(None))

    @cached_property
    def spectrum(self) -> tuple[np.ndarray, np.ndarray]:
        """Eigenvalues (clipped at zero) and eigenvectors of the weighted Gram matrix ``G``."""
        eigval, eigvec = np.linalg.eigh(self.gram)
        return np.clip(eigval, 0.0, None), eigvec

    @property
    def scale(self) -> float:
        """The mean eigenvalue of the weighted Gram matrix: the natural unit of ``lam``."""
        return float(self.spectrum[0].mean())

    def _rhs(self, y: np.ndarray) -> np.ndarray:
        """``Z' W t`` over the fitted rows."""
        return (self.target(y)[..., self.rows] * self.root_w) @ self.root_fit

    def _inverse(self, lams: np.ndarray) -> np.ndarray:
        """``1 / (eigval + alpha + lam)`` per ``lam`` (rows), a pseudo-inverse where that is zero."""
        eigval = self.spectrum[0]
        shift = self.alpha + np.asarray(lams, dtype=float)[:, None]
        denom = eigval[None, :] + shift
        denom[(shift <= 0) & (eigval <= RANK_TOL * max(float(eigval[-1]), 1e-300))] = np.inf  # 1 / inf = 0
        return 1.0 / denom

    def _spectral(self, y: np.ndarray, lams: np.ndarray, theta0s: np.ndarray | None) -> np.ndarray:
        """``theta`` in the eigenbasis of ``G``: shape ``(..., len(lams), len(theta0s), d)``."""
        eigvec = self.spectrum[1]
        theta0s = np.zeros((1, self.n_units)) if theta0s is None else np.atleast_2d(theta0s)
        a = self._rhs(y) @ eigvec
        q = theta0s @ eigvec
        return self._inverse(lams)[:, None, :] * (a[..., None, None, :] + lams[:, None, None] * q[..., None, :, :])

    def path(self, y: np.ndarray, lams, theta0s: np.ndarray | None = None) -> np.ndarray:
        """``theta`` for every ``lam`` and every prior mean ``theta0``: shape ``(..., len(lams), len(theta0s), d)``
        (``theta0s`` may carry the leading axes of ``y``, one set per answer vector)."""
        lams = np.atleast_1d(np.asarray(lams, dtype=float))
        return _times(self._spectral(y, lams, theta0s), self.spectrum[1].T)

    def solve(self, y: np.ndarray, lam: float = 0.0, theta0: np.ndarray | None = None) -> np.ndarray:
        """``theta`` for one ``lam``: shape ``(..., d)``. A linear solve when ``G + alpha + lam`` is positive
        definite, or without penalty when ``G`` is (but for ``1`` with a sum-zero ``theta``; ``_unpenalised``);
        otherwise the pseudo-inverse of ``path``. Cheaper than the eigendecomposition that ``path`` needs."""
        rhs = self._rhs(y) if theta0 is None else self._rhs(y) + lam * theta0
        shift = self.alpha + lam
        if shift > 0:
            return np.linalg.solve(self.gram + shift * np.eye(self.n_units), rhs.T).T
        theta = self._unpenalised(rhs)
        return theta if theta is not None else self.path(y, [lam], theta0)[..., 0, 0, :]

    def _unpenalised(self, rhs: np.ndarray) -> np.ndarray | None:
        """``G+ rhs`` without penalty, or None when ``G`` is (nearly) singular (beyond ``1``, ``sum_zero``).

        With a sum-zero ``theta``, ``Z 1 = 0`` makes ``1`` a null direction of ``G``, and ``rhs = Z' W t`` is
        orthogonal to it; so the pseudo-inverse's answer is ``(G + c 11'/d)^-1 rhs`` as long as ``G`` has no
        other null direction. A pivoted Cholesky factorisation, rank-revealing, tells: rank ``d`` at a
        tolerance far above ``RANK_TOL`` (a nearly singular ``G`` goes to the eigendecomposition).
        """
        d = self.n_units
        c = max(float(np.trace(self.gram)) / d, 1e-300)
        shifted = self.gram + c / d if self.sum_zero else self.gram
        factor, piv, rank, _ = lapack.dpstrf(shifted, tol=CHOLESKY_TOL * float(shifted.diagonal().max()))
        if rank < d:
            return None
        piv = piv - 1  # LAPACK counts from 1
        b = rhs.reshape(-1, d).T
        solved, _ = lapack.dpotrs(factor, b[piv])
        theta = np.empty_like(solved)
        theta[piv] = solved
        return theta.T.reshape(rhs.shape)

    def loo_residuals(self, y: np.ndarray, lams, theta0s: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """Leave-one-out residual of each row of ``rows`` (fitted rows), times ``sqrt(w)``, signed, for every
        ``lam`` and ``theta0``: shape ``(..., len(lams), len(theta0s), len(rows))``; its square is the
        row's kernel-weighted squared error left out.

        Exact for this linear smoother: the residual left out is
        ``e_i / (1 - h_ii)``, with ``h_ii = w_i z_i' (G + alpha + lam)^-1 z_i``
        (plus ``w_i / sum(w)`` with a free intercept, W-orthogonal to the
        centred ``Z``). With ``paired`` masks (Kernel SHAP's paired sampling)
        a mask drawn with its complement is left out with it: the pair's residuals are
        ``(I - H_pair)^-1 e_pair``; leaving out one of them only would
        ignore how much the pairing cancels. A fit without penalty
        interpolates a row (or a pair) that is alone in its direction, e.g.
        with fewer masks than parameters: its residual left out is then scored in
        the limit ``lam -> 0+`` (the minimum-norm fit without it; ``LIMIT``).
        NaN where a row still cannot be scored. One eigendecomposition serves
        every ``lam``, ``theta0`` and answer vector.
        """
        lams = np.atleast_1d(np.asarray(lams, dtype=float))
        u = self._loo(y, lams, theta0s, rows)
        unpenalised = self.alpha + lams <= 0
        if unpenalised.any() and np.isnan(u[..., unpenalised, :, :]).any():
            # the limit of the fit without penalty, lam -> 0+ with no prior (theta0 = 0): linear in a small
            # lam, so two small lams extrapolate to 0 (Richardson)
            near = self._loo(y, [LIMIT * self.scale, 2 * LIMIT * self.scale], np.zeros((1, self.n_units)), rows)
            limit = 2 * near[..., :1, :, :] - near[..., 1:, :, :]
            stale = np.isnan(u) & unpenalised[:, None, None]
            u = np.where(stale, limit, u)
        return u

    def _loo(self, y: np.ndarray, lams: np.ndarray, theta0s: np.ndarray, rows: np.ndarray) -> np.ndarray:
        lams = np.atleast_1d(np.asarray(lams, dtype=float))
        proj, own, other, partner = self._leverage(rows, lams)
        # in place: a few large temporaries, not one per operation (fresh pages are slow to get)
        e = _times(self._spectral(y, lams, theta0s), proj.T)  # (..., L, B, h)
        np.subtract(self.target(y)[..., None, None, rows], e, out=e)
        partnered = None if other is None else np.take(e, partner, axis=-1)
        e *= own[:, None, :]
        if partnered is not None:
            partnered *= other[:, None, :]
            e += partnered
        return e

    def hat(self, rows: np.ndarray) -> np.ndarray:
        """The unpenalised fit's hat matrix in the ``sqrt(w)`` scale, on ``rows`` (fitted rows) by the fitted
        rows: ``(sqrt(w) y)``'s prediction on ``rows`` is ``hat @ (sqrt(w) y)`` over the fitted rows
        (an intercept included; a pseudo-inverse where ``G`` is singular)."""
        eigvec = self.spectrum[1]
        left = self._design(rows) @ eigvec * (np.sqrt(self.weights[rows])[:, None] * self._inverse([0.0])[0])
        out = left @ (self.root_fit @ eigvec).T
        if self.intercept:
            out += np.sqrt(self.weights[rows])[:, None] * self.root_w[None, :] / self.w_fit.sum()
        return out

    def scaled_residuals(self, y: np.ndarray) -> np.ndarray:
        """``sqrt(w)`` times the unpenalised fit's residuals, on the fitted rows."""
        return self.residuals(y)[..., self.rows] * self.root_w

    def _leverage(self, rows: np.ndarray, lams: np.ndarray) -> tuple:
        """What leave-one-out needs of ``rows`` for every ``lam``, whatever the answers: their design in the
        eigenbasis, and ``(own, other, partner)``: ``sqrt(w_i)`` times the residual left out is
        ``own e_i + other e_partner(i)``, the partner being the complement in a pair (``other`` is None
        without pairs; NaN where a row or a pair is interpolated)."""
        w, proj = self.weights[rows], self._design(rows) @ self.spectrum[1]
        inv = self._inverse(lams)  # (L, p)
        h = w[None, :] * (inv @ (proj**2).T)  # (L, h)
        if self.intercept:
            h = h + w[None, :] / self.w_fit.sum()
        own = np.full_like(h, np.nan)
        np.divide(1.0, 1.0 - h, out=own, where=1.0 - h > 1e-9)
        masks = self.masks[rows]
        partner = find_rows(masks, ~masks) if self.paired else None
        paired = None if partner is None else partner >= 0
        if paired is None or not paired.any():
            own *= np.sqrt(w)
            return proj, own, None, None
        # a row and its complement j are left out together: (I - H_pair)^-1 e_pair, each row seen from itself
        partner = np.where(paired, partner, np.arange(len(w)))
        cross = inv @ (proj * proj[partner]).T  # (L, h): z_i' M z_j
        h_j, w_j = h[:, partner], w[partner]
        det = (1.0 - h) * (1.0 - h_j) - cross * cross * (w * w_j)
        det = np.where(np.abs(det) > 1e-9, det, np.nan)
        own = np.where(paired, (1.0 - h_j) / det, own) * np.sqrt(w)
        other = np.where(paired, cross * w_j / det, 0.0) * np.sqrt(w)
        return proj, own, other, partner

    def fit(self, y: np.ndarray, *, lam: float = 0.0, prior_values: np.ndarray | None = None,
            beta: float = 0.0) -> tuple[np.ndarray, float]:
        """``(values, base_value)``; with ``lam > 0`` pulled towards ``beta * prior_values``."""
        theta0 = None if prior_values is None else beta * self.prior_direction(prior_values)
        return self.attribution(self.solve(y, lam, theta0), y)

    def residuals(self, y: np.ndarray) -> np.ndarray:
        """``y`` minus the unpenalised fit's prediction, on every mask: ``t - Z theta``."""
        return self.target(y) - self.solve(y) @ self.z.T
