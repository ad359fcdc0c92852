"""The perturbation space: units, and masks -> what a model is asked.

Explainers only see masks (boolean rows, True = keep the unit) and numbers;
this module is the one place that knows what a unit is.

* ``Segments(text, unit="word" | "sentence")``: units of the input text; a
  masked text keeps its units in order, joined by one space.
* ``PromptSegments(task, text, unit="demonstration" | "word" | "sentence")``:
  units of the prompt's few-shot demonstrations (whole demonstrations, or
  the words or sentences of their texts); the input text stays whole. What
  a model is asked is the whole rendered completion prompt, so different
  demonstration subsets are different texts (and cache keys). LLMs answer
  it verbatim under ``raw_task(task)``; ``parse_prompt`` reads the
  demonstrations back (the in-context proxy does).

``make_segments(text, unit, task)`` picks the class for a config's unit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from .config import FewShot, TaskConfig
from .errors import ConfigError, DataError
from .prompt import completion_prompt

_WORD = re.compile(r"\S+")
_SENTENCE_END = re.compile(r"[.!?]+[\"')\]]*$")

#: units of the input text
TEXT_UNITS = ("word", "sentence")
#: units of the prompt's demonstrations (``explainer.unit: demonstration``; compress can also use their words)
PROMPT_UNITS = ("demonstration", "word", "sentence")
#: what ``explainer.unit`` may say
UNITS = ("word", "sentence", "demonstration")


def split_units(text: str, unit: str) -> tuple[str, ...]:
    """Words (whitespace-separated), or sentences (words up to one ending in . ! or ?)."""
    words = _WORD.findall(text)
    if unit == "word":
        return tuple(words)
    if unit != "sentence":
        raise ValueError(f"unit must be 'word' or 'sentence', got {unit!r}")
    out, current = [], []
    for w in words:
        current.append(w)
        if _SENTENCE_END.search(w):
            out.append(" ".join(current))
            current = []
    if current:
        out.append(" ".join(current))
    return tuple(out)


class _Masked:
    """What both kinds of segments share: a mask -> what a model is asked."""

    units: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.units)

    @property
    def full(self) -> str:
        """What the models are asked unmasked."""
        return self.render(np.ones(len(self.units), dtype=bool))

    def _mask(self, mask) -> np.ndarray:
        mask = np.asarray(mask, dtype=bool)
        if mask.shape != (len(self.units),):
            raise ValueError(f"mask has shape {mask.shape}, expected ({len(self.units)},)")
        return mask

    def render(self, mask) -> str:
        raise NotImplementedError

    def render_many(self, masks) -> list[str]:
        return [self.render(m) for m in np.asarray(masks, dtype=bool)]

    def without_top(self, attributions, k: int) -> str:
        """With its ``k`` highest-attributed units deleted (ties: earlier unit first)."""
        order = np.argsort(-np.asarray(attributions, dtype=float), kind="stable")
        mask = np.ones(len(self.units), dtype=bool)
        mask[order[:k]] = False
        return self.render(mask)


@dataclass(frozen=True)
class Segments(_Masked):
    """A text split into units (words or sentences); masked texts keep units in order, joined by one space."""

    text: str
    unit: str = "word"
    units: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        if self.unit not in TEXT_UNITS:
            raise ValueError(f"unit must be one of {TEXT_UNITS}, got {self.unit!r}")
        units = split_units(self.text, self.unit)
        if not units:
            raise DataError("the text is empty (no words to explain); remove empty rows from the data set")
        object.__setattr__(self, "units", units)

    @property
    def full(self) -> str:
        """The text as the models see it unmasked (whitespace normalised)."""
        return " ".join(self.units)

    def render(self, mask) -> str:
        """The text with only the units where ``mask`` is True."""
        return " ".join(u for u, keep in zip(self.units, self._mask(mask)) if keep)


@dataclass(frozen=True)
class PromptSegments(_Masked):
    """The few-shot prompt of ``task`` around ``text``; units are in its demonstrations.

    ``unit="demonstration"``: one unit per few-shot example, rendered
    verbatim. ``"word"`` / ``"sentence"``: the words or sentences of the
    examples' texts (whitespace normalised); an example whose every unit is
    masked is left out. Labels, instruction and template never change.
    """

    task: TaskConfig
    text: str
    unit: str = "demonstration"
    units: tuple[str, ...] = field(init=False)
    owner: tuple[int, ...] = field(init=False)  # the demonstration each unit belongs to

    def __post_init__(self) -> None:
        if self.unit not in PROMPT_UNITS:
            raise ValueError(f"unit must be one of {PROMPT_UNITS}, got {self.unit!r}")
        if not self.task.few_shot:
            raise ConfigError("the prompt has no demonstrations to explain or remove; list them in "
                              "task.few_shot or set demonstrations.count above 0")
        units, owner = [], []
        for j, ex in enumerate(self.task.few_shot):
            pieces = (ex.text,) if self.unit == "demonstration" else split_units(ex.text, self.unit)
            units += pieces
            owner += [j] * len(pieces)
        object.__setattr__(self, "units", tuple(units))
        object.__setattr__(self, "owner", tuple(owner))

    def shots(self, mask) -> list[FewShot]:
        """The demonstrations a mask keeps, in order."""
        mask = self._mask(mask)
        if self.unit == "demonstration":
            return [ex for ex, keep in zip(self.task.few_shot, mask) if keep]
        kept: list[list[str]] = [[] for _ in self.task.few_shot]
        for u, j, keep in zip(self.units, self.owner, mask):
            if keep:
                kept[j].append(u)
        return [FewShot(text=" ".join(k), label=ex.label) for ex, k in zip(self.task.few_shot, kept) if k]

    def task_for(self, mask) -> TaskConfig:
        """The task with only the kept demonstrations: the prompt a user would paste."""
        return self.task.model_copy(update={"few_shot": self.shots(mask)})

    def render(self, mask) -> str:
        """The whole completion prompt with the kept demonstrations (answered under ``raw_task``)."""
        return completion_prompt(self.task_for(mask), self.text)

    def spans(self) -> list[tuple[int, int]]:
        """Character span in ``full`` of each unit (a whole demonstration: its block, label included)."""
        parsed = parse_prompt(self.task, self.full)
        if parsed is None or len(parsed.shots) != len(self.task.few_shot):
            raise ConfigError("task.template: the prompt cannot be read back into its demonstrations "
                              "(a demonstration's text contains the template's own separators)")
        if self.unit == "demonstration":
            return list(parsed.blocks)
        out, pos = [], [start for start, _ in parsed.texts]  # rendered texts are the units joined by one space
        for piece, j in zip(self.units, self.owner):
            out.append((pos[j], pos[j] + len(piece)))
            pos[j] += len(piece) + 1
        return out


def make_segments(text: str, unit: str = "word", task: TaskConfig | None = None):
    """The segments of a config's ``explainer.unit``: text units, or the demonstrations of ``task``."""
    if unit in TEXT_UNITS:
        return Segments(text, unit=unit)
    if unit == "demonstration":
        if task is None:
            raise ValueError("the demonstration unit needs the task (its few-shot examples)")
        return PromptSegments(task, text, unit="demonstration")
    raise ConfigError(f"explainer.unit: unknown unit {unit!r}; use one of: {', '.join(UNITS)}")


