"""The explainers' surrogate fits in closed form, linear in the answers ``y``.

    LIME         minimise  sum w (y - b - x.phi)^2 + alpha |phi|^2          (intercept b free, alpha = 1)
    Kernel SHAP  minimise  sum w (y - f(empty) - x.phi)^2
                 subject to sum(phi) = f(full) - f(empty)                   (minimum norm if underdetermined)

A change of variables turns both into one ridge problem in ``theta``,

    minimise  sum w (t - Z theta)^2 + alpha |theta|^2 + lam |theta - theta0|^2,

solved as ``theta = (G + (alpha + lam) I)^-1 (Z' W t + lam theta0)`` with
``G = Z' W Z``; one eigendecomposition of ``G`` gives every ``lam`` at once,
and their exact leave-one-out errors (the prior estimator's cross-validation).

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

import numpy as np

from .base import find_rows
from .lime import LimeExplainer

#: eigenvalues below this share of the largest count as zero in a pseudo-inverse
RANK_TOL = 1e-10


def _complement_pairs(masks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Indices ``(first, second)`` of the rows whose complement is also a row (each pair once)."""
    partner = find_rows(masks, ~np.asarray(masks, dtype=bool))
    first = np.flatnonzero(partner > np.arange(len(masks)))
    return first, partner[first]


