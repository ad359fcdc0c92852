"""proxyx explain against a real OpenAI-compatible server: crash and resume, failures, budget, secrets."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import yaml
from llm_support import FAKE_KEY, KEY_ENV, ROUTES

REVIEWS = [
    "Tasty and fresh, my kids love these crackers.",
    "Stale, bland and overpriced. Never again.",
    "Great coffee with a rich smooth taste.",
    "The box arrived crushed and the cookies were broken.",
]


def write_config(tmp: Path, api_base: str, *, reviews=REVIEWS, samples: int = 16, **oracle) -> Path:
    data = tmp / "reviews.jsonl"
    data.write_text("".join(json.dumps({"id": f"r{i}", "text": t}) + "\n" for i, t in enumerate(reviews)))
    cfg = {
        "oracle": {"model": ROUTES["completion"], "api_base": api_base, "api_key_env": KEY_ENV, "concurrency": 2,
                   "timeout_s": 20, "max_retries": 1, "price": {"input_per_mtok": 1.0, "output_per_mtok": 2.0}, **oracle},
        "proxies": [],
        "dataset": {"path": str(data)},
        "task": {"few_shot": [{"text": "Awful, it tasted like cardboard.", "label": "other"},
                              {"text": "Delicious, I love it!", "label": "great"}]},
        "explainer": {"method": "lime", "samples": samples},
        "cache_dir": str(tmp / "cache"),
        "output": str(tmp / "report.json"),
    }
    path = tmp / "c.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def env() -> dict:
    return {**os.environ, KEY_ENV: FAKE_KEY}


def run(config: Path) -> tuple[subprocess.CompletedProcess, dict]:
    p = subprocess.run([sys.executable, "-m", "proxyx", "explain", str(config), "-q"], capture_output=True,
                       text=True, timeout=300, env=env())
    out = Path(yaml.safe_load(config.read_text())["output"])
    return p, (json.loads(out.read_text()) if out.exists() else {})


def cached_calls(tmp: Path) -> int:
    db = tmp / "cache" / "calls.sqlite"
    if not db.exists():
        return 0
    try:
        return sqlite3.connect(db, timeout=5).execute("SELECT COUNT(*) FROM calls").fetchone()[0]
    except sqlite3.OperationalError:
        return 0


def paid(doc: dict) -> int:
    return sum(r["cost"]["paid"]["calls"] for r in doc["ledger"])


def test_sigkill_then_resume_pays_nothing_twice(llama_server, tmp_path):
    fresh_dir, crash_dir = tmp_path / "fresh", tmp_path / "crash"
    fresh_dir.mkdir(), crash_dir.mkdir()
    few = dict(reviews=REVIEWS[:3], samples=8)  # 27 calls: the kill still lands mid-run (polled every 50 ms)
    p, whole = run(write_config(fresh_dir, llama_server.api_base, **few))
    assert p.returncode == 0, p.stderr
    total = paid(whole)

    config = write_config(crash_dir, llama_server.api_base, **few)
    proc = subprocess.Popen([sys.executable, "-m", "proxyx", "explain", str(config), "-q"], env=env(),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while cached_calls(crash_dir) < total // 2 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait(30)
    before = cached_calls(crash_dir)
    assert 0 < before < total, "the kill should land mid-run"
    assert sqlite3.connect(crash_dir / "cache" / "calls.sqlite").execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    paid_before_kill = answers(crash_dir)

    p, resumed = run(config)
    assert p.returncode == 0, p.stderr
    assert paid(resumed) == total - before  # the ledger shows only new calls
    assert [e["oracle"]["label"] for e in resumed["instances"]] == [e["oracle"]["label"] for e in whole["instances"]]
    assert resumed["crr"]["calls"] == whole["crr"]["calls"]
    # The same prompts as the uninterrupted run, each asked once; what was paid before the kill is kept as it was.
    fresh, crashed = answers(fresh_dir), answers(crash_dir)
    assert fresh.keys() == crashed.keys()
    assert {k: crashed[k] for k in paid_before_kill} == paid_before_kill
    # llama.cpp's server reuses the KV prefix of the request before, so an answer moves with the order the two
    # concurrent requests arrive in (seen: up to 0.018): the two runs' answers agree within a few hundredths.
    for key, probs in fresh.items():
        np.testing.assert_allclose(crashed[key], probs, atol=0.05)
    p, again = run(config)  # from the cache alone: exactly the resumed run's numbers
    assert p.returncode == 0 and paid(again) == 0
    assert [e["attribution"] for e in again["instances"]] == [e["attribution"] for e in resumed["instances"]]


def answers(tmp: Path) -> dict[str, list[float]]:
    rows = sqlite3.connect(tmp / "cache" / "calls.sqlite").execute("SELECT key, answer FROM calls")
    return {key: json.loads(answer)["probs"] for key, answer in rows}


def test_failed_instance_is_marked_and_the_run_goes_on(relay, tmp_path):
    r = relay(["500", "500"])  # the first call (instance 1's label) fails on both attempts
    p, doc = run(write_config(tmp_path, r.url + "/v1", reviews=REVIEWS[:2], samples=8, concurrency=1))
    assert p.returncode == 3, p.stderr
    assert doc["status"] == "complete_with_failures"
    failed = [e for e in doc["instances"] if e["status"] == "failed"]
    assert failed and all("after 2 attempts" in e["error"] for e in failed)
    assert any("500" in e["error"] for e in failed)
    assert doc["summary"]["explained"] == 2 - len(failed) > 0  # the run went on


def test_budget_is_never_passed_with_concurrency(llama_server, tmp_path):
    cap = 0.01  # ~70 prompt tokens a call at $10 per million: ~$0.0007 a call, about 14 calls of the ~70 needed
    config = write_config(tmp_path, llama_server.api_base, concurrency=4,
                          price={"input_per_mtok": 10.0, "output_per_mtok": 10.0})
    cfg = yaml.safe_load(config.read_text())
    cfg["max_usd"] = cap
    config.write_text(yaml.safe_dump(cfg))
    p, doc = run(config)
    assert p.returncode == 4, p.stderr
    assert doc["status"] == "stopped_budget"
    spent = sum(r["cost"]["paid"]["usd"] for r in doc["ledger"])
    assert 0 < spent <= cap


def test_key_never_in_report_cache_or_output(relay, tmp_path):
    r = relay(["401"])  # the relay's error body echoes the Authorization header
    p, doc = run(write_config(tmp_path, r.url + "/v1", reviews=REVIEWS[:2], samples=8, concurrency=1))
    assert any(s.authorization and FAKE_KEY in s.authorization for s in r.log)  # the key did reach the server
    assert p.returncode == 3
    assert FAKE_KEY not in p.stdout + p.stderr
    assert FAKE_KEY not in json.dumps(doc)
    for f in (tmp_path / "cache").iterdir():
        assert FAKE_KEY.encode() not in f.read_bytes()
