"""Print the influence benchmark as Markdown (docs/results.md) and write docs/tables/influence.json.

    .venv/bin/python scripts/influence_table.py [configs/influence_fine_foods.yaml] [--json docs/tables/influence.json]

Runs the benchmark through the gradient store (a rerun of a finished run
computes nothing), prints one table per setting beside the published
figures, the paraphrase filter, memory and time, and writes
``{"peak_rss_gb": .., "settings": {setting: {method: {"top1": .., "top5": ..}}}}``.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from proxyx.config import load_config
from proxyx.influence import run_influence_bench

PUBLISHED = {"bm25": 0.836, "full": 0.993, "projection": 0.994, "greedy": 0.998}


def main(path: str, out: Path) -> None:
    start = time.monotonic()
    r = run_influence_bench(load_config(path))
    print(f"{r.training_examples} training reviews; {r.dev_sources} dev / {r.test_sources} test sources; "
          f"{r.candidates} BM25 candidates per query; {r.components} components, {r.parameters:,} parameters\n")
    for s in r.settings:
        print(f"**{s.name}** ({s.description}; {s.test_queries} test queries; BM25 found the source among its "
              f"{r.candidates} in {s.bm25_recall:.0%}, else it is put in last"
              + (f"; oracle label differs from the source's on {s.labels_changed}/{s.queries}" if s.model_labels else "")
              + ")\n")
        print(f"| method | representation | top-1 of {r.candidates} | 95% interval | top-5 of {r.candidates} "
              "| top-1 of BM25's 5 | published (top-1 of 5, paraphrased) | parameters | s / example |")
        print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
        for m in (m for m in r.scores if m.setting == s.name):
            secs = "" if m.seconds_per_example is None else f"{m.seconds_per_example:.2f}"
            pub = PUBLISHED.get(m.method)
            print(f"| {m.method} | {m.representation} | {m.top1:.3f} | {m.low:.2f}-{m.high:.2f} | {m.top5:.3f} | "
                  f"{m.top1_of_5:.3f} | {'' if pub is None else f'{pub:.3f}'} | {m.params:,} | {secs} |")
        print(f"\ngreedy components (dev): {', '.join(s.selected) or '-'}\n")
    if r.paraphrases is not None:
        f = r.paraphrases
        print(f"Gemma paraphrases: {f.generated} generated; MiniLM cosine >= {f.min_similarity:g}: {f.similar}; "
              f"and the source's oracle label: {f.same_label}; and <= {f.max_overlap:.0%} of content words from "
              f"the source: {f.rewritten} kept\n")
    c = r.cost
    print(f"gradients: {c.nominal.calls} backward passes, {c.nominal.seconds / 60:.1f} min of compute when paid "
          f"({r.seconds_per_1000 / 60:.1f} min per 1,000 examples); peak memory {r.peak_rss_gb:.2f} GB; this run "
          f"computed {c.paid.calls} ({c.paid.seconds:.0f} s); oracle calls {r.oracle_cost.nominal.calls}; "
          f"this script {time.monotonic() - start:.0f} s")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(r.table(), indent=2) + "\n")
    print(f"table: {out}")


if __name__ == "__main__":
    args = sys.argv[1:]
    json_path = Path(args.pop(args.index("--json") + 1)) if "--json" in args else Path("docs/tables/influence.json")
    args = [a for a in args if a != "--json"]
    main(args[0] if args else "configs/influence_fine_foods.yaml", json_path)
