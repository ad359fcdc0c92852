"""A config's model block + a generation task -> a ``Generator`` behind the cache and the ledger."""

from __future__ import annotations

from importlib import import_module

from ..cache import CallCache
from ..config import ModelConfig
from ..errors import ConfigError
from ..genconfig import GenTask
from ..ledger import Ledger
from ..models import model_class, names_with
from .backend import GenBackend
from .scorer import Generator


def build_backend(model: ModelConfig, task: GenTask, **kwargs) -> GenBackend:
    """The generation backend that ``model.model``'s class declares (``Model.generator``): the embedded Gemma, or
    any litellm completion model."""
    generator = model_class(model.model).generator
    if generator is None:
        raise ConfigError(f"{model.model!r} cannot generate text; a generate task needs an LLM: "
                          f"{', '.join(names_with('generator'))} or a litellm model string (openai/..., hosted_vllm/...)")
    module, _, cls = generator.partition(":")
    return getattr(import_module(module), cls)(config=model, task=task, **kwargs)


def build_generator(model: ModelConfig, task: GenTask, *, cache: CallCache, ledger: Ledger, role: str = "oracle",
                    order: bool = True, **kwargs) -> Generator:
    """A ``Generator`` (greedy ``answer``, teacher-forced ``score``) for ``model`` on ``task``.

    ``kwargs`` go to the backend (embedded Gemma: ``n_ctx``, ``n_threads``, ``block``).
    """
    return Generator(build_backend(model, task, **kwargs), cache=cache, ledger=ledger, role=role, order=order)
