"""The apps' use of the embedded Gemma oracle: raw prompts, token self-information (run under the gemma lock)."""

import numpy as np
import pytest

from proxyx.apps.selfinfo import token_surprisal, unit_values
from proxyx.cache import CallCache
from proxyx.config import FewShot, ModelConfig, TaskConfig
from proxyx.ledger import Ledger
from proxyx.perturb import PromptSegments, raw_task
from proxyx.scorer import Scorer

pytest.importorskip("llama_cpp", reason="pip install 'llama-cpp-python[server]==0.3.36'")

GEMMA = ModelConfig(model="local/gemma-3-270m")
SHOTS = [FewShot(text="This is a great organic chili, tastes homemade and very fresh.", label="great"),
         FewShot(text="Disappointed with this coffee, bitter and weak. Would not reorder.", label="other")]


@pytest.mark.parametrize("unit, expected", [
    pytest.param("word", [2.0, 4.0 + 8.0, 16.0], id="words-sum"),
    pytest.param("demonstration", [(1 + 2 + 4 + 8) / 4, 16.0], id="demonstrations-average"),
])
def test_unit_values_assign_each_token_to_the_unit_holding_its_last_character(unit, expected):
    task = TaskConfig(instruction="", few_shot=[FewShot(text="a bb", label="great"), FewShot(text="c", label="other")])
    seg = PromptSegments(task, "", unit=unit)
    full = seg.full
    assert full == "Review: a bb\nSentiment: positive\n\nReview: c\nSentiment: negative\n\nReview: \nSentiment:"
    c = full.index(" c\n")
    spans = [(0, 7), (7, 9), (9, 11), (11, 12), (c, c + 2), (len(full) - 10, len(full))]
    got = unit_values(seg, spans, np.array([1.0, 2.0, 4.0, 8.0, 16.0, 32.0]))
    assert got.tolist() == expected


def test_a_repeated_demonstration_carries_less_self_information(tmp_path):
    task = TaskConfig(few_shot=[SHOTS[0], SHOTS[1], SHOTS[0]])
    seg = PromptSegments(task, "")
    cache, ledger = CallCache(tmp_path), Ledger()
    spans, s = token_surprisal(seg.full, config=GEMMA, cache=cache, ledger=ledger)
    assert len(spans) == len(s) and np.all(s >= 0)
    values = unit_values(seg, spans, s)
    assert values[2] < 0.5 * values[0]  # the model copies the second occurrence
    paid = ledger.total(purpose="self_information").paid
    assert paid.calls == 1 and paid.tokens == len(s) + 1

    again = Ledger()
    spans2, s2 = token_surprisal(seg.full, config=GEMMA, cache=cache, ledger=again)
    assert spans2 == spans and np.array_equal(s2, s)
    assert again.total().paid.calls == 0 and again.total().hits == 1
    cache.close()


def test_raw_mode_asks_the_same_prompt_and_subsets_differ(tmp_path):
    from proxyx.models.llamacpp import LlamaCppModel

    task = TaskConfig(few_shot=SHOTS)
    text = "The sauce was delicious, we will order more."
    seg = PromptSegments(task, text)
    raw = Scorer(LlamaCppModel(config=GEMMA, task=raw_task(task)), cache=CallCache(tmp_path), ledger=Ledger(),
                 role="oracle")
    normal = LlamaCppModel(config=GEMMA, task=task)
    try:
        assert raw.model.count_prompt_tokens(seg.full) == normal.count_prompt_tokens(text)
        p = raw([seg.full, seg.render([True, False]), seg.render([False, True])], "t")
        assert abs(p[0, 0] - normal.predict([text])[0].probs[0]) < 0.05  # same prompt, cut into other batches
        assert len({round(float(x), 6) for x in p[:, 0]}) == 3
        assert raw.ledger.total().paid.calls == 3
    finally:
        raw.close()
        normal.close()
