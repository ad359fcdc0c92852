"""The perturbation space: units of a text, and masks -> texts.

Explainers only see masks (boolean rows, True = keep the unit) and numbers;
``Segments`` owns how a mask becomes a text and how attributions map back.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from .errors import DataError

_WORD = re.compile(r"\S+")


@dataclass(frozen=True)
class Segments:
    """A text split into units (words); masked texts keep units in order, joined by one space."""

    text: str
    unit: str = "word"
    units: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        if self.unit != "word":
            raise ValueError(f"unit must be 'word', got {self.unit!r}")
        units = tuple(_WORD.findall(self.text))
        if not units:
            raise DataError("the text is empty (no words to explain); remove empty rows from the data set")
        object.__setattr__(self, "units", units)

    def __len__(self) -> int:
        return len(self.units)

    @property
    def full(self) -> str:
        """The text as the models see it unmasked (whitespace normalised)."""
        return " ".join(self.units)

    def render(self, mask) -> str:
        """The text with only the units where ``mask`` is True."""
        mask = np.asarray(mask, dtype=bool)
        if mask.shape != (len(self.units),):
            raise ValueError(f"mask has shape {mask.shape}, expected ({len(self.units)},)")
        return " ".join(u for u, keep in zip(self.units, mask) if keep)

    def render_many(self, masks) -> list[str]:
        return [self.render(m) for m in np.asarray(masks, dtype=bool)]

    def without_top(self, attributions, k: int) -> str:
        """The text with its ``k`` highest-attributed units deleted (ties: earlier unit first)."""
        order = np.argsort(-np.asarray(attributions, dtype=float), kind="stable")
        mask = np.ones(len(self.units), dtype=bool)
        mask[order[:k]] = False
        return self.render(mask)
