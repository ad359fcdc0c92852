"""The cheap local proxies: TF-IDF + logistic regression, and VADER."""

from __future__ import annotations

import pytest

from proxyx.config import ModelConfig, TaskConfig
from proxyx.data import Instance
from proxyx.errors import DataError
from proxyx.models.local import TfidfLogRegModel, VaderModel

TEXTS = ["Absolutely delicious, the best snack I have ever bought!", "Awful and disgusting, a terrible waste of money. Do not buy.",
         "It is a box of tea."]


@pytest.fixture
def proxies_dir(tmp_path, monkeypatch):
    """Fitted proxies go to a fresh data directory (the data set is already loaded)."""
    monkeypatch.setenv("PROXYX_DATA_DIR", str(tmp_path))
    return tmp_path / "proxies"


def _tfidf(train, task=None):
    return TfidfLogRegModel(config=ModelConfig(model="local/tfidf-lr"), task=task or TaskConfig(), train=train)


def test_tfidf_probabilities_ordered_as_labels(train_small, proxies_dir):
    a = _tfidf(train_small).predict(TEXTS)
    b = _tfidf(train_small, TaskConfig(labels=["other", "great"])).predict(TEXTS)
    for x, y in zip(a, b):
        assert sum(x.probs) == pytest.approx(1.0)
        assert x.probs == pytest.approx(y.probs[::-1])
    assert a[0].probs[0] > 0.5 > a[1].probs[0]  # p(great): positive review vs negative one


def test_tfidf_usage_and_on_answer(train_small, proxies_dir):
    seen = []
    answers = _tfidf(train_small).predict(TEXTS, on_answer=lambda i, a: seen.append(i))
    assert seen == [0, 1, 2]
    assert [a.prompt_tokens for a in answers] == [len(t.split()) for t in TEXTS]
    assert all(a.completion_tokens == 0 for a in answers)
    assert answers[0].usd == pytest.approx(len(TEXTS[0].split()) * 0.01 / 1e6)


def test_tfidf_refits_only_when_the_file_is_missing(train_small, proxies_dir):
    first = _tfidf(train_small)
    assert not proxies_dir.exists()  # nothing happens before the first prediction
    p1 = first.predict(TEXTS)
    (path,) = proxies_dir.glob("tfidf-lr-*.joblib")
    mtime = path.stat().st_mtime_ns
    p2 = _tfidf(train_small).predict(TEXTS)
    assert path.stat().st_mtime_ns == mtime and p1 == p2  # loaded, not refitted
    other = _tfidf(train_small[:500]).predict(TEXTS)  # other training data: another file
    assert len(list(proxies_dir.glob("tfidf-lr-*.joblib"))) == 2 and other != p1
    path.unlink()
    assert _tfidf(train_small).predict(TEXTS) == p1  # refitted
    assert path.is_file() and not list(proxies_dir.glob("*.part"))


def test_tfidf_rejects_unknown_training_labels(train_small, proxies_dir):
    bad = train_small[:50] + [Instance(id="x", text="meh", label="okay")]
    with pytest.raises(DataError, match="okay"):
        _tfidf(bad).predict(TEXTS)


def test_vader_mapping():
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    text = "This is the best coffee ever, absolutely wonderful and delicious! I love it."
    c = SentimentIntensityAnalyzer().polarity_scores(text)["compound"]
    assert c > 0.9
    (a,) = VaderModel(config=ModelConfig(model="local/vader"), task=TaskConfig()).predict([text])
    assert a.probs == pytest.approx(((c + 1) / 2, (1 - c) / 2))
    three = TaskConfig(labels=["pos", "neg", "mixed"], verbalizers={"pos": "good", "neg": "bad", "mixed": "mixed"})
    (b,) = VaderModel(config=ModelConfig(model="local/vader"), task=three).predict([text])
    assert b.probs == pytest.approx(((c + 1) / 2, (1 - c) / 4, (1 - c) / 4))


def test_vader_usage_and_neutral_text():
    seen = []
    answers = VaderModel(config=ModelConfig(model="local/vader"), task=TaskConfig()).predict(
        TEXTS, on_answer=lambda i, a: seen.append(i))
    assert seen == [0, 1, 2]
    assert answers[2].probs == pytest.approx((0.5, 0.5))  # no sentiment words: compound 0
    assert answers[1].probs[0] < 0.5 < answers[0].probs[0]
    assert [a.prompt_tokens for a in answers] == [len(t.split()) for t in TEXTS]
    assert all(a.completion_tokens == 0 and a.usd > 0 for a in answers)
