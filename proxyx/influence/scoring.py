"""Scores from gradient statistics: cosines of component sets and sketches, top-1 accuracy, greedy selection.

Arrays of one setting: ``dots`` [Q, K, C] inner products of query q with its
k-th candidate in component c; ``qn`` [Q, C] and ``cn`` [Q, K, C] squared
norms; ``truth`` [Q] the index of the query's source among its candidates
(always there: the benchmark puts it in last when BM25 misses it, as the
published code does). Ties go to the candidate BM25 ranked higher.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .sketch import fold


@dataclass(frozen=True)
class Stats:
    dots: np.ndarray
    qn: np.ndarray
    cn: np.ndarray
    qs: np.ndarray  # [Q, D] query sketches
    cs: np.ndarray  # [Q, K, D] candidate sketches
    truth: np.ndarray

    def subset(self, rows: np.ndarray) -> "Stats":
        return Stats(self.dots[rows], self.qn[rows], self.cn[rows], self.qs[rows], self.cs[rows], self.truth[rows])


def component_cosines(s: Stats, mask: np.ndarray) -> np.ndarray:
    """[Q, K] cosine of the gradients restricted to the components where ``mask`` is 1."""
    num = s.dots @ mask
    den = np.sqrt(np.maximum((s.qn @ mask)[:, None] * (s.cn @ mask), 1e-300))
    return num / den


def sketch_cosines(s: Stats, d: int) -> np.ndarray:
    """[Q, K] cosine of the CountSketches folded to ``d`` dimensions."""
    q = np.stack([fold(v, d) for v in s.qs])
    c = np.stack([[fold(v, d) for v in row] for row in s.cs])
    num = np.einsum("qd,qkd->qk", q, c)
    return num / np.maximum(np.linalg.norm(q, axis=1)[:, None] * np.linalg.norm(c, axis=2), 1e-300)


def ranks(scores: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """[Q] 0-based rank of the source among the candidates (ties go to the candidate BM25 ranked higher)."""
    rows = np.arange(len(truth))
    true = scores[rows, truth][:, None]
    before = np.arange(scores.shape[1])[None, :] < truth[:, None]
    return ((scores > true) | ((scores == true) & before)).sum(axis=1)


def top5_of_bm25(scores: np.ndarray, truth: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Scores and source index among BM25's top 5 with the source put in fifth when missing (the published protocol)."""
    cols = np.tile(np.arange(5), (len(truth), 1))
    cols[truth >= 5, 4] = truth[truth >= 5]
    return np.take_along_axis(scores, cols, axis=1), np.minimum(truth, 4)


def correct(scores: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """[Q] whether the top-scored candidate (the first on ties) is the source."""
    return (np.argmax(scores, axis=1) == truth) & (truth >= 0)


def _margin(scores: np.ndarray, truth: np.ndarray) -> float:
    ok = truth >= 0
    if not ok.any():
        return 0.0
    sc, t = scores[ok], truth[ok]
    true = sc[np.arange(len(t)), t]
    other = np.where(np.arange(sc.shape[1])[None, :] == t[:, None], -np.inf, sc).max(axis=1)
    return float(np.mean(true - other))


def greedy_select(dev: Stats, max_components: int) -> list[int]:
    """Forward selection of components on ``dev`` only: add the one that raises top-1 accuracy most.

    Ties on accuracy go to the larger mean margin (cosine of the source minus
    the best other candidate's), then to the lower index. Stops at
    ``max_components`` or when no addition raises (accuracy, margin).
    """
    n_comp = dev.dots.shape[2]
    chosen: list[int] = []
    best = (-1.0, -math.inf)
    while len(chosen) < max_components:
        top, top_c = best, None
        for c in range(n_comp):
            if c in chosen:
                continue
            mask = np.zeros(n_comp)
            mask[chosen + [c]] = 1.0
            cos = component_cosines(dev, mask)
            score = (float(correct(cos, dev.truth).mean()), _margin(cos, dev.truth))
            if score > top:
                top, top_c = score, c
        if top_c is None:
            break
        chosen.append(top_c)
        best = top
    return chosen


def wilson(k: int, n: int, z: float = 1.959964) -> tuple[float, float]:
    """Wilson score interval of a proportion k / n (95% by default)."""
    if n == 0:
        return 0.0, 1.0
    p = k / n
    den = 1 + z * z / n
    mid = (p + z * z / (2 * n)) / den
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / den
    return max(0.0, mid - half), min(1.0, mid + half)


def select_then_test(stats: Stats, dev: np.ndarray, test: np.ndarray, max_components: int
                     ) -> tuple[list[int], np.ndarray]:
    """Components chosen by ``greedy_select`` on the ``dev`` rows only, and [len(test)] whether each test query is right."""
    if set(dev.tolist()) & set(test.tolist()):
        raise ValueError("dev and test rows overlap; selection must not see the queries it is scored on")
    chosen = greedy_select(stats.subset(dev), max_components)
    mask = np.zeros(stats.dots.shape[2])
    mask[chosen] = 1.0
    t = stats.subset(test)
    return chosen, correct(component_cosines(t, mask), t.truth)
