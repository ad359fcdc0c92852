"""The estimators' fast paths against the straightforward computations they replace (to ~1e-10).

The fast paths batch every answer vector, ``lam``, ``beta`` and ``gamma`` of the
cross-validation into one pass, solve single fits without an
eigendecomposition, and calibrate every fold at once. The references below
are the plain loops: a pseudo-inverse per ``lam``, a 2x2 solve per
complementary pair, one calibration per fold, ``np.unique`` for the kernels.
"""

from __future__ import annotations

import numpy as np
import pytest

from proxyx.explainers import make_explainer
from proxyx.explainers.answers import collect
from proxyx.explainers.base import find_rows, kept_counts
from proxyx.explainers.estimators import (GUARD, MIN_CV_ROWS, TAUS, _logit, _sigmoid, control_variate,
                                          prior_control_variate, regression_adjusted)
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
    ``e_i / (1 - h_ii)`` alone, ``(I - H_pair)^-1 e_pair`` for a mask and its complement (Kernel SHAP)."""
    masks, w, z, t = fit.masks[rows], fit.weights[rows], fit.z[rows], fit.target(y)[rows]
    where = {m.tobytes(): k for k, m in enumerate(masks)}
    partner = [where.get((~m).tobytes()) if fit.method == "kernel_shap" else None for m in masks]
    rhs = fit.z[fit.rows].T @ (fit.w_fit * fit.target(y)[fit.rows])
    out = np.empty((len(lams), len(theta0s), len(rows)))
    for i, lam in enumerate(lams):
        inverse = np.linalg.pinv(fit.gram + (fit.alpha + lam) * np.eye(fit.n_units), rcond=RANK_TOL, hermitian=True)
        hat = (z @ inverse @ z.T) * w[None, :] + (w[None, :] / fit.w_fit.sum() if fit.method == "lime" else 0.0)
        for b, theta0 in enumerate(theta0s):
            e = t - z @ (inverse @ (rhs + lam * theta0))
            for k, j in enumerate(partner):
                pair = [k] if j is None else [k, j]
                left_out = np.linalg.solve(np.eye(len(pair)) - hat[np.ix_(pair, pair)], e[pair])[0]
                out[i, b, k] = w[k] * left_out**2
    return out


def reference_shrunk(answers, gammas):
    """``_shrunk`` one gamma at a time on ``reference_loo``: ``(values, base, lam, beta, gamma)``."""
    y_o, y_p, fit = answers.y_oracle, answers.proxy_on_oracle, answers.oracle_fit()
    phi_p, base_p = answers.proxy_explanation
    taus, direction = np.array(TAUS), fit.prior_direction(phi_p)
    grids, losses = [], []
    for gamma in gammas:
        slope = reference_slope(y_o - gamma * y_p, y_p, answers.oracle_weights)
        grids.append(np.array([0.0, 1.0, slope, slope / 2]))
        losses.append(reference_loo(fit, y_o - gamma * y_p, taus * fit.scale, grids[-1][:, None] * direction,
                                    answers.sampled))
    totals = [loss.sum(axis=2) for loss in losses]
    best = min(((g, *np.unravel_index(int(np.argmin(t)), t.shape)) for g, t in enumerate(totals)),
               key=lambda c: totals[c[0]][c[1], c[2]])
    alone = (0, 0, 0)  # the reference cases have no interpolated rows: lam = 0 is finite
    if best[:2] != alone[:2]:
        diff = losses[0][0, 0] - losses[best[0]][best[1], best[2]]
        if diff.sum() <= GUARD * np.sqrt(len(diff)) * diff.std(ddof=1):
            best = alone
    g, t, b = best
    beta = 0.0 if TAUS[t] == 0 else float(grids[g][b])
    values, base = fit.fit(y_o - gammas[g] * y_p, lam=TAUS[t] * fit.scale, prior_values=phi_p, beta=beta)
    return values + gammas[g] * phi_p, base + gammas[g] * base_p, TAUS[t], beta, gammas[g]


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
    """Regression-adjusted Monte Carlo with one calibration per fold (a loop)."""
    u_small, u_large, v = _logit(answers.proxy_on_oracle), _logit(answers.y_proxy), _logit(answers.y_oracle)
    w, eligible = answers.oracle_weights, answers.eligible

    def calibration(rows):
        b = reference_slope(v[rows], u_small[rows], w[rows])
        return w[rows] @ v[rows] / w[rows].sum() - b * (w[rows] @ u_small[rows] / w[rows].sum()), b

    models, s_small = [], np.empty(len(v))
    for fold in answers.folds():
        a, b = calibration(np.setdiff1d(eligible, fold))
        models.append((a, b))
        s_small[fold] = _sigmoid(a + b * u_small[fold])
    others = np.setdiff1d(np.arange(len(v)), answers.sampled)
    s_small[others] = np.mean([_sigmoid(a + b * u_small[others]) for a, b in models], axis=0)
    s_large = np.mean([_sigmoid(a + b * u_large) for a, b in models], axis=0)
    v_large, b_large = answers.proxy_fit().fit(s_large)
    v_small, b_small = answers.oracle_fit().fit(answers.y_oracle - s_small)
    return v_large + v_small, b_large + b_small, calibration(eligible)[1]


def informed(method, n_units, n, seed):
    fn = nonlinear(n_units, seed)
    other = nonlinear(n_units, seed + 100)
    return collect(method, n_units, fn, lambda m: 0.6 * fn(m) + 0.4 * other(m), samples=1000, oracle_samples=n,
                   seed=seed)


CASES = [pytest.param(8, 60, 0, id="8-units-60"), pytest.param(12, 100, 1, id="12-units-100"),
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
    got = fit.loo_losses(ys, lams, np.stack([theta0s, 2 * theta0s]), rows)
    assert got.shape == (2, len(lams), 3, len(rows))
    for g, scale in enumerate((1, 2)):
        expected = reference_loo(fit, ys[g], lams, scale * theta0s, rows)
        np.testing.assert_allclose(got[g], expected, rtol=1e-9, atol=1e-14)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("n_units,n,seed", CASES)
def test_the_estimators_are_their_straightforward_computations(method, n_units, n, seed):
    answers = informed(method, n_units, n, seed)
    assert len(answers.sampled) >= MIN_CV_ROWS
    beta = reference_cv_beta(answers)
    assert control_variate(answers)[2] == pytest.approx(beta, rel=1e-10)
    got, expected = prior_control_variate(answers), reference_shrunk(answers, (0.0, beta))
    np.testing.assert_allclose(got[0], expected[0], rtol=0, atol=1e-10)
    assert got[1:] == pytest.approx(expected[1:], rel=1e-10, abs=1e-12)
    got, expected = regression_adjusted(answers), reference_regression_adjusted(answers)
    np.testing.assert_allclose(got[0], expected[0], rtol=0, atol=1e-10)
    assert got[1:] == pytest.approx(expected[1:], rel=1e-10, abs=1e-12)


@pytest.mark.parametrize("n_units", [3, 8, 20, 40])
@pytest.mark.parametrize("samples", [10, 20, 40, 200])
def test_kernel_shap_solve_is_the_pseudo_inverse(n_units, samples):
    """Without penalty ``solve`` uses a Cholesky factorisation when ``G`` allows, else the pseudo-inverse:
    either way the eigendecomposition's minimum-norm answer, for a stack of answer vectors too."""
    explainer = make_explainer("kernel_shap", samples=samples, seed=n_units)
    masks = explainer.sample_masks(n_units)
    fit = LinearSurrogate("kernel_shap", masks, explainer.kernel(masks))
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
