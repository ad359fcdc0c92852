"""The classifier kinds: the oracle's label of a text, with its units masked.

* ``classify``: the text's words or sentences (``explainer.unit``);
* ``prompt``: the few-shot prompt's demonstrations (``explainer.unit:
  demonstration``). The instances are the classifier's; what a model is asked
  is the whole rendered completion prompt with only the kept demonstrations
  (``proxyx.perturb.PromptSegments``), so only a model that reads the
  demonstrations or an LLM can answer (``labelled.prompt_model``; any other
  model is refused before anything is paid).

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
from .labelled import load_instances, needs_training, prompt_model, proxy_model, train_instances


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


class PromptTask(ClassifyTask):
    kind = "prompt"

    def models(self, runtime: Runtime) -> tuple[Scorer, list[Scorer]]:
        config, unit = self.config, "demonstration"
        oracle = runtime.scorer(prompt_model(config.oracle, config.task, unit), role="oracle")
        return oracle, [runtime.scorer(prompt_model(p, config.task, unit), role="proxy") for p in config.proxies]
