"""Where a run's instances are explained: in this process (``engine.kind: local``) or on a Ray cluster.

``engine.kind: ray`` (``proxyx.engine.cluster``) shards the instances over
Ray workers that share one cache and one budget, each behind an owner on the
head node (``proxyx.engine.shared``); the report is the one a single process
writes. Ray is an optional extra (``pip install 'proxyx[ray]'``). Its config
block, ``EngineConfig``, is the config package's (``proxyx.config.run``),
re-exported here.
"""

from __future__ import annotations

from ..config import EngineConfig

__all__ = ["EngineConfig"]
