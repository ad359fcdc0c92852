"""A standard error per unit: how much an attribution would move with other random masks.

Every explanation here is a weighted least-squares fit (``linear.py``), and
the estimators combine such fits of the oracle's and the proxy's answers.
The only randomness is which masks were drawn, so the standard error is the
fit's sandwich (linearisation) variance under the sampling design, the
closed form of a bootstrap over masks and cheaper than one refit:

* the influence of a mask on ``theta`` is ``M^-1 w z e`` (``M`` the fit's
  penalised Gram matrix, a pseudo-inverse for Kernel SHAP, ``z`` its centred
  design row, ``e`` its residual); the variance is that of a sum of
  influences over the masks drawn;
* a mask drawn with its complement (Kernel SHAP's paired sampling) is one
  draw, a *block*; blocks are drawn within *strata*, the size level (LIME)
  or the pair of sizes ``s``, ``n - s`` (Kernel SHAP): the kernel spreads
  each level's mass over its masks, so the level totals are fixed by design;
  strata with one block only are pooled into one;
* rows of a level that was enumerated whole (the full and the empty text,
  Kernel SHAP's smallest levels) are fixed: they add no variance, nor does
  any level in proportion to the share of it drawn (the finite-population
  correction ``1 - k/N``);
* an estimator's value is ``gamma phi_p`` plus a fit of ``y_o - gamma p``
  pulled towards ``beta phi_p`` (``heldout.py``): the oracle's masks carry
  the influence of that fit, the proxy's masks that of ``phi_p`` through
  ``gamma I + lam beta M^-1``; the oracle's masks are among the proxy's, so
  the two parts' covariance is counted on the masks they share. The
  estimator's choice (``gamma``, ``lam``, ``beta``) is taken as given.

The interval of a unit is ``value +- t * se``, ``t`` Student's quantile with
the design's degrees of freedom (blocks minus strata).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from functools import lru_cache

import numpy as np
from scipy import stats

from .base import Attribution, Explainer, ValueFn, evaluate, find_rows, kept_counts
from .linear import RANK_TOL, LinearSurrogate

#: the interval views draw: a unit whose 90% interval crosses zero is uncertain
LEVEL = 0.90


@dataclass(frozen=True)
class Combination:
    """The estimator's candidate as chosen: ``gamma phi_s + fit(y_o - gamma s)`` pulled with strength ``lam``
    (relative to the mean eigenvalue) towards ``beta phi_s``; ``s`` the proxy's answers unless ``signal``
    gives them (on the oracle's masks, on the proxy's: a calibrated proxy)."""

    gamma: float = 0.0
    lam: float = 0.0
    beta: float = 0.0
    signal: tuple[np.ndarray, np.ndarray] | None = None


@dataclass(frozen=True)
class Design:
    """How a set of masks was drawn: blocks (a mask, or a mask and its complement) within strata."""

    block: np.ndarray  # (m,) the block of each row, -1 for a fixed row (its level enumerated whole)
    stratum: np.ndarray  # (blocks,) the stratum of each block
    fraction: np.ndarray  # (strata,) the share of the stratum's population drawn
    level: np.ndarray  # (blocks,) the stratum key before pooling (size level or pair of sizes)

    @property
    def df(self) -> int:
        """Degrees of freedom of the variance: blocks minus strata."""
        return max(len(self.stratum) - len(self.fraction), 1)


def design(method: str, masks: np.ndarray) -> Design:
    """The sampling design of ``masks`` as ``method``'s samplers draw them (module docstring)."""
    masks = np.asarray(masks, dtype=bool)
    m, n = masks.shape
    kept = kept_counts(masks)
    counts = np.bincount(kept, minlength=n + 1)
    fixed = np.array([counts[k] == math.comb(n, k) for k in range(n + 1)])[kept]
    lead = np.arange(m)
    if method == "kernel_shap":  # a mask and its complement are one block, led by the first of them
        partner = find_rows(masks, ~masks)
        lead = np.where((partner >= 0) & (partner < lead), partner, lead)
    leads = np.unique(lead[~fixed])
    block = np.full(m, -1)
    block[~fixed] = np.searchsorted(leads, lead[~fixed])
    size = kept[leads]
    key = np.minimum(size, n - size) if method == "kernel_shap" else size
    population = {int(k): _population(method, n, int(k)) for k in np.unique(key)}
    groups, sizes = np.unique(key, return_counts=True)
    pooled = groups[sizes < 2]  # strata of one block: pooled into one (into the largest if alone)
    target = {int(g): i for i, g in enumerate(groups[sizes >= 2])}
    if len(pooled):
        alone = len(pooled) == 1 and len(target)
        pool = max(target, key=lambda g: sizes[groups == g][0]) if alone else None
        index = target[pool] if alone else len(target)
        target.update({int(g): index for g in pooled})
    stratum = np.array([target[int(k)] for k in key], dtype=np.intp)
    n_strata = int(stratum.max()) + 1 if len(stratum) else 0
    drawn = np.bincount(stratum, minlength=n_strata).astype(float)
    total = np.zeros(n_strata)
    for g, i in target.items():
        total[i] += population[g]
    fraction = np.minimum(drawn / np.maximum(total, 1.0), 1.0)
    return Design(block=block, stratum=stratum, fraction=fraction, level=key)


