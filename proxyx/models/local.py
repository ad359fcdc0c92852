"""Cheap local proxies: TF-IDF + logistic regression, and the VADER lexicon.

Both bill ``prompt_tokens`` = number of whitespace-separated words of the text
(they have no tokenizer of their own), no completion tokens, and a token price
of $0.01 per million words: cheap but not free, so cost ratios stay finite.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

import numpy as np

from ..config import ModelConfig, Price, TaskConfig
from ..data import Instance, data_dir, fingerprint
from ..errors import DataError, ModelError
from .base import Answer, Model, OnAnswer

_CHEAP = Price(input_per_mtok=0.01)
_TFIDF_VERSION = "tfidf-lr-1"  # bump when the pipeline changes, so old files are not loaded


class _WordPriced(Model):
    default_price = _CHEAP
    completion_tokens = 0

    def _answer(self, probs: list[float], text: str) -> Answer:
        pt = self.count_prompt_tokens(text)
        return Answer(probs=tuple(probs), prompt_tokens=pt, completion_tokens=0, usd=self.cost(pt, 0))


class TfidfLogRegModel(_WordPriced):
    """``local/tfidf-lr``: TF-IDF (word 1-2 grams, sublinear tf) + logistic regression.

    Fitted on ``train`` the first time it predicts, and saved to
    ``data_dir()/proxies/tfidf-lr-<fingerprint>.joblib``; the fingerprint
    covers the training texts, their labels and ``task.labels``, so a later
    run with the same data loads the file instead of refitting.
    """

    def __init__(self, *, config: ModelConfig, task: TaskConfig, train: list[Instance]):
        super().__init__(config=config, task=task)
        self.train = train
        self.pipeline_ = None
        self._fingerprint_: str | None = None

    def _fingerprint(self) -> str:
        if self._fingerprint_ is None:
            ident = "\x00".join([_TFIDF_VERSION, fingerprint(self.train), *self.task.labels])
            self._fingerprint_ = hashlib.sha256(ident.encode()).hexdigest()[:16]
        return self._fingerprint_

    @property
    def path(self) -> Path:
        return data_dir() / "proxies" / f"tfidf-lr-{self._fingerprint()}.joblib"

    def scoring_params(self) -> dict:
        return {"train": self._fingerprint()}

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
        """Load the fitted pipeline from disk, or fit and save it (atomically)."""
        import joblib

        path = self.path
        if path.is_file():
            try:
                self.pipeline_ = joblib.load(path)
                return self
            except Exception:  # unreadable (e.g. other scikit-learn version): refit and overwrite
                pass
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline

        self._check_train()
        pipe = make_pipeline(TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=1),
                             LogisticRegression(max_iter=1000, C=10.0))
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
        if self.pipeline_ is None:
            self.fit()
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


class VaderModel(_WordPriced):
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
