"""The explainers' surrogate fits in closed form, linear in the answers ``y``.

    LIME         minimise  sum w (y - b - x.phi)^2 + alpha |phi|^2          (intercept b free, alpha = 1)
    Kernel SHAP  minimise  sum w (y - f(empty) - x.phi)^2
                 subject to sum(phi) = f(full) - f(empty)                   (minimum norm if underdetermined)

A change of variables turns both into one ridge problem in ``theta``,

    minimise  sum w (t - Z theta)^2 + alpha |theta|^2 + lam |theta - theta0|^2,

solved as ``theta = (G + (alpha + lam) I)^-1 (Z' W t + lam theta0)`` with
``G = Z' W Z``; one eigendecomposition of ``G`` gives every ``lam`` at once,
and their exact leave-one-out errors (the prior estimator's cross-validation),
for a whole stack of answer vectors in one pass. A single fit needs only a
linear solve (``LinearSurrogate.solve``); the eigendecomposition is made
when first needed.

* LIME: ``theta = phi``, ``Z = X - xbar``, ``t = y - ybar`` (weighted means
  over the fitted rows), ``b = ybar - xbar.phi``.
* Kernel SHAP: ``theta = phi - gap/d`` (sum zero), ``Z = X - rowmean(X)``
  (``x.theta`` only sees the sum-zero part), ``t = y - f(empty) - |x| gap/d``;
  ``Z 1 = 0``, so the solution stays in the sum-zero subspace, and with
  ``alpha + lam = 0`` the pseudo-inverse gives the minimum-norm solution,
  as ``KernelShapExplainer``'s least squares does.

With ``lam = 0`` these are the explainers' own fits (tested to 1e-8); they
exist for speed (no scikit-learn round trip) and for the ``lam`` path.
"""

from __future__ import annotations

from functools import cached_property

import numpy as np
from scipy.linalg import lapack

from .base import find_rows
from .lime import LimeExplainer

#: eigenvalues below this share of the largest count as zero in a pseudo-inverse
RANK_TOL = 1e-10
#: pivots below this share of the largest diagonal entry make ``_sum_zero`` leave ``G`` to the pseudo-inverse
CHOLESKY_TOL = 1e-6
#: a row the unpenalised Kernel SHAP fit interpolates is left out at ridges of this share of the mean eigenvalue
#: and twice it, extrapolated to 0 (``loo_residuals``: the limit ``lam -> 0+``)
LIMIT = 1e-5


