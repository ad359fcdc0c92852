"""``proxyx influence`` on a local Ray cluster (issue 23): 2 workers give the single process's report, share one
gradient store (a rerun computes nothing), and a worker killed mid-run loses no record.

Real Gemma 3 270M in torch (one local Ray instance of 2 CPUs for the module, each run starting its own workers);
the rule setting only (Gemma's paraphrases would decode for minutes).
"""

from __future__ import annotations

import json
from pathlib import Path

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
                         "influence": {"threads": 1, "max_words": 30, "sources": 2, "candidates": 5, "dims": [1024],
                                       "max_components": 1, "random_draws": 2, "timing_examples": 1,
                                       "settings": ["wordnet"]},
                         **({"engine": {"kind": "ray", **engine}} if engine else {})})


@pytest.fixture(scope="module")
def alone(tmp_path_factory):
    """The single process's report and its directory (its store makes a rerun free)."""
    where = tmp_path_factory.mktemp("alone")
    return where, run_influence_bench(_config(where, "alone"))


def _untimed(o):
    if isinstance(o, dict):
        return {k: _untimed(v) for k, v in o.items() if k not in TIMINGS}
    if isinstance(o, list):
        return [_untimed(v) for v in o]
    return o


def test_two_workers_give_the_single_process_report_and_a_rerun_computes_nothing(tmp_path, cluster, alone):
    where, alone = alone
    on_two = run_influence_bench(_config(tmp_path, "cluster", workers=2))
    assert alone.cost.paid.calls > 0 and alone.scores
    assert _untimed(on_two.model_dump()) == _untimed(alone.model_dump())
    again = run_influence_bench(_config(tmp_path, "cluster", workers=2))
    assert again.cost.paid.calls == 0 and again.cost.hits > 0
    assert _untimed(again.model_dump()) == _untimed(run_influence_bench(_config(where, "alone")).model_dump())


def _records(cache: Path) -> dict[Path, int]:
    return {p: p.stat().st_mtime_ns for p in (cache / "influence").rglob("*.npz")}


def test_a_killed_worker_loses_no_record_and_its_sources_are_retried(tmp_path, cluster, alone):
    """Killed once 3 records are stored, the run ends with the single process's scores; every record stored before
    the kill is still there."""
    import os
    import signal
    import threading
    import time

    import psutil

    config = _config(tmp_path, "killed", workers=2)
    result: dict = {}
    run = threading.Thread(target=lambda: result.update(report=run_influence_bench(config)))
    run.start()
    deadline = time.monotonic() + 120
    while len(_records(tmp_path / "killed")) < 3 and run.is_alive() and time.monotonic() < deadline:
        time.sleep(0.05)
    workers = [p.pid for p in psutil.process_iter(["cmdline"]) if "ExplainWorker" in " ".join(p.info["cmdline"] or [])]
    assert run.is_alive() and workers, "the run ended before a worker could be killed; make it longer"
    os.kill(workers[0], signal.SIGKILL)
    time.sleep(0.2)  # a record being written as the worker died is either renamed into place by now or never is
    at_kill = _records(tmp_path / "killed")
    run.join(timeout=300)
    assert set(at_kill) <= set(_records(tmp_path / "killed"))
    assert result["report"].status == "complete"
    assert _untimed(result["report"].model_dump()["scores"]) == _untimed(alone[1].model_dump()["scores"])
