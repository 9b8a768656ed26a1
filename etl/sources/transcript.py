"""Split an Anthropic-style transcript ("\\n\\nHuman: …\\n\\nAssistant: …") into turns.

Rules:
- A turn starts at ``Human:`` or ``Assistant:`` that is at the very start of the text (after optional
  whitespace) or right after a blank line (``\\n\\n``, ``\\r\\n\\r\\n`` also accepted). ``Human:`` anywhere else,
  e.g. mid-line inside an assistant reply ("…the law.  Human: That sounds perfect!"), is part of the text.
- Turn text is stripped of surrounding whitespace; an empty turn (a trailing ``\\n\\nAssistant:``) is kept
  with text ``""`` so turn indexes match the markers.
- Text before the first marker, if not blank, is a ``human`` turn: a transcript without any marker is
  taken as one bare human prompt.
"""

from __future__ import annotations

import re

HUMAN = "human"
ASSISTANT = "assistant"

# A literal prefix lets the regex engine jump between candidate positions (10x faster than an alternation).
_MARKER = re.compile(r"\n\n(Human|Assistant):")
_SPEAKER = {"Human": HUMAN, "Assistant": ASSISTANT}
_LEADING = ("Human:", "Assistant:")


def parse_turns(transcript: str) -> list[tuple[str, str]]:
    """Return the turns of ``transcript`` as ``(speaker, text)`` with speaker ``"human"`` or ``"assistant"``."""
    if "\r" in transcript:
        transcript = transcript.replace("\r\n", "\n")
    if not transcript.startswith("\n\n"):
        head = transcript.lstrip()
        if head.startswith(_LEADING):
            transcript = "\n\n" + head
    parts = _MARKER.split(transcript)
    turns: list[tuple[str, str]] = []
    preamble = parts[0].strip()
    if preamble:
        turns.append((HUMAN, preamble))
    for i in range(1, len(parts), 2):
        turns.append((_SPEAKER[parts[i]], parts[i + 1].strip()))
    return turns


def count_human_turns(turns: list[tuple[str, str]]) -> int:
    """Number of human turns (the ``n_turns`` of an attack)."""
    return sum(1 for speaker, _ in turns if speaker == HUMAN)


def first_human_turn(turns: list[tuple[str, str]]) -> str | None:
    """Text of the first non-empty human turn (the attacker's opening message), or None."""
    for speaker, text in turns:
        if speaker == HUMAN and text:
            return text
    return None
