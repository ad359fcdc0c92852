"""How values look in every view: one colour scale (shap's text-plot colours) and number formats.

Red pushes towards the explained label (the oracle's), blue against it; the
intensity is |value| over the largest |value| of the same explanation.
"""

from __future__ import annotations

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


FAINT = 0.1  # below this intensity a word keeps the terminal's own colours (no pale boxes on dark themes)
TOP = 3  # units listed (and, without colour, marked) per direction
