"""Cheap local proxies: TF-IDF + logistic regression, and the VADER lexicon.

Both bill ``prompt_tokens`` = number of whitespace-separated words of the text
(they have no tokenizer of their own), no completion tokens, and a token price
of $0.01 per million words: cheap but not free, so cost ratios stay finite.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..config import ModelConfig, Price, TaskConfig
from ..data import Instance, data_dir, fingerprint
from ..errors import ConfigError, DataError, ModelError
from .base import Answer, Model, OnAnswer

#: the local proxies' price: $0.01 per million words, cheap but not free (cost ratios stay finite)
CHEAP_PRICE = Price(input_per_mtok=0.01)


class WordPricedModel(Model):
    """A model without a tokenizer: a call bills its text's words as prompt tokens, at ``CHEAP_PRICE`` by default."""

    default_price = CHEAP_PRICE
    completion_tokens = 0

    def _answer(self, probs: list[float], text: str) -> Answer:
        pt = self.count_prompt_tokens(text)
        return Answer(probs=tuple(probs), prompt_tokens=pt, completion_tokens=0, usd=self.cost(pt, 0))


@dataclass(frozen=True)
class Teacher:
    """The oracle as a distilled proxy sees it: label probabilities of texts.

    ``predict_proba`` goes through the oracle's cache and ledger (the session
    builds it), so distillation is paid once and counted; ``fingerprint``
    names the oracle's answers, so a proxy distilled from another oracle or
    prompt has other answers in the cache.
    """

    fingerprint: str
    predict_proba: Callable[[list[str]], np.ndarray]


def distillation_texts(train: list[Instance], n: int, seed: int) -> list[str]:
    """``n`` texts to ask the teacher about: whole training texts and, for every
    other one, the same text with a uniform number of its words removed (what an
    explainer asks), from a seeded sample of ``train``."""
    rng = np.random.default_rng(seed)
    texts: list[str] = []
    for i in rng.permutation(len(train)):
        if len(texts) >= n:
            break
        words = train[i].text.split()
        texts.append(" ".join(words))
        if len(texts) < n and len(words) > 1:
            keep = np.sort(rng.permutation(len(words))[: rng.integers(1, len(words))])
            texts.append(" ".join(words[j] for j in keep))
    return list(dict.fromkeys(texts))


class TrainedModel(WordPricedModel):
    """A proxy fitted on the data set's train split (or distilled from a ``teacher`` on its texts)."""

    #: bump in a subclass when its pipeline changes, so old fits and answers are not reused
    version = ""
    trains = True

    @classmethod
    def build(cls, config: ModelConfig, task: TaskConfig, *, train=None, teacher=None, seed: int = 0) -> Model:
        return cls(config=config, task=task, train=train or [], teacher=teacher, seed=seed)

    def __init__(self, *, config: ModelConfig, task: TaskConfig, train: list[Instance],
                 teacher: Teacher | None = None, seed: int = 0):
        super().__init__(config=config, task=task)
        self.train = train
        self.teacher = teacher
        self.seed = seed
        self._train_fingerprint_: str | None = None

    def train_fingerprint(self) -> str:
        """Of the training texts, their labels, ``task.labels`` and ``version``."""
        if self._train_fingerprint_ is None:
            ident = "\x00".join([self.version, fingerprint(self.train), *self.task.labels])
            self._train_fingerprint_ = hashlib.sha256(ident.encode()).hexdigest()[:16]
        return self._train_fingerprint_

    def distill_params(self) -> dict:
        """What a distilled fit depends on beyond the train split (nothing without ``config.distill``)."""
        if not self.config.distill:
            return {}
        return {"distill": self.config.distill, "seed": self.seed,
                "teacher": self.teacher.fingerprint if self.teacher else None}


