"""The CLI end to end, with fast real local models (VADER as the oracle here)."""

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from proxyx.cli import app
from proxyx.config import load_config
from proxyx.results import ExplainReport, ScreenResult
from proxyx.session import load_instances

runner = CliRunner()

REVIEWS = [
    {"id": "a", "text": "Absolutely delicious, the best coffee I have ever had.", "label": "great"},
    {"id": "b", "text": "Stale and bland. I threw the whole bag away.", "label": "other"},
    {"id": "c", "text": "Good value, my kids love these crunchy snacks.", "label": "great"},
]


def make(tmp_path: Path, extra: str = "", rows=REVIEWS, oracle: str = "local/vader") -> Path:
    data = tmp_path / "reviews.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    cfg = tmp_path / "c.yaml"
    cfg.write_text(
        f"oracle: {oracle}\n"
        "proxies:\n  - model: local/vader\n    alias: vader-twin\n"
        f"dataset:\n  path: {data}\n"
        "explainer:\n  method: lime\n  samples: 40\n"
        f"cache_dir: {tmp_path / 'cache'}\n"
        f"output: {tmp_path / 'report.json'}\n" + extra
    )
    return cfg


def one_line_error(result, code=2):
    assert result.exit_code == code, result.output
    lines = [line for line in result.output.strip().splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), result.output
    assert "Traceback" not in result.output
    return lines[0]


def test_explain_writes_report(tmp_path):
    cfg = make(tmp_path)
    r = runner.invoke(app, ["explain", str(cfg), "-q"])
    assert r.exit_code == 0, r.output
    doc = json.loads((tmp_path / "report.json").read_text())
    assert doc["schema"] == "proxyx.report/2" and doc["status"] == "complete"
    assert len(doc["instances"]) == 3
    for e in doc["instances"]:
        assert len(e["attribution"]) == len(e["units"]) == len(e["text"].split())
        assert e["explained_by"] in ("local/vader", "vader-twin")
        assert e["oracle"]["label"] in ("great", "other")
        assert e["cost"]["explanation"]["nominal"]["calls"] > 0
    assert "explained by" in r.output


def test_rerun_is_all_cache_hits_and_identical(tmp_path):
    cfg = make(tmp_path)
    runner.invoke(app, ["explain", str(cfg), "-q"])
    first = json.loads((tmp_path / "report.json").read_text())
    r = runner.invoke(app, ["explain", str(cfg), "-q"])
    assert r.exit_code == 0
    second = json.loads((tmp_path / "report.json").read_text())
    assert sum(row["cost"]["paid"]["calls"] for row in second["ledger"]) == 0
    assert sum(row["cost"]["paid"]["nano_usd"] for row in second["ledger"]) == 0
    assert sum(row["cost"]["hits"] for row in second["ledger"]) > 0
    assert [e["attribution"] for e in first["instances"]] == [e["attribution"] for e in second["instances"]]
    assert first["crr"] == second["crr"]


def test_limit_and_out_override(tmp_path):
    cfg = make(tmp_path)
    out = tmp_path / "elsewhere.json"
    r = runner.invoke(app, ["explain", str(cfg), "--limit", "1", "--out", str(out), "-q"])
    assert r.exit_code == 0, r.output
    assert len(json.loads(out.read_text())["instances"]) == 1


@pytest.mark.parametrize(
    "edit, needle",
    [
        pytest.param(lambda t: t.replace("samples: 40", "sampels: 40"), "explainer.sampels: unknown key", id="unknown-key"),
        pytest.param(lambda t: t.replace("samples: 40", "samples: lots"), "explainer.samples: must be a whole number, got 'lots'", id="wrong-type"),
        pytest.param(lambda t: t.replace("oracle: local/vader", "oracle: local/gpt-9"), "unknown model 'local/gpt-9'", id="unknown-local-model"),
        pytest.param(lambda t: t.replace("oracle: local/vader", "oracle: nosuchprovider/x"), "unknown model 'nosuchprovider/x'", id="unknown-provider"),
        pytest.param(lambda t: t.replace("reviews.jsonl", "missing.jsonl"), "does not exist", id="missing-data-file"),
    ],
)
def test_bad_input_one_line_exit_2(tmp_path, edit, needle):
    cfg = make(tmp_path)
    cfg.write_text(edit(cfg.read_text()))
    line = one_line_error(runner.invoke(app, ["explain", str(cfg), "-q"]))
    assert needle in line


