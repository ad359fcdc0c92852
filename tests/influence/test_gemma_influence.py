"""Real Gemma 3 270M (torch, from the packaged GGUF): a planted duplicate is found; the benchmark runs end to end
and reruns for free; bad input is one line, exit 2."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from proxyx.config import parse_config
from proxyx.influence import run_influence_bench, run_influence_lookup
from proxyx.influence.engine import peak_rss_gb

ROWS = [("dup", "The coffee was stale and bitter, I threw the bag away.", "other"),
        ("a", "Stale crackers and bitter coffee, what a waste of money.", "other"),
        ("b", "My kids love these crunchy snacks, great value.", "great"),
        ("c", "Bitter coffee again, the bag arrived stale and torn.", "other"),
        ("d", "Wonderful tea with a fresh flavor, will buy again.", "great"),
        ("e", "Tasty and fresh, the best crackers in the store.", "great")]


def _config(tmp_path: Path, **influence):
    data = tmp_path / "train.jsonl"
    data.write_text("".join(json.dumps({"id": i, "text": t, "label": lab}) + "\n" for i, t, lab in ROWS))
    return {"oracle": "local/gemma-3-270m", "dataset": {"path": str(data)}, "cache_dir": str(tmp_path / "cache"),
            "output": str(tmp_path / "influence.json"), "influence": {"threads": 2, "max_words": 30, **influence}}


def test_a_planted_exact_duplicate_ranks_first_and_a_rerun_computes_nothing(tmp_path):
    cfg = parse_config(_config(tmp_path, pool=3, top=3))  # full gradient: the query and 3 candidates
    text = ROWS[0][1]
    first = run_influence_lookup(cfg, text, label="other")
    assert first.matches[0].id == "dup" and first.matches[0].score == pytest.approx(1.0, abs=1e-4)
    assert first.matches[1].score < 0.99  # another review's gradient is not the same
    assert first.params > 250_000_000 and first.representation == "full gradient"
    assert first.cost.paid.calls == 4 and first.cost.paid.seconds > 0
    again = run_influence_lookup(cfg, text, label="other")
    assert again.cost.paid.calls == 0 and again.cost.hits == 3  # the duplicate's record is the query's
    assert [m.score for m in again.matches] == [m.score for m in first.matches]


def _cli(tmp_path: Path, extra: list[str], **influence) -> subprocess.CompletedProcess:
    import yaml

    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(_config(tmp_path, **influence)))
    return subprocess.run([sys.executable, "-m", "proxyx", "influence", str(path), *extra], capture_output=True,
                          text=True, timeout=300)


def test_an_unknown_component_lists_the_valid_ones_in_one_line_exit_2(tmp_path):
    r = _cli(tmp_path, ["--text", "Great coffee", "--label", "great", "-q"],
             components=["model.layers.3.mlp.down_proj.weight", "model.layers.3.mlp.down_projection"])
    assert r.returncode == 2, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in r.stderr
    assert "unknown component 'model.layers.3.mlp.down_projection'" in lines[0]
    assert "model.embed_tokens.weight" in lines[0] and "model.layers.17.mlp.down_proj.weight" in lines[0]


def test_an_unknown_label_is_one_line_exit_2(tmp_path):
    r = _cli(tmp_path, ["--text", "Great coffee", "--label", "positive", "-q"])
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "the task's labels are great, other" in r.stderr


BENCH_ROWS = ROWS + [("f", "The chocolate bars melted in the box and tasted old.", "other"),
                     ("g", "Crunchy granola with real almonds, my breakfast every day.", "great"),
                     ("h", "The dog food smells awful and my dog refused to eat it.", "other")]


def test_the_benchmark_runs_and_a_rerun_computes_nothing(tmp_path):
    """The rule settings only: Gemma's paraphrases decode 80 tokens each (minutes on a shared machine)."""
    data = tmp_path / "train.jsonl"
    data.write_text("".join(json.dumps({"id": i, "text": t, "label": lab}) + "\n" for i, t, lab in BENCH_ROWS))
    cfg = parse_config({**_config(tmp_path), "dataset": {"path": str(data)},
                        "influence": {"threads": 2, "max_words": 30, "sources": 4, "candidates": 5, "dims": [64, 256],
                                      "max_components": 2, "random_draws": 3, "timing_examples": 1,
                                      "settings": ["wordnet", "wordnet_reordered"]}})
    first = run_influence_bench(cfg)
    assert [s.name for s in first.settings] == ["wordnet", "wordnet_reordered"] and first.paraphrases is None
    table = first.table()
    assert 0 < table["peak_rss_gb"] <= peak_rss_gb() + 0.01  # this process's peak: the tests before it count too
    assert set(table["settings"]) == {"wordnet", "wordnet_reordered"}
    for methods in table["settings"].values():
        assert set(methods) == {"bm25", "random", "full", "projection_64", "projection_256", "greedy",
                                "random_components"}
        assert methods["random"] == {"top1": 0.2, "top5": 1.0}
        assert all(0 <= v <= 1 for m in methods.values() for v in m.values())
    assert first.cost.paid.calls > 0 and first.seconds_per_1000 > 0
    again = run_influence_bench(cfg)
    assert again.cost.paid.calls == 0
    assert again.table() == table


@pytest.mark.parametrize("extra, report", [
    pytest.param([], "influence.json", id="bench"),
    pytest.param(["--text", "Great coffee"], "influence.lookup.json", id="lookup"),
])
def test_stopped_by_max_usd_exit_4_and_write_the_report(tmp_path, extra, report):
    """The oracle (Gemma's paraphrases, its labels) is the only paid model: a cap below one call stops the run
    before any is sent, and the report says so."""
    import yaml

    cfg = {**_config(tmp_path, sources=4, candidates=5, settings=["wordnet", "gemma"]), "max_usd": 1e-6}
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(cfg))
    r = subprocess.run([sys.executable, "-m", "proxyx", "influence", str(path), "-q", *extra], capture_output=True,
                       text=True, timeout=300, env={**os.environ, "COLUMNS": "500"})  # the report's path on one line
    assert r.returncode == 4 and "Traceback" not in r.stderr + r.stdout, r.stdout + r.stderr
    doc = json.loads((tmp_path / report).read_text())
    assert doc["status"] == "stopped_budget" and "max_usd=1e-06 is less than one call" in doc["stop_reason"]
    assert doc["cost"]["paid"]["calls"] == 0
    if extra:
        assert doc["label"] is None and doc["matches"] == [] and doc["params"] > 250_000_000
    else:
        assert doc["scores"] == [] and doc["oracle_cost"]["paid"]["calls"] == 0
    assert "stopped at the budget cap" in r.stdout and report in r.stdout