def _times(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a @ b`` for a stack ``a`` of rows, as one 2-D product (``@`` would loop over the leading axes)."""
    return (a.reshape(-1, a.shape[-1]) @ b).reshape(*a.shape[:-1], b.shape[-1])


class LinearSurrogate:
    """One explainer's fit on fixed masks and weights, for any answers ``y``.

    ``rows`` restricts the fit to a subset of the masks (a cross-validation
    fold); rows with zero weight never enter it. Kernel SHAP's full and empty
    masks must be among ``masks`` (they pin the efficiency constraint).

    Every method taking answers ``y`` (one per mask) also takes a stack of
    them, shape ``(..., masks)``, and puts the stack's axes first in its
    result: several answer vectors share one pass.
    """

    def __init__(self, method: str, masks: np.ndarray, weights: np.ndarray, rows: np.ndarray | None = None) -> None:
        if method not in ("lime", "kernel_shap"):
            raise ValueError(f"no closed form for method {method!r}")
        self.method = method
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
        if method == "lime":
            self.alpha = LimeExplainer.alpha
            self.center = w @ fitted / w.sum()
        else:
            self.alpha = 0.0
            full, empty = np.flatnonzero(self.kept == d), np.flatnonzero(self.kept == 0)
            if not len(full) or not len(empty):
                raise ValueError("Kernel SHAP needs the full and the empty mask among the masks")
            self.full_row, self.empty_row = int(full[0]), int(empty[0])
        fitted -= self._offset(self.rows)
        self.w_fit, self.root_w = w, np.sqrt(w)
        fitted *= self.root_w[:, None]
        self.root_fit = fitted  # the fitted rows' design, times the square roots of their weights
        self.gram = fitted.T @ fitted

    @property
    def n_units(self) -> int:
        return self.masks.shape[1]

    @property
    def interpolates(self) -> bool:
        """Whether the unpenalised fit passes through every answer: no ridge and fewer fitted masks than units
        (Kernel SHAP)."""
        return self.alpha == 0 and len(self.rows) < self.n_units

    def _offset(self, rows) -> np.ndarray:
        """What ``Z`` subtracts from the masks on ``rows``: LIME the fitted rows' mean, Kernel SHAP each
        row's own."""
        return self.center if self.method == "lime" else (self.kept[rows] / self.n_units)[:, None]

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

    def target(self, y: np.ndarray) -> np.ndarray:
        """``t`` for every mask (centred with the fitted rows' means for LIME)."""
        y = np.asarray(y, dtype=float)
        if self.method == "lime":
            w = self.w_fit
            return y - y[..., self.rows] @ (w / w.sum())[:, None]
        empty = y[..., self.empty_row, None]
        return y - empty - (y[..., self.full_row, None] - empty) * (self.kept / self.n_units)

    def prior_direction(self, prior_values: np.ndarray) -> np.ndarray:
        """``theta0`` for a prior on the attributions (Kernel SHAP: its sum-zero part)."""
        prior_values = np.asarray(prior_values, dtype=float)
        return prior_values if self.method == "lime" else prior_values - prior_values.mean()

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
        definite or (Kernel SHAP without penalty) when ``1`` is ``G``'s only null direction (``_sum_zero``);
        otherwise the pseudo-inverse of ``path``. Cheaper than the eigendecomposition that ``path`` needs."""
        rhs = self._rhs(y) if theta0 is None else self._rhs(y) + lam * theta0
        shift = self.alpha + lam
        if shift > 0:
            return np.linalg.solve(self.gram + shift * np.eye(self.n_units), rhs.T).T
        theta = self._sum_zero(rhs)
        return theta if theta is not None else self.path(y, [lam], theta0)[..., 0, 0, :]

    def _sum_zero(self, rhs: np.ndarray) -> np.ndarray | None:
        """``G+ rhs`` for Kernel SHAP without penalty, or None when ``G`` is (nearly) singular beyond ``1``.

        ``Z 1 = 0`` makes ``1`` a null direction of ``G``, and ``rhs = Z' W t`` is orthogonal to it; so the
        pseudo-inverse's answer is ``(G + c 11'/d)^-1 rhs`` as long as ``G`` has no other null direction. A
        pivoted Cholesky factorisation, rank-revealing, tells: rank ``d`` at a tolerance far above
        ``RANK_TOL`` (a nearly singular ``G`` goes to the eigendecomposition, as before).
        """
        d = self.n_units
        c = max(float(np.trace(self.gram)) / d, 1e-300)
        shifted = self.gram + c / d
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
        (plus ``w_i / sum(w)`` for LIME's free intercept, W-orthogonal to the
        centred ``Z``). A mask drawn with its complement (Kernel SHAP's paired
        sampling) is left out with it: the pair's residuals are
        ``(I - H_pair)^-1 e_pair``; leaving out one of them only would
        ignore how much the pairing cancels. Kernel SHAP without penalty
        interpolates a row (or a pair) that is alone in its direction, e.g.
        with fewer masks than units: its residual left out is then scored in
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
        (LIME's intercept included; a pseudo-inverse where ``G`` is singular)."""
        eigvec = self.spectrum[1]
        left = self._design(rows) @ eigvec * (np.sqrt(self.weights[rows])[:, None] * self._inverse([0.0])[0])
        out = left @ (self.root_fit @ eigvec).T
        if self.method == "lime":
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
        if self.method == "lime":
            h = h + w[None, :] / self.w_fit.sum()
        own = np.full_like(h, np.nan)
        np.divide(1.0, 1.0 - h, out=own, where=1.0 - h > 1e-9)
        masks = self.masks[rows]
        partner = find_rows(masks, ~masks) if self.method == "kernel_shap" else None
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

    def attribution(self, theta: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, float | np.ndarray]:
        """``(values, base_value)`` from ``theta`` (for a stack of answer vectors: a stack of each)."""
        y = np.asarray(y, dtype=float)
        if self.method == "lime":
            w = self.w_fit
            base = y[..., self.rows] @ (w / w.sum()) - theta @ self.center
            return theta.copy(), (float(base) if y.ndim == 1 else base)
        gap = y[..., self.full_row] - y[..., self.empty_row]
        values = gap[..., None] / self.n_units + theta
        values += (gap - values.sum(axis=-1))[..., None] / self.n_units
        base = y[..., self.empty_row]
        return values, (float(base) if y.ndim == 1 else base)

    def fit(self, y: np.ndarray, *, lam: float = 0.0, prior_values: np.ndarray | None = None,
            beta: float = 0.0) -> tuple[np.ndarray, float]:
        """``(values, base_value)``; with ``lam > 0`` pulled towards ``beta * prior_values``."""
        theta0 = None if prior_values is None else beta * self.prior_direction(prior_values)
        return self.attribution(self.solve(y, lam, theta0), y)

    def residuals(self, y: np.ndarray) -> np.ndarray:
        """``y`` minus the unpenalised fit's prediction, on every mask: ``t - Z theta``."""
        return self.target(y) - self.solve(y) @ self.z.T
