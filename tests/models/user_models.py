"""Classifiers a user plugs in with ``python:user_models:NAME`` (the contract: ``proxyx.models.python``).

Real scikit-learn pipelines fitted on real fine-food reviews, a plain
function, and classifiers that break the contract in one way each.
"""

from __future__ import annotations

import numpy as np

#: how many times each factory ran (a factory must run once per model, on first use)
CALLS: dict[str, int] = {}

POSITIVE = {"great", "delicious", "love", "best", "tasty", "excellent", "good", "perfect", "yummy", "favorite"}
NEGATIVE = {"bad", "stale", "awful", "waste", "terrible", "bland", "disappointed", "worst", "horrible", "broken"}


def _reviews(n: int = 800) -> tuple[list[str], list[str]]:
    from proxyx.data import load_split

    rows = load_split("fine_foods", "train")[:n]
    return [r.text for r in rows], [r.label for r in rows]


def sentiment_pipeline():
    """Factory: TF-IDF + logistic regression fitted on 800 training reviews (labels great/other)."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    CALLS["sentiment_pipeline"] = CALLS.get("sentiment_pipeline", 0) + 1
    texts, labels = _reviews()
    return make_pipeline(TfidfVectorizer(sublinear_tf=True), LogisticRegression(max_iter=1000)).fit(texts, labels)


class NaiveBayes:
    """A class is a factory too: its instance has predict_proba (and classes_, matched by name)."""

    def __init__(self):
        from sklearn.feature_extraction.text import CountVectorizer
        from sklearn.naive_bayes import MultinomialNB
        from sklearn.pipeline import make_pipeline

        texts, labels = _reviews(400)
        self.pipe = make_pipeline(CountVectorizer(), MultinomialNB()).fit(texts, labels)
        self.classes_ = self.pipe.classes_

    def predict_proba(self, texts):
        return self.pipe.predict_proba(texts)


def lexicon(texts: list[str]) -> np.ndarray:
    """A function of the texts: p(great) from counts of a few sentiment words, columns (great, other)."""
    out = []
    for t in texts:
        words = t.lower().split()
        score = sum(w.strip(".,!?") in POSITIVE for w in words) - sum(w.strip(".,!?") in NEGATIVE for w in words)
        p = 1 / (1 + np.exp(-score))
        out.append([p, 1 - p])
    return np.array(out)


def _fitted_small():
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    texts = ["great tasty snack", "delicious, love it", "stale and bland", "awful waste of money"]
    return make_pipeline(TfidfVectorizer(), LogisticRegression()).fit(texts, ["great", "great", "other", "other"])


#: an already fitted pipeline at module level: used as it is
FITTED = _fitted_small()

# ------------------------------------------------------------------ broken on purpose


def three_columns(texts):
    return np.full((len(texts), 3), 1 / 3)


def one_row_short(texts):
    return np.full((len(texts) - 1, 2), 0.5)


def with_nan(texts):
    out = np.full((len(texts), 2), 0.5)
    out[-1, 0] = np.nan
    return out


def scores_not_probabilities(texts):
    return np.ones((len(texts), 2))


def negative(texts):
    return np.tile([1.5, -0.5], (len(texts), 1))


def words_not_numbers(texts):
    return [["great", "other"] for _ in texts]


def raises(texts):
    raise RuntimeError("the GPU is on fire")


def other_labels():
    """Fitted on labels that are not the task's."""
    from sklearn.dummy import DummyClassifier

    return DummyClassifier(strategy="prior").fit([[0], [1]], ["pos", "neg"])


def factory_of_nothing():
    return 42


NOT_CALLABLE = 42
