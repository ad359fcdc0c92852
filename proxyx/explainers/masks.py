"""Masks: drawing them without repeats, matching and counting them (every explainer's and estimator's).

Random masks are drawn in rounds of a fixed size (``CHUNK``) whatever the
budget, so the sampled masks of a smaller budget are (almost all) among those
of a larger one with the same seed: a benchmark over several budgets pays for
the largest and reads the rest from the cache.
"""

from __future__ import annotations

import numpy as np

#: random draws per round, independent of the budget (nested budgets: the module docstring)
CHUNK = 256

#: rounds of random draws per CHUNK of budget before a sampler settles for
#: fewer unique masks than the budget (only reachable when the budget nearly
#: exhausts the space)
MAX_ROUNDS = 64


def max_rounds(samples: int) -> int:
    return MAX_ROUNDS * -(-samples // CHUNK)


class MaskSet:
    """Masks in first-drawn order without repeats, up to ``limit`` rows.

    Keeping the first-drawn order makes truncation at the budget, and so the
    masks, a pure function of the random stream. A mask's key is the integer
    its bits spell (up to 62 units; their bytes beyond).
    """

    def __init__(self, n_units: int, limit: int) -> None:
        self.n_units = n_units
        self.limit = limit
        self._blocks: list[np.ndarray] = []
        self._count = 0
        self._seen: set = set()
        self._bits = (1 << np.arange(n_units, dtype=np.int64)) if n_units <= 62 else None

    def __len__(self) -> int:
        return self._count

    @property
    def full(self) -> bool:
        return self._count >= self.limit

    def add(self, row: np.ndarray) -> bool:
        """Add ``row`` unless it is known or the set is full; True if added."""
        before = self._count
        self.add_many(np.asarray(row, dtype=bool)[None, :])
        return self._count > before

    def add_many(self, rows: np.ndarray) -> None:
        """``add`` each row in order, until the set is full."""
        room = self.limit - self._count
        if room <= 0 or not len(rows):
            return
        keys = (rows.astype(np.int64) @ self._bits).tolist() if self._bits is not None else [r.tobytes() for r in rows]
        seen, take = self._seen, []
        for i, key in enumerate(keys):
            if key not in seen:
                seen.add(key)
                take.append(i)
                if len(take) == room:
                    break
        if take:
            self._blocks.append(rows[take])
            self._count += len(take)

    def to_array(self) -> np.ndarray:
        if not self._blocks:
            return np.zeros((0, self.n_units), dtype=bool)
        return np.concatenate(self._blocks).astype(bool, copy=False)


def find_rows(masks: np.ndarray, queries: np.ndarray) -> np.ndarray:
    """For each row of ``queries``, the index of the same row in ``masks`` (unique rows), or -1."""
    keys, wanted = row_keys(masks), row_keys(queries)
    if not len(keys):
        return np.full(len(wanted), -1)
    order = np.argsort(keys)
    ordered = keys[order]
    at = np.minimum(np.searchsorted(ordered, wanted), len(keys) - 1)
    return np.where(ordered[at] == wanted, order[at], -1)


def row_keys(masks: np.ndarray) -> np.ndarray:
    """One sortable key per row: up to 52 units the number its bits spell, as a float (exact below 2**53,
    and a float product is several times faster to build and sort than bytes); beyond, the bits packed into
    bytes, viewed as one void scalar."""
    masks = np.asarray(masks, dtype=bool)
    if masks.shape[1] <= 52:
        return masks.astype(float) @ 2.0 ** np.arange(masks.shape[1])
    packed = np.ascontiguousarray(np.packbits(masks, axis=1))
    return packed.view(np.dtype((np.void, packed.shape[1]))).ravel()


def kept_counts(masks: np.ndarray) -> np.ndarray:
    """The number of units each mask keeps; a float product, several times faster than ``sum(axis=1)`` on
    short boolean rows."""
    masks = np.asarray(masks, dtype=bool)
    return (masks.astype(float) @ np.ones(masks.shape[1])).astype(np.intp)


def all_coalitions(n_units: int) -> np.ndarray:
    """Every mask of ``n_units`` units, from all kept (row 0) to none kept (last row)."""
    codes = np.arange(2**n_units - 1, -1, -1, dtype=np.int64)
    return ((codes[:, None] >> np.arange(n_units)) & 1).astype(bool)


def random_subsets(rng: np.random.Generator, n_units: int, n_keep: np.ndarray) -> np.ndarray:
    """One mask per entry of ``n_keep``, keeping that many units chosen uniformly."""
    order = rng.random((len(n_keep), n_units)).argsort(axis=1)
    ranks = np.empty_like(order)  # the inverse permutation: the rank of each unit (argsort of ``order``)
    np.put_along_axis(ranks, order, np.arange(n_units)[None, :], axis=1)
    return ranks < np.asarray(n_keep)[:, None]
