"""Paired intervals: Student t on differences, bootstrap ratio of means."""

import numpy as np
import pytest
from scipy import stats as sps

from proxyx.stats import paired_t, ratio_of_means


def test_paired_t_matches_scipy():
    rng = np.random.default_rng(1)
    a, b = rng.normal(1.0, 1, 12), rng.normal(0.5, 1, 12)
    got = paired_t(a.tolist(), b.tolist())
    ci = sps.ttest_rel(a, b).confidence_interval(0.95)
    assert got.estimate == pytest.approx(float(np.mean(a - b)))
    assert (got.low, got.high) == pytest.approx((ci.low, ci.high))
    assert got.n == 12


def test_paired_t_skips_undefined_pairs_and_small_samples():
    got = paired_t([1.0, None, 3.0], [0.5, 2.0, None])
    assert got.n == 1 and got.estimate == 0.5 and got.low is None
    assert paired_t([], []).estimate is None
    with pytest.raises(ValueError, match="differ in length"):
        paired_t([1.0], [1.0, 2.0])


@pytest.mark.parametrize("shift,above", [pytest.param(0.5, True, id="clearly-better"),
                                         pytest.param(0.0, False, id="same")])
def test_paired_t_above_zero(shift, above):
    rng = np.random.default_rng(2)
    b = rng.normal(0, 1, 40)
    a = b + shift + rng.normal(0, 0.1, 40)
    assert paired_t(a.tolist(), b.tolist()).above_zero is above


def test_ratio_of_means_interval_covers_estimate_and_is_seeded():
    rng = np.random.default_rng(3)
    b = rng.uniform(0.1, 1, 30)
    a = 0.9 * b + rng.normal(0, 0.05, 30)
    r1 = ratio_of_means(a.tolist(), b.tolist(), seed=5)
    r2 = ratio_of_means(a.tolist(), b.tolist(), seed=5)
    assert r1 == r2
    assert r1.estimate == pytest.approx(a.mean() / b.mean())
    assert r1.low < r1.estimate < r1.high
    assert 0.8 < r1.low and r1.high < 1.0


def test_ratio_of_means_undefined_when_reference_not_positive():
    assert ratio_of_means([1.0, 2.0], [-1.0, 0.5]).estimate is None
