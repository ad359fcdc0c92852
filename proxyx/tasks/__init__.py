"""Task kinds: what an instance is, what its units are, how a model's answer becomes a number, how it runs.

``TASKS`` maps each kind to its class (``"module:Class"`` under
``proxyx.tasks``, imported on first use, or the class itself), as
``proxyx.models.MODELS`` does for backends; ``task_for(config)`` picks the
kind a config names:

* ``classify`` (``proxyx.tasks.classify``): label probabilities of a text, its
  words or sentences masked (the default task block);
* ``prompt`` (``proxyx.tasks.classify``): the same, the prompt's
  demonstrations masked (``explainer.unit: demonstration``);
* ``generate`` (``proxyx.tasks.generate``): a generated answer over a context
  of documents (``task.type: generate``);
* any kind added with ``register_task(cls)``, named by ``task.type: KIND``,
  or by ``task.type: python:module:Class`` (imported and registered on
  first use); the rest of its block is the classifier's: labels,
  verbalizers, ...; ``task.options`` is the kind's own.

Adding a kind is one ``Task`` subclass (``proxyx.tasks.base``) and one
``register_task`` call. This module imports no kind until it is asked for,
so the config can check ``task.type`` against ``TASKS`` without importing
the flows.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from ..errors import ConfigError
from ..inputs import PYTHON, python_class

TASKS: dict[str, Any] = {
    "classify": "classify:ClassifyTask",
    "prompt": "classify:PromptTask",
    "generate": "generate:GenerateTask",
}
#: the kinds a config selects without ``task.type`` (``classify`` by its unit, ``prompt``) or with its own block
BUILT_IN = ("classify", "prompt", "generate")


def register_task(cls: type) -> type:
    """Make the ``Task`` subclass ``cls`` the kind ``cls.kind`` (a config names it with ``task.type``)."""
    if not getattr(cls, "kind", "") or cls.kind in BUILT_IN:
        raise ValueError(f"a task kind needs a name of its own (class attribute 'kind'), not {cls.kind!r}")
    TASKS[cls.kind] = cls
    return cls


def registered_kinds() -> list[str]:
    """The kinds a config may name with ``task.type`` (the built-in ``generate`` and the registered ones)."""
    return [k for k in TASKS if k not in ("classify", "prompt")]


def task_class(kind: str) -> type:
    """The class of ``kind``: a registered kind, or the ``Task`` subclass ``python:module:Class`` names (imported
    and registered, so the name works in any process: a Ray worker's too); else ``ConfigError`` with the choices."""
    if kind.startswith(PYTHON):
        cls = python_class(kind, import_module(f"{__name__}.base").Task, "task kind")
        try:
            return register_task(cls)
        except ValueError as e:
            raise ConfigError(f"task kind {kind!r}: {e}") from None
    if kind not in TASKS:
        raise ConfigError(f"unknown task kind {kind!r}; use one of: {', '.join(registered_kinds())}, or "
                          "python:module:Class naming a Task subclass")
    path = TASKS[kind]
    if isinstance(path, type):
        return path
    module, _, cls = path.partition(":")
    return getattr(import_module(f"{__name__}.{module}"), cls)


def kind_of(config) -> str:
    """The kind of task ``config`` names: its ``task.type``, else ``prompt`` or ``classify`` by ``explainer.unit``."""
    kind = getattr(config.task, "type", None)
    if kind is not None:
        return kind
    return "prompt" if config.explainer.unit == "demonstration" else "classify"


def task_for(config) -> "Task":
    """The task ``config`` names (constructed only: nothing is read or loaded yet)."""
    return task_class(kind_of(config))(config)


def __getattr__(name: str):
    """``Task`` (``proxyx.tasks.base``), imported on first use like the kinds."""
    if name == "Task":
        return import_module(f"{__name__}.base").Task
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["BUILT_IN", "TASKS", "Task", "kind_of", "register_task", "registered_kinds", "task_class", "task_for"]
