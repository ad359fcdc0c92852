"""Value functions of a generated answer: boolean masks over units -> one number per mask.

``render(mask) -> prompt`` builds what the model is asked for one mask (the
kept units of the context inside the task's template); ``answer`` is the
oracle's greedy answer on the full input, the thing explained.

* ``answer_logprob``: log-probability of ``answer`` under the perturbed
  prompt, teacher-forced (no decoding); ``normalise=True`` divides by its
  token count.
* ``answer_match``: decode greedily under the perturbed prompt and compare
  with ``answer`` (``exact`` match or token ``f1``, SQuAD normalisation).
  With ``reuse=True`` the answers already decoded for this instance are
  candidates: each is checked teacher-forced (``TokenScores.is_greedy``) and
  the first that greedy decoding would reproduce is taken; only when none is
  accepted is the prompt decoded. ``stats`` counts decodes, checks and
  decodes saved. With the embedded backend the check is exact, so values are
  identical with and without reuse.
* ``AnswerOverlap``: a cheap lexical proxy (no model call) for the
  proxy-informed estimators.
"""

from __future__ import annotations

import re
import string
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .scorer import Generator

Render = Callable[[np.ndarray], str]

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCT = str.maketrans("", "", string.punctuation)


def normalise_answer(text: str) -> list[str]:
    """SQuAD-style tokens: lower case, no punctuation, no articles."""
    return _ARTICLES.sub(" ", text.lower().translate(_PUNCT)).split()


def exact_match(pred: str, gold: str) -> float:
    return float(normalise_answer(pred) == normalise_answer(gold))


def token_f1(pred: str, gold: str) -> float:
    p, g = normalise_answer(pred), normalise_answer(gold)
    if not p or not g:
        return float(p == g)
    common = sum((Counter(p) & Counter(g)).values())
    if not common:
        return 0.0
    prec, rec = common / len(p), common / len(g)
    return 2 * prec * rec / (prec + rec)


MATCHES = {"exact": exact_match, "f1": token_f1}


def _prompts(render: Render, masks: np.ndarray) -> list[str]:
    masks = np.asarray(masks, dtype=bool)
    if masks.ndim != 2:
        raise ValueError(f"masks must be a 2-D boolean array, got shape {masks.shape}")
    return [render(m) for m in masks]


class AnswerLogprob:
    """``answer_logprob`` (sum over the answer's tokens) or its mean (``normalise=True``)."""

    def __init__(self, gen: Generator, render: Render, answer: str, *, normalise: bool = False,
                 purpose: str = "explain"):
        self.gen, self.render, self.answer = gen, render, answer
        self.normalise, self.purpose = normalise, purpose

    def __call__(self, masks: np.ndarray) -> np.ndarray:
        scores = self.gen.score([(p, self.answer) for p in _prompts(self.render, masks)], self.purpose)
        return np.array([s.mean if self.normalise else s.total for s in scores], dtype=float)


@dataclass
class ReuseStats:
    """What ``answer_match`` did: masks answered, decodes, teacher-forced checks, decodes saved by reuse."""

    masks: int = 0
    decodes: int = 0
    checks: int = 0
    saved: int = 0


class AnswerMatch:
    """``answer_match``: agreement of the decoded answer with ``answer``, with decoded-output reuse."""

    def __init__(self, gen: Generator, render: Render, answer: str, *, match: str = "f1", reuse: bool = True,
                 max_candidates: int = 4, purpose: str = "explain"):
        if match not in MATCHES:
            raise ValueError(f"match must be one of {sorted(MATCHES)}, got {match!r}")
        self.gen, self.render, self.answer = gen, render, answer
        self.match, self.reuse, self.max_candidates, self.purpose = match, reuse, max_candidates, purpose
        self.stats = ReuseStats()
        self.decoded_: dict[str, str] = {}  # prompt -> its greedy answer
        self._pool: Counter[str] = Counter({answer: 1})  # answers seen for this instance, by times accepted

    def __call__(self, masks: np.ndarray) -> np.ndarray:
        prompts = _prompts(self.render, masks)
        score = MATCHES[self.match]
        for p in sorted(set(prompts)):  # prompt order: consecutive calls share the longest prefix
            if p not in self.decoded_:
                self.decoded_[p] = self._answer(p)
            self.stats.masks += 1
        return np.array([score(self.decoded_[p], self.answer) for p in prompts], dtype=float)

    def _answer(self, prompt: str) -> str:
        if self.reuse and self.gen.can_score:
            for cand, _ in self._pool.most_common(self.max_candidates):
                self.stats.checks += 1
                if self.gen.check([(prompt, cand)], self.purpose)[0].is_greedy(self.gen.max_tokens):
                    self.stats.saved += 1
                    self._pool[cand] += 1
                    return cand
        self.stats.decodes += 1
        text = self.gen.answer([prompt], self.purpose)[0].text
        self._pool[text] += 1
        return text


class AnswerOverlap:
    """A lexical stand-in for the oracle's values, with no model call: the share of the answer's words
    (SQuAD-normalised, counted once each) that the kept context contains. A proxy for the
    proxy-informed estimators (``proxyx.explainers.estimators``); ``context(mask)`` is the kept context."""

    def __init__(self, context: Render, answer: str):
        self.context, self.answer = context, answer
        self._words = set(normalise_answer(answer))

    def __call__(self, masks: np.ndarray) -> np.ndarray:
        if not self._words:
            return np.zeros(len(masks))
        return np.array([len(self._words & set(normalise_answer(self.context(m)))) / len(self._words)
                         for m in np.asarray(masks, dtype=bool)], dtype=float)


VALUES = ("answer_logprob", "answer_logprob_mean", "answer_match")


def make_value(name: str, gen: Generator, render: Render, answer: str, *, match: str = "f1", reuse: bool = True,
               purpose: str = "explain"):
    """The value function a config names (``explainer.value``)."""
    if name == "answer_logprob":
        return AnswerLogprob(gen, render, answer, purpose=purpose)
    if name == "answer_logprob_mean":
        return AnswerLogprob(gen, render, answer, normalise=True, purpose=purpose)
    if name == "answer_match":
        return AnswerMatch(gen, render, answer, match=match, reuse=reuse, purpose=purpose)
    raise ValueError(f"unknown value {name!r}; use one of: {', '.join(VALUES)}")
