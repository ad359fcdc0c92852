"""The whole config of a run: ``Config``, its root, and the blocks that belong to no command (data set, engine).

Every block maps one-to-one onto constructor arguments; the rules across
blocks (unique model names, generation fields with a generate task) are
checked here, where the whole config is at hand.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator

from .apps import CleanConfig, CompressConfig, DemonstrationsConfig, InfluenceConfig, RerankConfig
from .explain import BenchConfig, ExplainerConfig, FidelityConfig, ScreenConfig
from .models import ModelConfig, Strict, TaskConfig, model_block
from .tasks import TaskBlock, check_generate

#: longer texts are refused (README "Bad input": oracle cost grows with length)
MAX_TEXT_WORDS = 5_000

SPLITS = ("train", "test", "screen")


class DatasetConfig(Strict):
    """Where instances come from (README "Your own data").

    ``path`` is one JSONL/CSV file, or one file per split: ``{train: a.jsonl,
    test: b.jsonl, screen: c.jsonl}`` (``screen`` optional). From one file, if
    a model trains on the data (``local/tfidf-lr``), a seeded
    ``train_fraction`` of its rows is held out as the ``train`` split and the
    rest is ``test`` (``session.split_note``). With ``path``, ``screen_split``
    defaults to the screen file, else to ``test`` (its rows that are not
    explained); with the built-in data set, to ``train``.
    """

    name: str | None = "fine_foods"  # built-in data set
    path: str | dict[str, str] | None = None  # a JSONL or CSV file, or one per split, instead of a built-in
    text_field: str = "text"
    label_field: str = "label"
    split: Literal["train", "test"] = "test"
    screen_split: Literal["train", "test", "screen"] = "train"
    train_fraction: Annotated[float, Field(gt=0, lt=1)] = 0.5  # one file + a model that trains: rows held out for it
    limit: Annotated[int, Field(gt=0)] | None = None  # more than the split holds: the whole split
    # skip longer texts (quick runs; oracle cost grows with length); longer than MAX_TEXT_WORDS is refused
    max_words: Annotated[int, Field(gt=0, le=MAX_TEXT_WORDS)] | None = None
    seed: int = 0
    # task.type: generate with name debian_faq: documents per question (the gold answer among its neighbours),
    # each cut to its first document_words words
    documents: Annotated[int, Field(gt=0, le=64)] = 4
    document_words: Annotated[int, Field(gt=0, le=MAX_TEXT_WORDS)] = 80

    @model_validator(mode="before")
    @classmethod
    def _default_screen_split(cls, data: Any) -> Any:
        """With ``path``: the screen file if there is one, else the test rows (never the ones trained on)."""
        if isinstance(data, dict) and data.get("path") is not None and "screen_split" not in data:
            path = data["path"]
            return {**data, "screen_split": "screen" if isinstance(path, dict) and "screen" in path else "test"}
        return data

    @field_validator("path", mode="before")
    @classmethod
    def _file_or_split_files(cls, v: Any) -> Any:
        if v is None or (isinstance(v, str) and v):
            return v
        if not isinstance(v, dict) or not v:
            raise ValueError("must be a file (path: reviews.jsonl) or one file per split "
                             "(path: {train: train.jsonl, test: test.jsonl, screen: screen.jsonl})")
        unknown = sorted(str(k) for k in v if k not in SPLITS)
        if unknown:
            raise ValueError(f"unknown split {unknown[0]!r}; the splits are {', '.join(SPLITS)}")
        if not all(isinstance(f, str) and f for f in v.values()):
            raise ValueError("each split's file must be a path (a string)")
        return v

    @model_validator(mode="after")
    def _one_source(self) -> "DatasetConfig":
        if self.path is not None and self.name not in (None, "fine_foods"):
            raise ValueError("give either name (a built-in data set) or path (a file), not both")
        files = self.path if isinstance(self.path, dict) else None
        for key, split in (("split", self.split), ("screen_split", self.screen_split)):
            if files is not None and split not in files:
                raise ValueError(f"{key} is {split!r} but path has no {split!r} file; add path.{split} or change {key}")
        if self.screen_split == "screen" and files is None:
            raise ValueError("screen_split 'screen' needs a screen file: path: {test: ..., screen: FILE}")
        return self


class EngineConfig(Strict):
    """Where the instances are explained: this process (``local``), or workers of a Ray cluster (``proxyx.engine``).

    ``address``: ``local`` starts a Ray instance on this machine for the run; ``auto`` joins the cluster this
    machine is part of (``ray start``); ``ray://HOST:PORT`` connects to a remote head node.
    """

    kind: Literal["local", "ray"] = "local"
    address: str = "local"
    workers: Annotated[int, Field(ge=1, le=4096)] = 2
    cpus_per_worker: Annotated[float, Field(gt=0, le=256)] = 1.0


class Config(Strict):
    seed: int = 0
    oracle: ModelConfig
    proxies: list[ModelConfig] = []
    dataset: DatasetConfig = DatasetConfig()
    task: TaskBlock = TaskConfig()  # or task.type: generate, or a registered kind (.tasks)
    explainer: ExplainerConfig = ExplainerConfig()
    gate: bool = True
    screen: ScreenConfig = ScreenConfig()
    fidelity: FidelityConfig = FidelityConfig()
    bench: BenchConfig = BenchConfig()
    demonstrations: DemonstrationsConfig = DemonstrationsConfig()
    compress: CompressConfig = CompressConfig()
    clean: CleanConfig = CleanConfig()
    rerank: RerankConfig = RerankConfig()
    influence: InfluenceConfig = InfluenceConfig()
    engine: EngineConfig = EngineConfig()
    cache_dir: str = ".proxyx-cache"
    output: str = "runs/report.json"
    max_usd: Annotated[float, Field(gt=0)] | None = None

    _oracle = field_validator("oracle", mode="before")(lambda cls, v: model_block(v))

    @field_validator("proxies", mode="before")
    @classmethod
    def _proxies(cls, v: Any) -> Any:
        return [model_block(p) for p in v] if isinstance(v, list) else v

    @field_validator("oracle")
    @classmethod
    def _oracle_not_distilled(cls, v: ModelConfig) -> ModelConfig:
        if v.distill is not None:
            raise ValueError("distill is for proxies (distilled from the oracle), not the oracle; remove it")
        return v

    _generate = model_validator(mode="after")(lambda self: check_generate(self))

    @model_validator(mode="after")
    def _unique_names(self) -> "Config":
        names = [self.oracle.name] + [p.name for p in self.proxies]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"model names must be unique, {dup} appears twice; give one an 'alias'")
        return self
