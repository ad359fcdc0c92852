"""BM25 alone on the influence benchmark's rule paraphrases, on many more sources than the gradient table.

    .venv/bin/python scripts/influence_bm25.py [configs/influence_fine_foods.yaml] [--sources 24 200 1000]

The gradient benchmark (scripts/influence_table.py) scores 12 test queries
per setting, so BM25's top-1 there has a wide interval. BM25 needs no
gradient: this prints its top-1 and top-5 among its own top 10 for the
first N seeded sources (the same order and the same queries as
``proxyx influence``), with Wilson 95% intervals, and the share of the
source's content words the query still holds. WordNet only: no model runs.
"""

from __future__ import annotations

import argparse
import random

from proxyx.config import load_config
from proxyx.influence.context import training_set
from proxyx.influence.queries import BM25Index, content_words, rule_paraphrases
from proxyx.influence.scoring import wilson


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config", nargs="?", default="configs/influence_fine_foods.yaml")
    parser.add_argument("--sources", type=int, nargs="+", default=[24, 200, 1000])
    args = parser.parse_args()
    config = load_config(args.config)
    ic = config.influence
    texts = [x.text for x in training_set(config)]
    index = BM25Index(texts)
    order = list(range(len(texts)))
    random.Random(config.seed).shuffle(order)  # the sources of run_influence_bench, in its order
    print(f"{len(texts)} training reviews; BM25 top {ic.candidates}; synonym rate {ic.synonym_rate:g}")
    print(f"{'sources':>7} {'setting':18} {'top-1':>6} {'95% interval':>13} {'top-5':>6} {'words kept':>10}")
    for n in args.sources:
        sources = order[: min(n, len(texts))]
        queries = rule_paraphrases(texts, sources, ic.synonym_rate, config.seed)
        for name, qs in queries.items():
            top = index.top(qs, ic.candidates)
            rank = [row.index(s) if s in row else ic.candidates for s, row in zip(sources, top)]
            k = sum(r == 0 for r in rank)
            low, high = wilson(k, len(rank))
            kept = [len(set(content_words(q)) & set(content_words(texts[s])))
                    / max(len(set(content_words(texts[s]))), 1) for s, q in zip(sources, qs)]
            print(f"{len(sources):7d} {name:18} {k / len(rank):6.3f} {f'{low:.2f}-{high:.2f}':>13} "
                  f"{sum(r < 5 for r in rank) / len(rank):6.3f} {sum(kept) / len(kept):10.0%}")


if __name__ == "__main__":
    main()
