"""The cheap local proxies: TF-IDF + logistic regression, and VADER."""

from __future__ import annotations

import numpy as np
import pytest

from proxyx.config import ModelConfig, TaskConfig
from proxyx.data import Instance
from proxyx.errors import ConfigError, DataError
from proxyx.models.local import Teacher, TfidfLogRegModel, VaderModel, distillation_texts

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


# ----------------------------------------------------------------------------- distillation


def _vader_teacher():
    vader = VaderModel(config=ModelConfig(model="local/vader"), task=TaskConfig())
    asked: list[str] = []

    def predict_proba(texts):
        asked.extend(texts)
        return np.array([a.probs for a in vader.predict(texts)])

    return Teacher(fingerprint="vader", predict_proba=predict_proba), vader, asked


def test_distillation_texts_are_seeded_whole_and_masked(train_small):
    texts = distillation_texts(train_small, 200, seed=1)
    assert texts == distillation_texts(train_small, 200, seed=1) != distillation_texts(train_small, 200, seed=2)
    assert 190 <= len(texts) <= 200 and len(set(texts)) == len(texts)
    whole = {" ".join(x.text.split()) for x in train_small}
    n_whole = sum(t in whole for t in texts)
    assert 0.4 * len(texts) <= n_whole <= 0.6 * len(texts)  # every other text has words removed
    assert all(t.strip() for t in texts)


def test_distilled_tfidf_follows_its_teacher(train_small, proxies_dir):
    """Fitted on VADER's probabilities, tf-idf agrees with VADER on unseen reviews more than when fitted on gold labels."""
    teacher, vader, asked = _vader_teacher()
    distilled = TfidfLogRegModel(config=ModelConfig(model="local/tfidf-lr", distill=600), task=TaskConfig(),
                                 train=train_small[:400], teacher=teacher)
    gold = _tfidf(train_small[:400])
    held_out = [x.text for x in train_small[400:]]
    target = np.array([a.probs[0] > 0.5 for a in vader.predict(held_out)])

    def agreement(model):
        return np.mean(np.array([a.probs[0] > 0.5 for a in model.predict(held_out)]) == target)

    assert not asked  # nothing is asked before the first prediction
    distilled.setup()
    assert 570 <= len(asked) <= 600
    assert agreement(distilled) > agreement(gold) + 0.02  # 0.87 vs 0.825 here
    assert len(list(proxies_dir.glob("*.joblib"))) == 1  # gold's; a distilled model is refitted, never saved
    assert distilled.fingerprint() != gold.fingerprint()


def test_distill_needs_a_teacher(train_small):
    model = TfidfLogRegModel(config=ModelConfig(model="local/tfidf-lr", distill=10), task=TaskConfig(), train=train_small)
    with pytest.raises(ConfigError, match="teacher"):
        model.predict(TEXTS)
