"""The Debian FAQ retrieval set, parsed from the package's own text edition (installed by fetch-data)."""

from __future__ import annotations

import gzip

import numpy as np
import pytest

from proxyx.apps.rerank_data import load_cases, retrieve
from proxyx.datasets import FaqItem, faq_path, fetch_faq, load_faq, parse_faq, source_path
from proxyx.errors import DataError


@pytest.fixture(scope="module")
def faq_text():
    if not source_path().is_file():
        pytest.skip(f"{source_path()} missing: run 'proxyx fetch-data'")
    return gzip.decompress(source_path().read_bytes()).decode("utf-8")


def test_every_numbered_section_is_parsed_with_its_answer(faq_text):
    items = parse_faq(faq_text)
    ids = [x.id for x in items]
    assert len(ids) == len(set(ids)) == 147  # debian-faq 11.1: 148 headings, one without a body of its own
    assert ids[:3] == ["1.1", "1.2", "1.3"] and "3.1.2" in ids
    first = items[0]
    assert first.question == "What is this FAQ?" and first.answer.startswith("This document gives frequently asked")
    wrapped = next(x for x in items if x.id == "3.1.1")  # a heading wrapped onto a second line
    assert wrapped.question.endswith("What should I do?") and "hardware" in wrapped.question
    assert "\u00a0" not in first.answer and not any(x.answer.startswith("3.1.1") for x in items)
    assert sum(x.is_question for x in items) == 123
    assert not FaqItem("16.1", "Authors", "x").is_question


def test_installed_file_is_the_parse_of_the_package_text(faq_text):
    assert load_faq() == parse_faq(faq_text)
    assert (faq_path().parent / "copyright").read_text().startswith("This is the Debian GNU/Linux `debian-faq'")


def test_fetch_is_idempotent(faq_text):
    before = faq_path().stat().st_mtime_ns
    assert fetch_faq() == faq_path()
    assert faq_path().stat().st_mtime_ns == before


def test_text_that_is_not_the_faq_is_refused():
    with pytest.raises(DataError, match="no 'Chapter 1.' line"):
        parse_faq("1.1. What?\n\n    An answer.\n")


def test_not_installed_says_how_to_fetch(tmp_path, monkeypatch):
    monkeypatch.setenv("PROXYX_DATA_DIR", str(tmp_path))
    with pytest.raises(DataError, match="proxyx fetch-data"):
        load_faq()


def test_bm25_finds_most_gold_passages(faq_text):
    items = parse_faq(faq_text)
    asked = [i for i, x in enumerate(items) if x.is_question]
    docs, scores = retrieve([items[i].question for i in asked], [x.answer for x in items], 5)
    hit = np.array([[d == i for d in row] for row, i in zip(docs, asked)])
    recall1, recall5 = hit[:, 0].mean(), hit.any(axis=1).mean()
    # measured 0.31 and 0.64; chance is 1/147 and 5/147
    assert recall1 > 0.25 and recall5 > 0.55 and recall5 >= recall1
    assert np.all(np.diff(scores, axis=1) <= 0)  # best first


def test_cases_are_a_seeded_sample_with_the_gold_in_the_top_k(faq_text):
    a, stats = load_cases("debian_faq", k=5, questions=10, require_gold=True, passage_words=20, seed=3)
    b, _ = load_cases("debian_faq", k=5, questions=10, require_gold=True, passage_words=20, seed=3)
    assert a == b and stats["questions"] == 123 and 0.55 < stats["recall_at_k"] < 0.75
    for c in a:
        assert c.gold is not None and c.passage_ids[c.gold] == c.id and len(c.passages) == 5
        assert all(len(p.split()) <= 21 for p in c.passages)
    with pytest.raises(DataError, match="rerank.questions: 200 asked, but debian_faq has 79 questions"):
        load_cases("debian_faq", k=5, questions=200, require_gold=True, passage_words=20, seed=0)
