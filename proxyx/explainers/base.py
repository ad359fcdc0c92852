"""The shared flow of perturbation explainers: sample -> evaluate -> weight -> fit; the registry.

LIME and Kernel SHAP differ only in three pieces, which subclasses declare
(as captum's ``kernel_shap.py`` is its ``lime.py`` with other parts):

    _sample(n_units, rng)     which masks to evaluate (unique rows, row 0 unmasked)
    kernel(masks)             how much each evaluated mask counts in the fit
    surrogate, alpha          the fit: a ``linear.LinearSurrogate`` (its change of variables) and its ridge

``kernel`` is public (proxy-informed estimators and local fidelity weight
masks with it), and so is ``fit(masks, y)``: the explanation from answers
already at hand. The fit is the surrogate's closed form (``closed_form``),
the very one the proxy-informed estimators use, so an explainer that
declares these pieces and is registered (``register_explainer``) works
alone and with every estimator.

Masks depend only on ``(n_units, samples, seed)``, never on the model, so a
proxy and the oracle are asked exactly the same perturbed texts and the model
call cache can be shared between them; a smaller budget's masks are nearly
all among a larger one's (``masks.py``).
"""

from __future__ import annotations

import inspect
import numbers
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from ..errors import ConfigError
from ..inputs import PYTHON, python_class
from .linear import LinearSurrogate
from .masks import all_coalitions

ValueFn = Callable[[np.ndarray], np.ndarray]

#: every sampler an explainer may take (``Explainer.samplers``: those its method takes)
SAMPLERS = ("kernel", "leverage")

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
    method: str  # the explainer's name in EXPLAINERS: "lime", "kernel_shap"
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
    #: the surrogate's fit in closed form: a ``LinearSurrogate`` subclass (its change of variables)
    surrogate: ClassVar[type[LinearSurrogate]]
    #: the surrogate's own ridge penalty ``alpha |phi|^2``
    alpha: ClassVar[float] = 0.0
    #: rows evaluated whatever the budget (LIME: the unmasked text)
    n_forced: ClassVar[int] = 1
    #: the samplers this method draws its masks with; "kernel" is its own
    samplers: ClassVar[tuple[str, ...]] = ("kernel",)
    #: whether masks are drawn with their complements (then the estimators' check leaves a pair out together)
    paired: ClassVar[bool] = False

    def __init__(self, *, samples: int = 1000, seed: int = 0, sampler: str = "kernel") -> None:
        self.samples = samples
        self.seed = seed
        self.sampler = sampler

    @classmethod
    def sampler_for(cls, sampler: str) -> str:
        """``sampler`` if this method draws its masks with it, else its own (``kernel``): what a grid of several
        methods passes each of them when the config's sampler is one method's (Kernel SHAP's ``leverage``)."""
        return sampler if sampler in cls.samplers else "kernel"

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

    def closed_form(self, masks: np.ndarray, weights: np.ndarray | None = None,
                    rows: np.ndarray | None = None) -> LinearSurrogate:
        """This explainer's fit on ``masks`` for any answers (``linear.py``), weighted by ``kernel`` unless
        ``weights`` are given; on ``rows`` of the masks only (a cross-validation fold) if given."""
        weights = self.kernel(masks) if weights is None else weights
        return self.surrogate(masks, weights, rows, alpha=self.alpha, paired=self.paired)

    def fit(self, masks: np.ndarray, y: np.ndarray) -> Attribution:
        """The explanation from the answers ``y`` on ``masks`` (as drawn by ``sample_masks``, row 0 unmasked)."""
        y = np.asarray(y, dtype=float)
        values, base_value = self.closed_form(masks).fit(y)
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


#: the explainers by name (``register_explainer`` adds one)
EXPLAINERS: dict[str, type[Explainer]] = {}


def register_explainer(cls: type[Explainer]) -> type[Explainer]:
    """Make ``cls`` known by its ``method`` (``make_explainer``, the estimators); a class decorator."""
    if not (isinstance(cls, type) and issubclass(cls, Explainer)) or inspect.isabstract(cls):
        raise TypeError(f"{cls!r} is not a concrete Explainer subclass: define _sample and kernel")
    name = getattr(cls, "method", None)
    if not isinstance(name, str) or not name:
        raise TypeError(f"{cls.__name__}.method must be a non-empty string, the explainer's name")
    if not (isinstance(getattr(cls, "surrogate", None), type) and issubclass(cls.surrogate, LinearSurrogate)):
        raise TypeError(f"{cls.__name__}.surrogate must be a LinearSurrogate subclass, its fit's closed form")
    if EXPLAINERS.get(name, cls) is not cls:
        raise ValueError(f"an explainer {name!r} is already registered ({EXPLAINERS[name].__name__})")
    EXPLAINERS[name] = cls
    return cls


def explainer_class(name: str) -> type[Explainer]:
    """The explainer registered as ``name``, or the ``Explainer`` subclass ``python:module:Class`` names
    (imported and registered, so ``name`` works in any process: a Ray worker's too); else ``ConfigError``."""
    if isinstance(name, str) and name.startswith(PYTHON):
        cls = python_class(name, Explainer, "explainer")
        try:
            return register_explainer(cls)
        except (TypeError, ValueError) as e:
            raise ConfigError(f"explainer {name!r}: {e}") from None
    try:
        return EXPLAINERS[name]
    except (KeyError, TypeError):
        raise ConfigError(f"unknown explainer {name!r}; use one of: {', '.join(sorted(EXPLAINERS))}, or "
                          "python:module:Class naming an Explainer subclass") from None


def make_explainer(name: str, *, samples: int = 1000, seed: int = 0, sampler: str = "kernel") -> Explainer:
    """The explainer ``name`` names (``explainer_class``), with its arguments checked (``sampler``:
    ``Explainer.samplers``)."""
    explainer = explainer_class(name)(samples=samples, seed=seed, sampler=sampler)
    explainer.check_params()
    return explainer


def evaluate(value_fn: ValueFn, masks: np.ndarray) -> np.ndarray:
    """``value_fn`` on ``masks`` (one batched call), checked: one finite value per mask."""
    y = np.asarray(value_fn(masks.copy()), dtype=float)
    if y.shape != (len(masks),):
        raise ValueError(f"value_fn returned shape {y.shape}, expected ({len(masks)},): one value per mask")
    if not np.all(np.isfinite(y)):
        raise ValueError("value_fn returned NaN or infinite values; a model must return probabilities")
    return y


def _is_int(x: object) -> bool:
    return isinstance(x, numbers.Integral) and not isinstance(x, bool)
