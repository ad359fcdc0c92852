"""Proxy-informed estimators: a few oracle answers sharpened by many cheap proxy answers, on average never
worse than the oracle alone beyond noise.

The oracle answers exactly the masks of the plain explainer at budget
``n = oracle_samples`` (row 0 is the full text), in one call; the proxy
answers the masks of budget ``N = samples`` and any of the oracle's masks not
among them, in one call. ``A_m`` is the method's own linear fit on the masks
of budget ``m`` and their kernel weights (``linear.py``); for Kernel SHAP it
keeps the efficiency constraint and is linear in the answers (the gap
``f(full) - f(empty)`` is), so every estimator below keeps the *oracle's*
``sum(values) = f(full) - f(empty)``.

Each estimator is a set of candidates, one of them the oracle alone at ``n``
(``A_n y_o``), and chooses among them on the oracle's own answers left out
(``heldout.py``): the chosen candidate is kept only if it beats the oracle
alone by more than its noise. With a useless proxy (random answers, a
constant, the oracle plus noise) the estimate is the oracle alone, or now and
then a candidate the check could not tell from it: on average no worse beyond
noise (``tests/explainers/test_estimator_safety.py``). With a proxy equal to
the oracle it is, mostly, the oracle's explanation at ``N``.

``prior``
    ``phi_p = A_N y_p``, the proxy's own explanation. Minimise the method's
    kernel-weighted squared error on the oracle's answers (LIME: plus its own
    ridge ``alpha |phi|^2``) plus ``lam |phi - beta phi_p|^2``: ``lam`` in
    units of the mean eigenvalue of the weighted Gram matrix, from 0 (the
    oracle alone) to ``PROXY_ALONE`` (``beta phi_p`` itself, with the oracle's
    gap or intercept); ``beta`` 0 (a ridge), 1, the weighted least-squares
    slope of the oracle's answers on the proxy's (``slope``) or half of it.
    Among the candidates not worse than the best beyond noise the strongest
    prior is taken, so a proxy equal to the oracle gives its explanation.
``control_variate``
    ``phi = A_n (y_o - beta y_p) + beta A_N y_p``, ``beta`` 0 (the oracle
    alone), the variance-minimising slope of the oracle fit's residuals on the
    proxy's, or the slope of the answers themselves. Unpenalised, so only
    where the check is stable (``heldout.STABLE_LEVERAGE``; Kernel SHAP needs
    about twice as many masks as units), as ``regression_adjusted``.
``regression_adjusted``
    Regression-adjusted Monte Carlo (Witter, Liu & Musco 2025) with the proxy
    as the surrogate: ``s = sigmoid(a + b logit y_p)`` calibrated on the
    oracle's answers (weighted least squares on the logit scale),
    ``phi = A_N s + A_n (y_o - s)``, or the oracle alone. One calibration on
    both sides: a cross-fitted ``s`` on the oracle's masks is another function
    than on the proxy's, and their difference, noise when the proxy is
    useless, went into the estimate; the held-out check calibrates without
    the masks it scores.
``prior_control_variate``
    Both: the prior applied to the oracle's answers minus ``gamma y_p``, plus
    ``gamma phi_p``, ``gamma`` one of the control variate's, chosen with
    ``lam`` and ``beta``.

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
from .heldout import GUARD, choose
from .uncertainty import Combination, estimate_errors

#: "plain" (no proxy) is the caller's
ESTIMATORS = ("prior", "control_variate", "regression_adjusted", "prior_control_variate")

#: lam that stands for infinity: the estimate is ``beta phi_p`` to about a millionth
PROXY_ALONE = 1e6
#: the prior's strength, in units of the mean eigenvalue of the weighted Gram matrix (0: the oracle alone)
TAUS = (0.0, 1e-3, 3e-3, 1e-2, 3e-2, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0, PROXY_ALONE)
#: the control variate's coefficients: none (the oracle alone), the slope of the fits' residuals, of the answers
GAMMAS = ("none", "residuals", "answers")
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
    gamma: float | None = None  # prior_control_variate: the control variate's coefficient (0 = the prior alone);
    # regression_adjusted: 1 with the calibrated proxy's correction, 0 for the oracle alone
    slope: float | None = None  # priors: the slope in beta's grid, of y_o - gamma y_p on y_p
    baseline: Attribution | None = None  # the oracle alone at n: the plain explainer on the same oracle answers


@dataclass(frozen=True)
class Estimate:
    """One estimator's explanation and what it chose (None: not one of its choices)."""

    values: np.ndarray
    base_value: float
    lam: float | None = None
    beta: float | None = None
    gamma: float | None = None
    slope: float | None = None
    combination: Combination | None = None  # the candidate as a linear combination (None: the oracle alone)


