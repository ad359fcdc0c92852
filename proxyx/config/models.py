"""The model blocks of a config: ``ModelConfig`` (oracle and proxies) and ``TaskConfig`` (labels and prompt).

Also ``Strict``, the base of every block: unknown keys are errors, and a
block is frozen once read.
"""

from __future__ import annotations

import string
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_serializer, field_validator, model_validator

from ..errors import ConfigError, redact


def check_placeholders(template: str, names: tuple[str, ...], takes: str, missing) -> str:
    """``template`` with only the placeholders ``names``, each at least once, plain, braces balanced
    (``{{`` and ``}}`` are literal braces). ``takes`` says what it takes, ``missing(name)`` the error."""
    try:
        fields = [(n, spec, conv) for _, n, spec, conv in string.Formatter().parse(template) if n is not None]
    except ValueError as e:
        raise ValueError(f"unbalanced braces ({e}); write {{{{ and }}}} for literal braces") from None
    for name, spec, conv in fields:
        if name not in names:
            raise ValueError(f"unknown placeholder {{{name}}}; {takes} (write {{{{ and }}}} for literal braces)")
        if spec or conv:
            raise ValueError(f"write the placeholder as plain {{{name}}}, without a conversion or format spec")
    for need in names:
        if need not in {n for n, _, _ in fields}:
            raise ValueError(missing(need))
    return template

class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def registered(lookup) -> AfterValidator:
    """A field's check that ``lookup(value)`` (a registry's: ``explainer_class``, ``task_class``) finds what the
    value names; the registry's ``ConfigError`` (what is known, how to fix it) becomes the field's error."""
    def check(value: str) -> str:
        try:
            lookup(value)
        except ConfigError as e:
            raise ValueError(str(e)) from None
        return value
    return AfterValidator(check)


class Price(Strict):
    """Dollars per million tokens."""

    input_per_mtok: Annotated[float, Field(ge=0)] = 0.0
    output_per_mtok: Annotated[float, Field(ge=0)] = 0.0


def _env_name(v: str | None) -> str | None:
    if v is not None and not v.replace("_", "").isalnum():
        raise ValueError("must be the NAME of an environment variable (e.g. OPENAI_API_KEY), not a key")
    return v


def _url_without_credentials(v: str | None) -> str | None:
    """``api_base`` as reports show it: without ``user:password@`` (the config keeps it for the calls)."""
    return None if v is None else redact(v)


class Deployment(Strict):
    """One endpoint serving a model; a model's calls are spread over its deployments by litellm's Router."""

    api_base: str | None = None
    api_key_env: str | None = None  # NAME of the variable; default: the model block's api_key_env
    model: str | None = None  # the litellm model string at this endpoint; default: the model block's

    _key_env = field_validator("api_key_env")(lambda cls, v: _env_name(v))
    _shown_base = field_serializer("api_base", when_used="json")(lambda self, v: _url_without_credentials(v))


