"""Model registry: a config's model string -> its backend class -> a ``Model``.

``MODELS`` maps each built-in name to its backend class (``"module:Class"``
under ``proxyx.models``, imported on first use, or the class itself); ``PREFIXES`` maps a name
prefix (``python:``) to the class of every name that starts with it; any
other name is a litellm model (``FALLBACK``: ``openai/gpt-4o-mini``,
``hosted_vllm/...``, ``ollama/...``). One class per engine serves every task
it can: label probabilities, and for an LLM generated text too. Adding a
backend is one class and one entry here: the class builds itself
(``Model.build``) and declares what it can do (``default_price``,
``answers_prompts``, ``reads_demonstrations``, ``trains``, ``generates``,
``token_logprobs``, ``gradients``, ``cpu_threads``), which the rest of proxyx
asks through ``model_class(name)`` and ``names_with(capability)``, never by
name; ``build_model`` builds it for a classifier task or a generation task.
Backend modules import their optional dependencies only when a model is used.
"""

from __future__ import annotations

from importlib import import_module

from ..config import GenTask, ModelConfig, TaskConfig
from ..data import Instance
from ..errors import ConfigError, UnknownModel
from .base import Answer, Model, Usage
from .generated import Decoded, Scored, TokenScores

#: the model that runs offline in this process and can do everything (oracle, generator, gradients)
EMBEDDED_LLM = "local/gemma-3-270m"

MODELS: dict[str, str | type[Model]] = {
    EMBEDDED_LLM: "llamacpp:LlamaCppModel",
    "local/tfidf-lr": "local:TfidfLogRegModel",
    "local/vader": "local:VaderModel",
    "local/minilm-lr": "minilm:MiniLMLogRegModel",
    "local/incontext-tfidf": "incontext:InContextModel",  # reads the prompt's demonstrations (proxyx compress / clean)
    "local/learned": "learned:LearnedModel",  # learns from the oracle during proxyx explain (models/learned.py)
}
PREFIXES: dict[str, str | type[Model]] = {"python:": "python:PythonModel"}
#: every name that is not above: a litellm model string
FALLBACK = "llm:LiteLLMModel"

LOCAL_MODELS = tuple(MODELS)


def known_names() -> str:
    """The names a config may use, for error messages."""
    return ", ".join([*MODELS, "python:package.module:callable"])


def model_class(name: str) -> type[Model]:
    """The backend class of a model name (its module imported; nothing built or loaded): read its capabilities.

    An unknown ``local/`` name raises ``UnknownModel``; any other unknown name is litellm's to judge when built.
    """
    path = MODELS.get(name) or next((p for prefix, p in PREFIXES.items() if name.startswith(prefix)), None)
    if path is None and name.startswith("local/"):
        raise UnknownModel(f"unknown model {name!r}; known models: {known_names()}, "
                           "or a litellm model string such as openai/gpt-4o-mini")
    path = path or FALLBACK
    if isinstance(path, type):
        return path
    module, _, cls = path.partition(":")
    return getattr(import_module(f"{__name__}.{module}"), cls)


def names_with(capability: str) -> list[str]:
    """The built-in model names whose backend declares ``capability`` (e.g. ``"gradients"``)."""
    return [name for name in MODELS if getattr(model_class(name), capability)]


def build_model(config: ModelConfig, task: TaskConfig | GenTask, *, train: list[Instance] | None = None,
                teacher=None, seed: int = 0, **options) -> Model:
    """The model a config block names, for a classifier task or a generation task (constructed only: nothing is
    loaded yet).

    ``train`` is the training split (``local/tfidf-lr``); ``teacher`` and
    ``seed`` are for a distilled ``local/tfidf-lr`` (``config.distill``);
    ``options`` go to an in-process LLM (``n_ctx``, ``n_threads``, ``block``;
    other backends ignore them). ``ConfigError`` when the model cannot do the
    task or does not take a field the block sets.
    """
    cls = model_class(config.model)
    if isinstance(task, GenTask) and not cls.generates:
        raise ConfigError(f"{config.model!r} cannot generate text; a generate task needs an LLM: "
                          f"{', '.join(names_with('generates'))} or a litellm model string "
                          "(openai/..., hosted_vllm/...)")
    if config.threads is not None and not cls.cpu_threads:
        raise ConfigError(f"threads is for {', '.join(names_with('cpu_threads'))} only, not {config.model!r}; "
                          "remove it from this model")
    return cls.build(config, task, train=train, teacher=teacher, seed=seed, **options)


__all__ = ["Answer", "Decoded", "EMBEDDED_LLM", "FALLBACK", "LOCAL_MODELS", "MODELS", "Model", "PREFIXES", "Scored",
           "TokenScores", "Usage", "build_model", "known_names", "model_class", "names_with"]
