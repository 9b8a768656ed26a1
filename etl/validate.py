"""Validate one input record and normalise it into the canonical attack columns (``etl.schema.ATTACK_COLUMNS``).

Every reader in ``etl.sources`` maps a record to ``{canonical field: raw value}`` and calls
:func:`validate_record`; it either returns a :class:`ValidRecord` or raises :class:`Invalid` whose message is
the rejection reason shown to the user. The rules, in one place:

- ``attack_text`` is required (non-blank); when absent it is the first human turn of ``transcript``.
- Text fields accept text; integers and finite floats become text ("3", "2.5"); a float NaN (pandas' marker
  for a missing value) is missing; lists, objects, booleans and infinities are rejected. Text is stripped,
  except ``transcript``. Empty text is missing. NUL characters are removed. Lone UTF-16 surrogates (from
  ``"\\ud800"`` escapes) become U+FFFD. A text field longer than :data:`MAX_TEXT_CHARS` rejects the record:
  such a field is nearly always a broken export (an unbalanced CSV quote that swallowed the rows after it).
- Numbers accept numbers and numeric text (``"3"`` → 3.0); NaN and ±Infinity are rejected, as are booleans,
  lists and objects. ``rating`` must lie within 0–4.
- Booleans (``success``, ``is_upworker``) accept true/false, 1/0, yes/no, y/n, t/f (text case-insensitive).
- ``success`` given by the input wins; otherwise it is ``rating >= success_threshold`` (null without a rating).
- ``tags``: a list of scalars, or text split on ``,`` ``;`` ``|`` (text that is a JSON list is parsed).
- ``category`` (the source's own harm label) is text kept verbatim, only stripped.
- ``created_at``: ISO 8601 text, a datetime, or Unix seconds (milliseconds when above 1e11); stored as UTC
  without zone.
- ``model_size`` is kept as given ("52B"), ``model_size_b`` parsed from it (billions; M and K and T suffixes are
  scaled; a bare number is billions, or a parameter count when ≥ 1e5). Without ``model_size`` a size like
  ``13b``/``2.7B`` is parsed out of ``model``. Without ``model`` it is ``"<model_type> <model_size>"``.
- Turns come from ``transcript`` (see ``etl.sources.transcript``); without a transcript the record's turns are
  its ``attack_text`` and, if given, its ``response``; ``n_turns`` counts human turns.

:func:`attack_key` hashes the dataset identity and the canonical content (never the file name or row, nor the
derived ``success``) so ids are stable across reruns, appended files and success thresholds.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from etl.domain import DEFAULT_SUCCESS_THRESHOLD
from etl.sources import transcript as tx

CANONICAL_FIELDS: tuple[str, ...] = (
    "attack_text",
    "task_description",
    "task_description_harmlessness",
    "transcript",
    "response",
    "model",
    "model_type",
    "model_size",
    "rating",
    "success",
    "harmlessness",
    "red_team_member_id",
    "is_upworker",
    "tags",
    "attack_method",
    "campaign",
    "category",
    "created_at",
)

RATING_MIN = 0.0
RATING_MAX = 4.0
MAX_TEXT_CHARS = 1_000_000
MAX_EXCERPT_CHARS = 500

_TRUE = frozenset({"true", "1", "yes", "y", "t", "1.0"})
_FALSE = frozenset({"false", "0", "no", "n", "f", "0.0"})
_SURROGATE = re.compile("[\ud800-\udfff]")
_TAG_SPLIT = re.compile(r"[,;|]")
_SIZE_GIVEN = re.compile(r"^\s*(\d+(?:\.\d+)?|\.\d+)\s*([kKmMbBtT])?\s*$")
_SIZE_IN_NAME = re.compile(r"(?<![A-Za-z0-9.])(\d+(?:\.\d+)?)([bBmM])(?![A-Za-z0-9])")
_SIZE_UNIT = {"k": 1e-6, "m": 1e-3, "b": 1.0, "t": 1e3}


class Invalid(ValueError):
    """A record that cannot be loaded; the message is the reason shown to the user."""


@dataclass(slots=True)
class ValidRecord:
    """One record in canonical form; fields as in ``etl.schema.ATTACK_COLUMNS`` (ids and source added later)."""

    model: str | None
    model_type: str | None
    model_size: str | None
    model_size_b: float | None
    rating: float | None
    success: bool | None
    given_success: bool | None  # the input's own success value (hashed; the derived one is not)
    harmlessness: float | None
    task_description: str | None
    task_description_harmlessness: float | None
    attack_text: str
    transcript: str | None
    response: str | None
    n_turns: int
    red_team_member_id: str | None
    is_upworker: bool | None
    tags: list[str] | None
    attack_method: str | None
    campaign: str | None
    created_at: datetime | None
    turns: list[tuple[str, str]]
    category: str | None = None  # the source's own harm label, verbatim (stripped)


def validate_record(fields: Mapping[str, Any], *, success_threshold: float = DEFAULT_SUCCESS_THRESHOLD) -> ValidRecord:
    """Validate ``fields`` ({canonical name: raw value}; absent = missing) into a :class:`ValidRecord`.

    Raises :class:`Invalid` with a readable reason for the first problem found.
    """
    get = fields.get
    transcript = as_text("transcript", get("transcript"), strip=False)
    if transcript is not None and transcript.isspace():
        transcript = None
    attack_text = as_text("attack_text", get("attack_text"))
    response = as_text("response", get("response"))
    if transcript is not None:
        turns = tx.parse_turns(transcript)
        n_turns = tx.count_human_turns(turns)
        if attack_text is None:
            attack_text = tx.first_human_turn(turns)
    else:
        turns = []
        n_turns = 1
    if attack_text is None:
        if transcript is not None:
            raise Invalid("attack_text is missing or empty (the transcript has no human turn with text)")
        raise Invalid("attack_text is missing or empty")
    if transcript is None:
        turns = [(tx.HUMAN, attack_text)] + ([(tx.ASSISTANT, response)] if response is not None else [])

    rating = as_number("rating", get("rating"))
    if rating is not None and not RATING_MIN <= rating <= RATING_MAX:
        raise Invalid(f"rating {rating!r} is outside {RATING_MIN:g}–{RATING_MAX:g}")
    given_success = as_bool("success", get("success"))
    if given_success is not None:
        success = given_success
    elif rating is not None:
        success = rating >= success_threshold
    else:
        success = None

    model = as_text("model", get("model"))
    model_type = as_text("model_type", get("model_type"))
    model_size = as_text("model_size", get("model_size"))
    if model_size is not None:
        model_size_b = parse_size(model_size)
    elif model is not None:
        model_size, model_size_b = size_from_model_name(model)
    else:
        model_size_b = None
    if model is None and (model_type is not None or model_size is not None):
        model = " ".join(p for p in (model_type, model_size) if p is not None)

    return ValidRecord(
        model=model,
        model_type=model_type,
        model_size=model_size,
        model_size_b=model_size_b,
        rating=rating,
        success=success,
        given_success=given_success,
        harmlessness=as_number("harmlessness", get("harmlessness")),
        task_description=as_text("task_description", get("task_description")),
        task_description_harmlessness=as_number("task_description_harmlessness", get("task_description_harmlessness")),
        attack_text=attack_text,
        transcript=transcript,
        response=response,
        n_turns=n_turns,
        red_team_member_id=as_text("red_team_member_id", get("red_team_member_id")),
        is_upworker=as_bool("is_upworker", get("is_upworker")),
        tags=as_tags(get("tags")),
        attack_method=as_text("attack_method", get("attack_method")),
        campaign=as_text("campaign", get("campaign")),
        created_at=as_datetime(get("created_at")),
        turns=turns,
        category=as_text("category", get("category")),
    )


def attack_key(dataset: str, rec: ValidRecord) -> str:
    """Stable id: blake2b (16 hex characters) of the dataset identity and the record's canonical content."""
    parts = (
        dataset,
        rec.attack_text,
        rec.task_description,
        _num_key(rec.task_description_harmlessness),
        rec.transcript,
        rec.response,
        rec.model,
        rec.model_type,
        rec.model_size,
        _num_key(rec.rating),
        None if rec.given_success is None else str(rec.given_success),
        _num_key(rec.harmlessness),
        rec.red_team_member_id,
        None if rec.is_upworker is None else str(rec.is_upworker),
        None if rec.tags is None else json.dumps(rec.tags),
        rec.attack_method,
        rec.campaign,
        None if rec.created_at is None else rec.created_at.isoformat(),
    )
    if rec.category is not None:
        # Appended only when present, so ids of data without categories are unchanged.
        parts = (*parts, rec.category)
    # The lengths header makes the encoding unambiguous: no choice of values makes two records hash alike.
    header = ",".join("-" if p is None else str(len(p)) for p in parts)
    h = hashlib.blake2b(header.encode("ascii"), digest_size=8)
    for p in parts:
        if p:
            h.update(p.encode("utf-8"))
    return h.hexdigest()


