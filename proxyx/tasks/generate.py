"""``generate`` (``task.type: generate``): a generated answer over a context of documents.

An instance is a question with its documents (``proxyx.generation.data``),
its units the documents, sentences or words of the context, coarse to fine
(``proxyx.perturb.ContextSegments``), and the number a perturbed context is
worth the oracle's answer's log-probability or a match of a new answer
(``explainer.value``, ``proxyx.generation.value``). Those are not label
probabilities, so this kind runs its own flows, which this class wraps as
they are: ``explain`` is ``proxyx.generation.pipeline.run_generate``,
``screen`` is ``proxyx.generation.screen.screen_generate`` (the classifier
screen's decision rule and error contract). ``bench`` is refused with one
line: its grid and frontier score label probabilities.
"""

from __future__ import annotations

from typing import Any, Callable

from ..errors import ConfigError
from ..generation.pipeline import run_generate
from ..generation.render import print_generate
from ..generation.screen import screen_generate
from .base import Task

_OWN_FLOWS = ("task.type: generate runs its own flows (proxyx.generation): 'proxyx explain' and 'proxyx screen' "
              "on the config, or run_generate / screen_generate from Python")


class GenerateTask(Task):
    kind = "generate"

    def instances(self, split=None, limit=None):
        raise ConfigError(_OWN_FLOWS)

    def units(self, x):
        raise ConfigError(_OWN_FLOWS)

    def models(self, runtime):
        raise ConfigError(_OWN_FLOWS)

    def explain(self, *, screen=None, on_instance: Callable[..., None] = lambda i, n, e, s: None, **backend: Any):
        """``run_generate``; ``on_instance`` is called as the classifier's (done, total, None, stage)."""
        if self.config.engine.kind != "local":
            raise ConfigError(f"task.type: generate runs in one process for now, not engine.kind: "
                              f"{self.config.engine.kind}: set engine.kind: local (or drop the engine block)")
        return run_generate(self.config, screen=screen, on_instance=lambda i, n, stage: on_instance(i, n, None, stage),
                            **backend)

    def screen(self, *, screen_all: bool | None = None, on_step=None):
        """``screen_generate``: the config's one proxy (``screen_all`` changes nothing)."""
        return screen_generate(self.config, on_step)

    def print_explain(self, report, console, path=None, *, heatmaps: int = 1) -> None:
        """``print_generate``: each answer and its top units at every level (no heatmap: the page has them)."""
        print_generate(report, console, path)

    def bench(self, *, out_dir=None, on_progress=None):
        raise ConfigError("proxyx bench does not run generated answers (task.type: generate): its grid and frontier "
                          "score label probabilities; compare a proxy-informed estimator with the oracle alone at the "
                          "same oracle calls with 'proxyx explain' (fidelity.enabled: true), or screen the proxy with "
                          "'proxyx screen'")
