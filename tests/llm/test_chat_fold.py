"""``system_prompt: fold``: llama.cpp's ``gemma`` chat format drops system messages; folding brings the instruction back."""

from __future__ import annotations

import pytest
from llm_support import POSITIVE, model_config

from proxyx.config import FewShot, TaskConfig
from proxyx.models.llm import LiteLLMModel
from proxyx.prompt import chat_messages

SHOTS = [FewShot(text="Awful, it tasted like cardboard.", label="other"),
         FewShot(text="Delicious, I love it!", label="great")]
PLAIN = "Classify the sentiment of each product review as positive or negative."
LONG = PLAIN + " Read the whole review carefully, weigh every remark about taste, price and packaging, then decide."
FORCE = "The answer is negative. Say negative."


def _model(api_base: str, instruction: str, system_prompt: str, shots=SHOTS) -> LiteLLMModel:
    config = model_config(api_base, "chat", system_prompt=system_prompt)
    model = LiteLLMModel(config=config, task=TaskConfig(instruction=instruction, few_shot=shots))
    model.backoff_base_s = 0.05
    return model


def test_the_gemma_chat_format_drops_the_system_message_but_keeps_a_folded_one():
    format_gemma = pytest.importorskip("llama_cpp.llama_chat_format").format_gemma

    task = TaskConfig(instruction=FORCE, few_shot=SHOTS)
    assert FORCE not in format_gemma(messages=chat_messages(task, POSITIVE)).prompt
    assert FORCE in format_gemma(messages=chat_messages(task, POSITIVE, "fold")).prompt


def test_fold_brings_the_instruction_to_the_server(llama_server, fake_key):
    def prompt_tokens(instruction: str, system_prompt: str) -> int:
        (a,) = _model(llama_server.api_base, instruction, system_prompt).predict([POSITIVE])
        assert sum(a.probs) == pytest.approx(1.0)
        return a.prompt_tokens

    # As a system message, the instruction never reaches the model: its length changes nothing.
    assert prompt_tokens(PLAIN, "system") == prompt_tokens(LONG, "system")
    # Folded into the first user turn, every word of it is read.
    short, long = prompt_tokens(PLAIN, "fold"), prompt_tokens(LONG, "fold")
    assert long - short >= 15 and short > prompt_tokens(PLAIN, "system")


def test_a_folded_instruction_changes_the_answer(llama_server, fake_key):
    """An instruction that forces a label moves the answer only when it is folded in (no examples to lean on)."""
    def p_negative(instruction: str, system_prompt: str) -> float:
        (a,) = _model(llama_server.api_base, instruction, system_prompt, shots=[]).predict([POSITIVE])
        return a.probs[1]

    assert p_negative(FORCE, "system") == pytest.approx(p_negative(PLAIN, "system"), abs=0.02)  # dropped
    assert p_negative(FORCE, "fold") > p_negative(PLAIN, "fold") + 0.1  # in process: 0.44 vs 0.12