def _num_key(x: float | None) -> str | None:
    return None if x is None else repr(x)


def excerpt(raw: str | None) -> str | None:
    """At most :data:`MAX_EXCERPT_CHARS` characters of ``raw``, safe to store (no NUL, no lone surrogates)."""
    if raw is None:
        return None
    return clean_text(raw[:MAX_EXCERPT_CHARS])


def clean_text(s: str) -> str:
    """Remove NUL characters (they carry no meaning and some tools cut text at them).

    Lone surrogates can only come from JSON ``\\udXXX`` escapes; the JSON readers replace them
    (``fix_surrogates``) so this hot path need not scan every string for them.
    """
    if "\x00" in s:
        s = s.replace("\x00", "")
    return s


def fix_surrogates(value: Any) -> Any:
    """``value`` with lone UTF-16 surrogates in its strings (at any depth) replaced by U+FFFD."""
    if isinstance(value, str):
        return _SURROGATE.sub("\ufffd", value)
    if not isinstance(value, (dict, list)):
        return value
    root = [value]
    stack: list[Any] = [root]
    while stack:
        node = stack.pop()
        items = node.items() if isinstance(node, dict) else enumerate(node)
        for key, item in list(items):
            if isinstance(item, str):
                if _SURROGATE.search(item):
                    node[key] = _SURROGATE.sub("\ufffd", item)
            elif isinstance(item, (dict, list)):
                stack.append(item)
    return root[0]


