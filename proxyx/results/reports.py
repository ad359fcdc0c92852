"""The explain and bench documents: ``ExplainReport`` and ``BenchReport`` with its cells."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import Field

from .core import Document, LedgerRow, ResultModel, Spend
from .frontier import Frontier
from .generate import GeneratedInstance, GenerationInfo
from .instance import CRR, AdaptiveSummary, BaselineSummary, FidelitySummary, InstanceResult, Ratios
from .screen import ScreenResult, ScreenStats


class ExplainSummary(ResultModel):
    instances: int
    explained: int
    failed: int
    explained_by: dict[str, int]
    wall_time_s: float
    flags: dict[str, dict[str, int]] = {}  # model -> {flag: count}, e.g. verbalized answers
    adaptive: AdaptiveSummary | None = None  # explainer.oracle_samples: auto: the oracle calls per instance


class ExplainReport(Document):
    """``proxyx explain``."""

    SCHEMA: ClassVar[str] = "proxyx.report/2"
    schema_name: Literal["proxyx.report/2"] = Field("proxyx.report/2", alias="schema")
    command: Literal["explain"] = "explain"
    created: str
    status: Literal["complete", "complete_with_failures", "stopped_budget"]
    stop_reason: str | None = None
    seed: int
    versions: dict[str, str]
    config: dict[str, Any]
    notes: list[str] = []  # what a reader must know about the run, e.g. how dataset.path was split
    screen: ScreenResult | None = None
    summary: ExplainSummary
    baseline: BaselineSummary | None = None  # estimators: with the proxy vs the oracle alone at the same n
    fidelity: FidelitySummary | None = None
    crr: CRR | None = None
    ledger: list[LedgerRow]
    instances: list[InstanceResult]
    # task.type: generate (proxyx.generation): generated answers explained over their context; instances is empty
    generation: GenerationInfo | None = None
    generated: list[GeneratedInstance] = []




class RunInfo(ResultModel):
    """What a run (or a part of it) paid and how long it took: the only numbers a rerun changes."""

    wall_time_s: float
    paid: Spend
    cache_hits: int
    failures: int
    ledger: list[LedgerRow] | None = None


class ReferenceCost(ResultModel):
    explanation: Spend
    evaluation: Spend
    usd_per_explanation: float | None
    calls_per_explanation: float | None


class Reference(ResultModel):
    """The oracle alone at one budget."""

    method: str
    samples: int
    instances: int
    failed: int
    cost: ReferenceCost
    throughput_per_hour: float | None
    mean_q_oracle: float | None
    q_oracle_undefined: int
    instances_q_oracle: dict[str, float]
    run: RunInfo


class CellScreen(ScreenStats):
    cost: dict[str, Spend] = {}  # nominal, per model
    distillation: Spend | None = None


class SpendSplit(ResultModel):
    total: Spend  # every model
    oracle: Spend  # the oracle's share


class CellCost(ResultModel):
    explanation: SpendSplit
    screening: SpendSplit  # distillation included
    evaluation: Spend
    all_oracle: Spend


class View(ResultModel):
    """Fidelity and cost of one way of explaining the instances."""

    fidelity: FidelitySummary | None
    explained_by_proxy: int
    crr: CRR
    usd_per_explanation: float
    cost_share_usd: float | None
    crr_excl_screen: Ratios | None = None
    cost_share_usd_excl_screen: float | None = None
    instances_to_target: int | None = None
    # the screen is paid once per task: the cost share (screening included) at the bench's own number of
    # instances and projected to more (keys: "own", "300", "3000")
    cost_share_usd_projected: dict[str, float | None] | None = None
    q_vs_top_budget_oracle: float | None = None
    pareto: bool | None = None


class Throughput(ResultModel):
    oracle_alone: float | None
    pipeline: float | None
    pipeline_with_screening: float | None
    proxy_only: float | None


class InstanceDetail(ResultModel):
    id: str
    gate_agrees: bool
    explained_by: str
    fidelity: float | None
    q: float
    q_oracle: float
    proxy_fidelity: float | None
    proxy_spearman: float | None
    proxy_topk_jaccard: float | None


class BenchCell(ResultModel):
    """One (proxy, method, samples) of the grid."""

    proxy: str
    method: str
    samples: int
    status: Literal["ok", "complete_with_failures", "failed"]
    instances: int = 0
    failed: int = 0
    errors: list[str] = []
    screen: CellScreen | None = None
    gate_agreement: float | None = None
    cost: CellCost | None = None
    pipeline: View | None = None
    proxy_only: View | None = None
    throughput_per_hour: Throughput | None = None
    instances_detail: list[InstanceDetail] = []
    run: RunInfo | None = None


class CellRef(ResultModel):
    proxy: str
    samples: int


class BestProxy(ResultModel):
    proxy: str
    samples: int
    ratio_of_means: float
    fidelity: float | None
    gate_agreement: float
    cost_share_usd: float | None
    text: str


class Headline(ResultModel):
    method: str
    cell: CellRef | None
    fidelity: float | None = None
    ci95: tuple[float, float] | None = None
    cost_share_usd: float | None = None
    crr: Ratios | None = None
    text: str
    best_proxy_alone: BestProxy | None = None


class BenchReport(Document):
    """``proxyx bench``: fidelity against cost over proxies x explainers x sample budgets."""

    SCHEMA: ClassVar[str] = "proxyx.bench/2"
    schema_name: Literal["proxyx.bench/2"] = Field("proxyx.bench/2", alias="schema")
    command: Literal["bench"] = "bench"
    created: str
    status: Literal["running", "complete", "complete_with_failures", "stopped_budget"]
    stop_reason: str | None = None
    seed: int
    versions: dict[str, str]
    config: dict[str, Any]
    notes: list[str] = []
    oracle: str
    proxies: list[str]
    instances: int
    screen_pool: int
    references: list[Reference] = []
    cells: list[BenchCell] = []
    headline: list[Headline] = []
    frontier: Frontier | None = None  # the oracle-alone ladder and the estimators (bench.oracle_ladder)
    run: RunInfo | None = None
