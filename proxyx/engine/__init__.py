"""Where a run's instances are explained: in this process (``engine.kind: local``) or on a Ray cluster.

``engine.kind: ray`` (``proxyx.engine.cluster``) shards the instances over
Ray workers that share one cache and one budget, each behind an owner on the
head node (``proxyx.engine.shared``); the report is the one a single process
writes. Ray is an optional extra (``pip install 'proxyx[ray]'``). Its config
block, ``EngineConfig``, is the config package's (``proxyx.config.run``),
re-exported here.
"""

from __future__ import annotations

from ..config import Config, EngineConfig
from ..errors import ConfigError

__all__ = ["EngineConfig", "refuse_cluster"]


def refuse_cluster(config: Config) -> None:
    """One line for what runs in one process only (the apps): never a silent run in one process."""
    if config.engine.kind != "local":
        raise ConfigError(f"engine.kind: {config.engine.kind} runs 'proxyx explain', 'proxyx bench' and 'proxyx "
                          "influence' for now; this command runs in one process: set engine.kind: local (or drop the "
                          "engine block)")