def describe(value: Any) -> str:
    """A short phrase naming the JSON kind of ``value`` for a reason ("a list", "true (a boolean)")."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"{str(value).lower()} (a boolean)"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, (list, tuple)):
        return "a list"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "text"
    return f"a {type(value).__name__}"


def _show(s: str, limit: int = 60) -> str:
    return repr(s if len(s) <= limit else s[:limit] + "…")


def as_text(name: str, value: Any, *, strip: bool = True) -> str | None:
    """Text value of field ``name`` (None when missing or empty); raises :class:`Invalid` for a wrong type."""
    if value is None:
        return None
    if isinstance(value, str):
        s = value
    elif isinstance(value, bool):
        raise Invalid(f"{name} must be text, got {describe(value)}")
    elif isinstance(value, int):
        s = str(value)
    elif isinstance(value, float):
        if math.isnan(value):
            return None
        if math.isinf(value):
            raise Invalid(f"{name} must be text, got {value!r}")
        s = str(int(value)) if value.is_integer() and abs(value) < 1e16 else repr(value)
    else:
        raise Invalid(f"{name} must be text, got {describe(value)}")
    if len(s) > MAX_TEXT_CHARS:
        raise Invalid(f"{name} is {len(s):,} characters long, over the limit of {MAX_TEXT_CHARS:,} "
                      "(often an unbalanced quote in a CSV file)")
    s = clean_text(s)
    if strip:
        s = s.strip()
    return s or None


def as_number(name: str, value: Any) -> float | None:
    """Float value of field ``name`` (None when missing or empty text); raises :class:`Invalid` otherwise."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise Invalid(f"{name} must be a number, got {describe(value)}")
    if isinstance(value, str):
        s = value.strip()
        if not s:
            return None
        try:
            x = float(s)
        except ValueError:
            raise Invalid(f"{name} {_show(s)} is not a number") from None
    else:
        try:
            x = float(value)
        except OverflowError:
            raise Invalid(f"{name} is too large to be a number") from None
    if math.isnan(x):
        raise Invalid(f"{name} is NaN (not a number)")
    if math.isinf(x):
        raise Invalid(f"{name} is {'-' if x < 0 else ''}Infinity")
    return x


