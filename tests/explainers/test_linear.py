"""The closed-form fits: the explainers' own answers, and exact leave-one-out errors."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import Ridge

from proxyx.explainers import make_explainer
from proxyx.explainers.answers import collect

from .test_estimators import nonlinear

METHODS = [pytest.param("lime", id="lime"), pytest.param("kernel_shap", id="kernel_shap")]


def reference_fit(method, masks, y, weights):
    """The explainers' fits as their papers and packages state them: LIME scikit-learn's weighted
    ``Ridge(alpha=1)`` with an intercept (one unit: the line through its two answers); Kernel SHAP the
    minimum-norm weighted least squares with ``sum(values) = f(full) - f(empty)``."""
    if method == "lime":
        if masks.shape == (2, 1):
            return np.array([y[0] - y[1]]), float(y[1])
        model = Ridge(alpha=1.0).fit(masks.astype(float), y, sample_weight=weights)
        return model.coef_, float(model.intercept_)
    n, kept = masks.shape[1], masks.sum(axis=1)
    f_full, f_empty = y[kept == n][0], y[kept == 0][0]
    inner = weights > 0
    root_w = np.sqrt(weights[inner])
    x = masks[inner].astype(float)
    design = (x - x.mean(axis=1, keepdims=True)) * root_w[:, None]  # a sum-zero delta: minimum norm
    target = (y[inner] - f_empty - kept[inner] * (f_full - f_empty) / n) * root_w
    return (f_full - f_empty) / n + np.linalg.lstsq(design, target, rcond=None)[0], float(f_empty)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("n_units,samples", [
    pytest.param(1, 10, id="one-unit"),
    pytest.param(5, 40, id="enumerated"),
    pytest.param(12, 25, id="12-units-25"),
    pytest.param(40, 25, id="underdetermined"),
    pytest.param(40, 200, id="40-units-200"),
    pytest.param(30, 1000, id="30-units-1000"),
])
def test_the_plain_fit_is_the_closed_form_and_the_reference_fit(method, n_units, samples):
    """``fit`` is the closed form the estimators use (one fit), and that is the method's own regression."""
    explainer = make_explainer(method, samples=samples, seed=1)
    masks = explainer.sample_masks(n_units)
    fn = nonlinear(n_units, seed=n_units)
    y = fn(masks)
    own = explainer.fit(masks, y)
    oracle_alone = collect(method, n_units, fn, fn, samples=samples, oracle_samples=samples, seed=1).oracle_alone()
    np.testing.assert_array_equal(own.values, oracle_alone.values)
    assert own.base_value == oracle_alone.base_value
    values, base = reference_fit(method, masks, y, explainer.kernel(masks))
    np.testing.assert_allclose(own.values, values, rtol=0, atol=1e-10)
    assert own.base_value == pytest.approx(base, abs=1e-10)


def refit_without(method, masks, weights, rows, i):
    """The fit without mask ``i`` (Kernel SHAP: and its complement, when it is among ``rows``)."""
    keys = {m.tobytes(): k for k, m in enumerate(masks)}
    out = [i]
    partner = keys.get((~masks[i]).tobytes())
    if method == "kernel_shap" and partner is not None and partner in set(rows):
        out.append(partner)
    return make_explainer(method).closed_form(masks, weights, np.setdiff1d(rows, out)), out


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("lam", [pytest.param(0.0, id="no-penalty"), pytest.param(0.3, id="penalised")])
@pytest.mark.parametrize("n_units,samples", [pytest.param(10, 80, id="10-units-80"),
                                             pytest.param(12, 11, id="fewer-masks-than-units"),
                                             pytest.param(40, 50, id="40-units-50")])
def test_leave_one_out_errors_are_exact(method, lam, n_units, samples):
    """Refit without each mask (Kernel SHAP: without each complementary pair) and predict it; without
    penalty a Kernel SHAP fit that interpolates the masks left out is scored as the minimum-norm fit
    without them (the limit lam -> 0+), not left unscored."""
    explainer = make_explainer(method, samples=samples, seed=2)
    masks = explainer.sample_masks(n_units)
    weights = explainer.kernel(masks)
    y = nonlinear(n_units, seed=3)(masks)
    fit = explainer.closed_form(masks, weights)
    prior = np.random.default_rng(0).normal(scale=0.1, size=(1, n_units))
    theta0 = fit.prior_direction(prior[0])[None, :]
    rows = fit.rows
    got = fit.loo_residuals(y, [lam * fit.scale], theta0, rows)[0, 0]
    assert np.isfinite(got).all()
    for k, i in enumerate(rows):
        part, _ = refit_without(method, masks, weights, rows, i)
        theta = part.path(y, [lam * fit.scale], theta0 if lam else None)[0, 0]
        values, base = part.attribution(theta, y)
        expected = np.sqrt(weights[i]) * (y[i] - base - masks[i] @ values)
        assert got[k] == pytest.approx(expected, rel=1e-6, abs=1e-12)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("n_units,samples", [pytest.param(10, 80, id="10-units-80"),
                                             pytest.param(12, 11, id="fewer-masks-than-units")])
def test_residuals_without_a_block_come_from_the_hat_matrix(method, n_units, samples):
    """``sqrt(w) e`` refitted without a block is ``sqrt(w) e + H[:, block] u_block`` (the control variate's
    beta is fitted without each block from it)."""
    explainer = make_explainer(method, samples=samples, seed=4)
    masks = explainer.sample_masks(n_units)
    weights = explainer.kernel(masks)
    y = nonlinear(n_units, seed=5)(masks)
    fit = explainer.closed_form(masks, weights)
    rows = fit.rows
    u = fit.loo_residuals(y, [0.0], np.zeros((1, n_units)), rows)[0, 0]
    hat, e = fit.hat(rows), fit.scaled_residuals(y)
    for k, i in enumerate(rows[:8]):
        part, out = refit_without(method, masks, weights, rows, i)
        expected = np.sqrt(weights) * (y - part.attribution(part.path(y, [0.0])[0, 0], y)[1]
                                       - masks @ part.attribution(part.path(y, [0.0])[0, 0], y)[0])
        left = [int(np.flatnonzero(rows == j)[0]) for j in out]
        got = e + hat[left].T @ u[left]
        keep = np.setdiff1d(np.arange(len(rows)), left)
        np.testing.assert_allclose(got[keep], expected[rows][keep], rtol=0, atol=1e-7)


def test_kernel_shap_needs_its_constraint_rows():
    masks = np.array([[True, False, True], [False, True, True]])
    with pytest.raises(ValueError, match="full and the empty"):
        make_explainer("kernel_shap").closed_form(masks, np.ones(2))
