"""The blocks of a config that only the apps read (``proxyx compress``, ``clean``, ``rerank``, ``influence``)."""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import Field, model_validator

from .models import Strict
from .tasks import GenTask


class DemonstrationsConfig(Strict):
    """The k-shot prompt of ``compress`` and ``clean``: ``task.few_shot`` when listed, else ``count`` drawn."""

    count: Annotated[int, Field(ge=0, le=64)] = 8
    split: Literal["train", "test"] = "train"
    max_words: Annotated[int, Field(gt=0)] | None = 40  # short demonstrations keep the prompt short
    balanced: bool = True  # as many of each label as the count allows
    seed: int = 0


class PoisonConfig(Strict):
    """Demonstrations whose label ``clean`` flips (``proxyx.apps.poison``).

    ``count`` of them, as many of each label as the count allows, each a text whose label is clear by
    signals that do not read the prompt: VADER's probability of its gold label is at least ``vader_min``
    and, when ``oracle_min`` is set, so is the oracle's asked zero-shot. Or exactly the listed 0-based
    ``indices`` (no check).
    """

    count: Annotated[int, Field(ge=0, le=64)] | None = None  # None: DEFAULT_COUNT, unless indices are given
    seed: int = 0
    indices: list[Annotated[int, Field(ge=0)]] | None = None
    vader_min: Annotated[float, Field(ge=0.5, le=1)] | None = 0.8  # None: no VADER check
    oracle_min: Annotated[float, Field(ge=0.5, le=1)] | None = None  # None: no zero-shot oracle check

    DEFAULT_COUNT: ClassVar[int] = 2

    @property
    def drawn(self) -> int:
        """How many labels are drawn to flip (without ``indices``)."""
        return self.DEFAULT_COUNT if self.count is None else self.count

    @model_validator(mode="after")
    def _count_or_indices(self) -> "PoisonConfig":
        if self.indices is not None and self.count is not None:
            raise ValueError(f"give count ({self.count} drawn with seed) or indices ({self.indices}), not both; "
                             "remove one")
        return self


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
    """``proxyx clean``: flip some demonstrations' labels, find them by gold-label attribution, remove them.

    Each of ``seeds`` runs draws its own prompt, poisoned demonstrations and validation reviews; the test
    reviews stay the same. ``estimators``: the proxy-informed estimators run per proxy (default: only
    ``explainer.estimator`` when it is not plain), each with ``explainer.oracle_samples`` oracle answers.
    """

    poison: PoisonConfig = PoisonConfig()
    seeds: Annotated[int, Field(ge=1, le=50)] = 5
    validation: Annotated[int, Field(gt=0)] = 20
    test: Annotated[int, Field(gt=0)] = 50
    balanced: bool = True  # validation and test reviews: as many of each label as the count allows
    remove: Literal["negative"] | Annotated[int, Field(gt=0)] = "negative"  # or the m most negative
    random_seeds: Annotated[int, Field(ge=2, le=100)] = 5  # random removals of poison.count per seed
    methods: Annotated[list[Literal["oracle", "proxy", "leave_one_out", "random"]], Field(min_length=1)] = \
        ["oracle", "proxy", "leave_one_out", "random"]
    estimators: list[Literal["prior", "control_variate", "regression_adjusted", "prior_control_variate"]] | None = None


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
    """``proxyx influence``: gradient training-data attribution and its retrieval benchmark (issues 12, 22)."""

    sources: Annotated[int, Field(ge=4, le=5000)] = 48  # training reviews paraphrased into queries (dev + test)
    dev_fraction: Annotated[float, Field(gt=0, lt=1)] = 0.5  # of the sources: greedy selection sees only these
    # query settings (proxyx/influence/bench.py): WordNet synonyms, the same with clauses reordered, Gemma's
    # filtered paraphrase, and that paraphrase labelled with the oracle's own prediction
    settings: Annotated[list[Literal["wordnet", "wordnet_reordered", "gemma", "gemma_oracle_label"]],
                        Field(min_length=1)] = ["wordnet", "wordnet_reordered", "gemma", "gemma_oracle_label"]
    synonym_rate: Annotated[float, Field(gt=0, le=1)] = 1.0  # share of content words with a WordNet synonym replaced
    min_similarity: Annotated[float, Field(ge=-1, le=1)] = 0.7  # Gemma paraphrase: MiniLM cosine to the source
    max_overlap: Annotated[float, Field(gt=0, le=1)] = 0.8  # Gemma paraphrase: share of its content words in the source
    candidates: Annotated[int, Field(ge=5, le=50)] = 10  # BM25's top k for each query (the source put in last if missing)
    dims: Annotated[list[Annotated[int, Field(gt=0, le=1 << 20)]], Field(min_length=1)] = [1024, 4096, 16384, 65536]
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
