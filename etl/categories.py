"""Source categories → themes: the shipped vocabulary maps plus the user's ``--category-map`` file.

A map file (TOML) maps a source's own harm label to a LIST of theme ids of the taxonomy::

    version = 1              # optional; only 1 exists
    [categories]
    "chemical_biological" = ["weapons_cbrn"]                 # one id: the category decides the theme
    "illegal" = ["theft", "fraud_deception", "weapons_cbrn"]  # several: the category narrows the theme

Labels are matched case-insensitively with whitespace normalised ("Physical  harm" = "physical harm").
Shipped maps live in ``etl/taxonomy/category_maps/<vocabulary>.toml`` (HarmBench, JailbreakBench, StrongREJECT,
promptfoo plugin ids, garak probe tags, MLCommons AILuminate hazards, Llama Guard S1–S14), each with its
provenance in a header comment. A label two shipped maps both define gets the union of their ids (in file
order). The user's file wins over every shipped map for the labels it lists; mapping a label to ``[]`` unmaps
it. Labels absent from every map are "unmapped": the theme is left to the model and the label is counted.
"""

from __future__ import annotations

import importlib.resources
import re
import tomllib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from etl.errors import UserError, read_user_text

SHIPPED_DIR = "taxonomy/category_maps"
_ID = re.compile(r"^[a-z0-9_]+$")


def normalise(label: str) -> str:
    """The matching key of a category label: case-folded, whitespace runs collapsed to one space, stripped."""
    return " ".join(label.split()).casefold()


@dataclass(frozen=True)
class CategoryMaps:
    """{normalised label: theme ids}; ``sources`` names the files each label's ids came from."""

    themes: dict[str, tuple[str, ...]] = field(default_factory=dict)
    sources: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def lookup(self, category: str | None) -> tuple[str, ...] | None:
        """The theme ids of ``category`` (None when it is null or unmapped; ``()`` when unmapped by the user)."""
        if category is None:
            return None
        return self.themes.get(normalise(category))

    def allowed_themes(self, categories: Sequence[str | None], theme_ids: Sequence[str]
                       ) -> tuple[list[tuple[str, ...] | None], dict[str, int]]:
        """For each row, the theme ids its category allows, and the counts of unmapped non-null categories.

        Ids are restricted to ``theme_ids`` (the taxonomy in use). A row gets None when its category is null,
        unmapped, or maps only to ids the taxonomy lacks (then it is counted as unmapped too). Counts are
        keyed by the label as the source wrote it.
        """
        known = set(theme_ids)
        cache: dict[str, tuple[str, ...] | None] = {}
        unmapped: Counter[str] = Counter()
        out: list[tuple[str, ...] | None] = []
        for category in categories:
            if category is None:
                out.append(None)
                continue
            if category not in cache:
                ids = self.lookup(category)
                kept = tuple(t for t in ids if t in known) if ids else ()
                cache[category] = kept or None
            allowed = cache[category]
            if allowed is None:
                unmapped[category] += 1
            out.append(allowed)
        return out, dict(unmapped.most_common())


def load_category_maps(user_map: Path | None = None) -> CategoryMaps:
    """The shipped maps merged, then ``user_map`` (a TOML file as above) on top; UserError for a bad user file."""
    themes: dict[str, list[str]] = {}
    sources: dict[str, list[str]] = {}
    root = importlib.resources.files("etl").joinpath(SHIPPED_DIR)
    for entry in sorted(root.iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".toml"):
            continue
        label = f"shipped category map {entry.name}"
        for key, ids in _parse(entry.read_text(encoding="utf-8"), label).items():
            merged = themes.setdefault(key, [])
            merged += [t for t in ids if t not in merged]
            sources.setdefault(key, []).append(entry.name)
    if user_map is not None:
        path = Path(user_map)
        label = f"category map file {path}"
        text = read_user_text(path, label)
        for key, ids in _parse(text, label).items():
            themes[key] = list(ids)
            sources[key] = [str(path)]
    return CategoryMaps({k: tuple(v) for k, v in themes.items()}, {k: tuple(v) for k, v in sources.items()})


def _parse(text: str, label: str) -> dict[str, list[str]]:
    """{normalised label: theme ids} of one map file; UserError naming the file and line for any problem."""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise UserError(f"The {label} is not valid TOML: {exc}.") from None
    lines = text.splitlines()

    def where(key: str) -> str:
        for i, line in enumerate(lines):
            stripped = line.strip()
            if stripped.startswith((f'"{key}"', f"'{key}'", f"{key} ", f"{key}=")):
                return f", line {i + 1}"
        return ""

    unknown = sorted(set(doc) - {"version", "categories"})
    if unknown:
        raise UserError(f"The {label}{where(unknown[0])} has an unknown key '{unknown[0]}'; "
                        "allowed top-level keys are: version, categories.")
    if doc.get("version", 1) != 1:
        raise UserError(f"The {label}{where('version')} has version = {doc['version']!r}; only version 1 is supported.")
    table = doc.get("categories")
    if not isinstance(table, dict):
        raise UserError(f"The {label} has no [categories] table; write one line per category, e.g. "
                        '"Physical harm" = ["violence_incitement"] (see docs/taxonomy.md).')
    out: dict[str, list[str]] = {}
    first_line: dict[str, str] = {}
    for raw_key, value in table.items():
        at = where(raw_key)
        ids = _ids(value)
        if ids is None:
            raise UserError(f"The {label}{at}: category {raw_key!r} must map to a list of theme ids, "
                            f"e.g. [\"theft\"], got {_describe(value)}.")
        bad = [t for t in ids if not _ID.match(t)]
        if bad:
            raise UserError(f"The {label}{at}: category {raw_key!r} lists {bad[0]!r}, which is not a theme id "
                            "(lower-case letters, digits and underscores).")
        key = normalise(raw_key)
        if not key:
            raise UserError(f"The {label}{at}: an empty category label.")
        if key in out:
            raise UserError(f"The {label}{at}: category {raw_key!r} repeats {first_line[key]!r} "
                            "(labels match case-insensitively, whitespace normalised).")
        first_line[key] = raw_key
        out[key] = ids
    return out


def _ids(value: Any) -> list[str] | None:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return list(dict.fromkeys(value))
    return None


def _describe(value: Any) -> str:
    return f"{type(value).__name__} {value!r}"[:80]
