"""The request, not the wrapper: which text an attack's theme is read from.

Jailbreaks wrap a harmful request in a template (role play, "developer mode", persuasion, optimised suffixes). A
sentence embedding is a mean over all tokens, so a long wrapper drowns the request. This stage picks, per attack:

- ``task_description`` when the input has it (the stated intent): alone when the attack text is long (more than
  ``LONG_WORDS`` words, where a wrapper would drown it) or empty, else together with the attack text (a short attack
  often names what its intent leaves general: the intent alone cost the 4,000-row demo 3.4 points, docs/taxonomy.md);
- otherwise the attack text with its **template** removed: word 8-grams shared by many long attacks of the same
  run (at least ``MIN_SHARED_ROWS`` and ``MIN_SHARED_SHARE`` of them) are wrapper, not request;
- and, for an attack without an intent whose text has more than ``CHUNK_WORDS`` words and at least two sentences,
  its sentence **chunks**, so that the assigner can keep the chunk with the strongest harm signal
  (``etl.themes.assign_themes``'s ``chunks``): a role-play opener or a persuasion plea is a sentence of its own and
  no longer dilutes the request.

Attacks of at most ``LONG_WORDS`` words keep their text (with their intent before it, if any; chunks are added only
to attacks without an intent). Inputs and outputs: lists of texts.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

LONG_WORDS = 40  # above this many words an attack text may carry a template shared with other attacks
CHUNK_WORDS = 16  # above this many words (and with two sentences or more) an attack's sentences are scored too
SHINGLE_WORDS = 8
MIN_SHARED_ROWS = 5
MIN_SHARED_SHARE = 0.02
MAX_CHUNKS = 24  # chunks scored per attack (the first ones; requests rarely come after 24 sentences)
_SENTENCE = re.compile(r"(?<=[.!?:])\s+|\n+")
_WORD = re.compile(r"\S+")


@dataclass(frozen=True)
class ThemeTexts:
    """``texts[i]``: what attack i's theme is read from; ``how[i]``: "task_description" (the intent alone),
    "task_description+attack_text" (the intent, a newline, the short attack text), "request" (template removed) or
    "attack_text"; ``chunks``: (row, text) pairs of the sentence chunks of texts over ``CHUNK_WORDS`` words of
    attacks without an intent, scored besides the whole text."""

    texts: list[str]
    how: list[str]
    chunks: list[tuple[int, str]]


def theme_texts(attack_texts: list[str | None], task_descriptions: list[str | None]) -> ThemeTexts:
    attacks = [a or "" for a in attack_texts]
    tasks = [(t or "").strip() for t in task_descriptions]
    long_rows = [i for i, (a, t) in enumerate(zip(attacks, tasks, strict=True))
                 if not t and _n_words(a) > LONG_WORDS]
    stripped = strip_templates([attacks[i] for i in long_rows])
    texts, how = list(attacks), ["attack_text"] * len(attacks)
    for i, (a, t) in enumerate(zip(attacks, tasks, strict=True)):
        if t:
            alone = _n_words(a) > LONG_WORDS or not a.strip()
            texts[i] = t if alone else f"{t}\n{a.strip()}"
            how[i] = "task_description" if alone else "task_description+attack_text"
    for i, s in zip(long_rows, stripped, strict=True):
        if s != attacks[i]:
            texts[i], how[i] = s, "request"
    chunks: list[tuple[int, str]] = []
    for i, (text, t) in enumerate(zip(texts, tasks, strict=True)):
        if not t and _n_words(text) > CHUNK_WORDS:
            pieces = sentence_chunks(text)
            if len(pieces) > 1:
                chunks.extend((i, c) for c in pieces[:MAX_CHUNKS])
    return ThemeTexts(texts, how, chunks)


def strip_templates(texts: list[str]) -> list[str]:
    """``texts`` with the words covered by template shingles removed: word ``SHINGLE_WORDS``-grams (compared
    lower-cased) that occur in at least ``MIN_SHARED_ROWS`` and ``MIN_SHARED_SHARE`` of ``texts``. A text that
    would be left with fewer than 3 words is kept whole."""
    if not texts:
        return []
    words = [_WORD.findall(t) for t in texts]
    keys = [[w.lower() for w in ws] for ws in words]
    df: Counter[tuple[str, ...]] = Counter()
    for ks in keys:
        df.update({tuple(ks[j:j + SHINGLE_WORDS]) for j in range(len(ks) - SHINGLE_WORDS + 1)})
    need = max(MIN_SHARED_ROWS, MIN_SHARED_SHARE * len(texts))
    shared = {g for g, c in df.items() if c >= need}
    if not shared:
        return list(texts)
    out = []
    for t, ws, ks in zip(texts, words, keys, strict=True):
        covered = [False] * len(ws)
        for j in range(len(ks) - SHINGLE_WORDS + 1):
            if tuple(ks[j:j + SHINGLE_WORDS]) in shared:
                covered[j:j + SHINGLE_WORDS] = [True] * SHINGLE_WORDS
        kept = [w for w, c in zip(ws, covered, strict=True) if not c]
        out.append(" ".join(kept) if len(kept) >= 3 else t)
    return out


def sentence_chunks(text: str, min_words: int = 4) -> list[str]:
    """Sentences of ``text``, a sentence under ``min_words`` words joined to the next one."""
    out: list[str] = []
    pending = ""
    for piece in _SENTENCE.split(text):
        piece = piece.strip()
        if not piece:
            continue
        pending = f"{pending} {piece}".strip()
        if _n_words(pending) >= min_words:
            out.append(pending)
            pending = ""
    if pending:
        if out:
            out[-1] = f"{out[-1]} {pending}"
        else:
            out.append(pending)
    return out


def _n_words(text: str) -> int:
    return len(text.split())
