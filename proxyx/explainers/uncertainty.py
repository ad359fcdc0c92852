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
  estimator's choice (``gamma``, ``lam``, ``beta``) is taken as given;
* a penalty (LIME's ridge, shrinking more the fewer the masks; a prior's
  pull towards the proxy's explanation) moves the fit away from the value
  it stands for, the large-sample fit; that move, estimated as the
  difference from the unpenalised fit on the same answers (``pull``), adds
  its square to the variance (for LIME's fixed ridge less the variance of
  that estimate; not for an estimator's pull, chosen on the same answers):
  the error is a root mean squared error (without it the prior's and LIME's
  90% intervals covered about 84%, ``scripts/se_coverage.py``).

What no sample can show: when the answers on the masks drawn at random show no
residual at all (they are exactly additive there, e.g. VADER's negation rule
firing only on coalitions not drawn; or no more masks than parameters) the
sandwich is 0 while the value may still be off, and no other estimate from
those answers sees more (a bootstrap over the blocks refits the same values).
Such a unit's error is *not estimable*: NaN here, null in the JSON
(``listed``), uncertain in the views; adaptive budgets go on to the next
round. Without it Kernel SHAP on VADER covered 72-82% (docs/results.md).

Few blocks behind a unit's error (at n = 25 on a review of 20-40 words; or
one mask of high leverage making most of it): the variance estimate is then
itself noisy, and ``value +- 1.645 se`` covered 79-82% at n = 25 with Gemma.
Every view and report draws that interval, so the error reported is widened
to make it Student's: the sandwich times ``t(df) / z`` (``widening``), with
Satterthwaite's degrees of freedom per unit (``degrees_of_freedom``: the
blocks the oracle's part effectively rests on; the proxy's part and the pull
counted as known). Many blocks alike: a factor near 1 (docs/results.md,
"Uncertainty per unit").
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
from scipy import stats

from .base import Attribution, Explainer, ValueFn, evaluate
from .masks import find_rows, kept_counts
from .linear import RANK_TOL, LinearSurrogate

#: the interval views draw: a unit whose 90% interval crosses zero is uncertain
LEVEL = 0.90
#: an error within this share of the answers' spread is rounding: the answers show no residual
UNSEEN = 1e-9


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

    members: np.ndarray  # (blocks, 2) the rows of each block, -1 padding a block of one row
    stratum: np.ndarray  # (blocks,) the stratum of each block
    fraction: np.ndarray  # (strata,) the share of the stratum's population drawn
    level: np.ndarray  # (blocks,) the stratum key before pooling (size level or pair of sizes)

    @property
    def rows(self) -> np.ndarray:
        """The rows drawn at random (in no block: a row of a level enumerated whole)."""
        return np.sort(self.members[self.members >= 0])


def design(paired: bool, masks: np.ndarray) -> Design:
    """The sampling design of ``masks`` as an explainer's samplers draw them, ``paired``: each mask with its
    complement (Kernel SHAP; module docstring)."""
    masks = np.asarray(masks, dtype=bool)
    m, n = masks.shape
    kept = kept_counts(masks)
    complete = np.bincount(kept, minlength=n + 1) == np.array([math.comb(n, k) for k in range(n + 1)], dtype=object)
    drawn = np.flatnonzero(~complete.astype(bool)[kept])
    partner = _partners(masks[drawn]) if paired else np.full(len(drawn), -1)
    lead = np.flatnonzero((partner < 0) | (partner > np.arange(len(drawn))))  # each block once, by its first row
    members = np.stack([drawn[lead], np.where(partner[lead] > lead, drawn[np.maximum(partner[lead], 0)], -1)], axis=1)
    size = kept[members[:, 0]]
    level = np.minimum(size, n - size) if paired else size
    groups, group, sizes = np.unique(level, return_inverse=True, return_counts=True)
    # strata of one block are pooled into one; a lone one into the largest stratum
    index = np.cumsum(sizes >= 2) - 1
    lone = sizes < 2
    if lone.any():
        largest = index[int(np.argmax(np.where(lone, -1, sizes)))]
        index[lone] = largest if lone.sum() == 1 and (~lone).any() else index.max() + 1
    stratum = index[group]
    population = np.bincount(index, weights=[_population(paired, n, int(g)) for g in groups])
    fraction = np.minimum(np.bincount(stratum, minlength=len(population)) / np.maximum(population, 1.0), 1.0)
    return Design(members=members, stratum=stratum, fraction=fraction, level=level)


