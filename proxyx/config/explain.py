"""The blocks of a config about explaining: ``explainer`` (with ``precision``), ``screen``, ``fidelity``, ``bench``.

``explainer.method`` and ``bench.methods`` take any explainer of the registry
(``proxyx.explainers.EXPLAINERS``: ``lime``, ``kernel_shap`` and those added
with ``register_explainer``) or ``python:module:Class`` naming an
``Explainer`` subclass, imported and registered when the config is read.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from ..explainers.base import EXPLAINERS, explainer_class
from .models import Strict, registered
from .tasks import HierarchyConfig

#: bounds that stop a typo from paying for millions of calls (README "Bad input")
MAX_SAMPLES = 100_000


#: an explainer's name in a config: registered, or python:module:Class (imported and registered when read)
Method = Annotated[str, registered(explainer_class)]


Estimator = Literal["plain", "prior", "control_variate", "regression_adjusted", "prior_control_variate"]


class PrecisionConfig(Strict):
    """``oracle_samples: auto``: oracle budgets start, 2 start, ... up to cap, until every unit's standard error
    is at most target x the largest |attribution| (``proxyx.adaptive``)."""

    target: Annotated[float, Field(gt=0, le=1)]
    start: Annotated[int, Field(gt=0, le=MAX_SAMPLES)] = 25
    cap: Annotated[int, Field(gt=0, le=MAX_SAMPLES)] = 200

    @model_validator(mode="after")
    def _start_below_cap(self) -> "PrecisionConfig":
        if self.start > self.cap:
            raise ValueError(f"start ({self.start}) must be <= cap ({self.cap}), the largest oracle budget")
        return self


class ExplainerConfig(Strict):
    method: Method = "lime"
    samples: Annotated[int, Field(gt=0, le=MAX_SAMPLES)] = 1000
    unit: Literal["word", "sentence", "demonstration", "document"] = "word"  # proxyx.perturb owns what a unit is
    # task.type: generate only (proxyx.config.tasks): what a perturbed context is worth, and coarse-to-fine levels
    value: Literal["answer_logprob", "answer_logprob_mean", "answer_match"] = "answer_logprob"
    match: Literal["exact", "f1"] = "f1"  # answer_match: how a decoded answer is compared with the original
    reuse: bool = True  # answer_match: verify the answers already decoded before decoding again
    hierarchy: HierarchyConfig | None = None
    # plain: one model answers every mask (a proxy where the gate agrees, else the oracle); the others combine
    # N = samples proxy answers with n = oracle_samples oracle answers (README "Proxy-informed estimators")
    estimator: Estimator = "plain"
    # or auto: rounds of growing budgets until ``precision`` is met (README "Adaptive oracle budgets")
    oracle_samples: Annotated[int, Field(gt=0, le=MAX_SAMPLES)] | Literal["auto"] | None = None
    precision: PrecisionConfig | None = None
    # Kernel SHAP's masks: kernel (shap's, by kernel mass) or leverage (Leverage SHAP: every size equally;
    # README "Samplers")
    sampler: Literal["kernel", "leverage"] = "kernel"

    @model_validator(mode="after")
    def _estimator_budget(self) -> "ExplainerConfig":
        if self.sampler not in explainer_class(self.method).samplers:
            takers = sorted(m for m, cls in EXPLAINERS.items() if self.sampler in cls.samplers)
            raise ValueError(f"sampler {self.sampler!r} is for method: {' or '.join(takers)} ({self.method} draws its "
                             f"own masks); remove sampler or set method: {takers[0]}")
        if self.estimator != "plain" and self.oracle_samples is None:
            raise ValueError(f"estimator {self.estimator!r} needs oracle_samples (the oracle's budget n, e.g. 50)")
        auto = self.oracle_samples == "auto"
        if auto != (self.precision is not None):
            raise ValueError("oracle_samples: auto needs a precision block, e.g. precision: {target: 0.1, start: 25, "
                             "cap: 200}" if auto else
                             "precision is for oracle_samples: auto (adaptive oracle budgets); set it or remove precision")
        if self.estimator == "plain" and self.oracle_samples is not None and not auto:
            raise ValueError("oracle_samples is for the proxy-informed estimators; set estimator: prior (or remove it)")
        if auto and self.estimator != "plain" and self.precision.cap > self.samples:
            raise ValueError(f"precision.cap ({self.precision.cap}) must be <= samples ({self.samples}), the proxy's "
                             "budget N")
        if not auto and self.oracle_samples is not None and self.oracle_samples > self.samples:
            raise ValueError(f"oracle_samples ({self.oracle_samples}) must be <= samples ({self.samples}), "
                             "the proxy's budget N")
        return self


class ScreenConfig(Strict):
    """Task-level sequential screen (README "Screening")."""

    enabled: bool = False
    tau: Annotated[float, Field(gt=0, le=1)] = 0.9
    confidence: Annotated[float, Field(gt=0.5, lt=1)] = 0.99
    min_instances: Annotated[int, Field(ge=2)] = 5
    max_instances: Annotated[int, Field(ge=2, le=10_000)] = 50
    all: bool = False  # screen every proxy, not just up to the first accepted
    correct_for_looks: bool = False  # Bonferroni over the looks: overall error <= 1 - confidence
    metric: Literal["aopc", "local_fidelity"] = "aopc"  # the explanation quality q the screen tests

    @property
    def per_look_confidence(self) -> float:
        """The confidence of each look's bound (README "Screening")."""
        if not self.correct_for_looks:
            return self.confidence
        return 1 - (1 - self.confidence) / (self.max_instances - self.min_instances + 1)

    @model_validator(mode="after")
    def _bounds(self) -> "ScreenConfig":
        if self.min_instances > self.max_instances:
            raise ValueError(f"min_instances ({self.min_instances}) must be <= max_instances ({self.max_instances})")
        return self


