"""Every class of bad input ends in one line on stderr and exit 2, never a traceback.

Each case runs ``python -m proxyx`` in a subprocess, as a user would, with
fast real local models (VADER as the oracle, TF-IDF where a model trains).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

GOOD = ["Absolutely delicious, the best coffee I have ever had.", "Good value, my kids love these crunchy snacks.",
        "Wonderful flavor and fast shipping, will buy again.", "Perfect snack for work, tasty and fresh."]
BAD = ["Stale and bland. I threw the whole bag away.", "Terrible taste, arrived broken and late.",
       "Awful, the worst tea I have tried.", "Disappointing and overpriced, would not reorder."]
ROWS = [{"id": f"r{i}", "text": text, "label": label} for i, (text, label) in enumerate(
    (f"{t} ({k})", lab) for k in range(3) for lab, texts in (("great", GOOD), ("other", BAD)) for t in texts)]


def write_rows(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def make(tmp_path: Path, extra: str = "", *, rows=ROWS, oracle: str = "local/vader", proxies: str = "",
         dataset: str | None = None) -> Path:
    data = write_rows(tmp_path / "reviews.jsonl", rows)
    cfg = tmp_path / "c.yaml"
    cfg.write_text(
        f"oracle: {oracle}\n"
        f"proxies:\n  - {{model: local/vader, alias: vader-twin}}\n{proxies}"
        f"dataset:\n{dataset or f'  path: {data}'}\n  limit: 2\n"
        "explainer:\n  samples: 20\n"
        f"cache_dir: {tmp_path / 'cache'}\n"
        f"output: {tmp_path / 'report.json'}\n" + extra
    )
    return cfg


def proxyx(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PROXYX_DATA_DIR": str(tmp_path / "data"), "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-m", "proxyx", *args], capture_output=True, text=True, timeout=300,
                          env=env, cwd=tmp_path)


def one_line_error(p: subprocess.CompletedProcess, code: int = 2) -> str:
    out = p.stdout + p.stderr
    assert "Traceback" not in out, out
    assert p.returncode == code, out
    lines = [line for line in p.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), out
    assert not (Path(p.args[4]).parent / "report.json").exists()  # refused before a report was written
    return lines[0]


def explain(tmp_path: Path, cfg: Path, *more: str) -> subprocess.CompletedProcess:
    return proxyx(tmp_path, "explain", str(cfg), "-q", *more)


# ------------------------------------------------------------------ encodings


@pytest.mark.parametrize("fmt", [pytest.param("jsonl", id="jsonl"), pytest.param("csv", id="csv")])
def test_non_utf8_data_names_file_line_and_byte(tmp_path, fmt):
    if fmt == "jsonl":
        raw = b'{"id": "a", "text": "fine coffee", "label": "great"}\n{"id": "b", "text": "caf\xe9 au lait", "label": "great"}\n'
    else:
        raw = b'id,text,label\na,fine coffee,great\nb,caf\xe9 au lait,great\n'
    data = tmp_path / f"latin1.{fmt}"
    data.write_bytes(raw)
    cfg = make(tmp_path, dataset=f"  path: {data}")
    line = one_line_error(explain(tmp_path, cfg))
    assert f"{data}:{2 if fmt == 'jsonl' else 3}: not UTF-8 (byte 0xe9 at column" in line


def test_non_utf8_config_names_file_line_and_byte(tmp_path):
    cfg = make(tmp_path)
    cfg.write_bytes(cfg.read_bytes().replace(b"explainer:", b"# caf\xe9\nexplainer:"))
    line = one_line_error(explain(tmp_path, cfg))
    assert "c.yaml:7: not UTF-8 (byte 0xe9 at column 6" in line and "iconv" in line


# ------------------------------------------------------------------ cache


def test_corrupt_cache_says_how_to_move_it_aside(tmp_path):
    cfg = make(tmp_path)
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / "calls.sqlite").write_bytes(os.urandom(4096))
    line = one_line_error(explain(tmp_path, cfg))
    assert "is corrupt" in line and f"mv {tmp_path / 'cache' / 'calls.sqlite'}" in line


def test_unwritable_cache_dir(tmp_path):
    (tmp_path / "afile").write_text("not a directory")
    cfg = make(tmp_path)
    cfg.write_text(cfg.read_text().replace(f"cache_dir: {tmp_path / 'cache'}", f"cache_dir: {tmp_path / 'afile' / 'cache'}"))
    line = one_line_error(explain(tmp_path, cfg))
    assert f"cannot create the cache directory {tmp_path / 'afile' / 'cache'}" in line and "set cache_dir" in line


# ------------------------------------------------------------------ YAML


BOMB = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{c}: &{c} [{', '.join([f'*{p}'] * 10)}]\n" for p, c in zip("abcdefgh", "bcdefghi"))


@pytest.mark.parametrize(
    "edit, needle",
    [
        pytest.param(lambda t: t.replace("  samples: 20\n", "  samples: 20\n  method: lime\n  samples: 30\n"),
                     "duplicate key 'explainer.samples' (first on line 8, again on line 10)", id="duplicate-key"),
        pytest.param(lambda t: t + "deep: " + "[" * 5000 + "]" * 5000 + "\n", "nested more than 32 levels deep",
                     id="deep-flow"),
        pytest.param(lambda t: t + "".join(f"{'  ' * i}k{i}:\n" for i in range(200)) + "  " * 200 + "v: 1\n",
                     "nested more than 32 levels deep", id="deep-block"),
        pytest.param(lambda t: t + BOMB, "expands to more than 10,000 values", id="alias-bomb"),
        pytest.param(lambda t: t + "loop: &l [*l]\n", "once its aliases (*name) are filled in", id="recursive-alias"),
    ],
)
def test_yaml_refused_with_line(tmp_path, edit, needle):
    cfg = make(tmp_path)
    cfg.write_text(edit(cfg.read_text()))
    line = one_line_error(explain(tmp_path, cfg))
    assert needle in line and "c.yaml:" in line


def test_aliases_within_bounds_are_fine(tmp_path):
    cfg = make(tmp_path)
    cfg.write_text(cfg.read_text().replace("  - {model: local/vader, alias: vader-twin}",
                                           "  - &twin {model: local/vader, alias: vader-twin}\n  - {<<: *twin, alias: triplet}"))
    p = explain(tmp_path, cfg)
    assert p.returncode == 0, p.stdout + p.stderr


# ------------------------------------------------------------------ sizes


def test_absurd_samples_refused_before_anything_is_spent(tmp_path):
    cfg = make(tmp_path)
    cfg.write_text(cfg.read_text().replace("samples: 20", "samples: 1000000000"))
    line = one_line_error(explain(tmp_path, cfg))
    assert "explainer.samples: must be at most 100000, got 1000000000" in line
    assert not (tmp_path / "cache").exists()


def test_huge_text_refused_with_its_id(tmp_path):
    rows = ROWS[:2] + [{"id": "novel", "text": "word " * 100_000, "label": "great"}]
    cfg = make(tmp_path, rows=rows)
    cfg.write_text(cfg.read_text().replace("  limit: 2\n", ""))
    line = one_line_error(explain(tmp_path, cfg))
    assert "instance 'novel' (test split) has 100,000 words" in line and "dataset.max_words" in line
    assert not (tmp_path / "cache" / "calls.sqlite").exists() or _paid(tmp_path) == 0


def _paid(tmp_path: Path) -> int:
    import sqlite3

    return sqlite3.connect(tmp_path / "cache" / "calls.sqlite").execute("SELECT COUNT(*) FROM calls").fetchone()[0]


def test_huge_limit_is_bounded_by_the_data(tmp_path):
    cfg = make(tmp_path)
    p = explain(tmp_path, cfg, "--limit", str(10**12))
    assert p.returncode == 0, p.stdout + p.stderr
    assert len(json.loads((tmp_path / "report.json").read_text())["instances"]) == len(ROWS)


# ------------------------------------------------------------------ data


def test_duplicate_ids_name_the_id_and_lines(tmp_path):
    cfg = make(tmp_path, rows=ROWS[:3] + [{**ROWS[5], "id": "r1"}])
    line = one_line_error(explain(tmp_path, cfg))
    assert "id 'r1' appears twice (lines 2 and 4)" in line


def test_wrong_label_field_names_the_field_not_the_labels(tmp_path):
    cfg = make(tmp_path, proxies="  - local/tfidf-lr\n")
    cfg.write_text(cfg.read_text().replace("  limit: 2\n", "  limit: 2\n  label_field: sentiment\n"))
    line = one_line_error(explain(tmp_path, cfg))
    assert "no row has the field 'sentiment' (dataset.label_field)" in line
    assert "fields seen: ['id', 'label', 'text']" in line


def test_tfidf_oracle_gets_the_train_split(tmp_path):
    """A local/tfidf-lr oracle was told its training split is empty; it trains on the held-out rows."""
    cfg = make(tmp_path, oracle="local/tfidf-lr")
    p = explain(tmp_path, cfg)
    assert p.returncode == 0, p.stdout + p.stderr
    doc = json.loads((tmp_path / "report.json").read_text())
    assert len(doc["instances"]) == 2 and all(e["status"] == "ok" for e in doc["instances"])


# ------------------------------------------------------------------ secrets

SECRETS = ["sk-proj-4fJk29xQmZ8pLr7TnW2sVb6Yc1Hd", "AIzaSyD4fJk29xQmZ8pLr7TnW2sVb6Yc1Hd0eRt", "hf_4fJk29xQmZ8pLr7TnW2sVb6Y",
           "4fJk29xQmZ8pLr7TnW2sVb6Yc1Hd"]


@pytest.mark.parametrize("secret", [pytest.param(s, id=s[:4]) for s in SECRETS])
@pytest.mark.parametrize("where", [pytest.param("oracle", id="oracle"), pytest.param("proxy", id="proxy")])
def test_api_key_in_api_key_env_is_never_echoed(tmp_path, secret, where):
    block = f"{{model: openai/gpt-4o-mini, api_key_env: '{secret}'}}"
    cfg = make(tmp_path, oracle=block) if where == "oracle" else make(tmp_path, proxies=f"  - {block}\n")
    p = explain(tmp_path, cfg)
    line = one_line_error(p)
    assert secret not in p.stdout + p.stderr and secret[:12] not in p.stdout + p.stderr
    assert "api_key_env" in line and "not shown" in line and "c.yaml:" in line


# ------------------------------------------------------------------ what reaches the terminal

ESC = "\x1b]0;pwned\x07\x1b[2J\x1b[31m"  # set the window title, clear the screen, turn red
SNEAKY = [{"id": f"r{ESC}0", "text": f"Absolutely delicious {ESC}coffee\u202e, the best.", "label": "great"},
          {"id": "r1", "text": "Stale and bland. I threw the whole bag away.", "label": f"other{ESC}"},
          {"id": "r2", "text": "Good value, my kids love these crunchy snacks.", "label": "great"}]


def test_data_cannot_send_escape_sequences_to_the_terminal(tmp_path):
    cfg = make(tmp_path, rows=SNEAKY)
    cfg.write_text(cfg.read_text().replace("  limit: 2\n", "") + "fidelity: {enabled: true}\n")
    runs = [proxyx(tmp_path, "explain", str(cfg), "--show", "3"),  # progress lines, tables, heatmaps, story
            proxyx(tmp_path, "show", str(tmp_path / "report.json"))]
    write_rows(tmp_path / "reviews.jsonl", SNEAKY + [{"id": "r1", "text": f"again {ESC}", "label": "great"}])
    runs.append(proxyx(tmp_path, "explain", str(cfg), "-q"))  # an error that names an id
    for p in runs[:2]:
        assert p.returncode == 0, p.stdout + p.stderr
    assert "appears twice" in runs[2].stderr and runs[2].returncode == 2
    for p in runs:
        out = p.stdout + p.stderr
        assert "\x1b" not in out and "\x07" not in out and "\u202e" not in out, out
    shown = runs[0].stdout + runs[1].stdout
    assert "r\\x1b]0;pwned\\x07" in shown and "\\u202e" in shown  # escaped, still readable


def test_url_credentials_never_leave_and_a_failing_proxy_says_why(tmp_path):
    secret = "s3cr3t-Pa55"
    block = (f"{{model: openai/gpt-4o-mini, alias: remote, api_base: 'http://alice:{secret}@127.0.0.1:9/v1', "
             "api_key_env: PROXYX_TEST_KEY, max_retries: 0, timeout_s: 5}")
    cfg = make(tmp_path, "screen: {enabled: true, min_instances: 2}\n", proxies=f"  - {block}\n")
    cfg.write_text(cfg.read_text().replace("  - {model: local/vader, alias: vader-twin}\n", ""))
    env = {**os.environ, "PROXYX_DATA_DIR": str(tmp_path / "data"), "COLUMNS": "200", "PROXYX_TEST_KEY": "not-used"}
    p = subprocess.run([sys.executable, "-m", "proxyx", "explain", str(cfg), "-q"], capture_output=True, text=True,
                       timeout=300, env=env, cwd=tmp_path)
    assert p.returncode == 3 and "Traceback" not in p.stdout + p.stderr, p.stdout + p.stderr
    said = " ".join((p.stdout + p.stderr).split())
    assert "could not connect to http://[redacted]@127.0.0.1:9" in said and "connection refused" in said
    assert "not faithful enough" not in said
    written = (tmp_path / "report.json").read_text() + (tmp_path / "report.html").read_text()
    for text in (p.stdout + p.stderr, written, *(f.read_text() for f in (tmp_path / "cache").glob("*.json"))):
        assert secret not in text and "alice" not in text
    assert "http://[redacted]@127.0.0.1:9/v1" in written  # the report says where, without the credentials


# ------------------------------------------------------------------ inputs that are not regular files

def _fifo(path: Path) -> Path:
    os.mkfifo(path)
    return path


@pytest.mark.timeout(120)
@pytest.mark.parametrize("what, make_path, needle", [
    pytest.param("config", lambda t: _fifo(t / "fifo.yaml"), "config file '{p}' is a pipe", id="config-fifo"),
    pytest.param("config", lambda t: Path("/dev/null"), "config file '/dev/null' is a device", id="config-device"),
    pytest.param("config", lambda t: t, "config file '{p}' is a directory", id="config-directory"),
    pytest.param("data", lambda t: _fifo(t / "fifo.jsonl"), "data file '{p}' is a pipe", id="data-fifo"),
    pytest.param("data", lambda t: Path("/dev/null"), "data file '/dev/null' is a device", id="data-device"),
    pytest.param("data", lambda t: t, "data file '{p}' is a directory", id="data-directory"),
    pytest.param("screen", lambda t: _fifo(t / "fifo.json"), "screening result (--screen) '{p}' is a pipe",
                 id="screen-fifo"),
    pytest.param("screen", lambda t: Path("/dev/null"), "'/dev/null' is a device", id="screen-device"),
    pytest.param("screen", lambda t: t, "'{p}' is a directory", id="screen-directory"),
])
def test_inputs_that_are_not_regular_files_are_refused_without_waiting(tmp_path, what, make_path, needle):
    from typer.testing import CliRunner

    from proxyx.cli import app

    path = make_path(tmp_path)
    cfg = make(tmp_path, dataset=f"  path: {path}") if what == "data" else make(tmp_path)
    args = {"config": [str(path)], "data": [str(cfg)], "screen": [str(cfg), "--screen", str(path)]}[what]
    r = CliRunner().invoke(app, ["explain", *args, "-q"])
    assert r.exit_code == 2 and "Traceback" not in r.output, r.output
    lines = [line for line in r.output.splitlines() if line.strip()]
    assert len(lines) == 1 and needle.format(p=path) in lines[0] and "not a regular file" in lines[0], r.output
    assert not (tmp_path / "cache" / "calls.sqlite").exists() or _paid(tmp_path) == 0


def test_process_substitution_is_refused(tmp_path):
    cfg = make(tmp_path)
    p = subprocess.run(["bash", "-c", f'"{sys.executable}" -m proxyx explain <(cat "{cfg}") -q'], capture_output=True,
                       text=True, timeout=120, cwd=tmp_path)
    assert p.returncode == 2 and "Traceback" not in p.stderr, p.stderr
    assert "is a pipe (a FIFO, or <(...) in the shell), not a regular file" in p.stderr


# ------------------------------------------------------------------ nothing left to screen, a broken CSV, a tiny budget

def test_limit_that_takes_the_whole_screen_split_says_so(tmp_path):
    cfg = make(tmp_path, "screen: {enabled: true}\n")
    line = one_line_error(explain(tmp_path, cfg, "--limit", str(len(ROWS))))
    assert f"dataset.limit ({len(ROWS)}) explains all {len(ROWS)} rows of the test split" in line
    assert f"lower dataset.limit (or --limit) below {len(ROWS)}" in line and "screen file" in line


def test_csv_with_an_unclosed_quote_names_the_line(tmp_path):
    data = tmp_path / "r.csv"
    data.write_text('id,text,label\na,fine coffee,great\nb,"cafe au lait,great\nc,bad tea,other\n')
    line = one_line_error(explain(tmp_path, make(tmp_path, dataset=f"  path: {data}")))
    assert f"{data}:3: a quoted field opened in this row is never closed" in line


def test_a_budget_smaller_than_one_call_prints_amounts_that_are_not_zero(tmp_path):
    cfg = make(tmp_path, "max_usd: 0.000000001\n")
    p = explain(tmp_path, cfg)
    assert p.returncode == 4 and "Traceback" not in p.stdout + p.stderr, p.stdout + p.stderr
    reason = json.loads((tmp_path / "report.json").read_text())["stop_reason"]
    amount = reason.split("up to $")[1].split(")")[0]
    assert "is less than one call" in reason and float(amount) > 0 and f"raise max_usd above ${amount}" in reason
