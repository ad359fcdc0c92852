import itertools

import numpy as np
import pytest

from proxyx.cache import call_key
from proxyx.config import FewShot, TaskConfig
from proxyx.errors import ConfigError, DataError
from proxyx.perturb import PromptSegments, Segments, make_segments, parse_prompt, raw_task
from proxyx.prompt import completion_prompt


def test_units_and_render():
    s = Segments("this stuff is  not   good")
    assert s.units == ("this", "stuff", "is", "not", "good")
    assert s.full == "this stuff is not good"
    assert s.render([True, False, True, True, False]) == "this is not"
    assert s.render(np.zeros(5, bool)) == ""


def test_without_top_deletes_highest():
    s = Segments("a b c d")
    assert s.without_top([0.1, 0.9, -1.0, 0.5], 2) == "a c"


@pytest.mark.parametrize("text", [pytest.param("", id="empty"), pytest.param("   \n\t", id="blank")])
def test_empty_text_is_a_data_error(text):
    with pytest.raises(DataError, match="empty"):
        Segments(text)


def test_mask_shape_checked():
    with pytest.raises(ValueError):
        Segments("a b").render([True])


@pytest.mark.parametrize("text, units", [
    pytest.param("Great taste. Would buy again!  Five stars", ("Great taste.", "Would buy again!", "Five stars"),
                 id="three"),
    pytest.param("no ending punctuation here", ("no ending punctuation here",), id="one"),
    pytest.param('He said "wow." Then?! ok.', ('He said "wow."', "Then?!", "ok."), id="quotes-and-runs"),
])
def test_sentence_units(text, units):
    s = Segments(text, unit="sentence")
    assert s.units == units
    assert s.full == Segments(text).full  # the same normalised text whatever the unit
    assert s.render([True] + [False] * (len(units) - 1)) == units[0]


# ----------------------------------------------------------------------------- demonstrations

TASK = TaskConfig(instruction="Classify the review.", few_shot=[
    FewShot(text="Tasty and fresh.", label="great"),
    FewShot(text="Stale  chips. Never again", label="other"),
    FewShot(text="Good value", label="great"),
])


def _block(text, word):
    return f"Review: {text}\nSentiment: {word}\n\n"


@pytest.mark.parametrize("mask, kept", [
    pytest.param([True, True, True], [0, 1, 2], id="all"),
    pytest.param([False, False, False], [], id="none"),
    pytest.param([True, False, False], [0], id="first"),
    pytest.param([False, False, True], [2], id="last"),
    pytest.param([True, False, True], [0, 2], id="gap"),
])
def test_demonstration_masks_render_the_prompt_with_exactly_the_kept_examples(mask, kept):
    seg = PromptSegments(TASK, "My  input.")
    words = {"great": "positive", "other": "negative"}
    expected = ("Classify the review.\n\n" + "".join(_block(TASK.few_shot[i].text, words[TASK.few_shot[i].label])
                                                     for i in kept) + "Review: My  input.\nSentiment:")
    assert seg.render(mask) == expected
    assert seg.units == tuple(ex.text for ex in TASK.few_shot)


def test_full_demonstration_prompt_is_the_normal_completion_prompt():
    assert PromptSegments(TASK, "x y").full == completion_prompt(TASK, "x y")


def test_every_demonstration_subset_is_its_own_text_and_cache_key():
    seg = PromptSegments(TASK, "x")
    masks = [np.array(m) for m in itertools.product([True, False], repeat=3)]
    texts = seg.render_many(masks)
    assert len(set(texts)) == 8
    assert len({call_key("fp", t) for t in texts}) == 8


def test_word_units_of_demonstrations_drop_an_emptied_example():
    seg = PromptSegments(TASK, "x", unit="word")
    assert seg.units == ("Tasty", "and", "fresh.", "Stale", "chips.", "Never", "again", "Good", "value")
    assert seg.owner == (0, 0, 0, 1, 1, 1, 1, 2, 2)
    mask = np.array([True, False, True, False, False, False, False, True, True])
    assert seg.shots(mask) == [FewShot(text="Tasty fresh.", label="great"), FewShot(text="Good value", label="great")]
    assert seg.render(mask) == completion_prompt(TASK.model_copy(update={"few_shot": seg.shots(mask)}), "x")


def test_sentence_units_of_demonstrations():
    seg = PromptSegments(TASK, "x", unit="sentence")
    assert seg.units == ("Tasty and fresh.", "Stale chips.", "Never again", "Good value")
    assert seg.shots([False, True, False, False])[0] == FewShot(text="Stale chips.", label="other")


@pytest.mark.parametrize("unit", ["demonstration", "word", "sentence"])
def test_spans_point_at_each_unit(unit):
    seg = PromptSegments(TASK, "the input", unit=unit)
    spans = seg.spans()
    assert len(spans) == len(seg)
    for (a, b), u in zip(spans, seg.units):
        assert u in seg.full[a:b]
    if unit == "demonstration":
        assert seg.full[spans[1][0]: spans[1][1]] == _block("Stale  chips. Never again", "negative")


def test_parse_reads_back_every_subset_of_real_reviews(fine_foods):
    shots = [FewShot(text=x.text, label=x.label) for x in fine_foods[:6]]
    task = TASK.model_copy(update={"few_shot": shots})
    rng = np.random.default_rng(0)
    for x in fine_foods[6:26]:
        for unit in ("demonstration", "word"):
            seg = PromptSegments(task, x.text, unit=unit)
            mask = rng.random(len(seg)) < 0.5
            parsed = parse_prompt(task, seg.render(mask))
            assert parsed is not None
            assert parsed.shots == seg.shots(mask)
            assert parsed.text == x.text


@pytest.mark.parametrize("text", [pytest.param("just a review", id="plain"), pytest.param("", id="empty"),
                                  pytest.param("Classify the review.\n\nReview: a", id="no-tail")])
def test_parse_refuses_what_is_not_a_rendered_prompt(text):
    assert parse_prompt(TASK, text) is None


def test_raw_task_answers_a_prompt_verbatim():
    prompt = PromptSegments(TASK, "x").render([True, False, True])
    raw = raw_task(TASK)
    assert completion_prompt(raw, prompt) == prompt
    assert raw.labels == TASK.labels and raw.verbalizers == TASK.verbalizers


def test_no_demonstrations_is_a_config_error():
    with pytest.raises(ConfigError, match="no demonstrations"):
        PromptSegments(TASK.model_copy(update={"few_shot": []}), "x")


@pytest.mark.parametrize("unit, cls", [pytest.param("word", Segments, id="word"),
                                       pytest.param("sentence", Segments, id="sentence"),
                                       pytest.param("demonstration", PromptSegments, id="demonstration")])
def test_make_segments_picks_the_unit(unit, cls):
    seg = make_segments("a b. c", unit, TASK)
    assert isinstance(seg, cls) and seg.unit == unit


def test_make_segments_unknown_unit():
    with pytest.raises(ConfigError, match="explainer.unit"):
        make_segments("a", "paragraph", TASK)
