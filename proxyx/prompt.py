"""Prompts for LLM models: a few-shot completion prompt or chat messages.

``render`` is the one way a prompt is made; every ``task.template`` is filled
by ``fill`` (``TaskConfig`` checks templates when the config is loaded: only
``{text}``, braces balanced, ``{{``/``}}`` for literal braces).

Completion prompt: ``instruction\\n\\n`` + one filled template and label word
per few-shot example (``... positive\\n\\n``) + the filled template of the text.
Everything before the text is ``prompt_prefix``, shared by all texts of a task
(the in-process oracle keeps it in its KV cache).

Chat messages: a system message with the instruction and the label words,
then the few-shot examples as user/assistant turns, then the text. With
``system_prompt="fold"`` there is no system message: its content opens the
first user turn, followed by a blank line, as Gemma's own chat template does
(llama.cpp's ``gemma`` chat format drops system messages).
"""

from __future__ import annotations

from typing import Literal

from .config import TaskConfig

_MARK = "\x00text\x00"  # stands for the text while a template is split around it


def fill(template: str, text: str) -> str:
    """``template`` with ``{text}`` replaced by ``text`` (``{{`` and ``}}`` become literal braces)."""
    return template.format(text=text)


def _around_text(template: str) -> tuple[str, str]:
    """The filled template before its first ``{text}``, and the rest with its own marks left in."""
    head, _, tail = fill(template, _MARK).partition(_MARK)
    return head, tail


def prompt_prefix(task: TaskConfig) -> str:
    """The part of every completion prompt that precedes the text (shared, so KV-cacheable)."""
    shots = "".join(fill(task.template, ex.text) + " " + task.word(ex.label) + "\n\n" for ex in task.few_shot)
    intro = task.instruction.strip() + "\n\n" if task.instruction.strip() else ""
    return intro + shots + _around_text(task.template)[0]


def _completion(task: TaskConfig, text: str) -> str:
    return prompt_prefix(task) + text + _around_text(task.template)[1].replace(_MARK, text)


def _chat(task: TaskConfig, text: str, system_prompt: str) -> list[dict]:
    words = ", ".join(task.word(lab) for lab in task.labels)
    system = f"{task.instruction.strip()} Answer with exactly one word: {words}."
    turns: list[dict] = []
    for ex in task.few_shot:
        turns.append({"role": "user", "content": fill(task.template, ex.text)})
        turns.append({"role": "assistant", "content": task.word(ex.label)})
    turns.append({"role": "user", "content": fill(task.template, text)})
    if system_prompt == "fold":
        turns[0] = {"role": "user", "content": system + "\n\n" + turns[0]["content"]}
        return turns
    return [{"role": "system", "content": system}, *turns]


def render(task: TaskConfig, text: str, *, style: Literal["completion", "chat"] = "completion",
           system_prompt: Literal["system", "fold"] = "system") -> str | list[dict]:
    """The prompt of ``text``: a string (``completion``) or chat messages (``chat``); see the module doc."""
    if style == "chat":
        return _chat(task, text, system_prompt)
    if style == "completion":
        return _completion(task, text)
    raise ValueError(f"unknown prompt style {style!r}")  # ModelConfig admits only the two above


def completion_prompt(task: TaskConfig, text: str) -> str:
    """Instruction, few-shot examples, then the text; the next token is the label word."""
    return render(task, text, style="completion")  # type: ignore[return-value]


def chat_messages(task: TaskConfig, text: str, system_prompt: Literal["system", "fold"] = "system") -> list[dict]:
    """The same task as chat messages; the answer should be one label word."""
    return render(task, text, style="chat", system_prompt=system_prompt)  # type: ignore[return-value]