def raw_task(task: TaskConfig) -> TaskConfig:
    """The task under which an LLM answers a fully rendered prompt verbatim.

    Same labels and verbalizers; no instruction, no examples, template
    ``{text}``: ``completion_prompt(raw_task(t), p) == p``.
    """
    return TaskConfig(labels=task.labels, verbalizers=task.verbalizers, instruction="", template="{text}",
                      few_shot=[])


# ----------------------------------------------------------------- reading a prompt back

_SENTINEL = "\x00"


@dataclass(frozen=True)
class ParsedPrompt:
    shots: list[FewShot]
    text: str
    blocks: tuple[tuple[int, int], ...]  # span of each demonstration's block in the prompt
    texts: tuple[tuple[int, int], ...]  # span of each demonstration's text
    query_at: int  # where the template around the input begins (after the instruction and the examples)


def _pieces(task: TaskConfig) -> tuple[str, str, str, dict[str, tuple[str, str]]]:
    """(intro, head, tail, {label: (before, after) an example's text}), found by rendering with sentinels."""
    bare = task.model_copy(update={"few_shot": []})
    head = completion_prompt(bare.model_copy(update={"instruction": ""}), _SENTINEL).partition(_SENTINEL)[0]
    before_text, _, tail = completion_prompt(bare, _SENTINEL).partition(_SENTINEL)
    intro = before_text[: len(before_text) - len(head)]
    around = {}
    for lab in task.labels:
        one = completion_prompt(task.model_copy(update={"few_shot": [FewShot(text=_SENTINEL, label=lab)]}),
                                _SENTINEL + _SENTINEL)
        block = one[len(intro): len(one) - len(head + 2 * _SENTINEL + tail)]
        before, _, after = block.partition(_SENTINEL)
        around[lab] = (before, after)
    return intro, head, tail, around


