"""Leverage-score sampling: nested, paired, without replacement, every size alike, exact when complete."""

from __future__ import annotations

import hashlib
from types import SimpleNamespace

import numpy as np
import pytest

from proxyx.errors import ConfigError
from proxyx.explainers import ESTIMATORS, explain_informed, make_explainer
from proxyx.explainers.hierarchy import HierarchicalExplainer
from proxyx.explainers.kernel_shap import KernelShapExplainer
from proxyx.explainers.leverage import leverage_masks

from .test_kernel_shap import brute_force_shapley, interaction_model


def leverage(samples: int, seed: int = 0) -> KernelShapExplainer:
    return make_explainer("kernel_shap", samples=samples, seed=seed, sampler="leverage")


@pytest.mark.parametrize("n_units,seed", [pytest.param(9, 0, id="9-units"), pytest.param(14, 1, id="14-units"),
                                          pytest.param(40, 2, id="40-units"), pytest.param(120, 3, id="120-units")])
def test_smaller_budgets_are_prefixes_of_larger_ones(n_units, seed):
    largest = leverage(500, seed).sample_masks(n_units)
    assert len(largest) == 500
    for budget in (2, 3, 16, 17, 64, 255, 499):
        np.testing.assert_array_equal(leverage(budget, seed).sample_masks(n_units), largest[:budget])


