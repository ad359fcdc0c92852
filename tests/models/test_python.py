"""``python:package.module:name`` models: the contract, its errors, fingerprints, and a real run."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from proxyx.config import ModelConfig, Price, TaskConfig, parse_config
from proxyx.errors import BadAnswers, ConfigError, ModelError
from proxyx.models import build_model
from proxyx.models.python import PythonModel

HERE = Path(__file__).parent
TEXTS = ["Delicious and fresh, the best tea I have ever had, I love it.",
         "Stale, bland and a waste of money. Awful.", "A box of tea."]


@pytest.fixture
def user_models(monkeypatch, fine_foods):
    """``user_models`` importable, freshly, as from a user's folder on sys.path (needs the data set)."""
    monkeypatch.syspath_prepend(str(HERE))
    monkeypatch.delitem(sys.modules, "user_models", raising=False)
    import user_models

    return user_models


def model(name: str, task: TaskConfig | None = None, **config) -> PythonModel:
    m = build_model(ModelConfig(model=f"python:user_models:{name}", **config), task or TaskConfig())
    assert isinstance(m, PythonModel)
    return m


@pytest.mark.parametrize("name, kind", [
    pytest.param("sentiment_pipeline", "factory", id="factory-function"),
    pytest.param("NaiveBayes", "factory", id="class"),
    pytest.param("FITTED", "classifier", id="fitted-object"),
    pytest.param("lexicon", "function", id="function-of-texts"),
])
def test_each_kind_answers_in_label_order(user_models, name, kind):
    m = model(name)
    seen = []
    answers = m.predict(TEXTS, on_answer=lambda i, a: seen.append(i))
    assert m.kind_ == kind and sorted(seen) == [0, 1, 2]
    for a in answers:
        assert sum(a.probs) == pytest.approx(1.0) and len(a.probs) == 2
    assert answers[0].probs[0] > answers[1].probs[0] + 0.1  # p(great): a glowing review above a bad one
    if kind != "function":  # classes_ are matched by name: reversed labels give reversed columns
        flipped = model(name, TaskConfig(labels=["other", "great"])).predict(TEXTS)
        for a, b in zip(answers, flipped):
            assert b.probs == pytest.approx(a.probs[::-1])


def test_a_factory_runs_once_on_first_use(user_models):
    m = model("sentiment_pipeline")
    m.fingerprint()
    assert user_models.CALLS.get("sentiment_pipeline", 0) == 0  # importing and fingerprinting train nothing
    m.predict(TEXTS[:1])
    m.predict(TEXTS[1:])
    assert user_models.CALLS["sentiment_pipeline"] == 1


def test_price_is_the_configs_or_the_cheap_local_one(user_models):
    (a,) = model("lexicon").predict(TEXTS[:1])
    words = len(TEXTS[0].split())
    assert (a.prompt_tokens, a.completion_tokens) == (words, 0)
    assert a.usd == pytest.approx(words * 0.01 / 1e6)
    (b,) = model("lexicon", price=Price(input_per_mtok=3.0)).predict(TEXTS[:1])
    assert b.usd == pytest.approx(words * 3.0 / 1e6)


@pytest.mark.parametrize("name, error, match", [
    pytest.param("three_columns", BadAnswers, r"shape \(3, 3\) for 3 texts; expected \(3, 2\)", id="wrong-columns"),
    pytest.param("one_row_short", BadAnswers, r"shape \(2, 2\) for 3 texts", id="wrong-rows"),
    pytest.param("with_nan", BadAnswers, "NaN or infinite probabilities for text 2 of 3", id="nan"),
    pytest.param("scores_not_probabilities", BadAnswers, "text 0 sum to 2, not 1", id="rows-not-summing-to-1"),
    pytest.param("negative", BadAnswers, "negative probability for text 0", id="negative"),
    pytest.param("words_not_numbers", BadAnswers, "not an array of numbers", id="not-numbers"),
    pytest.param("raises", ModelError, "raised RuntimeError: the GPU is on fire on a batch of 3", id="raises"),
    pytest.param("other_labels", BadAnswers, r"classes_ \['neg', 'pos'\] are not task.labels", id="other-labels"),
    pytest.param("factory_of_nothing", BadAnswers, "returned a int, which has no predict_proba", id="bad-factory"),
])
def test_broken_classifiers_give_one_line_naming_the_model(user_models, name, error, match):
    with pytest.raises(error, match=match) as info:
        model(name).predict(TEXTS)
    assert f"python:user_models:{name}" in str(info.value) and "\n" not in str(info.value)


