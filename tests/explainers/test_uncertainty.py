"""Standard errors per unit: the design they assume, and whether they match the spread over seeds on a real model."""

from __future__ import annotations

import numpy as np
import pytest

from proxyx.config import ModelConfig, TaskConfig
from proxyx.explainers import explain_informed, make_explainer
from proxyx.explainers.base import find_rows
from proxyx.explainers.uncertainty import design, explain_with_errors
from proxyx.models import build_model
from proxyx.perturb import Segments

ROUTES = [pytest.param("lime", "kernel", id="lime"), pytest.param("kernel_shap", "kernel", id="kernel_shap"),
          pytest.param("kernel_shap", "leverage", id="kernel_shap-leverage")]
REVIEW = ("The coffee smells great and the price is good, but the taste is bitter and weak, and the bag arrived "
          "torn. Not terrible, not great")


@pytest.fixture(scope="module")
def vader():
    model = build_model(ModelConfig(model="local/vader"), TaskConfig())
    segments = Segments(REVIEW)
    return lambda masks: np.array([a.probs[0] for a in model.predict(segments.render_many(masks))]), len(segments)


def test_pairs_are_one_block_and_the_enumerated_levels_are_fixed():
    n = 12
    masks = make_explainer("kernel_shap", samples=120, seed=3).sample_masks(n)
    d = design("kernel_shap", masks)
    kept = masks.sum(axis=1)
    assert (d.block[(kept == 0) | (kept == n)] == -1).all()  # the full and the empty text stay
    assert (d.block[(kept == 1) | (kept == n - 1)] == -1).all()  # the smallest levels are enumerated whole
    partner = find_rows(masks, ~masks)
    drawn = np.flatnonzero(d.block >= 0)
    assert len(drawn) and (partner[drawn] >= 0).all()
    assert (d.block[drawn] == d.block[partner[drawn]]).all()  # a mask and its complement: one block
    assert len(np.unique(d.block[drawn])) == len(drawn) // 2
    assert 0 < d.fraction.max() < 1


@pytest.mark.parametrize("method, sampler", ROUTES)
def test_every_coalition_evaluated_means_no_error(method, sampler):
    fn = lambda m: np.asarray(m, dtype=float) @ np.arange(1.0, 7.0) / 21  # noqa: E731
    attr = explain_with_errors(make_explainer(method, samples=64, seed=0, sampler=sampler), 6, fn)
    assert attr.standard_errors.shape == (6,) and np.all(attr.standard_errors == 0)


@pytest.mark.parametrize("method, sampler", ROUTES)
def test_the_errors_are_the_spread_over_seeds(vader, method, sampler):
    """The plain explainer on VADER: the standard errors match the values' standard deviation over 30 seeds."""
    fn, n = vader
    runs = [explain_with_errors(make_explainer(method, samples=200, seed=s, sampler=sampler), n, fn)
            for s in range(30)]
    spread = np.std([a.values for a in runs], axis=0, ddof=1)
    claimed = np.sqrt(np.mean([a.standard_errors**2 for a in runs], axis=0))
    moving = spread > 0.1 * spread.max()  # units VADER ignores barely move and are left out
    ratio = np.sqrt(np.mean(claimed[moving] ** 2) / np.mean(spread[moving] ** 2))
    assert 0.7 < ratio < 1.5, ratio


@pytest.mark.parametrize("estimator", ["control_variate", "prior", "regression_adjusted", "prior_control_variate"])
def test_an_estimate_carries_errors_with_the_proxys_part(vader, estimator):
    """VADER as the oracle and a rescaled VADER as the proxy (one that tracks the oracle exactly): the estimators
    lean on the proxy's 400 answers, and their errors (the proxy's part included) match the spread over seeds."""
    fn, n = vader
    proxy = lambda m: 0.8 * fn(m) + 0.1  # noqa: E731
    runs = [explain_informed("kernel_shap", n, fn, proxy, samples=400, oracle_samples=100, estimator=estimator,
                             seed=s) for s in range(25)]
    values = np.array([a.values for a, _ in runs])
    errors = np.array([a.standard_errors for a, _ in runs])
    baseline = np.array([info.baseline.standard_errors for _, info in runs])
    assert errors.shape == values.shape and np.isfinite(errors).all()
    assert np.mean(errors) < 0.8 * np.mean(baseline)  # the proxy made the estimate more precise, and it says so
    spread, claimed = np.std(values, axis=0, ddof=1), np.sqrt(np.mean(errors**2, axis=0))
    moving = spread > 0.1 * spread.max()
    ratio = np.sqrt(np.mean(claimed[moving] ** 2) / np.mean(spread[moving] ** 2))
    assert 0.6 < ratio < 1.7, ratio
