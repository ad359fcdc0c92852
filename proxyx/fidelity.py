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

Deletion follows the attribution from its highest value down; units with
equal values (up to 1e-12 of the largest magnitude) are deleted in a seeded
random order, so a constant or all-zero attribution scores like a random
ranking, never like the text's own order.

Local fidelity (the published quality, as far as its text can be read:
q = E_{z~D(x)} L(f(z), g(z)); the exact loss is not public) is the
kernel-weighted R^2 of the explanation's surrogate g(z) = base + z @ values
against the oracle's answers f(z) on held-out masks z drawn like the fitting
masks (``heldout_masks``), weighted by the explainer's kernel. lime reports
the same R^2 on its own training neighbourhood as ``score``; here it is on
fresh masks and on the oracle, whoever fitted the explanation.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

import numpy as np
from scipy import stats

from .explainers import make_explainer
from .perturb import Segments

ERASER_BINS = (0.01, 0.05, 0.10, 0.20, 0.50)
#: mixed with the fitting seed to draw held-out masks
HELDOUT_TAG = 0x6F1D

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


def deletion_order(values: np.ndarray, seed: int = 0) -> np.ndarray:
    """Unit indices from the highest attribution down; ties in a random order seeded by ``seed``."""
    values = np.asarray(values, dtype=float)
    scale = float(np.max(np.abs(values))) if values.size else 0.0
    key = np.round(values / scale, 12) if scale > 0 else np.zeros_like(values)
    tiebreak = np.random.default_rng(seed).permutation(len(values))
    return np.lexsort((tiebreak, -key))


def _without(n: int, order: np.ndarray, k: int) -> np.ndarray:
    keep = np.ones(n, dtype=bool)
    keep[order[:k]] = False
    return keep


def _only(n: int, order: np.ndarray, k: int) -> np.ndarray:
    return ~_without(n, order, k)


def evaluation_masks(values: np.ndarray, k_fraction: float, *, seed: int = 0) -> np.ndarray:
    """Every mask ``mask_quality`` asks about (to batch or estimate them), the full input first."""
    n = len(values)
    order = deletion_order(values, seed)
    masks = [np.ones(n, dtype=bool)]
    masks += [_without(n, order, k) for k in range(1, top_k(n, k_fraction) + 1)]
    for share in ERASER_BINS:
        k = _bin_k(n, share)
        masks += [_without(n, order, k), _only(n, order, k)]
    return np.array(masks, dtype=bool)


def mask_quality(values: np.ndarray, value_of_masks: Callable[[np.ndarray], np.ndarray], *,
                 k_fraction: float = 0.2, seed: int = 0) -> Quality:
    """AOPC, comprehensiveness and sufficiency of an attribution over ``len(values)`` units.

    ``value_of_masks``: boolean masks (m, units) -> the oracle's value of each
    (a classifier's probability, a generated answer's log-probability...).
    """
    n = len(values)
    K = top_k(n, k_fraction)
    masks = evaluation_masks(values, k_fraction, seed=seed)
    f = np.asarray(value_of_masks(masks), dtype=float)
    full, rest = f[0], f[1:]
    aopc = float(np.mean(full - rest[:K]))
    bins = rest[K:].reshape(len(ERASER_BINS), 2)
    return Quality(aopc=aopc, comprehensiveness=float(np.mean(full - bins[:, 0])),
                   sufficiency=float(np.mean(full - bins[:, 1])), k=K)


def evaluation_texts(segments: Segments, values: np.ndarray, k_fraction: float, *, seed: int = 0) -> list[str]:
    """Every text ``quality`` asks the oracle about, the full text first."""
    return segments.render_many(evaluation_masks(values, k_fraction, seed=seed))


def quality(segments: Segments, values: np.ndarray, value_fn: ValueFn, *, k_fraction: float = 0.2,
            seed: int = 0) -> Quality:
    """AOPC, comprehensiveness and sufficiency of an attribution, on the oracle (ties broken by ``seed``)."""
    return mask_quality(values, lambda masks: value_fn(segments.render_many(masks)), k_fraction=k_fraction, seed=seed)


def heldout_masks(method: str, n_units: int, *, samples: int, seed: int) -> np.ndarray:
    """Masks drawn like an explanation's fitting masks (same method and budget), from another seed.

    The seed is derived from ``seed`` (the fitting seed), so held-out masks are
    reproducible and a cache serves them again. When every coalition fits in
    the budget they are all of them (the whole neighbourhood, as the fit saw it).
    """
    heldout_seed = int(np.random.SeedSequence([int(seed), HELDOUT_TAG]).generate_state(1)[0])
    return make_explainer(method, samples=samples, seed=heldout_seed).sample_masks(n_units)


def local_fidelity(attribution, masks: np.ndarray, y_oracle: np.ndarray, weights: np.ndarray) -> float | None:
    """Kernel-weighted R^2 of ``attribution.predict(masks)`` against the oracle's answers ``y_oracle``.

    1 is a perfect local surrogate, 0 no better than the weighted mean, and
    it can be negative. None when the oracle's answers are constant on these
    masks (weighted variance below 1e-12) or every weight is zero.
    """
    y = np.asarray(y_oracle, dtype=float)
    w = np.asarray(weights, dtype=float)
    masks = np.asarray(masks)
    if y.shape != (len(masks),) or w.shape != (len(masks),):
        raise ValueError(f"{len(masks)} masks need as many answers and weights, got {y.shape} and {w.shape}")
    if np.any(w < 0) or not np.all(np.isfinite(w)):
        raise ValueError("weights must be finite and non-negative")
    total = w.sum()
    if total <= 0:
        return None
    mean = w @ y / total
    spread = w @ (y - mean) ** 2
    if spread <= 1e-12 * total:
        return None
    return float(1.0 - w @ (y - attribution.predict(masks)) ** 2 / spread)


def fidelity_ratio(q_proxy: float, q_oracle: float) -> float | None:
    """q_proxy / q_oracle, or None when q_oracle <= 0 (undefined; see module docstring)."""
    if q_oracle <= 1e-12:
        return None
    return float(q_proxy / q_oracle)


def _nan_to_none(x: float) -> float | None:
    return None if x is None or not np.isfinite(x) else float(x)


def agreement(a: np.ndarray, b: np.ndarray, *, k: int, seed: int = 0) -> dict:
    """Rank agreement of two attribution vectors over the same units.

    Spearman and Kendall tau (null when a vector is constant), Jaccard of
    the top-k units (ties broken as in deletion, by ``seed``), and the share
    of units whose signs agree (zeros agree only with zeros).
    """
    a, b = np.asarray(a, float), np.asarray(b, float)
    k = max(1, min(k, len(a)))
    ta = set(deletion_order(a, seed)[:k].tolist())
    tb = set(deletion_order(b, seed)[:k].tolist())
    constant = len(a) < 2 or np.ptp(a) == 0 or np.ptp(b) == 0
    return {
        "spearman": None if constant else _nan_to_none(stats.spearmanr(a, b).statistic),
        "kendall": None if constant else _nan_to_none(stats.kendalltau(a, b).statistic),
        "topk_jaccard": len(ta & tb) / len(ta | tb),
        "sign_agreement": float(np.mean(np.sign(a) == np.sign(b))),
        "k": k,
    }
