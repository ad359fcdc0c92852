"""Print the influence benchmark as Markdown (docs/results.md) from a run of ``proxyx influence``.

    .venv/bin/python scripts/influence_table.py [configs/influence_fine_foods.yaml]

Runs the benchmark through the gradient store (a rerun of a finished run
computes nothing and takes seconds), then prints one table per setting,
the selected components and the cost.
"""

from __future__ import annotations

import sys
import time

from proxyx.config import load_config
from proxyx.influence import run_influence_bench


def main(path: str) -> None:
    start = time.monotonic()
    r = run_influence_bench(load_config(path))
    print(f"{r.training_examples} training reviews; {r.dev_sources} dev / {r.test_sources} test sources; "
          f"top-1 among BM25's {r.candidates}; {r.components} components, {r.parameters:,} parameters\n")
    for s in r.settings:
        print(f"**{s.name}** ({s.description}; source in BM25's top {r.candidates}: {s.recall_at_k:.0%} of test queries"
              + (f"; oracle label differs from the source's on {s.labels_changed}/{s.queries}" if s.model_labels else "")
              + ")\n")
        print("| method | representation | top-1 | 95% interval | parameters | s / example |")
        print("|---|---|---:|---:|---:|---:|")
        for m in (m for m in r.scores if m.setting == s.name):
            secs = "" if m.seconds_per_example is None else f"{m.seconds_per_example:.2f}"
            print(f"| {m.method} | {m.representation} | {m.accuracy:.3f} ({m.correct:g}/{m.n}) | "
                  f"{m.low:.2f}-{m.high:.2f} | {m.params:,} | {secs} |")
        print(f"\ngreedy components (dev): {', '.join(s.selected)}\n")
    c = r.cost
    print(f"gradients: {c.nominal.calls} backward passes, {c.nominal.seconds / 60:.1f} min of compute when paid; "
          f"this run computed {c.paid.calls} ({c.paid.seconds:.0f} s); oracle calls {r.oracle_cost.nominal.calls}; "
          f"this script {time.monotonic() - start:.0f} s")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "configs/influence_fine_foods.yaml")
