"""Coarse-to-fine explanations: exact Shapley values at every level on small inputs."""

from __future__ import annotations

import itertools
import math

import numpy as np

from proxyx.explainers.hierarchy import HierarchicalExplainer, select
from proxyx.generation import make_value
from proxyx.perturb import ContextSegments

from .support import DOCS, QUESTION, TASK


def shapley(n: int, v) -> np.ndarray:
    """Exact Shapley values from the definition: v takes a bool mask of length n."""
    phi = np.zeros(n)
    for i in range(n):
        others = [j for j in range(n) if j != i]
        for size in range(n):
            w = math.factorial(size) * math.factorial(n - size - 1) / math.factorial(n)
            for s in itertools.combinations(others, size):
                m = np.zeros(n, bool)
                m[list(s)] = True
                with_i = m.copy()
                with_i[i] = True
                phi[i] += w * (v(with_i) - v(m))
    return phi


def level_value(segs: ContextSegments, active, word_value):
    """The value of a mask over a level's active units, the other words kept (as the hierarchy holds them)."""
    def v(mask):
        words = np.ones(len(segs.all_words), bool)
        for j, u in enumerate(active):
            a, b = segs.ranges[u]
            words[a:b] = mask[j]
        return float(word_value(words[None, :])[0])
    return v


def check_levels(levels, results, word_value):
    assert [r.unit for r in results] == [s.unit for s in levels][: len(results)]
    for segs, r in zip(levels, results):
        assert r.exact
        want = shapley(len(r.active), level_value(segs, r.active, word_value))
        np.testing.assert_allclose(r.attribution.values, want, atol=1e-8)


def test_select_top_k_and_threshold():
    assert list(select(np.array([0.1, 0.5, 0.4, -1.0]), 2)) == [1, 2]
    assert list(select(np.array([0.1, 0.5, 0.4, -1.0]), 3, threshold=0.5)) == [1, 2]
    assert list(select(np.array([-0.1, -0.5]), 1, threshold=0.0)) == []


def test_exact_shapley_each_level_nonlinear_value():
    docs = ("alpha beta. gamma delta epsilon.", "zeta eta theta.", "iota kappa.")
    levels = [ContextSegments(docs, unit=u) for u in ("document", "sentence", "word")]
    weights = np.linspace(1.0, 2.0, len(levels[-1].all_words))

    def word_value(words: np.ndarray) -> np.ndarray:  # interactions: a product term across documents
        w = words.astype(float)
        return w @ weights + 3.0 * w[:, 0] * w[:, 5] - 2.0 * w[:, 2] * w[:, 3]

    results = HierarchicalExplainer(method="kernel_shap", samples=64, top_k=1).explain(
        levels, word_value, len(levels[-1].all_words))
    assert len(results) == 3
    assert list(results[0].active) == [0, 1, 2]
    top_doc = int(np.argmax(results[0].attribution.values))
    assert all(levels[1].owner[u] == top_doc for u in results[1].active)  # refined inside the chosen document
    check_levels(levels, results, word_value)


def test_exact_shapley_each_level_on_gemma(gen):
    levels = [ContextSegments(DOCS[1:], unit=u) for u in ("document", "sentence", "word")]
    words = levels[-1]
    render = lambda m: TASK.prompt(words.render_words(m), QUESTION)  # noqa: E731
    answer = gen.answer([render(np.ones(len(words.all_words), bool))])[0].text
    value = make_value("answer_logprob", gen, render, answer)
    results = HierarchicalExplainer(method="kernel_shap", samples=[4, 4, 64], top_k=1).explain(
        levels, value, len(words.all_words))
    assert [len(r.active) for r in results][:2] == [2, 2] and 4 <= len(results[2].active) <= 6  # a sentence's words
    check_levels(levels, results, value)  # the brute force reads the same masks from the cache


def test_estimator_levels_ask_the_oracle_its_n_masks_and_keep_the_identities():
    """Control variate at each level: beta = 0 is the oracle alone at n; a proxy equal to the oracle gives the
    oracle at N (exact Shapley here: every coalition of the active units fits the proxy's budget N = 64)."""
    docs = ("alpha beta. gamma delta epsilon.", "zeta eta theta.", "iota kappa.")
    levels = [ContextSegments(docs, unit=u) for u in ("document", "word")]
    weights = np.linspace(1.0, 2.0, len(levels[-1].all_words))
    asked = []

    def oracle(words: np.ndarray) -> np.ndarray:
        asked.append(len(words))
        w = words.astype(float)
        # interactions within every document (so no level is additive) and across documents
        return w @ weights + 3.0 * w[:, 0] * w[:, 5] + 2.0 * w[:, 1] * w[:, 3] - 1.5 * w[:, 5] * w[:, 6] + w[:, 8] * w[:, 9]

    def run(proxy):
        asked.clear()
        return HierarchicalExplainer(method="kernel_shap", samples=64, top_k=1, estimator="control_variate",
                                     oracle_samples=16).explain(levels, oracle, len(levels[-1].all_words), proxy_fn=proxy)

    same = run(oracle)
    # 3 documents: all 8 coalitions fit n = 16 (exact); the top document's 5 words: 16 of 32
    assert [r.estimator.oracle_calls for r in same] == [8, 16] and asked[::2] == [8, 16]  # each level: n, then N
    assert [r.exact for r in same] == [True, False]
    for segs, r in zip(levels, same):  # proxy == oracle: the oracle's exact values at N
        want = shapley(len(r.active), level_value(segs, r.active, oracle))
        np.testing.assert_allclose(r.attribution.values, want, atol=1e-8)
    plain = HierarchicalExplainer(method="kernel_shap", samples=16, top_k=1).explain(
        levels, oracle, len(levels[-1].all_words))
    flat = run(lambda words: np.zeros(len(words)))  # a constant proxy: beta = 0, the oracle alone at n
    for a, b in zip(flat, plain):
        assert a.estimator.beta == 0.0
        np.testing.assert_allclose(a.attribution.values, b.attribution.values, atol=1e-9)
