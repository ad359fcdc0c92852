"""The embedded Gemma oracle, run for real (llama-cpp-python in process)."""

from __future__ import annotations

import random

import numpy as np
import pytest

from proxyx.config import ModelConfig, TaskConfig
from proxyx.errors import ConfigError, DataError, ModelError
from proxyx.models.llamacpp import WEIGHTS_PACKAGE, LlamaCppModel, ensure_gguf

POSITIVE = ["Absolutely delicious! The best cookies I have ever had, my whole family loves them.",
            "Excellent coffee, rich and smooth. I will definitely buy it again."]
NEGATIVE = ["Terrible. The chips were stale and tasted awful, I threw the whole bag away.",
            "Disgusting taste and it arrived broken. Complete waste of money, do not buy."]


def _masks(text: str, n: int, seed: int = 0) -> list[str]:
    """Masked variants like an explainer sends: random words dropped."""
    rng = random.Random(seed)
    words = text.split()
    return [" ".join(w for w in words if rng.random() > 0.3) or words[0] for _ in range(n)]


def test_not_loaded_in_constructor(task):
    model = LlamaCppModel(config=ModelConfig(model="local/gemma-3-270m"), task=task)
    assert model.llm_ is None


def test_ensure_gguf_returns_the_packaged_file():
    from importlib import import_module

    path = ensure_gguf()
    assert path.name == import_module(WEIGHTS_PACKAGE).MODEL_NAME and path.stat().st_size > 100_000_000


def test_probabilities_and_usage(oracle, task):
    answers = oracle.predict(POSITIVE[:1] + NEGATIVE[:1])
    for text, a in zip(POSITIVE[:1] + NEGATIVE[:1], answers):
        assert len(a.probs) == len(task.labels) == 2
        assert sum(a.probs) == pytest.approx(1.0, abs=1e-9)
        assert a.prompt_tokens == oracle.count_prompt_tokens(text) > 40  # the whole few-shot prompt is billed
        assert a.completion_tokens == 1
        assert a.usd == pytest.approx((a.prompt_tokens * 2.5 + 10.0) / 1e6)
    assert answers[0].probs[0] > answers[1].probs[0]  # probs[0] is p("great"), labels' order


@pytest.mark.parametrize("text, label", [pytest.param(t, "great", id=f"pos{i}") for i, t in enumerate(POSITIVE)]
                         + [pytest.param(t, "other", id=f"neg{i}") for i, t in enumerate(NEGATIVE)])
def test_obvious_reviews(oracle, task, text, label):
    (a,) = oracle.predict([text])
    assert task.labels[int(np.argmax(a.probs))] == label


def test_prefix_reuse_equals_fresh_evaluation(oracle, task):
    texts = _masks(POSITIVE[0], 2) + _masks(NEGATIVE[0], 2)
    reused = oracle.predict(texts)  # one batch: the task prefix stays in the KV cache
    fresh = LlamaCppModel(config=ModelConfig(model="local/gemma-3-270m"), task=task)
    try:
        for text, a in zip(texts, reused):
            fresh.close()  # reloaded by predict: an empty KV cache for every text
            (b,) = fresh.predict([text])
            np.testing.assert_allclose(a.probs, b.probs, atol=1e-5)
    finally:
        fresh.close()


def test_one_thread_gives_the_same_answers(oracle, task):
    """``threads`` is left out of the cache key: one thread must answer exactly as the default two do."""
    texts = POSITIVE[:1] + NEGATIVE[:1]
    one = LlamaCppModel(config=ModelConfig(model="local/gemma-3-270m", threads=1), task=task)
    try:
        assert one.n_threads == 1 and oracle.n_threads == 2 and one.fingerprint() == oracle.fingerprint()
        for a, b in zip(oracle.predict(texts), one.predict(texts)):
            assert a.probs == b.probs
    finally:
        one.close()


def test_input_order_kept_and_on_answer_once_each(oracle):
    texts = ["Zesty and great.", NEGATIVE[1], "A fine tea.", POSITIVE[1], "Zesty and great."]
    seen = []
    answers = oracle.predict(texts, on_answer=lambda i, a: seen.append((i, a)))
    assert sorted(i for i, _ in seen) == list(range(len(texts)))
    assert [i for i, _ in seen] != list(range(len(texts)))  # evaluated in sorted order, not input order
    assert all(answers[i] == a for i, a in seen)
    singles = [oracle.predict([t])[0] for t in texts]
    assert [a.probs for a in answers] == [s.probs for s in singles]
    assert answers[0] == answers[4]


def test_unknown_verbalizer_is_a_config_error():
    task = TaskConfig(verbalizers={"great": "splendiferousness", "other": "negative"})
    model = LlamaCppModel(config=ModelConfig(model="local/gemma-3-270m"), task=task)
    with pytest.raises(ConfigError, match="verbalizers.great"):
        model.predict(["Tasty."])
    model.close()


def test_too_long_for_the_context(oracle):
    with pytest.raises(DataError, match="shorten"):
        oracle.predict(["Tasty. " + "very " * 9000])


def test_missing_model_path_is_a_config_error(task):
    model = LlamaCppModel(config=ModelConfig(model="local/gemma-3-270m", model_path="/nonexistent/x.gguf"), task=task)
    with pytest.raises(ConfigError, match="model_path"):
        model.predict(["Tasty."])


def test_a_file_that_is_not_gguf_is_a_model_error_that_quotes_llama_cpp(task, tmp_path):
    """llama.cpp's own log stays quiet, but its error names the cause."""
    notes = tmp_path / "notes.gguf"
    notes.write_text("these are my notes, not a model")
    model = LlamaCppModel(config=ModelConfig(model="local/gemma-3-270m", model_path=str(notes)), task=task)
    with pytest.raises(ModelError, match=r"invalid magic characters.*check that it is a GGUF model file"):
        model.predict(["Tasty."])


def test_whole_prompts_reuse_leading_demonstrations_and_equal_fresh_evaluation(task):
    """Raw mode (the apps' demonstration masks): paragraph blocks held in the KV cache change nothing."""
    from proxyx.explainers.base import all_coalitions
    from proxyx.perturb import PromptSegments, raw_task

    shots = [{"text": t, "label": "great"} for t in POSITIVE[:2]] + [{"text": t, "label": "other"} for t in NEGATIVE[:2]]
    segs = PromptSegments(TaskConfig(**{**task.model_dump(), "few_shot": shots}), "Not bad at all, would buy again.")
    prompts = segs.render_many(all_coalitions(len(segs)))
    model = LlamaCppModel(config=ModelConfig(model="local/gemma-3-270m"), task=raw_task(task))
    assert model.scoring_params()["blocks"] == "paragraphs"
    try:
        reused = [a.probs for a in model.predict(prompts)]  # sorted: neighbours share leading demonstrations
        for prompt, probs in zip(prompts[::5], reused[::5]):
            model.close()  # an empty KV cache
            assert model.predict([prompt])[0].probs == probs
    finally:
        model.close()
