"""``local/learned``: a proxy that learns from the oracle during a run (issue 21, section 4).

Every answer the oracle gives while it labels and explains an instance (ledger
purposes ``gate`` and ``explain``; never the answers paid to score or screen
explanations) is a training pair: the masked text and the oracle's
probabilities. Between two instances (``Learning.step``) the proxy is refitted
on every pair heard so far, so the oracle's answers on an instance never train
the proxy that sharpens them. Before the first instance it has heard nothing
and answers the uniform distribution: a constant, which the estimators' held-out
check sets aside (the estimate is the oracle alone). It costs no oracle call.

Features of a text: VADER's four scores (neg, neu, pos, compound), the
log-odds of ``local/tfidf-lr`` (fitted on the train split: the same saved fit)
and the number of words; a ridge regression maps them to the oracle's centred
log-probabilities (one output per label; softmax back). Deterministic: the
pairs are fitted in text order.

Its answers go through the cache and the ledger like any model's; the cache
key holds a digest of the pairs it was fitted on, so a rerun that hears the
same answers reads its answers back, and a run that learned anything else
asks anew. It learns only inside ``proxyx explain`` with a proxy-informed
estimator (``Learning``); anywhere else it refuses to answer.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence

import numpy as np

from ..config import ModelConfig
from ..errors import ConfigError
from .base import Answer, OnAnswer
from .local import TfidfLogRegModel, TrainedModel

#: the oracle's ledger purposes a learned proxy learns from: what an explanation pays, not what scores it
LEARNS_FROM = frozenset({"gate", "explain"})
#: the ridge penalty on the standardised features
ALPHA = 10.0
#: probabilities are clipped to [CLIP, 1 - CLIP] before the log
CLIP = 1e-4


class LearnedModel(TrainedModel):
    """``local/learned``: ridge regression from text features to the oracle's answers heard so far."""

    version = "learned-1"

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.heard_: dict[str, tuple[float, ...]] = {}  # masked text -> the oracle's probabilities
        self.fitted_on_ = 0  # pairs in the current fit (0: the uniform constant)
        self.digest_ = "nothing"  # of the pairs of the current fit: part of the cache key
        self.ridge_ = None
        self.following_ = False  # a Learning feeds it the oracle's answers
        self.tfidf_ = None
        self.vader_ = None

    def scoring_params(self) -> dict:
        return {"version": self.version, "alpha": ALPHA, "train": self.train_fingerprint(),
                "learned_from": self.digest_}

    def hear(self, answers: dict[str, Answer]) -> None:
        """Keep the oracle's answers (text -> answer) for the next ``refit``."""
        for text, answer in answers.items():
            self.heard_[text] = tuple(answer.probs)

    def refit(self) -> bool:
        """Fit on every pair heard so far; False when nothing new was heard (the fit stays as it is)."""
        if len(self.heard_) == self.fitted_on_:
            return False
        from sklearn.linear_model import Ridge
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        texts = sorted(self.heard_)
        target = centred_log(np.array([self.heard_[t] for t in texts], dtype=float))
        self.ridge_ = make_pipeline(StandardScaler(), Ridge(alpha=ALPHA)).fit(self.features(texts), target)
        self.fitted_on_, self.digest_ = len(texts), digest(texts, self.heard_)
        return True

    def features(self, texts: Sequence[str]) -> np.ndarray:
        """VADER's neg, neu, pos and compound, tfidf-lr's log-odds of each label, and the word count."""
        if self.vader_ is None:
            from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

            self.vader_ = SentimentIntensityAnalyzer()
            self.tfidf_ = TfidfLogRegModel(config=ModelConfig(model="local/tfidf-lr"), task=self.task,
                                           train=self.train)
        scores = [self.vader_.polarity_scores(t) for t in texts]
        vader = np.array([[s[k] for k in ("neg", "neu", "pos", "compound")] for s in scores], dtype=float)
        tfidf = centred_log(np.array([a.probs for a in self.tfidf_.predict(texts)], dtype=float))
        words = np.array([[len(t.split())] for t in texts], dtype=float)
        return np.hstack([vader, tfidf[:, :-1] if tfidf.shape[1] > 1 else tfidf, words])

    def _predict(self, texts: list[str], on_answer: OnAnswer) -> None:
        if not self.following_:
            raise ConfigError("local/learned learns from the oracle only in proxyx explain with a proxy-informed "
                              "estimator (explainer.estimator: prior, control_variate, ...); remove it here")
        k = len(self.labels)
        if self.ridge_ is None:
            probs = np.full((len(texts), k), 1.0 / k)
        else:
            logits = self.ridge_.predict(self.features(texts)).reshape(len(texts), k)
            z = np.exp(logits - logits.max(axis=1, keepdims=True))
            probs = z / z.sum(axis=1, keepdims=True)
        for i, (text, p) in enumerate(zip(texts, probs.tolist())):
            on_answer(i, self._answer(p, text))


def centred_log(probs: np.ndarray) -> np.ndarray:
    """Log-probabilities minus their mean over the labels (the softmax inverts it)."""
    logs = np.log(np.clip(probs, CLIP, 1 - CLIP))
    return logs - logs.mean(axis=1, keepdims=True)


def digest(texts: Sequence[str], answers: dict[str, tuple[float, ...]]) -> str:
    """Of the (text, probabilities) pairs a fit used, in the given order."""
    h = hashlib.sha256()
    for t in texts:
        h.update(t.encode() + b"\x00" + json.dumps(answers[t]).encode() + b"\x01")
    return h.hexdigest()[:16]


class Learning:
    """The learned proxies of a session hearing its oracle; ``step()`` between instances refits them.

    Each learned proxy hears the oracle's answers of purposes ``LEARNS_FROM``;
    ``step`` refits every one on all it heard and points its scorer at the
    answers of the new fit (its cache key). Raises ``ConfigError`` when a
    learned proxy is configured with ``estimator: plain`` (it would stand in
    for the oracle as a constant, having learned nothing).
    """

    def __init__(self, session):
        self.scorers = [p for p in session.proxies if isinstance(p.model, LearnedModel)]
        if self.scorers and session.config.explainer.estimator == "plain":
            raise ConfigError(f"{self.scorers[0].name} learns from the oracle's answers to sharpen them: it needs a "
                              "proxy-informed explainer.estimator (prior, control_variate, regression_adjusted or "
                              "prior_control_variate), not plain")
        for scorer in self.scorers:
            model = scorer.model
            if not model.following_:
                session.oracle.listeners.append(
                    lambda purpose, answers, model=model: model.hear(answers) if purpose in LEARNS_FROM else None)
                model.following_ = True

    def refuse_cluster(self) -> None:
        """A learned proxy learns instance after instance, in one process: not on a cluster's workers."""
        if self.scorers:
            raise ConfigError(f"{self.scorers[0].name} learns from the instances explained before each one, in order: "
                              "run it with engine.kind: local")

    def step(self) -> None:
        """Refit every learned proxy on the oracle's answers heard so far."""
        for scorer in self.scorers:
            if scorer.model.refit():
                scorer.refresh()
