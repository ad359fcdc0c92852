"""Prompts for LLM models: a few-shot completion prompt or chat messages."""

from __future__ import annotations

from .config import TaskConfig


def prompt_prefix(task: TaskConfig) -> str:
    """The part of every completion prompt that precedes the text (shared, so KV-cacheable)."""
    head, _, _ = task.template.partition("{text}")
    shots = "".join(
        task.template.format(text=ex.text) + " " + task.word(ex.label) + "\n\n" for ex in task.few_shot
    )
    intro = task.instruction.strip() + "\n\n" if task.instruction.strip() else ""
    return intro + shots + head


def completion_prompt(task: TaskConfig, text: str) -> str:
    """Instruction, few-shot examples, then the text; the next token is the label word."""
    _, _, tail = task.template.partition("{text}")
    return prompt_prefix(task) + text + tail


def chat_messages(task: TaskConfig, text: str) -> list[dict]:
    """The same task as chat messages; the answer should be one label word."""
    words = ", ".join(task.word(lab) for lab in task.labels)
    system = f"{task.instruction.strip()} Answer with exactly one word: {words}."
    msgs = [{"role": "system", "content": system}]
    for ex in task.few_shot:
        msgs.append({"role": "user", "content": task.template.format(text=ex.text)})
        msgs.append({"role": "assistant", "content": task.word(ex.label)})
    msgs.append({"role": "user", "content": task.template.format(text=text)})
    return msgs
