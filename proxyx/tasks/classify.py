"""``classify``: the oracle's label of a text, its words or sentences masked (``explainer.unit``).

Instances and models: ``proxyx.tasks.labelled`` (the data set's rows; a
model that trains fits on the train split, a distilled proxy on the oracle).
"""

from __future__ import annotations

from ..data import Instance
from ..models import build_model
from ..perturb import make_segments
from ..runtime import Runtime
from ..scorer import Scorer
from .base import Task
from .labelled import load_instances, needs_training, proxy_model, train_instances


class ClassifyTask(Task):
    kind = "classify"

    def instances(self, split: str | None = None, limit: int | None = None) -> list[Instance]:
        return load_instances(self.config, split, limit)

    def units(self, x: Instance):
        """Its words or sentences (``proxyx.perturb.Segments``; the demonstrations for the ``prompt`` kind)."""
        return make_segments(x.text, self.config.explainer.unit, self.config.task)

    def models(self, runtime: Runtime) -> tuple[Scorer, list[Scorer]]:
        config = self.config
        train = train_instances(config) if needs_training(config) else None
        oracle = runtime.scorer(build_model(config.oracle, config.task, train=train), role="oracle")
        return oracle, [runtime.scorer(proxy_model(config, p, train, oracle), role="proxy") for p in config.proxies]
