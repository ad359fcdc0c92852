"""What a model answers about generated text: a greedy decode, or the teacher-forced scores of a given answer.

``TokenScores`` is what one teacher-forced pass gives for an answer: per answer
token its log-probability and the largest log-probability at that position
(equal when the token is the greedy choice), and at the position after the
answer the best stop token's log-probability and the largest one. From these
alone, ``is_greedy`` tells whether greedy decoding would have produced exactly
that answer, which is what decoded-output reuse needs. Decoding yields at least
one token: a stop token is never chosen first (``top`` of the first position
is the best non-stop token).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class TokenScores:
    """Teacher-forced scores of one answer under one prompt (natural logs)."""

    logprobs: tuple[float, ...]  # log p(answer token i | prompt, answer[:i])
    top: tuple[float, ...]  # largest log-probability at the position of answer token i
    stop: float | None  # best stop token's log-probability after the answer (None: not reported)
    stop_top: float | None  # largest log-probability after the answer

    @property
    def total(self) -> float:
        """Log-probability of the whole answer (stop token not included)."""
        return float(np.sum(self.logprobs))

    @property
    def mean(self) -> float:
        """Length-normalised log-probability (0.0 for an empty answer)."""
        return float(np.mean(self.logprobs)) if self.logprobs else 0.0

    def is_greedy(self, max_tokens: int) -> bool | None:
        """Would greedy decoding produce exactly this answer? (None: the backend cannot tell.)

        Every answer token must be the arg-max, and then either the answer fills
        ``max_tokens`` or a stop token is the arg-max.
        """
        if not self.logprobs:  # decoding always yields at least one token
            return False
        if self.stop_top is None or any(t is None for t in self.top):
            return None
        if any(lp < t for lp, t in zip(self.logprobs, self.top)):
            return False
        return len(self.logprobs) >= max_tokens or (self.stop is not None and self.stop >= self.stop_top)

    def encode(self) -> tuple[float, ...]:
        """Flat numbers for the call cache: n, logprobs, top, stop, stop_top (NaN = not reported)."""
        nan = float("nan")
        return (float(len(self.logprobs)), *self.logprobs, *(nan if t is None else t for t in self.top),
                nan if self.stop is None else self.stop, nan if self.stop_top is None else self.stop_top)

    @classmethod
    def decode(cls, flat: Sequence[float]) -> "TokenScores":
        n = int(flat[0])
        num = lambda x: None if x != x else float(x)  # noqa: E731 (NaN -> None)
        return cls(logprobs=tuple(float(x) for x in flat[1 : 1 + n]), top=tuple(num(x) for x in flat[1 + n : 1 + 2 * n]),
                   stop=num(flat[1 + 2 * n]), stop_top=num(flat[2 + 2 * n]))


@dataclass(frozen=True)
class Decoded:
    """One greedy answer and what it cost."""

    text: str
    logprobs: tuple[float, ...]  # of each generated token (empty when the provider gives none)
    prompt_tokens: int
    completion_tokens: int


@dataclass(frozen=True)
class Scored:
    """One teacher-forced pass and what it cost."""

    scores: TokenScores
    prompt_tokens: int
    completion_tokens: int


#: on_result(i, result) as soon as request i is answered
OnResult = Callable[[int, object], None]
