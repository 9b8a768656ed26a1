"""The search syntax of the text filter (``Filters.text``), parsed into lists that SQL receives as bound
parameters (``$text_all`` / ``$text_none`` of ``queries/attacks_in_scope.sql``), never as SQL text.

What a search matches: the attack's task description, attack text, response and transcript, lowercased,
whitespace runs folded to one space (``attack_search.search_text``, built once at publish from
``queries/attack_search.sql``). Syntax, case-insensitive, no wildcards (``%``, ``_``, ``*`` are ordinary
characters)::

    moon landing          both words, anywhere (in any of the fields, in any order)
    "moon landing"        the phrase: these words in this order, separated by any whitespace
    moon -vaccine         moon, and not vaccine
    moon -"fake news"     moon, and not the phrase
    e-mail                a hyphen inside a word is part of it; only a leading "-" excludes

Forgiving by design (a search never fails, whatever is typed or put in a URL):

- a quote that is never closed runs to the end of the text (``"moon land`` = the phrase ``moon land``);
- empty terms are ignored: a lone ``-``, ``""``, ``-""``, and whitespace;
- a term repeated (in any case) counts once; a term both required and excluded matches nothing, as asked;
- at most ``MAX_TERMS`` terms are used, the rest ignored (``Search.dropped`` says how many);
- any other character, including quotes inside a word, SQL and control characters, is searched for literally.
"""

from __future__ import annotations

from dataclasses import dataclass

MAX_TERMS = 32  # terms beyond this are ignored (each costs one pass over the searched text)


@dataclass(frozen=True)
class Search:
    """A parsed search: every ``include`` term must occur, no ``exclude`` term may (lowercased terms)."""

    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    dropped: int = 0  # terms ignored beyond MAX_TERMS

    @property
    def is_empty(self) -> bool:
        """True when the search selects every attack (no term at all)."""
        return not self.include and not self.exclude

    def params(self) -> dict[str, list[str] | None]:
        """``text_all`` / ``text_none`` for ``queries/attacks_in_scope.sql`` (None = no condition). The longest
        include term comes first: SQL tests it alone before the others, and a long term is usually a rare one."""
        include = sorted(self.include, key=len, reverse=True)  # stable: equal lengths keep the typed order
        return {"text_all": include or None, "text_none": list(self.exclude) or None}


def parse_search(text: str | None) -> Search:
    """The terms of search ``text`` (module docstring); an empty ``Search`` for None or blank text."""
    include: dict[str, None] = {}
    exclude: dict[str, None] = {}
    dropped = 0
    for negated, term in _tokens(text or ""):
        term = " ".join(term.split()).lower()
        if not term:
            continue
        target = exclude if negated else include
        if term in target:
            continue
        if len(include) + len(exclude) >= MAX_TERMS:
            dropped += 1
            continue
        target[term] = None
    return Search(tuple(include), tuple(exclude), dropped)


def _tokens(text: str):
    """(negated, raw term) pairs in order: words split on whitespace, "phrases" between double quotes."""
    i, n = 0, len(text)
    while i < n:
        if text[i].isspace():
            i += 1
            continue
        negated = text[i] == "-"
        start = i + 1 if negated else i
        if start < n and text[start] == '"':
            end = text.find('"', start + 1)
            end = n if end < 0 else end
            yield negated, text[start + 1:end]
            i = end + 1
            continue
        end = start
        while end < n and not text[end].isspace():
            end += 1
        yield negated, text[start:end]
        i = end