def as_bool(name: str, value: Any) -> bool | None:
    """Boolean value of field ``name``: true/false, 1/0, yes/no, y/n, t/f; raises :class:`Invalid` otherwise."""
    if value is None:
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if value == 1:
            return True
        if value == 0:
            return False
        raise Invalid(f"{name} {value!r} is not a yes/no value (use true/false, 1/0 or yes/no)")
    if isinstance(value, str):
        s = value.strip().lower()
        if not s:
            return None
        if s in _TRUE:
            return True
        if s in _FALSE:
            return False
        raise Invalid(f"{name} {_show(value.strip())} is not a yes/no value (use true/false, 1/0 or yes/no)")
    raise Invalid(f"{name} must be a yes/no value, got {describe(value)}")


def as_tags(value: Any) -> list[str] | None:
    """Tags as a list of stripped, non-empty strings; text is split on , ; | (or parsed when it is a JSON list)."""
    if value is None:
        return None
    if isinstance(value, str):
        s = value.strip()
        if not s:
            return None
        if s.startswith("[") and s.endswith("]"):
            try:
                parsed = json.loads(s)
            except (ValueError, RecursionError):
                parsed = None
            if isinstance(parsed, list):
                return as_tags(fix_surrogates(parsed))
        return [t for t in (clean_text(p).strip() for p in _TAG_SPLIT.split(s)) if t]
    if isinstance(value, (list, tuple)):
        out = []
        for item in value:
            if item is None:
                continue
            if isinstance(item, (dict, list, tuple)):
                raise Invalid(f"tags must be a list of text, got a list containing {describe(item)}")
            t = as_text("tags", item)
            if t is not None:
                out.append(t)
        return out
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        t = as_text("tags", value)
        return None if t is None else [t]
    raise Invalid(f"tags must be a list or text, got {describe(value)}")


def as_datetime(value: Any) -> datetime | None:
    """``created_at`` as a naive UTC datetime; raises :class:`Invalid` when it is not a date/time."""
    if value is None:
        return None
    if isinstance(value, datetime):
        dt = value
    elif isinstance(value, date):
        dt = datetime(value.year, value.month, value.day)
    elif isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise Invalid(f"created_at must be a date/time, got {describe(value)}")
    elif isinstance(value, str):
        s = value.strip()
        if not s:
            return None
        try:
            dt = datetime.fromisoformat(s)
        except ValueError:
            raise Invalid(f"created_at {_show(s)} is not a date/time (use ISO 8601, e.g. 2022-08-22T14:03:00Z)"
                          ) from None
    else:
        x = float(value)
        if not math.isfinite(x):
            raise Invalid(f"created_at {x!r} is not a date/time")
        if abs(x) > 1e11:
            x /= 1000.0  # milliseconds since the epoch
        try:
            dt = datetime.fromtimestamp(x, tz=UTC)
        except (OverflowError, OSError, ValueError):
            raise Invalid(f"created_at {value!r} is out of range as Unix time") from None
    if dt.tzinfo is not None:
        try:
            dt = dt.astimezone(UTC).replace(tzinfo=None)
        except (OverflowError, ValueError):
            raise Invalid(f"created_at {value!s} is out of range") from None
    return dt


def parse_size(text: str) -> float | None:
    """Billions of parameters in a size like "52B", "2.7B", "350M", "13"; None when not a size."""
    m = _SIZE_GIVEN.match(text)
    if not m:
        return None
    x = float(m.group(1))
    unit = m.group(2)
    if unit:
        x *= _SIZE_UNIT[unit.lower()]
    elif x >= 1e5:
        x /= 1e9  # a parameter count
    return x if math.isfinite(x) else None


def size_from_model_name(model: str) -> tuple[str | None, float | None]:
    """Size parsed out of a model name: "llama-2-13b-chat" → ("13B", 13.0); (None, None) when absent."""
    m = _SIZE_IN_NAME.search(model)
    if not m:
        return None, None
    size_b = float(m.group(1)) * _SIZE_UNIT[m.group(2).lower()]
    if not math.isfinite(size_b):
        return None, None
    return m.group(1) + m.group(2).upper(), size_b
