"""The rerank cases: FAQ questions, BM25's top-k passages for each, where the gold passage is.

BM25 (``bm25s``, English stop words, default k1 = 1.5, b = 0.75) indexes the
whole answer of every FAQ section; the real FAQ question is the query. The
prompt shows each retrieved passage cut to its first ``passage_words`` words.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..datasets import FaqItem, load_faq
from ..errors import ConfigError, DataError

DATASETS = ("debian_faq",)
_INSTALL_HINT = "pip install 'bm25s==0.3.16'"


@dataclass(frozen=True)
class Case:
    """One question and its k retrieved passages (in BM25 order)."""

    id: str  # the FAQ section number of the question
    question: str
    passage_ids: tuple[str, ...]
    passages: tuple[str, ...]  # as shown to the models (cut to passage_words)
    bm25: tuple[float, ...]
    gold: int | None  # position of the gold passage among the k, None when BM25 missed it
    gold_answer: str  # the gold section's whole answer


def retrieve(queries: Sequence[str], pool: Sequence[str], k: int) -> tuple[np.ndarray, np.ndarray]:
    """BM25's top-k pool indices and scores per query, best first."""
    try:
        import bm25s
    except ImportError as e:
        raise ConfigError(f"rerank needs the bm25s package; run: {_INSTALL_HINT}") from e
    if k > len(pool):
        raise ConfigError(f"rerank.k: {k} passages per question, but the pool holds only {len(pool)}; lower k")
    index = bm25s.BM25()
    index.index(bm25s.tokenize(list(pool), stopwords="en", show_progress=False), show_progress=False)
    docs, scores = index.retrieve(bm25s.tokenize(list(queries), stopwords="en", show_progress=False), k=k,
                                  show_progress=False)
    return np.asarray(docs), np.asarray(scores)


def _cut(text: str, words: int) -> str:
    w = text.split()
    return " ".join(w[:words]) + (" ..." if len(w) > words else "")


def load_cases(dataset: str, *, k: int, questions: int, require_gold: bool, passage_words: int,
               seed: int) -> tuple[list[Case], dict]:
    """A seeded sample of ``questions`` cases and the retrieval statistics of every question of the data set."""
    if dataset not in DATASETS:
        raise ConfigError(f"rerank.dataset: unknown data set {dataset!r}; the built-in ones are {', '.join(DATASETS)}")
    items: list[FaqItem] = load_faq()
    asked = [i for i, x in enumerate(items) if x.is_question]
    docs, scores = retrieve([items[i].question for i in asked], [x.answer for x in items], k)
    cases = []
    for row, i in enumerate(asked):
        hits = [int(d) for d in docs[row]]
        cases.append(Case(id=items[i].id, question=items[i].question,
                          passage_ids=tuple(items[d].id for d in hits),
                          passages=tuple(_cut(items[d].answer, passage_words) for d in hits),
                          bm25=tuple(float(s) for s in scores[row]), gold=hits.index(i) if i in hits else None,
                          gold_answer=items[i].answer))
    stats = {"questions": len(cases), "pool": len(items),
             "recall_at_k": float(np.mean([c.gold is not None for c in cases]))}
    eligible = [c for c in cases if c.gold is not None] if require_gold else cases
    if questions > len(eligible):
        which = f"questions whose gold passage BM25 ranks in its top {k}" if require_gold else "questions"
        fix = "lower rerank.questions" + (", raise rerank.k or set rerank.require_gold: false" if require_gold else "")
        raise DataError(f"rerank.questions: {questions} asked, but {dataset} has {len(eligible)} {which}; {fix}")
    pick = np.random.default_rng(seed).permutation(len(eligible))[:questions]
    return [eligible[int(j)] for j in pick], stats
