"""Typed results of ``proxyx compress`` and ``proxyx clean`` (save and load like every proxyx document)."""

from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel, ConfigDict

from ..results import Cost, Difference, Document, LedgerRow, Spread
from ..results.core import Status


class _Part(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Shot(_Part):
    text: str
    label: str
    poisoned: bool = False  # clean: its label was flipped


#: a share's mean over seeds with its t interval: the same record as rerank's
Interval = Spread



class ProxyCheck(_Part):
    """A proxy's explanations against the oracle's on the validation instances."""

    proxy: str
    decision: str  # the screen's rule (README "Screening") over the validation instances, in order
    n: int
    disagreements: int
    mean_d: float | None
    lower: float | None
    mean_fidelity: float | None
    mean_spearman: float | None  # rho of the two attributions, averaged over instances
    mean_topk_jaccard: float | None
    spearman_of_means: float | None  # rho of the attributions averaged over instances (what the apps rank by)


# ----------------------------------------------------------------------------- compress


class CurvePoint(_Part):
    removed_units: int  # target input: summed over the test inputs
    prompt_tokens: int  # the prompt without an input text (target input: the test inputs' tokens, summed)
    removed_fraction: float  # of the uncompressed prompt's tokens (target input: of the inputs' tokens, pooled)
    accuracy: float  # on the test instances


class Curve(_Part):
    method: str  # random | self_information | proxy:NAME | informed:NAME | oracle
    seed: int | None = None  # random only
    order: list[int] = []  # units from least to most important, removed in this order (target input: per input)
    points: list[CurvePoint]
    best: CurvePoint  # the largest removal that keeps `keep` of the uncompressed accuracy


class MethodSummary(_Part):
    method: str
    removed_fraction: float  # random: the mean over seeds
    interval: Interval | None = None  # random only
    accuracy: float | None = None  # at that removal (not for random)
    cost: Cost | None = None  # of the ranking (explanations, or the self-information pass), every model
    oracle_cost: Cost | None = None  # the oracle's part of it
    prompt_file: str | None = None
    spearman_to_oracle: float | None = None  # rank agreement of its unit values with the oracle's attributions


class CompressedInput(_Part):
    """Target input: one test input, its units and each ranking's order (least important first)."""

    id: str
    label: str  # gold
    oracle_label: str  # on the whole input (what the explanations attribute)
    units: list[str]
    orders: dict[str, list[int]]  # by method (random: random:SEED)


class CompressReport(Document):
    SCHEMA: ClassVar[str] = "proxyx.compress/1"

    status: Status = "complete"
    stop_reason: str | None = None
    config: dict
    target: str = "demonstrations"  # or input
    unit: str
    demonstrations: list[Shot]
    units: list[str]  # target demonstrations: the prompt's units
    inputs: list[CompressedInput] = []  # target input
    n_validation: int
    n_test: int
    keep: float
    orders: dict[str, list[int]] = {}  # every ranking that finished (least important first), also after a stop
    base_accuracy: float | None = None  # None: stopped before accuracy was measured
    curves: list[Curve] = []
    summary: list[MethodSummary] = []
    proxy_vs_oracle: dict[str, float | None] = {}  # proxy's removable fraction / oracle's (published: 0.917)
    proxy_checks: list[ProxyCheck] = []
    ledger: list[LedgerRow]
    wall_time_s: float
    files: dict[str, str] = {}

    def method(self, name: str) -> MethodSummary:
        return next(m for m in self.summary if m.method == name)


# ----------------------------------------------------------------------------- clean


class Diagnostic(_Part):
    """Why a route removed what it removed: mean attributions (of the gold label's probability).

    *same*: on the validation reviews whose gold label is the demonstration's true label (before any
    flip), *opposite*: on the others. A flipped demonstration should hurt its own label's reviews
    (poisoned_same < 0); with balanced validation, label bias alone adds as much as it takes.
    """

    poisoned_same: float | None
    poisoned_opposite: float | None
    clean_same: float | None
    clean_opposite: float | None
    poisoned_rank: float | None  # mean rank of the poisoned ones by mean attribution, 1 = most negative


class PoisonedShot(Shot):
    """A demonstration of ``clean``'s prompt; for a poisoned one, the evidence that its true label is clear."""

    vader: float | None = None  # VADER's probability of its true label
    zero_shot: float | None = None  # the oracle's zero-shot probability of its true label


class Removal(_Part):
    """One route's removal in one run."""

    method: str  # oracle | proxy:NAME | ESTIMATOR:NAME | leave_one_out | random
    removed: list[int]  # random: the first draw
    precision: float | None  # of the removed demonstrations, the share that were poisoned (None: none removed)
    recall: float  # of the poisoned demonstrations, the share removed
    accuracy: float  # on the test instances after removal (random: mean over the draws)
    oracle_calls: int  # what the route asked the oracle (nominal: cache hits count)
    mean_attribution: list[float] | None = None  # per demonstration, over the validation instances
    diagnostic: Diagnostic | None = None
    draws: list[list[int]] | None = None  # random only
    draw_accuracy: list[float] | None = None  # random only
    prompt_file: str | None = None


class CleanRun(_Part):
    """One seed: its own prompt, poisoned demonstrations and validation reviews."""

    run: int
    demonstrations: list[PoisonedShot]  # the poisoned prompt (labels as shown to the model)
    poisoned: list[int]
    n_validation: int
    accuracy_clean: float  # every label right
    accuracy_poisoned: float
    # the poisoned demonstrations removed, exactly: what a route that finds them all and only them reaches
    accuracy_without_poisoned: float | None = None
    removals: list[Removal]
    proxy_checks: list[ProxyCheck]

    def removal(self, method: str) -> Removal:
        return next(r for r in self.removals if r.method == method)


class Route(_Part):
    """A route over the runs: means with 95% t intervals."""

    method: str
    removed: float  # mean number of demonstrations removed
    precision: Interval | None  # over the runs where something was removed
    recall: Interval
    accuracy_after: Interval
    gain: Difference  # accuracy after removal - poisoned accuracy, paired over the runs
    oracle_calls: float  # mean per run
    diagnostic: Diagnostic | None = None  # means over the runs


class CleanReport(Document):
    SCHEMA: ClassVar[str] = "proxyx.clean/2"

    status: Status = "complete"
    stop_reason: str | None = None  # why it stopped early (max_usd): the runs that finished are kept
    config: dict
    value: str  # what is attributed
    runs: list[CleanRun]
    n_test: int
    accuracy_clean: Interval | None = None  # None: stopped before a run finished
    accuracy_poisoned: Interval | None = None
    accuracy_without_poisoned: Interval | None = None  # the best any route can reach (older reports: None)
    damage: Difference | None = None  # clean - poisoned accuracy, paired over the runs
    routes: list[Route] = []
    ledger: list[LedgerRow]
    wall_time_s: float
    files: dict[str, str] = {}

    def route(self, method: str) -> Route:
        return next(r for r in self.routes if r.method == method)

    def table(self) -> dict:
        """Means over the runs, in the shape of ``docs/tables/clean.json``."""
        return {"accuracy_clean": self.accuracy_clean.mean, "accuracy_poisoned": self.accuracy_poisoned.mean,
                "accuracy_without_poisoned": self.accuracy_without_poisoned.mean
                if self.accuracy_without_poisoned else None,
                "routes": {r.method: {"precision": r.precision.mean if r.precision else None,
                                      "recall": r.recall.mean, "accuracy_after": r.accuracy_after.mean,
                                      "oracle_calls": r.oracle_calls} for r in self.routes}}