def prior(answers: Answers, *, taus=TAUS, betas=None, guard: float = GUARD) -> Estimate:
    """The proxy's explanation as a prior mean (module docstring). ``taus`` is the grid of ``lam``
    (relative); ``betas`` replaces the grid of ``beta`` by fixed values."""
    return _penalised(answers, ("none",), taus, betas, guard, gamma=False)


def prior_control_variate(answers: Answers, *, taus=TAUS, betas=None, guard: float = GUARD) -> Estimate:
    """The prior applied to the control variate's residual: ``gamma phi_p`` plus the prior's fit of
    ``y_o - gamma y_p``; ``gamma`` one of ``GAMMAS``, chosen with ``lam`` and ``beta``."""
    return _penalised(answers, GAMMAS, taus, betas, guard, gamma=True)


def control_variate(answers: Answers, *, guard: float = GUARD) -> Estimate:
    """``A_n (y_o - beta y_p) + beta A_N y_p``, ``beta`` one of ``GAMMAS`` (reported as ``beta``)."""
    out = _penalised(answers, GAMMAS, (0.0,), (0.0,), guard, gamma=True)
    return Estimate(out.values, out.base_value, beta=out.gamma, combination=out.combination)


def _penalised(answers: Answers, gamma_rules, taus, betas, guard: float, *, gamma: bool) -> Estimate:
    """The family ``gamma phi_p + prior fit of y_o - gamma y_p`` (``heldout.py``), chosen with its guard."""
    y_o, y_p, fit, held = answers.y_oracle, answers.proxy_on_oracle, answers.oracle_fit(), answers.held_out
    phi_p, base_p = answers.proxy_explanation
    taus = np.asarray(taus, dtype=float)
    alone = Estimate(*fit.fit(y_o), lam=0.0, beta=0.0, gamma=0.0 if gamma else None)
    if not held.can_check:
        return alone
    direction = fit.prior_direction(phi_p)
    zero = np.zeros(fit.n_units)
    u = fit.loo_residuals(np.stack([y_o, y_p, np.zeros_like(y_o)]), taus * fit.scale,
                          np.stack([zero, zero, direction])[:, None, :], held.rows)[:, :, 0, :]  # (3, L, rows)
    slope, _ = held.lines(y_o, y_p)  # all fitted rows, then without each block
    coefficients = {"none": np.zeros_like(slope), "answers": slope}
    if "residuals" in gamma_rules:
        at_zero = int(np.flatnonzero(taus == 0)[0])
        coefficients["residuals"] = held.residual_slopes(y_o, y_p, u[0, at_zero], u[1, at_zero])
    gammas = np.stack([coefficients[rule] for rule in gamma_rules])  # (G, 1 + blocks)
    slopes = slope[None, :] - gammas  # the slope of y_o - gamma y_p on y_p
    if betas is None:
        grid = np.stack([np.zeros_like(slopes), 1 - gammas, slopes, slopes / 2], axis=1)
    else:
        grid = np.broadcast_to(np.asarray(betas, dtype=float)[None, :, None], (len(gammas), len(betas), len(slope)))
    rows = held.rows
    masks = answers.oracle_masks[rows].astype(float)
    miss = np.sqrt(answers.oracle_weights[rows]) * (y_p[rows] - base_p - masks @ phi_p)
    g, t, b = choose(held, u[0], u[1], u[2], miss, gammas[:, 1:], grid[:, :, 1:], guard)
    if (g, t, b) == (0, 0, 0):
        return Estimate(alone.values, alone.base_value, lam=0.0, beta=0.0, gamma=alone.gamma,
                        slope=float(slopes[0, 0]))
    c, tau = float(gammas[g, 0]), float(taus[t])
    out = candidate(answers, gamma=c, lam=tau, beta=0.0 if tau == 0 else float(grid[g, b, 0]))
    return Estimate(out.values, out.base_value, lam=tau, beta=out.beta, gamma=c if gamma else None,
                    slope=float(slopes[g, 0]), combination=out.combination)


def candidate(answers: Answers, *, gamma: float = 0.0, lam: float = 0.0, beta: float = 0.0) -> Estimate:
    """One member of the family, no choice: ``gamma phi_p`` plus the fit of ``y_o - gamma y_p`` pulled
    towards ``beta phi_p`` with strength ``lam`` (relative; 0: no pull)."""
    fit, (phi_p, base_p) = answers.oracle_fit(), answers.proxy_explanation
    values, base = fit.fit(answers.y_oracle - gamma * answers.proxy_on_oracle, lam=lam * fit.scale,
                           prior_values=phi_p, beta=beta)
    return Estimate(values + gamma * phi_p, base + gamma * base_p, lam=lam, beta=beta, gamma=gamma,
                    combination=Combination(gamma, lam, beta))


