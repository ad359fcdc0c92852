"""``proxyx influence`` on a local Ray cluster (issue 23): 2 workers give the single process's report, share one
gradient store (a rerun computes nothing), and a worker killed mid-run loses no record.

Real Gemma 3 270M in torch (one local Ray instance of 2 CPUs for the module, each run starting its own workers);
the rule setting only (Gemma's paraphrases would decode for minutes).
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from pathlib import Path

import psutil
import pytest

from proxyx.config import parse_config
from proxyx.influence import run_influence_bench

ray = pytest.importorskip("ray")

ROWS = [("a", "The coffee was stale and bitter, I threw the bag away.", "other"),
        ("b", "Stale crackers and bitter coffee, what a waste of money.", "other"),
        ("c", "My kids love these crunchy snacks, great value.", "great"),
        ("d", "Bitter coffee again, the bag arrived stale and torn.", "other"),
        ("e", "Wonderful tea with a fresh flavor, will buy again.", "great"),
        ("f", "Tasty and fresh, the best crackers in the store.", "great")]

TIMINGS = {"seconds", "wall_seconds", "peak_rss_gb", "seconds_per_1000", "seconds_per_example"}


@pytest.fixture(scope="module")
def cluster():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def _config(tmp_path: Path, cache: str, **engine):
    data = tmp_path / "train.jsonl"
    data.write_text("".join(json.dumps({"id": i, "text": t, "label": lab}) + "\n" for i, t, lab in ROWS))
    return parse_config({"oracle": "local/gemma-3-270m", "dataset": {"path": str(data)},
                         "cache_dir": str(tmp_path / cache), "output": str(tmp_path / f"{cache}.json"),
                         "influence": {"threads": 1, "max_words": 30, "sources": 4, "candidates": 5, "dims": [1024],
                                       "max_components": 1, "random_draws": 2, "timing_examples": 1,
                                       "settings": ["wordnet"]},
                         **({"engine": {"kind": "ray", **engine}} if engine else {})})


def _untimed(o):
    if isinstance(o, dict):
        return {k: _untimed(v) for k, v in o.items() if k not in TIMINGS}
    if isinstance(o, list):
        return [_untimed(v) for v in o]
    return o


def _records(cache: Path) -> set[Path]:
    return set((cache / "influence").rglob("*.npz"))


def test_two_workers_give_the_single_process_report_a_killed_one_loses_no_record_and_a_rerun_computes_nothing(
        tmp_path, cluster):
    """One worker is killed once 3 records are stored: its source goes to another worker, every record stored before
    is kept, and the scores are the ones one process finds from the same store; rerun on the cluster, nothing is
    computed and the report, ledger included, is one process's."""
    config = _config(tmp_path, "cluster", workers=2)
    result: dict = {}
    run = threading.Thread(target=lambda: result.update(report=run_influence_bench(config)))
    run.start()
    deadline = time.monotonic() + 120
    while len(_records(tmp_path / "cluster")) < 3 and run.is_alive() and time.monotonic() < deadline:
        time.sleep(0.05)
    workers = [p.pid for p in psutil.process_iter(["cmdline"]) if "ExplainWorker" in " ".join(p.info["cmdline"] or [])]
    assert run.is_alive() and workers, "the run ended before a worker could be killed; make it longer"
    os.kill(workers[0], signal.SIGKILL)
    time.sleep(0.2)  # a record being written as the worker died is either renamed into place by now or never is
    at_kill = _records(tmp_path / "cluster")
    run.join(timeout=300)
    killed = result["report"]
    assert killed.status == "complete" and at_kill <= _records(tmp_path / "cluster")
    alone = run_influence_bench(_config(tmp_path, "cluster"))  # one process, the same store: reads only
    assert alone.scores and _untimed(killed.model_dump()["scores"]) == _untimed(alone.model_dump()["scores"])
    again = run_influence_bench(config)
    assert again.cost.paid.calls == 0 and again.cost.hits > 0
    assert _untimed(again.model_dump()) == _untimed(alone.model_dump())
