"""The user's filters (dashboard and reports), carried to SQL only as bound parameters.

``Filters`` is immutable and hashable (usable as a cache key). An empty field means "no filter". Values are
never formatted into SQL text: ``params()`` feeds ``queries/attacks_in_scope.sql`` and
``queries/metric_settings_in_scope.sql`` through ``sql.scoped`` / ``sql.bind``. Any string is accepted for
the text and list fields; a value that exists nowhere (or is hostile) simply matches nothing.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import date, datetime, timedelta, timezone
from typing import Any

from etl.errors import UserError
from sql.search import Search, parse_search

log = logging.getLogger("redteam_risk.filters")

RED_TEAM_POOLS = {"upwork": "Upwork", "mturk": "MTurk"}
LIST_FIELDS = ("model_sizes", "model_types", "models", "themes", "cluster_ids", "categories", "attack_methods",
               "campaigns", "source_files")
NUMBER_FIELDS = ("success_threshold", "harmlessness_min", "harmlessness_max", "tail_threshold")
FLAG_FIELDS = ("needs_review",)
DATE_FIELDS = ("created_from", "created_to")  # created-at range: ISO dates (whole UTC days) or datetimes
_TRUE = ("true", "1", "yes")
_FALSE = ("false", "0", "no")
_SHOWN_VALUES = 5  # describe() lists at most this many values per field
_SHOWN_TEXT = 40  # and at most this many characters of the search text


@dataclass(frozen=True)
class Filters:
    """Which attacks count, and how success and the harmlessness tail are defined.

    model_sizes, model_types, models, themes, cluster_ids, categories (the source's own harm label),
    attack_methods, campaigns, source_files (the input file as recorded in ``attacks.source_file``): exact
    values to keep (empty = all).
    red_team_pool: "upwork" or "mturk" (None = both; any other value matches nothing).
    success_threshold: 0–4 rating at or above which an attack is a success (None = the build's own ``success``).
    harmlessness_min, harmlessness_max: inclusive range of the preference-model score (about −4…+2).
    text: a search (``sql.search``: words, "phrases", -exclusions; case-insensitive) over the task description,
    attack text, response and transcript; text without any search term is no filter (None).
    needs_review: True = only attacks whose theme is a low-confidence guess, False = only the others
    (an attack without the flag counts as not needing review), None = both.
    tail_threshold: harmlessness below this counts toward ``tail_share`` (None = the default in
    ``sql/views/metric_settings.sql``); it changes a metric, not which attacks are in scope.
    created_from, created_to: inclusive range of ``attacks.created_at`` (stored as UTC), each an ISO date
    (``2026-01-31``: the whole UTC day) or datetime (``2026-01-31T12:00``, an offset converts to UTC), kept as
    normalised text; attacks without created_at drop out when either is set.
    """

    model_sizes: tuple[str, ...] = ()
    model_types: tuple[str, ...] = ()
    models: tuple[str, ...] = ()
    themes: tuple[str, ...] = ()
    cluster_ids: tuple[int | str, ...] = ()
    categories: tuple[str, ...] = ()
    attack_methods: tuple[str, ...] = ()
    red_team_pool: str | None = None
    success_threshold: float | None = None
    harmlessness_min: float | None = None
    harmlessness_max: float | None = None
    text: str | None = None
    tail_threshold: float | None = None
    needs_review: bool | None = None
    campaigns: tuple[str, ...] = ()
    source_files: tuple[str, ...] = ()
    created_from: str | None = None
    created_to: str | None = None

    def __post_init__(self) -> None:
        for name in LIST_FIELDS:
            values = _as_tuple(getattr(self, name))
            values = tuple(_cluster_id(v) for v in values) if name == "cluster_ids" else tuple(str(v) for v in values)
            object.__setattr__(self, name, tuple(dict.fromkeys(values)))  # drop repeats, keep order
        for name in NUMBER_FIELDS:
            object.__setattr__(self, name, _number(name, getattr(self, name)))
        pool = self.red_team_pool
        object.__setattr__(self, "red_team_pool", (str(pool).strip().lower() or None) if pool is not None else None)
        text = self.text
        text = str(text).strip() if text is not None else ""
        object.__setattr__(self, "text", None if parse_search(text).is_empty else text)
        object.__setattr__(self, "needs_review", _flag("needs_review", self.needs_review))
        for name in DATE_FIELDS:
            object.__setattr__(self, name, _moment(name, getattr(self, name)))
        if self.created_from is not None and self.created_to is not None and (
                _bounds(self.created_from)[0] >= _bounds(self.created_to)[1]):
            raise UserError(f"filter created_from ({self.created_from}) is after created_to ({self.created_to})")

    @property
    def is_active(self) -> bool:
        """True when any field differs from "no filter"."""
        return self != Filters()

    @property
    def search(self) -> Search:
        """The parsed ``text``: the terms every attack in scope contains or lacks."""
        return parse_search(self.text)

    def params(self) -> dict[str, Any]:
        """Named parameters for ``sql.bind``: lists as lists of strings, None where there is no filter."""
        out: dict[str, Any] = {name: ([str(v) for v in getattr(self, name)] or None) for name in LIST_FIELDS}
        out.update({name: getattr(self, name) for name in NUMBER_FIELDS})
        out["red_team_pool"] = self.red_team_pool
        out.update(self.search.params())  # text_all, text_none
        out["needs_review"] = self.needs_review
        out["created_from"] = None if self.created_from is None else _bounds(self.created_from)[0]
        out["created_before"] = None if self.created_to is None else _bounds(self.created_to)[1]
        return out

    def describe(
        self,
        theme_names: Mapping[str, str] | None = None,
        cluster_names: Mapping[int, str] | None = None,
    ) -> str:
        """The active filters as one line of text for captions and reports, e.g.
        ``Model sizes: 13B, 52B; red team: Upwork; success = rating ≥ 2``; ``All attacks`` when none is set.

        ``theme_names`` / ``cluster_names`` map ids to display names where known.
        """
        theme_names = theme_names or {}
        cluster_names = cluster_names or {}
        parts = []
        if self.model_sizes:
            parts.append(f"model sizes: {_listed(self.model_sizes)}")
        if self.model_types:
            parts.append(f"model types: {_listed(self.model_types)}")
        if self.models:
            parts.append(f"models: {_listed(self.models)}")
        if self.themes:
            parts.append(f"themes: {_listed(theme_names.get(t, t) for t in self.themes)}")
        if self.cluster_ids:
            parts.append(f"clusters: {_listed(cluster_names.get(c, str(c)) for c in self.cluster_ids)}")
        if self.categories:
            parts.append(f"source categories: {_listed(self.categories)}")
        if self.attack_methods:
            parts.append(f"attack methods: {_listed(self.attack_methods)}")
        if self.campaigns:
            parts.append(f"campaigns: {_listed(self.campaigns)}")
        if self.source_files:
            parts.append(f"source files: {_listed(self.source_files)}")
        if self.needs_review is not None:
            parts.append("only low-confidence themes (needs review)" if self.needs_review
                         else "only confident themes (no review needed)")
        if self.red_team_pool is not None:
            parts.append(f"red team: {RED_TEAM_POOLS.get(self.red_team_pool, _short(self.red_team_pool))}")
        if self.success_threshold is not None:
            parts.append(f"success = rating ≥ {_num(self.success_threshold)}")
        low, high = self.harmlessness_min, self.harmlessness_max
        if low is not None and high is not None:
            parts.append(f"harmlessness {_num(low)} to {_num(high)}")
        elif low is not None:
            parts.append(f"harmlessness ≥ {_num(low)}")
        elif high is not None:
            parts.append(f"harmlessness ≤ {_num(high)}")
        if self.text is not None:
            parts.append(f"search “{_short(self.text)}”")
        if self.tail_threshold is not None:
            parts.append(f"tail = harmlessness < {_num(self.tail_threshold)}")
        if self.created_from is not None or self.created_to is not None:
            parts.append(_created_range(self.created_from, self.created_to))
        if not parts:
            return "All attacks"
        line = "; ".join(parts)
        return line[0].upper() + line[1:]

    def to_query(self) -> dict[str, str | list[str]]:
        """URL query parameters of the active filters: lists for the list fields (repeat the key), strings
        for the others. ``Filters.from_query(f.to_query()) == f``."""
        out: dict[str, str | list[str]] = {}
        for name in LIST_FIELDS:
            if getattr(self, name):
                out[name] = [str(v) for v in getattr(self, name)]
        for name in (*NUMBER_FIELDS, "red_team_pool", "text"):
            value = getattr(self, name)
            if value is not None:
                out[name] = repr(value) if isinstance(value, float) else str(value)
        for name in FLAG_FIELDS:
            if getattr(self, name) is not None:
                out[name] = "true" if getattr(self, name) else "false"
        for name in DATE_FIELDS:
            if getattr(self, name) is not None:
                out[name] = getattr(self, name)
        return out

    @classmethod
    def from_query(cls, query: Mapping[str, str | Sequence[str]]) -> Filters:
        """Filters from URL query parameters (``to_query``'s format; a single string is accepted for a list
        field). Unknown keys and numbers that do not parse are ignored (logged), never an error."""
        known = {f.name for f in fields(cls)}
        kwargs: dict[str, Any] = {}
        for key, raw in query.items():
            if key not in known:
                continue
            values = [raw] if isinstance(raw, str) else [str(v) for v in raw]
            if key in LIST_FIELDS:
                kwargs[key] = tuple(values)
            elif not values:
                continue
            elif key in NUMBER_FIELDS:
                try:
                    kwargs[key] = _number(key, values[-1])
                except UserError as exc:
                    log.warning("filters: ignoring %s from the URL: %s", key, exc)
            elif key in FLAG_FIELDS:
                try:
                    kwargs[key] = _flag(key, values[-1])
                except UserError as exc:
                    log.warning("filters: ignoring %s from the URL: %s", key, exc)
            elif key in DATE_FIELDS:
                try:
                    kwargs[key] = _moment(key, values[-1])
                except UserError as exc:
                    log.warning("filters: ignoring %s from the URL: %s", key, exc)
            else:
                kwargs[key] = values[-1]
        try:
            return cls(**kwargs)
        except UserError as exc:  # e.g. a date range whose start is after its end
            log.warning("filters: ignoring the created-at range from the URL: %s", exc)
            return cls(**{**kwargs, "created_from": None, "created_to": None})


def _as_tuple(value: Any) -> tuple:
    if value is None:
        return ()
    if isinstance(value, (str, bytes, int, float)):
        return (value,)
    return tuple(v for v in value if v is not None)


def _cluster_id(value: Any) -> int | str:
    """An int where the value is one; any other text is kept (it matches no cluster)."""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return value
    text = str(value).strip()
    try:
        return int(text)
    except ValueError:
        return text


def _number(name: str, value: Any) -> float | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise UserError(f"filter {name} must be a number, not {_short(str(value))!r}") from None
    if not math.isfinite(number):
        raise UserError(f"filter {name} must be a finite number, not {value!r}")
    return number


def _flag(name: str, value: Any) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if not text:
        return None
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise UserError(f"filter {name} must be true or false, not {_short(str(value))!r}")


def _moment(name: str, value: Any) -> str | None:
    """A created-at bound as normalised ISO text: ``YYYY-MM-DD`` for a day, ``YYYY-MM-DDTHH:MM:SS[.ffffff]``
    (naive UTC) for a moment; None for no bound. Raises UserError naming the field for anything else."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        return value.isoformat()
    else:
        text = str(value).strip()
        try:
            if len(text) == 10:
                return date.fromisoformat(text).isoformat()
            moment = datetime.fromisoformat(text[:-1] + "+00:00" if text[-1:] in "zZ" else text)
        except ValueError:
            raise UserError(f"filter {name} must be an ISO date or datetime (e.g. 2026-01-31 or "
                            f"2026-01-31T12:00:00Z), not {_short(text)!r}") from None
    if moment.tzinfo is not None:
        moment = moment.astimezone(timezone.utc).replace(tzinfo=None)
    return moment.isoformat()


def _bounds(bound: str) -> tuple[datetime, datetime]:
    """The first moment a normalised bound covers and the first one after it (a day covers all of it)."""
    if len(bound) == 10:
        day = datetime.fromisoformat(bound)
        return day, day + timedelta(days=1)
    moment = datetime.fromisoformat(bound)
    return moment, moment + timedelta(microseconds=1)


def _created_range(low: str | None, high: str | None) -> str:
    show = {b: b.replace("T", " ") + ("" if b is None or len(b) == 10 else " UTC") for b in (low, high) if b}
    if low is not None and high is not None:
        return f"created {show[low]} to {show[high]}"
    if low is not None:
        return f"created on or after {show[low]}"
    return f"created on or before {show[high]}"


def _short(text: str) -> str:
    return text if len(text) <= _SHOWN_TEXT else text[: _SHOWN_TEXT - 1] + "…"


def _listed(values: Iterable[str]) -> str:
    values = [_short(str(v)) for v in values]
    shown = ", ".join(values[:_SHOWN_VALUES])
    return shown if len(values) <= _SHOWN_VALUES else f"{shown} and {len(values) - _SHOWN_VALUES} more"


def _num(value: float) -> str:
    return f"{value:g}"