@pytest.mark.parametrize("n_units,budget", [
    pytest.param(8, 255, id="all-but-one"), pytest.param(10, 700, id="10-units"),
    pytest.param(14, 257, id="odd-budget"), pytest.param(63, 300, id="63-units"),
    pytest.param(80, 300, id="wider-than-an-integer-key"),
])
def test_masks_are_unique_and_paired_with_their_complements(n_units, budget):
    masks = leverage(budget, seed=5).sample_masks(n_units)
    assert len(masks) == budget
    assert len({m.tobytes() for m in masks}) == budget  # without replacement
    assert masks[0].all() and not masks[1].any()
    pairs = masks[2 : 2 + 2 * ((budget - 2) // 2)]
    np.testing.assert_array_equal(pairs[1::2], ~pairs[0::2])  # each coalition, then its complement


def test_every_size_gets_the_same_number_of_coalitions():
    n_units, rounds = 20, 5
    masks = leverage(2 + 2 * (n_units - 1) * rounds, seed=7).sample_masks(n_units)
    sizes = np.bincount(masks.sum(axis=1), minlength=n_units + 1)
    assert sizes[0] == sizes[-1] == 1
    assert np.all(sizes[1:-1] == 2 * rounds)  # where the kernel sampler puts most rows on sizes 1 and 19


def test_a_size_with_every_coalition_drawn_leaves_its_share_to_the_others():
    n_units = 10
    masks = leverage(600, seed=2).sample_masks(n_units)
    sizes = np.bincount(masks.sum(axis=1), minlength=n_units + 1)
    assert sizes[1] == sizes[9] == 10 and sizes[2] == sizes[8] == 45  # complete: C(10, 1), C(10, 2)
    assert sizes[3:8].sum() == 598 - 110 and np.ptp(sizes[3:8]) <= 2  # the others share the rest alike


@pytest.mark.parametrize("n_units", [pytest.param(n, id=f"{n}-units") for n in (1, 2, 3, 5, 8)])
def test_the_sampler_with_room_for_every_coalition_gives_the_exact_shapley_values(n_units):
    """Drawn by the sampler itself (``sample_masks`` would enumerate instead)."""
    fn = interaction_model(n_units, seed=n_units)
    masks = leverage_masks(n_units, 2**n_units, np.random.default_rng(0))
    assert len({m.tobytes() for m in masks}) == len(masks) == 2**n_units
    values = leverage(2**n_units).fit(masks, fn(masks)).values
    np.testing.assert_allclose(values, brute_force_shapley(n_units, fn), atol=1e-10)


def test_a_budget_covering_every_coalition_enumerates_and_is_exact():
    fn = interaction_model(7, seed=3)
    attribution = leverage(200).explain(7, fn)
    assert attribution.n_evals == 128
    np.testing.assert_allclose(attribution.values, brute_force_shapley(7, fn), atol=1e-10)


def test_sampled_leverage_shap_is_close_to_exact_and_efficient():
    fn = interaction_model(12, seed=1)
    exact = brute_force_shapley(12, fn)
    values = leverage(2000, seed=4).explain(12, fn).values
    assert np.abs(values - exact).max() < 0.01  # the values themselves are about 0.3
    full, empty = fn(np.array([[True] * 12, [False] * 12]))
    assert values.sum() == pytest.approx(full - empty, abs=1e-12)


def test_the_default_sampler_s_masks_are_unchanged():
    """Bit for bit the masks main drew before samplers existed: the caches of earlier runs stay valid."""
    for (n_units, samples, seed), digest in {(12, 100, 0): "b275bee678e582cb", (14, 256, 3): "a4c4ce24baee495c",
                                             (40, 500, 1): "627f2763d7f85494"}.items():
        masks = make_explainer("kernel_shap", samples=samples, seed=seed).sample_masks(n_units)
        assert hashlib.sha256(masks.tobytes()).hexdigest()[:16] == digest


@pytest.mark.parametrize("estimator", ESTIMATORS)
def test_the_estimators_take_the_leverage_sampler_s_masks_and_weights(estimator):
    fn = interaction_model(16, seed=8)
    oracle_batches, proxy_batches = [], []

    def oracle(masks):
        oracle_batches.append(masks)
        return fn(masks)

    def proxy(masks):
        proxy_batches.append(masks)
        return 0.8 * fn(masks) + 0.1

    attribution, info = explain_informed("kernel_shap", 16, oracle, proxy, samples=600, oracle_samples=60,
                                         estimator=estimator, seed=3, sampler="leverage")
    np.testing.assert_array_equal(oracle_batches[0], leverage(60, seed=3).sample_masks(16))
    np.testing.assert_array_equal(proxy_batches[0], leverage(600, seed=3).sample_masks(16))
    assert info.proxy_calls == 600  # nested: the oracle's masks are among the proxy's, none asked twice
    alone = leverage(60, seed=3).explain(16, fn)  # the baseline is the plain explainer's fit, its weights included
    np.testing.assert_allclose(info.baseline.values, alone.values, rtol=0, atol=1e-10)
    gap = fn(np.ones((1, 16), bool))[0] - fn(np.zeros((1, 16), bool))[0]
    assert attribution.values.sum() == pytest.approx(gap, abs=1e-10)


@pytest.mark.parametrize("estimator", ["control_variate", "regression_adjusted"])
def test_a_proxy_equal_to_the_oracle_gives_the_leverage_explanation_at_the_proxy_budget(estimator):
    fn = interaction_model(18, seed=9)
    attribution, _ = explain_informed("kernel_shap", 18, fn, fn, samples=1000, oracle_samples=100,
                                      estimator=estimator, seed=2, sampler="leverage")
    np.testing.assert_allclose(attribution.values, leverage(1000, seed=2).explain(18, fn).values, atol=1e-8)


def test_the_hierarchy_explains_each_level_with_its_sampler():
    fn = interaction_model(12, seed=4)
    words = SimpleNamespace(unit="word", ranges=[(i, i + 1) for i in range(12)])
    [level] = HierarchicalExplainer(samples=100, seed=6, sampler="leverage").explain([words], fn, n_words=12)
    np.testing.assert_allclose(level.attribution.values, leverage(100, seed=6).explain(12, fn).values, atol=1e-12)


@pytest.mark.parametrize("method,sampler,needle", [
    pytest.param("lime", "leverage", "explainer.sampler 'leverage' is for kernel_shap, not lime", id="lime"),
    pytest.param("kernel_shap", "uniform", "explainer.sampler must be one of kernel, leverage, got 'uniform'",
                 id="unknown"),
])
def test_a_sampler_the_method_cannot_take_is_refused(method, sampler, needle):
    with pytest.raises(ConfigError, match=needle):
        make_explainer(method, samples=100, sampler=sampler)
