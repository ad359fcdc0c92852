"""The estimators' fast paths against the straightforward computations they replace.

The fast paths batch every answer vector, ``lam``, ``beta`` and ``gamma`` of the
held-out check into one pass, fit gamma and the slopes without each block
from sums and the hat matrix, select without each block from the totals, and
solve single fits without an eigendecomposition. The references below are the
plain loops: a pseudo-inverse per ``lam``, a 2x2 solve per complementary pair,
a refit without each block for everything the check fits (gamma, the slope,
the explanation), a loop over the selections, ``np.unique`` for the kernels.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from proxyx.explainers import make_explainer
from proxyx.explainers.answers import collect
from proxyx.explainers.masks import find_rows, kept_counts
from proxyx.explainers.estimators import (GAMMAS, TAUS, _logit, _sigmoid, candidate, control_variate,
                                          prior_control_variate, regression_adjusted)
from proxyx.explainers.heldout import GUARD
from proxyx.explainers.linear import RANK_TOL, LinearSurrogate

from .test_estimators import nonlinear

METHODS = [pytest.param("lime", id="lime"), pytest.param("kernel_shap", id="kernel_shap")]


def reference_slope(y, x, w) -> float:
    """The weighted least-squares slope of ``y`` on ``x`` (0 when ``x`` is constant)."""
    xc, yc = x - w @ x / w.sum(), y - w @ y / w.sum()
    var = w @ (xc * xc)
    return 0.0 if var <= 1e-300 or var <= 1e-24 * (w @ (yc * yc)) else float(w @ (xc * yc) / var)


def reference_loo(fit: LinearSurrogate, y, lams, theta0s, rows) -> np.ndarray:
    """Leave-one-out losses ``(lams, theta0s, rows)``: per ``lam`` a pseudo-inverse and the hat matrix,
    ``e_i / (1 - h_ii)`` alone, ``(I - H_pair)^-1 e_pair`` for a mask and its complement (Kernel SHAP); where
    the unpenalised fit interpolates them, the minimum-norm fit refitted without them."""
    masks, w, z, t = fit.masks[rows], fit.weights[rows], fit.z[rows], fit.target(y)[rows]
    where = {m.tobytes(): k for k, m in enumerate(masks)}
    partner = [where.get((~m).tobytes()) if fit.paired else None for m in masks]
    rhs = fit.z[fit.rows].T @ (fit.w_fit * fit.target(y)[fit.rows])
    out = np.empty((len(lams), len(theta0s), len(rows)))
    for i, lam in enumerate(lams):
        inverse = np.linalg.pinv(fit.gram + (fit.alpha + lam) * np.eye(fit.n_units), rcond=RANK_TOL, hermitian=True)
        hat = (z @ inverse @ z.T) * w[None, :] + (w[None, :] / fit.w_fit.sum() if fit.intercept else 0.0)
        for b, theta0 in enumerate(theta0s):
            e = t - z @ (inverse @ (rhs + lam * theta0))
            for k, j in enumerate(partner):
                pair = [k] if j is None else [k, j]
                block = np.eye(len(pair)) - hat[np.ix_(pair, pair)]
                if fit.alpha + lam == 0 and abs(np.linalg.det(block)) < 1e-9:
                    part = type(fit)(fit.masks, fit.weights, np.setdiff1d(fit.rows, rows[pair]), alpha=fit.alpha)
                    values, base = part.attribution(part.path(y, [0.0])[0, 0], y)
                    left_out = y[rows[k]] - base - fit.masks[rows[k]] @ values
                else:
                    left_out = np.linalg.solve(block, e[pair])[0]
                out[i, b, k] = w[k] * left_out**2
    return out


def reference_cv_beta(answers) -> float:
    """The control variate's beta from the fits' predictions, one answer vector at a time."""
    fit, w = answers.oracle_fit(), answers.oracle_weights
    residuals = []
    for y in (answers.y_oracle, answers.proxy_on_oracle):
        values, base = fit.fit(y)
        residuals.append(y - base - answers.oracle_masks.astype(float) @ values)
    r_o, r_p = residuals
    return float(w @ (r_o * r_p) / (w @ (r_p * r_p)))


def reference_regression_adjusted(answers):
    """Regression-adjusted Monte Carlo with one calibration on all the fitted masks: ``(values, slope)``."""
    u_small, u_large, v = _logit(answers.proxy_on_oracle), _logit(answers.y_proxy), _logit(answers.y_oracle)
    w, fitted = answers.oracle_weights, np.flatnonzero(answers.oracle_weights > 0)
    b = reference_slope(v[fitted], u_small[fitted], w[fitted])
    a = w[fitted] @ v[fitted] / w[fitted].sum() - b * (w[fitted] @ u_small[fitted] / w[fitted].sum())
    v_large, _ = answers.proxy_fit().fit(_sigmoid(a + b * u_large))
    v_small, _ = answers.oracle_fit().fit(answers.y_oracle - _sigmoid(a + b * u_small))
    return v_large + v_small, b


def reference_leverage(answers) -> np.ndarray:
    """Each mask's leverage in the unpenalised fit on all masks: the diagonal of ``A (A'A)^+ A'`` with
    ``A = sqrt(W) Z`` (LIME: with its ridge, and its intercept's ``w / sum(w)``)."""
    fit, w = answers.oracle_fit(), answers.oracle_weights
    a = np.sqrt(w)[:, None] * fit.z
    inverse = np.linalg.pinv(a.T @ a + fit.alpha * np.eye(fit.n_units), rcond=RANK_TOL, hermitian=True)
    return np.einsum("ij,jk,ik->i", a, inverse, a) + (w / w.sum() if fit.intercept else 0.0)


def blocks_of(answers):
    """The held-out blocks: each sampled mask with its complement when that is sampled too (Kernel SHAP)."""
    rows, out = list(answers.sampled), []
    index = {answers.oracle_masks[i].tobytes(): i for i in rows}
    for i in rows:
        j = index.get((~answers.oracle_masks[i]).tobytes()) if answers.method == "kernel_shap" else None
        if j is None or j > i:
            out.append([i] if j is None else [i, j])
    return out


def beats(worse, better) -> bool:
    diff = np.asarray(worse) - np.asarray(better)
    t = stats.t.ppf(stats.norm.cdf(GUARD), len(diff) - 1)
    return bool(diff.any()) and diff.mean() > t * diff.std(ddof=1) / np.sqrt(len(diff))


def reference_choice(answers, rules, taus=TAUS):
    """The held-out check by loops, ``(gamma, lam, beta)`` or None (the oracle alone): per block,
    everything refitted without it; per selection, a loop."""
    y_o, y_p, w = answers.y_oracle, answers.proxy_on_oracle, answers.oracle_weights
    fitted = np.flatnonzero(w > 0)
    phi_p, base_p = answers.proxy_explanation
    blocks, scale = blocks_of(answers), answers.oracle_fit().scale
    losses = np.zeros((len(rules), len(taus), 4, len(blocks)))
    for k, block in enumerate(blocks):
        rest = np.setdiff1d(fitted, block)
        part = answers.oracle_fit(rest)
        slope = reference_slope(y_o[rest], y_p[rest], w[rest])
        r_o, r_p = part.residuals(y_o)[rest], part.residuals(y_p)[rest]
        gammas = {"none": 0.0, "answers": slope, "residuals": float(w[rest] @ (r_o * r_p) / (w[rest] @ (r_p * r_p)))}
        x = answers.oracle_masks[block].astype(float)
        for g, rule in enumerate(rules):
            c = gammas[rule]
            for b, beta in enumerate((0.0, 1 - c, slope - c, (slope - c) / 2)):
                theta0 = part.prior_direction(beta * phi_p)[None, :]
                for t, tau in enumerate(taus):
                    theta = part.path(y_o - c * y_p, [tau * scale], theta0)[0, 0]  # lam as on all masks
                    values, base = part.attribution(theta, y_o - c * y_p)
                    miss = y_o[block] - c * (base_p + x @ phi_p) - base - x @ values
                    losses[g, t, b, k] = w[block] @ miss**2
    unaided = losses[0, :, 0]  # gamma "none" comes first: beta 0 is the penalty pulling to zero
    aided = answers.method == "kernel_shap" and len(fitted) < answers.n_units  # the fit passes through every answer
    allowed = np.ones(losses.shape[:3], dtype=bool)
    allowed[0, 1:, 0] = not aided
    allowed[1:, 0] = np.mean([reference_leverage(answers)[block].sum() for block in blocks]) <= 0.5  # stable

    def select(keep):
        totals = np.where(allowed, losses[..., keep].sum(axis=-1), np.inf)
        g, t, b = np.unravel_index(int(np.argmin(totals)), totals.shape)
        for stronger in range(len(taus) - 1, t, -1):
            if allowed[g, stronger, b] and not beats(losses[g, stronger, b, keep], losses[g, t, b, keep]):
                return g, stronger, b
        return g, t, b

    every = np.arange(len(blocks))
    picks = [select(every != k) for k in every]
    honest = [losses[g, t, b, k] for k, (g, t, b) in enumerate(picks)]
    if not beats(unaided[0], honest):
        return None
    if aided and not beats([unaided[t, k] for k, (_, t, _) in enumerate(picks)], honest):
        return None
    g, t, b = select(every >= 0)
    slope = reference_slope(y_o[fitted], y_p[fitted], w[fitted])
    c = {"none": 0.0, "answers": slope, "residuals": reference_cv_beta(answers)}[rules[g]]
    return c, taus[t], 0.0 if taus[t] == 0 else (0.0, 1 - c, slope - c, (slope - c) / 2)[b]


def informed(method, n_units, n, seed):
    fn = nonlinear(n_units, seed)
    other = nonlinear(n_units, seed + 100)
    return collect(method, n_units, fn, lambda m: 0.8 * fn(m) + 0.2 * other(m), samples=1000, oracle_samples=n,
                   seed=seed)


CASES = [pytest.param(20, 15, 3, id="20-units-15"), pytest.param(8, 60, 0, id="8-units-60"),
         pytest.param(12, 100, 1, id="12-units-100"),
         pytest.param(16, 200, 2, id="16-units-200")]


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("n_units,n,seed", CASES)
def test_batched_leave_one_out_is_the_loop_over_lams_betas_and_gammas(method, n_units, n, seed):
    answers = informed(method, n_units, n, seed)
    fit, rows = answers.oracle_fit(), answers.sampled
    ys = np.stack([answers.y_oracle - g * answers.proxy_on_oracle for g in (0.0, 0.7)])
    direction = fit.prior_direction(np.random.default_rng(seed).normal(size=n_units))
    theta0s = np.array([[0.0], [1.0], [0.4]]) * direction  # (B, d), the same for both answer vectors
    lams = np.array(TAUS) * fit.scale
    got = fit.loo_residuals(ys, lams, np.stack([theta0s, 2 * theta0s]), rows) ** 2
    assert got.shape == (2, len(lams), 3, len(rows))
    for g, scale in enumerate((1, 2)):
        expected = reference_loo(fit, ys[g], lams, scale * theta0s, rows)
        np.testing.assert_allclose(got[g], expected, rtol=1e-7, atol=1e-14)  # the limit lam -> 0+: ~1e-8


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("n_units,n,seed", CASES)
def test_the_estimators_are_their_straightforward_computations(method, n_units, n, seed):
    answers = informed(method, n_units, n, seed)
    assert answers.held_out.can_check
    for estimate, taus in ((prior_control_variate(answers), TAUS), (control_variate(answers), (0.0,))):
        c, tau, beta = reference_choice(answers, GAMMAS, taus) or (0.0, 0.0, 0.0)  # None: the oracle alone
        np.testing.assert_allclose(estimate.values, candidate(answers, gamma=c, lam=tau, beta=beta).values,
                                   rtol=0, atol=1e-9)
        got = (estimate.gamma, estimate.lam, estimate.beta) if len(taus) > 1 else (estimate.beta, 0.0, 0.0)
        assert got == pytest.approx((c, tau, beta), rel=1e-9, abs=1e-12)
    estimate = regression_adjusted(answers)
    values, slope = reference_regression_adjusted(answers)
    assert estimate.beta == pytest.approx(slope, rel=1e-9)
    expected = values if estimate.gamma == 1.0 else answers.oracle_alone().values
    np.testing.assert_allclose(estimate.values, expected, rtol=0, atol=1e-10)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("n_units,n,seed", CASES)
def test_slopes_fitted_without_each_block_are_refits(method, n_units, n, seed):
    answers = informed(method, n_units, n, seed)
    held, w = answers.held_out, answers.oracle_weights
    y_o, y_p = answers.y_oracle, answers.proxy_on_oracle
    u = answers.oracle_fit().loo_residuals(np.stack([y_o, y_p]), [0.0], np.zeros((1, n_units)), held.rows)
    slopes, _ = held.lines(y_o, y_p)
    residual = held.residual_slopes(y_o, y_p, u[0, 0, 0], u[1, 0, 0])
    fitted = np.flatnonzero(w > 0)
    assert slopes[0] == pytest.approx(reference_slope(y_o[fitted], y_p[fitted], w[fitted]), rel=1e-9)
    assert residual[0] == pytest.approx(reference_cv_beta(answers), rel=1e-9)
    for k, block in enumerate(blocks_of(answers)):
        rest = np.setdiff1d(fitted, block)
        assert slopes[1 + k] == pytest.approx(reference_slope(y_o[rest], y_p[rest], w[rest]), rel=1e-9)
        part = answers.oracle_fit(rest)
        r_o, r_p = part.residuals(y_o)[rest], part.residuals(y_p)[rest]
        assert residual[1 + k] == pytest.approx(w[rest] @ (r_o * r_p) / (w[rest] @ (r_p * r_p)), rel=1e-7)


@pytest.mark.parametrize("n_units", [3, 8, 20, 40])
@pytest.mark.parametrize("samples", [10, 20, 40, 200])
def test_kernel_shap_solve_is_the_pseudo_inverse(n_units, samples):
    """Without penalty ``solve`` uses a Cholesky factorisation when ``G`` allows, else the pseudo-inverse:
    either way the eigendecomposition's minimum-norm answer, for a stack of answer vectors too."""
    explainer = make_explainer("kernel_shap", samples=samples, seed=n_units)
    masks = explainer.sample_masks(n_units)
    fit = explainer.closed_form(masks)
    rng = np.random.default_rng(samples)
    ys, theta0 = rng.random((3, len(masks))), fit.prior_direction(rng.normal(size=n_units))
    np.testing.assert_allclose(fit.solve(ys), fit.path(ys, [0.0])[:, 0, 0], rtol=0, atol=1e-10)
    np.testing.assert_allclose(fit.solve(ys[0], 0.5, theta0), fit.path(ys[0], [0.5], theta0)[0, 0], rtol=0, atol=1e-10)


@pytest.mark.parametrize("n_units", [1, 5, 30, 52, 53, 70])
def test_row_matching_counts_and_kernels_are_the_plain_ones(n_units):
    rng = np.random.default_rng(n_units)
    masks = np.unique(rng.random((300, n_units)) < 0.5, axis=0)
    masks = np.vstack([np.ones((1, n_units), bool), masks[masks.sum(axis=1) < n_units], np.zeros((1, n_units), bool)])
    masks = np.unique(masks, axis=0)
    queries = np.vstack([masks[::3], ~masks[:5], rng.random((5, n_units)) < 0.5])
    index = {m.tobytes(): i for i, m in enumerate(masks)}
    np.testing.assert_array_equal(find_rows(masks, queries), [index.get(q.tobytes(), -1) for q in queries])
    kept = masks.sum(axis=1)
    np.testing.assert_array_equal(kept_counts(masks), kept)
    lime = make_explainer("lime", samples=400)
    _, where, counts = np.unique(n_units - kept, return_inverse=True, return_counts=True)
    expected = lime.similarity(masks) * (400 - 1) / n_units / counts[where]
    expected[kept == n_units] = lime.similarity(masks[kept == n_units])
    np.testing.assert_allclose(lime.kernel(masks), expected, rtol=1e-14)
    inner = (kept > 0) & (kept < n_units)
    expected = np.zeros(len(masks))
    levels, where, counts = np.unique(kept[inner], return_inverse=True, return_counts=True)
    expected[inner] = ((n_units - 1) / (levels * (n_units - levels) * counts))[where]
    np.testing.assert_allclose(make_explainer("kernel_shap").kernel(masks), expected, rtol=1e-14)
