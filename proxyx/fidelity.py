"""How good an explanation is, always measured on the oracle.

Quality q(x) = AOPC of deletion: the mean over k = 1..K of
f(x) - f(x without its top-k units), f = the oracle's probability of its
predicted label, K = max(1, round(k_fraction * units)). ERASER's
comprehensiveness and sufficiency over the bins {1, 5, 10, 20, 50}% are
reported next to it.

Fidelity of a proxy explanation = q_proxy / q_oracle, the oracle explanation
using the same explainer, budget and masks. When q_oracle <= 0 (the oracle's
own explanation does not lower its probability when its top units are
deleted: there is nothing to be faithful to) the ratio is undefined: it is
reported as null and left out of mean fidelity, and the count of such
instances is reported. The screen's paired differences
d = q_proxy - tau * q_oracle are defined for every instance.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

import numpy as np
from scipy import stats

from .perturb import Segments

ERASER_BINS = (0.01, 0.05, 0.10, 0.20, 0.50)

#: texts -> the oracle's probability of the label being explained
ValueFn = Callable[[Sequence[str]], np.ndarray]


@dataclass(frozen=True)
class Quality:
    aopc: float
    comprehensiveness: float
    sufficiency: float
    k: int

    def to_dict(self) -> dict:
        return asdict(self)


def top_k(n_units: int, k_fraction: float) -> int:
    return max(1, min(n_units, round(k_fraction * n_units)))


def _bin_k(n_units: int, share: float) -> int:
    return max(1, min(n_units, math.ceil(share * n_units)))


def evaluation_texts(segments: Segments, values: np.ndarray, k_fraction: float) -> list[str]:
    """Every text ``quality`` asks the oracle about (to batch or estimate them)."""
    n = len(segments)
    order = np.argsort(-np.asarray(values, float), kind="stable")
    texts = [segments.full]
    for k in range(1, top_k(n, k_fraction) + 1):
        texts.append(segments.without_top(values, k))
    for share in ERASER_BINS:
        k = _bin_k(n, share)
        texts.append(segments.without_top(values, k))
        keep = np.zeros(n, dtype=bool)
        keep[order[:k]] = True
        texts.append(segments.render(keep))
    return texts


def quality(segments: Segments, values: np.ndarray, value_fn: ValueFn, *, k_fraction: float = 0.2) -> Quality:
    """AOPC, comprehensiveness and sufficiency of an attribution, on the oracle."""
    n = len(segments)
    K = top_k(n, k_fraction)
    texts = evaluation_texts(segments, values, k_fraction)
    f = dict(zip(texts, np.asarray(value_fn(texts), dtype=float)))
    full = f[segments.full]
    order = np.argsort(-np.asarray(values, float), kind="stable")
    aopc = float(np.mean([full - f[segments.without_top(values, k)] for k in range(1, K + 1)]))
    comp, suff = [], []
    for share in ERASER_BINS:
        k = _bin_k(n, share)
        comp.append(full - f[segments.without_top(values, k)])
        keep = np.zeros(n, dtype=bool)
        keep[order[:k]] = True
        suff.append(full - f[segments.render(keep)])
    return Quality(aopc=aopc, comprehensiveness=float(np.mean(comp)), sufficiency=float(np.mean(suff)), k=K)


def fidelity_ratio(q_proxy: float, q_oracle: float) -> float | None:
    """q_proxy / q_oracle, or None when q_oracle <= 0 (undefined; see module docstring)."""
    if q_oracle <= 1e-12:
        return None
    return float(q_proxy / q_oracle)


def _nan_to_none(x: float) -> float | None:
    return None if x is None or not np.isfinite(x) else float(x)


def agreement(a: np.ndarray, b: np.ndarray, *, k: int) -> dict:
    """Rank agreement of two attribution vectors over the same units.

    Spearman and Kendall tau (null when a vector is constant), Jaccard of
    the top-k units, and the share of units whose signs agree (zeros agree
    only with zeros).
    """
    a, b = np.asarray(a, float), np.asarray(b, float)
    k = max(1, min(k, len(a)))
    ta = set(np.argsort(-a, kind="stable")[:k].tolist())
    tb = set(np.argsort(-b, kind="stable")[:k].tolist())
    constant = len(a) < 2 or np.ptp(a) == 0 or np.ptp(b) == 0
    return {
        "spearman": None if constant else _nan_to_none(stats.spearmanr(a, b).statistic),
        "kendall": None if constant else _nan_to_none(stats.kendalltau(a, b).statistic),
        "topk_jaccard": len(ta & tb) / len(ta | tb),
        "sign_agreement": float(np.mean(np.sign(a) == np.sign(b))),
        "k": k,
    }
