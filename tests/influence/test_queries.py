"""Rule paraphrases from the real WordNet 3.0: most content words change, stop words and BM25's view of order do not."""

from __future__ import annotations

import random

import pytest

from proxyx.influence import load_synonyms, reorder_clauses, synonymize
from proxyx.influence.paraphrase import clean, overlap
from proxyx.influence.queries import BM25Index, content_words, lemma

REVIEW = "Great coffee, very smooth and fresh. The bag arrived quickly and the price was good. I will buy it again!"


@pytest.fixture(scope="module")
def synonyms():
    return load_synonyms()


def test_synonyms_replace_most_content_words_and_no_stop_word(synonyms):
    out = synonymize(REVIEW, 1.0, random.Random(0), synonyms)
    before, after = REVIEW.split(), out.split()
    assert len(before) == len(after)
    changed = [(a, b) for a, b in zip(before, after) if a != b]
    replaceable = [w for w in content_words(REVIEW) if lemma(w, synonyms)]
    assert len(changed) == len(replaceable) >= 8
    for a, b in zip(before, after):
        if a.strip(",.!").lower() in {"the", "and", "was", "i", "will", "it", "very"}:
            assert a == b
    assert after[0][0].isupper() and after[-1].endswith("!")  # capital and punctuation stay
    assert synonymize(REVIEW, 1.0, random.Random(0), synonyms) == out  # seeded


def test_synonyms_prefer_words_of_the_corpus_and_undo_regular_inflections(synonyms):
    vocab = frozenset({"java"})  # one of WordNet's synonyms of coffee
    assert synonymize("coffee", 1.0, random.Random(1), synonyms, vocab) == "java"
    assert lemma("products", synonyms) == "product" and lemma("arrived", synonyms) == "arrive"
    assert lemma("xyzzy", synonyms) is None


def test_reordered_clauses_keep_the_words_and_the_bm25_candidates():
    out = reorder_clauses(REVIEW, random.Random(0))
    assert out != REVIEW and sorted(out.split()) == sorted(REVIEW.split())
    one = reorder_clauses("Too sweet, too small, too expensive", random.Random(0))
    assert one != "Too sweet, too small, too expensive" and sorted(one.split(", ")) == ["Too sweet", "too expensive",
                                                                                        "too small"]
    assert reorder_clauses("Just fine", random.Random(0)) == "Just fine"
    index = BM25Index([REVIEW, "Stale crackers, bitter coffee.", "Fresh tea, quick delivery, good price."])
    assert index.top([REVIEW], 3) == index.top([out], 3)


def test_a_paraphrase_is_cleaned_of_repeats_and_its_overlap_counts_content_words():
    assert clean("  I love it.  I love it. It is  great. i love it.") == "I love it. It is great."
    assert overlap("The coffee is smooth", "smooth coffee") == 1.0
    assert overlap("A mellow brew", "smooth coffee") == 0.0
    assert overlap("the and", "x") == 1.0  # no content words: a copy for the filter