def _partners(masks: np.ndarray) -> np.ndarray:
    """For each row, the row of its complement, or -1. The samplers add a mask and then its complement: when
    every row is so paired with the next, that is the answer without a search."""
    if len(masks) % 2 == 0 and np.array_equal(masks[0::2], ~masks[1::2]):
        return np.arange(len(masks)) ^ 1
    return find_rows(masks, ~masks)


def _population(paired: bool, n: int, key: int) -> float:
    """Blocks in the population of a stratum: masks of a level (LIME), pairs of sizes ``key``, ``n - key``."""
    count = math.comb(n, key)
    if paired and 2 * key == n:
        count //= 2
    return float(min(count, 1e300))


def covariance(d: Design, x: np.ndarray, y: np.ndarray, fraction: np.ndarray | None = None) -> np.ndarray:
    """Per unit, the design covariance of the sums over the masks of the per-row influences ``x`` and ``y``
    ``(m, units)``: within each stratum, ``(1 - f) k / (k - 1)`` times the blocks' centred cross products."""
    factor, cx = _centred_blocks(d, x, fraction)
    _, cy = _centred_blocks(d, y, fraction)
    return factor @ (cx * cy)


def _centred_blocks(d: Design, x: np.ndarray, fraction: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``(factor, centred)``: per block, its stratum's ``(1 - f) k / (k - 1)`` (0 for a stratum of one block or
    drawn whole), and the sum of ``x`` over its rows less its stratum's mean ``(blocks, units)``."""
    f = d.fraction if fraction is None else fraction
    k = np.bincount(d.stratum, minlength=len(f)).astype(float)
    factor = np.where((k >= 2) & (f < 1), (1 - f) * k / np.maximum(k - 1, 1), 0.0)
    one_hot = (d.stratum[:, None] == np.arange(len(f))[None, :]).astype(float)
    sums = x[d.members[:, 0]] + np.where(d.members[:, 1:] >= 0, x[np.maximum(d.members[:, 1], 0)], 0.0)
    means = one_hot.T @ sums / np.maximum(k, 1)[:, None]
    return factor[d.stratum], sums - means[d.stratum]


def degrees_of_freedom(d: Design, x: np.ndarray) -> np.ndarray:
    """Per unit, Satterthwaite's degrees of freedom of the variance ``covariance(d, x, x)``: the number of blocks
    it effectively rests on, ``(sum v)^2 / sum v^2`` over the blocks' terms ``v``; as many as the blocks when
    they weigh alike, near 1 when one block (a mask of high leverage) makes the variance. inf where it is 0."""
    factor, centred = _centred_blocks(d, x)
    v = factor[:, None] * centred**2
    total, squares = v.sum(axis=0), (v**2).sum(axis=0)
    return np.where(squares > 0, total**2 / np.where(squares > 0, squares, 1.0), np.inf)


