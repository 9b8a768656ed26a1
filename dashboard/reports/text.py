"""Turning data text and numbers into what a reader sees: masking, truncation, bidi safety, number formats.

Data text (attack descriptions, cluster labels, theme names from a user taxonomy) is hostile until shown
otherwise. These helpers make it safe to *read*; escaping for a markup language (HTML, Markdown) is done
by the renderer on top of them.
"""

from __future__ import annotations

import math
import re

from dashboard.safety import mask_pii

# Explicit bidi embeddings/overrides/isolates and directional marks: shown as a visible code so a
# right-to-left override cannot reorder the text around it (or spoof a file name) in the report.
BIDI_CONTROLS = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
# Other invisible format/control characters (except tab/newline), shown the same way.
CONTROL = re.compile("[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f\u200b\ufeff]")


def visible_controls(text: str) -> str:
    """``text`` with bidi controls and invisible control characters replaced by a visible ``⟨U+XXXX⟩``."""
    def code(match: re.Match[str]) -> str:
        return f"⟨U+{ord(match.group(0)):04X}⟩"

    return CONTROL.sub(code, BIDI_CONTROLS.sub(code, text))


def truncate(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters (an ellipsis marks a cut)."""
    return text if len(text) <= limit else text[: max(limit - 1, 0)].rstrip() + "…"


def readable(value: object, limit: int | None = None, *, mask: bool = False) -> str:
    """Data text as a reader should see it: str, controls made visible, optionally contacts masked and cut."""
    if value is None:
        return ""
    text = visible_controls(str(value))
    if mask:
        text = mask_pii(text)
    if limit is not None:
        text = truncate(text, limit)
    return text


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def fmt_int(value: object) -> str:
    """A count with thousands separators (``12,345``); ``–`` when missing."""
    return "–" if _missing(value) else f"{int(value):,}"  # type: ignore[arg-type]


def fmt_pct(value: object, digits: int = 1) -> str:
    """A 0–1 fraction as a percentage (``0.4567`` → ``45.7 %``, a no-break space before ``%``); ``–`` when
    missing."""
    return "–" if _missing(value) else f"{float(value) * 100:.{digits}f}\u00a0%"  # type: ignore[arg-type]


def fmt_num(value: object, digits: int = 2) -> str:
    """A number with ``digits`` decimals (``–`` when missing); negative zero is shown as 0."""
    if _missing(value):
        return "–"
    text = f"{float(value):.{digits}f}"  # type: ignore[arg-type]
    return text[1:] if text.startswith("-") and float(text) == 0 else text


def fmt_ci(low: object, high: object, kind: str = "num", digits: int | None = None) -> str:
    """A 95 % interval as ``[low, high]`` in the unit of ``kind`` (``pct`` | ``num``); ``–`` when missing."""
    if _missing(low) or _missing(high):
        return "–"
    if kind == "pct":
        d = 1 if digits is None else digits
        return f"[{float(low) * 100:.{d}f}, {float(high) * 100:.{d}f}]\u00a0%"  # type: ignore[arg-type]
    return f"[{fmt_num(low, 2 if digits is None else digits)}, {fmt_num(high, 2 if digits is None else digits)}]"


FORMATTERS = {"int": fmt_int, "pct": fmt_pct, "num": fmt_num, "text": readable}


def fmt(value: object, kind: str) -> str:
    """Format ``value`` as ``kind`` (``int`` | ``pct`` | ``num`` | ``num1`` | ``num3`` | ``text``)."""
    if kind.startswith("num") and kind[3:].isdigit():
        return fmt_num(value, int(kind[3:]))
    return FORMATTERS[kind](value)
