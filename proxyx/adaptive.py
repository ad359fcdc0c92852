"""Adaptive oracle budgets (``explainer.oracle_samples: auto``): explain to a precision, not to a sample count.

The oracle answers in rounds of growing budgets, ``start``, ``2 start``,
``4 start``, ... up to ``cap`` (``budgets``). The explainers draw their
masks in fixed rounds (``explainers.masks.CHUNK``), so a smaller budget's
masks are (nearly all) among a larger one's, and the call cache answers a
mask asked again for free: a round pays only for its new masks. After each
round the explanation (the estimator, or the oracle alone with ``estimator:
plain``) is refit on that budget's answers; the instance stops when every
unit's standard error is at most ``target`` times the largest |attribution|
(``stopped: target``), or at the cap (``stopped: cap``; ``not_estimable``
when some unit's error still cannot be estimated there: the oracle's answers
show no residual, ``explainers/uncertainty.py``). An error that cannot be
estimated is never taken for a precise one: the rounds go on.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

import numpy as np

from .errors import ConfigError
from .explainers import Attribution
from .results import AdaptiveInfo, AdaptiveSummary, InstanceResult

T = TypeVar("T")


def budgets(start: int, cap: int) -> list[int]:
    """``start``, doubling, up to and including ``cap``."""
    out = [min(start, cap)]
    while out[-1] < cap:
        out.append(min(2 * out[-1], cap))
    return out


def estimable(attr: Attribution) -> bool:
    """Every unit's standard error is known (computed, and not NaN: not estimable)."""
    return attr.standard_errors is not None and not np.isnan(attr.standard_errors).any()


def precise(attr: Attribution, target: float) -> bool:
    """Every unit's standard error known and at most ``target`` times the largest |attribution|."""
    if not estimable(attr):
        return False
    scale = float(np.max(np.abs(attr.values), initial=0.0))
    return bool(np.max(attr.standard_errors, initial=0.0) <= target * scale)


class Asked:
    """A scorer that remembers the distinct texts it was asked: what the rounds cost the oracle on a cold cache."""

    def __init__(self, scorer):
        self.scorer, self.texts = scorer, set()

    def __getattr__(self, name):
        return getattr(self.scorer, name)

    def __call__(self, texts, purpose: str):
        self.texts.update(texts)
        return self.scorer(texts, purpose)


@dataclass(frozen=True)
class Rounds(Generic[T]):
    result: T  # the explanation at the last budget asked
    info: AdaptiveInfo


def explain_in_rounds(explain_at: Callable[[int], T], attribution: Callable[[T], Attribution], asked: Asked, *,
                      target: float, start: int, cap: int) -> Rounds[T]:
    """``explain_at(n)`` (asking the oracle through ``asked``) for growing ``n`` until ``target`` or ``cap``."""
    tried: list[int] = []
    for n in budgets(start, cap):
        result = explain_at(n)
        tried.append(n)
        reached = precise(attribution(result), target)
        if reached:
            break
    stopped = "target" if reached else "cap" if estimable(attribution(result)) else "not_estimable"
    return Rounds(result, AdaptiveInfo(target=target, budgets=tried, oracle_samples=tried[-1],
                                       oracle_calls=len(asked.texts), stopped=stopped))


def adaptive_summary(instances: list[InstanceResult]) -> AdaptiveSummary | None:
    """The distribution of oracle calls over the adaptive instances; None when there are none."""
    rows = [e.adaptive for e in instances if e.status == "ok" and e.adaptive is not None]
    if not rows:
        return None
    calls = [r.oracle_calls for r in rows]
    return AdaptiveSummary(instances=len(rows), min_oracle_calls=min(calls),
                           median_oracle_calls=float(np.median(calls)), max_oracle_calls=max(calls),
                           stopped_at_target=sum(r.stopped == "target" for r in rows))


def refuse_auto(config, where: str) -> None:
    """One line for the commands that run fixed budgets only (the bench's grid, the apps, generation)."""
    if config.explainer.oracle_samples == "auto":
        raise ConfigError(f"explainer.oracle_samples: auto (adaptive budgets) is for proxyx explain only, not {where}; "
                          "give a number (e.g. 50) or remove it")
