"""``proxyx screen``: the screening result and what it is valid for."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import ConfigDict, Field, computed_field

from ..errors import DataError
from .core import Cost, Document, ResultModel
from .instance import Comparison


class ScreenStats(ResultModel):
    decision: Literal["pending", "accepted", "rejected_futility", "rejected_max", "rejected_data",
                      "stopped_budget", "failed"] = "pending"
    n: int = 0  # instances with a paired difference
    examined: int = 0  # screening instances looked at (gate disagreements included)
    disagreements: int = 0  # proxy label != oracle label (skipped)
    undefined: int = 0  # d undefined (local fidelity on constant oracle answers): left out of the test
    mean_d: float | None = None
    lower: float | None = None
    upper: float | None = None
    mean_fidelity: float | None = None
    fidelity_undefined: int = 0
    mean_spearman: float | None = None
    mean_topk_jaccard: float | None = None

    @property
    def accepted(self) -> bool:
        return self.decision == "accepted"


class ScreenInstance(Comparison):
    id: str
    d: float | None  # q_proxy - tau * q_oracle; None when q is undefined (left out of the test)


class GenScreenLevel(Comparison):
    """``task.type: generate``: one level, the proxy's and the oracle's explanations of the same active units."""

    unit: str  # document | sentence | word
    active: list[int]  # the units explained (the oracle's refinement of the level above)


class GenScreenInstance(ResultModel):
    """``task.type: generate``: one screening question; d is the mean over its levels."""

    id: str
    answer: str  # the oracle's answer (what both explain)
    proxy_answer: str | None  # the proxy's own answer at the gate (None: a lexical proxy answers nothing)
    d: float | None  # mean over the levels where it is defined of q_proxy - tau * q_oracle; None: at no level
    levels: list[GenScreenLevel]


class ProxyScreen(ScreenStats):
    proxy: str
    cost: dict[str, Cost] = {}  # per model; the oracle's includes the proxy's distillation
    distillation: Cost | None = None  # the oracle calls that distilled the proxy, if any
    instances: list[ScreenInstance | GenScreenInstance] = []
    error: str | None = None  # why a "failed" or "stopped_budget" screen stopped (a record of what was done)

    def total_cost(self) -> Cost:
        out = Cost()
        for c in self.cost.values():
            out = out + c
        return out


class ScreenValidity(ResultModel):
    """What a screening result is valid for: a run that differs in any of these must screen again."""

    model_config = ConfigDict(frozen=True)

    oracle: str  # the oracle's fingerprint (model, prompt, scoring)
    task: str  # sha256 of the task block
    method: str
    samples: int
    sampler: str = "kernel"  # Kernel SHAP's mask sampler (older screens: kernel, the only one)
    unit: str | None = None  # None: a screen from an older proxyx, which did not record it
    tau: float
    metric: str = "aopc"
    k_fraction: float | None = None  # the top-k share of AOPC (None: an older screen)
    heldout_samples: int | None = None  # local fidelity's held-out masks; None when the metric is AOPC
    proxies: dict[str, str] = {}  # name -> fingerprint of each proxy in the pool

    _NAMES: ClassVar[dict[str, str]] = {
        "method": "explainer.method", "samples": "explainer.samples", "sampler": "explainer.sampler",
        "unit": "explainer.unit", "tau": "screen.tau",
        "metric": "the screen metric", "k_fraction": "fidelity.k_fraction",
        "heldout_samples": "fidelity.heldout_samples"}

    def mismatch(self, run: ScreenValidity, accepted: list[str]) -> str | None:
        """What differs between this (the result's) and ``run`` (this run's), or None."""
        for field, name in self._NAMES.items():
            made, now = getattr(self, field), getattr(run, field)
            if made is None and field in ("unit", "k_fraction"):
                return f"an older proxyx, which did not record {name}"
            if made != now:
                return f"{name}={made}, this run uses {now}"
        if self.task != run.task:  # before the oracle: its fingerprint includes the task
            return "another task block (labels, verbalizers, instruction, template or few-shot examples differ)"
        if self.oracle != run.oracle:
            return "another oracle (model, prompt or scoring differ)"
        for name in accepted:
            if name in run.proxies and self.proxies.get(name) != run.proxies[name]:
                return f"another model under the proxy name {name!r}"
        return None


class ScreenResult(Document):
    """``proxyx screen``: which proxies may stand in for the oracle on this task."""

    SCHEMA: ClassVar[str] = "proxyx.screen/2"
    schema_name: Literal["proxyx.screen/2"] = Field("proxyx.screen/2", alias="schema")
    stopped: Literal["budget"] | None = None  # max_usd stopped the screen
    valid_for: ScreenValidity
    proxies: list[ProxyScreen] = []
    config: dict[str, Any]

    @computed_field
    @property
    def accepted(self) -> list[str]:
        return [p.proxy for p in self.proxies if p.accepted]

    @computed_field
    @property
    def cost(self) -> Cost:
        out = Cost()
        for p in self.proxies:
            out = out + p.total_cost()
        return out

    def model_cost(self, name: str) -> Cost:
        """One model's screening cost over every screened proxy."""
        out = Cost()
        for p in self.proxies:
            out = out + p.cost.get(name, Cost())
        return out

    def check_valid_for(self, run: ScreenValidity, config_path: str = "CONFIG") -> None:
        """Raise ``DataError`` naming what differs when this result was made for another run."""
        why = self.valid_for.mismatch(run, self.accepted)
        if why:
            raise DataError(f"screening result was made for {why}; re-run 'proxyx screen {config_path}'")