def _population(method: str, n: int, key: int) -> float:
    """Blocks in the population of a stratum: masks of a level (LIME), pairs of sizes ``key``, ``n - key``."""
    count = math.comb(n, key)
    if method == "kernel_shap" and 2 * key == n:
        count //= 2
    return float(min(count, 1e300))


def covariance(d: Design, x: np.ndarray, y: np.ndarray, fraction: np.ndarray | None = None) -> np.ndarray:
    """Per unit, the design covariance of the sums over the masks of the per-row influences ``x`` and ``y``
    ``(m, units)``: within each stratum, ``(1 - f) k / (k - 1)`` times the blocks' centred cross products."""
    f = d.fraction if fraction is None else fraction
    use = d.block >= 0
    bx, by = (np.zeros((len(d.stratum), x.shape[1])) for _ in range(2))
    np.add.at(bx, d.block[use], x[use])
    np.add.at(by, d.block[use], y[use])
    out = np.zeros(x.shape[1])
    for h in range(len(f)):
        rows = d.stratum == h
        k = int(rows.sum())
        if k < 2 or f[h] >= 1:
            continue
        cx, cy = bx[rows] - bx[rows].mean(axis=0), by[rows] - by[rows].mean(axis=0)
        out += (1 - f[h]) * k / (k - 1) * (cx * cy).sum(axis=0)
    return out


