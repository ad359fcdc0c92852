"""``proxyx compress`` / ``proxyx clean``: a table on success, one line and exit 2 on bad input.

Successful runs and one bad input per command go through a subprocess (the real entry point); the other bad
inputs through typer's CliRunner in process: the same handler, without the subprocess's seconds of imports.
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from proxyx.cli import app


def run(*args, cwd):
    return subprocess.run([sys.executable, "-m", "proxyx", *args], capture_output=True, text=True, cwd=cwd, timeout=300)


def run_in_process(*args, cwd):
    """``run`` through CliRunner: a CompletedProcess with the exit code, stdout and stderr."""
    result = CliRunner().invoke(app, list(args))
    return subprocess.CompletedProcess(args, result.exit_code, result.stdout, result.stderr)


BAD = [
    ({"demonstrations": {"count": 0}}, "demonstrations.count", "zero-demonstrations"),
    ({"proxies": ["local/tfidf-lr"]}, "local/tfidf-lr reads only the input text", "text-only-proxy"),
    ({"oracle": "local/vader"}, "local/vader reads only the input text", "text-only-oracle"),
    ({"compress": {"unit": "paragraph"}}, "compress.unit", "unknown-unit"),
    ({"proxies": ["local/no-such-model"]}, "unknown model 'local/no-such-model'", "unknown-model"),
]


@pytest.mark.parametrize("command, over, message, runner", [
    *[pytest.param(c, over, msg, run if name == "unknown-model" else run_in_process, id=f"{c}-{name}")
      for c in ("compress", "clean") for over, msg, name in BAD],
    pytest.param("compress", {"compress": {"methods": ["self_information"]}}, "self_information needs",
                 run_in_process, id="compress-self-information-without-gemma"),
    pytest.param("compress", {"proxies": [], "compress": {"methods": ["proxy"]}}, "'proxies' is empty",
                 run_in_process, id="compress-proxy-without-proxies"),
    pytest.param("compress", {"compress": {"target": "input"}}, "unit: demonstration is a unit of the prompt",
                 run_in_process, id="compress-input-by-demonstration"),
    pytest.param("compress", {"oracle": "local/tfidf-lr", "proxies": ["local/vader"],
                              "compress": {"target": "input", "unit": "sentence", "min_units": 500}},
                 "at least 500 sentences", run_in_process, id="compress-input-too-few-long-inputs"),
    pytest.param("clean", {"clean": {"poison": {"count": 7}}}, "clean.poison.count: 7 is more than the 6 demonstrations",
                 run_in_process, id="clean-poison-above-k"),
    pytest.param("clean", {"clean": {"poison": {"indices": [1, 6]}}}, "clean.poison.indices: [6] out of range",
                 run_in_process, id="clean-poison-index-out-of-range"),
    pytest.param("clean", {"clean": {"estimators": ["prior"]}}, "clean.estimators: the proxy-informed estimators need "
                 "explainer.oracle_samples", run_in_process, id="clean-estimator-without-oracle-samples"),
    pytest.param("clean", {"clean": {"remove": 6}}, "clean.remove: 6 would remove every one of the 6",
                 run_in_process, id="clean-remove-all"),
    pytest.param("clean", {"clean": {"poison": {"vader_min": 0.3}}},
                 "clean.poison.vader_min: must be at least 0.5, got 0.3",
                 run_in_process, id="clean-vader-min-below-half"),
    pytest.param("clean", {"clean": {"poison": {"count": 6, "vader_min": 0.99}}}, "have a clear label",
                 run_in_process, id="clean-too-few-clear-texts"),
])
def test_bad_input_is_one_line_and_exit_2(app_yaml, tmp_path, command, over, message, runner):
    path = app_yaml(**over)
    out = runner(command, str(path), "-q", "-o", str(tmp_path / "o"), cwd=tmp_path)
    assert out.returncode == 2, out.stderr
    assert "Traceback" not in out.stderr + out.stdout
    lines = [ln for ln in out.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and message in lines[0], out.stderr
    assert not (tmp_path / "o").exists()  # nothing written


@pytest.mark.parametrize("command, title, written", [
    pytest.param("compress", "prompt compression", ["compress.json", "compress.png", "prompt.oracle.txt"], id="compress"),
    pytest.param("clean", "poisoned demonstrations", ["clean.json", "prompt.cleaned.oracle.run0.txt"], id="clean"),
])
def test_commands_print_a_table_and_write_their_files(app_yaml, tmp_path, command, title, written):
    path = app_yaml()
    out = run(command, str(path), "-q", "-o", str(tmp_path / "o"), cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert title in " ".join(out.stdout.split())
    for name in written:
        assert (tmp_path / "o" / name).is_file()


@pytest.mark.parametrize("command", ["compress", "clean"])
@pytest.mark.parametrize("out, needle", [
    pytest.param(lambda t: t / "cache", "is inside the cache directory (cache_dir)", id="into-the-cache"),
    pytest.param(lambda t: (t / "afile", (t / "afile").write_text("x"))[0], "afile' is not a directory",
                 id="a-file-as-the-directory"),
])
def test_outputs_refused_before_anything_is_paid(app_yaml, tmp_path, command, out, needle):
    path = app_yaml()
    p = run(command, str(path), "-q", "-o", str(out(tmp_path)), cwd=tmp_path)
    assert p.returncode == 2 and "Traceback" not in p.stderr + p.stdout, p.stderr
    lines = [ln for ln in p.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and needle in lines[0], p.stderr
    assert not (tmp_path / "cache" / "calls.sqlite").exists()  # refused before the cache was opened


def test_a_prompt_file_that_is_read_only_is_refused_before_anything_is_paid(app_yaml, tmp_path):
    (tmp_path / "o").mkdir()
    (tmp_path / "o" / "prompt.cleaned.oracle.run1.txt").write_text("keep me")
    (tmp_path / "o" / "prompt.cleaned.oracle.run1.txt").chmod(0o444)
    p = run("clean", str(app_yaml()), "-q", "-o", str(tmp_path / "o"), cwd=tmp_path)
    assert p.returncode == 2 and "(the oracle cleaned prompt of run 1) is read-only" in p.stderr, p.stderr
    assert (tmp_path / "o" / "prompt.cleaned.oracle.run1.txt").read_text() == "keep me"
    assert not (tmp_path / "cache" / "calls.sqlite").exists()


@pytest.mark.parametrize("command, budget, finished", [
    # measured on this config (the proxy answers from the oracle's cache: same model): compress pays $0.0004 for
    # the rankings, then $0.0007 for accuracy; clean about $0.0007 a run (2 runs)
    pytest.param("compress", 0.0008,
                 lambda d: "oracle" in d["orders"] and any(k.startswith("proxy:") for k in d["orders"]),
                 id="compress"),
    pytest.param("clean", 0.0010, lambda d: [r["run"] for r in d["runs"]] == [0] and not d["routes"], id="clean"),
])
def test_stopped_by_max_usd_exit_4_and_write_what_finished(app_yaml, tmp_path, command, budget, finished):
    path = app_yaml(max_usd=budget)
    p = run(command, str(path), "-q", "-o", str(tmp_path / "o"), cwd=tmp_path)
    assert p.returncode == 4 and "Traceback" not in p.stderr + p.stdout, p.stdout + p.stderr
    doc = json.loads((tmp_path / "o" / f"{command}.json").read_text())
    assert doc["status"] == "stopped_budget" and "max_usd" in doc["stop_reason"]
    assert finished(doc), doc
    assert 0 < sum(r["cost"]["paid"]["usd"] for r in doc["ledger"]) <= budget
    assert "stopped at the budget cap" in p.stdout and f"{command}.json" in p.stdout
    again = run(command, str(app_yaml()), "-q", "-o", str(tmp_path / "o"), cwd=tmp_path)  # resumes from the cache
    assert again.returncode == 0 and json.loads((tmp_path / "o" / f"{command}.json").read_text())["status"] == "complete"


@pytest.mark.parametrize("command", ["compress", "clean"])
def test_a_report_that_cannot_be_written_at_the_end_goes_beside_the_cache(app_config, tmp_path, caplog, command):
    """The report's path becomes a directory while the run pays (another process racing it)."""
    from proxyx.apps import run_clean, run_compress

    out = tmp_path / "o"

    def race(stage, done, total):
        (out / f"{command}.json").mkdir(parents=True, exist_ok=True)

    runner = run_compress if command == "compress" else run_clean
    report = runner(app_config(), out_dir=out, on_progress=race)
    saved = Path(report.files["report"])
    assert saved.parent == tmp_path / "cache" and saved.name.startswith(f"{command}.")
    assert json.loads(saved.read_text())["status"] == "complete"
    assert f"could not write {out / f'{command}.json'}" in caplog.text and str(saved) in caplog.text
