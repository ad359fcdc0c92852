"""Typed results of ``proxyx compress`` and ``proxyx clean`` (save and load like every proxyx document)."""

from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel, ConfigDict

from ..results import Cost, Document, LedgerRow, Spread


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

    config: dict
    target: str = "demonstrations"  # or input
    unit: str
    demonstrations: list[Shot]
    units: list[str]  # target demonstrations: the prompt's units
    inputs: list[CompressedInput] = []  # target input
    n_validation: int
    n_test: int
    keep: float
    base_accuracy: float
    curves: list[Curve]
    summary: list[MethodSummary]
    proxy_vs_oracle: dict[str, float | None]  # proxy's removable fraction / oracle's (published: 0.917)
    proxy_checks: list[ProxyCheck]
    ledger: list[LedgerRow]
    wall_time_s: float
    files: dict[str, str] = {}

    def method(self, name: str) -> MethodSummary:
        return next(m for m in self.summary if m.method == name)


# ----------------------------------------------------------------------------- clean


class Removal(_Part):
    method: str  # proxy:NAME | oracle
    mean_attribution: list[float]  # per demonstration, of the probability of the gold label
    removed: list[int]
    precision: float | None  # of the removed demonstrations, the share that were poisoned
    recall: float  # of the poisoned demonstrations, the share removed
    accuracy: float  # on the test instances after removal
    random: Interval | None  # accuracy after removing as many demonstrations at random (seeds)
    cost: Cost  # the explanations, every model
    oracle_cost: Cost  # the oracle's part of it
    prompt_file: str | None = None


class CleanReport(Document):
    SCHEMA: ClassVar[str] = "proxyx.clean/1"

    config: dict
    value: str  # what is attributed
    demonstrations: list[Shot]
    poisoned: list[int]
    n_validation: int
    n_test: int
    accuracy_clean: float  # every label right
    accuracy_poisoned: float
    removals: list[Removal]
    proxy_checks: list[ProxyCheck]
    ledger: list[LedgerRow]
    wall_time_s: float
    files: dict[str, str] = {}

    def removal(self, method: str) -> Removal:
        return next(r for r in self.removals if r.method == method)
