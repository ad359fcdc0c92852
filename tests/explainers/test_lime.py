"""LIME with lime's text defaults: sampling, kernel, and recovery of a linear model."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import spearmanr

from proxyx.explainers import make_explainer
from proxyx.explainers.lime import LimeExplainer


def linear_model(n_units: int, seed: int):
    """A linear model with distinct non-zero weights of both signs, in a random order over the units."""
    rng = np.random.default_rng(seed)
    magnitudes = np.linspace(0.02, 0.3, n_units)
    weights = rng.permutation(magnitudes * np.where(np.arange(n_units) % 2, 1.0, -1.0))
    return weights, lambda masks: 0.4 + masks.astype(float) @ weights


@pytest.mark.parametrize("n_units,samples,seed", [
    pytest.param(10, 1000, 0, id="10-units"),
    pytest.param(12, 500, 1, id="12-units"),
    pytest.param(15, 1000, 2, id="15-units"),
    pytest.param(8, 1000, 3, id="8-units-enumerated"),
])
def test_lime_ranks_a_linear_model_exactly(n_units, samples, seed):
    weights, fn = linear_model(n_units, seed)
    attribution = make_explainer("lime", samples=samples, seed=seed).explain(n_units, fn)
    assert spearmanr(attribution.values, weights).statistic == pytest.approx(1.0)
    np.testing.assert_array_equal(np.sign(attribution.values), np.sign(weights))


def test_lime_recovers_a_linear_model_up_to_ridge_shrinkage():
    weights, fn = linear_model(12, seed=4)
    attribution = make_explainer("lime", samples=1000).explain(12, fn)
    np.testing.assert_allclose(attribution.values, weights, atol=0.05)
    assert attribution.full_value == pytest.approx(0.4 + weights.sum())
    assert attribution.base_value == pytest.approx(0.4, abs=0.1)


def test_lime_sampling_removes_between_one_and_all_units():
    n_units = 30
    masks = make_explainer("lime", samples=3000, seed=0).sample_masks(n_units)
    counts = np.bincount((~masks[1:]).sum(axis=1), minlength=n_units + 1)
    assert counts[0] == 0  # the unmasked text only once, as row 0
    # The number removed is uniform in 1..n, but deduplication caps the small
    # levels: only 30 masks remove 1 unit (or 29), and 1 removes all 30.
    assert 25 <= min(counts[1], counts[n_units - 1]) and max(counts[1], counts[n_units - 1]) <= n_units
    assert counts[n_units] == 1
    assert 80 < counts[2:n_units - 1].min() and counts[2:n_units - 1].max() < 150


def test_lime_similarity_is_lime_text_default():
    n = 4
    masks = np.array([[1, 1, 1, 1], [1, 1, 1, 0], [1, 0, 0, 0], [0, 0, 0, 0]], dtype=bool)
    similarity = LimeExplainer().similarity(masks)
    cosine = 1 - np.array([1.0, np.sqrt(3 / n), np.sqrt(1 / n), 0.0])  # empty row: distance 1
    np.testing.assert_allclose(similarity, np.sqrt(np.exp(-((100 * cosine) ** 2) / 25**2)))
    assert similarity[0] == 1.0 and np.all(np.diff(similarity) < 0)


@pytest.mark.parametrize("n_units,samples", [
    pytest.param(8, 1000, id="8-units-enumerated"),
    pytest.param(12, 300, id="12-units-sampled"),
    pytest.param(30, 1000, id="30-units-sampled"),
])
def test_lime_kernel_gives_each_level_lime_s_expected_mass(n_units, samples):
    """lime draws samples - 1 masks, the number removed uniform in 1..n: each level's expected weight is
    similarity(level) * (samples - 1) / n, whatever number of distinct masks carries it here."""
    explainer = make_explainer("lime", samples=samples, seed=0)
    masks = explainer.sample_masks(n_units)
    weights, similarity = explainer.kernel(masks), explainer.similarity(masks)
    removed = n_units - masks.sum(axis=1)
    assert weights[0] == 1.0 and removed[0] == 0 and (removed == 0).sum() == 1  # the text itself: once
    for level in range(1, n_units + 1):
        at = removed == level
        assert at.any()
        assert weights[at].sum() == pytest.approx(similarity[at][0] * (samples - 1) / n_units)
        assert np.ptp(weights[at]) == pytest.approx(0.0, abs=1e-12)  # spread evenly


@pytest.mark.parametrize("samples", [pytest.param(2, id="enumerated"), pytest.param(1000, id="generous")])
def test_lime_on_one_unit_is_the_effect_of_deleting_it(samples):
    attribution = make_explainer("lime", samples=samples).explain(1, lambda m: np.where(m[:, 0], 0.9, 0.3))
    assert attribution.values == pytest.approx([0.6])
    assert attribution.base_value == pytest.approx(0.3)
    assert attribution.full_value == pytest.approx(0.9)
