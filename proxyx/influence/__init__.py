"""Gradient training-data attribution (``proxyx influence``, issue 12).

    gradients  per-example label-loss gradients of named components (Gemma 3 270M in torch, from its GGUF)
    sketch     CountSketch random projection (sparse Johnson-Lindenstrauss)
    store      on-disk gradient statistics; engine: examples and pairs through the store and the ledger
    scoring    cosines, top-1 accuracy, greedy component selection, Wilson intervals
    queries    altered copies of training reviews (WordNet from Debian), BM25 candidates
    bench      the retrieval benchmark; lookup: the closest training examples of one text; render: tables
"""

from __future__ import annotations

from .bench import run_influence_bench
from .gradients import Example, GemmaGradients, check_components, example_gradient
from .lookup import run_influence_lookup
from .queries import alter, fetch_wordnet, load_synonyms
from .scoring import greedy_select, wilson
from .sketch import CountSketch, fold

__all__ = [
    "CountSketch", "Example", "GemmaGradients", "alter", "check_components", "example_gradient", "fetch_wordnet",
    "fold", "greedy_select", "load_synonyms", "run_influence_bench", "run_influence_lookup", "wilson",
]