def influence(fit: LinearSurrogate, y: np.ndarray, rows: np.ndarray, *, lam: float = 0.0,
              theta0: np.ndarray | None = None, left_out: bool = True,
              theta: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``(influence, inverse)``: each mask's effect on the fit's ``theta`` ``(m, units)``, non-zero on
    ``rows`` (drawn at random, with weight), and ``M^-1``. ``lam`` absolute, as ``LinearSurrogate.solve``.

    The residual of a row is its residual left out (with its complement: ``loo_residuals``), as in the
    jackknife: a fit with nearly as many parameters as masks passes close to every answer it was fitted
    on, and its residuals alone would claim a precision it does not have. ``left_out=False`` takes the
    residuals themselves (a fit of many masks per unit: the proxy's, where they hardly differ), of
    ``theta`` when it is given (the fit's solution, already at hand)."""
    shift = fit.alpha + lam
    eigval, eigvec = fit.spectrum
    zero = (shift <= 0) & (eigval <= RANK_TOL * max(float(eigval[-1]), 1e-300))
    inverse = (eigvec * np.where(zero, 0.0, 1.0 / np.where(zero, 1.0, eigval + shift))) @ eigvec.T
    out = np.zeros((len(fit.masks), fit.n_units))
    if len(rows):
        if left_out:
            prior = np.zeros((1, fit.n_units)) if theta0 is None else np.asarray(theta0, dtype=float)[None, :]
            scaled = np.nan_to_num(fit.loo_residuals(y, [lam], prior, rows)[0, 0])  # times sqrt(w)
        else:
            theta = fit.solve(y, lam, theta0) if theta is None else theta
            scaled = (fit.target(y)[rows] - fit.z[rows] @ theta) * np.sqrt(fit.weights[rows])
        out[rows] = (np.sqrt(fit.weights[rows]) * scaled)[:, None] * (fit.z[rows] @ inverse)
    return out, inverse


def pull(fit: LinearSurrogate, y: np.ndarray, *, lam: float = 0.0, theta0: np.ndarray | None = None) -> np.ndarray:
    """How far the fit's penalties (LIME's ridge, a prior's pull) move ``theta`` from the unpenalised fit on the
    same answers: ``theta - G+ (M theta - lam theta0)``; 0 where no penalty acts. Where ``G`` is singular
    (fewer masks than units, or about as many: LIME at n = 25 on a review of 25 words) the unpenalised fit is
    the minimum-norm one, the penalty's limit: what a prior puts in the directions the oracle's answers do not
    see counts whole, and so does the ridge's shrinkage in those they see (left out, LIME's intervals at
    n = 25 on a 25-unit review covered 75%, 81% with it; docs/results.md, "Small n")."""
    shift = fit.alpha + lam
    if shift <= 0:
        return np.zeros(fit.n_units)
    eigval, eigvec = fit.spectrum
    small = eigval <= RANK_TOL * max(float(eigval[-1]), 1e-300)
    theta = fit.solve(y, lam, theta0)
    rhs = fit.gram @ theta + shift * theta - (0.0 if theta0 is None else lam * theta0)
    return theta - (eigvec * np.where(small, 0.0, 1.0 / np.where(small, 1.0, eigval))) @ (eigvec.T @ rhs)


def plain_errors(explainer: Explainer, masks: np.ndarray, y: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """The standard error of each unit's value in ``explainer``'s own fit of ``y`` on ``masks``."""
    fit = explainer.closed_form(masks, weights)
    d = design(fit.paired, masks)
    y = np.asarray(y, dtype=float)
    rows, _ = influence(fit, y, _weighted(d, weights))
    return _root_mse(fit, d, y, rows)


def _root_mse(fit: LinearSurrogate, d: Design, y: np.ndarray, rows: np.ndarray, *, lam: float = 0.0,
              theta0: np.ndarray | None = None, extra=lambda x: 0.0, chosen: bool = False) -> np.ndarray:
    """The root of the variance of the fit (influence ``rows``; ``extra``: what more a part that depends on
    other masks adds) plus its squared pull. The square of the pull's estimate overstates it by the estimate's
    own variance, which is taken out (not below 0), unless the penalty was ``chosen`` on the same answers: an
    estimator takes the strongest pull its check cannot tell from the best, so the pull left is about as
    large as that noise, and taking the noise out would hide it. NaN where the fit's own part is 0 though
    masks were drawn at random: not estimable (module docstring)."""
    own = np.maximum(covariance(d, rows, rows), 0.0)
    bias = pull(fit, y, lam=lam, theta0=theta0)
    if bias.any() and not chosen:
        unpenalised, _ = influence(fit, y, _weighted(d, fit.weights), lam=-fit.alpha)
        gap = rows - unpenalised
        bias = np.sqrt(np.maximum(bias**2 - covariance(d, gap, gap) - extra(gap), 0.0))
    total = np.maximum(own + extra(rows), 0.0) + bias**2
    # Satterthwaite: only the oracle's own part is estimated from few blocks (the proxy's rests on many)
    share = np.divide(own, total, out=np.zeros_like(own), where=total > 0)
    df = np.divide(degrees_of_freedom(d, rows), share**2, out=np.full_like(own, np.inf), where=share > 0)
    errors = np.sqrt(total) * widening(df)
    unseen = (len(d.rows) > 0) & (np.sqrt(own + bias**2) <= UNSEEN * np.ptp(y))
    return np.where(unseen, np.nan, errors)


def listed(errors: np.ndarray | None) -> list[float | None] | None:
    """Standard errors for a report: None for a unit whose error is not estimable."""
    return None if errors is None else [None if math.isnan(e) else float(e) for e in errors]


def _weighted(d: Design, weights: np.ndarray) -> np.ndarray:
    """The rows drawn at random that carry weight."""
    rows = d.rows
    return rows[np.asarray(weights)[rows] > 0]


def explain_with_errors(explainer: Explainer, n_units: int, value_fn: ValueFn) -> Attribution:
    """``explainer.explain(n_units, value_fn)`` with the standard errors of its values."""
    masks = explainer.sample_masks(n_units)
    y = evaluate(value_fn, masks)
    return replace(explainer.fit(masks, y), standard_errors=plain_errors(explainer, masks, y, explainer.kernel(masks)))


def estimate_errors(answers, combination: Combination) -> np.ndarray:
    """The standard error of each unit's value in the estimate ``combination`` of ``answers``
    (``answers.Answers``)."""
    if combination.gamma == 0 and combination.lam == 0:  # the oracle alone
        return plain_errors(answers.explainer, answers.oracle_masks, answers.y_oracle, answers.oracle_weights)
    c = combination
    on_oracle, on_proxy = c.signal or (answers.proxy_on_oracle, answers.y_proxy)
    fit, proxy_fit = answers.oracle_fit(), answers.proxy_fit()
    lam = c.lam * fit.scale if c.lam else 0.0
    theta_p = proxy_fit.solve(on_proxy)  # the proxy's explanation's direction: prior_direction(phi_p)
    theta0 = c.beta * theta_p if lam and c.beta else None
    d_o, d_p = design(fit.paired, answers.oracle_masks), design(fit.paired, answers.proxy_masks)
    a, inverse = influence(fit, answers.y_oracle - c.gamma * on_oracle, _weighted(d_o, answers.oracle_weights), lam=lam,
                           theta0=theta0)
    b, _ = influence(proxy_fit, on_proxy, _weighted(d_p, answers.proxy_weights), left_out=False, theta=theta_p)
    b = c.gamma * b + (lam * c.beta) * (b @ inverse)  # through gamma phi_p and the prior's pull
    m = len(answers.oracle_masks)
    nested = m <= len(answers.proxy_masks) and np.array_equal(answers.proxy_masks[:m], answers.oracle_masks)
    where = np.arange(m) if nested else find_rows(answers.proxy_masks, answers.oracle_masks)
    b_o = np.where((where >= 0)[:, None], b[np.maximum(where, 0)], 0.0)  # the proxy's part on the oracle's masks
    shared = _shared(d_o, d_p)
    return _root_mse(fit, d_o, answers.y_oracle - c.gamma * on_oracle, a, lam=lam, theta0=theta0,
                     extra=lambda x: covariance(d_p, b, b) + 2 * covariance(d_o, x, b_o, shared), chosen=True)


def _shared(oracle: Design, proxy: Design) -> np.ndarray:
    """The finite-population correction of the covariance of the oracle's and the proxy's parts, per stratum
    of the oracle's design: ``1 - k/N`` with ``k`` the proxy's blocks (its masks include the oracle's)."""
    width = int(max(oracle.level.max(initial=0), proxy.level.max(initial=0))) + 1
    levels = np.zeros((len(oracle.fraction), width))
    levels[oracle.stratum, oracle.level] = 1.0  # the levels of each stratum
    more = levels @ np.bincount(proxy.level, minlength=width)
    have = np.bincount(oracle.stratum, minlength=len(oracle.fraction))
    return np.minimum(oracle.fraction * more / np.maximum(have, 1), 1.0)


def widening(df: np.ndarray, level: float = LEVEL) -> np.ndarray:
    """Student's quantile over the normal's, of a two-sided ``level`` interval with ``df`` degrees of freedom
    (at least 1; 1 where inf): the factor that makes ``value +- z se`` Student's interval."""
    df = np.maximum(np.asarray(df, dtype=float), 1.0)
    t = stats.t.ppf(0.5 + level / 2, np.where(np.isfinite(df), df, 1.0))
    return np.where(np.isfinite(df), t / stats.norm.ppf(0.5 + level / 2), 1.0)
