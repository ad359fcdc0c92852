"""The blocks of a config that only the apps read (``proxyx compress``, ``proxyx clean``, ``proxyx rerank``).

Part of ``proxyx.config`` (which re-exports every name).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from .genconfig import GenTask
from .modelconfig import Strict


class DemonstrationsConfig(Strict):
    """The k-shot prompt of ``compress`` and ``clean``: ``task.few_shot`` when listed, else ``count`` drawn."""

    count: Annotated[int, Field(ge=0, le=64)] = 8
    split: Literal["train", "test"] = "train"
    max_words: Annotated[int, Field(gt=0)] | None = 40  # short demonstrations keep the prompt short
    balanced: bool = True  # as many of each label as the count allows
    seed: int = 0


class PoisonConfig(Strict):
    """Demonstrations whose label ``clean`` flips: the listed 0-based ``indices``, or ``count`` drawn with ``seed``."""

    count: Annotated[int, Field(ge=0)] = 2
    seed: int = 0
    indices: list[Annotated[int, Field(ge=0)]] | None = None


class CompressConfig(Strict):
    """``proxyx compress``: remove prompt units from least to most important (README "Explanations that act").

    ``target: demonstrations``: the prompt's demonstrations (whole, or their words or sentences), ranked once by
    attributions averaged over the validation instances. ``target: input``: each test input's own words or
    sentences, ranked by that input's explanation (no validation instances).
    """

    target: Literal["demonstrations", "input"] = "demonstrations"
    unit: Literal["demonstration", "word", "sentence"] = "demonstration"  # of the target
    validation: Annotated[int, Field(gt=0)] = 20  # instances whose attributions are averaged (demonstrations)
    test: Annotated[int, Field(gt=0)] = 50  # instances on which accuracy is measured
    min_units: Annotated[int, Field(gt=0)] = 1  # input: inputs with fewer units are left out
    steps: Annotated[int, Field(gt=0)] = 10  # word/sentence units: remove 0, 1/steps, 2/steps, ... of them
    keep: Annotated[float, Field(gt=0, le=1)] = 0.9  # the share of the uncompressed accuracy to keep
    random_seeds: Annotated[int, Field(ge=2, le=100)] = 5
    # informed: the proxy-informed estimator (explainer.estimator, oracle_samples) for each proxy
    methods: Annotated[list[Literal["random", "self_information", "proxy", "oracle", "informed"]],
                       Field(min_length=1)] = ["random", "self_information", "proxy", "oracle"]

    @model_validator(mode="after")
    def _unit_of_target(self) -> "CompressConfig":
        if self.target == "input" and self.unit == "demonstration":
            raise ValueError("unit: demonstration is a unit of the prompt, not of the input; with target: input use "
                             "unit: sentence or word")
        return self


class CleanConfig(Strict):
    """``proxyx clean``: flip some demonstrations' labels, find them by gold-label attribution, remove them."""

    poison: PoisonConfig = PoisonConfig()
    validation: Annotated[int, Field(gt=0)] = 20
    test: Annotated[int, Field(gt=0)] = 50
    remove: Literal["negative"] | Annotated[int, Field(gt=0)] = "negative"  # or the m most negative
    random_seeds: Annotated[int, Field(ge=2, le=100)] = 5


class RerankConfig(Strict):
    """``proxyx rerank``: exact document Shapley values of the oracle's answer rerank BM25's top-k passages.

    The screen (``screen.tau``, ``confidence``, ``min_instances``, ``max_instances``) decides on the proxy.
    """

    dataset: Literal["debian_faq"] = "debian_faq"
    k: Annotated[int, Field(ge=1, le=8)] = 5  # passages per question; 2^k oracle calls each (exact Shapley)
    questions: Annotated[int, Field(gt=0)] = 30
    require_gold: bool = True  # ask only questions whose gold passage BM25 retrieves in its top k
    passage_words: Annotated[int, Field(gt=0, le=2000)] = 60  # each passage is cut to its first words
    value: Literal["answer_logprob", "answer_logprob_mean"] = "answer_logprob"
    proxy: Literal["answer_overlap"] = "answer_overlap"  # the cheap value: lexical coverage of the answer
    top: Annotated[list[Annotated[int, Field(gt=0)]], Field(min_length=1)] = [1, 3]  # recall@m, accuracy from m
    random_seeds: Annotated[int, Field(ge=2, le=100)] = 5
    prompt: GenTask = GenTask(instruction="Answer the question in one short sentence, using the context.",
                              max_tokens=24)

    @model_validator(mode="after")
    def _top_within_k(self) -> "RerankConfig":
        over = [m for m in self.top if m > self.k]
        if over:
            raise ValueError(f"top {over[0]} is more than k = {self.k} passages; keep every top value <= k")
        return self


class InfluenceConfig(Strict):
    """``proxyx influence``: gradient training-data attribution and its retrieval benchmark (issue 12)."""

    sources: Annotated[int, Field(ge=4, le=5000)] = 48  # training reviews altered into queries (dev + test)
    dev_fraction: Annotated[float, Field(gt=0, lt=1)] = 0.5  # of the sources: greedy selection sees only these
    strengths: Annotated[list[Annotated[float, Field(gt=0, le=1)]], Field(min_length=1)] = [0.2, 0.5]
    hard: bool = True  # also the strongest queries with the model's own label (the published hard case)
    candidates: Annotated[int, Field(ge=2, le=50)] = 5  # BM25's top k for each query
    dims: Annotated[list[Annotated[int, Field(gt=0, le=1 << 20)]], Field(min_length=1)] = [256, 1024, 4096, 16384]
    max_components: Annotated[int, Field(ge=1, le=20)] = 3  # greedy selection stops here
    random_draws: Annotated[int, Field(ge=1, le=1000)] = 20  # random component sets of the greedy set's size
    max_words: Annotated[int, Field(gt=0, le=2000)] = 60  # training reviews longer than this are left out
    min_words: Annotated[int, Field(gt=0)] = 5
    components: list[str] | None = None  # --text: the components compared (None: the full gradient)
    pool: Annotated[int, Field(ge=1, le=500)] = 20  # --text: BM25 candidates whose gradients are compared
    top: Annotated[int, Field(ge=1)] = 5  # --text: examples listed
    timing_examples: Annotated[int, Field(ge=1, le=50)] = 3  # backward passes timed for the selected components
    threads: Annotated[int, Field(ge=1, le=64)] = 2  # torch CPU threads

    @model_validator(mode="after")
    def _dims_fold(self) -> "InfluenceConfig":
        top = max(self.dims)
        bad = [d for d in self.dims if top % d]
        if bad:
            raise ValueError(f"dims: {bad[0]} does not divide the largest, {top}; use powers of two such as 1024, 4096")
        return self
