"""Typed results of ``proxyx influence``: the retrieval benchmark and a lookup of one text."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from .core import Cost, Document, ResultModel


class MethodScore(ResultModel):
    """Top-1 accuracy of one representation in one setting, on the test queries."""

    setting: str
    method: str  # bm25 | random | full | projection | greedy | random_components
    representation: str  # readable: "full gradient", "CountSketch d=1024", "2 selected components", ...
    components: list[str] | None = None  # the components used (greedy, random_components)
    dims: int | None = None  # projection: d
    params: int  # gradient entries the representation is made from (0: BM25, random; random_components: mean)
    correct: float  # queries whose source ranked first (random: expected)
    n: int
    accuracy: float
    low: float  # 95% interval: Wilson (random_components: 2.5-97.5% of the draws)
    high: float
    seconds_per_example: float | None = None  # gradient (+ projection) time of one example


class SettingInfo(ResultModel):
    name: str
    description: str
    strength: float
    model_labels: bool  # the query's label is the model's own prediction (the hard setting)
    queries: int  # all (dev + test)
    test_queries: int
    recall_at_k: float  # share of test queries whose source is among BM25's candidates
    labels_changed: int  # queries whose label differs from the source's (model_labels only)
    selected: list[str] = []  # greedy components, chosen on the dev queries


class Published(ResultModel):
    """"Select or project" (arXiv 2601.16651), AMD-OLMo-1B, for comparison."""

    paraphrased: dict[str, float] = {"greedy": 0.998, "random projection": 0.994, "full gradient": 0.993, "bm25": 0.836}
    model_generated: str = "gradient methods 0.22-0.36, BM25 0.836"


class InfluenceBench(Document):
    """``proxyx influence CONFIG``: which training review is the source of an altered copy, by gradient cosine."""

    SCHEMA: ClassVar[str] = "proxyx.influence-bench/1"
    schema_name: Literal["proxyx.influence-bench/1"] = Field("proxyx.influence-bench/1", alias="schema")
    model: str
    training_examples: int
    candidates: int
    dev_sources: int
    test_sources: int
    components: int
    parameters: int
    seed: int
    settings: list[SettingInfo]
    scores: list[MethodScore]
    cost: Cost  # gradient computations: calls, tokens, seconds (paid this run, and nominal)
    oracle_cost: Cost  # the oracle's predictions for the hard setting
    wall_seconds: float
    published: Published = Published()


class Match(ResultModel):
    rank: int
    id: str
    text: str
    label: str
    score: float  # gradient cosine with the query
    bm25_rank: int


class InfluenceLookup(Document):
    """``proxyx influence CONFIG --text``: the training examples whose gradients are closest to the text's."""

    SCHEMA: ClassVar[str] = "proxyx.influence-lookup/1"
    schema_name: Literal["proxyx.influence-lookup/1"] = Field("proxyx.influence-lookup/1", alias="schema")
    model: str
    text: str
    label: str
    label_source: Literal["given", "model"]
    representation: str
    components: list[str]
    params: int
    pool: int  # BM25 candidates whose gradients were compared
    matches: list[Match]
    cost: Cost
    wall_seconds: float
