"""Proxy-informed estimators: a few oracle answers sharpened by many cheap proxy answers.

The oracle answers exactly the masks of the plain explainer at budget
``n = oracle_samples`` (row 0 is the full text), in one call; the proxy
answers the masks of budget ``N = samples`` and any of the oracle's masks not
among them, in one call. ``A_m`` is the method's own linear fit on the masks
of budget ``m`` and their kernel weights (``linear.py``); for Kernel SHAP it
keeps the efficiency constraint and is linear in the answers (the gap
``f(full) - f(empty)`` is), so every estimator below keeps the *oracle's*
``sum(values) = f(full) - f(empty)``.

``prior``
    ``phi_p = A_N y_p``, the proxy's own explanation. Minimise the method's
    kernel-weighted squared error on the oracle's answers (LIME: plus its own
    ridge ``alpha |phi|^2``) plus ``lam |phi - beta phi_p|^2``; ``lam`` (in
    units of the mean eigenvalue of the weighted Gram matrix, a grid from 0)
    and ``beta`` (0, 1, the weighted least-squares slope of oracle on proxy
    answers, and half of it) are chosen by cross-validation on the oracle's
    answers only: the kernel-weighted squared error of each randomly drawn
    mask left out (exact leave-one-out for this linear fit, one
    eigendecomposition for the whole grid). Leave-one-out, not 5-fold: with
    n near the number of units, fits on 4/5 of the masks are much noisier
    than the fit on all of them, and 5-fold then favours the prior for a
    reason the real fit does not have. Enumerated levels (a fixed part of
    the design, e.g. Kernel SHAP's heaviest sizes) are never left out, and a
    mask sampled with its complement (Kernel SHAP) is left out with it:
    paired sampling cancels much of the estimate's variance, and leaving one
    mask out at a time overstates it and over-shrinks. The
    prior is kept only if it beats the least penalised fit by more than one
    standard error of the paired per-mask differences; ``lam = 0`` is the
    oracle alone at ``n``, so a useless proxy is ignored.
``control_variate``
    ``phi = A_n (y_o - beta y_p) + beta A_N y_p``, ``beta`` the
    variance-minimising slope of the oracle's fit residuals on the proxy's.
``regression_adjusted``
    Regression-adjusted Monte Carlo (Witter, Liu & Musco 2025) with the proxy
    as the surrogate: ``s = sigmoid(a + b logit y_p)`` calibrated on the
    oracle's answers (weighted least squares on the logit scale, cross-fitted
    over 5 folds), ``phi = A_N s + A_n (y_o - s)``.
``prior_control_variate``
    Both: the prior applied to the oracle's answers minus ``gamma y_p``, plus
    ``gamma phi_p``, with ``gamma`` 0 or the control variate's beta, chosen
    with ``lam`` and ``beta`` by the same leave-one-out loss and guard. The
    prior wins when the proxy's errors are noise to the oracle's fit, the
    control variate when the proxy shares the oracle's non-additive part;
    this one follows whichever does.

``explain_informed`` runs one of them; the functions take an ``Answers``
(``answers.py``) so that several estimators can share one pair of calls.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass

import numpy as np

from ..errors import ConfigError
from .answers import Answers, collect, weighted_correlation
from .base import Attribution, ValueFn
from .registry import make_explainer

#: "plain" (no proxy) is the caller's
ESTIMATORS = ("prior", "control_variate", "regression_adjusted", "prior_control_variate")

#: the prior's strength, in units of the mean eigenvalue of the weighted Gram matrix
TAUS = (0.0, 1e-3, 3e-3, 1e-2, 3e-2, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0)
#: the prior must beat the least penalised fit by this many standard errors of its leave-one-out loss
GUARD = 1.0
#: fewer weighted oracle answers than this: no cross-validation, the oracle alone (prior) or one calibration
MIN_CV_ROWS = 10
#: probabilities are clipped to [CLIP, 1 - CLIP] before the logit
CLIP = 1e-6


@dataclass(frozen=True)
class EstimatorInfo:
    """What an estimator chose and spent, per explained instance."""

    name: str
    oracle_samples: int
    proxy_samples: int
    lam: float | None  # priors: strength relative to the mean Gram eigenvalue (0 = no prior)
    beta: float | None  # priors: the prior's scale; control_variate: its beta; regression_adjusted: calibration slope
    rho: float | None  # weighted correlation of proxy and oracle answers on the oracle's masks
    oracle_calls: int
    proxy_calls: int
    gamma: float | None = None  # prior_control_variate: the control variate's coefficient (0 = the prior alone)
    baseline: Attribution | None = None  # the oracle alone at n: the plain explainer on these oracle answers (free)


def prior(answers: Answers, *, taus=TAUS, betas=None, guard: float = GUARD) -> tuple[np.ndarray, float, float, float]:
    """``(values, base_value, lam, beta)`` of the proxy-as-prior estimate (module docstring).

    ``taus`` is the grid of ``lam`` (relative); ``betas`` replaces the grid of
    ``beta`` by fixed values. Both are chosen by leave-one-out
    cross-validation on the oracle's randomly drawn masks. The prior is used
    only if it lowers that loss, against the least penalised fit, by more
    than ``guard`` standard errors of the paired per-mask differences.
    """
    values, base, lam, beta, _ = _shrunk(answers, (0.0,), taus, betas, guard)
    return values, base, lam, beta


def prior_control_variate(answers: Answers, *, taus=TAUS, betas=None,
                          guard: float = GUARD) -> tuple[np.ndarray, float, float, float, float]:
    """``(values, base_value, lam, beta, gamma)``: the prior applied to the control variate's residual.

    ``phi = gamma phi_p + argmin |y_o - gamma y_p - g|^2_w + lam |phi' - beta phi_p|^2``
    with ``gamma`` 0 (the prior) or the control variate's beta: ``lam = 0``
    is then the control variate. The same leave-one-out loss (the oracle's
    answers predicted by ``gamma y_p + g``, the proxy's answer on the left-out
    mask being known) and the same guard against the oracle alone choose
    among all of them.
    """
    return _shrunk(answers, (0.0, _cv_beta(answers)), taus, betas, guard)


def _shrunk(answers: Answers, gammas, taus, betas, guard: float) -> tuple[np.ndarray, float, float, float, float]:
    y_o, y_p = answers.y_oracle, answers.proxy_on_oracle
    phi_p, base_p = answers.proxy_explanation
    taus = np.asarray(taus, dtype=float)
    fit = answers.oracle_fit()
    sampled = answers.sampled
    if len(sampled) < MIN_CV_ROWS:
        values, base = fit.fit(y_o)
        return values, base, 0.0, 0.0, 0.0
    # every gamma, lam and beta in one pass: losses[g, t, b] holds the per-mask leave-one-out errors
    ys = y_o[None, :] - np.asarray(gammas, dtype=float)[:, None] * y_p[None, :]
    grids = _beta_grids(ys, y_p, answers.oracle_weights, betas)
    losses = fit.loo_losses(ys, taus * fit.scale, grids[:, :, None] * fit.prior_direction(phi_p), sampled)
    totals = losses.sum(axis=3)
    best = np.unravel_index(int(np.argmin(totals)), totals.shape)  # the first gamma among equals
    finite = np.flatnonzero(np.isfinite(totals[0, :, 0]))
    alone = (0, int(finite[0]), 0) if len(finite) else best  # the oracle alone, or the closest LOO can score
    if best[:2] != alone[:2]:
        diff = losses[alone] - losses[best]
        if diff.sum() <= guard * np.sqrt(len(diff)) * diff.std(ddof=1):
            best = alone
    g, t, b = (int(i) for i in best)
    gamma, tau = float(gammas[g]), float(taus[t])
    beta = 0.0 if tau == 0 else float(grids[g, b])
    values, base = fit.fit(ys[g], lam=tau * fit.scale, prior_values=phi_p, beta=beta)
    return values + gamma * phi_p, base + gamma * base_p, tau, beta, gamma


def _beta_grids(ys: np.ndarray, y_p: np.ndarray, w: np.ndarray, betas) -> np.ndarray:
    """``beta``'s grid for each answer vector of ``ys`` (rows): 0, 1, the weighted least-squares slope of
    the vector on the proxy's answers and half of it; or the fixed ``betas``."""
    if betas is not None:
        return np.tile(np.asarray(betas, dtype=float), (len(ys), 1))
    slope = _slopes(ys, y_p, w[None, :])[0]
    return np.stack([np.zeros_like(slope), np.ones_like(slope), slope, slope / 2], axis=1)