class TfidfLogRegModel(TrainedModel):
    """``local/tfidf-lr``: TF-IDF (word 1-2 grams, sublinear tf) + logistic regression.

    Fitted on ``train`` the first time it predicts, and saved to
    ``data_dir()/proxies/tfidf-lr-<fingerprint>.joblib``; the fingerprint
    covers the training texts, their labels and ``task.labels``, so a later
    run with the same data loads the file instead of refitting.

    With ``config.distill = n`` (and a ``teacher``), it is fitted instead on
    the teacher's label probabilities of ``distillation_texts(train, n,
    seed)`` (cross-entropy on soft labels). That model is not saved: it is
    refitted from the teacher's cached answers in each session (1.5 s for
    2,000 texts), so the ledger counts the distillation's nominal cost every
    time.
    """

    version = "tfidf-lr-1"
    pipeline_ = None

    @property
    def path(self) -> Path:
        return data_dir() / "proxies" / f"tfidf-lr-{self.train_fingerprint()}.joblib"

    def scoring_params(self) -> dict:
        return {"train": self.train_fingerprint(), **self.distill_params()}

    def setup(self) -> None:
        if self.pipeline_ is None:
            self.fit()

    def _distill(self):
        if self.teacher is None:
            raise ConfigError(f"{self.name}: distill needs the oracle as its teacher; build it with open_session")
        if not self.train:
            raise DataError(f"{self.name}: distill needs training texts to ask the oracle about; the training split is empty")
        texts = distillation_texts(self.train, self.config.distill, self.seed)
        probs = np.asarray(self.teacher.predict_proba(texts), dtype=float)
        # Soft labels: each text once per label, weighted by the teacher's probability of that label.
        k = len(self.labels)
        pipe = _tfidf_pipeline()
        pipe.fit(texts * k, np.repeat(self.labels, len(texts)),
                 logisticregression__sample_weight=probs.T.reshape(-1) + 1e-9)
        return pipe

    def _check_train(self) -> None:
        if not self.train:
            raise DataError("local/tfidf-lr needs a training split to fit on; the given one is empty")
        bad = sorted({str(x.label) for x in self.train if x.label not in self.task.labels})
        if bad:
            raise DataError(f"local/tfidf-lr: training labels {bad} are not among task.labels {self.labels}; "
                            "fix task.labels or the data set's labels")
        if len({x.label for x in self.train}) < 2:
            raise DataError("local/tfidf-lr: the training split has only one label; it needs examples of at least two")

    def fit(self):
        """Load the fitted pipeline from disk, or fit and save it (atomically); distil from the teacher."""
        import joblib

        if self.config.distill:
            self.pipeline_ = self._distill()
            return self
        path = self.path
        if path.is_file():
            try:
                self.pipeline_ = joblib.load(path)
                return self
            except Exception:  # unreadable (e.g. other scikit-learn version): refit and overwrite
                pass
        self._check_train()
        pipe = _tfidf_pipeline()
        pipe.fit([x.text for x in self.train], [x.label for x in self.train])
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".part")
        os.close(fd)
        try:
            joblib.dump(pipe, tmp)
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        self.pipeline_ = pipe
        return self

    def _predict(self, texts: list[str], on_answer: OnAnswer) -> list[Answer]:
        self.setup()
        raw = self.pipeline_.predict_proba(texts)
        classes = list(self.pipeline_.classes_)
        probs = np.zeros((len(texts), len(self.labels)))
        for j, lab in enumerate(self.labels):
            if lab in classes:
                probs[:, j] = raw[:, classes.index(lab)]
        answers = []
        for i, (text, p) in enumerate(zip(texts, probs.tolist())):
            a = self._answer(p, text)
            on_answer(i, a)
            answers.append(a)
        return answers


def _tfidf_pipeline():
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    return make_pipeline(TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=1),
                         LogisticRegression(max_iter=1000, C=10.0))


class VaderModel(WordPricedModel):
    """``local/vader``: the VADER sentiment lexicon (``vaderSentiment``).

    Its compound score c in [-1, 1] becomes probabilities: the FIRST label of
    ``task.labels`` is taken as the positive one and gets (c + 1) / 2; the
    remaining (1 - c) / 2 is split equally among the other labels (for two
    labels: p(second) = (1 - c) / 2).
    """

    def __init__(self, *, config: ModelConfig, task: TaskConfig):
        super().__init__(config=config, task=task)
        self.analyzer_ = None

    def scoring_params(self) -> dict:
        return {"mapping": "first-label=(c+1)/2"}

    def _probs(self, c: float) -> list[float]:
        rest = (1.0 - c) / 2.0 / (len(self.labels) - 1)
        return [(1.0 + c) / 2.0] + [rest] * (len(self.labels) - 1)

    def _predict(self, texts: list[str], on_answer: OnAnswer) -> list[Answer]:
        if self.analyzer_ is None:
            try:
                from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer
            except ImportError as e:
                raise ModelError("local/vader needs vaderSentiment; run: pip install vaderSentiment==3.3.2") from e
            self.analyzer_ = SentimentIntensityAnalyzer()
        answers = []
        for i, text in enumerate(texts):
            c = min(1.0, max(-1.0, self.analyzer_.polarity_scores(text)["compound"]))
            a = self._answer(self._probs(c), text)
            on_answer(i, a)
            answers.append(a)
        return answers
