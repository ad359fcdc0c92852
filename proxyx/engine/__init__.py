"""Where a run's instances are explained: in this process (``engine.kind: local``) or on a Ray cluster.

``engine.kind: ray`` (``proxyx.engine.cluster``) shards the instances over
Ray workers that share one cache and one budget, each behind an owner on the
head node (``proxyx.engine.shared``); the report is the one a single process
writes. Ray is an optional extra (``pip install 'proxyx[ray]'``).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from ..modelconfig import Strict


class EngineConfig(Strict):
    """Where the instances are explained: this process (``local``), or workers of a Ray cluster (``proxyx.engine``).

    ``address``: ``local`` starts a Ray instance on this machine for the run; ``auto`` joins the cluster this
    machine is part of (``ray start``); ``ray://HOST:PORT`` connects to a remote head node.
    """

    kind: Literal["local", "ray"] = "local"
    address: str = "local"
    workers: Annotated[int, Field(ge=1, le=4096)] = 2
    cpus_per_worker: Annotated[float, Field(gt=0, le=256)] = 1.0
