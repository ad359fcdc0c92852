"""Explain on Ray workers against one process: calls per second, side by side in one run (issue 23).

    .venv/bin/python scripts/ray_scaleout.py simulated [--workers 1,2,4,8] [--instances 16] [--latency 0.02]
    flock /tmp/proxyx-heavy.lock .venv/bin/python scripts/ray_scaleout.py gemma [--instances 20]
    ... [--json docs/tables/ray_scaleout.json]

``simulated``: a ``python:`` oracle that sleeps ``--latency`` seconds per
text (a remote model's latency, no CPU), Kernel SHAP with 64 samples on
fine_foods reviews: one process, then K Ray workers for each K. ``gemma``:
the quickstart's config (LIME + control variate, its route when measured) with the embedded Gemma, one
process with 2 llama.cpp threads against 2 Ray workers with 1 thread each.
Every route starts from an empty cache of its own (a route never reads
another's answers). Ray is started once, before the timings; each route's
time includes starting its workers and loading their models.

Prints, per route: wall seconds, of them starting the workers (and loading
their models), calls paid (every model; the JSON also has the oracle's alone), calls/s once started, the speed-up over
one process, and the cache owner's operations (lookups, stores, claims),
their rate and their share of the time once started.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
import time
from pathlib import Path

from proxyx.config import load_config, parse_config
from proxyx.engine import cluster
from proxyx.pipeline import run_explain

SLEEPING_ORACLE = '''
import time

GOOD = {"delicious", "best", "good", "love", "wonderful", "lovely", "perfect", "great", "tasty", "fresh"}


def classify(texts):
    time.sleep(LATENCY * len(texts))
    rows = []
    for t in texts:
        p = min(0.95, 0.2 + 0.25 * sum(w.strip(".,!").lower() in GOOD for w in t.split()))
        rows.append([p, 1 - p])
    return rows
'''


def _route(settings: dict, engine: dict, work: Path, name: str) -> dict:
    config = parse_config({**settings, "engine": engine, "cache_dir": str(work / name),
                           "output": str(work / f"{name}.json")})
    stats: dict = {}
    original = cluster.explain_on_cluster

    def keep_stats(*args, **kwargs):
        run = original(*args, **kwargs)
        stats.update(run.cache_stats, startup_s=run.startup_s)
        return run

    cluster.explain_on_cluster = keep_stats
    try:
        start = time.perf_counter()
        report = run_explain(config)
        wall = time.perf_counter() - start
    finally:
        cluster.explain_on_cluster = original
    assert report.status == "complete", report.status
    paid = sum(r.cost.paid.calls for r in report.ledger)
    oracle = sum(r.cost.paid.calls for r in report.ledger if r.role == "oracle")
    ops = sum(v for k, v in stats.items() if k not in ("seconds", "startup_s"))
    startup = stats.get("startup_s", 0.0)
    working = wall - startup
    row = {"route": name, "wall_s": round(wall, 2), "startup_s": round(startup, 2), "calls": paid,
           "calls_per_s": round(paid / working, 1), "oracle_calls": oracle,
           "oracle_calls_per_s": round(oracle / working, 1), "owner_ops": ops, "owner_ops_per_s": round(ops / working, 1),
           "owner_share": round(stats.get("seconds", 0.0) / working, 4)}
    print(json.dumps(row), file=sys.stderr, flush=True)  # a route's figures survive a run stopped after it
    return row


def simulated(args, work: Path) -> list[dict]:
    (work / "sleeping_oracle.py").write_text(f"LATENCY = {args.latency}\n" + SLEEPING_ORACLE)
    sys.path.insert(0, str(work))
    settings = {"oracle": "python:sleeping_oracle:classify", "dataset": {"limit": args.instances, "max_words": 40},
                "explainer": {"method": "kernel_shap", "samples": 64}, "max_usd": None}
    rows = [_route(settings, {"kind": "local"}, work, "1 process")]
    for k in args.workers:
        rows.append(_route(settings, {"kind": "ray", "workers": k}, work, f"{k} Ray workers"))
    return rows


def gemma(args, work: Path) -> list[dict]:
    base = load_config("configs/quickstart.yaml").model_dump()
    base["dataset"]["limit"] = args.instances
    base["max_usd"] = None
    base["explainer"].update(method="lime", estimator="control_variate")  # the quickstart's route when measured
    one = {**base, "oracle": {**base["oracle"], "threads": 2}}
    two = {**base, "oracle": {**base["oracle"], "threads": 1}}
    return [_route(one, {"kind": "local"}, work, "1 process, 2 threads"),
            _route(two, {"kind": "ray", "workers": 2, "cpus_per_worker": 1}, work, "2 Ray workers, 1 thread each")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=["simulated", "gemma"])
    parser.add_argument("--workers", default="1,2,4,8", type=lambda s: [int(k) for k in s.split(",")])
    parser.add_argument("--instances", type=int, default=None)
    parser.add_argument("--latency", type=float, default=0.02)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    args.instances = args.instances or (16 if args.what == "simulated" else 20)
    import ray

    logging.getLogger("ray").setLevel(logging.ERROR)
    ray.init(num_cpus=max(8, max(args.workers)), include_dashboard=False, log_to_driver=False)
    with tempfile.TemporaryDirectory(prefix="proxyx-scaleout-") as tmp:
        rows = (simulated if args.what == "simulated" else gemma)(args, Path(tmp))
    ray.shutdown()
    base = rows[0]["calls_per_s"]
    print(f"{'route':<28} {'wall s':>6} {'start s':>7} {'calls':>6} {'calls/s':>7} {'x':>5} {'owner op/s':>10} "
          f"{'owner':>5}")
    for r in rows:
        r["speedup"] = round(r["calls_per_s"] / base, 2)
        print(f"{r['route']:<28} {r['wall_s']:>6.1f} {r['startup_s']:>7.1f} {r['calls']:>6} {r['calls_per_s']:>7.1f} "
              f"{r['speedup']:>5.2f} {r['owner_ops_per_s']:>10.1f} {100 * r['owner_share']:>4.1f}%")
    if args.json:
        doc = json.loads(args.json.read_text()) if args.json.exists() else {}
        doc[args.what] = {"instances": args.instances, "latency_s": args.latency if args.what == "simulated" else None,
                          "routes": rows}
        args.json.write_text(json.dumps(doc, indent=2) + "\n")


if __name__ == "__main__":
    main()
