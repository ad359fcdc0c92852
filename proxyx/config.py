"""YAML config -> validated, typed config objects.

Every block maps one-to-one onto constructor arguments. Unknown keys are
errors, and every error names the dotted field and the YAML line:

    explainer.samples: Input should be greater than 0, got -5 (configs/x.yaml:7)

Precedence is explicit: CLI flag > YAML > default (see ``apply_overrides``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from .errors import ConfigError


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Price(_Strict):
    """Dollars per million tokens."""

    input_per_mtok: Annotated[float, Field(ge=0)] = 0.0
    output_per_mtok: Annotated[float, Field(ge=0)] = 0.0


class ModelConfig(_Strict):
    """One model: the oracle or a proxy.

    ``model`` is ``local/gemma-3-270m``, ``local/tfidf-lr``, ``local/vader`` or
    any litellm model string (``openai/gpt-4o-mini``, ``hosted_vllm/...``).
    """

    model: Annotated[str, Field(min_length=1)]
    alias: str | None = None  # a second name for the same model (reports, tests)
    price: Price | None = None  # None: litellm's price map or the local default
    api_base: str | None = None
    api_key_env: str | None = None  # NAME of the environment variable, never the key
    style: Literal["completion", "chat"] = "completion"
    concurrency: Annotated[int, Field(gt=0, le=256)] = 4
    timeout_s: Annotated[float, Field(gt=0)] = 60.0
    max_retries: Annotated[int, Field(ge=0, le=20)] = 4
    top_logprobs: Annotated[int, Field(ge=1, le=20)] = 20
    model_path: str | None = None  # local GGUF file instead of the packaged Gemma
    # local/tfidf-lr only: fit on the oracle's label probabilities for this many training texts
    # (half whole, half with random words removed) instead of the gold labels; see README "Distilled proxy"
    distill: Annotated[int, Field(gt=0)] | None = None

    @property
    def name(self) -> str:
        return self.alias or self.model

    @model_validator(mode="after")
    def _distill_only_tfidf(self) -> "ModelConfig":
        if self.distill is not None and self.model != "local/tfidf-lr":
            raise ValueError(f"distill is for local/tfidf-lr only, not {self.model!r}; remove it from this model")
        return self

    @field_validator("api_key_env")
    @classmethod
    def _looks_like_a_name(cls, v: str | None) -> str | None:
        if v is not None and not v.replace("_", "").isalnum():
            raise ValueError("must be the NAME of an environment variable (e.g. OPENAI_API_KEY), not a key")
        return v


def _model(v: Any) -> Any:
    return {"model": v} if isinstance(v, str) else v


class FewShot(_Strict):
    text: str
    label: str


class TaskConfig(_Strict):
    """Labels, the words that verbalize them, and the prompt for LLM models."""

    labels: Annotated[list[str], Field(min_length=2)] = ["great", "other"]
    verbalizers: dict[str, str] = {"great": "positive", "other": "negative"}
    instruction: str = "Classify the sentiment of each product review as positive or negative."
    template: str = "Review: {text}\nSentiment:"
    few_shot: list[FewShot] = []

    @model_validator(mode="after")
    def _consistent(self) -> "TaskConfig":
        if len(set(self.labels)) != len(self.labels):
            raise ValueError(f"labels must be distinct, got {self.labels}")
        missing = [lab for lab in self.labels if lab not in self.verbalizers]
        if missing:
            raise ValueError(f"verbalizers: no word for label(s) {missing}; add e.g. '{missing[0]}: word'")
        extra = [k for k in self.verbalizers if k not in self.labels]
        if extra:
            raise ValueError(f"verbalizers: {extra} not among labels {self.labels}")
        words = [self.verbalizers[lab] for lab in self.labels]
        if len(set(words)) != len(words):
            raise ValueError(f"verbalizers must be distinct words, got {words}")
        if "{text}" not in self.template:
            raise ValueError("template must contain the placeholder {text}")
        for ex in self.few_shot:
            if ex.label not in self.labels:
                raise ValueError(f"few_shot label {ex.label!r} is not among labels {self.labels}")
        return self

    def word(self, label: str) -> str:
        return self.verbalizers[label]


class DatasetConfig(_Strict):
    name: str | None = "fine_foods"  # built-in data set
    path: str | None = None  # JSONL or CSV file instead of a built-in
    text_field: str = "text"
    label_field: str = "label"
    split: Literal["train", "test"] = "test"
    screen_split: Literal["train", "test"] = "train"
    limit: Annotated[int, Field(gt=0)] | None = None
    max_words: Annotated[int, Field(gt=0)] | None = None  # skip longer texts (quick runs; oracle cost grows with length)
    seed: int = 0

    @model_validator(mode="after")
    def _one_source(self) -> "DatasetConfig":
        if self.path is not None and self.name not in (None, "fine_foods"):
            raise ValueError("give either name (a built-in data set) or path (a file), not both")
        return self


class ExplainerConfig(_Strict):
    method: Literal["lime", "kernel_shap"] = "lime"
    samples: Annotated[int, Field(gt=0)] = 1000
    unit: Literal["word"] = "word"


class ScreenConfig(_Strict):
    """Task-level sequential screen (README "Screening")."""

    enabled: bool = False
    tau: Annotated[float, Field(gt=0, le=1)] = 0.9
    confidence: Annotated[float, Field(gt=0.5, lt=1)] = 0.99
    min_instances: Annotated[int, Field(ge=2)] = 5
    max_instances: Annotated[int, Field(ge=2)] = 50
    all: bool = False  # screen every proxy, not just up to the first accepted
    correct_for_looks: bool = False  # Bonferroni over the looks: overall error <= 1 - confidence

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


class FidelityConfig(_Strict):
    """Score explanations on the oracle (AOPC of deletion)."""

    enabled: bool = False  # also explain proxy-explained instances with the oracle
    k_fraction: Annotated[float, Field(gt=0, le=1)] = 0.2


class BenchConfig(_Strict):
    proxies: list[str] | None = None  # names from the pool; None = all
    methods: list[Literal["lime", "kernel_shap"]] = ["lime", "kernel_shap"]
    samples: Annotated[list[Annotated[int, Field(gt=0)]], Field(min_length=1)] = [1000]


class Config(_Strict):
    seed: int = 0
    oracle: ModelConfig
    proxies: list[ModelConfig] = []
    dataset: DatasetConfig = DatasetConfig()
    task: TaskConfig = TaskConfig()
    explainer: ExplainerConfig = ExplainerConfig()
    gate: bool = True
    screen: ScreenConfig = ScreenConfig()
    fidelity: FidelityConfig = FidelityConfig()
    bench: BenchConfig = BenchConfig()
    cache_dir: str = ".proxyx-cache"
    output: str = "runs/report.json"
    max_usd: Annotated[float, Field(gt=0)] | None = None

    _oracle = field_validator("oracle", mode="before")(lambda cls, v: _model(v))

    @field_validator("proxies", mode="before")
    @classmethod
    def _proxies(cls, v: Any) -> Any:
        return [_model(p) for p in v] if isinstance(v, list) else v

    @field_validator("oracle")
    @classmethod
    def _oracle_not_distilled(cls, v: ModelConfig) -> ModelConfig:
        if v.distill is not None:
            raise ValueError("distill is for proxies (distilled from the oracle), not the oracle; remove it")
        return v

    @model_validator(mode="after")
    def _unique_names(self) -> "Config":
        names = [self.oracle.name] + [p.name for p in self.proxies]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"model names must be unique, {dup} appears twice; give one an 'alias'")
        return self


# --------------------------------------------------------------------------- loading


def _line_index(node: yaml.Node, path: tuple = (), out: dict | None = None) -> dict[tuple, int]:
    """Map every key path of a YAML document to its 1-based line."""
    out = {} if out is None else out
    out.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            sub = path + (key.value,)
            out[sub] = key.start_mark.line + 1
            _line_index(value, sub, out)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            out[path + (i,)] = item.start_mark.line + 1
            _line_index(item, path + (i,), out)
    return out


def _line_of(loc: tuple, lines: dict[tuple, int]) -> int | None:
    loc = tuple(p for p in loc if not (isinstance(p, str) and (p.startswith("function-") or p in {"str", "constrained-int"})))
    for n in range(len(loc), -1, -1):
        if loc[:n] in lines:
            return lines[loc[:n]]
    return None


def _describe(err: dict) -> str:
    loc = ".".join(str(p) for p in err["loc"] if not str(p).startswith("function-")) or "(top level)"
    if err["type"] == "extra_forbidden":
        return f"{loc}: unknown key; check its spelling (see configs/quickstart.yaml for every key)"
    if err["type"] == "missing":
        return f"{loc}: required key is missing"
    msg = err["msg"].removeprefix("Value error, ")
    got = err.get("input")
    tail = "" if isinstance(got, (dict, list)) or got is None else f", got {got!r}"
    return f"{loc}: {msg}{tail}"


def parse_config(data: Any, *, source: str = "<config>", lines: dict[tuple, int] | None = None) -> Config:
    """Validate a loaded YAML document; errors name field and line."""
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: the config must be a YAML mapping (key: value), got {type(data).__name__}")
    try:
        return Config.model_validate(data)
    except ValidationError as e:
        err = e.errors()[0]
        line = _line_of(tuple(err["loc"]), lines or {})
        where = f"{source}:{line}" if line else source
        more = f" (and {e.error_count() - 1} more)" if e.error_count() > 1 else ""
        raise ConfigError(f"{_describe(err)} ({where}){more}") from None


def load_config(path: str | Path) -> Config:
    """Read and validate a YAML config file."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file {str(path)!r} does not exist; pass the path of a YAML config such as configs/quickstart.yaml")
    text = path.read_text(encoding="utf-8")
    try:
        node = yaml.compose(text)
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        raise ConfigError(f"{where}: not valid YAML ({problem}); check indentation and quoting") from None
    lines = _line_index(node) if node is not None else {}
    return parse_config(data, source=str(path), lines=lines)


def apply_overrides(config: Config, **overrides: Any) -> Config:
    """CLI flag > YAML: return a copy with the given dotted keys replaced (None = keep)."""
    data = config.model_dump()
    for dotted, value in overrides.items():
        if value is None:
            continue
        node = data
        *parents, leaf = dotted.split(".")
        for p in parents:
            node = node[p]
        node[leaf] = value
    return parse_config(data, source="command-line options")
