"""Config of generate tasks, context units and QA data: no model needed."""

from __future__ import annotations

import json

import numpy as np
import pytest

from proxyx.config import GenerateTask, TaskConfig, parse_config
from proxyx.errors import ConfigError, DataError
from proxyx.generation.data import faq_instances, file_instances
from proxyx.perturb import ContextSegments

GEN = {"type": "generate", "template": "Context: {context}\nQ: {question}\nA:"}


def cfg(**blocks):
    return parse_config({"oracle": "local/gemma-3-270m", **blocks})


def test_generate_task_parses_and_classifier_default_is_unchanged():
    assert isinstance(cfg().task, TaskConfig)
    c = cfg(task=GEN, explainer={"unit": "document", "value": "answer_match"})
    assert isinstance(c.task, GenerateTask) and c.task.max_tokens == 32
    assert c.task.prompt("A.\n\nB.", "Why?") == "Context: A.\n\nB.\nQ: Why?\nA:"
    assert parse_config(c.model_dump()).task == c.task  # CLI overrides round-trip


@pytest.mark.parametrize("blocks, fragment", [
    pytest.param({"task": {**GEN, "template": "Q: {question}"}}, "task.template: template must contain the "
                 "placeholder {context}", id="no-context"),
    pytest.param({"task": {**GEN, "template": "{context} {text}"}}, "unknown placeholder {text}", id="unknown"),
    pytest.param({"task": {**GEN, "type": "summarise"}}, "task.type", id="type"),
    pytest.param({"explainer": {"unit": "document"}}, "task.type: generate", id="document-unit-on-classifier"),
    pytest.param({"task": GEN, "explainer": {"unit": "demonstration"}}, "not a unit of a generation", id="unit"),
    pytest.param({"task": GEN, "explainer": {"hierarchy": {"levels": ["word", "document"]}}}, "coarse to fine",
                 id="order"),
    pytest.param({"task": GEN, "explainer": {"hierarchy": {"levels": ["document", "word"], "samples": [8]}}},
                 "one per level", id="budgets"),
])
def test_bad_generate_config_names_the_field(blocks, fragment):
    with pytest.raises(ConfigError) as e:
        cfg(**blocks)
    assert fragment in str(e.value) and "\n" not in str(e.value)


def test_context_segments_render_alike_at_every_level():
    docs = ("One two. Three four!", "Five  six\nseven.")
    levels = [ContextSegments(docs, unit=u) for u in ("document", "sentence", "word")]
    assert len({s.full for s in levels}) == 1 and levels[0].full == "One two. Three four!\n\nFive six seven."
    assert [len(s) for s in levels] == [2, 3, 7]
    assert levels[1].render([False, True, True]) == "Three four!\n\nFive six seven."
    assert levels[0].render([False, True]) == levels[2].render_words(levels[0].words([False, True]))
    assert levels[1].ranges == ((0, 2), (2, 4), (4, 7)) and levels[1].owner == (0, 0, 1)
    np.testing.assert_array_equal(levels[0].words([True, False]), [1, 1, 1, 1, 0, 0, 0])


def test_qa_file_rows_and_errors(tmp_path):
    good = tmp_path / "qa.jsonl"
    good.write_text(json.dumps({"question": "Q?", "context": "a b\n\nc d", "gold_document": 1}) + "\n")
    [row] = file_instances(good, "\n\n")
    assert row.documents == ("a b", "c d") and row.gold_document == 1 and row.id == "1"
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"question": "Q?", "documents": []}) + "\n")
    with pytest.raises(DataError, match="bad.jsonl:1: 'documents' must be a non-empty list"):
        file_instances(bad, "\n\n")


def test_faq_questions_have_their_gold_answer_among_the_documents():
    try:
        rows = faq_instances(documents=4, document_words=30, seed=0)
    except DataError as e:  # not installed (make install fetches it): say why
        pytest.skip(str(e))
    assert len(rows) > 50
    for r in rows[:20]:
        assert len(r.documents) == 4 and 0 <= r.gold_document < 4 and "?" in r.question
        assert all(len(d.split()) <= 31 for d in r.documents)