class ModelConfig(Strict):
    """One model: the oracle or a proxy.

    ``model`` is a name of the model registry (``proxyx.models.MODELS``: the
    embedded Gemma, ``local/tfidf-lr``, ``local/vader``, ...),
    ``python:package.module:callable`` (``proxyx.models.python``) or any litellm
    model string (``openai/gpt-4o-mini``, ``hosted_vllm/...``). Fields at their
    default never enter ``Model.fingerprint`` (cache compatibility).
    """

    model: Annotated[str, Field(min_length=1)]
    alias: str | None = None  # a second name for the same model (reports, tests)
    price: Price | None = None  # None: litellm's price map or the local default
    api_base: str | None = None
    api_key_env: str | None = None  # NAME of the environment variable, never the key
    # several endpoints of this one model (litellm's Router spreads the calls); cache and ledger see one model
    deployments: Annotated[list[Deployment], Field(min_length=1)] | None = None
    style: Literal["completion", "chat"] = "completion"
    # chat only: "fold" puts the instruction into the first user turn, for chat templates (llama.cpp's
    # gemma) that drop system messages
    system_prompt: Literal["system", "fold"] = "system"
    concurrency: Annotated[int, Field(gt=0, le=256)] = 4
    timeout_s: Annotated[float, Field(gt=0)] = 60.0
    max_retries: Annotated[int, Field(ge=0, le=20)] = 4
    top_logprobs: Annotated[int, Field(ge=1, le=20)] = 20
    model_path: str | None = None  # local GGUF file instead of the packaged Gemma
    # local/tfidf-lr and local/minilm-lr only: fit on the oracle's label probabilities for this many training texts
    # (half whole, half with random words removed) instead of the gold labels; see README "Distilled proxy"
    distill: Annotated[int, Field(gt=0)] | None = None
    # a model that runs on this machine's CPU only (``Model.cpu_threads``; checked when it is built): its CPU threads (default 2). 1 is faster on a machine other jobs keep busy
    # (2 threads wait on each other at every operation); the answers are the same, so it is not in the cache key
    threads: Annotated[int, Field(gt=0, le=64)] | None = None

    _shown_base = field_serializer("api_base", when_used="json")(lambda self, v: _url_without_credentials(v))

    @property
    def name(self) -> str:
        return self.alias or self.model

    @model_validator(mode="after")
    def _distill_only_tfidf(self) -> "ModelConfig":
        if self.distill is not None and self.model not in ("local/tfidf-lr", "local/minilm-lr"):
            raise ValueError(f"distill is for local/tfidf-lr and local/minilm-lr only, not {self.model!r}; "
                             "remove it from this model")
        return self

    @model_validator(mode="after")
    def _deployments_and_chat_options(self) -> "ModelConfig":
        if self.deployments is not None:
            if self.model.startswith(("local/", "python:")):
                raise ValueError(f"deployments are for litellm models, not {self.model!r}; remove them")
            if self.api_base is not None:
                raise ValueError("give api_base in each deployment, not also in the model block")
        if self.system_prompt != "system" and self.style != "chat":
            raise ValueError("system_prompt applies to style: chat only; remove it or set style: chat")
        return self

    @field_validator("api_key_env")
    @classmethod
    def _looks_like_a_name(cls, v: str | None) -> str | None:
        return _env_name(v)


def model_block(v: Any) -> Any:
    return {"model": v} if isinstance(v, str) else v


#: characters that show nothing: zero-width spaces and joiners, the word joiner, the BOM
_INVISIBLE = "\u200b\u200c\u200d\u2060\ufeff"


def is_blank(text: str) -> bool:
    """Nothing a reader (or a model) would see: empty, whitespace or zero-width characters only."""
    return all(c.isspace() or c in _INVISIBLE for c in text)


class FewShot(Strict):
    text: str
    label: str

    @field_validator("text")
    @classmethod
    def _not_blank(cls, v: str) -> str:
        if is_blank(v):
            raise ValueError("empty demonstration (only spaces or invisible characters); write its text or remove it")
        return v


class TaskConfig(Strict):
    """Labels, the words that verbalize them, and the prompt for LLM models."""

    labels: Annotated[list[str], Field(min_length=2)] = ["great", "other"]
    verbalizers: dict[str, str] = {"great": "positive", "other": "negative"}
    instruction: str = "Classify the sentiment of each product review as positive or negative."
    template: str = "Review: {text}\nSentiment:"
    few_shot: list[FewShot] = []

    @field_validator("template")
    @classmethod
    def _one_placeholder(cls, v: str) -> str:
        """Only ``{text}``, at least once, braces balanced (``{{`` and ``}}`` are literal braces)."""
        return check_placeholders(v, ("text",), "the only placeholder is {text}",
                                  lambda need: "template must contain the placeholder {text}, where the text goes")

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
        for ex in self.few_shot:
            if ex.label not in self.labels:
                raise ValueError(f"few_shot label {ex.label!r} is not among labels {self.labels}")
        return self

    def word(self, label: str) -> str:
        return self.verbalizers[label]