def test_missing_config_file(tmp_path):
    assert "does not exist" in one_line_error(runner.invoke(app, ["explain", str(tmp_path / "nope.yaml")]))


def test_empty_text(tmp_path):
    cfg = make(tmp_path, rows=REVIEWS + [{"id": "d", "text": "   ", "label": "great"}])
    assert "empty text" in one_line_error(runner.invoke(app, ["explain", str(cfg), "-q"]))


def test_empty_data_set(tmp_path):
    cfg = make(tmp_path, rows=[])
    assert "is empty" in one_line_error(runner.invoke(app, ["explain", str(cfg), "-q"]))


def test_budget_stops_cleanly_and_keeps_what_finished(tmp_path):
    # The proxy at $100 per million words: one LIME explanation (40 masked texts of ~9 words) costs ~$0.016.
    cfg = make(tmp_path, extra="max_usd: 0.02\n")
    cfg.write_text(cfg.read_text().replace("alias: vader-twin", "alias: vader-twin\n    price: {input_per_mtok: 100}"))
    r = runner.invoke(app, ["explain", str(cfg), "-q"])
    assert r.exit_code == 4, r.output
    doc = json.loads((tmp_path / "report.json").read_text())
    assert doc["status"] == "stopped_budget" and "max_usd" in doc["stop_reason"]
    assert sum(row["cost"]["paid"]["usd"] for row in doc["ledger"]) <= 0.02
    assert 1 <= doc["summary"]["explained"] < 3
    assert "stopped_budget" in r.output


def test_subprocess_entry_point(tmp_path):
    cfg = make(tmp_path)
    cfg.write_text(cfg.read_text().replace("samples: 40", "sampels: 40"))
    p = subprocess.run([sys.executable, "-m", "proxyx", "explain", str(cfg)], capture_output=True, text=True)
    assert p.returncode == 2
    assert p.stderr.count("\n") == 1 and "unknown key" in p.stderr and "c.yaml:" in p.stderr


def cached_calls(tmp_path: Path) -> int:
    return sqlite3.connect(tmp_path / "cache" / "calls.sqlite").execute("SELECT COUNT(*) FROM calls").fetchone()[0]


MORE = REVIEWS + [
    {"id": "d", "text": "Wonderful flavor, fresh nuts, fast shipping, I will buy again.", "label": "great"},
    {"id": "e", "text": "Terrible aftertaste, far too sweet, and the box was half empty.", "label": "other"},
    {"id": "f", "text": "My dog loves these healthy treats and they are affordable too.", "label": "great"},
    {"id": "g", "text": "Awful texture and no flavor at all, I would not recommend it.", "label": "other"},
    {"id": "h", "text": "Lovely honey, sweet and thick, perfect in my morning tea.", "label": "great"},
]
SCREEN = "screen: {min_instances: 2, max_instances: 5, confidence: 0.9}\n"


def with_limit(cfg: Path, limit: int) -> Path:
    text = cfg.read_text()
    cfg.write_text(text.replace("reviews.jsonl\n", f"reviews.jsonl\n  limit: {limit}\n", 1))
    return cfg


def screened(tmp_path: Path, cfg: Path) -> Path:
    out = tmp_path / "screen.json"
    r = runner.invoke(app, ["screen", str(cfg), "--all", "-q", "--out", str(out)])
    assert r.exit_code == 0, r.output
    return out


