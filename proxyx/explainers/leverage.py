"""Leverage-score sampling for Kernel SHAP (Musco & Witter, ICLR 2025, "Leverage SHAP").

In Kernel SHAP's regression, projected onto the efficiency constraint, the
leverage score of a coalition of size ``s`` is proportional to
``1 / C(n, s)``: every size carries the same total mass, where the Shapley
kernel puts most of it on the smallest and largest sizes. Sampling by
leverage scores, paired and without replacement, is what gives Leverage SHAP
its guarantee (and, in the paper, about half the error of shap's
``KernelExplainer`` at equal evaluations).

The draw:

* in rounds, each visiting every size ``s = 1..n-1`` once in a random order;
  a visit adds a coalition of size ``s`` not drawn before (uniform among
  those) and then its complement, of size ``n - s``. Every size so gets the
  same number of rows, as the leverage scores ask. A size whose coalitions
  are all drawn is skipped and its share goes to the others: the paper's
  inclusion probabilities ``min(1, c / C(n, s))``, in counts.
* sizes ``s`` and ``n - s`` form one pool (a coalition of one is the
  complement of a coalition of the other); each pool draws its candidates
  from its own random stream and keeps the first it has not seen (for
  ``s = n / 2``: not seen up to complement).
* nested: the visiting order and each pool's stream do not depend on the
  budget, so the masks at budget ``m`` are the first ``m`` of those at any
  larger budget (the kernel sampler's are only nearly so). The one exception:
  a pool nearly exhausted whose draws run out (``MAX_ROUNDS``) before it
  finds the coalitions it owes; its visits then drop out.

The re-weighting: the regression weight of a coalition divided by its
inclusion probability ``k_s / C(n, s)`` (``k_s`` coalitions of its size
drawn) is ``(n-1) / (s (n-s) k_s)``, which is exactly
``KernelShapExplainer.kernel``: each size's Shapley kernel mass spread evenly
over its evaluated coalitions. So the fit, and the proxy-informed
estimators' closed form, take these masks as they are.
"""

from __future__ import annotations

import math

import numpy as np

from .masks import CHUNK, MAX_ROUNDS, random_subsets, row_keys

#: the first draws of a pool; each next draw doubles, up to ``CHUNK`` (a short pool stays cheap)
FIRST_DRAW = 16


def leverage_masks(n_units: int, limit: int, rng: np.random.Generator) -> np.ndarray:
    """Up to ``limit`` unique masks: all kept, none kept, then pairs drawn by leverage score (module docstring)."""
    n = n_units
    ends = np.array([[True] * n, [False] * n])
    pairs = -(-(limit - 2) // 2)
    if n < 2 or pairs <= 0:
        return ends[: max(limit, 2)]
    order_rng, *pool_rngs = rng.spawn(n // 2 + 1)
    sizes, nth = _visits(n, pairs, order_rng)
    pools = np.minimum(sizes, n - sizes)
    have, start, drawn = np.zeros(n // 2 + 1, dtype=np.int64), np.zeros(n // 2 + 1, dtype=np.int64), []
    for p in np.unique(pools):
        drawn.append(_pool(n, int(p), int(nth[pools == p].max()) + 1, pool_rngs[p - 1]))
        start[p], have[p] = sum(map(len, drawn[:-1])), len(drawn[-1])
    keep = nth < have[pools]  # a pool that could not find enough new coalitions (near exhaustion): its visits drop out
    sizes, pools, nth = sizes[keep], pools[keep], nth[keep]
    first = np.concatenate(drawn)[start[pools] + nth]
    first[sizes != pools] ^= True  # a visit to s > n/2 adds the complement of its pool's coalition first
    paired = np.empty((2 * len(first), n), dtype=bool)
    paired[0::2], paired[1::2] = first, ~first
    return np.vstack([ends, paired])[:limit]


def _visits(n: int, pairs: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """The size of each of the first ``pairs`` visits that add a pair, and which of its pool's coalitions
    it takes (0 for the pool's first)."""
    capacity = np.array([0] + [_pool_size(n, p) for p in range(1, n // 2 + 1)], dtype=float)
    used = np.zeros(n // 2 + 1, dtype=np.int64)
    sizes, nth, found = [], [], 0
    while found < pairs:
        rounds = -(-(pairs - found) // (n - 1)) + 1
        visit = (rng.random((rounds, n - 1)).argsort(axis=1) + 1).ravel()  # the order of every round
        pool = np.minimum(visit, n - visit)
        by_pool = np.argsort(pool, kind="stable")
        starts = np.searchsorted(pool[by_pool], pool[by_pool])  # where each visit's pool begins in the sort
        rank = np.empty(len(pool), dtype=np.int64)
        rank[by_pool] = np.arange(len(pool)) - starts
        index = used[pool] + rank
        open_ = index < capacity[pool]
        used += np.bincount(pool[open_], minlength=len(used))
        sizes.append(visit[open_])
        nth.append(index[open_])
        found += int(open_.sum())
        if not capacity[1:].sum() > used[1:].sum() and found < pairs:
            break  # every pool exhausted (cannot happen below 2**n masks)
    return np.concatenate(sizes)[:pairs], np.concatenate(nth)[:pairs]


def _pool_size(n: int, p: int) -> float:
    """Coalition pairs in the pool of sizes ``p`` and ``n - p`` (as a float: may exceed any integer type)."""
    count = math.comb(n, p)
    return float(count // 2 if 2 * p == n else count)


def _pool(n: int, p: int, count: int, rng: np.random.Generator) -> np.ndarray:
    """The first ``count`` distinct coalitions of size ``p`` in ``rng``'s stream of uniform draws (for
    ``p == n / 2`` distinct up to complement); fewer if the rounds allowed run out first."""
    seen: set = set()
    found: list[np.ndarray] = []
    draw, budget = FIRST_DRAW, MAX_ROUNDS * CHUNK * -(-count // CHUNK)
    while len(found) < count and budget > 0:
        drawn = random_subsets(rng, n, np.full(min(draw, budget), p))
        budget -= len(drawn)
        draw = min(2 * draw, CHUNK)
        key_rows = np.where(drawn[:, :1], drawn, ~drawn) if 2 * p == n else drawn
        for row, key in zip(drawn, row_keys(key_rows).tolist()):
            if key not in seen:
                seen.add(key)
                found.append(row)
                if len(found) == count:
                    break
    return np.array(found, dtype=bool).reshape(len(found), n)
