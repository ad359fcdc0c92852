"""One explained instance (``InstanceResult``) and the summaries over instances (fidelity, baseline, CRR)."""

from __future__ import annotations

from typing import Literal

from .core import Cost, ResultModel, Spend


class OracleLabel(ResultModel):
    label: str
    probs: dict[str, float]


class GateCheck(ResultModel):
    proxy: str
    label: str
    agrees: bool


class QualityScores(ResultModel):
    """Deletion quality on the oracle: AOPC, ERASER comprehensiveness and sufficiency, top-k size."""

    aopc: float
    comprehensiveness: float
    sufficiency: float
    k: int


class Agreement(ResultModel):
    spearman: float | None
    kendall: float | None
    topk_jaccard: float
    sign_agreement: float
    k: int


class Comparison(ResultModel):
    """A proxy explanation next to the oracle's, both scored on the oracle."""

    q_proxy: QualityScores
    q_oracle: QualityScores
    fidelity: float | None  # q_proxy.aopc / q_oracle.aopc; null when q_oracle <= 0
    agreement: Agreement
    local_fidelity_proxy: float | None = None
    local_fidelity_oracle: float | None = None


class EstimatorInfo(ResultModel):
    """How a proxy-informed estimator combined proxy and oracle answers (README "Proxy-informed estimators").

    ``lam = 0`` with ``gamma`` 0 or null, or a ``control_variate`` with ``beta = 0``, is the oracle alone at
    n: the estimator's check on the oracle's held-out answers kept it.
    """

    name: str
    oracle_samples: int
    proxy_samples: int
    lam: float | None = None  # priors: the pull towards the proxy's explanation (0: none, 1e6: its explanation)
    beta: float | None = None  # priors: the prior's scale; control_variate: its coefficient; regression_adjusted: calibration slope
    rho: float | None = None  # weighted correlation of the proxy's and the oracle's answers on the oracle's masks
    oracle_calls: int
    proxy_calls: int | None = None
    gamma: float | None = None  # prior_control_variate: the control variate's coefficient; regression_adjusted: 1 or 0
    slope: float | None = None  # priors: the slope in beta's grid, of y_o - gamma y_p on y_p


class Baseline(ResultModel):
    """The oracle alone at the estimator's n, next to the estimate; both scored on the oracle.

    The plain explainer fitted on the estimator's own ``samples`` oracle
    answers: what the same oracle calls give without the proxy, for no
    further call. The scores (with ``fidelity.enabled``) use the estimate's
    scheme: AOPC of deletion with the same tie seed, local fidelity on the
    same held-out masks, in one batch with it.
    """

    samples: int  # n: the oracle's masks (explainer.oracle_samples)
    attribution: list[float]
    standard_errors: list[float | None] | None = None  # per unit (null in reports before them; a unit: not estimable)
    base_value: float
    q_estimate: QualityScores | None = None
    q_baseline: QualityScores | None = None
    local_fidelity_estimate: float | None = None
    local_fidelity_baseline: float | None = None


class AdaptiveInfo(ResultModel):
    """``explainer.oracle_samples: auto``: the budgets asked in turn and why the instance stopped (``proxyx.adaptive``)."""

    target: float  # every standard error <= target x the largest |attribution|
    budgets: list[int]  # the oracle budgets n asked, in order
    oracle_samples: int  # the last of them: the explanation's n
    oracle_calls: int  # distinct texts the oracle answered over the rounds (what a cold cache pays)
    stopped: Literal["target", "cap", "not_estimable"]  # not_estimable: at the cap, some error still not estimable


class AdaptiveSummary(ResultModel):
    """The oracle calls the adaptive instances used."""

    instances: int
    min_oracle_calls: int
    median_oracle_calls: float
    max_oracle_calls: int
    stopped_at_target: int  # the others stopped at the cap


class InstanceCost(ResultModel):
    gate: Cost
    explanation: Cost
    evaluation: Cost
    all_oracle: Cost  # explaining this instance with the oracle alone
    estimated: bool  # all_oracle estimated from the masks' token counts (the oracle did not explain)
    with_proxy: Cost  # gate + explanation, every model
    with_proxy_oracle: Cost  # the oracle's share of with_proxy


class InstanceResult(ResultModel):
    """One explained instance (``status: failed`` ones carry ``error`` and little else)."""

    id: str
    text: str
    gold_label: str | None = None
    units: list[str] = []
    explainer: str | None = None
    samples: int | None = None
    seed: int | None = None
    oracle: OracleLabel | None = None
    gate: list[GateCheck] = []
    explained_by: str | None = None
    role: Literal["proxy", "oracle", "estimator"] | None = None  # estimator: oracle and proxy answers combined
    attribution: list[float] | None = None
    standard_errors: list[float | None] | None = None  # per unit, of attribution; null: not estimable
    base_value: float | None = None
    full_value: float | None = None
    n_evals: int | None = None
    fidelity: Comparison | None = None
    oracle_attribution: list[float] | None = None
    oracle_standard_errors: list[float | None] | None = None  # per unit, of oracle_attribution
    estimator: EstimatorInfo | None = None
    baseline: Baseline | None = None  # role estimator: the oracle alone at the same n calls
    adaptive: AdaptiveInfo | None = None  # explainer.oracle_samples: auto
    cost: InstanceCost | None = None
    status: Literal["ok", "failed"] = "ok"
    error: str | None = None


class FidelitySummary(ResultModel):
    n: int
    undefined: int  # q_oracle <= 0: fidelity undefined
    mean_fidelity: float | None
    ci95: tuple[float, float] | None = None
    mean_q_proxy: float
    mean_q_oracle: float
    ratio_of_means: float | None
    mean_spearman: float | None
    mean_topk_jaccard: float | None
    mean_sign_agreement: float | None


class Paired(ResultModel):
    """mean(estimate - baseline) over the instances where both are defined, with a 95% Student t interval."""

    n: int
    estimate: float | None  # mean quality with the proxy
    baseline: float | None  # mean quality of the oracle alone at n
    difference: float | None
    low: float | None  # null below 2 instances
    high: float | None
    verdict: Literal["better", "worse", "no_difference", "too_few"]  # the interval above 0, below 0, across 0


class BaselineSummary(ResultModel):
    """The estimator with the proxy against the oracle alone at the same n oracle calls, paired per instance."""

    estimator: str
    oracle_samples: int
    instances: int  # explained by the estimator
    identical: int  # of which the estimate is the oracle alone's (the estimator set the proxy aside)
    aopc: Paired | None = None  # null without fidelity.enabled
    local_fidelity: Paired | None = None


class Ratios(ResultModel):
    calls: float | None
    tokens: float | None
    usd: float | None


class CRR(Ratios):
    """C_all-oracle / (C_proxy + C_fallback + C_screen): calls and tokens of the oracle, dollars of every model."""

    all_oracle: Spend
    estimated: bool  # some all-oracle costs are estimated
    with_proxies: Spend  # the denominator: the oracle's calls and tokens, every model's dollars and seconds
    screen: Spend | None  # the screen's nominal cost (every model), when a screen was used
    cost_share_usd: float | None  # with_proxies.usd / all_oracle.usd
