"""``local/incontext-tfidf``: a cheap proxy that reads the prompt's demonstrations.

A lexical proxy fitted once (``local/tfidf-lr``) only reads the input text,
so it cannot explain what a demonstration does. This one learns from the
demonstrations each prompt holds, as an LLM does in context: for every
prompt it parses the kept demonstrations (``proxyx.perturb.parse_prompt``),
fits TF-IDF on their texts and scores the input by a soft nearest-neighbour
vote,

    p(label) ∝ 1 + Σ_{demonstrations d with that label} exp(β · cos(x, d)),

the 1 being one pseudo-demonstration per label at similarity 0. So the
labels' counts matter (majority-label bias), similar demonstrations matter
most, no demonstration gives the uniform answer, and a demonstration with a
wrong label pulls similar inputs towards that label. A text that is not a
rendered prompt is answered as the input of the task's own few-shot prompt.

Billed like the other local proxies: words of the prompt at $0.01 per million.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from ..config import FewShot, ModelConfig, Price, TaskConfig
from ..errors import ConfigError
from ..perturb import parse_prompt
from ..prompt import completion_prompt
from .base import Answer, Model, OnAnswer

#: sharpness of the similarity vote
BETA = 10.0


@lru_cache(maxsize=4096)
def _fit(texts: tuple[str, ...]):
    """TF-IDF fitted on the demonstrations' texts (shared by every input asked with the same demonstrations)."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    vec = TfidfVectorizer(sublinear_tf=True)
    try:
        matrix = vec.fit_transform(texts)
    except ValueError:  # no word survives tokenisation (e.g. punctuation only)
        return None, None
    return vec, matrix


def vote(shots: list[FewShot], text: str, labels: list[str], beta: float = BETA) -> tuple[float, ...]:
    """Label probabilities of ``text`` given the demonstrations ``shots`` (see the module doc)."""
    mass = np.ones(len(labels))
    if shots:
        vec, matrix = _fit(tuple(s.text for s in shots))
        if vec is not None:
            sims = (matrix @ vec.transform([text]).T).toarray().ravel()  # rows are L2-normalised: cosine
            for s, sim in zip(shots, sims):
                mass[labels.index(s.label)] += np.exp(beta * sim)
    return tuple(float(p) for p in mass / mass.sum())


class InContextModel(Model):
    """TF-IDF soft nearest-neighbour vote over the demonstrations of each prompt."""

    default_price = Price(input_per_mtok=0.01)
    completion_tokens = 0
    reads_demonstrations = True

    def __init__(self, *, config: ModelConfig, task: TaskConfig, beta: float = BETA):
        super().__init__(config=config, task=task)
        self.beta = beta
        if "{text}" == task.template.strip() and not task.instruction.strip():
            raise ConfigError(f"{self.name} reads demonstrations out of the prompt, so task.template needs text "
                              "around {text} (e.g. 'Review: {text}\\nSentiment:')")

    def scoring_params(self) -> dict:
        return {"vote": "1+sum(exp(beta*cos))", "beta": self.beta, "tfidf": "sublinear,per-prompt"}

    def count_prompt_tokens(self, text: str) -> int:
        return max(1, len(self._prompt(text).split()))

    def _prompt(self, text: str) -> str:
        return text if parse_prompt(self.task, text) is not None else completion_prompt(self.task, text)

    def _read(self, text: str) -> tuple[list[FewShot], str]:
        """(demonstrations, input) of a rendered prompt; a plain text is the input of the task's own prompt."""
        parsed = parse_prompt(self.task, text)
        return (parsed.shots, parsed.text) if parsed is not None else (list(self.task.few_shot), text)

    def _predict(self, texts: list[str], on_answer: OnAnswer) -> list[Answer]:
        answers = []
        for i, text in enumerate(texts):
            probs = vote(*self._read(text), self.labels, self.beta)
            pt = self.count_prompt_tokens(text)
            answers.append(Answer(probs=probs, prompt_tokens=pt, completion_tokens=0, usd=self.cost(pt, 0)))
            on_answer(i, answers[-1])
        return answers
