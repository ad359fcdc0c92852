"""The runtime of one run: its call cache, its ledger and the ledger's budget, built in one place.

Every command opens it with ``open_runtime``: the cache is opened and checked
now, so a corrupt or unwritable one is reported (``CacheError``, exit 2)
before anything is paid, and the ledger holds the config's ``max_usd``, so
every call of every model of the run counts against one cap. Models join the
runtime through ``scorer`` (label probabilities) and ``generator`` (decoded
and teacher-forced text): every call then goes through the cache and the
ledger. A command that meets the cap (``BudgetExceeded``) keeps what finished
and writes it with ``status: stopped_budget`` (the CLI exits 4).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .cache import CallCache
from .ledger import Ledger
from .models.base import Model
from .scorer import Scorer

if TYPE_CHECKING:
    from .config import Config, GenTask, ModelConfig
    from .generation.scorer import Generator


@dataclass
class Runtime:
    """One run's call cache and ledger (with its budget); ``close`` when the run is done."""

    cache: CallCache
    ledger: Ledger

    def scorer(self, model: Model, role: str) -> Scorer:
        """``model`` answering label probabilities through this runtime's cache and ledger."""
        return Scorer(model, cache=self.cache, ledger=self.ledger, role=role)

    def generator(self, model: ModelConfig, task: GenTask, *, role: str = "oracle", **backend) -> Generator:
        """A ``Generator`` of ``model`` on ``task`` through this runtime's cache and ledger (``backend``: see
        ``proxyx.generation.build_generator``)."""
        from .generation.scorer import build_generator

        return build_generator(model, task, cache=self.cache, ledger=self.ledger, role=role, **backend)

    def close(self) -> None:
        self.cache.close()


def open_runtime(config: Config) -> Runtime:
    """The cache of ``config.cache_dir`` (opened and checked now) and a ledger capped at ``config.max_usd``."""
    cache = CallCache(Path(config.cache_dir))
    cache.check()
    return Runtime(cache=cache, ledger=Ledger(max_usd=config.max_usd))
