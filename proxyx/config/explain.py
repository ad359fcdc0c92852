"""YAML config -> validated, typed config objects.

Every block maps one-to-one onto constructor arguments. Unknown keys are
errors, and every error names the dotted field and the YAML line:

    explainer.samples: Input should be greater than 0, got -5 (configs/x.yaml:7)

Precedence is explicit: CLI flag > YAML > default (see ``apply_overrides``).
Over 350 lines on purpose: the checks across blocks (budgets, estimators,
samplers, the bench against the explainer) need the whole config in one place;
the blocks themselves live in modelconfig, genconfig, appconfig and engine.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, ValidationError, field_validator, model_validator

from .errors import ConfigError
from .validation import describe, key_path
from .yamlload import load_yaml

#: bounds that stop a typo from paying for millions of calls (README "Bad input")
MAX_SAMPLES = 100_000
MAX_TEXT_WORDS = 5_000


from .appconfig import (CleanConfig, CompressConfig, DemonstrationsConfig, InfluenceConfig,  # noqa: F401
                        PoisonConfig, RerankConfig)
from .engine import EngineConfig  # noqa: F401 (re-exported)
from .genconfig import GenerateTask, GenTask, HierarchyConfig, TaskBlock, check_generate  # noqa: F401
from .modelconfig import (Deployment, FewShot, ModelConfig, Price, Strict, TaskConfig,  # noqa: F401 (re-exported)
                          model_block)


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
    method: Literal["lime", "kernel_shap"] = "lime"
    samples: Annotated[int, Field(gt=0, le=MAX_SAMPLES)] = 1000
    unit: Literal["word", "sentence", "demonstration", "document"] = "word"  # proxyx.perturb owns what a unit is
    # task.type: generate only (proxyx.genconfig): what a perturbed context is worth, and coarse-to-fine levels
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
        if self.sampler == "leverage" and self.method != "kernel_shap":
            raise ValueError("sampler 'leverage' is for method: kernel_shap (LIME already draws every size equally "
                             "often); remove sampler or set method: kernel_shap")
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
    methods: list[Literal["lime", "kernel_shap"]] = ["lime", "kernel_shap"]
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


class Config(Strict):
    seed: int = 0
    oracle: ModelConfig
    proxies: list[ModelConfig] = []
    dataset: DatasetConfig = DatasetConfig()
    task: TaskBlock = TaskConfig()  # or task.type: generate (proxyx.genconfig)
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


# --------------------------------------------------------------------------- loading


#: a secret's shape: the value of api_key_env is never echoed when it looks like one
_KEY_PREFIXES = ("sk-", "sk_", "pk-", "hf_", "gsk_", "xai-", "ghp_", "gho_", "github_pat_", "AIza", "r8_", "pplx-", "nvapi-")


def _looks_like_a_key(value: str) -> bool:
    """Not a shell variable name, a known key prefix, or long mixed-case-and-digits without an underscore."""
    if not value.isascii() or not (value[:1].isalpha() or value[:1] == "_") or not value.replace("_", "").isalnum():
        return True
    mixed = any(c.islower() for c in value) and any(c.isupper() for c in value) and any(c.isdigit() for c in value)
    return value.startswith(_KEY_PREFIXES) or (len(value) >= 20 and mixed and "_" not in value)


def _key_env_paths(config: Config) -> list[tuple[tuple, str]]:
    out = []
    for where, m in [(("oracle",), config.oracle), *((("proxies", i), p) for i, p in enumerate(config.proxies))]:
        if m.api_key_env:
            out.append(((*where, "api_key_env"), m.api_key_env))
        for j, d in enumerate(getattr(m, "deployments", None) or []):
            if d.api_key_env:
                out.append(((*where, "deployments", j, "api_key_env"), d.api_key_env))
    return out


def _line_of(loc: tuple, lines: dict[tuple, int]) -> int | None:
    loc = key_path(loc)
    for n in range(len(loc), -1, -1):
        if loc[:n] in lines:
            return lines[loc[:n]]
    return None


def parse_config(data: Any, *, source: str = "<config>", lines: dict[tuple, int] | None = None) -> Config:
    """Validate a loaded YAML document; errors name field and line."""
    if data is None:
        raise ConfigError(f"{source}: the config is empty; start from configs/quickstart.yaml")
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: the config must be a YAML mapping (key: value), got {type(data).__name__}")
    try:
        config = Config.model_validate(data)
    except ValidationError as e:
        errors = e.errors()
        path, message = describe(errors)
        line = _line_of(path, lines or {})
        where = f"{source}:{line}" if line else source
        others = sum(key_path(tuple(err["loc"])) != path for err in errors)
        more = f" (and {others} more)" if others else ""
        raise ConfigError(f"{message} ({where}){more}") from None
    for loc, value in _key_env_paths(config):
        if _looks_like_a_key(value):
            line = _line_of(loc, lines or {})
            raise ConfigError(
                f"{'.'.join(map(str, loc))}: this looks like an API key, not the NAME of an environment variable "
                "(the value is not shown); put the key in a variable (export OPENAI_API_KEY=...) and write its name, "
                f"e.g. api_key_env: OPENAI_API_KEY; if it is a real key, treat it as exposed "
                f"({f'{source}:{line}' if line else source})")
    return config


def load_config(path: str | Path) -> Config:
    """Read and validate a YAML config file (UTF-8, no duplicate keys, bounded size: ``proxyx.yamlload``)."""
    path = Path(path)
    data, lines = load_yaml(path)
    return parse_config(data, source=str(path), lines=lines)


class _Unset:
    def __repr__(self) -> str:
        return "UNSET"


#: an ``apply_overrides`` value that removes a field, so that its default applies
UNSET: Any = _Unset()


def apply_overrides(config: Config, **overrides: Any) -> Config:
    """CLI flag > YAML: return a copy with the given dotted keys replaced (None = keep, ``UNSET`` = the default)."""
    data = config.model_dump()
    for dotted, value in overrides.items():
        if value is None:
            continue
        node = data
        *parents, leaf = dotted.split(".")
        for p in parents:
            node = node[p]
        if value is UNSET:
            node.pop(leaf, None)
        else:
            node[leaf] = value
    return parse_config(data, source="command-line options")
