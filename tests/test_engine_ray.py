"""``engine.kind: ray``: two workers of a local Ray cluster give the single process's report, share one cache and
one budget, and a worker killed mid-run loses no stored answer (issue 23).

One Ray instance (2 CPUs) serves the module; each run starts its own workers. Real local models (VADER as the
oracle and a renamed VADER as the proxy); the slow oracle of the fault test is a ``python:`` model that sleeps, as
a remote model's latency would.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import yaml

from proxyx.cache import call_key
from proxyx.config import parse_config
from proxyx.pipeline import run_explain

ray = pytest.importorskip("ray")

TWIN = {"model": "local/vader", "alias": "vader-twin", "price": {"input_per_mtok": 1.0}}
ROOT = Path(__file__).resolve().parents[1]

SLOW_ORACLE = '''
"""A lexicon oracle that takes 20 ms a text and logs every text it is sent (one line each)."""
import json, os, time

GOOD = {"delicious", "best", "good", "love", "wonderful", "lovely", "perfect", "great", "tasty", "fresh"}


def classify(texts):
    with open(os.path.join(os.path.dirname(__file__), "sent.jsonl"), "a") as log:
        for t in texts:
            log.write(json.dumps(t) + "\\n")
    time.sleep(0.02 * len(texts))
    rows = []
    for t in texts:
        good = sum(w.strip(".,!").lower() in GOOD for w in t.split())
        p = min(0.95, 0.2 + 0.25 * good)
        rows.append([p, 1 - p])
    return rows
'''


@pytest.fixture(scope="module")
def cluster():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def settings(tmp_path: Path, name: str, **extra) -> dict:
    return {"oracle": "local/vader", "proxies": [TWIN], "dataset": {"limit": 4},
            "explainer": {"method": "kernel_shap", "samples": 48, "estimator": "control_variate",
                          "oracle_samples": 16},
            "cache_dir": str(tmp_path / name), "output": str(tmp_path / f"{name}.json"), "max_usd": None,
            **extra}


def _same(local: dict, cluster: dict) -> None:
    """Equal reports but for timings and which of two instances paid for a text they share (the empty mask)."""
    def strip(o, path=""):
        if isinstance(o, dict):
            return {k: strip(v, f"{path}.{k}") for k, v in o.items()
                    if k not in ("seconds", "wall_time_s", "created", "cache_dir", "output", "engine")
                    and not (path.startswith(".instances") and k in ("paid", "hits"))}
        if isinstance(o, list):
            return [strip(v, path) for v in o]
        return o

    assert strip(local) == strip(cluster)
    assert [r["cost"]["paid"]["calls"] for r in local["ledger"]] == [r["cost"]["paid"]["calls"] for r in
                                                                    cluster["ledger"]]


def test_two_workers_give_the_single_process_report_and_a_rerun_pays_0(tmp_path, fine_foods, cluster):
    local = run_explain(parse_config(settings(tmp_path, "local"))).to_dict()
    config = parse_config(settings(tmp_path, "ray", engine={"kind": "ray", "workers": 2}))
    first = run_explain(config).to_dict()
    assert first["status"] == "complete" and len(first["instances"]) == 4
    _same(local, first)
    again = run_explain(config).to_dict()
    assert sum(r["cost"]["paid"]["calls"] for r in again["ledger"]) == 0
    _same(local, again | {"ledger": first["ledger"]})


def test_max_usd_holds_across_the_workers(tmp_path, fine_foods, cluster):
    priced = {"model": "local/vader", "price": {"input_per_mtok": 10.0}}
    cap = 0.05  # about 100 oracle texts of ~50 tokens: a part of the ~500 the run needs
    config = parse_config(settings(tmp_path, "budget", oracle=priced, proxies=[], max_usd=cap,
                                   explainer={"method": "kernel_shap", "samples": 64}, dataset={"limit": 8},
                                   engine={"kind": "ray", "workers": 2}))
    report = run_explain(config).to_dict()
    assert report["status"] == "stopped_budget", report.get("stop_reason")
    paid = sum(r["cost"]["paid"]["usd"] for r in report["ledger"])
    assert 0 < paid <= cap + 1e-9
    assert 0 < len(report["instances"]) < 8


def _worker_pids() -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and b"ExplainWorker" in (entry / "cmdline").read_bytes():
                pids.append(int(entry.name))
        except OSError:
            continue
    return pids


def _stored(cache_dir: Path) -> set[str]:
    try:
        with sqlite3.connect(cache_dir / "calls.sqlite") as db:
            return {k for (k,) in db.execute("SELECT key FROM calls")}
    except sqlite3.Error:
        return set()


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="finds the worker process in /proc")
def test_a_killed_worker_loses_no_stored_answer_and_the_run_ends_with_the_same_report(tmp_path, fine_foods,
                                                                                       cluster, monkeypatch):
    (tmp_path / "slow_oracle.py").write_text(SLOW_ORACLE)
    monkeypatch.syspath_prepend(str(tmp_path))
    log = tmp_path / "sent.jsonl"
    slow = dict(oracle="python:slow_oracle:classify", proxies=[], dataset={"limit": 6},
                explainer={"method": "kernel_shap", "samples": 40})
    config = parse_config(settings(tmp_path, "ray", **slow, engine={"kind": "ray", "workers": 2}))
    result: dict = {}
    run = threading.Thread(target=lambda: result.update(report=run_explain(config).to_dict()))
    run.start()
    deadline = time.monotonic() + 120
    while len(_stored(tmp_path / "ray")) < 60 and run.is_alive() and time.monotonic() < deadline:
        time.sleep(0.02)
    pids = _worker_pids()
    assert run.is_alive() and pids, "the run ended before a worker could be killed; make it longer"
    os.kill(pids[0], signal.SIGKILL)
    time.sleep(0.2)  # an answer the worker was storing as it died is either stored by now or lost with it
    stored_at_kill = _stored(tmp_path / "ray")
    sent_at_kill = len(log.read_text().splitlines())
    run.join(timeout=300)
    report = result["report"]
    assert report["status"] == "complete" and all(e["status"] == "ok" for e in report["instances"])

    from proxyx.models import build_model

    fingerprint = build_model(config.oracle, config.task).fingerprint()
    resent = [json.loads(line) for line in log.read_text().splitlines()[sent_at_kill:]]
    assert not [t for t in resent if call_key(fingerprint, t) in stored_at_kill], "a stored answer was paid again"
    local = run_explain(parse_config(settings(tmp_path, "local", **slow))).to_dict()
    _same(local | {"ledger": report["ledger"]}, report)


def test_ctrl_c_stops_the_workers_and_a_rerun_resumes(tmp_path, fine_foods, cluster, monkeypatch):
    (tmp_path / "slow_oracle.py").write_text(SLOW_ORACLE)
    config = settings(tmp_path, "cli", oracle="python:slow_oracle:classify", proxies=[], dataset={"limit": 6},
                      explainer={"method": "kernel_shap", "samples": 40}, engine={"kind": "ray", "workers": 2})
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(config))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(tmp_path)])}
    command = [sys.executable, "-m", "proxyx", "explain", str(path), "-q", "--no-html"]
    p = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                         preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 180
    while len(_stored(tmp_path / "cli")) < 40 and p.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert p.poll() is None, "the run ended before it could be interrupted; make it longer"
    p.send_signal(signal.SIGINT)
    _, err = p.communicate(timeout=120)
    assert p.returncode == 130, err
    assert "Traceback" not in err
    time.sleep(0.5)
    assert not _worker_pids(), "a worker outlived the interrupted run"
    kept = len(_stored(tmp_path / "cli"))
    monkeypatch.syspath_prepend(str(tmp_path))  # the rerun, in this process (on the module's cluster)
    doc = run_explain(parse_config(config)).to_dict()
    assert doc["status"] == "complete" and len(doc["instances"]) == 6
    hits = sum(row["cost"]["hits"] for row in doc["ledger"])
    assert hits >= kept


REFUSAL = "engine.kind: ray runs 'proxyx explain', 'proxyx bench' and 'proxyx influence' for now"


@pytest.mark.parametrize("command", ["rerank", "compress"])
def test_commands_that_run_in_one_process_refuse_a_ray_engine(tmp_path, command):
    from typer.testing import CliRunner

    from proxyx.cli import app

    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(settings(tmp_path, "x", engine={"kind": "ray"})))
    r = CliRunner().invoke(app, [command, str(path)])
    assert r.exit_code == 2
    assert REFUSAL in r.output and "Traceback" not in r.output


@pytest.mark.parametrize("app", ["compress", "clean", "rerank"])
def test_the_apps_library_calls_refuse_a_ray_engine_too(tmp_path, app):
    """No silent run in one process: the library call says what the command line says, before anything runs."""
    from proxyx.apps import run_clean, run_compress
    from proxyx.apps.rerank import run_rerank
    from proxyx.errors import ConfigError

    config = parse_config(settings(tmp_path, "x", engine={"kind": "ray"}))
    call = {"compress": lambda: run_compress(config, out_dir=tmp_path / "out"),
            "clean": lambda: run_clean(config, out_dir=tmp_path / "out"),
            "rerank": lambda: run_rerank(config, out=tmp_path / "rerank.json")}[app]
    with pytest.raises(ConfigError, match=REFUSAL.replace("(", r"\(")):
        call()
    assert not (tmp_path / "x").exists() and not (tmp_path / "out").exists()


PRICE = {"input_per_mtok": 10.0}  # the twin at the oracle's price: a text both answer costs the same whoever paid


def bench_settings(tmp_path: Path, name: str, **extra) -> dict:
    """Two screen-and-apply cells (TF-IDF and a VADER twin screened on a VADER oracle) and the frontier."""
    return {"oracle": {"model": "local/vader", "price": PRICE},
            "proxies": ["local/tfidf-lr", {**TWIN, "price": PRICE}], "dataset": {"limit": 4, "max_words": 40},
            "screen": {"min_instances": 2, "max_instances": 3}, "fidelity": {"heldout_samples": 16},
            "bench": {"methods": ["kernel_shap"], "samples": [16], "oracle_ladder": [8, 16], "oracle_samples": [8],
                      "proxy_samples": 16, "estimators": ["control_variate"]},
            "cache_dir": str(tmp_path / name), "output": str(tmp_path / f"{name}.json"), **extra}


def _timeless(doc):
    """A bench document without what a rerun or the engine changes: ``created``, the ``run`` blocks, model
    seconds (and the throughputs made of them), where the files go, the engine block."""
    if isinstance(doc, dict):
        return {k: _timeless(v) for k, v in doc.items() if k not in ("created", "run", "seconds", "throughput",
                                                                     "throughput_per_hour", "cache_dir", "output",
                                                                     "engine")}
    if isinstance(doc, list):
        return [_timeless(v) for v in doc]
    return doc


def test_bench_on_two_workers_writes_the_single_process_bench(tmp_path, fine_foods, cluster):
    from proxyx.bench.run import run_bench

    local = run_bench(parse_config(bench_settings(tmp_path, "local"))).to_dict()
    doc = run_bench(parse_config(bench_settings(tmp_path, "ray", engine={"kind": "ray", "workers": 2})),
                    out_dir=tmp_path / "out").to_dict()
    assert doc["status"] == "complete" and len(doc["cells"]) == 2 and doc["frontier"]["cells"]
    assert _timeless(local) == _timeless(doc)
    assert json.loads((tmp_path / "out" / "bench.json").read_text())["status"] == "complete"
    paid = [sum(r["cost"]["paid"]["calls"] for r in d["run"]["ledger"]) for d in (local, doc)]
    assert paid[0] == paid[1] > 0  # no text paid twice across the driver's screens and the workers


def test_bench_stops_at_max_usd_across_the_workers_and_exits_4(tmp_path, fine_foods, cluster):
    from typer.testing import CliRunner

    from proxyx.cli import app

    cap = 0.035  # about 3 of the 8 instances' frontier (about $0.01 each)
    config = bench_settings(tmp_path, "budget", proxies=["local/tfidf-lr"], max_usd=cap,
                            dataset={"limit": 8, "max_words": 40},
                            bench={"methods": ["kernel_shap"], "samples": [], "oracle_ladder": [8, 16],
                                   "oracle_samples": [8], "proxy_samples": 16, "estimators": ["control_variate"]})
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(config))
    r = CliRunner().invoke(app, ["bench", str(path), "--engine", "ray", "--workers", "2", "-q",
                                 "--out", str(tmp_path / "out")])
    assert r.exit_code == 4, r.output
    doc = json.loads((tmp_path / "out" / "bench.json").read_text())
    assert doc["status"] == "stopped_budget"
    assert 0 < sum(row["cost"]["paid"]["usd"] for row in doc["run"]["ledger"]) <= cap + 1e-9
    done = {p["id"] for p in doc["frontier"]["cells"][0]["points"]}
    assert 0 < len(done) < 8 and all({p["id"] for p in c["points"]} == done for c in doc["frontier"]["cells"])
