"""The closed-form fits: the explainers' own answers, and exact leave-one-out errors."""

from __future__ import annotations

import numpy as np
import pytest

from proxyx.explainers import make_explainer
from proxyx.explainers.linear import LinearSurrogate

from .test_estimators import nonlinear

METHODS = [pytest.param("lime", id="lime"), pytest.param("kernel_shap", id="kernel_shap")]


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("n_units,samples", [
    pytest.param(5, 40, id="enumerated"),
    pytest.param(12, 25, id="12-units-25"),
    pytest.param(40, 25, id="underdetermined"),
    pytest.param(40, 200, id="40-units-200"),
    pytest.param(30, 1000, id="30-units-1000"),
])
def test_closed_form_is_the_explainer_s_own_fit(method, n_units, samples):
    explainer = make_explainer(method, samples=samples, seed=1)
    masks = explainer.sample_masks(n_units)
    y = nonlinear(n_units, seed=n_units)(masks)
    own = explainer.fit(masks, y)
    values, base = LinearSurrogate(method, masks, explainer.kernel(masks)).fit(y)
    np.testing.assert_allclose(values, own.values, rtol=0, atol=1e-10)
    assert base == pytest.approx(own.base_value, abs=1e-10)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("lam", [pytest.param(0.0, id="no-penalty"), pytest.param(0.3, id="penalised")])
def test_leave_one_out_errors_are_exact(method, lam):
    """Refit without each mask (Kernel SHAP: without each complementary pair) and predict it."""
    n_units = 10
    explainer = make_explainer(method, samples=80, seed=2)
    masks, weights = explainer.sample_masks(n_units), None
    weights = explainer.kernel(masks)
    y = nonlinear(n_units, seed=3)(masks)
    fit = LinearSurrogate(method, masks, weights)
    prior = np.random.default_rng(0).normal(scale=0.1, size=(1, n_units))
    theta0 = fit.prior_direction(prior[0])[None, :]
    rows = fit.rows
    got = fit.loo_losses(y, [lam * fit.scale], theta0, rows)[0, 0]
    keys = {m.tobytes(): i for i, m in enumerate(masks)}
    for k, i in enumerate(rows):
        out = [i]
        partner = keys.get((~masks[i]).tobytes())
        if method == "kernel_shap" and partner is not None and partner in set(rows):
            out.append(partner)
        part = LinearSurrogate(method, masks, weights, np.setdiff1d(rows, out))
        theta = part.path(y, [lam * fit.scale], theta0)[0, 0]
        values, base = part.attribution(theta, y)
        expected = weights[i] * (y[i] - base - masks[i] @ values) ** 2
        assert got[k] == pytest.approx(expected, rel=1e-7, abs=1e-14)


def test_kernel_shap_needs_its_constraint_rows():
    masks = np.array([[True, False, True], [False, True, True]])
    with pytest.raises(ValueError, match="full and the empty"):
        LinearSurrogate("kernel_shap", masks, np.ones(2))