def _slopes(y: np.ndarray, x: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(slope, mean x, mean y)`` of the weighted least-squares fits of ``y`` on ``x``, one per row of
    ``weights`` (zero outside a fit's rows) or of ``y``; the slope is 0 where ``x`` is constant."""
    total = weights.sum(axis=1)
    mean_x, mean_y = (weights * x).sum(axis=1) / total, (weights * y).sum(axis=1) / total
    xc, yc = x - mean_x[:, None], y - mean_y[:, None]
    wx = weights * xc
    var, cov, var_y = (wx * xc).sum(axis=1), (wx * yc).sum(axis=1), (weights * yc * yc).sum(axis=1)
    flat = (var <= 1e-300) | (var <= 1e-24 * var_y)
    return np.where(flat, 0.0, cov / np.where(flat, 1.0, var)), mean_x, mean_y


def control_variate(answers: Answers, *, beta: float | None = None) -> tuple[np.ndarray, float, float]:
    """``(values, base_value, beta)`` of ``A_n (y_o - beta y_p) + beta A_N y_p``.

    Without ``beta``: the weighted slope of the oracle's residuals on the
    proxy's, both from the oracle masks' fit (the ``beta`` that minimises the
    variance of the combined estimate when estimation errors are linear in
    the residuals).
    """
    y_o, y_p = answers.y_oracle, answers.proxy_on_oracle
    if beta is None:
        beta = _cv_beta(answers)
    v_small, b_small = answers.oracle_fit().fit(y_o - beta * y_p)
    v_large, b_large = answers.proxy_explanation
    return v_small + beta * v_large, b_small + beta * b_large, float(beta)


def _cv_beta(answers: Answers) -> float:
    """The control variate's ``beta`` (``control_variate``): the oracle's and the proxy's fits in one pass."""
    w = answers.oracle_weights
    r_o, r_p = answers.oracle_fit().residuals(np.stack([answers.y_oracle, answers.proxy_on_oracle]))
    denom = w @ (r_p * r_p)
    return 0.0 if denom <= 1e-24 * max(w @ (r_o * r_o), 1e-300) else float(w @ (r_o * r_p) / denom)


def regression_adjusted(answers: Answers) -> tuple[np.ndarray, float, float]:
    """``(values, base_value, slope)`` of ``A_N s + A_n (y_o - s)``, ``s`` the cross-fitted calibrated proxy."""
    u_small, u_large = _logit(answers.proxy_on_oracle), _logit(answers.y_proxy)
    v = _logit(answers.y_oracle)
    on = np.zeros(len(v))  # the calibration's weights: the oracle's, on its eligible masks
    on[answers.eligible] = answers.oracle_weights[answers.eligible]
    if len(answers.sampled) < MIN_CV_ROWS:
        a, b = _calibrations(u_small, v, on[None, :])
        models = slice(0, 1)
        s_small = _sigmoid(a[0] + b[0] * u_small)
    else:  # the full calibration, then one per fold without it: all in one pass
        folds, fold_of = answers.folds(), np.full(len(v), -1)
        for k, fold in enumerate(folds):
            fold_of[fold] = k
        a, b = _calibrations(u_small, v, np.vstack([on, on * (fold_of != np.arange(len(folds))[:, None])]))
        models = slice(1, None)
        s_small = _ensemble(a[1:], b[1:], u_small)  # enumerated levels, Kernel SHAP's full/empty
        held = np.flatnonzero(fold_of >= 0)
        s_small[held] = _sigmoid(a[1 + fold_of[held]] + b[1 + fold_of[held]] * u_small[held])
    s_large = _ensemble(a[models], b[models], u_large)
    v_large, b_large = answers.proxy_fit().fit(s_large)
    v_small, b_small = answers.oracle_fit().fit(answers.y_oracle - s_small)
    return v_large + v_small, b_large + b_small, float(b[0])


def _ensemble(a: np.ndarray, b: np.ndarray, u: np.ndarray) -> np.ndarray:
    """The mean of the calibrated proxies ``sigmoid(a + b u)`` over the models ``(a, b)``."""
    return _sigmoid(a[:, None] + b[:, None] * u[None, :]).mean(axis=0)


def _calibrations(u: np.ndarray, v: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Intercepts and slopes of ``v`` on ``u``, one fit per row of ``weights``."""
    b, mean_u, mean_v = _slopes(v, u, weights)
    return mean_v - b * mean_u, b


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(p, dtype=float), CLIP, 1 - CLIP)
    return np.log(p) - np.log1p(-p)


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def explain_informed(method: str, n_units: int, oracle_fn: ValueFn, proxy_fn: ValueFn, *, samples: int,
                     oracle_samples: int, estimator: str, seed: int) -> tuple[Attribution, EstimatorInfo]:
    """Explain the oracle with ``oracle_samples`` of its answers and ``samples`` of the proxy's.

    ``oracle_fn`` and ``proxy_fn`` map masks to the target label's probability
    (as for ``Explainer.explain``); each is called once. ``info.baseline`` is
    the plain explainer at ``oracle_samples`` on the same oracle answers: the
    oracle alone at the same n calls, for nothing more.
    """
    if estimator not in ESTIMATORS:
        raise ConfigError(f"unknown estimator {estimator!r}; use one of: plain, {', '.join(ESTIMATORS)}")
    for name, value in (("samples", samples), ("oracle_samples", oracle_samples)):
        if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < 1:
            raise ConfigError(f"explainer.{name} must be a positive integer, got {value!r}; e.g. 50")
    if oracle_samples > samples:
        raise ConfigError(f"explainer.oracle_samples ({oracle_samples}) must not exceed explainer.samples "
                          f"({samples}), the proxy's budget; lower oracle_samples or raise samples")
    answers = collect(method, n_units, oracle_fn, proxy_fn, samples=samples, oracle_samples=oracle_samples,
                      seed=seed)
    lam = gamma = None
    penalised = estimator in ("prior", "prior_control_variate")
    plain = make_explainer(method, samples=oracle_samples, seed=seed).fit(answers.oracle_masks, answers.y_oracle)
    if answers.n_units == 1:  # every coalition is already the oracle's: nothing to add
        values, base, beta = plain.values, plain.base_value, 0.0
        lam, gamma = (0.0 if penalised else None), (0.0 if estimator == "prior_control_variate" else None)
    elif estimator == "prior":
        values, base, lam, beta = prior(answers)
    elif estimator == "prior_control_variate":
        values, base, lam, beta, gamma = prior_control_variate(answers)
    elif estimator == "control_variate":
        values, base, beta = control_variate(answers)
    else:
        values, base, beta = regression_adjusted(answers)
    attribution = Attribution(values=values, base_value=float(base), full_value=float(answers.y_oracle[0]),
                              n_evals=len(answers.oracle_masks), method=method)
    info = EstimatorInfo(
        name=estimator, oracle_samples=oracle_samples, proxy_samples=samples, lam=lam, beta=beta,
        rho=weighted_correlation(answers.y_oracle, answers.proxy_on_oracle, answers.oracle_weights),
        oracle_calls=len(answers.oracle_masks), proxy_calls=answers.proxy_calls, gamma=gamma, baseline=plain,
    )
    return attribution, info
