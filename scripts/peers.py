"""proxyx's routes against shap's and lime's own explainers at equal oracle calls, on a bench config.

    PYTHONPATH=. .venv/bin/python scripts/peers.py configs/bench_fine_foods.yaml [--limit 10] [--budgets 25 50 100]
        [--peers shap_kernel shap_partition lime] [--cache-dir DIR] [--oracle MODEL] [--out docs/tables/peers.json]

Runs the config's frontier (``proxyx bench``: the oracle alone over the ladder, every proxy-informed
estimator at each oracle budget n) with ``bench.peers`` added, at ``--budgets`` as the estimators' n, on the
first ``--limit`` instances, without the screen-and-apply grid. Everything goes through the config's cache
and ledger: what proxyx's routes paid before is read back, and the peers pay only for masked texts nobody
asked before. Prints, per explainer and budget n, every route at n side by side (oracle calls, rows a peer
asked, AOPC and local fidelity as a share of the oracle's top budget) and, for each proxyx route at n, the
paired difference to each peer at n (mean over the instances, Student t 95% interval): ``ahead`` when the
interval is above 0, ``behind`` when below. Writes the same as JSON (``--out``).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from proxyx.bench.frontier_summary import METRICS
from proxyx.bench.peers import PEER_METHOD, PEERS
from proxyx.bench.run import run_bench
from proxyx.config import apply_overrides, load_config
from proxyx.stats import paired_t

OUT = Path("docs/tables/peers.json")


def _verdict(low: float | None, high: float | None) -> str:
    if low is None:
        return "?"
    return "ahead" if low > 0 else "behind" if high < 0 else "tie"


def compare(frontier, budgets: list[int]) -> dict:
    """Per method and budget n: the routes at n (summaries) and every proxyx route minus every peer, paired."""
    cells = {c.route: c for c in frontier.cells}
    summaries = {s.route: s for s in frontier.summaries}
    out = []
    for method in dict.fromkeys(r.method for r in cells):
        for n in budgets:
            at_n = [r for r in cells if r.method == method and r.oracle_samples == n and r.kind != "substitute"]
            ours = [r for r in at_n if r.kind != "peer"]
            peers = [r for r in at_n if r.kind == "peer"]
            rows = []
            for r in at_n:
                s, points = summaries[r], cells[r].points
                rows.append({"route": r.label, "kind": r.kind, "peer": r.peer, "proxy": r.proxy,
                             "estimator": r.estimator, "oracle_calls": s.oracle_calls,
                             "peer_rows": float(np.mean([p.peer_rows for p in points])) if r.peer else None,
                             **{f"{m}_mean": s.mean[m] for m in METRICS},
                             **{f"{m}_vs_top": s.vs_reference[m].model_dump() for m in METRICS}})
            pairs = []
            for r in ours:
                for p in peers:
                    pair = {"route": r.label, "peer": p.peer}
                    for m in METRICS:
                        i = paired_t([getattr(x, m) for x in cells[r].points], [getattr(x, m) for x in cells[p].points])
                        pair[m] = {"estimate": i.estimate, "low": i.low, "high": i.high, "n": i.n,
                                   "verdict": _verdict(i.low, i.high)}
                    pairs.append(pair)
            out.append({"method": method, "n": n, "routes": rows, "minus_peer": pairs})
    return {"groups": out}


def _share(e: dict) -> str:
    if e["estimate"] is None:
        return "-"
    return f"{e['estimate']:.2f}" + (f" ({e['low']:.2f}, {e['high']:.2f})" if e["low"] is not None else "")


def _diff(d: dict) -> str:
    if d["estimate"] is None:
        return "-"
    if d["low"] is None:
        return f"{d['estimate']:+.3f}"
    return f"{d['estimate']:+.3f} ({d['low']:+.3f}, {d['high']:+.3f}) {d['verdict']}"


def print_tables(result: dict) -> None:
    for g in result["groups"]:
        print(f"\n== {g['method']}, n = {g['n']}: quality as a share of the oracle's top budget (paired bootstrap 95% CI)")
        print(f"{'route':72} {'calls':>6} {'rows':>6} {'AOPC / top':>20} {'local fid. / top':>20}")
        for r in g["routes"]:
            rows = f"{r['peer_rows']:.1f}" if r["peer_rows"] is not None else "-"
            print(f"{r['route']:72} {r['oracle_calls']:6.1f} {rows:>6} {_share(r['aopc_vs_top']):>20} "
                  f"{_share(r['local_fidelity_vs_top']):>20}")
        if g["minus_peer"]:
            print(f"-- proxyx route minus peer, paired over the instances (Student t 95% CI)")
            print(f"{'route':72} {'peer':15} {'AOPC':>32} {'local fidelity':>32}")
            for p in g["minus_peer"]:
                print(f"{p['route']:72} {p['peer']:15} {_diff(p['aopc']):>32} {_diff(p['local_fidelity']):>32}")


def summary(result: dict) -> list[str]:
    """Per explainer, budget and peer: the peer against the oracle alone and how many proxyx routes are ahead."""
    lines = []
    for g in result["groups"]:
        alone = next(r for r in g["routes"] if r["kind"] == "oracle")
        for peer in dict.fromkeys(p["peer"] for p in g["minus_peer"]):
            row = next(r for r in g["routes"] if r["peer"] == peer)
            pairs = [p for p in g["minus_peer"] if p["peer"] == peer]
            counts = {m: {v: sum(p[m]["verdict"] == v for p in pairs) for v in ("ahead", "tie", "behind")}
                      for m in METRICS}
            lines.append(
                f"{g['method']} n={g['n']} {peer}: AOPC/top {_share(row['aopc_vs_top'])} (oracle alone "
                f"{_share(alone['aopc_vs_top'])}), local fid./top {_share(row['local_fidelity_vs_top'])} (oracle alone "
                f"{_share(alone['local_fidelity_vs_top'])}), {row['oracle_calls']:.1f} calls; proxyx's {len(pairs)} "
                "routes ahead/tie/behind: AOPC " + "/".join(str(counts["aopc"][v]) for v in ("ahead", "tie", "behind"))
                + ", local fid. " + "/".join(str(counts["local_fidelity"][v]) for v in ("ahead", "tie", "behind")))
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config", type=Path)
    parser.add_argument("--limit", type=int, default=10, help="the first N instances of the config's data set")
    parser.add_argument("--budgets", type=int, nargs="+", default=[25, 50, 100], help="oracle budgets n")
    parser.add_argument("--peers", nargs="+", default=list(PEERS), choices=PEERS)
    parser.add_argument("--cache-dir", help="instead of the config's cache_dir (e.g. a copy of a warm cache)")
    parser.add_argument("--oracle", help="another oracle (e.g. local/vader, a fast stand-in), at the config's "
                                         "price; it leaves the proxy pool if it is in it")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    config = load_config(args.config)
    methods = [m for m in config.bench.methods if m in {PEER_METHOD[p] for p in args.peers}]
    if args.oracle:
        proxies = [p.model_dump() for p in config.proxies if p.name != args.oracle]
        config = apply_overrides(config, **{"oracle.model": args.oracle, "proxies": proxies, "bench.proxies":
                                            [n for n in config.bench.proxies or [] if n != args.oracle] or None})
    config = apply_overrides(config, **{"dataset.limit": args.limit, "bench.samples": [], "bench.peers": args.peers,
                                        "bench.methods": methods, "bench.oracle_samples": args.budgets,
                                        "cache_dir": args.cache_dir})
    started = time.perf_counter()
    report = run_bench(config, on_progress=lambda label, done, total, stage: print(
        f"\r{label}: {done}/{total} {stage}", end="", flush=True))
    print()
    if report.frontier is None:
        raise SystemExit(f"no frontier: {report.status} {report.stop_reason or ''}")
    result = {"command": f"scripts/peers.py {args.config} --limit {args.limit} --budgets "
                         f"{' '.join(map(str, args.budgets))} --peers {' '.join(args.peers)}"
                         + (f" --oracle {args.oracle}" if args.oracle else ""),
              "oracle": report.oracle, "instances": report.instances, "failed": report.frontier.failed,
              "status": report.status, "seed": report.seed, "versions": report.versions,
              "paid_this_run": report.run.paid.model_dump(), "wall_time_s": time.perf_counter() - started,
              **compare(report.frontier, args.budgets)}
    print_tables(result)
    result["summary"] = summary(result)
    print("\n" + "\n".join(result["summary"]))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    print(f"\nwrote {args.out}; this run paid {report.run.paid.calls} calls "
          f"({report.run.cache_hits} from the cache), {result['wall_time_s']:.0f} s")


if __name__ == "__main__":
    main()