def influence(fit: LinearSurrogate, y: np.ndarray, rows: np.ndarray, *, lam: float = 0.0,
              theta0: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``(influence, inverse)``: each mask's effect on the fit's ``theta`` ``(m, units)``, non-zero on
    ``rows`` (drawn at random, with weight), and ``M^-1``. ``lam`` absolute, as ``LinearSurrogate.solve``.

    The residual of a row is its residual left out (with its complement: ``loo_residuals``), as in the
    jackknife: a fit with nearly as many parameters as masks passes close to every answer it was fitted
    on, and its residuals alone would claim a precision it does not have."""
    shift = fit.alpha + lam
    gram = fit.gram + shift * np.eye(fit.n_units)
    inverse = np.linalg.inv(gram) if shift > 0 else np.linalg.pinv(gram, rtol=RANK_TOL, hermitian=True)
    out = np.zeros((len(fit.masks), fit.n_units))
    if len(rows):
        prior = np.zeros((1, fit.n_units)) if theta0 is None else np.asarray(theta0, dtype=float)[None, :]
        left_out = np.nan_to_num(fit.loo_residuals(y, [lam], prior, rows)[0, 0])  # times sqrt(w)
        out[rows] = (np.sqrt(fit.weights[rows]) * left_out)[:, None] * (fit.z[rows] @ inverse)
    return out, inverse


def plain_errors(method: str, masks: np.ndarray, y: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """The standard error of each unit's value in ``method``'s own fit of ``y`` on ``masks``."""
    fit, d = LinearSurrogate(method, masks, weights), design(method, masks)
    rows, _ = influence(fit, np.asarray(y, dtype=float), _drawn(d, weights))
    return np.sqrt(np.maximum(covariance(d, rows, rows), 0.0))


def _drawn(d: Design, weights: np.ndarray) -> np.ndarray:
    """The rows drawn at random that carry weight."""
    return np.flatnonzero((d.block >= 0) & (np.asarray(weights) > 0))


def explain_with_errors(explainer: Explainer, n_units: int, value_fn: ValueFn) -> Attribution:
    """``explainer.explain(n_units, value_fn)`` with the standard errors of its values."""
    masks = explainer.sample_masks(n_units)
    y = evaluate(value_fn, masks)
    return replace(explainer.fit(masks, y), standard_errors=plain_errors(explainer.method, masks, y,
                                                                          explainer.kernel(masks)))


def estimate_errors(answers, combination: Combination) -> np.ndarray:
    """The standard error of each unit's value in the estimate ``combination`` of ``answers``
    (``answers.Answers``)."""
    if combination.gamma == 0 and (combination.lam == 0 or combination.beta == 0):  # the oracle alone
        return plain_errors(answers.method, answers.oracle_masks, answers.y_oracle, answers.oracle_weights)
    c = combination
    on_oracle, on_proxy = c.signal or (answers.proxy_on_oracle, answers.y_proxy)
    fit, proxy_fit = answers.oracle_fit(), LinearSurrogate(answers.method, answers.proxy_masks, answers.proxy_weights)
    lam = c.lam * fit.scale if c.lam else 0.0
    phi_p, _ = proxy_fit.fit(on_proxy)
    theta0 = c.beta * fit.prior_direction(phi_p) if lam and c.beta else None
    d_o, d_p = design(answers.method, answers.oracle_masks), design(answers.method, answers.proxy_masks)
    a, inverse = influence(fit, answers.y_oracle - c.gamma * on_oracle, _drawn(d_o, answers.oracle_weights), lam=lam,
                           theta0=theta0)
    b, _ = influence(proxy_fit, on_proxy, _drawn(d_p, answers.proxy_weights))
    b = c.gamma * b + (lam * c.beta) * (b @ inverse)  # through gamma phi_p and the prior's pull
    where = find_rows(answers.proxy_masks, answers.oracle_masks)
    b_o = np.where((where >= 0)[:, None], b[np.maximum(where, 0)], 0.0)  # the proxy's part on the oracle's masks
    variance = covariance(d_o, a, a) + covariance(d_p, b, b) + 2 * covariance(d_o, a, b_o, _shared(d_o, d_p))
    return np.sqrt(np.maximum(variance, 0.0))


def _shared(oracle: Design, proxy: Design) -> np.ndarray:
    """The finite-population correction of the covariance of the oracle's and the proxy's parts, per stratum
    of the oracle's design: ``1 - k/N`` with ``k`` the proxy's blocks (its masks include the oracle's)."""
    drawn = dict(zip(*np.unique(proxy.level, return_counts=True)))
    out = oracle.fraction.copy()
    for h in range(len(out)):
        keys = np.unique(oracle.level[oracle.stratum == h])
        have = sum(int(np.sum(oracle.level[oracle.stratum == h] == k)) for k in keys)
        more = sum(drawn.get(k, 0) for k in keys)
        out[h] = min(out[h] * more / max(have, 1), 1.0)
    return out


def quantile(df: int, level: float = LEVEL) -> float:
    """Student's t quantile of a two-sided ``level`` interval with ``df`` degrees of freedom."""
    return _t(int(df), float(level))


@lru_cache(maxsize=512)
def _t(df: int, level: float) -> float:
    return float(stats.t.ppf(0.5 + level / 2, max(df, 1)))
