"""CountSketch keeps inner products within the Johnson-Lindenstrauss tolerance; selection never sees the test split."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from proxyx.influence import CountSketch, fold, wilson
from proxyx.influence.scoring import Stats, correct, greedy_select, ranks, select_then_test, top5_of_bm25


def _vectors(n=12, dim=50_000, seed=0):
    g = torch.Generator().manual_seed(seed)
    base = torch.randn(dim, generator=g)
    # correlated vectors, as gradients are: inner products far from 0
    return [base + torch.randn(dim, generator=g) * (0.5 + i / n) for i in range(n)]


@pytest.mark.parametrize("d", [pytest.param(1024, id="d1024"), pytest.param(4096, id="d4096")])
def test_inner_products_within_the_jl_tolerance(d):
    vecs = _vectors()
    sketch = CountSketch(dim=4096, seed=3)
    proj = [fold(sketch.project({"w": v.reshape(250, 200)}), d) for v in vecs]
    eps = math.sqrt(16 * math.log(len(vecs)) / d)  # JL: d = O(log n / eps^2); 16 keeps a fixed seed far from the edge
    worst = 0.0
    for i in range(len(vecs)):
        for j in range(i, len(vecs)):
            exact = float(vecs[i].double() @ vecs[j].double())
            scale = float(vecs[i].double().norm() * vecs[j].double().norm())
            worst = max(worst, abs(float(proj[i] @ proj[j]) - exact) / scale)
    assert worst <= eps
    assert worst > 0  # a projection, not the identity


def test_components_project_independently_and_deterministically():
    a, b = torch.randn(3000), torch.randn(40, 50)
    s = CountSketch(dim=256, seed=1)
    both = s.project({"a": a, "b": b})
    assert np.allclose(both, s.project({"a": a}) + s.project({"b": b}))
    assert np.array_equal(both, CountSketch(dim=256, seed=1).project({"a": a, "b": b}))
    assert not np.allclose(both, CountSketch(dim=256, seed=2).project({"a": a, "b": b}))


def _stats(q=8, k=5, c=3):
    rng = np.random.default_rng(0)
    return Stats(dots=rng.normal(size=(q, k, c)), qn=np.ones((q, c)), cn=np.ones((q, k, c)),
                 qs=np.zeros((q, 0)), cs=np.zeros((q, k, 0)), truth=np.zeros(q, dtype=int))


def test_greedy_selection_never_sees_the_test_split():
    s = _stats()
    dev, test = np.arange(4), np.arange(4, 8)
    s.dots[dev, :, 0], s.dots[dev, 0, 0] = 0.0, 1.0  # component 0 finds every dev source
    s.dots[test, :, 1], s.dots[test, 0, 1] = 0.0, 1.0  # component 1 finds every test source
    s.dots[dev, :, 1] = -s.dots[dev, :, 1] - 2 * (np.arange(5) == 0)  # and never a dev one
    chosen, ok = select_then_test(s, dev, test, 1)
    assert chosen == [0]
    assert greedy_select(s.subset(test), 1) == [1]  # what peeking at the test queries would have chosen
    poisoned = Stats(s.dots.copy(), s.qn, s.cn, s.qs, s.cs, s.truth)
    poisoned.dots[test] = np.random.default_rng(1).normal(size=poisoned.dots[test].shape)
    assert select_then_test(poisoned, dev, test, 3)[0] == select_then_test(s, dev, test, 3)[0]
    with pytest.raises(ValueError, match="overlap"):
        select_then_test(s, dev, np.arange(3, 8), 1)


def test_wilson_interval():
    low, high = wilson(45, 50)
    assert 0.78 < low < 0.79 and 0.95 < high < 0.96  # 0.90 [0.786, 0.957]
    assert wilson(0, 10)[0] == 0.0 and wilson(10, 10)[1] == pytest.approx(1.0)


def test_ranks_put_ties_after_the_candidates_bm25_ranked_higher():
    scores = np.array([[0.1, 0.9, 0.5, 0.9, 0.2, 0.0],   # source 3 ties with 1, which BM25 ranked higher
                       [0.3, 0.3, 0.3, 0.3, 0.3, 0.3],   # all tied: source 0 first
                       [0.9, 0.8, 0.7, 0.6, 0.5, 0.4]])  # source 5 last
    truth = np.array([3, 0, 5])
    assert ranks(scores, truth).tolist() == [1, 0, 5]


def test_the_published_protocol_puts_the_source_fifth_when_bm25_missed_it():
    scores = np.array([[0.1, 0.2, 0.3, 0.4, 0.0, 0.9, 0.95],   # source 5 beats BM25's first five, not candidate 6
                       [0.5, 0.4, 0.3, 0.2, 0.1, 0.0, 0.99]])  # source 0, found by BM25: candidate 6 is not in the five
    sub, truth = top5_of_bm25(scores, np.array([5, 0]))
    assert sub.tolist() == [[0.1, 0.2, 0.3, 0.4, 0.9], [0.5, 0.4, 0.3, 0.2, 0.1]] and truth.tolist() == [4, 0]
    assert correct(sub, truth).tolist() == [True, True]
    assert ranks(scores, np.array([5, 0])).tolist() == [1, 1]  # among all seven, both are second
