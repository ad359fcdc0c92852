"""The frontier of ``proxyx bench``: quality against oracle spend, per route, paired per instance.

A *route* is one way of explaining an instance (the oracle alone at a budget,
a proxy substituted for it, a proxy-informed estimator, or a *peer*: shap's or
lime's own explainer on the oracle, ``proxyx.bench.peers``); a *point* is one
explanation of one instance with its quality on the oracle and its nominal
cost; a *summary* compares a route with the oracle's top budget and with the
oracle alone at the same oracle spend (``proxyx.bench.frontier_summary``).
"""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict

from .core import ResultModel


class Route(ResultModel):
    model_config = ConfigDict(frozen=True)

    method: str
    kind: Literal["oracle", "substitute", "estimator", "peer"]
    proxy: str | None = None
    estimator: str | None = None
    peer: str | None = None  # kind peer: shap_kernel, shap_partition or lime
    oracle_samples: int  # the oracle's budget (substitute: 1, the label; peer: the rows it may ask for)
    proxy_samples: int = 0

    @property
    def label(self) -> str:
        if self.kind == "oracle":
            return f"oracle alone · {self.method} · {self.oracle_samples}"
        if self.kind == "substitute":
            return f"{self.proxy} substituted · {self.method} · {self.proxy_samples}"
        if self.kind == "peer":
            return f"{self.peer} (peer) · {self.method} · {self.oracle_samples}"
        return f"{self.estimator} · {self.proxy} · {self.method} · n={self.oracle_samples}, N={self.proxy_samples}"


class FrontierPoint(ResultModel):
    """One explanation of one instance: its quality on the oracle and what it cost (nominal)."""

    id: str
    aopc: float
    local_fidelity: float | None
    oracle_calls: int
    oracle_tokens: int
    nano_usd: int  # every model
    proxy_calls: int = 0
    peer_rows: int | None = None  # a peer's rows asked of the oracle, duplicates included (oracle_calls: distinct)
    lam: float | None = None
    beta: float | None = None
    rho: float | None = None


class FrontierCell(ResultModel):
    route: Route
    points: list[FrontierPoint]


class Estimate(ResultModel):
    """An estimate with its 95% interval (bounds None when there are too few instances)."""

    estimate: float | None
    low: float | None
    high: float | None
    n: int


class FrontierSummary(ResultModel):
    route: Route
    label: str
    instances: int
    mean: dict[str, float | None]  # metric -> mean quality
    vs_reference: dict[str, Estimate]  # metric -> ratio of means to the oracle's top budget
    same_spend_rung: int | None  # the oracle-alone budget it is paired with
    vs_same_spend: dict[str, Estimate]  # metric -> mean difference to the oracle alone at the same spend
    oracle_calls: float  # mean per explanation
    calls_share: float | None  # of the reference's oracle calls
    usd_share: float | None  # of the reference's dollars (every model)
    mean_lam: float | None = None
    mean_beta: float | None = None
    mean_rho: float | None = None


class Target(ResultModel):
    """At least ``quality`` of the oracle's top-budget quality at no more than ``share`` of its cost."""

    quality: float = 0.95
    share: float = 0.06
    metric: Literal["aopc", "local_fidelity"] = "aopc"


class Frontier(ResultModel):
    target: Target
    summaries: list[FrontierSummary]
    headline: list[str]
    cells: list[FrontierCell]
    failed: list[str] = []  # instances left out of every cell: their calls failed
