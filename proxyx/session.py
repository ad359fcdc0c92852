"""Everything a run builds from its config: its task, cache, ledger and scorers.

The data and the models come from the config's task (``proxyx.tasks``); the
classifier kinds' data and model helpers are re-exported from
``proxyx.tasks.labelled``, where they live, for the modules and scripts that import them from here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .cache import CallCache
from .config import Config
from .data import Instance
from .ledger import Ledger
from .runtime import Runtime, open_runtime
from .scorer import Scorer
from .tasks import task_for
from .tasks.labelled import (ALL, distill_purpose, load_instances, needs_training, prompt_model,  # noqa: F401
                             split_note, train_instances, trains)


@dataclass
class Session:
    config: Config
    cache: CallCache
    ledger: Ledger
    oracle: Scorer
    proxies: list[Scorer] = field(default_factory=list)
    task: Any = None  # a proxyx.tasks Task; None: the one the config names

    def __post_init__(self) -> None:
        if self.task is None:
            self.task = task_for(self.config)

    def proxy(self, name: str) -> Scorer:
        for p in self.proxies:
            if p.name == name:
                return p
        raise KeyError(name)

    def units(self, x: Instance):
        """The perturbation space of instance ``x`` (the task's ``units``)."""
        return self.task.units(x)

    def segments(self, text: str):
        """The units of ``text`` as the task splits an instance's text (``units`` of an instance with no id)."""
        return self.task.units(Instance(id="", text=text))

    def close(self) -> None:
        for s in [self.oracle, *self.proxies]:
            s.close()
        self.cache.close()


def open_session(config: Config, task=None, runtime: Runtime | None = None) -> Session:
    """Build the task's models (nothing is loaded until used) behind the run's cache and ledger
    (``proxyx.runtime``); ``task``: default the one the config names.

    The cache is opened now, so a corrupt or unwritable one is reported before anything is paid. ``runtime``:
    another cache and ledger than the config's own (a Ray worker's, shared with the cluster: ``proxyx.engine``).
    """
    task = task or task_for(config)
    rt = runtime or open_runtime(config)
    oracle, proxies = task.models(rt)
    return Session(config=config, cache=rt.cache, ledger=rt.ledger, oracle=oracle, proxies=proxies, task=task)
