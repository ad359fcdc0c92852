"""The shared flow of perturbation explainers: sample -> evaluate -> weight -> fit.

LIME and Kernel SHAP differ only in three pieces, which subclasses override
(as captum's ``kernel_shap.py`` is its ``lime.py`` with other parts):

    _sample(n_units, rng)     which masks to evaluate (unique rows, row 0 unmasked)
    kernel(masks)             how much each evaluated mask counts in the fit
    _fit(masks, y, weights)   the surrogate: (values, base_value)

``kernel`` is public (proxy-informed estimators and local fidelity weight
masks with it), and so is ``fit(masks, y)``: the explanation from answers
already at hand.

Masks depend only on ``(n_units, samples, seed)``, never on the model, so a
proxy and the oracle are asked exactly the same perturbed texts and the model
call cache can be shared between them. Random masks are drawn in rounds of a
fixed size (``CHUNK``) whatever the budget, so the sampled masks of a smaller
budget are (almost all) among those of a larger one with the same seed: a
benchmark over several budgets pays for the largest and reads the rest from
the cache.
"""

from __future__ import annotations

import numbers
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from ..errors import ConfigError

ValueFn = Callable[[np.ndarray], np.ndarray]

#: random draws per round, independent of the budget (nested budgets, see above)
CHUNK = 256

#: every sampler an explainer may take (``Explainer.samplers``: those its method takes)
SAMPLERS = ("kernel", "leverage")

#: rounds of random draws per CHUNK of budget before a sampler settles for
#: fewer unique masks than the budget (only reachable when the budget nearly
#: exhausts the space)
MAX_ROUNDS = 64


def max_rounds(samples: int) -> int:
    return MAX_ROUNDS * -(-samples // CHUNK)


@dataclass(frozen=True, eq=False)
class Attribution:
    """One explanation: a value per unit plus the surrogate's anchors.

    ``values`` is stored as a read-only float array, so the object is
    immutable in fact and not only by name.
    """

    values: np.ndarray  # (n_units,) attribution per unit
    base_value: float  # surrogate value at the empty coalition (SHAP: f(empty))
    full_value: float  # f(all units kept)
    n_evals: int  # unique masks evaluated (= model calls if nothing is cached)
    method: str  # "lime" | "kernel_shap"
    #: per unit, how much the value would move with other random masks (``uncertainty.py``); None: not computed
    standard_errors: np.ndarray | None = None

    def __post_init__(self) -> None:
        for name in ("values", "standard_errors"):
            if getattr(self, name) is not None:
                array = np.array(getattr(self, name), dtype=float)
                array.setflags(write=False)
                object.__setattr__(self, name, array)

    def predict(self, masks: np.ndarray) -> np.ndarray:
        """The surrogate g(z) = base_value + z @ values on each mask (LIME: the ridge
        intercept as base; Kernel SHAP: f(empty))."""
        masks = np.asarray(masks)
        if masks.ndim != 2 or masks.shape[1] != len(self.values):
            raise ValueError(f"masks have shape {masks.shape}, expected (m, {len(self.values)})")
        return self.base_value + masks.astype(float) @ self.values


class Explainer(ABC):
    """Base of the perturbation explainers; the constructor only stores arguments.

    ``samples`` caps the unique masks evaluated per explanation (the rows a
    method always needs count against it; the budget is raised to
    ``n_forced`` only if it is smaller). When every coalition fits in the
    budget (``2**n_units <= samples``) they are all enumerated instead.
    """

    method: ClassVar[str]
    #: rows evaluated whatever the budget (LIME: the unmasked text)
    n_forced: ClassVar[int] = 1
    #: the samplers this method draws its masks with; "kernel" is its own
    samplers: ClassVar[tuple[str, ...]] = ("kernel",)

    def __init__(self, *, samples: int = 1000, seed: int = 0, sampler: str = "kernel") -> None:
        self.samples = samples
        self.seed = seed
        self.sampler = sampler

    def __repr__(self) -> str:
        return f"{type(self).__name__}(samples={self.samples!r}, seed={self.seed!r}, sampler={self.sampler!r})"

    def check_params(self) -> None:
        """Raise ``ConfigError`` if ``samples``, ``seed`` or ``sampler`` cannot work."""
        if not _is_int(self.samples) or self.samples < 1:
            raise ConfigError(
                f"explainer.samples must be a positive integer, got {self.samples!r}; "
                "set it to the number of model calls per explanation, e.g. 1000"
            )
        if not _is_int(self.seed) or self.seed < 0:
            raise ConfigError(f"the explainer seed must be a non-negative integer, got {self.seed!r}; e.g. seed: 0")
        if self.sampler not in SAMPLERS:
            raise ConfigError(f"explainer.sampler must be one of {', '.join(SAMPLERS)}, got {self.sampler!r}")
        if self.sampler not in self.samplers:
            raise ConfigError(f"explainer.sampler {self.sampler!r} is for kernel_shap, not {self.method}; "
                              "remove sampler or set method: kernel_shap")

    def sample_masks(self, n_units: int) -> np.ndarray:
        """The masks an explanation of ``n_units`` units evaluates: bool ``(m, n_units)``, unique rows.

        Row 0 is always the unmasked text. Deterministic given
        ``(n_units, samples, seed, sampler)``.
        """
        self.check_params()
        if not _is_int(n_units) or n_units < 1:
            raise ValueError(f"n_units must be a positive integer, got {n_units!r}")
        if 2**n_units <= self.samples:
            return all_coalitions(n_units)
        return self._sample(int(n_units), np.random.default_rng(self.seed))

    def explain(self, n_units: int, value_fn: ValueFn) -> Attribution:
        """Explain ``value_fn`` (masks -> the target label's probability) with one batched call."""
        masks = self.sample_masks(n_units)
        return self.fit(masks, evaluate(value_fn, masks))

    def fit(self, masks: np.ndarray, y: np.ndarray) -> Attribution:
        """The explanation from the answers ``y`` on ``masks`` (as drawn by ``sample_masks``, row 0 unmasked)."""
        values, base_value = self._fit(masks, np.asarray(y, dtype=float), self.kernel(masks))
        return Attribution(
            values=values,
            base_value=float(base_value),
            full_value=float(y[0]),
            n_evals=len(masks),
            method=self.method,
        )

    @abstractmethod
    def _sample(self, n_units: int, rng: np.random.Generator) -> np.ndarray:
        """At most ``max(samples, n_forced)`` unique masks, row 0 all True (called when 2**n_units > samples)."""

    @abstractmethod
    def kernel(self, masks: np.ndarray) -> np.ndarray:
        """A non-negative weight per mask, as this explainer's fit counts it."""

    @abstractmethod
    def _fit(self, masks: np.ndarray, y: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, float]:
        """The attribution per unit and the surrogate's value at the empty coalition."""


def evaluate(value_fn: ValueFn, masks: np.ndarray) -> np.ndarray:
    """``value_fn`` on ``masks`` (one batched call), checked: one finite value per mask."""
    y = np.asarray(value_fn(masks.copy()), dtype=float)
    if y.shape != (len(masks),):
        raise ValueError(f"value_fn returned shape {y.shape}, expected ({len(masks)},): one value per mask")
    if not np.all(np.isfinite(y)):
        raise ValueError("value_fn returned NaN or infinite values; a model must return probabilities")
    return y


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


def _is_int(x: object) -> bool:
    return isinstance(x, numbers.Integral) and not isinstance(x, bool)
