"""``proxyx explain`` on a generate config, end to end on the real Gemma; bad input is one line and exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from proxyx.cli import app
from proxyx.results import ExplainReport

from .support import DOCS, QUESTION

runner = CliRunner()
SHORT = ("Berlin is the capital of Germany.", "The Eiffel tower is in Paris.")  # 6 words each: 64 coalitions
TINY = ("Berlin is Germany's capital.", "Paris has the Louvre.")  # 4 words each: 16 coalitions


def make(tmp_path: Path, rows=None, template="Context:\\n{context}\\n\\nQuestion: {question}\\nAnswer:",
         explainer="  method: kernel_shap\n  hierarchy: {levels: [document, word], top_k: 1, samples: [4, 64]}\n") -> Path:
    data = tmp_path / "qa.jsonl"
    rows = rows or [{"id": "q1", "question": QUESTION, "documents": list(SHORT), "gold_document": 0}]
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    cfg = tmp_path / "g.yaml"
    cfg.write_text("oracle: local/gemma-3-270m\n"
                   f"dataset:\n  name: null\n  path: {data}\n"
                   f'task:\n  type: generate\n  template: "{template}"\n  max_tokens: 6\n'
                   f"explainer:\n{explainer}"
                   f"cache_dir: {tmp_path / 'cache'}\noutput: {tmp_path / 'report.json'}\n")
    return cfg


def one_line_error(result) -> str:
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.strip().splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:") and "Traceback" not in result.output, result.output
    return lines[0]


def test_explain_generate_document_and_word_levels(tmp_path):
    cfg = make(tmp_path, rows=[{"id": "q1", "question": QUESTION, "documents": list(TINY), "gold_document": 0}])
    result = runner.invoke(app, ["explain", str(cfg), "-q"])
    assert result.exit_code == 0, result.output
    assert "SWA cache" not in result.output  # llama.cpp's log stays quiet
    report = ExplainReport.load(tmp_path / "report.json")
    g = report.generated[0]
    assert g.answer.strip() and report.instances == [] and report.generation.levels == ["document", "word"]
    doc, word = g.levels
    assert doc.unit == "document" and doc.exact and doc.active == [0, 1] and doc.evals == 4
    assert word.unit == "word" and word.exact and len(word.selected) == 0
    top = doc.selected[0]
    assert word.active == list(range(4 * top, 4 * top + 4))  # the words of the top document only
    assert all((v is None) == (i not in word.active) for i, v in enumerate(word.values))
    assert doc.cost.nominal.calls == 4 and word.cost.nominal.calls + doc.cost.nominal.calls >= 2 ** len(word.active)
    assert report.generation.mean_calls_by_level["document"] == 4
    assert "answer" in result.output and "document" in result.output
    # a rerun pays nothing
    again = runner.invoke(app, ["explain", str(cfg), "-q", "-o", str(tmp_path / "again.json")])
    assert again.exit_code == 0, again.output
    rerun = ExplainReport.load(tmp_path / "again.json")
    assert sum(r.cost.paid.calls for r in rerun.ledger) == 0
    assert rerun.generated[0].levels[1].values == word.values


def test_template_without_context_is_one_line(tmp_path):
    line = one_line_error(runner.invoke(app, ["explain", str(make(tmp_path, template="Q: {question}")), "-q"]))
    assert "task.template" in line and "{context}" in line


def test_context_beyond_the_window_is_one_line(tmp_path):
    long = " ".join(["Debian packages are built from source."] * 1800)  # about 14,000 tokens > 8,192
    line = one_line_error(runner.invoke(app, ["explain", str(make(tmp_path, rows=[
        {"question": QUESTION, "documents": [long, DOCS[1]]}])), "-q"]))
    assert "context window" in line and "8,192" in line
    assert not (tmp_path / "report.json").exists()


def test_generation_fields_need_a_generate_task(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("oracle: local/vader\nexplainer:\n  unit: document\n")
    assert "task.type: generate" in one_line_error(runner.invoke(app, ["explain", str(cfg), "-q"]))


def test_explain_generate_with_the_lexical_proxy_and_an_estimator(tmp_path):
    cfg = make(tmp_path, explainer="  method: kernel_shap\n  estimator: control_variate\n  oracle_samples: 16\n"
                                   "  hierarchy: {levels: [document, word], top_k: 1, samples: [4, 64]}\n")
    cfg.write_text(cfg.read_text() + "proxies: [local/answer-overlap]\nfidelity: {enabled: true, heldout_samples: 8}\n")
    result = runner.invoke(app, ["explain", str(cfg), "-q"])
    assert result.exit_code == 0, result.output
    report = ExplainReport.load(tmp_path / "report.json")
    doc, word = report.generated[0].levels
    assert doc.estimator.oracle_calls == 4 and doc.exact  # 2 documents: 4 coalitions fit n = 16
    assert word.estimator.oracle_calls == 16 and word.estimator.proxy_samples == 64 and not word.exact
    assert word.oracle_calls <= 16  # the oracle answered n of the 64 word masks (scoring is not the level's)
    # each level carries the oracle alone at its n, scored with the estimate; the report pairs them first
    assert doc.baseline.attribution == pytest.approx([doc.values[i] for i in doc.active], abs=1e-12)  # exact level
    assert len(word.baseline.attribution) == len(word.active) and word.baseline.samples == 16
    assert word.baseline.q_estimate is not None and word.baseline.q_baseline is not None
    b = report.baseline
    assert (b.estimator, b.instances, b.aopc.n, b.aopc.verdict) == ("control_variate", 1, 1, "too_few")
    assert result.output.lstrip().startswith("quality on the oracle: with the proxy vs the oracle alone")


def test_an_estimator_without_a_proxy_is_one_line(tmp_path):
    cfg = make(tmp_path, explainer="  method: kernel_shap\n  estimator: control_variate\n  oracle_samples: 16\n")
    assert "add one proxy" in one_line_error(runner.invoke(app, ["explain", str(cfg), "-q"]))


def test_bench_refuses_a_generate_config_in_one_line(tmp_path):
    """Asked before any model is built or data read (it once failed with "unknown data set 'debian_faq'")."""
    cfg = tmp_path / "faq.yaml"
    cfg.write_text("oracle: local/gemma-3-270m\ndataset: {name: debian_faq, limit: 2}\n"
                   "task: {type: generate}\nexplainer: {unit: document}\n"
                   f"cache_dir: {tmp_path / 'cache'}\noutput: {tmp_path / 'runs' / 'faq.json'}\n")
    line = one_line_error(runner.invoke(app, ["bench", str(cfg), "-q"]))
    assert "proxyx bench does not run generated answers (task.type: generate)" in line
    assert not (tmp_path / "cache").exists() and not (tmp_path / "runs").exists()