class FidelityConfig(Strict):
    """Score explanations on the oracle (AOPC of deletion)."""

    enabled: bool = False  # score explanations on the oracle; explain proxy-explained instances with it too
    # with an estimator: also explain with the oracle at N (explainer.samples) to compare with (fidelity);
    # false: no oracle explanation at N; the estimate is scored next to the oracle alone at n, its free
    # baseline. A proxy's explanation (estimator: plain) is always compared with the oracle's at N.
    reference: bool = True
    k_fraction: Annotated[float, Field(gt=0, le=1)] = 0.2
    heldout_samples: Annotated[int, Field(gt=0, le=5000)] = 200  # local fidelity: held-out masks per instance


class BenchConfig(Strict):
    proxies: list[str] | None = None  # names from the pool; None = all
    methods: list[Method] = ["lime", "kernel_shap"]
    samples: list[Annotated[int, Field(gt=0, le=MAX_SAMPLES)]] = [1000]  # screen-and-apply cells; [] for none
    # the frontier (README "Bench"): the oracle alone at each budget of the ladder, and each proxy-informed
    # estimator at each oracle budget n with the proxy at proxy_samples; None = no frontier
    oracle_ladder: list[Annotated[int, Field(gt=0, le=MAX_SAMPLES)]] | None = None
    estimators: list[Literal["prior", "control_variate", "regression_adjusted", "prior_control_variate"]] = ["prior"]
    oracle_samples: list[Annotated[int, Field(gt=0, le=MAX_SAMPLES)]] = [25, 50, 100]
    proxy_samples: Annotated[int, Field(gt=0, le=MAX_SAMPLES)] = 1000
    substitute: bool = True  # also the proxy substituted for the oracle at proxy_samples
    # shap's and lime's own explainers on the oracle at each oracle budget n (proxyx.bench.peers); needs the frontier
    peers: list[Literal["shap_kernel", "shap_partition", "lime"]] = []

    @model_validator(mode="after")
    def _something_to_run(self) -> "BenchConfig":
        if not self.samples and not self.oracle_ladder:
            raise ValueError("nothing to run: give samples (screen-and-apply cells) or oracle_ladder (the frontier)")
        return self
