"""One question of a generate config made ready to explain: its levels, its prompt, the oracle's answer."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..config import Config, GenTask
from ..explain import instance_seed
from ..explainers.hierarchy import HierarchicalExplainer
from ..perturb import ContextSegments
from .data import QAInstance
from .scorer import Generator


def plan(config: Config) -> tuple[list[str], list[int], int, float | None]:
    """Levels, budget per level, top_k and threshold of a generate config."""
    ex = config.explainer
    h = ex.hierarchy
    if h is None:
        return [ex.unit], [ex.samples], 1, None
    return list(h.levels), list(h.samples or [ex.samples] * len(h.levels)), h.top_k, h.threshold


def rule(config: Config) -> str:
    levels, samples, top_k, threshold = plan(config)
    if len(levels) == 1:
        return f"one level ({levels[0]}), {samples[0]} unique masks ({config.explainer.method})"
    thr = f" whose attribution is positive and >= {threshold:g} x the largest" if threshold is not None else ""
    return (f"levels {' > '.join(levels)}: below the first, only the units inside the top-{top_k} units{thr} of the "
            f"level above are explained, the rest held as in the full input; budget per level {samples} unique masks "
            f"({config.explainer.method}; every coalition, exact, when 2^n <= budget)")


def hierarchy(config: Config, x: QAInstance, *, plain: bool = False) -> HierarchicalExplainer:
    """The hierarchy of one question: proxy-informed with the config's estimator, unless ``plain``."""
    ex = config.explainer
    _, samples, top_k, threshold = plan(config)
    return HierarchicalExplainer(method=ex.method, samples=samples, top_k=top_k, threshold=threshold,
                                 seed=instance_seed(config.seed, x.id), estimator="plain" if plain else ex.estimator,
                                 oracle_samples=ex.oracle_samples, sampler=ex.sampler)


@dataclass
class Question:
    """One question made ready: its levels' segments, the full prompt and the oracle's answer."""

    x: QAInstance
    task: GenTask
    levels: list[ContextSegments]
    prompt: str
    prompt_tokens: int
    answer: str

    @property
    def words(self) -> ContextSegments:
        return self.levels[-1]

    def render(self, word_mask: np.ndarray) -> str:
        return self.task.prompt(self.words.render_words(word_mask), self.x.question)

    @classmethod
    def ask(cls, config: Config, gen: Generator, x: QAInstance, purpose: str = "explain") -> "Question":
        """Segment the context, check it fits (``DataError``), and have the oracle answer the full input."""
        task = config.task
        segs = [ContextSegments(x.documents, unit=u, separator=task.separator) for u in plan(config)[0]]
        prompt = task.prompt(segs[-1].full, x.question)
        n_tokens = gen.check_fits(prompt)
        return cls(x=x, task=task, levels=segs, prompt=prompt, prompt_tokens=n_tokens,
                   answer=gen.answer([prompt], purpose)[0].text)
