"""Typed results of ``proxyx influence``: the retrieval benchmark and a lookup of one text."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from .core import Cost, Document, ResultModel, Status


class MethodScore(ResultModel):
    """Retrieval of the sources of one setting's test queries by one representation."""

    setting: str
    method: str  # bm25 | random | full | projection | greedy | random_components
    representation: str  # readable: "full gradient", "CountSketch d=1024", "2 selected components", ...
    components: list[str] | None = None  # the components used (greedy, random_components)
    dims: int | None = None  # projection: d
    params: int  # gradient entries the representation is made from (0: BM25, random; random_components: mean)
    n: int  # test queries
    top1: float  # share whose source ranks first among the candidates (random: expected)
    low: float  # its 95% interval: Wilson (random_components: 2.5-97.5% of the draws)
    high: float
    top5: float  # share whose source ranks in the first five
    top1_of_5: float  # the published protocol: first among BM25's top 5, the source put in fifth when missing
    seconds_per_example: float | None = None  # gradient (+ projection) time of one example

    @property
    def key(self) -> str:
        """The method's name in docs/tables/influence.json: bm25, full, projection_4096, greedy, ..."""
        return f"projection_{self.dims}" if self.method == "projection" else self.method


class FilterCounts(ResultModel):
    """Gemma paraphrases: how many sources got one, and how many passed each filter step in turn."""

    generated: int
    similar: int  # MiniLM cosine to the source >= min_similarity
    same_label: int  # and the oracle's label equals its label of the source
    rewritten: int  # and at most max_overlap of its content words are the source's: kept
    min_similarity: float
    max_overlap: float


class SettingInfo(ResultModel):
    name: str
    description: str
    model_labels: bool  # the query's label is the model's own prediction
    queries: int  # all (dev + test) that have a query in this setting
    test_queries: int
    bm25_recall: float  # share of test queries whose source is in BM25's candidates before it is put in
    labels_changed: int  # queries whose label differs from the source's (model_labels only)
    selected: list[str] = []  # greedy components, chosen on the dev queries


class Published(ResultModel):
    """"Select or project" (arXiv 2601.16651), AMD-OLMo-1B-SFT on LIMA, top-1 among BM25's top 5, for comparison."""

    paraphrased: dict[str, float] = {"greedy": 0.998, "random projection": 0.994, "full gradient": 0.993, "bm25": 0.836}
    model_generated: str = "gradient methods 0.22-0.36, BM25 0.836"


class InfluenceBench(Document):
    """``proxyx influence CONFIG``: which training review is the source of a paraphrase, by gradient cosine."""

    SCHEMA: ClassVar[str] = "proxyx.influence-bench/2"
    schema_name: Literal["proxyx.influence-bench/2"] = Field("proxyx.influence-bench/2", alias="schema")
    model: str
    status: Status = "complete"
    stop_reason: str | None = None  # max_usd stopped the oracle's paraphrases or labels: nothing was scored
    training_examples: int
    candidates: int
    dev_sources: int
    test_sources: int
    components: int | None = None  # None: stopped before the gradients
    parameters: int | None = None
    seed: int
    settings: list[SettingInfo]
    scores: list[MethodScore]
    paraphrases: FilterCounts | None = None  # the Gemma settings' filter
    cost: Cost  # gradient computations: calls, tokens, seconds (paid this run, and nominal)
    oracle_cost: Cost  # the oracle: paraphrases and labels
    peak_rss_gb: float | None = None  # the largest peak memory of the processes that computed the gradients used
    seconds_per_1000: float | None = None  # gradient + projection seconds per 1,000 examples (mean over those used)
    wall_seconds: float
    published: Published = Published()

    def table(self) -> dict:
        """docs/tables/influence.json: peak memory, and top-1 / top-5 of every method in every setting."""
        out: dict = {"peak_rss_gb": round(self.peak_rss_gb, 2), "settings": {}}
        for m in self.scores:
            out["settings"].setdefault(m.setting, {})[m.key] = {"top1": round(m.top1, 4), "top5": round(m.top5, 4)}
        return out


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
    status: Status = "complete"
    stop_reason: str | None = None  # max_usd stopped the oracle's label of the text: nothing was compared
    text: str
    label: str | None  # None: stopped before the oracle labelled the text
    label_source: Literal["given", "model"]
    representation: str
    components: list[str]
    params: int
    pool: int  # BM25 candidates whose gradients were compared
    matches: list[Match]
    cost: Cost
    wall_seconds: float
