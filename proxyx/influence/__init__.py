"""Gradient training-data attribution (``proxyx influence``, issue 12).

    weights    the GGUF dequantised once into a torch checkpoint
    gradients  per-example label-loss gradients of named components (Gemma 3 270M in torch; the tied
               embedding's gradient as exact factors)
    sketch     CountSketch random projection (sparse Johnson-Lindenstrauss)
    store      on-disk gradient statistics; engine: examples and pairs through the store and the ledger
    scoring    cosines, top-1 / top-5 ranks, greedy component selection, Wilson intervals
    queries    rule paraphrases of training reviews (WordNet from Debian, reordered clauses), BM25 candidates
    paraphrase Gemma's paraphrases, filtered for meaning
    bench      the retrieval benchmark; lookup: the closest training examples of one text; render: tables
"""

from __future__ import annotations

from .bench import run_influence_bench
from .gradients import Example, GemmaGradients, check_components, example_gradient
from .lookup import run_influence_lookup
from .queries import fetch_wordnet, load_synonyms, reorder_clauses, synonymize
from .scoring import greedy_select, wilson
from .sketch import CountSketch, fold

__all__ = [
    "CountSketch", "Example", "GemmaGradients", "check_components", "example_gradient", "fetch_wordnet", "fold",
    "greedy_select", "load_synonyms", "reorder_clauses", "run_influence_bench", "run_influence_lookup", "synonymize",
    "wilson",
]
