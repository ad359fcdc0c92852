import numpy as np
import pytest

from proxyx.fidelity import agreement, evaluation_texts, fidelity_ratio, quality, top_k
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
    assert texts[0] == S.full and len(set(texts)) <= len(texts)
