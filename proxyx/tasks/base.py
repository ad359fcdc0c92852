"""The Task protocol: what an instance is, what its units are, which models answer, and how the commands run.

A kind of the *per-instance* family (``classify``, ``prompt``, a registered
kind) gives the generic flows (``proxyx.pipeline``: explain,
``proxyx.screen``, ``proxyx.bench``) what they cannot know themselves:

    instances(split, limit)  the seeded instances of a split (``dataset.split``, ``dataset.limit`` by default)
    screen_pool(explained)   the screening candidates: the screen split without the explained instances
    units(x)                 the perturbation space of one instance: ``len``, ``units``, ``full`` and
                             ``render_many(masks)``, what a model is asked for each mask (``proxyx.perturb``)
    models(runtime)          the oracle and the proxies, as scorers behind the run's cache and ledger
    labels, identity()       the label of each probability column; what a saved screen was made for

The number a model's answer becomes is the same for the whole family: its
probability of the oracle's label on x, on the rendered mask
(``proxyx.explain``); the instance-level gate compares the labels on the
unmasked instance. Kinds differ in what an instance and its units are, what
a model is asked and which models can answer; the explainers, the screen,
the gate, fidelity, costs and reports are the flows'.

The commands (``explain``, ``screen``, ``bench``, and what ``explain``
prints) run the generic flows with this task. A kind whose number is
something else (``generate``: a generated answer's log-probability)
overrides them; a command it cannot run raises ``ConfigError`` (one line,
exit 2) before anything is paid.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Callable, ClassVar

from ..config import Config
from ..data import Instance
from ..models import build_model
from ..runtime import Runtime
from ..scorer import Scorer
from .labelled import ALL


class Task:
    """One kind of task; ``Task(config)`` stores the config, every method reads or builds on demand."""

    kind: ClassVar[str] = ""

    def __init__(self, config: Config):
        self.config = config

    # ------------------------------------------------------------------ what the generic flows ask

    @property
    def labels(self) -> list[str]:
        """The labels a model's probabilities are over, in column order."""
        return list(self.config.task.labels)

    def instances(self, split: str | None = None, limit: int | None = None) -> list[Instance]:
        """The seeded sample of a split (default ``dataset.split``, ``dataset.limit``; ``limit=ALL``: every row)."""
        raise NotImplementedError

    def screen_pool(self, explained_ids: set[str]) -> list[Instance]:
        """The screening candidates: every row of ``dataset.screen_split`` except the explained instances."""
        rows = self.instances(split=self.config.dataset.screen_split, limit=ALL)
        return [x for x in rows if x.id not in explained_ids]

    def units(self, x: Instance):
        """The perturbation space of ``x`` (``proxyx.perturb``: ``Segments`` and its kin)."""
        raise NotImplementedError

    def models(self, runtime: Runtime) -> tuple[Scorer, list[Scorer]]:
        """The oracle and the proxies of the config, built for ``config.task`` (nothing is loaded until used)."""
        task = self.config.task
        oracle = runtime.scorer(build_model(self.config.oracle, task), role="oracle")
        return oracle, [runtime.scorer(build_model(p, task), role="proxy") for p in self.config.proxies]

    def identity(self) -> str:
        """What a saved screen must have been made for, besides its models and settings (a hash of the task)."""
        task = json.dumps(self.config.task.model_dump(mode="json"), sort_keys=True)
        return hashlib.sha256(task.encode()).hexdigest()

    # ------------------------------------------------------------------ the commands

    def explain(self, *, screen=None, on_instance: Callable[..., None] = lambda i, n, e, s: None, **kwargs: Any):
        """``proxyx explain``: an ``ExplainReport`` (``proxyx.pipeline.run_explain``)."""
        from ..pipeline import run_explain

        return run_explain(self.config, screen=screen, on_instance=on_instance, task=self, **kwargs)

    def screen(self, *, screen_all: bool | None = None, on_step=None):
        """``proxyx screen``: a ``ScreenResult`` (``proxyx.screen.run_screen``)."""
        from ..screen import run_screen

        return run_screen(self.config, screen_all=screen_all, on_step=on_step, task=self)

    def bench(self, *, out_dir=None, on_progress: Callable[..., None] = lambda label, done, total, stage: None):
        """``proxyx bench``: a ``BenchReport`` (``proxyx.bench.run.run_bench``)."""
        from ..bench.run import run_bench

        return run_bench(self.config, out_dir=out_dir, on_progress=on_progress, task=self)

    def print_explain(self, report, console, path=None, *, heatmaps: int = 1) -> None:
        """What ``proxyx explain`` prints: the tables, the heatmaps of the first ``heatmaps`` instances, the story."""
        from ..view.heatmap import render_terminal
        from ..view.story import story
        from ..view.style import printable
        from ..view.tables import print_explain

        print_explain(report, console, path)
        if heatmaps:
            render_terminal(report, console, limit=heatmaps)
        for line in story(report):
            console.print(printable(line), highlight=False, markup=False)
