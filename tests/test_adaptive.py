"""Adaptive oracle budgets (``explainer.oracle_samples: auto``, ``proxyx.adaptive``): VADER as the oracle, TF-IDF as
the proxy, a few short reviews; the oracle alone (``estimator: plain``) and an estimator."""

from __future__ import annotations

import json

import numpy as np
import pytest
from rich.console import Console
from typer.testing import CliRunner

from proxyx.adaptive import budgets
from proxyx.cli import app
from proxyx.config import parse_config
from proxyx.explain import instance_seed
from proxyx.explainers import make_explainer
from proxyx.perturb import Segments
from proxyx.pipeline import run_explain
from proxyx.view.adapter import read_report
from proxyx.view.heatmap import heatmap_text
from proxyx.view.tables import explain_table

ESTIMATORS = [pytest.param({}, id="plain"), pytest.param({"estimator": "prior"}, id="prior")]


def config(cache, *, target: float, cap: int = 200, fidelity: bool = False, **explainer):
    return parse_config({
        "seed": 1, "oracle": "local/vader", "proxies": ["local/tfidf-lr"],
        "dataset": {"name": "fine_foods", "split": "test", "limit": 3, "max_words": 25},
        "task": {"labels": ["great", "other"]},
        "explainer": {"method": "kernel_shap", "samples": 400, "oracle_samples": "auto",
                      "precision": {"target": target, "start": 25, "cap": cap}, **explainer},
        "fidelity": {"enabled": fidelity}, "cache_dir": str(cache), "max_usd": None})


def texts_asked(e) -> tuple[set[str], set[str]]:
    """The texts of the masks of every budget the instance asked, and of its last budget alone."""
    segments = Segments(e.text)
    masks = {n: make_explainer("kernel_shap", samples=n, seed=instance_seed(1, e.id)).sample_masks(len(segments))
             for n in e.adaptive.budgets}
    rounds = {t for n in masks for t in segments.render_many(masks[n])}
    return rounds, set(segments.render_many(masks[e.adaptive.oracle_samples]))


@pytest.mark.parametrize("explainer", ESTIMATORS)
def test_an_easy_instance_stops_at_the_target_paying_only_its_masks(tmp_path, explainer):
    report = run_explain(config(tmp_path / "cache", target=0.2, **explainer))
    done = [e for e in report.instances if e.status == "ok"]
    assert len(done) == 3
    assert {e.role for e in done} == ({"oracle"} if not explainer else {"estimator"})
    # VADER exactly additive on one review's masks: errors not estimable, never taken for precise ones
    assert [e.adaptive.stopped for e in done].count("target") == 2
    for e in done:
        a = e.adaptive
        if a.stopped == "not_estimable":
            assert a.budgets == budgets(25, 200) and None in e.standard_errors
        else:
            assert a.stopped == "target" and a.oracle_samples < 200
            assert a.budgets == budgets(25, 200)[:len(a.budgets)]
            se, top = np.array(e.standard_errors), np.max(np.abs(e.attribution))
            assert se.max() <= 0.2 * top  # the target, on the explanation reported
        rounds, last = texts_asked(e)
        assert last <= rounds and len(rounds - last) <= 2  # the smaller rounds' masks are (nearly all) nested
        assert a.oracle_calls == len(rounds)
        if explainer:
            assert e.estimator.oracle_samples == e.baseline.samples == a.oracle_samples
        else:
            assert e.samples == e.n_evals == a.oracle_samples
    # a cold cache pays each distinct text once: every round's masks and the label's full text, nothing twice
    paid = sum(e.cost.with_proxy_oracle.paid.calls for e in done)
    asked = set().union(*(texts_asked(e)[0] | {Segments(e.text).full} for e in done))
    assert paid == len(asked)
    s = report.summary.adaptive
    calls = sorted(e.adaptive.oracle_calls for e in done)
    assert (s.instances, s.stopped_at_target, s.min_oracle_calls, s.median_oracle_calls, s.max_oracle_calls) == (
        3, 2, calls[0], calls[1], calls[2])


