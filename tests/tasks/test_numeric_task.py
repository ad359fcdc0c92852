"""Adding a task kind is one Task class: numeric features, written here alone, through explain, screen and bench.

The kind: an instance is one row of scikit-learn's Wisconsin breast-cancer
data (real measurements, shipped with scikit-learn), its units are its
features, and a masked feature takes the mean of the rows the models were
fitted on. What a model is asked is the row as text ("mean radius=17.99;
..."). The oracle is a logistic regression on every feature, the proxy one on
three of them, both ``python:`` models of this file. Nothing in proxyx is
patched: the kind is registered and the config names it (``task.type``), by
its name or, in a fresh process, by ``python:`` alone.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from dataclasses import dataclass
from functools import cache

import numpy as np
import pytest
import yaml
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from typer.testing import CliRunner

from proxyx.bench.run import run_bench
from proxyx.cli import app
from proxyx.config import parse_config
from proxyx.data import Instance
from proxyx.errors import ConfigError
from proxyx.pipeline import run_explain
from proxyx.screen import run_screen
from proxyx.tasks import register_task, task_for
from proxyx.tasks.base import ALL, Task

FIT_ROWS = 250  # the rows the models (and the masked features' means) are fitted on; never explained or screened
PROXY_FEATURES = ("worst radius", "worst concave points", "mean texture")


@cache
def rows(features: int, seed: int) -> tuple[tuple[str, ...], np.ndarray, np.ndarray]:
    """(feature names, X, y) of the first ``features`` features, rows in a seeded order."""
    data = load_breast_cancer()
    keep = list(range(features)) + [i for i, n in enumerate(data.feature_names) if n in PROXY_FEATURES
                                     and i >= features]
    order = np.random.default_rng(seed).permutation(len(data.target))
    return tuple(data.feature_names[keep]), data.data[order][:, keep], data.target[order]


def read(text: str) -> dict[str, float]:
    return {k: float(v) for k, v in (part.split("=") for part in text.split("; "))}


def write(names, values) -> str:
    return "; ".join(f"{n}={v:.6g}" for n, v in zip(names, values))


@dataclass(frozen=True)
class Features:
    """The perturbation space of one row: a masked feature takes its mean over the fitted rows."""

    names: tuple[str, ...]
    values: tuple[float, ...]
    baseline: tuple[float, ...]

    @property
    def units(self) -> tuple[str, ...]:
        return self.names

    def __len__(self) -> int:
        return len(self.names)

    @property
    def full(self) -> str:
        return write(self.names, self.values)

    def render_many(self, masks) -> list[str]:
        masks = np.asarray(masks, dtype=bool).reshape(-1, len(self.names))
        return [write(self.names, np.where(m, self.values, self.baseline)) for m in masks]


@register_task
class NumericTask(Task):
    kind = "numeric"

    def _data(self):
        return rows(self.config.task.options.get("features", 10), self.config.dataset.seed)

    def instances(self, split=None, limit=None):
        names, X, y = self._data()
        split = split or self.config.dataset.split
        start, stop = (FIT_ROWS, FIT_ROWS + 150) if split == "train" else (FIT_ROWS + 150, len(y))
        out = [Instance(id=f"{split}-{i}", text=write(names, X[i]), label=self.labels[y[i]]) for i in range(start, stop)]
        limit = self.config.dataset.limit if limit is None else None if limit == ALL else limit
        return out[:limit]

    def units(self, x):
        names, X, _ = self._data()
        values = read(x.text)
        return Features(names, tuple(values[n] for n in names), tuple(X[:FIT_ROWS].mean(axis=0)))


class _Fitted:
    """A logistic regression on ``features`` of the fitted rows, asked with rows as text."""

    def __init__(self, features=None):
        names, X, y = rows(10, 0)
        self.columns = [names.index(f) for f in features] if features else list(range(len(names)))
        self.model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
        self.model.fit(X[:FIT_ROWS][:, self.columns], y[:FIT_ROWS])
        self.names = names

    def predict_proba(self, texts):
        X = np.array([[read(t)[self.names[c]] for c in self.columns] for t in texts])
        return self.model.predict_proba(X)


def Oracle():  # noqa: N802 (python:test_numeric_task:Oracle, a factory)
    return _Fitted()


def Proxy():  # noqa: N802
    return _Fitted(PROXY_FEATURES)


LABELS = {"labels": ["malignant", "benign"], "verbalizers": {"malignant": "malignant", "benign": "benign"}}


def config_dict(tmp_path) -> dict:
    return {
        "oracle": "python:test_numeric_task:Oracle",
        "proxies": [{"model": "python:test_numeric_task:Proxy", "alias": "three-features"}],
        "task": {"type": "numeric", **LABELS, "options": {"features": 10}},
        "dataset": {"limit": 6},
        "explainer": {"method": "kernel_shap", "samples": 64},
        "screen": {"enabled": True, "tau": 0.5, "confidence": 0.9, "min_instances": 3, "max_instances": 20},
        "fidelity": {"enabled": True, "heldout_samples": 32},
        "bench": {"methods": ["kernel_shap"], "samples": [64], "oracle_ladder": [16, 64], "oracle_samples": [16],
                  "proxy_samples": 64, "estimators": ["control_variate"]},
        "cache_dir": str(tmp_path / "cache"), "output": str(tmp_path / "runs" / "numeric.json"),
    }


def test_the_config_names_the_registered_kind(tmp_path):
    cfg = parse_config(config_dict(tmp_path))
    assert isinstance(task_for(cfg), NumericTask) and cfg.task.options == {"features": 10}
    with pytest.raises(ConfigError, match=r"task.type: unknown task kind; use one of: generate, .*numeric.*, or "
                                          r"python:module:Class .*, got 'tabular' \(<config>\)$"):
        parse_config({**config_dict(tmp_path), "task": {"type": "tabular", **LABELS}})
    with pytest.raises(ConfigError, match="task.type: task kind 'python:test_numeric_task:Features': 'Features' is not "
                                          "a subclass of proxyx's Task"):
        parse_config({**config_dict(tmp_path), "task": {"type": "python:test_numeric_task:Features", **LABELS}})


def test_explain(tmp_path):
    report = run_explain(parse_config(config_dict(tmp_path)))
    names = list(rows(10, 0)[0])  # the first ten features, and the proxy's two that are not among them
    assert report.status == "complete" and report.summary.explained == 6
    assert report.screen.accepted == ["three-features"]  # screened on the train rows first
    for e in report.instances:
        assert e.id.startswith("test-") and e.units == names and e.oracle.label in LABELS["labels"]
        # Kernel SHAP's attributions add up to f(x) - f(baseline) of whoever explained
        assert sum(e.attribution) == pytest.approx(e.full_value - e.base_value, abs=1e-6)
        assert e.explained_by in ("three-features", "python:test_numeric_task:Oracle")
    proxied = [e for e in report.instances if e.role == "proxy"]
    assert len(proxied) >= 4  # where the three features' label agrees with the oracle's
    assert all(e.fidelity is not None and e.oracle_attribution is not None for e in proxied)
    # the proxy reads three features: they carry its explanation (the others only the regression's sampling noise)
    for e in proxied:
        top = [names[i] for i in np.argsort(-np.abs(e.attribution))[:2]]
        assert set(top) <= set(PROXY_FEATURES), top
        assert max(abs(v) for n, v in zip(names, e.attribution) if n not in PROXY_FEATURES) < 0.05
    models = {row.model for row in report.ledger}
    assert models <= {"python:test_numeric_task:Oracle", "three-features"} and len(models) == 2


def test_screen(tmp_path):
    result = run_screen(parse_config(config_dict(tmp_path)), screen_all=True)
    record = result.proxies[0]
    assert record.proxy == "three-features" and record.decision == "accepted" and record.n >= 3
    assert all(i.id.startswith("train-") for i in record.instances)
    assert result.valid_for.task == task_for(parse_config(config_dict(tmp_path))).identity()


def test_bench(tmp_path):
    report = run_bench(parse_config(config_dict(tmp_path)), out_dir=tmp_path / "bench")
    assert report.status == "complete" and report.instances == 6
    assert [(c.proxy, c.method, c.samples) for c in report.cells] == [("three-features", "kernel_shap", 64)]
    routes = {(c.route.kind, c.route.oracle_samples) for c in report.frontier.cells}
    assert {("oracle", 16), ("oracle", 64), ("substitute", 1), ("estimator", 16)} <= routes
    assert all(len(c.points) == 6 for c in report.frontier.cells)
    assert json.loads((tmp_path / "bench" / "bench.json").read_text())["status"] == "complete"


def test_the_cli_runs_the_kind(tmp_path):
    """explain, screen and bench from a YAML config: the CLI asks the config's task."""
    path = tmp_path / "numeric.yaml"
    path.write_text(yaml.safe_dump(config_dict(tmp_path)))
    runner = CliRunner()
    for args in (["explain", str(path), "-q", "--no-html"], ["screen", str(path), "-q"],
                 ["bench", str(path), "-q", "--out", str(tmp_path / "bench")]):
        result = runner.invoke(app, args)
        assert result.exit_code == 0, (args, result.output)
    assert "three-features" in result.output


def test_a_fresh_cli_imports_the_kind_from_the_config(tmp_path):
    """``task.type: python:test_numeric_task:NumericTask``: ``python -m proxyx`` imports and registers it."""
    config = {**config_dict(tmp_path), "task": {"type": "python:test_numeric_task:NumericTask", **LABELS},
              "dataset": {"limit": 2}, "screen": {"enabled": False}}
    path = tmp_path / "numeric.yaml"
    path.write_text(yaml.safe_dump(config))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(__file__).parent), *sys.path])}
    p = subprocess.run([sys.executable, "-m", "proxyx", "explain", str(path), "-q", "--no-html"], capture_output=True,
                       text=True, timeout=300, env=env)
    assert p.returncode == 0, p.stdout + p.stderr
    report = json.loads((tmp_path / "runs" / "numeric.json").read_text())
    assert report["summary"]["explained"] == 2 and report["config"]["task"]["type"] == config["task"]["type"]
    assert all(e["id"].startswith("test-") and e["units"][:2] == ["mean radius", "mean texture"]
               for e in report["instances"])
