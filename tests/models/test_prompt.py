"""Templates checked at config time; every prompt rendered by one function."""

from __future__ import annotations

import pytest

from proxyx.config import FewShot, TaskConfig, parse_config
from proxyx.errors import ConfigError
from proxyx.prompt import chat_messages, completion_prompt, prompt_prefix, render

SHOTS = TaskConfig(few_shot=[FewShot(text="Awful {sic}.", label="other"), FewShot(text="Yum!", label="great")])


@pytest.mark.parametrize("template, match", [
    pytest.param("Review: {label}\nSentiment:", r"unknown placeholder \{label\}; the only placeholder is \{text\}",
                 id="unknown-placeholder"),
    pytest.param("Review: {}", r"unknown placeholder \{\}", id="positional"),
    pytest.param("Review: {text.upper}", r"unknown placeholder \{text.upper\}", id="attribute"),
    pytest.param("Review:\nSentiment:", r"must contain the placeholder \{text\}", id="missing-text"),
    pytest.param("Review: {text", r"unbalanced braces \(expected '\}' before end of string\)", id="open-brace"),
    pytest.param("Review: text}", r"unbalanced braces \(Single '\}' encountered", id="close-brace"),
    pytest.param("Review: {text!r}", r"plain \{text\}, without a conversion", id="conversion"),
])
def test_bad_templates_are_config_errors_naming_the_template(template, match):
    with pytest.raises(ConfigError, match=match) as info:
        parse_config({"oracle": "local/vader", "task": {"template": template}})
    message = str(info.value)
    assert message.startswith("task.template: ") and "\n" not in message


def test_literal_braces_and_repeated_text():
    task = TaskConfig(template='JSON {{"review": "{text}"}} -> {text}?')
    assert completion_prompt(task, "ok").endswith('JSON {"review": "ok"} -> ok?')
    assert prompt_prefix(task).endswith('JSON {"review": "')  # cut at the first {text}, braces unescaped


def test_completion_prompt_is_byte_identical_for_existing_configs():
    """The cache keys hold this text's answers: pinned as it was before prompts went through ``render``."""
    assert completion_prompt(SHOTS, "Great {tea}") == (
        "Classify the sentiment of each product review as positive or negative.\n\n"
        "Review: Awful {sic}.\nSentiment: negative\n\n"
        "Review: Yum!\nSentiment: positive\n\n"
        "Review: Great {tea}\nSentiment:")
    assert completion_prompt(SHOTS, "x") == prompt_prefix(SHOTS) + "x\nSentiment:"
    assert render(SHOTS, "x") == completion_prompt(SHOTS, "x")
    assert completion_prompt(TaskConfig(instruction="  "), "x") == "Review: x\nSentiment:"


def test_chat_messages_system_or_folded():
    system = "Classify the sentiment of each product review as positive or negative. " \
             "Answer with exactly one word: positive, negative."
    msgs = chat_messages(SHOTS, "Nice.")
    assert msgs == render(SHOTS, "Nice.", style="chat")
    assert msgs[0] == {"role": "system", "content": system}
    assert [m["role"] for m in msgs[1:]] == ["user", "assistant", "user", "assistant", "user"]
    folded = render(SHOTS, "Nice.", style="chat", system_prompt="fold")
    assert [m["role"] for m in folded] == ["user", "assistant", "user", "assistant", "user"]
    assert folded[0]["content"] == system + "\n\nReview: Awful {sic}.\nSentiment:"  # as Gemma's own template does
    assert folded[1:] == msgs[2:]
    no_shots = render(TaskConfig(), "Nice.", style="chat", system_prompt="fold")
    assert no_shots == [{"role": "user", "content": system + "\n\nReview: Nice.\nSentiment:"}]


def test_system_prompt_is_for_chat_only():
    with pytest.raises(ConfigError, match="system_prompt applies to style: chat only"):
        parse_config({"oracle": {"model": "openai/x", "system_prompt": "fold"}})
