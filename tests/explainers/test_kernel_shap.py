"""Kernel SHAP: exact Shapley values when enumerated, efficiency always, close when sampled."""

from __future__ import annotations

import math

import numpy as np
import pytest
import shap

from proxyx.explainers import make_explainer
from proxyx.explainers.kernel_shap import KernelShapExplainer


def interaction_model(n_units: int, seed: int):
    """A sigmoid of a linear term plus random pairwise interactions: not additive."""
    rng = np.random.default_rng(seed)
    w, v = rng.normal(size=n_units), rng.normal(size=n_units)
    pairs = rng.integers(0, n_units, size=(n_units, 2))

    def fn(masks):
        m = np.asarray(masks, dtype=float)
        z = m @ w + (m[:, pairs[:, 0]] * m[:, pairs[:, 1]]) @ v
        return 1.0 / (1.0 + np.exp(-z))

    return fn


def additive_model(n_units: int, seed: int):
    weights = np.random.default_rng(seed).normal(scale=0.1, size=n_units)
    return weights, lambda masks: 0.5 + masks.astype(float) @ weights


def brute_force_shapley(n_units: int, fn) -> np.ndarray:
    """The subset formula over all 2**n coalitions (coalition i <-> the bits of integer i)."""
    codes = np.arange(2**n_units)
    y = fn(((codes[:, None] >> np.arange(n_units)) & 1).astype(bool))
    phi = np.zeros(n_units)
    for code in codes:
        s = int(code).bit_count()
        for i in range(n_units):
            if not code >> i & 1:
                weight = math.factorial(s) * math.factorial(n_units - s - 1) / math.factorial(n_units)
                phi[i] += weight * (y[code | 1 << i] - y[code])
    return phi


@pytest.mark.parametrize("n_units", [pytest.param(n, id=f"{n}-units") for n in range(1, 9)])
def test_enumerated_kernel_shap_equals_exact_shapley_values(n_units):
    fn = interaction_model(n_units, seed=n_units)
    attribution = make_explainer("kernel_shap", samples=2**n_units).explain(n_units, fn)
    assert attribution.n_evals == 2**n_units
    np.testing.assert_allclose(attribution.values, brute_force_shapley(n_units, fn), atol=1e-6)
    assert attribution.base_value == pytest.approx(fn(np.zeros((1, n_units), dtype=bool))[0])


@pytest.mark.parametrize("n_units", [pytest.param(4, id="4-units"), pytest.param(6, id="6-units")])
def test_enumerated_kernel_shap_matches_shap_kernel_explainer(n_units):
    fn = interaction_model(n_units, seed=10 + n_units)
    ours = make_explainer("kernel_shap", samples=1000).explain(n_units, fn).values
    # A zero background and an all-ones instance make shap's masking our masking;
    # nsamples >= 2**n - 2 makes it enumerate every coalition too.
    reference = shap.KernelExplainer(fn, np.zeros((1, n_units)))
    theirs = reference.shap_values(np.ones((1, n_units)), nsamples=2**n_units, l1_reg=False, silent=True)
    np.testing.assert_allclose(ours, np.asarray(theirs).reshape(n_units), atol=1e-6)


@pytest.mark.parametrize("n_units,samples,seed", [
    pytest.param(6, 64, 0, id="enumerated"),
    pytest.param(12, 200, 0, id="sampled-12"),
    pytest.param(16, 200, 1, id="sampled-16"),
    pytest.param(20, 200, 2, id="sampled-20"),
    pytest.param(120, 50, 3, id="more-units-than-samples"),
])
def test_attributions_sum_to_full_minus_empty(n_units, samples, seed):
    fn = interaction_model(n_units, seed)
    attribution = make_explainer("kernel_shap", samples=samples, seed=seed).explain(n_units, fn)
    assert attribution.n_evals == samples
    full, empty = fn(np.array([[True] * n_units, [False] * n_units]))
    assert attribution.full_value == pytest.approx(full)
    assert attribution.base_value == pytest.approx(empty)
    assert attribution.values.sum() == pytest.approx(full - empty, abs=1e-12)


@pytest.mark.parametrize("n_units,samples", [pytest.param(12, 300, id="12-units"),
                                             pytest.param(40, 500, id="40-units")])
def test_sampled_kernel_shap_recovers_an_additive_model(n_units, samples):
    weights, fn = additive_model(n_units, seed=n_units)
    attribution = make_explainer("kernel_shap", samples=samples).explain(n_units, fn)
    np.testing.assert_allclose(attribution.values, weights, atol=1e-8)


@pytest.mark.parametrize("n_units,samples,tolerance", [
    pytest.param(10, 1000, 0.002, id="10-units-1000"),
    pytest.param(12, 2000, 0.01, id="12-units-2000"),
])
def test_sampled_kernel_shap_is_close_to_exact_with_a_generous_budget(n_units, samples, tolerance):
    fn = interaction_model(n_units, seed=1)
    exact = brute_force_shapley(n_units, fn)
    values = make_explainer("kernel_shap", samples=samples).explain(n_units, fn).values
    assert np.abs(values - exact).max() < tolerance  # the values themselves are about 0.3


def test_one_unit_gets_the_whole_difference():
    attribution = make_explainer("kernel_shap", samples=1).explain(1, lambda m: np.where(m[:, 0], 0.8, 0.35))
    assert attribution.values == pytest.approx([0.45])
    assert attribution.n_evals == 2


def test_small_levels_are_enumerated_before_sampling():
    n_units = 12
    masks = make_explainer("kernel_shap", samples=400).sample_masks(n_units)
    kept = masks.sum(axis=1)
    for size in (1, n_units - 1):  # shap's rule: 400 draws cover the 24 coalitions of sizes 1 and 11
        assert (kept == size).sum() == n_units
    # paired sampling: every sampled coalition comes with its complement (but at most the last one)
    rows = {m.tobytes() for m in masks}
    unpaired = sum((~m).tobytes() not in rows for m in masks)
    assert unpaired <= 1


def test_kernel_is_the_shapley_kernel_when_enumerated():
    n = 5
    masks = KernelShapExplainer(samples=32).sample_masks(n)
    weights = KernelShapExplainer().kernel(masks)
    kept = masks.sum(axis=1)
    inner = (kept > 0) & (kept < n)
    expected = (n - 1) / (np.array([math.comb(n, s) for s in kept[inner]]) * kept[inner] * (n - kept[inner]))
    np.testing.assert_allclose(weights[inner], expected)
    assert np.all(weights[~inner] == 0)  # the empty and full rows enter as constraints
