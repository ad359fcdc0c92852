"""Run ``proxyx rerank`` on a config, print the recall table, the wall time and what the run paid.

    flock /tmp/proxyx-heavy.lock .venv/bin/python scripts/rerank_run.py configs/rerank.yaml

Run it twice: the first run is cold (every oracle call paid), the second must pay $0 (every call cached).
"""

from __future__ import annotations

import sys
import time

from rich.console import Console

from proxyx.apps.rerank import run_rerank
from proxyx.apps.rerank_render import print_rerank
from proxyx.config import load_config


def main(path: str = "configs/rerank.yaml") -> None:
    config = load_config(path)
    started = time.perf_counter()
    report = run_rerank(config, out=config.output,
                        on_progress=lambda stage, i, n: print(f"[{time.perf_counter() - started:6.0f} s] {stage} {i}/{n}",
                                                              file=sys.stderr, flush=True))
    print_rerank(report, Console(width=140))
    paid = sum(r.cost.paid.usd for r in report.ledger)
    calls = sum(r.cost.paid.calls for r in report.ledger if r.role == "oracle")
    hits = sum(r.cost.hits for r in report.ledger if r.role == "oracle")
    print(f"{path}: {len(report.questions)} questions, k = {report.k}; wall {time.perf_counter() - started:.0f} s; "
          f"oracle calls paid {calls:,}, cache hits {hits:,}; paid ${paid:.4f}; report {config.output}")


if __name__ == "__main__":
    main(*sys.argv[1:])
