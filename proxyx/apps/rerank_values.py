"""Exact document-level Shapley values over every coalition, the lexical proxy value, and rerank metrics.

A question comes with k retrieved passages; a *coalition* is the subset kept
in the prompt, coded as a bitmask (bit j set: passage j, in retrieval order,
is kept). With k <= ``MAX_K`` every one of the 2^k coalitions is valued, so
the Shapley values are exact:

    phi_j = sum over S not holding j of |S|! (k-|S|-1)! / k! * (v(S + j) - v(S)).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

import numpy as np

#: exact enumeration: 2^k coalitions per question
MAX_K = 8

_WORD = re.compile(r"[a-z0-9]+(?:['\-.][a-z0-9]+)*")
#: a short English stop list: content words decide the overlap
STOPWORDS = frozenset("""a an and are as at be but by can do does for from has have how i if in into is it its my
no not of on or so such that the their then there these they this to was what when where which who why will with
you your me we our us""".split())


def coalitions(k: int) -> np.ndarray:
    """Every subset of k passages as a (2^k, k) boolean mask; row b is bitmask b."""
    b = np.arange(2 ** k)[:, None]
    return ((b >> np.arange(k)) & 1).astype(bool)


def shapley_exact(values: Sequence[float], k: int) -> np.ndarray:
    """Shapley values of the game ``values[bitmask]`` (length 2^k) by direct enumeration."""
    v = np.asarray(values, dtype=float)
    if v.shape != (2 ** k,):
        raise ValueError(f"need 2^{k} = {2 ** k} coalition values, got {v.shape}")
    size = np.array([bin(b).count("1") for b in range(2 ** k)])
    weight = np.array([math.factorial(s) * math.factorial(k - s - 1) / math.factorial(k) if s < k else 0.0
                       for s in size])
    phi = np.zeros(k)
    for j in range(k):
        without = np.array([b for b in range(2 ** k) if not b >> j & 1])
        phi[j] = float(np.sum(weight[without] * (v[without | (1 << j)] - v[without])))
    return phi


def rank(values: Sequence[float]) -> list[int]:
    """Passage positions from most to least valuable; ties keep retrieval order."""
    return [int(i) for i in np.argsort(-np.asarray(values, dtype=float), kind="stable")]


def deletion_aopc(order: Sequence[int], values: Sequence[float]) -> float:
    """Quality of a ranking on a game: mean drop v(all) - v(all without its top m), m = 1..k-1 (k = 1: 0)."""
    v = np.asarray(values, dtype=float)
    k = len(order)
    full = (1 << k) - 1
    drops, mask = [], full
    for j in order[:-1]:
        mask &= ~(1 << j)
        drops.append(v[full] - v[mask])
    return float(np.mean(drops)) if drops else 0.0


def recall_at(order: Sequence[int], gold: int | None, m: int) -> float:
    """1 when the gold passage is among the first m of ``order`` (None: not retrieved at all, 0)."""
    return float(gold is not None and gold in list(order)[:m])


# ----------------------------------------------------------------------------- lexical proxy and accuracy


def content_tokens(text: str) -> list[str]:
    """Lower-cased word tokens without stop words."""
    return [t for t in _WORD.findall(text.lower()) if t not in STOPWORDS]


def answer_overlap(answer: str, passages: Sequence[str]) -> float:
    """Share of the answer's distinct content tokens found in the kept passages (0 with none kept).

    A coverage game: its Shapley value splits each answer token equally among
    the passages that contain it.
    """
    want = set(content_tokens(answer))
    if not want or not passages:
        return 0.0
    have = set().union(*(content_tokens(p) for p in passages))
    return len(want & have) / len(want)


def overlap_table(answer: str, passages: Sequence[str]) -> np.ndarray:
    """``answer_overlap`` of every coalition (length 2^k, by bitmask)."""
    masks = coalitions(len(passages))
    return np.array([answer_overlap(answer, [p for p, keep in zip(passages, m) if keep]) for m in masks])


def token_f1(prediction: str, reference: str) -> float:
    """SQuAD-style token F1 over content tokens (multiset overlap)."""
    p, r = content_tokens(prediction), content_tokens(reference)
    if not p or not r:
        return float(p == r)
    common = sum(min(p.count(t), r.count(t)) for t in set(p) & set(r))
    if not common:
        return 0.0
    prec, rec = common / len(p), common / len(r)
    return 2 * prec * rec / (prec + rec)


def containment(prediction: str, reference: str) -> float:
    """Share of the prediction's distinct content tokens that the reference contains (1 for an empty answer: 0)."""
    p = set(content_tokens(prediction))
    return len(p & set(content_tokens(reference))) / len(p) if p else 0.0
