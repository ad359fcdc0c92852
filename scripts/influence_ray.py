"""``proxyx influence`` on 2 Ray workers against one process: seconds per gradient, side by side in one run (issue 23).

    flock /tmp/proxyx-heavy.lock .venv/bin/python scripts/influence_ray.py [--sources 8] [--candidates 5]
        [--json docs/tables/influence_ray.json]

The benchmark of configs/influence_fine_foods.yaml, made small: the WordNet
setting only, ``--sources`` sources of ``--candidates`` candidates, one
sketch size, one greedy component. One process with 2 torch threads, then 2
Ray workers with 1 thread each (each loads the torch Gemma); each route from
an empty store of its own. Ray is started once, before the timings; the
workers' start and model load count in their route's time.

Prints, per route: wall seconds, gradients computed, wall seconds per
gradient, the gradients' own mean seconds (backward pass and sketch, as the
report's ``seconds_per_1000``), and the speed-up over one process.
"""

from __future__ import annotations

import argparse
import json
import logging
import tempfile
import time
from pathlib import Path

from proxyx.config import load_config, parse_config
from proxyx.influence import run_influence_bench


def _route(base: dict, threads: int, engine: dict, work: Path, name: str) -> dict:
    config = parse_config({**base, "influence": {**base["influence"], "threads": threads}, "engine": engine,
                           "cache_dir": str(work / name), "output": str(work / f"{name}.json")})
    start = time.perf_counter()
    report = run_influence_bench(config)
    wall = time.perf_counter() - start
    assert report.status == "complete", report.status
    grads = report.cost.paid.calls
    return {"route": name, "wall_s": round(wall, 1), "gradients": grads, "s_per_gradient": round(wall / grads, 2),
            "compute_s_per_gradient": round(report.seconds_per_1000 / 1000, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sources", type=int, default=8)
    parser.add_argument("--candidates", type=int, default=5)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    base = load_config("configs/influence_fine_foods.yaml").model_dump()
    base["influence"].update(sources=args.sources, candidates=args.candidates, settings=["wordnet"], dims=[1024],
                             max_components=1, random_draws=2, timing_examples=1)
    import ray

    logging.getLogger("ray").setLevel(logging.ERROR)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    with tempfile.TemporaryDirectory(prefix="proxyx-influence-ray-") as tmp:
        rows = [_route(base, 2, {"kind": "local"}, Path(tmp), "1 process, 2 threads"),
                _route(base, 1, {"kind": "ray", "workers": 2, "cpus_per_worker": 1}, Path(tmp),
                       "2 Ray workers, 1 thread each")]
    ray.shutdown()
    print(f"{'route':<30} {'wall s':>7} {'grads':>6} {'s/grad':>7} {'compute s/grad':>14} {'x':>5}")
    for r in rows:
        r["speedup"] = round(rows[0]["s_per_gradient"] / r["s_per_gradient"], 2)
        print(f"{r['route']:<30} {r['wall_s']:>7.1f} {r['gradients']:>6} {r['s_per_gradient']:>7.2f} "
              f"{r['compute_s_per_gradient']:>14.2f} {r['speedup']:>5.2f}")
    if args.json:
        args.json.write_text(json.dumps({"sources": args.sources, "candidates": args.candidates, "routes": rows},
                                        indent=2) + "\n")


if __name__ == "__main__":
    main()
