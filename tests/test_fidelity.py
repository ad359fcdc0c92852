import numpy as np
import pytest

from proxyx.explainers import Attribution, make_explainer
from proxyx.fidelity import (agreement, deletion_order, evaluation_texts, fidelity_ratio, heldout_masks,
                             local_fidelity, quality, top_k)
from proxyx.perturb import Segments

WEIGHTS = {"great": 0.5, "tasty": 0.3, "cheap": 0.1}


def linear_value(texts):
    """A deterministic 'oracle': probability grows with the positive words present."""
    return np.array([0.1 + sum(w for word, w in WEIGHTS.items() if word in t.split()) for t in texts])


S = Segments("great tasty snack and cheap too")


def test_aopc_of_the_true_ranking_beats_a_wrong_one():
    good = np.array([0.5, 0.3, 0.0, 0.0, 0.1, 0.0])
    bad = good[::-1].copy()
    qg = quality(S, good, linear_value, k_fraction=0.5)
    qb = quality(S, bad, linear_value, k_fraction=0.5)
    assert qg.k == 3
    assert qg.aopc == pytest.approx((0.5 + 0.8 + 0.9) / 3)
    assert qb.aopc < qg.aopc
    assert qg.comprehensiveness > qb.comprehensiveness
    assert qg.sufficiency < qb.sufficiency  # keeping the right units keeps the probability


def test_oracle_against_itself_is_one():
    v = np.array([0.5, 0.3, 0.0, 0.0, 0.1, 0.0])
    q = quality(S, v, linear_value).aopc
    assert fidelity_ratio(q, q) == 1.0
    assert agreement(v, v, k=2)["spearman"] == pytest.approx(1.0)


def test_undefined_when_oracle_quality_not_positive():
    assert fidelity_ratio(0.2, 0.0) is None
    assert fidelity_ratio(0.2, -0.1) is None


def test_agreement_of_a_constant_attribution_is_not_perfect_by_the_text_order():
    oracle = np.array([5.0, 4, 3, 2, 1, 0])
    jaccards = [agreement(np.zeros(6), oracle, k=2, seed=s)["topk_jaccard"] for s in range(50)]
    assert np.mean(jaccards) < 0.5 and agreement(oracle, oracle, k=2)["topk_jaccard"] == 1.0


def test_agreement_metrics():
    a = np.array([3.0, 2.0, 1.0, -1.0])
    b = np.array([2.0, 3.0, 1.0, 1.0])
    m = agreement(a, b, k=2)
    assert m["topk_jaccard"] == 1.0
    assert m["sign_agreement"] == 0.75
    assert agreement(a, np.zeros(4), k=2)["spearman"] is None


def test_k_and_texts():
    assert top_k(51, 0.2) == 10 and top_k(3, 0.2) == 1
    texts = evaluation_texts(S, np.arange(6.0), 0.2)
    # the full text; without the top 1 (K = 1); then per ERASER bin (k = 1, 1, 1, 2, 3): without / only the top k
    assert texts == [S.full, "great tasty snack and cheap",
                     *["great tasty snack and cheap", "too"] * 3,
                     "great tasty snack and", "cheap too", "great tasty snack", "and cheap too"]


def first_words_matter(texts):
    """An oracle whose probability drops most for the first words: the text's own order is the best ranking."""
    weights = {"great": 0.3, "tasty": 0.2, "snack": 0.1}
    return np.array([0.3 + sum(w for word, w in weights.items() if word in t.split()) for t in texts])


@pytest.mark.parametrize("values", [pytest.param(np.zeros(6), id="all-zero"),
                                    pytest.param(np.full(6, 0.37), id="all-tied")])
def test_a_constant_attribution_ranks_like_a_random_one(values):
    """Ties are broken by a seeded random order, not by the text's own order (which would be perfect here)."""
    best = quality(S, np.array([6.0, 5, 4, 3, 2, 1]), first_words_matter, k_fraction=0.5).aopc
    tied = np.array([quality(S, values, first_words_matter, k_fraction=0.5, seed=s).aopc for s in range(300)])
    rng = np.random.default_rng(0)
    shuffled = np.array([quality(S, rng.permutation(np.arange(6.0)), first_words_matter, k_fraction=0.5).aopc
                         for _ in range(300)])
    assert tied.mean() == pytest.approx(shuffled.mean(), abs=0.03)
    assert fidelity_ratio(tied.mean(), best) < 0.7
    assert len(set(np.round(tied, 12))) > 3  # the seed matters
    assert quality(S, values, first_words_matter, seed=5) == quality(S, values, first_words_matter, seed=5)


def test_ties_keep_the_order_of_the_values_around_them():
    values = np.array([0.0, 0.5, 0.5, -1.0, 0.5, 0.2])
    for seed in range(20):
        order = deletion_order(values, seed)
        assert set(order[:3]) == {1, 2, 4} and list(order[3:]) == [5, 0, 3]
    assert {tuple(deletion_order(values, s)[:3]) for s in range(20)} != {(1, 2, 4)}
    np.testing.assert_array_equal(deletion_order(np.array([3.0, 1.0, 2.0]), 7), [0, 2, 1])  # no ties: no shuffle