class LinearSurrogate:
    """One explainer's fit on fixed masks and weights, for any answers ``y``.

    ``rows`` restricts the fit to a subset of the masks (a cross-validation
    fold); rows with zero weight never enter it. Kernel SHAP's full and empty
    masks must be among ``masks`` (they pin the efficiency constraint).
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
        self.kept = self.masks.sum(axis=1)
        x = self.masks.astype(float)
        w = self.weights[self.rows]
        if method == "lime":
            self.alpha = LimeExplainer.alpha
            self.center = w @ x[self.rows] / w.sum()
            self.z = x - self.center
        else:
            self.alpha = 0.0
            full, empty = np.flatnonzero(self.kept == d), np.flatnonzero(self.kept == 0)
            if not len(full) or not len(empty):
                raise ValueError("Kernel SHAP needs the full and the empty mask among the masks")
            self.full_row, self.empty_row = int(full[0]), int(empty[0])
            self.z = x - x.mean(axis=1, keepdims=True)
        self.w_fit, self.z_fit = w, self.z[self.rows]  # the fitted rows' weights and design
        gram = self.z_fit.T @ (self.z_fit * w[:, None])
        eigval, self.eigvec = np.linalg.eigh(gram)
        self.eigval = np.clip(eigval, 0.0, None)
        self._leverage_of: dict[bytes, tuple] = {}

    @property
    def n_units(self) -> int:
        return self.masks.shape[1]

    @property
    def scale(self) -> float:
        """The mean eigenvalue of the weighted Gram matrix: the natural unit of ``lam``."""
        return float(self.eigval.mean())

    def target(self, y: np.ndarray) -> np.ndarray:
        """``t`` for every mask (centred with the fitted rows' means for LIME)."""
        y = np.asarray(y, dtype=float)
        if self.method == "lime":
            w = self.w_fit
            return y - w @ y[self.rows] / w.sum()
        gap = y[self.full_row] - y[self.empty_row]
        return y - y[self.empty_row] - self.kept * gap / self.n_units

    def prior_direction(self, prior_values: np.ndarray) -> np.ndarray:
        """``theta0`` for a prior on the attributions (Kernel SHAP: its sum-zero part)."""
        prior_values = np.asarray(prior_values, dtype=float)
        return prior_values if self.method == "lime" else prior_values - prior_values.mean()

    def _inverse(self, lams: np.ndarray) -> np.ndarray:
        """``1 / (eigval + alpha + lam)`` per ``lam`` (rows), a pseudo-inverse where that is zero."""
        shift = self.alpha + np.asarray(lams, dtype=float)[:, None]
        denom = self.eigval[None, :] + shift
        tiny = RANK_TOL * max(float(self.eigval.max()), 1e-300)
        singular = (shift <= 0) & (self.eigval[None, :] <= tiny)
        return np.where(singular, 0.0, 1.0 / np.where(singular, 1.0, denom))

    def path(self, y: np.ndarray, lams, theta0s: np.ndarray | None = None) -> np.ndarray:
        """``theta`` for every ``lam`` and every prior mean ``theta0``: shape ``(len(lams), len(theta0s), d)``."""
        lams = np.atleast_1d(np.asarray(lams, dtype=float))
        theta0s = np.zeros((1, self.n_units)) if theta0s is None else np.atleast_2d(theta0s)
        t = self.target(y)[self.rows]
        a = self.eigvec.T @ (self.z_fit.T @ (t * self.w_fit))
        q = theta0s @ self.eigvec
        spectral = self._inverse(lams)[:, None, :] * (a[None, None, :] + lams[:, None, None] * q[None, :, :])
        return spectral @ self.eigvec.T

    def loo_losses(self, y: np.ndarray, lams, theta0s: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """Leave-one-out kernel-weighted squared error of each row of ``rows`` (fitted rows), for every
        ``lam`` and ``theta0``: shape ``(len(lams), len(theta0s), len(rows))``.

        Exact for this linear smoother: the residual left out is
        ``e_i / (1 - h_ii)``, with ``h_ii = w_i z_i' (G + alpha + lam)^-1 z_i``
        (plus ``w_i / sum(w)`` for LIME's free intercept, W-orthogonal to the
        centred ``Z``). A mask drawn with its complement (Kernel SHAP's paired
        sampling) is left out with it: the pair's residuals are
        ``(I - H_pair)^-1 e_pair``; leaving out one of them only would
        ignore how much the pairing cancels. ``inf`` where rows are
        interpolated (e.g. fewer rows than units and no penalty).
        """
        lams = np.atleast_1d(np.asarray(lams, dtype=float))
        thetas = self.path(y, lams, theta0s)
        w, z, one_minus_h, pairs = self._leverage(rows, lams)
        e = self.target(y)[rows] - thetas @ z.T  # (L, B, h)
        out = e / one_minus_h[:, None, :]
        if pairs is not None:
            first, second, a, b, h_ij, h_ji, det = pairs
            e_i, e_j = e[:, :, first], e[:, :, second]
            out[:, :, first] = (b[:, None, :] * e_i + h_ij[:, None, :] * e_j) / det
            out[:, :, second] = (h_ji[:, None, :] * e_i + a[:, None, :] * e_j) / det
        return np.nan_to_num(w * out**2, nan=np.inf)

    def _leverage(self, rows: np.ndarray, lams: np.ndarray) -> tuple:
        """What leave-one-out needs of ``rows`` for every ``lam``, whatever the answers: their weights and
        design, ``1 - h_ii`` (NaN where a row is interpolated) and the complement pairs' 2x2 systems.
        Remembered: cross-validation asks for the same rows and ``lams`` repeatedly."""
        key = np.asarray(rows).tobytes() + lams.tobytes()
        if key in self._leverage_of:
            return self._leverage_of[key]
        w, z = self.weights[rows], self.z[rows]
        proj = z @ self.eigvec
        inv = self._inverse(lams)  # (L, p)
        h = w[None, :] * (inv @ (proj**2).T)  # (L, h)
        if self.method == "lime":
            h = h + w[None, :] / self.w_fit.sum()
        one_minus_h = np.where(1.0 - h > 1e-9, 1.0 - h, np.nan)
        first, second = _complement_pairs(self.masks[rows]) if self.method == "kernel_shap" else ((), ())
        pairs = None
        if len(first):
            cross = inv @ (proj[first] * proj[second]).T  # (L, pairs): z_i' M z_j
            h_ij, h_ji = cross * w[second], cross * w[first]
            a, b = 1.0 - h[:, first], 1.0 - h[:, second]
            det = a * b - h_ij * h_ji
            pairs = (first, second, a, b, h_ij, h_ji, np.where(np.abs(det) > 1e-9, det, np.nan)[:, None, :])
        self._leverage_of[key] = (w, z, one_minus_h, pairs)
        return self._leverage_of[key]

    def attribution(self, theta: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, float]:
        """``(values, base_value)`` from one ``theta``."""
        y = np.asarray(y, dtype=float)
        if self.method == "lime":
            w = self.w_fit
            return theta.copy(), float(w @ y[self.rows] / w.sum() - self.center @ theta)
        gap = y[self.full_row] - y[self.empty_row]
        values = gap / self.n_units + theta
        values += (gap - values.sum()) / self.n_units
        return values, float(y[self.empty_row])

    def fit(self, y: np.ndarray, *, lam: float = 0.0, prior_values: np.ndarray | None = None,
            beta: float = 0.0) -> tuple[np.ndarray, float]:
        """``(values, base_value)``; with ``lam > 0`` pulled towards ``beta * prior_values``."""
        theta0 = None if prior_values is None else beta * self.prior_direction(prior_values)
        return self.attribution(self.path(y, [lam], theta0)[0, 0], y)

    def predict(self, values: np.ndarray, base: float) -> np.ndarray:
        """The surrogate's value on every mask."""
        return base + self.masks.astype(float) @ values
