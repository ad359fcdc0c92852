"""The check every proxy-informed estimator makes on the oracle's own held-out answers (``estimators.py``).

Every estimator chooses among candidates of one family,

    phi = gamma phi_p + argmin_phi' |y_o - gamma p - g_phi'|^2_w + lam |theta' - beta theta_p|^2

(``p`` the proxy's answers on the oracle's masks or a calibration of them, ``phi_p`` their
explanation at budget N, ``theta`` what the penalty sees, ``linear.py``); ``gamma = lam = 0`` is the
oracle alone at n. A candidate is scored by how far its explanation's surrogate ``base + x.phi`` misses
the oracle's answer on each mask left out, squared and kernel-weighted: the method's own loss, whose
expectation over the masks is the explanation's distance from the one every coalition would give
(Kernel SHAP: the Shapley values) plus a constant. Everything a candidate takes from the oracle's
answers is fitted without the masks it is scored on: the fit (exact leave-one-out, ``linear.py``),
gamma, beta's slope and the calibration. Only masks of levels drawn at random are left out (an
enumerated level is a fixed part of the design, and leaving part of it out would make the fit look far
worse than it is), and a mask drawn with its complement (Kernel SHAP) is left out with it: paired
sampling cancels much of the fit's variance, which leaving one mask out at a time would ignore. A mask,
or a mask and its complement, is a *block*.

The choice: the candidate with the least loss, then the strongest prior (largest ``lam``) not worse
than it beyond noise. The guard: the choice is kept only if it beats the oracle alone by more than its
noise, the mean of the per-block loss differences more than ``t`` of their standard errors, ``t``
Student's quantile at the normal's ``GUARD`` (one standard error for many blocks, more for few); and
since the choice was made on the same losses, it is judged by the choice made without each block,
scored on that block. Otherwise, and when fewer than ``MIN_BLOCKS`` blocks can be left out or the oracle
alone cannot be scored, the oracle alone.
"""

from __future__ import annotations

from functools import cached_property, lru_cache

import numpy as np
from scipy import stats

from .linear import LinearSurrogate
from .masks import find_rows

#: the estimate must beat the oracle alone by this many (normal-equivalent) standard errors of the loss difference
GUARD = 1.0
#: fewer blocks left out than this: no check is possible, and every estimator is the oracle alone
MIN_BLOCKS = 5
#: above this mean leverage of a block in the unpenalised fit, leaving it out changes that fit too much to stand
#: for it: no unpenalised candidate but the oracle alone (see ``choose``)
STABLE_LEVERAGE = 0.5