def test_nearly_equal_values_count_as_tied():
    """Round-off (e.g. Kernel SHAP's equal split) must not decide the order."""
    values = np.full(6, 0.1) + np.array([0, 1, -1, 2, 0, -2]) * 1e-17
    assert {tuple(deletion_order(values, s)) for s in range(10)} != {tuple(np.argsort(-values, kind="stable"))}


# ---------------------------------------------------------------- local fidelity

def test_local_fidelity_of_the_exact_surrogate_is_one():
    w = np.array([0.2, -0.1, 0.3, 0.05, 0.0])
    f = lambda m: 0.4 + m.astype(float) @ w  # noqa: E731
    masks = heldout_masks("kernel_shap", 5, samples=20, seed=3)
    exact = Attribution(values=w, base_value=0.4, full_value=0.4 + w.sum(), n_evals=0, method="lime")
    weights = make_explainer("lime", samples=20).kernel(masks)
    assert local_fidelity(exact, masks, f(masks), weights) == pytest.approx(1.0)
    fitted = make_explainer("kernel_shap", samples=30, seed=1).explain(5, f)  # recovers an additive model
    kernel = make_explainer("kernel_shap", samples=20).kernel(masks)
    assert local_fidelity(fitted, masks, f(masks), kernel) == pytest.approx(1.0, abs=1e-10)


def test_local_fidelity_by_hand():
    masks = np.array([[1, 1], [1, 0], [0, 1], [0, 0]], dtype=bool)
    y = np.array([0.9, 0.6, 0.5, 0.1])
    weights = np.array([1.0, 2.0, 1.0, 0.0])
    attribution = Attribution(values=np.array([0.3, 0.2]), base_value=0.3, full_value=0.9, n_evals=4, method="lime")
    # g = [0.8, 0.6, 0.5, 0.3]; weighted mean of y = (0.9 + 1.2 + 0.5) / 4 = 0.65
    sse = 1.0 * 0.1**2 + 2.0 * 0.0**2 + 1.0 * 0.0**2
    sst = 1.0 * 0.25**2 + 2.0 * 0.05**2 + 1.0 * 0.15**2
    assert local_fidelity(attribution, masks, y, weights) == pytest.approx(1 - sse / sst)
    assert local_fidelity(attribution, masks, y, weights) == pytest.approx(1 - 0.01 / 0.09)
    worse = Attribution(values=np.array([-0.3, 0.0]), base_value=0.65, full_value=0.9, n_evals=4, method="lime")
    assert local_fidelity(worse, masks, y, weights) < 0  # worse than the weighted mean


@pytest.mark.parametrize("y,weights", [
    pytest.param(np.full(4, 0.7), np.ones(4), id="constant-answers"),
    pytest.param(np.array([0.1, 0.5, 0.5, 0.9]), np.array([0.0, 1.0, 1.0, 0.0]), id="constant-where-weighted"),
    pytest.param(np.array([0.1, 0.5, 0.2, 0.9]), np.zeros(4), id="no-weight"),
])
def test_local_fidelity_is_undefined_without_variance(y, weights):
    masks = np.array([[1, 1], [1, 0], [0, 1], [0, 0]], dtype=bool)
    a = Attribution(values=np.zeros(2), base_value=0.7, full_value=0.7, n_evals=4, method="lime")
    assert local_fidelity(a, masks, y, weights) is None


def test_local_fidelity_checks_its_inputs():
    masks = np.ones((3, 2), dtype=bool)
    a = Attribution(values=np.zeros(2), base_value=0.0, full_value=0.0, n_evals=3, method="lime")
    with pytest.raises(ValueError, match="3 masks"):
        local_fidelity(a, masks, np.zeros(2), np.ones(3))
    with pytest.raises(ValueError, match="non-negative"):
        local_fidelity(a, masks, np.zeros(3), np.array([1.0, -1.0, 1.0]))


@pytest.mark.parametrize("method", ["lime", "kernel_shap"])
def test_heldout_masks_are_drawn_like_the_fitting_masks_from_another_seed(method):
    fitting = make_explainer(method, samples=300, seed=11).sample_masks(30)
    heldout = heldout_masks(method, 30, samples=300, seed=11)
    assert heldout.shape == fitting.shape and heldout[0].all()
    np.testing.assert_array_equal(heldout, heldout_masks(method, 30, samples=300, seed=11))  # reproducible
    middle = lambda masks: {m.tobytes() for m in masks if 2 <= m.sum() <= 28}  # noqa: E731 - levels not enumerated
    assert len(middle(heldout) & middle(fitting)) < 0.05 * len(fitting)  # another draw
    same_sizes = np.abs(np.sort(heldout.sum(1)).mean() - np.sort(fitting.sum(1)).mean())
    assert same_sizes < 1.5
    assert not np.array_equal(heldout, heldout_masks(method, 30, samples=300, seed=12))


def test_heldout_masks_of_a_short_text_are_every_coalition():
    assert len(heldout_masks("lime", 4, samples=100, seed=0)) == 16
