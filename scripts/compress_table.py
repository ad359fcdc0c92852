"""Prompt compression on each prompt kind, side by side with the published table; also written as JSON.

    flock /tmp/proxyx-heavy.lock .venv/bin/python scripts/compress_table.py \
        [--kind demonstrations=configs/compress_fine_foods.yaml] [--kind sentences=configs/compress_long_reviews.yaml] \
        [--json docs/tables/compress.json]

Runs ``proxyx compress`` on each config (outputs in the config's ``output``
directory; every call cached, so a rerun pays $0 and prints the same table)
and prints, per prompt kind and ranking: the largest share of the prompt
(demonstrations) or of the inputs (sentences) removed while keeping at least
``compress.keep`` of the uncompressed accuracy (random: mean over seeds and
its 95% t interval), the same share read strictly (before the curve's first
point under the line), the accuracy there, the ranking's oracle calls and
dollars (every model), its Spearman agreement with the oracle's
attributions, and the published range (GPT-4o; the range over its data sets).

The JSON (``--json``)::

    {"keep": 0.9,
     "published": {"random": [0.25, 0.59], "llmlingua": [0.29, 0.63], "proxy": [0.35, 0.70],
                   "oracle": [0.37, 0.76], "proxy_vs_oracle": 0.917},
     "prompt_kinds": {"<kind>": {
         "config": "configs/....yaml", "target": "demonstrations" | "input", "unit": "...",
         "n_test": .., "base_accuracy": .., "oracle": "...", "wall_time_s": ..,
         "routes": {"random": {"removed": .., "low": .., "high": .., "strict": .., "seeds": 5},
                    "<self_information | proxy:NAME | informed:NAME | oracle>": {
                        "removed": .., "strict": .., "accuracy": .., "oracle_calls": .., "usd": ..,
                        "spearman_to_oracle": ..}},
         "proxy_vs_oracle": {"<proxy:NAME | informed:NAME>": ..}}}}

Shares are fractions of tokens (the oracle's tokenizer); ``usd`` is nominal
(GPT-4o list prices for the local oracle, cache hits at their first price).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from proxyx.apps import run_compress
from proxyx.apps.results import CompressReport, Curve
from proxyx.config import load_config

PUBLISHED = {"random": (0.25, 0.59), "llmlingua": (0.29, 0.63), "proxy": (0.35, 0.70), "oracle": (0.37, 0.76),
             "proxy_vs_oracle": 0.917}
PUBLISHED_ROW = {"random": "random", "self_information": "llmlingua", "proxy": "proxy", "oracle": "oracle"}
KINDS = ["demonstrations=configs/compress_fine_foods.yaml", "sentences=configs/compress_long_reviews.yaml"]


def strict(curve: Curve, base: float, keep: float) -> float:
    """The largest share removed before the curve first falls under ``keep * base``."""
    best = 0.0
    for p in curve.points:
        if p.accuracy < keep * base - 1e-12:
            break
        best = max(best, p.removed_fraction)
    return best


def routes(report: CompressReport) -> dict[str, dict]:
    base, keep = report.base_accuracy, report.keep
    out: dict[str, dict] = {}
    for m in report.summary:
        if m.method == "random":
            curves = [c for c in report.curves if c.method == "random"]
            out["random"] = {"removed": m.removed_fraction, "low": m.interval.low, "high": m.interval.high,
                             "strict": float(np.mean([strict(c, base, keep) for c in curves])), "seeds": len(curves)}
            continue
        curve = next(c for c in report.curves if c.method == m.method)
        out[m.method] = {"removed": m.removed_fraction, "strict": strict(curve, base, keep), "accuracy": m.accuracy,
                         "oracle_calls": m.oracle_cost.nominal.calls, "usd": m.cost.nominal.usd,
                         "spearman_to_oracle": m.spearman_to_oracle}
    return out


def published(method: str) -> str:
    key = PUBLISHED_ROW.get(method.split(":")[0])
    if key is None:
        return "–"
    lo, hi = PUBLISHED[key]
    return f"{lo:.0%}–{hi:.0%}" + (" (LLMLingua)" if key == "llmlingua" else "")


def print_kind(kind: str, entry: dict) -> None:
    what = "the prompt" if entry["target"] == "demonstrations" else "the inputs"
    print(f"\n{kind} ({entry['config']}): {entry['unit']} units of {entry['target']}, base accuracy "
          f"{entry['base_accuracy']:.3f} on {entry['n_test']} test reviews, oracle {entry['oracle']}; share of {what}'s "
          f"tokens removed at >= {entry['keep']:.0%} of it\n")
    print("| ranking | removed | removed (strict) | accuracy | oracle calls | cost | Spearman to oracle | published |")
    print("|---|---|---|---|---|---|---|---|")
    for name, r in entry["routes"].items():
        if name == "random":
            removed = f"{r['removed']:.0%} [{r['low']:.0%}, {r['high']:.0%}] ({r['seeds']} seeds)"
            print(f"| random | {removed} | {r['strict']:.0%} | – | – | – | – | {published(name)} |")
            continue
        rho = "–" if r["spearman_to_oracle"] is None else f"{r['spearman_to_oracle']:.2f}"
        print(f"| {name} | {r['removed']:.0%} | {r['strict']:.0%} | {r['accuracy']:.3f} | {r['oracle_calls']:,} | "
              f"${r['usd']:.3g} | {rho} | {published(name)} |")
    for name, ratio in entry["proxy_vs_oracle"].items():
        print(f"{name} removes {'n/a' if ratio is None else f'{ratio:.1%}'} of what the oracle's ranking removes "
              f"(published: {PUBLISHED['proxy_vs_oracle']:.1%})")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kind", action="append", help="NAME=CONFIG (repeatable); default: " + " ".join(KINDS))
    ap.add_argument("--json", default="docs/tables/compress.json")
    args = ap.parse_args()
    table = {"keep": None, "published": {k: list(v) if isinstance(v, tuple) else v for k, v in PUBLISHED.items()},
             "prompt_kinds": {}}
    for spec in args.kind or KINDS:
        kind, _, path = spec.partition("=")
        config = load_config(path)
        started = time.perf_counter()
        report = run_compress(config, out_dir=Path(config.output).with_suffix(""), on_progress=lambda stage, i, n: print(
            f"[{time.perf_counter() - started:6.0f} s] {kind}: {stage} {i}/{n}", file=sys.stderr, flush=True))
        paid = sum(r.cost.paid.calls for r in report.ledger if r.role == "oracle")
        print(f"{kind}: {time.perf_counter() - started:.0f} s, oracle calls paid this run {paid:,}", file=sys.stderr)
        table["keep"] = report.keep
        entry = {"config": path, "target": report.target, "unit": report.unit, "n_test": report.n_test,
                 "base_accuracy": report.base_accuracy, "keep": report.keep, "oracle": config.oracle.name,
                 "wall_time_s": report.wall_time_s, "routes": routes(report), "proxy_vs_oracle": report.proxy_vs_oracle}
        table["prompt_kinds"][kind] = entry
        print_kind(kind, entry)
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(table, indent=1) + "\n", encoding="utf-8")
        print(f"\nwritten: {args.json}")


if __name__ == "__main__":
    main()
