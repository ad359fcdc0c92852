"""How values look in every view: one colour scale (shap's text-plot colours), number formats, safe text.

Red pushes towards the explained label (the oracle's), blue against it; the
intensity is |value| over the largest |value| of the same explanation.
Text from data (ids, texts, labels) reaches the terminal through
``printable``, so a data file cannot send escape sequences to it, and an
HTML page through ``esc``.
"""

from __future__ import annotations

import re
from html import escape

#: C0 and C1 control characters, DEL, and the bidirectional overrides that reorder what a terminal shows
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_CONTROL_BUT_LINES = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def _escape(match: re.Match) -> str:
    c = ord(match.group())
    return {9: "\\t", 10: "\\n", 13: "\\r"}.get(c) or (f"\\x{c:02x}" if c < 0x100 else f"\\u{c:04x}")


def printable(text: object, *, lines: bool = False) -> str:
    """``text`` with every control character written out (``\\x1b``, ``\\n``, ``\\u202e``), safe to print;
    ``lines``: keep newlines and tabs (a long text, a log record)."""
    return (_CONTROL_BUT_LINES if lines else _CONTROL).sub(_escape, str(text))


def esc(x: object) -> str:
    """``x`` as HTML text (quotes escaped too: safe in an attribute)."""
    return escape(str(x), quote=True)


TOWARDS = (255, 0, 81)
AGAINST = (0, 138, 250)
WHITE = (255, 255, 255)
DARK_TEXT_BELOW = 0.6  # shades at or above this intensity carry white text


def shade(value: float, scale: float) -> float:
    """The signed intensity in [-1, 1]."""
    if scale <= 0:
        return 0.0
    return max(-1.0, min(1.0, value / scale))


def rgb(w: float) -> tuple[int, int, int]:
    """White blended towards red (w > 0) or blue (w < 0) by |w|."""
    end = TOWARDS if w >= 0 else AGAINST
    a = min(abs(w), 1.0)
    return tuple(round(c0 + (c1 - c0) * a) for c0, c1 in zip(WHITE, end))


def hex_color(w: float) -> str:
    return "#{:02x}{:02x}{:02x}".format(*rgb(w))


def text_color(w: float) -> str:
    return "#ffffff" if abs(w) >= DARK_TEXT_BELOW else "#111111"


def signed(value: float) -> str:
    """A value as a person reads it: sign always shown, 3 significant digits."""
    if value == 0:
        return "0"
    return f"{value:+.3g}" if abs(value) >= 1e-3 else f"{value:+.1e}"


#: a unit's value is uncertain when its 90% interval, value +- Z90 standard errors, crosses zero
Z90 = 1.6449

FAINT = 0.1  # below this intensity a word keeps the terminal's own colours (no pale boxes on dark themes)
TOP = 3  # units listed (and, without colour, marked) per direction
