"""Gemma-generated paraphrases of training reviews, kept only when they keep the meaning.

The embedded Gemma 3 270M (a base model: no chat template) continues a
three-shot prompt of review -> rewrite pairs written for this purpose (none
is a training review), decoding greedily through ``proxyx.generation``, so
every paraphrase is in the call cache and the ledger (role ``oracle``,
purpose ``paraphrase``). A 270M model repeats itself, so a sentence it has
already written is dropped.

A paraphrase is kept when, in this order (``FilterCounts`` says how many pass
each step):

1. ``similar``: the MiniLM (all-MiniLM-L6-v2) cosine of its embedding with the
   source's is at least ``min_similarity``;
2. ``same_label``: the oracle gives it the label it gives the source;
3. ``rewritten``: at most ``max_overlap`` of its content words occur in the
   source (a copy is not a paraphrase).
"""

from __future__ import annotations

import re

from ..config import GenTask
from ..results.influence import FilterCounts
from .queries import content_words

INSTRUCTION = "Each review is rewritten with other words; the rewrite says the same things in the same order."
TEMPLATE = (
    "{question}\n\n"
    "Review: The chips arrived crushed and stale. Would not order them again.\n"
    "Rewrite: When the crisps came they were broken and old. I won't buy them a second time.\n\n"
    "Review: My cat loves this food and her coat looks shiny. Good price too.\n"
    "Rewrite: This food is a favourite of my kitten, and her fur has a nice gloss. It is also cheap.\n\n"
    "Review: Smooth, rich coffee with no bitter aftertaste. I drink two cups every morning.\n"
    "Rewrite: A mellow, full-bodied brew that leaves no harsh taste behind. Each morning I have a couple of mugs.\n\n"
    "Review: {context}\nRewrite:"
)
MAX_TOKENS = 80


def clean(text: str) -> str:
    """Whitespace collapsed; a sentence already written dropped."""
    seen, out = set(), []
    for s in re.split(r"(?<=[.!?])\s+", " ".join(text.split())):
        key = s.lower().strip()
        if key and key not in seen:
            seen.add(key)
            out.append(s)
    return " ".join(out)


def overlap(paraphrase: str, source: str) -> float:
    """Share of the paraphrase's content words that occur in the source (1.0 for no content words)."""
    words = content_words(paraphrase)
    src = set(content_words(source))
    return sum(w in src for w in words) / len(words) if words else 1.0


def similarities(a: list[str], b: list[str]):
    """MiniLM cosine of a[i] and b[i]."""
    from ..models.minilm import sentence_model

    ea = sentence_model().encode(a, normalize_embeddings=True, show_progress_bar=False)
    eb = sentence_model().encode(b, normalize_embeddings=True, show_progress_bar=False)
    return (ea * eb).sum(axis=1)


def gemma_paraphrases(ctx, sources: list[str], *, min_similarity: float, max_overlap: float
                      ) -> tuple[list[str | None], FilterCounts]:
    """A kept paraphrase of each source text, or None; and how many passed each filter step."""
    gen = ctx.runtime.generator(ctx.config.oracle, GenTask(template=TEMPLATE, max_tokens=MAX_TOKENS, stop=["\n"]),
                                role="oracle", n_ctx=2048)
    try:
        task = GenTask(template=TEMPLATE)
        raw = gen.answer([task.prompt(s, INSTRUCTION) for s in sources], purpose="paraphrase")
    finally:
        gen.close()
    texts = [clean(d.text) for d in raw]
    sims = similarities(sources, [t or "." for t in texts])
    similar = [bool(t) and s >= min_similarity for t, s in zip(texts, sims)]
    cand = [i for i, ok in enumerate(similar) if ok]
    labels = ctx.oracle_labels([sources[i] for i in cand] + [texts[i] for i in cand])
    same = {i for k, i in enumerate(cand) if labels[k] == labels[len(cand) + k]}
    kept = [texts[i] if i in same and overlap(texts[i], sources[i]) <= max_overlap else None
            for i in range(len(sources))]
    return kept, FilterCounts(generated=len(sources), similar=len(cand), same_label=len(same),
                              rewritten=sum(k is not None for k in kept), min_similarity=min_similarity,
                              max_overlap=max_overlap)