@pytest.mark.parametrize("spec, match", [
    pytest.param("python:no_such_module_xyz:f", "cannot import 'no_such_module_xyz' .*PYTHONPATH", id="no-module"),
    pytest.param("python:user_models:nope", "has no attribute 'nope'; its callables are: .*lexicon", id="no-name"),
    pytest.param("python:user_models:NOT_CALLABLE", "is a int, not a classifier", id="not-callable"),
    pytest.param("python:user_models", "write python:package.module:name", id="no-colon"),
])
def test_config_errors_name_the_model(user_models, spec, match):
    m = build_model(ModelConfig(model=spec), TaskConfig())  # built: nothing imported yet
    with pytest.raises(ConfigError, match=match) as info:
        m.fingerprint()  # the session does this when it opens, before any call
    assert spec in str(info.value) and "\n" not in str(info.value)


def test_a_module_that_fails_on_import(tmp_path, monkeypatch):
    (tmp_path / "broken_clf.py").write_text("import numpy\nraise ValueError('weights file missing\\nsecond line')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ConfigError, match=r"cannot import 'broken_clf' \(ValueError: weights file missing\)"):
        build_model(ModelConfig(model="python:broken_clf:f"), TaskConfig()).fingerprint()


CLASSIFIER = """
import numpy as np

def predict(texts):
    return np.array([[{p}, 1 - {p}] for _ in texts])

def other(texts):
    return predict(texts)
"""


def test_a_file_on_sys_path_and_its_fingerprint(tmp_path, monkeypatch):
    """The fingerprint follows the callable's name and its source file, so the cache never mixes two models."""
    monkeypatch.syspath_prepend(str(tmp_path))
    path = tmp_path / "my_clf.py"

    def load(name: str = "predict", p: float = 0.7, task: TaskConfig | None = None) -> PythonModel:
        path.write_text(CLASSIFIER.format(p=p))
        monkeypatch.delitem(sys.modules, "my_clf", raising=False)
        return build_model(ModelConfig(model=f"python:my_clf:{name}"), task or TaskConfig())

    first = load()
    assert first.predict(["anything"])[0].probs == pytest.approx((0.7, 0.3))
    assert load().fingerprint() == first.fingerprint()  # same file, same name: same answers
    assert load("other").fingerprint() != first.fingerprint()  # another callable
    assert load(p=0.6).fingerprint() != first.fingerprint()  # the file changed
    assert load(task=TaskConfig(instruction="x")).fingerprint() != first.fingerprint()  # another task
    params = load().scoring_params()
    assert params["callable"] == "my_clf:predict" and len(params["source_sha256"]["module"]) == 64


def _config(tmp_path: Path, oracle: str, proxies: list[str], fine_foods) -> dict:
    rows = [x for x in fine_foods if len(x.text.split()) <= 25][:3]
    data = tmp_path / "reviews.jsonl"
    data.write_text("".join(json.dumps({"id": x.id, "text": x.text, "label": x.label}) + "\n" for x in rows))
    return {"oracle": oracle, "proxies": proxies, "dataset": {"path": str(data)},
            "explainer": {"method": "lime", "samples": 32}, "cache_dir": str(tmp_path / "cache"),
            "output": str(tmp_path / "report.json")}


def test_python_models_as_oracle_and_proxy(user_models, tmp_path, fine_foods):
    from proxyx.pipeline import run_explain
    from proxyx.session import open_session

    oracle, proxy = "python:user_models:sentiment_pipeline", "python:user_models:lexicon"
    config = parse_config(_config(tmp_path, oracle, [proxy], fine_foods))
    session = open_session(config)
    result = run_explain(config, session=session)
    session.close()
    assert result.status == "complete"
    answered = {(name, role) for name, role, _ in session.ledger.snapshot()}
    assert answered == {(oracle, "oracle"), (proxy, "proxy")}  # both answered, each in its role


def test_cli_bad_callable_exits_2_with_one_line(tmp_path, fine_foods):
    config = tmp_path / "c.yaml"
    config.write_text(yaml.safe_dump(_config(tmp_path, "python:user_models:nope", [], fine_foods)))
    env = {"PYTHONPATH": str(HERE), "PATH": "/usr/bin:/bin"}
    p = subprocess.run([sys.executable, "-m", "proxyx", "explain", str(config), "-q"], capture_output=True,
                       text=True, timeout=120, env=env)
    assert p.returncode == 2, p.stderr
    assert "Traceback" not in p.stderr and "python:user_models:nope" in p.stderr
    assert len(p.stderr.strip().splitlines()) == 1