def test_screen_leaves_out_the_explained_instances(tmp_path):
    """One rule for the screen pool, whatever the splits: never an instance that is being explained."""
    cfg = with_limit(make(tmp_path, SCREEN, rows=MORE), 3)
    result = ScreenResult.load(screened(tmp_path, cfg))
    explained = {x.id for x in load_instances(load_config(cfg))}
    (twin,) = result.proxies
    assert len(explained) == 3 and twin.examined >= 2
    assert not explained & {i.id for i in twin.instances}
    assert result.valid_for.samples == 40 and result.valid_for.method == "lime"


def test_explain_uses_a_screening_result(tmp_path):
    cfg = with_limit(make(tmp_path, SCREEN, rows=MORE), 3)
    path = screened(tmp_path, cfg)
    r = runner.invoke(app, ["explain", str(cfg), "-q", "--screen", str(path)])
    assert r.exit_code == 0, r.output
    report = ExplainReport.load(tmp_path / "report.json")
    assert report.screen == ScreenResult.load(path) and report.screen.accepted == ["vader-twin"]
    assert [e.explained_by for e in report.instances] == ["vader-twin"] * 3
    assert report.crr.screen == report.screen.cost.nominal  # the screen's cost is counted


@pytest.mark.parametrize("content, needle", [
    pytest.param("{not json", "is not valid JSON", id="malformed"),
    pytest.param('{"schema": "proxyx.report/2"}', "is a proxyx.report/2 document, not proxyx.screen/2", id="wrong-schema"),
    pytest.param('{"schema": "proxyx.screen/1", "accepted": []}', "is a proxyx.screen/1 document", id="old-schema"),
    pytest.param('{"schema": "proxyx.screen/2", "config": {}, "valid_for": {}}', "valid_for.oracle: required key is missing",
                 id="malformed-result"),
    pytest.param(None, "does not exist", id="missing"),
])
def test_a_bad_screen_file_is_one_line_and_exit_2(tmp_path, content, needle):
    cfg = make(tmp_path)
    path = tmp_path / "s.json"
    if content is not None:
        path.write_text(content)
    line = one_line_error(runner.invoke(app, ["explain", str(cfg), "-q", "--screen", str(path)]))
    assert needle in line and f"write one with 'proxyx screen {cfg} --out FILE'" in line
    assert not (tmp_path / "cache").exists()  # refused before anything was opened or paid


@pytest.mark.parametrize("edit, needle", [
    pytest.param(lambda t: t.replace("samples: 40", "samples: 20"), "explainer.samples=40, this run uses 20", id="samples"),
    pytest.param(lambda t: t.replace("method: lime", "method: kernel_shap"), "explainer.method=lime", id="method"),
    pytest.param(lambda t: t.replace(SCREEN, "screen: {min_instances: 2, max_instances: 5, confidence: 0.9, tau: 0.8}\n"),
                 "screen.tau=0.9, this run uses 0.8", id="tau"),
    pytest.param(lambda t: t + "task: {instruction: 'Is this review positive?'}\n", "another task block", id="task"),
    pytest.param(lambda t: t.replace("    alias: vader-twin\n", "    alias: vader-twin\n    top_logprobs: 5\n"),
                 "another model under the proxy name 'vader-twin'", id="accepted-proxy-changed"),
])
def test_a_screen_made_for_another_run_is_refused_before_any_call(tmp_path, edit, needle):
    cfg = with_limit(make(tmp_path, SCREEN, rows=MORE), 3)
    path = screened(tmp_path, cfg)
    assert ScreenResult.load(path).accepted == ["vader-twin"]
    calls = cached_calls(tmp_path)
    cfg.write_text(edit(cfg.read_text()))
    line = one_line_error(runner.invoke(app, ["explain", str(cfg), "-q", "--screen", str(path)]))
    assert needle in line and line.endswith("re-run 'proxyx screen CONFIG'")
    assert cached_calls(tmp_path) == calls and not (tmp_path / "report.json").exists()
