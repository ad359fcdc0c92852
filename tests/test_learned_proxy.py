"""``local/learned``: a proxy that learns from the oracle's answers during ``proxyx explain``.

Real runs on real fine-food reviews. The oracle is a user's TF-IDF + logistic
regression fitted on 800 training reviews (``python:user_models:sentiment_pipeline``:
other features and other data than the learned proxy's own ``local/tfidf-lr``
feature), so the proxy has something to learn.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from proxyx.config import ModelConfig, TaskConfig, parse_config
from proxyx.data import load_split
from proxyx.errors import ConfigError
from proxyx.explainers import make_explainer
from proxyx.models import build_model
from proxyx.models.base import Answer
from proxyx.perturb import Segments
from proxyx.pipeline import run_explain
from proxyx.session import open_session

USER_MODELS = Path(__file__).parent / "models"  # python:user_models:sentiment_pipeline
ORACLE = "python:user_models:sentiment_pipeline"
ESTIMATORS = ("prior", "control_variate", "regression_adjusted", "prior_control_variate")


@pytest.fixture(autouse=True)
def user_models(monkeypatch, fine_foods):
    monkeypatch.syspath_prepend(str(USER_MODELS))


def config(tmp_path, *, method="lime", estimator="control_variate", limit=8, fidelity=False, cache="cache"):
    return parse_config({
        "seed": 3, "oracle": ORACLE, "proxies": ["local/learned"],
        "dataset": {"name": "fine_foods", "split": "test", "limit": limit, "max_words": 30},
        "task": {"labels": ["great", "other"]},
        "explainer": {"method": method, "samples": 300, "estimator": estimator,
                      **({"oracle_samples": 40} if estimator != "plain" else {})},
        "fidelity": {"enabled": fidelity, "reference": fidelity, "heldout_samples": 60},
        "cache_dir": str(tmp_path / cache), "max_usd": None})


def test_it_answers_a_constant_before_the_first_instance_so_the_oracle_alone_explains_it(tmp_path):
    cfg = config(tmp_path, limit=3)
    report = run_explain(cfg)
    first = report.instances[0]
    assert first.status == "ok" and first.estimator.rho is None  # no correlation with a constant
    np.testing.assert_array_equal(first.attribution, first.baseline.attribution)
    session = open_session(cfg)  # a fresh learned proxy has heard nothing: its cache key is the first instance's
    try:
        segments = Segments(first.text)
        texts = segments.render_many(make_explainer("lime", samples=300, seed=first.seed).sample_masks(len(segments)))
        answers = session.cache.get_many(session.proxies[0].fingerprint, texts)
        assert len(answers) == len(set(texts)) and all(a.probs == (0.5, 0.5) for a in answers.values())
    finally:
        session.close()


def test_its_correlation_with_the_oracle_is_positive_after_a_few_instances(tmp_path):
    report = run_explain(config(tmp_path))
    rho = [e.estimator.rho for e in report.instances]
    assert rho[0] is None and len(rho) == 8
    assert min(rho[3:]) > 0.2, rho  # measured 0.47-0.73 from the fourth review on
    assert any(e.attribution != e.baseline.attribution for e in report.instances[3:])  # the estimator used it


def test_a_rerun_gives_the_same_report_and_pays_nothing(tmp_path):
    first = run_explain(config(tmp_path))
    again = run_explain(config(tmp_path))
    for a, b in zip(first.instances, again.instances, strict=True):
        assert (a.attribution, a.estimator, a.baseline) == (b.attribution, b.estimator, b.baseline)
    assert sum(r.cost.paid.calls for r in first.ledger if r.model == "local/learned") > 0
    assert all(r.cost.paid.calls == 0 for r in again.ledger), again.ledger
    assert [(r.model, r.purpose, r.cost.nominal.calls) for r in again.ledger] == [
        (r.model, r.purpose, r.cost.nominal.calls) for r in first.ledger]


def test_scoring_the_explanations_does_not_teach_it(tmp_path):
    """The oracle's answers paid to score (fidelity, the reference at N) are not learned from."""
    plain = run_explain(config(tmp_path, limit=5))
    scored = run_explain(config(tmp_path, limit=5, fidelity=True, cache="other"))
    assert any(r.purpose == "evaluate" for r in scored.ledger)
    for a, b in zip(plain.instances, scored.instances, strict=True):
        assert (a.attribution, a.estimator) == (b.attribution, b.estimator)


@pytest.mark.parametrize("estimator", [pytest.param(e, id=e) for e in ESTIMATORS])
@pytest.mark.parametrize("method", [pytest.param("lime", id="lime"), pytest.param("kernel_shap", id="kernel_shap")])
def test_every_estimator_runs_with_it(tmp_path, method, estimator):
    report = run_explain(config(tmp_path, method=method, estimator=estimator, limit=4))
    assert report.status == "complete"
    assert all(e.role == "estimator" and e.explained_by == f"{estimator}({ORACLE}, local/learned)"
               for e in report.instances)
    assert all(e.estimator.rho is not None for e in report.instances[1:])  # it learned after the first


@pytest.fixture(scope="module")
def train():
    """The train split its tfidf-lr feature fits on (the same saved fit as the runs')."""
    return load_split("fine_foods", "train")


def learned(train):
    return build_model(ModelConfig(model="local/learned"), TaskConfig(labels=["great", "other"]), train=train)


def test_its_cache_key_holds_what_it_learned(train):
    model = learned(train)
    heard = {"great coffee": (0.9, 0.1), "stale and bland": (0.2, 0.8), "coffee": (0.6, 0.4)}
    before = model.fingerprint()
    assert not model.refit()  # nothing heard: still the constant
    model.hear({t: Answer(probs=p) for t, p in heard.items()})
    assert model.refit() and model.fingerprint() != before
    assert not model.refit()  # nothing new heard: the same fit, the same key
    twin = learned(train)
    twin.hear({t: Answer(probs=heard[t]) for t in reversed(heard)})
    twin.refit()
    assert twin.fingerprint() == model.fingerprint()  # the same pairs heard in another order


def test_outside_explain_it_refuses_to_answer(train):
    with pytest.raises(ConfigError, match="proxy-informed estimator"):
        learned(train).predict(["great coffee"])


def test_with_estimator_plain_the_cli_refuses_it_in_one_line(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text(f"oracle: local/vader\nproxies: [local/learned]\ndataset: {{name: fine_foods, limit: 2}}\n"
                   f"explainer: {{samples: 20}}\ncache_dir: {tmp_path / 'cache'}\n")
    p = subprocess.run([sys.executable, "-m", "proxyx", "explain", str(cfg), "--out", str(tmp_path / "r.json")],
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 2 and "Traceback" not in p.stderr, p.stderr
    lines = [line for line in p.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "needs a proxy-informed explainer.estimator" in lines[0], p.stderr
    assert not (tmp_path / "r.json").exists()
