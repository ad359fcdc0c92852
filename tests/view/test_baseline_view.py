"""Every view of an estimator's report leads with it against the oracle alone at the same n calls.

A real run through the CLI: VADER the oracle, TF-IDF + logistic regression
the proxy (``conftest.write_config``), the control-variate estimator.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import proxyx, write_config
from page_parser import parse

from proxyx.results import ExplainReport
from proxyx.view.baseline import baseline_lines
from proxyx.view.story import story

ESTIMATOR = "explainer: {method: kernel_shap, samples: 200, oracle_samples: 24, estimator: control_variate}"


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """(explain's stdout, the report's path) of an estimator run."""
    root = tmp_path_factory.mktemp("estimator")
    cfg = write_config(root)
    cfg.write_text(cfg.read_text(encoding="utf-8").replace("explainer: {method: kernel_shap, samples: 32}", ESTIMATOR),
                   encoding="utf-8")
    p = proxyx("explain", str(cfg), "-q", "--show", "1")
    assert p.returncode == 0, p.stderr[-3000:]
    return p.stdout, root / "report.json"


@pytest.fixture(scope="module")
def report(run) -> ExplainReport:
    return ExplainReport.load(run[1])


def flat(text: str) -> str:
    """Terminal output as one line of words: panel borders and line breaks gone."""
    return " ".join(text.replace("│", " ").split())


def test_the_json_carries_the_baseline_and_its_summary(run, report):
    doc = json.loads(run[1].read_text(encoding="utf-8"))
    assert set(doc["baseline"]) == {"estimator", "oracle_samples", "instances", "identical", "aopc", "local_fidelity"}
    assert set(doc["baseline"]["aopc"]) == {"n", "estimate", "baseline", "difference", "low", "high", "verdict"}
    for e in doc["instances"]:
        assert e["role"] == "estimator" and len(e["baseline"]["attribution"]) == len(e["units"])
        for errors in (e["standard_errors"], e["baseline"]["standard_errors"]):  # the estimate's, the oracle alone's
            assert len(errors) == len(e["units"]) and all(se is None or se >= 0 for se in errors)  # None: not estimable
        assert e["baseline"]["q_estimate"]["aopc"] is not None and e["baseline"]["q_baseline"]["aopc"] is not None


def test_explain_prints_the_comparison_first_and_the_story_leads_with_it(run, report):
    out = run[0]
    assert out.lstrip().startswith("quality on the oracle: with the proxy vs the oracle alone at the same n = 24")
    assert out.index("AOPC") < out.index("proxyx explain") < out.index("Cost by model")
    lines = story(report)
    assert lines[:len(baseline_lines(report.baseline))] == baseline_lines(report.baseline)
    assert lines[0].startswith("With the proxy, the control variate estimator's explanations score AOPC")
    assert flat(lines[0]) in flat(out)  # the CLI prints the story
    # fewer oracle calls, but the TF-IDF proxy's dollars outweigh VADER's: the story does not call that cheaper
    assert report.crr.calls > 1 > report.crr.usd
    assert any("(fewer oracle calls but more dollars than the oracle alone)" in line for line in lines)


def test_show_leads_with_the_comparison_and_shows_the_baseline_explanation(run, report, tmp_path):
    p = proxyx("show", str(run[1]), "--limit", "1")
    assert p.returncode == 0, p.stderr
    shown, head = flat(p.stdout), flat(baseline_lines(report.baseline)[0])
    assert head in shown and shown.index(head) < shown.index("mean fidelity")
    first = report.instances[0].baseline
    assert f"vs {first.q_baseline.aopc:.3f} for the oracle alone at n = 24" in shown
    assert "oracle alone at the same n = 24 calls (local/vader)" in shown


def test_the_page_opens_with_the_comparison_and_draws_the_baseline(run, report, tmp_path):
    page = (run[1].with_suffix(".html")).read_text(encoding="utf-8")
    assert page.index('id="baseline"') < page.index('class="cards"') < page.index("<article")
    b = report.baseline
    assert f"{b.aopc.estimate:.3f}" in page and f"{b.aopc.baseline:.3f}" in page
    parsed = parse(page)
    for article, e in zip(parsed.articles, report.instances, strict=True):
        roles = [f.role for f in article.figures]
        assert roles == ["estimator", "baseline", "oracle"]  # the estimate, the oracle alone at n, at N
        assert [u.value for u in article.figures[1].units] == e.baseline.attribution  # exact values