class HeldOut:
    """The blocks of the oracle's masks that can be left out (``rows``: indices into its masks), and the
    fits each candidate needs without each block."""

    def __init__(self, fit: LinearSurrogate, rows: np.ndarray) -> None:
        self.fit = fit
        self.rows = np.asarray(rows, dtype=np.intp)
        h = len(self.rows)
        masks = fit.masks[self.rows]
        partner = find_rows(masks, ~masks) if fit.paired and h else np.full(h, -1)
        lead = np.flatnonzero((partner < 0) | (partner > np.arange(h)))  # each block once, by its first row
        #: the row positions (into ``rows``) of each block; a single row is padded with -1
        self.members = np.stack([lead, np.where(partner[lead] > lead, partner[lead], -1)], axis=1)
        self.block = np.empty(h, dtype=np.intp)  # the block of each row
        for k in range(2):
            valid = self.members[:, k] >= 0
            self.block[self.members[valid, k]] = np.flatnonzero(valid)

    @property
    def n_blocks(self) -> int:
        return len(self.members)

    @cached_property
    def hat(self) -> np.ndarray:
        """The unpenalised fit's hat matrix, the left-out rows by the fitted rows (``LinearSurrogate.hat``)."""
        return self.fit.hat(self.rows)

    @property
    def stable(self) -> bool:
        """Whether the unpenalised fit without a block stands for the fit on all masks: the mean share of a
        block the fit takes from the block itself (its leverage) is at most ``STABLE_LEVERAGE``."""
        own = self.hat[np.arange(len(self.rows)), np.searchsorted(self.fit.rows, self.rows)]
        return float(self.block_sums(own).mean()) <= STABLE_LEVERAGE

    @property
    def can_check(self) -> bool:
        """Whether enough blocks can be left out for the check (``MIN_BLOCKS``)."""
        return self.n_blocks >= MIN_BLOCKS

    def per_row(self, per_block: np.ndarray) -> np.ndarray:
        """A value per block (last axis) as a value per left-out row."""
        return per_block[..., self.block]

    def block_sums(self, per_row: np.ndarray) -> np.ndarray:
        """Per-row values (last axis) summed over each block."""
        out = per_row[..., self.members[:, 0]]
        pair = self.members[:, 1] >= 0
        out[..., pair] += per_row[..., self.members[pair, 1]]
        return out

    def lines(self, y: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(slope, intercept)`` of the weighted least-squares line of ``y`` on ``x`` over the fitted masks
        (entry 0) and without each block (entries 1..B); slope 0 where ``x`` is constant."""
        w = np.zeros(len(self.fit.masks))
        w[self.fit.rows] = self.fit.weights[self.fit.rows]
        terms = np.stack([w, w * x, w * y, w * x * x, w * x * y, w * y * y])  # the sums a line needs
        valid = self.members >= 0
        out = terms[:, self.rows[np.where(valid, self.members, 0)]] * valid  # (6, B, 2): each block's share
        total, sx, sy, sxx, sxy, syy = terms.sum(axis=1)[:, None] - np.concatenate(
            [np.zeros((6, 1)), out.sum(axis=2)], axis=1)
        mean_x, mean_y = sx / total, sy / total
        var, cov, var_y = sxx - sx * mean_x, sxy - sx * mean_y, syy - sy * mean_y
        flat = (var <= 1e-12 * np.maximum(sxx, 1e-300)) | (var <= 1e-24 * np.abs(var_y))
        slope = np.where(flat, 0.0, cov / np.where(flat, 1.0, var))
        return slope, mean_y - slope * mean_x

    def residual_slopes(self, y: np.ndarray, x: np.ndarray, u_y: np.ndarray, u_x: np.ndarray) -> np.ndarray:
        """The weighted slope of the unpenalised fit's residuals of ``y`` on those of ``x`` (the control
        variate's ``beta``), on all fitted rows (entry 0) and refitted without each block (entries 1..B),
        ``u_y`` and ``u_x`` being the blocks' residuals left out (``loo_residuals``, no penalty).

        Without block ``S`` the scaled residuals are ``e + H[:, S] u_S`` (``H`` the hat matrix,
        ``LinearSurrogate.hat``), so their inner products over the other rows need only ``S``'s rows of
        ``H``, ``H e`` and ``H^2``.
        """
        fit = self.fit
        e_y, e_x = fit.scaled_residuals(y), fit.scaled_residuals(x)
        valid = self.members >= 0
        at = np.where(valid, self.members, 0)  # (B, 2) positions in rows
        where = np.searchsorted(fit.rows, self.rows)[at]  # (B, 2) positions among the fitted rows
        hat = self.hat[at] * valid[..., None]  # (B, 2, m)
        h_ss = np.take_along_axis(hat, np.repeat(where[:, None, :], 2, axis=1), axis=2) * valid[:, None, :]
        h2_ss = np.einsum("bkm,blm->bkl", hat, hat)
        spread = h2_ss - h_ss @ h_ss

        def parts(e, u):
            e_s, u_s = e[where] * valid, u[at] * valid
            return e, e_s, u_s, np.einsum("bkm,m->bk", hat, e) - np.einsum("bkl,bl->bk", h_ss, e_s)

        def inner(a, b):
            (ea, ea_s, ua, va), (eb, eb_s, ub, vb) = a, b
            without = ea @ eb - (ea_s * eb_s).sum(1) + (ub * va).sum(1) + (ua * vb).sum(1)
            return np.concatenate([[ea @ eb], without + np.einsum("bk,bkl,bl->b", ua, spread, ub)])

        py, px = parts(e_y, u_y), parts(e_x, u_x)
        var_x, cov, var_y = inner(px, px), inner(py, px), inner(py, py)
        energy = float(np.sum((fit.root_w * x[fit.rows]) ** 2))  # residuals this small are round-off
        flat = (var_x <= 1e-20 * energy) | (var_x <= 1e-24 * np.maximum(var_y, 1e-300)) | (var_x <= 1e-300)
        return np.where(flat, 0.0, cov / np.where(flat, 1.0, var_x))


def choose(held: HeldOut, u_o: np.ndarray, u_p: np.ndarray, u_d: np.ndarray, miss_p: np.ndarray,
           gammas: np.ndarray, betas: np.ndarray, guard: float = GUARD) -> tuple[int, int, int]:
    """The candidate ``(gamma, lam, beta)`` (indices) with the least loss left out, or ``(0, 0, 0)``, the
    oracle alone, unless it is better by more than its noise (module docstring).

    Per left-out row: ``u_o``, ``u_p`` (``(lams, rows)``) the fit's residuals left out on the oracle's and
    the proxy's answers, ``u_d`` those of the prior's pull alone (answers 0, ``theta0 = theta_p``), and
    ``miss_p`` the proxy's explanation's own miss, all times ``sqrt(w)``; the candidate's residual is
    ``u_o - gamma (u_p - miss_p) + beta u_d``. ``gammas`` ``(G, blocks)`` and ``betas`` ``(G, B, blocks)``
    are fitted without each block; ``gammas[0]`` must be 0 and ``lams[0]`` 0; ``held.can_check``.

    The best candidate is picked on the same losses it is judged on, so it is judged by the choice made
    without each block, scored on that block (the selection's own loss left out). Where the unpenalised
    fit passes through every answer (Kernel SHAP with fewer masks than units), leaving masks out tells how
    a fit predicts directions it has not seen, but not what shrinking it does to those it has: there a
    penalty pulling to zero (a ridge, ``unaided``) is not a candidate, and the chosen candidate must beat
    it too, at its own strength. And where a block takes on average more than half of the unpenalised fit
    to itself (``stable``), the fits without a block are near-singular and their residuals share one
    dominant direction: any ``gamma`` cancels it on most blocks whether or not it helps the fit on all
    masks, so unpenalised candidates other than the oracle alone are not candidates there.
    """
    gam = held.per_row(gammas)[:, None, None, :]
    bet = held.per_row(betas)[:, None, :, :]
    residual = u_o[None, :, None, :] - gam * (u_p - miss_p)[None, :, None, :] + bet * u_d[None, :, None, :]
    losses = held.block_sums(residual * residual)  # (G, L, B, blocks)
    unaided = held.block_sums(u_o * u_o)  # (L, blocks); lam = 0: the oracle alone
    if not (np.isfinite(losses).all() and np.isfinite(unaided).all()):  # a row no fit can score: no check
        return 0, 0, 0
    allowed = np.ones(losses.shape[:3], dtype=bool)
    if len(gammas) > 1:
        allowed[1:, 0] = held.stable  # an unpenalised proxy candidate needs a stable check
    aided = held.fit.interpolates  # then a penalty pulling to zero cannot be checked: the proxy must beat it
    if aided:  # the unaided penalty itself is no candidate
        allowed &= ~((gammas == 0).all(axis=1)[:, None, None] & (betas == 0).all(axis=2)[:, None, :]
                     & (np.arange(len(u_o)) > 0)[None, :, None])
    picks = _select(losses, allowed, guard)
    blocks = np.arange(held.n_blocks)
    honest = losses[picks[1:, 0], picks[1:, 1], picks[1:, 2], blocks]
    kept = _better(unaided[0], honest, guard) and (not aided or _better(unaided[picks[1:, 1], blocks], honest, guard))
    return tuple(int(i) for i in picks[0]) if kept else (0, 0, 0)


def _select(losses: np.ndarray, allowed: np.ndarray, guard: float) -> np.ndarray:
    """The ``allowed`` candidate with the least loss, then the strongest prior (largest lam, same gamma and
    beta) not worse than it beyond noise: on all blocks (row 0) and without each block (rows 1..blocks),
    as ``(gamma, lam, beta)`` indices."""
    shape, n = losses.shape[:3], losses.shape[-1]
    flat = losses.reshape(-1, n)
    totals = flat.sum(axis=1)
    without = np.column_stack([totals, totals[:, None] - flat])  # (candidates, 1 + blocks)
    best = np.argmin(np.where(allowed.reshape(-1, 1), without, np.inf), axis=0)
    g, t, b = np.unravel_index(best, shape)
    strongest = t.copy()
    lams = np.arange(shape[1])[:, None]
    for c in np.unique(best):  # few distinct choices: the leave-one-block-out sums from the totals
        gc, tc, bc = np.unravel_index(c, shape)
        rows = np.flatnonzero(best == c)
        diff = losses[gc, :, bc, :] - losses[gc, tc, bc, :]  # (lams, blocks): worse when positive
        out = np.where(rows > 0, diff[:, np.maximum(rows - 1, 0)], 0.0)  # the block each row leaves out
        count = np.where(rows > 0, n - 1, n)
        mean = (diff.sum(axis=1)[:, None] - out) / count
        var = np.maximum((diff * diff).sum(axis=1)[:, None] - out * out - count * mean * mean, 0.0) / (count - 1)
        worse = mean > _quantile(guard, count - 1) * np.sqrt(var / count)
        ok = ~worse & allowed[gc, :, bc][:, None] & (lams >= tc)
        strongest[rows] = shape[1] - 1 - np.argmax(ok[::-1], axis=0)
    return np.stack([g, strongest, b], axis=1)


def _better(worse: np.ndarray, better: np.ndarray, guard: float) -> bool:
    """Whether per-block losses ``better`` beat ``worse`` by more than the noise of their difference."""
    diff = worse - better
    if not diff.any():
        return False
    return diff.mean() > _quantile(guard, len(diff) - 1) * diff.std(ddof=1) / np.sqrt(len(diff))


def _quantile(guard: float, df) -> np.ndarray:
    """Student's t quantile with ``df`` degrees of freedom at the standard normal's ``guard``."""
    df = np.asarray(df)
    return np.vectorize(_t_quantile, otypes=[float])(guard, df) if df.ndim else _t_quantile(guard, int(df))


@lru_cache(maxsize=256)
def _t_quantile(guard: float, df: int) -> float:
    return float(stats.t.ppf(stats.norm.cdf(guard), df))
