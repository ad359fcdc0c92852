"""`explain` on every unit: sentences of the text, and the prompt's demonstrations (issue 10)."""

import pytest

from proxyx.perturb import PromptSegments, split_units
from tests.test_end_to_end import explain, quickstart

pytest.importorskip("llama_cpp", reason="the local oracle needs llama-cpp-python (make install)")

DEMOS = [
    {"text": "This is a great organic chili - tastes homemade, very fresh. Everyone in our house loves it.", "label": "great"},
    {"text": "Disappointed with this coffee. Not much hazelnut flavor. Would not reorder.", "label": "other"},
    {"text": "Best crackers I have had in years, crisp and not too salty.", "label": "great"},
]


def test_sentence_units_explain_the_text_sentence_by_sentence(tmp_path):
    config = quickstart(tmp_path, **{"explainer.unit": "sentence", "explainer.samples": 16,
                                     "proxies": [{"model": "local/vader"}]})
    p, report = explain(config, "--limit", "3", "-q")
    assert p.returncode == 0, p.stderr
    for e in report["instances"]:
        assert e["units"] == list(split_units(e["text"], "sentence"))
        assert len(e["attribution"]) == len(e["units"])


def test_demonstration_units_explain_the_prompt_with_the_in_context_proxy(tmp_path):
    config = quickstart(tmp_path, **{"explainer.unit": "demonstration", "explainer.method": "kernel_shap",
                                     "explainer.samples": 8, "task.few_shot": DEMOS,
                                     "proxies": [{"model": "local/incontext-tfidf"}], "fidelity.enabled": True,
                                     "fidelity.heldout_samples": 16})
    p, report = explain(config, "--limit", "2", "-q")
    assert p.returncode == 0, p.stderr
    assert [d["text"] for d in DEMOS] == report["instances"][0]["units"]
    for e in report["instances"]:
        assert len(e["attribution"]) == 3
        # 2**3 coalitions, enumerated: Kernel SHAP is exact, so the values add up to f(full) - f(empty)
        assert sum(e["attribution"]) == pytest.approx(e["full_value"] - e["base_value"], abs=1e-9)
        assert e["explained_by"] in ("local/gemma-3-270m", "local/incontext-tfidf")


def test_a_model_that_cannot_see_demonstrations_is_refused_in_one_line(tmp_path):
    config = quickstart(tmp_path, **{"explainer.unit": "demonstration", "task.few_shot": DEMOS})
    p, _ = explain(config, "--limit", "1", "-q")
    assert p.returncode == 2
    assert "reads only the input text" in p.stderr and "Traceback" not in p.stderr


def test_demonstration_masks_render_the_prompt_without_the_masked_example():
    from proxyx.config import TaskConfig
    task = TaskConfig(labels=["great", "other"], template="Review: {text}\nSentiment:", few_shot=DEMOS)
    segs = PromptSegments(task, "Tasty.", unit="demonstration")
    prompt = segs.render([True, False, True])
    assert DEMOS[0]["text"] in prompt and DEMOS[2]["text"] in prompt and DEMOS[1]["text"] not in prompt
    assert prompt.endswith("Review: Tasty.\nSentiment:")
