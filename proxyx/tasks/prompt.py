"""``prompt``: the oracle's label of a text, the few-shot prompt's demonstrations masked (``explainer.unit:
demonstration``).

The instances are the classifier's; what a model is asked is the whole
rendered completion prompt with only the kept demonstrations
(``proxyx.perturb.PromptSegments``), so only a model that reads the
demonstrations or an LLM can answer (``proxyx.tasks.labelled.prompt_model``;
any other model is refused before anything is paid).
"""

from __future__ import annotations

from ..runtime import Runtime
from ..scorer import Scorer
from .classify import ClassifyTask
from .labelled import prompt_model


class PromptTask(ClassifyTask):
    kind = "prompt"

    def models(self, runtime: Runtime) -> tuple[Scorer, list[Scorer]]:
        config, unit = self.config, "demonstration"
        oracle = runtime.scorer(prompt_model(config.oracle, config.task, unit), role="oracle")
        return oracle, [runtime.scorer(prompt_model(p, config.task, unit), role="proxy") for p in config.proxies]
