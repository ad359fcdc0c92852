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
    return _shrunk(answers, (0.0, control_variate(answers)[2]), taus, betas, guard)


def _shrunk(answers: Answers, gammas, taus, betas, guard: float) -> tuple[np.ndarray, float, float, float, float]:
    y_o, y_p = answers.y_oracle, answers.proxy_on_oracle
    phi_p, base_p = answers.proxy_explanation
    taus = np.asarray(taus, dtype=float)
    fit = answers.oracle_fit()
    sampled = answers.sampled
    if len(sampled) < MIN_CV_ROWS:
        values, base = fit.fit(y_o)
        return values, base, 0.0, 0.0, 0.0
    direction = fit.prior_direction(phi_p)
    grids, losses = [], []
    for gamma in gammas:
        grids.append(_beta_grid(y_o - gamma * y_p, y_p, answers.oracle_weights, betas))
        losses.append(fit.loo_losses(y_o - gamma * y_p, taus * fit.scale, grids[-1][:, None] * direction, sampled))
    totals = [loss.sum(axis=2) for loss in losses]
    best = min(((g, *np.unravel_index(int(np.argmin(t)), t.shape)) for g, t in enumerate(totals)),
               key=lambda c: totals[c[0]][c[1], c[2]])
    finite = np.flatnonzero(np.isfinite(totals[0][:, 0]))
    alone = (0, int(finite[0]), 0) if len(finite) else best  # the oracle alone, or the closest LOO can score
    if best[:2] != alone[:2]:
        diff = losses[0][alone[1], 0] - losses[best[0]][best[1], best[2]]
        if diff.sum() <= guard * np.sqrt(len(diff)) * diff.std(ddof=1):
            best = alone
    g, t, b = best
    gamma, tau = float(gammas[g]), float(taus[t])
    beta = 0.0 if tau == 0 else float(grids[g][b])
    values, base = fit.fit(y_o - gamma * y_p, lam=tau * fit.scale, prior_values=phi_p, beta=beta)
    return values + gamma * phi_p, base + gamma * base_p, tau, beta, gamma


def _beta_grid(y_o: np.ndarray, y_p: np.ndarray, w: np.ndarray, betas) -> np.ndarray:
    if betas is not None:
        return np.asarray(betas, dtype=float)
    slope = _slope(y_o, y_p, w)
    return np.array([0.0, 1.0, slope, slope / 2])


def _slope(y: np.ndarray, x: np.ndarray, w: np.ndarray) -> float:
    """Weighted least-squares slope of ``y`` on ``x`` (0 when ``x`` is constant)."""
    xc, yc = x - w @ x / w.sum(), y - w @ y / w.sum()
    var = w @ (xc * xc)
    return 0.0 if var <= 1e-300 or var <= 1e-24 * (w @ (yc * yc)) else float(w @ (xc * yc) / var)


def control_variate(answers: Answers, *, beta: float | None = None) -> tuple[np.ndarray, float, float]:
    """``(values, base_value, beta)`` of ``A_n (y_o - beta y_p) + beta A_N y_p``.

    Without ``beta``: the weighted slope of the oracle's residuals on the
    proxy's, both from the oracle masks' fit (the ``beta`` that minimises the
    variance of the combined estimate when estimation errors are linear in
    the residuals).
    """
    small = answers.oracle_fit()
    y_o, y_p = answers.y_oracle, answers.proxy_on_oracle
    if beta is None:
        w = answers.oracle_weights
        r_o = y_o - small.predict(*small.fit(y_o))
        r_p = y_p - small.predict(*small.fit(y_p))
        denom = w @ (r_p * r_p)
        beta = 0.0 if denom <= 1e-24 * max(w @ (r_o * r_o), 1e-300) else float(w @ (r_o * r_p) / denom)
    v_small, b_small = small.fit(y_o - beta * y_p)
    v_large, b_large = answers.proxy_explanation
    return v_small + beta * v_large, b_small + beta * b_large, float(beta)


def regression_adjusted(answers: Answers) -> tuple[np.ndarray, float, float]:
    """``(values, base_value, slope)`` of ``A_N s + A_n (y_o - s)``, ``s`` the cross-fitted calibrated proxy."""
    u_small, u_large = _logit(answers.proxy_on_oracle), _logit(answers.y_proxy)
    v, w = _logit(answers.y_oracle), answers.oracle_weights
    eligible = answers.eligible
    full_a, full_b = _calibration(u_small[eligible], v[eligible], w[eligible])
    if len(answers.sampled) < MIN_CV_ROWS:
        models = [(full_a, full_b)]
        s_small = _sigmoid(full_a + full_b * u_small)
    else:
        models, s_small = [], np.empty(len(v))
        for fold in answers.folds():
            train = np.setdiff1d(eligible, fold)
            a, b = _calibration(u_small[train], v[train], w[train])
            models.append((a, b))
            s_small[fold] = _sigmoid(a + b * u_small[fold])
        others = np.setdiff1d(np.arange(len(v)), answers.sampled)  # enumerated levels, Kernel SHAP's full/empty
        s_small[others] = _ensemble(models, u_small[others])
    s_large = _ensemble(models, u_large)
    v_large, b_large = answers.proxy_fit().fit(s_large)
    v_small, b_small = answers.oracle_fit().fit(answers.y_oracle - s_small)
    return v_large + v_small, b_large + b_small, float(full_b)


def _ensemble(models: list[tuple[float, float]], u: np.ndarray) -> np.ndarray:
    """The mean of the calibrated proxies ``sigmoid(a + b u)`` over ``models``."""
    a, b = np.array(models).T
    return _sigmoid(a[:, None] + b[:, None] * u[None, :]).mean(axis=0)


def _calibration(u: np.ndarray, v: np.ndarray, w: np.ndarray) -> tuple[float, float]:
    b = _slope(v, u, w)
    return float(w @ v / w.sum() - b * (w @ u / w.sum())), b


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(p, dtype=float), CLIP, 1 - CLIP)
    return np.log(p) - np.log1p(-p)


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def explain_informed(method: str, n_units: int, oracle_fn: ValueFn, proxy_fn: ValueFn, *, samples: int,
                     oracle_samples: int, estimator: str, seed: int) -> tuple[Attribution, EstimatorInfo]:
    """Explain the oracle with ``oracle_samples`` of its answers and ``samples`` of the proxy's.

    ``oracle_fn`` and ``proxy_fn`` map masks to the target label's probability
    (as for ``Explainer.explain``); each is called once.
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
    if answers.n_units == 1:  # every coalition is already the oracle's: nothing to add
        plain = make_explainer(method, samples=oracle_samples, seed=seed).fit(answers.oracle_masks, answers.y_oracle)
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
        oracle_calls=len(answers.oracle_masks), proxy_calls=answers.proxy_calls, gamma=gamma,
    )
    return attribution, info
