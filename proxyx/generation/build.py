"""A config's model block + a generation task -> a ``Generator`` behind the cache and the ledger."""

from __future__ import annotations

from ..cache import CallCache
from ..config import ModelConfig
from ..errors import ConfigError
from ..genconfig import GenTask
from ..ledger import Ledger
from .backend import GenBackend
from .scorer import Generator

#: models that run in process (any other name goes to litellm)
EMBEDDED = ("local/gemma-3-270m",)


def build_backend(model: ModelConfig, task: GenTask, **kwargs) -> GenBackend:
    """The backend for ``model.model``: the embedded Gemma, or any litellm completion model."""
    if model.model in EMBEDDED:
        from .llama import LlamaGen

        return LlamaGen(config=model, task=task, **kwargs)
    if model.model.startswith(("local/", "python:")):
        raise ConfigError(f"{model.model!r} cannot generate text; a generate task needs an LLM: "
                          f"{', '.join(EMBEDDED)} or a litellm model string (openai/..., hosted_vllm/...)")
    from .litellm import LiteLLMGen

    return LiteLLMGen(config=model, task=task)


def build_generator(model: ModelConfig, task: GenTask, *, cache: CallCache, ledger: Ledger, role: str = "oracle",
                    order: bool = True, **kwargs) -> Generator:
    """A ``Generator`` (greedy ``answer``, teacher-forced ``score``) for ``model`` on ``task``.

    ``kwargs`` go to the backend (embedded Gemma: ``n_ctx``, ``n_threads``, ``block``).
    """
    return Generator(build_backend(model, task, **kwargs), cache=cache, ledger=ledger, role=role, order=order)
