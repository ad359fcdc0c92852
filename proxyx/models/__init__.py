"""Model registry: a config's model string -> a ``Model``.

``local/...`` names are the embedded models; anything else is handed to
litellm (``openai/gpt-4o-mini``, ``hosted_vllm/...``, ``ollama/...``).
Optional dependencies are imported only when their model is used.
"""

from __future__ import annotations

import os

from ..config import ModelConfig, TaskConfig
from ..data import Instance
from ..errors import UnknownModel
from .base import Answer, Model, Usage

LOCAL_MODELS = ("local/gemma-3-270m", "local/tfidf-lr", "local/vader")


def build_model(config: ModelConfig, task: TaskConfig, *, train: list[Instance] | None = None,
                teacher=None, seed: int = 0) -> Model:
    """The model a config block names (constructed only: nothing is loaded yet).

    ``teacher`` and ``seed`` are for a distilled ``local/tfidf-lr`` (``config.distill``).
    """
    name = config.model
    if name == "local/gemma-3-270m":
        from .llamacpp import LlamaCppModel

        return LlamaCppModel(config=config, task=task)
    if name == "local/tfidf-lr":
        from .local import TfidfLogRegModel

        return TfidfLogRegModel(config=config, task=task, train=train or [], teacher=teacher, seed=seed)
    if name == "local/vader":
        from .local import VaderModel

        return VaderModel(config=config, task=task)
    if name.startswith("local/"):
        raise UnknownModel(f"unknown model {name!r}; local models are {', '.join(LOCAL_MODELS)}, "
                           "or use a litellm model string such as openai/gpt-4o-mini")
    _check_litellm_name(config)
    from .llm import LiteLLMModel

    return LiteLLMModel(config=config, task=task)


def _check_litellm_name(config: ModelConfig) -> None:
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    try:
        import litellm
    except ImportError:  # pragma: no cover - litellm is a core dependency
        raise UnknownModel(f"model {config.model!r} needs litellm: pip install litellm") from None
    litellm.suppress_debug_info = True  # it prints a provider list on stdout otherwise
    try:
        litellm.get_llm_provider(config.model, api_base=config.api_base)
    except Exception:
        raise UnknownModel(
            f"unknown model {config.model!r}: not a local model ({', '.join(LOCAL_MODELS)}) and litellm knows no "
            "provider for it; use 'provider/model', e.g. openai/gpt-4o-mini or hosted_vllm/NAME with api_base"
        ) from None


__all__ = ["Answer", "LOCAL_MODELS", "Model", "Usage", "build_model"]