def parse_prompt(task: TaskConfig, prompt: str) -> ParsedPrompt | None:
    """The demonstrations and the input of a prompt rendered from ``task`` (any subset of
    examples, any texts), or None if ``prompt`` is not such a prompt.

    Each example's text is read up to the first place where an example's
    closing part (template tail, label word, separator) follows, so a text
    containing that exact closing part is read wrongly; ``PromptSegments.spans``
    checks the round trip.
    """
    intro, head, tail, around = _pieces(task)
    if not prompt.startswith(intro) or not prompt.endswith(tail) or len(prompt) < len(intro) + len(tail):
        return None
    pos, end = len(intro), len(prompt) - len(tail)
    shots, blocks, texts = [], [], []
    while True:
        best = None
        for lab, (before, after) in around.items():
            if not prompt.startswith(before, pos) or not after:
                continue
            at = prompt.find(after, pos + len(before), end)
            if at >= 0 and (best is None or at < best[1]):
                best = (lab, at)
        if best is None:
            break
        lab, at = best
        before, after = around[lab]
        shots.append(FewShot(text=prompt[pos + len(before): at], label=lab))
        texts.append((pos + len(before), at))
        blocks.append((pos, at + len(after)))
        pos = at + len(after)
    if not prompt.startswith(head, pos) or pos + len(head) > end:
        return None
    return ParsedPrompt(shots, prompt[pos + len(head): end], tuple(blocks), tuple(texts), pos)


# ----------------------------------------------------------------- a generation context (task.type: generate)

#: units of a generation context, coarse to fine (``explainer.unit`` / ``explainer.hierarchy`` of a generate task)
CONTEXT_UNITS = ("document", "sentence", "word")


@dataclass(frozen=True)
class ContextSegments(_Masked):
    """A context made of documents; units are its documents, sentences or words.

    Every level renders the same way: each document's kept words joined by
    one space (whitespace normalised), documents with nothing kept left out,
    the rest joined by ``separator``. So the unmasked context is the same at
    every level, and ``words(mask)`` maps a mask at any level to the word
    level (``proxyx.explainers.hierarchy`` refines through it).
    """

    documents: tuple[str, ...]
    unit: str = "document"
    separator: str = "\n\n"
    units: tuple[str, ...] = field(init=False)
    owner: tuple[int, ...] = field(init=False)  # the document of each unit
    ranges: tuple[tuple[int, int], ...] = field(init=False)  # the words [start, end) of each unit
    doc_of_word: tuple[int, ...] = field(init=False, repr=False)
    all_words: tuple[str, ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if self.unit not in CONTEXT_UNITS:
            raise ValueError(f"unit must be one of {CONTEXT_UNITS}, got {self.unit!r}")
        units, owner, ranges, doc_of_word, words = [], [], [], [], []
        for j, doc in enumerate(self.documents):
            pieces = (" ".join(doc.split()),) if self.unit == "document" else split_units(doc, self.unit)
            for piece in pieces:
                n = len(piece.split())
                if not n:
                    continue
                units.append(piece)
                owner.append(j)
                ranges.append((len(words), len(words) + n))
                words += piece.split()
                doc_of_word += [j] * n
        if not units:
            raise DataError("the context is empty (no words to explain); remove empty rows from the data set")
        for name, value in (("units", units), ("owner", owner), ("ranges", ranges), ("doc_of_word", doc_of_word),
                            ("all_words", words)):
            object.__setattr__(self, name, tuple(value))

    def words(self, mask) -> np.ndarray:
        """The word-level mask of a mask over this level's units."""
        out = np.zeros(len(self.all_words), dtype=bool)
        for (a, b), keep in zip(self.ranges, self._mask(mask)):
            out[a:b] = keep
        return out

    def render_words(self, word_mask) -> str:
        """The context with only the words where ``word_mask`` is True."""
        word_mask = np.asarray(word_mask, dtype=bool)
        kept: dict[int, list[str]] = {}
        for w, j, keep in zip(self.all_words, self.doc_of_word, word_mask):
            if keep:
                kept.setdefault(j, []).append(w)
        return self.separator.join(" ".join(kept[j]) for j in sorted(kept))

    def render(self, mask) -> str:
        """The context with only the units where ``mask`` is True."""
        return self.render_words(self.words(mask))
