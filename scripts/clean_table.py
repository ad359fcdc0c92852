"""Run ``proxyx clean`` on a config, print its tables and the Markdown table of docs/results.md, write
docs/tables/clean.json (means over the seeds).

    flock /tmp/proxyx-heavy.lock .venv/bin/python scripts/clean_table.py [CONFIG [TABLE]]

CONFIG defaults to configs/clean_fine_foods.yaml, TABLE to docs/tables/clean.json.

Every oracle call is cached: a rerun prints the same tables and pays $0.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from rich.console import Console

from proxyx.apps import print_clean, run_clean
from proxyx.config import load_config
from proxyx.results import total

TABLE = Path(__file__).resolve().parent.parent / "docs" / "tables" / "clean.json"
#: GPT-4o on SST-2 (issue 22): accuracy clean, poisoned, after proxy-guided removal (oracle-guided: within 0.8)
PUBLISHED = {"clean": "94.2", "poisoned": "87.1", "proxy": "94.0", "oracle": "within 0.8 of proxy-guided"}


def _iv(s) -> str:
    return "n/a" if s is None else f"{s.mean:.3f} [{s.low:.3f}, {s.high:.3f}]"


def _gain(d) -> str:
    return f"{d.mean:+.3f}" + ("" if d.low is None else f" [{d.low:+.3f}, {d.high:+.3f}]")


def markdown(report) -> str:
    rows = ["| prompt | removed | precision | recall | accuracy | vs poisoned | oracle calls / run | published (GPT-4o, SST-2) |",
            "|---|---:|---:|---:|---:|---:|---:|---:|",
            f"| clean | – | – | – | {_iv(report.accuracy_clean)} | {_gain(report.damage)} | – | {PUBLISHED['clean']} |",
            f"| poisoned | – | – | – | {_iv(report.accuracy_poisoned)} | – | – | {PUBLISHED['poisoned']} |",
            f"| poisoned removed (the ideal route) | {len(report.runs[0].poisoned)} | 1 | 1 "
            f"| {_iv(report.accuracy_without_poisoned)} | – | – | – |"]
    for r in report.routes:
        pub = PUBLISHED["oracle"] if r.method == "oracle" else PUBLISHED["proxy"] if r.method.startswith("proxy:") else "–"
        rows.append(f"| {r.method} | {r.removed:.1f} | {_iv(r.precision)} | {_iv(r.recall)} | {_iv(r.accuracy_after)} "
                    f"| {_gain(r.gain)} | {r.oracle_calls:,.0f} | {pub} |")
    return "\n".join(rows)


def main(path: str = "configs/clean_fine_foods.yaml", table_path: str | Path = TABLE) -> None:
    config = load_config(path)
    started = time.perf_counter()
    report = run_clean(config, out_dir=Path(config.output).with_suffix(""),
                       on_progress=lambda stage, i, n: print(f"[{time.perf_counter() - started:6.0f} s] {stage} {i}/{n}",
                                                             file=sys.stderr, flush=True))
    print_clean(report, Console(width=160))
    print()
    print(markdown(report))
    table = json.loads(json.dumps(report.table()), parse_float=lambda x: round(float(x), 4))
    table_path = Path(table_path)
    table_path.parent.mkdir(parents=True, exist_ok=True)
    table_path.write_text(json.dumps(table, indent=2) + "\n", encoding="utf-8")
    oracle = [r.cost for r in report.ledger if r.role == "oracle"]
    paid, nominal = total(c.paid for c in oracle), total(c.nominal for c in oracle)
    print(f"\n{path}: {len(report.runs)} runs; wall {time.perf_counter() - started:.0f} s; oracle calls "
          f"{nominal.calls:,} ({nominal.seconds:,.0f} s of oracle time when paid), paid now {paid.calls:,}; "
          f"wrote {table_path}")


if __name__ == "__main__":
    main(*sys.argv[1:])