def regression_adjusted(answers: Answers, *, guard: float = GUARD) -> Estimate:
    """``A_N s + A_n (y_o - s)``, ``s`` the calibrated proxy, or the oracle alone (module docstring);
    ``beta`` is the calibration's slope, ``gamma`` 1 or 0 (the oracle alone).

    The check calibrates without each block to first order: the calibration moves by about ``1 / n``,
    and ``s`` with it by ``s (1 - s) (da + db u)``, so three answer vectors serve every block.
    """
    fit, held, y_o = answers.oracle_fit(), answers.held_out, answers.y_oracle
    alone = Estimate(*fit.fit(y_o), beta=0.0, gamma=0.0)
    if not held.can_check:
        return alone
    u_small, u_large = _logit(answers.proxy_on_oracle), _logit(answers.y_proxy)
    b, a = held.lines(_logit(y_o), u_small)  # all fitted rows, then without each block
    s_small, s_large = _sigmoid(a[0] + b[0] * u_small), _sigmoid(a[0] + b[0] * u_large)
    small = np.stack([s_small, s_small * (1 - s_small), s_small * (1 - s_small) * u_small])
    large = np.stack([s_large, s_large * (1 - s_large), s_large * (1 - s_large) * u_large])
    phi, base = answers.proxy_fit().fit(large)  # (3, d), (3,)
    rows, zero = held.rows, np.zeros((1, fit.n_units))
    u_o = fit.loo_residuals(y_o, [0.0], zero, rows)[0, 0]
    u_s = fit.loo_residuals(small, [0.0], zero, rows)[:, 0, 0]  # (3, rows)
    miss = np.sqrt(answers.oracle_weights[rows]) * (small[:, rows] - base[:, None]
                                                    - phi @ answers.oracle_masks[rows].T.astype(float))
    shift = held.per_row(np.stack([np.ones(held.n_blocks), a[1:] - a[0], b[1:] - b[0]]))  # (3, rows)
    ones = np.ones((1, held.n_blocks))
    chosen, _, _ = choose(held, u_o[None], (shift * u_s).sum(axis=0)[None], np.zeros((1, len(rows))),
                          (shift * miss).sum(axis=0), np.vstack([0 * ones, ones]), np.zeros((2, 1, held.n_blocks)),
                          guard)
    if chosen == 0:
        return Estimate(alone.values, alone.base_value, beta=float(b[0]), gamma=0.0)
    values, base_value = fit.fit(y_o - s_small)
    return Estimate(phi[0] + values, float(base[0] + base_value), beta=float(b[0]), gamma=1.0,
                    combination=Combination(gamma=1.0, signal=(s_small, large[0])))


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(p, dtype=float), CLIP, 1 - CLIP)
    return np.log(p) - np.log1p(-p)


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


#: the estimators by name (each takes an ``Answers``)
BY_NAME = {"prior": prior, "control_variate": control_variate, "regression_adjusted": regression_adjusted,
           "prior_control_variate": prior_control_variate}


def explain_informed(method: str, n_units: int, oracle_fn: ValueFn, proxy_fn: ValueFn, *, samples: int,
                     oracle_samples: int, estimator: str, seed: int,
                     sampler: str = "kernel") -> tuple[Attribution, EstimatorInfo]:
    """Explain the oracle with ``oracle_samples`` of its answers and ``samples`` of the proxy's.

    ``oracle_fn`` and ``proxy_fn`` map masks to the target label's probability
    (as for ``Explainer.explain``); each is called once. The record carries
    the oracle alone at ``oracle_samples`` (``baseline``), which cost nothing more.
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
                      seed=seed, sampler=sampler)
    baseline = answers.oracle_alone()
    if answers.n_units == 1:  # every coalition is already the oracle's: nothing to add
        penalised = estimator in ("prior", "prior_control_variate")
        estimate = Estimate(baseline.values, baseline.base_value, lam=0.0 if penalised else None, beta=0.0,
                            gamma=0.0 if estimator in ("prior_control_variate", "regression_adjusted") else None,
                            slope=0.0 if penalised else None)
    else:
        estimate = BY_NAME[estimator](answers)
    attribution = Attribution(values=estimate.values, base_value=float(estimate.base_value),
                              full_value=float(answers.y_oracle[0]), n_evals=len(answers.oracle_masks), method=method,
                              standard_errors=baseline.standard_errors if estimate.combination is None
                              else estimate_errors(answers, estimate.combination))
    info = EstimatorInfo(
        name=estimator, oracle_samples=oracle_samples, proxy_samples=samples, lam=estimate.lam, beta=estimate.beta,
        rho=weighted_correlation(answers.y_oracle, answers.proxy_on_oracle, answers.oracle_weights),
        oracle_calls=len(answers.oracle_masks), proxy_calls=answers.proxy_calls, gamma=estimate.gamma,
        slope=estimate.slope, baseline=baseline,
    )
    return attribution, info
