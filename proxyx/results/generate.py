"""Typed results of explaining generated answers (``task.type: generate``; optional parts of ``ExplainReport``)."""

from __future__ import annotations

from .core import Cost, ResultModel
from .instance import Baseline, EstimatorInfo


class GenLevel(ResultModel):
    """One level of an explanation: its units, which were explained, their attribution, what it cost."""

    unit: str  # document | sentence | word
    units: list[str]
    active: list[int]  # the units explained at this level (all at the first level; inside the refined ones below)
    values: list[float | None]  # attribution per unit (None: not explained at this level)
    selected: list[int]  # the units refined at the next level (refinement rule: GenerationInfo.rule)
    base_value: float  # surrogate value with every active unit removed (Kernel SHAP: exact v(empty))
    full_value: float  # value of the full input
    samples: int  # the level's budget (unique masks)
    evals: int  # unique masks evaluated
    exact: bool  # every coalition of the active units was evaluated (Kernel SHAP then gives exact Shapley values)
    cost: Cost  # every call of this level, any model (paid this run, and nominal: cache hits included)
    oracle_calls: int = 0  # nominal oracle calls of this level
    seconds: float
    estimator: EstimatorInfo | None = None  # with a proxy: the proxy-informed estimator's choices and calls
    # with an estimator: the oracle alone at the same n (over the active units, in their order), scored with
    # the estimate with fidelity.enabled
    baseline: Baseline | None = None


class ReuseInfo(ResultModel):
    """``answer_match``: masks answered, greedy decodes run, teacher-forced checks, decodes saved by reuse."""

    masks: int
    decodes: int
    checks: int
    saved: int


class GenGateCheck(ResultModel):
    """The instance-level gate of a generation proxy: its own answer on the full input against the oracle's."""

    proxy: str
    answer: str | None  # the proxy's greedy answer (None: a lexical proxy reads the oracle's answer, no call)
    agreement: float  # explainer.match (exact or token F1) of the proxy's answer with the oracle's
    agrees: bool  # agreement >= the gate's threshold (GenerationInfo.gate)


class GeneratedInstance(ResultModel):
    id: str
    question: str
    documents: list[str]  # as shown to the model (whitespace normalised)
    gold_document: int | None = None  # the document holding the reference answer, when the data says
    answer: str  # the oracle's greedy answer on the full context: what is explained
    prompt_tokens: int  # of the full prompt
    explained_by: str = ""  # the model whose answers made the explanation, or "estimator(oracle, proxy)"
    gate: list[GenGateCheck] = []  # with a substituting proxy: its gate check
    levels: list[GenLevel] = []
    reuse: ReuseInfo | None = None
    cost: Cost  # everything this instance cost, any model (answer and gate included)
    seconds: float
    error: str | None = None  # why it failed (then levels may be incomplete)


class GenerationInfo(ResultModel):
    """What the generation values mean and how the budget was split."""

    oracle: str
    scoring: bool  # the oracle returns prompt log-probabilities (answer_logprob and reuse available)
    value: str  # answer_logprob | answer_logprob_mean | answer_match
    match: str | None = None  # answer_match: exact | f1
    reuse: bool | None = None  # answer_match: decoded-output reuse on
    levels: list[str]
    rule: str  # the refinement rule and budget split, in words
    method: str  # lime | kernel_shap
    max_tokens: int
    mean_seconds_by_level: dict[str, float]
    mean_calls_by_level: dict[str, float]  # nominal oracle calls per explanation at each level
    proxy: str | None = None  # the proxy: substituting (after the gate) or sharpening (explainer.estimator)
    gate: str | None = None  # the gate's rule, with a substituting proxy
    decodes_saved: int | None = None  # answer_match with reuse: over every instance
    decodes: int | None = None
