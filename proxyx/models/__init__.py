"""Model registry: a config's model string -> a ``Model``.

``MODELS`` maps each built-in name to its builder; ``PREFIXES`` maps a name
prefix (``python:``) to the builder of every name that starts with it; any
other name is handed to litellm (``openai/gpt-4o-mini``, ``hosted_vllm/...``,
``ollama/...``). Adding a backend is one entry here. Builders import their
module (and its optional dependencies) only when their model is used.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from ..config import ModelConfig, TaskConfig
from ..data import Instance
from ..errors import UnknownModel
from .base import Answer, Model, Usage

#: builder(config, task, train=, teacher=, seed=) -> Model
Builder = Callable[..., Model]


def _gemma(config: ModelConfig, task: TaskConfig, **_) -> Model:
    from .llamacpp import LlamaCppModel

    return LlamaCppModel(config=config, task=task)


def _tfidf(config: ModelConfig, task: TaskConfig, *, train=None, teacher=None, seed: int = 0, **_) -> Model:
    from .local import TfidfLogRegModel

    return TfidfLogRegModel(config=config, task=task, train=train or [], teacher=teacher, seed=seed)


def _vader(config: ModelConfig, task: TaskConfig, **_) -> Model:
    from .local import VaderModel

    return VaderModel(config=config, task=task)


def _python(config: ModelConfig, task: TaskConfig, **_) -> Model:
    from .python import PythonModel

    return PythonModel(config=config, task=task)


def _litellm(config: ModelConfig, task: TaskConfig, **_) -> Model:
    _check_litellm_name(config)
    from .llm import LiteLLMModel

    return LiteLLMModel(config=config, task=task)


def _minilm(config: ModelConfig, task: TaskConfig, *, train=None, teacher=None, seed: int = 0, **_) -> Model:
    from .minilm import MiniLMLogRegModel

    return MiniLMLogRegModel(config=config, task=task, train=train or [], teacher=teacher, seed=seed)


def _incontext(config: ModelConfig, task: TaskConfig, **_) -> Model:
    from .incontext import InContextModel

    return InContextModel(config=config, task=task)


MODELS: dict[str, Builder] = {
    "local/gemma-3-270m": _gemma,
    "local/tfidf-lr": _tfidf,
    "local/vader": _vader,
    "local/minilm-lr": _minilm,
    "local/incontext-tfidf": _incontext,  # reads the prompt's demonstrations (proxyx compress / clean)
}
PREFIXES: dict[str, Builder] = {"python:": _python}
#: every name that is not above: a litellm model string
FALLBACK: Builder = _litellm

LOCAL_MODELS = tuple(MODELS)


def _known() -> str:
    return ", ".join([*MODELS, "python:package.module:callable"])


def build_model(config: ModelConfig, task: TaskConfig, *, train: list[Instance] | None = None,
                teacher=None, seed: int = 0) -> Model:
    """The model a config block names (constructed only: nothing is loaded yet).

    ``train`` is the training split (``local/tfidf-lr``); ``teacher`` and
    ``seed`` are for a distilled ``local/tfidf-lr`` (``config.distill``).
    """
    name = config.model
    builder = MODELS.get(name) or next((b for p, b in PREFIXES.items() if name.startswith(p)), None)
    if builder is None and name.startswith("local/"):
        raise UnknownModel(f"unknown model {name!r}; known models: {_known()}, "
                           "or a litellm model string such as openai/gpt-4o-mini")
    return (builder or FALLBACK)(config, task, train=train, teacher=teacher, seed=seed)


def _check_litellm_name(config: ModelConfig) -> None:
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    try:
        import litellm
    except ImportError:  # pragma: no cover - litellm is a core dependency
        raise UnknownModel(f"model {config.model!r} needs litellm: pip install litellm") from None
    litellm.suppress_debug_info = True  # it prints a provider list on stdout otherwise
    models = [d.model or config.model for d in config.deployments or []] or [config.model]
    bases = [d.api_base for d in config.deployments or []] or [config.api_base]
    for model, base in zip(models, bases):
        try:
            litellm.get_llm_provider(model, api_base=base)
        except Exception:
            raise UnknownModel(
                f"unknown model {model!r}: not one of {_known()}, and litellm knows no provider for it; "
                "use 'provider/model', e.g. openai/gpt-4o-mini or hosted_vllm/NAME with api_base"
            ) from None


__all__ = ["Answer", "FALLBACK", "LOCAL_MODELS", "MODELS", "Model", "PREFIXES", "Usage", "build_model"]
