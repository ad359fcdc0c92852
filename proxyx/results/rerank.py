"""Typed result of ``proxyx rerank``: recall of the gold passage per ranking, answer accuracy, screen, cost."""

from __future__ import annotations

from typing import ClassVar

from ..stats import mean_t
from .core import Cost, Document, LedgerRow, ResultModel, Status


class Spread(ResultModel):
    """A share's mean over random seeds with its 95% t interval (clipped to [0, 1]) and the per-seed values
    (rerank, compress and clean reports)."""

    mean: float
    low: float
    high: float
    values: list[float]

    @classmethod
    def of(cls, values) -> "Spread":
        v = [float(x) for x in values]
        t = mean_t(v)
        low, high = (t.estimate, t.estimate) if t.low is None else (t.low, t.high)
        return cls(mean=t.estimate, low=max(0.0, low), high=min(1.0, high), values=v)


class Difference(ResultModel):
    """Mean per-question difference with a paired 95% Student t interval (None bounds: too few questions)."""

    mean: float
    low: float | None
    high: float | None


class AnswerScore(ResultModel):
    """The oracle's answer from the top-m passages only, against the gold FAQ answer (means over questions)."""

    top: int  # m passages kept
    f1: float  # token F1 over content words
    containment: float  # share of the answer's content words found in the gold answer
    f1_spread: Spread | None = None  # random only: over seeds


class RerankRow(ResultModel):
    """One ranking of the k passages: BM25's order, an exact Shapley rerank, or random (over seeds)."""

    method: str  # bm25 | oracle | proxy:NAME | random
    recall: dict[int, float]  # m -> share of questions whose gold passage is in the first m
    spread: dict[int, Spread] = {}  # random only: recall@m over seeds
    vs_bm25: dict[int, Difference] = {}  # recall@m minus BM25's, paired over questions (random: mean over seeds)
    accuracy: list[AnswerScore] = []
    cost: Cost  # what the ranking cost (every model): the oracle's answer and the values it ranks by
    note: str = ""


class RerankScreen(ResultModel):
    """The proxy's rankings screened against the oracle's (README "Screening"), questions in order.

    q = deletion AOPC of a ranking on the *oracle's* value table (no extra
    calls); d_i = q_proxy - tau * q_oracle; accepted when the one-sided lower
    bound of mean(d) is above 0.
    """

    proxy: str
    decision: str  # accepted | rejected_futility | rejected_max | rejected_data
    n: int
    tau: float
    confidence: float
    mean_d: float | None
    lower: float | None
    mean_fidelity: float | None  # mean q_proxy / q_oracle
    mean_spearman: float | None  # rho of proxy and oracle Shapley values, averaged over questions
    pooled_spearman: float | None  # rho over every (question, passage) value
    top1_agreement: float  # share of questions where both put the same passage first


class QuestionResult(ResultModel):
    id: str  # FAQ section number
    question: str
    passage_ids: list[str]  # BM25 order
    gold: int | None  # position of the gold passage in BM25 order
    answer: str  # the oracle's greedy answer with all k passages: what the values explain
    oracle_values: list[float]  # exact Shapley values of the answer's log-probability, per passage
    proxy_values: list[float]
    empty_value: float  # v(no passage)
    full_value: float  # v(all k)
    orders: dict[str, list[int]]  # method -> passage positions, best first
    answers: dict[str, dict[int, str]] = {}  # method -> m -> the oracle's answer from the top-m passages


class RetrievalStats(ResultModel):
    questions: int  # FAQ questions (headings with a "?")
    pool: int  # passages (every answered section)
    recall_at_k: float  # of all questions: gold passage in BM25's top k


class RerankReport(Document):
    SCHEMA: ClassVar[str] = "proxyx.rerank/1"

    config: dict
    dataset: str
    k: int
    value: str  # what the Shapley values attribute
    accuracy_metric: str
    retrieval: RetrievalStats
    status: Status = "complete"
    stop_reason: str | None = None  # why it stopped early (max_usd): the questions valued before are kept
    rows: list[RerankRow] = []  # [] when stopped: rankings are compared over every question
    screen: RerankScreen | None = None  # None when stopped
    questions: list[QuestionResult]
    ledger: list[LedgerRow]
    wall_time_s: float
    files: dict[str, str] = {}

    def row(self, method: str) -> RerankRow:
        return next(r for r in self.rows if r.method == method)