@pytest.mark.parametrize("explainer", ESTIMATORS)
def test_an_unreachable_target_stops_at_the_cap(tmp_path, explainer):
    """No instance is that precise. On one review VADER's answers are exactly additive on the masks drawn (no
    residual): its errors are not estimable, not 0, so it goes on to the cap too and says why (null in the JSON,
    "±—" in proxyx show)."""
    report = run_explain(config(tmp_path / "cache", target=1e-6, cap=100, **explainer))
    done = [e for e in report.instances if e.status == "ok"]
    assert len(done) == 3 and all(e.adaptive.budgets == [25, 50, 100] for e in done)
    assert report.summary.adaptive.stopped_at_target == 0
    blind = [e for e in done if e.adaptive.stopped == "not_estimable"]
    assert len(blind) == 1 and None in json.loads(report.model_dump_json())["instances"][done.index(blind[0])][
        "standard_errors"]
    assert all(e.adaptive.stopped == "cap" and None not in e.standard_errors for e in done if e not in blind)
    e = blind[0]
    shown = heatmap_text(tuple(e.units), read_report(report).instances[done.index(e)].explanations[0], plain=True)
    assert "±—" in shown.plain
    for e in done:
        rounds, last = texts_asked(e)
        assert e.adaptive.oracle_calls == len(rounds) and last <= rounds


def test_a_rerun_pays_nothing_and_reports_the_same(tmp_path):
    cfg = config(tmp_path / "cache", target=0.2, estimator="control_variate")
    first, again = run_explain(cfg), run_explain(cfg)
    assert sum(r.cost.paid.calls for r in again.ledger) == 0
    keep = {"attribution", "standard_errors", "adaptive", "estimator", "baseline", "explained_by"}
    assert [e.model_dump(include=keep) for e in again.instances] == [e.model_dump(include=keep) for e in first.instances]
    assert again.summary.adaptive == first.summary.adaptive
    console = Console(width=200, record=True)
    console.print(explain_table(again))
    s = again.summary.adaptive
    assert f"{s.stopped_at_target} of {s.instances} stopped at the target" in console.export_text()


def test_the_plain_oracle_is_scored_against_itself_at_the_full_budget(tmp_path):
    report = run_explain(config(tmp_path / "cache", target=0.2, fidelity=True))
    for e in [e for e in report.instances if e.status == "ok"]:
        assert e.fidelity is not None and e.oracle_attribution is not None and e.adaptive.oracle_samples < 400
        assert e.cost.gate.paid.calls + e.cost.explanation.paid.calls <= e.adaptive.oracle_calls + 1


BAD = [
    pytest.param("oracle_samples: auto\n", "oracle_samples: auto needs a precision block", id="no-precision"),
    pytest.param("precision: {target: 0.1}\n", "precision is for oracle_samples: auto", id="precision-alone"),
    pytest.param("oracle_samples: auto\n  precision: {target: 0.1, start: 300, cap: 200}\n",
                 "start (300) must be <= cap (200)", id="start-above-cap"),
    pytest.param("oracle_samples: auto\n  precision: {target: 0, cap: 200}\n", "greater than 0", id="target-zero"),
    pytest.param("oracle_samples: auto\n  precision: {target: 0.1, goal: 0.1}\n", "goal", id="unknown-key"),
    pytest.param("oracle_samples: auto\n  estimator: prior\n  precision: {target: 0.1, cap: 800}\n",
                 "precision.cap (800) must be <= samples (400)", id="cap-above-samples"),
]


def write(tmp_path, explainer: str):
    path = tmp_path / "c.yaml"
    path.write_text("oracle: local/vader\nproxies: [local/tfidf-lr]\n"
                    "dataset: {name: fine_foods, split: test, limit: 2}\ntask: {labels: [great, other]}\n"
                    f"explainer:\n  samples: 400\n  {explainer}"
                    f"cache_dir: {tmp_path / 'cache'}\noutput: {tmp_path / 'r.json'}\n")
    return path


def one_line_error(args) -> str:
    r = CliRunner().invoke(app, [*args, "-q"])
    lines = [line for line in r.output.splitlines() if line.strip()]
    assert r.exit_code == 2 and "Traceback" not in r.output and len(lines) == 1, r.output
    return lines[0]


@pytest.mark.parametrize("explainer,needle", BAD)
def test_a_bad_precision_block_is_one_line(tmp_path, explainer, needle):
    assert needle in one_line_error(["explain", str(write(tmp_path, explainer))])


def test_the_bench_refuses_auto_in_one_line(tmp_path):
    path = write(tmp_path, "oracle_samples: auto\n  precision: {target: 0.1}\n")
    assert "oracle_samples: auto" in one_line_error(["bench", str(path)])
    assert not (tmp_path / "cache" / "calls.sqlite").exists()
