"""The in-context proxy: a TF-IDF vote over the demonstrations each prompt holds."""

import numpy as np
import pytest

from proxyx.config import FewShot, ModelConfig, TaskConfig
from proxyx.errors import ConfigError
from proxyx.models.incontext import InContextModel, vote
from proxyx.perturb import PromptSegments

LABELS = ["great", "other"]
SHOTS = [FewShot(text="love this tasty snack", label="great"), FewShot(text="stale and bland chips", label="other"),
         FewShot(text="tasty coffee, love it", label="great")]


def model(task=None):
    return InContextModel(config=ModelConfig(model="local/incontext-tfidf"), task=task or TaskConfig(few_shot=SHOTS))


def test_no_demonstration_is_uniform():
    assert vote([], "anything", LABELS) == (0.5, 0.5)


def test_one_label_only_pulls_towards_it_more_with_similar_text():
    only_great = [SHOTS[0]]
    near, far = vote(only_great, "tasty snack", LABELS)[0], vote(only_great, "the box was dented", LABELS)[0]
    assert near > far > 0.5


def test_a_flipped_label_moves_similar_inputs():
    right = vote(SHOTS, "tasty snack, love it", LABELS)[0]
    flipped = vote(SHOTS[:2] + [FewShot(text="tasty coffee, love it", label="other")], "tasty snack, love it", LABELS)[0]
    assert flipped < right


@pytest.mark.parametrize("mask", [pytest.param([True, True, True], id="all"), pytest.param([False, True, False], id="one"),
                                  pytest.param([False, False, False], id="none")])
def test_reads_the_demonstrations_kept_in_the_prompt(mask):
    m = model()
    seg = PromptSegments(m.task, "tasty snack")
    answer = m.predict([seg.render(mask)])[0]
    assert answer.probs == vote([s for s, k in zip(SHOTS, mask) if k], "tasty snack", LABELS)
    assert answer.prompt_tokens == len(seg.render(mask).split())


def test_a_plain_text_is_the_input_of_the_task_prompt():
    m = model()
    assert m.predict(["tasty snack"])[0].probs == vote(SHOTS, "tasty snack", LABELS)
    assert np.isclose(sum(m.predict(["tasty snack"])[0].probs), 1.0)


def test_needs_a_template_around_the_text():
    with pytest.raises(ConfigError, match="template"):
        model(TaskConfig(instruction="", template="{text}"))
