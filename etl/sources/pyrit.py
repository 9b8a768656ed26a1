"""PyRIT memory: the SQLite database (``pyrit.db``), the older DuckDB file (≤0.9), or an ``export_conversations``
JSON export (a list of message pieces).

Detected by content: an SQLite or DuckDB file with a ``PromptMemoryEntries`` table; or a JSON array whose
first element has ``conversation_id``, ``role`` and ``converted_value``.

PyRIT's schema changes between releases, so the reader looks at which columns exist and accepts the renamed
ones (``converted_value``/``converted_prompt_text``, ``attack_identifier``/``orchestrator_identifier``,
``prompt_target_identifier``/``prompt_target``). A database lacking columns it needs stops the run with a
message naming them (``PromptMemoryEntries``: conversation_id, role, sequence and a converted value;
``AttackResultEntries``, when present: conversation_id, objective, outcome).

One row per attack result (``AttackResultEntries``), else per conversation with a user message:
- ``attack_text`` = the first user piece's converted value (what was sent, after converters); a conversation
  with several user turns keeps them as the transcript; ``response`` = the last assistant piece's value.
- ``task_description`` = ``AttackResultEntries.objective``; ``model`` = the target identifier's
  ``model_name`` (else its ``__type__``); ``attack_method`` = the attack identifier's ``__type__`` (class name).
- ``category`` = the first of ``targeted_harm_categories`` (all of them become ``harm:<category>`` tags).
- ``success`` = ``outcome == 'success'`` (``failure`` → false, ``undetermined`` → unknown). Without attack
  results, from true/false scores on the assistant pieces (``ScoreEntries`` or the export's ``scores``): any
  true is a success, inverted for refusal scorers (true = the model refused). A conversation whose last
  response is an error (``response_error`` other than none/blocked/empty) and that did not succeed is rejected.
- ``campaign`` = the ``op_name`` memory label, else the file name; ``red_team_member_id`` = the ``username``
  label; ``created_at`` = the conversation's first timestamp.
"""

from __future__ import annotations

import json
import sqlite3
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from etl.errors import UserError
from etl.sources import native
from etl.sources.native import Options, Probe, Row

NAME = "pyrit"
PIECES = "PromptMemoryEntries"
RESULTS = "AttackResultEntries"
SCORES = "ScoreEntries"
# canonical name -> column names across PyRIT releases, newest first
_PIECE_COLUMNS = {
    "id": ("id",),
    "conversation_id": ("conversation_id",),
    "role": ("role",),
    "sequence": ("sequence",),
    "timestamp": ("timestamp",),
    "labels": ("labels",),
    "converted_value": ("converted_value", "converted_prompt_text"),
    "original_value": ("original_value", "original_prompt_text"),
    "converted_value_data_type": ("converted_value_data_type", "converted_prompt_data_type"),
    "target": ("prompt_target_identifier", "prompt_target"),
    "attack": ("attack_identifier", "orchestrator_identifier", "orchestrator"),
    "harm_categories": ("targeted_harm_categories",),
    "response_error": ("response_error",),
}
_REQUIRED_PIECE = ("conversation_id", "role", "sequence", "converted_value")
_REQUIRED_RESULT = ("conversation_id", "objective", "outcome")
_OK_RESPONSE_ERRORS = (None, "none", "blocked", "empty")


def detect(p: Probe) -> bool:
    if p.magic.startswith(native.SQLITE_MAGIC) or p.magic[8:12] == native.DUCKDB_MAGIC:
        try:
            with _open_db(p) as db:
                return PIECES in db.tables()
        except Exception:  # noqa: BLE001 - any database error means "not a PyRIT memory"
            return False
    text = p.text
    if not text.startswith("["):
        return False
    head = p.head_json
    if isinstance(head, list):
        return bool(head) and isinstance(head[0], dict) and _is_piece(head[0])
    return native.has_keys(text, "conversation_id", "role", "converted_value")


def _is_piece(d: dict) -> bool:
    return "conversation_id" in d and "role" in d and ("converted_value" in d or "original_value" in d)


def read(p: Probe, options: Options) -> Iterator[Row]:
    if p.sniffed is not None:
        doc = native.read_json(p, options.max_bytes)
        if not isinstance(doc, list):
            raise native.FileUnreadable("the file is not a PyRIT export (a JSON list of message pieces)")
        pieces, bad = [], []
        for d in doc:
            (pieces if isinstance(d, dict) and _is_piece(d) else bad).append(d)
        for d in bad:
            yield Row(None, d, "not a PyRIT message piece (needs conversation_id, role and converted_value)")
        for piece in pieces:
            piece.setdefault("attack", piece.get("attack_identifier", piece.get("orchestrator_identifier")))
            piece.setdefault("target", piece.get("prompt_target_identifier"))
            piece.setdefault("harm_categories", piece.get("targeted_harm_categories"))
        yield from _rows(pieces, {}, _export_scores(pieces), p.path)
        return
    try:
        pieces, results, scores = _read_db(p)
    except _db_errors() as exc:
        raise native.FileUnreadable(f"the database cannot be read ({exc})") from None
    yield from _rows(pieces, results, scores, p.path)


def _read_db(p: Probe) -> tuple[list[dict], dict[str, dict], dict[Any, list[tuple[str, Any, Any]]]]:
    with _open_db(p) as db:
        tables = db.tables()
        if PIECES not in tables:
            raise native.FileUnreadable(f"the database has no {PIECES} table; it is not a PyRIT memory")
        piece_cols = _resolve(db, PIECES, _PIECE_COLUMNS, _REQUIRED_PIECE, p.path)
        pieces = db.select(PIECES, piece_cols)
        results: dict[str, dict] = {}
        if RESULTS in tables:
            result_cols = _resolve(db, RESULTS, {"conversation_id": ("conversation_id",), "objective": ("objective",),
                                                 "outcome": ("outcome",), "attack": ("attack_identifier",),
                                                 "timestamp": ("timestamp",)}, _REQUIRED_RESULT, p.path)
            for r in db.select(RESULTS, result_cols):
                results[r["conversation_id"]] = r
        scores: dict[Any, list[tuple[str, Any, Any]]] = defaultdict(list)
        if SCORES in tables:
            score_cols = _resolve(db, SCORES, {"piece_id": ("message_piece_id", "prompt_request_response_id"),
                                               "value": ("score_value",), "type": ("score_type",),
                                               "scorer": ("scorer_class_identifier",)}, (), p.path)
            if {"piece_id", "value", "type"} <= set(score_cols):
                for s in db.select(SCORES, score_cols):
                    scores[str(s["piece_id"])].append((s["type"], s["value"], s.get("scorer")))
    return pieces, results, scores


# --------------------------------------------------------------------------------------------- databases


class _Db:
    """SQLite or DuckDB, read-only: table names, column names, and rows as dicts."""

    def __init__(self, path: Path, duck: bool) -> None:
        self.duck = duck
        if duck:
            import duckdb

            self.con = duckdb.connect(str(path), read_only=True)
        else:
            self.con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)

    def __enter__(self) -> _Db:
        return self

    def __exit__(self, *exc: object) -> None:
        self.con.close()

    def tables(self) -> set[str]:
        if self.duck:
            return {r[0] for r in self.con.execute("select table_name from information_schema.tables").fetchall()}
        return {r[0] for r in self.con.execute("select name from sqlite_master where type in ('table', 'view')")}

    def columns(self, table: str) -> list[str]:
        if self.duck:
            return [r[0] for r in self.con.execute(
                "select column_name from information_schema.columns where table_name = ? order by ordinal_position",
                [table]).fetchall()]
        return [r[1] for r in self.con.execute(f'pragma table_info("{table}")')]

    def select(self, table: str, columns: dict[str, str]) -> list[dict[str, Any]]:
        names = list(columns)
        sql = "select " + ", ".join(f'"{columns[n]}"' for n in names) + f' from "{table}"'
        return [dict(zip(names, row, strict=True)) for row in self.con.execute(sql).fetchall()]


def _db_errors() -> tuple[type[Exception], ...]:
    try:
        import duckdb
    except ImportError:
        return (sqlite3.Error,)
    return (sqlite3.Error, duckdb.Error)


def _open_db(p: Probe) -> _Db:
    try:
        return _Db(p.path, duck=p.magic[8:12] == native.DUCKDB_MAGIC)
    except ImportError:
        raise UserError(f"{p.path} is a DuckDB file; reading it needs the duckdb package") from None
    except Exception as exc:  # noqa: BLE001 - sqlite3/duckdb raise their own error types
        raise native.FileUnreadable(f"the database cannot be opened ({exc})") from None


def _resolve(db: _Db, table: str, wanted: dict[str, tuple[str, ...]], required: tuple[str, ...],
             path: Path) -> dict[str, str]:
    """{canonical name: the column this database has}; UserError naming the required ones it lacks."""
    have = set(db.columns(table))
    found = {name: next(c for c in options if c in have) for name, options in wanted.items()
             if any(c in have for c in options)}
    missing = [" or ".join(wanted[r]) for r in required if r not in found]
    if missing:
        raise UserError(f"PyRIT memory {path}: table {table} lacks the column(s) {'; '.join(missing)} "
                        f"(it has: {', '.join(sorted(have)) or 'none'}); this PyRIT release's schema is not "
                        "supported — export the conversations to JSON (export_conversations) and read that")
    return found


# --------------------------------------------------------------------------------------------- conversations


def _json_value(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in ("{", "["):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _export_scores(pieces: list[dict]) -> dict[str, list[tuple[str, Any, Any]]]:
    out: dict[str, list[tuple[str, Any, Any]]] = defaultdict(list)
    for piece in pieces:
        for s in piece.get("scores") or []:
            if isinstance(s, dict):
                out[str(piece.get("id"))].append((s.get("score_type"), s.get("score_value"),
                                                  s.get("scorer_class_identifier")))
    return out


def _identifier_name(value: Any, *keys: str) -> str | None:
    value = _json_value(value)
    if isinstance(value, dict):
        for key in keys:
            if isinstance(value.get(key), str) and value[key]:
                return value[key]
    return value if isinstance(value, str) and value else None


def _score_success(scores: list[tuple[str, Any, Any]]) -> bool | None:
    verdicts = []
    for kind, value, scorer in scores:
        if kind != "true_false":
            continue
        truth = str(value).strip().lower() == "true"
        name = _identifier_name(scorer, "__type__", "class_name") or ""
        verdicts.append(not truth if "refusal" in name.lower() else truth)
    return any(verdicts) if verdicts else None


def _rows(pieces: list[dict], results: dict[str, dict], scores: dict, path: Path) -> Iterator[Row]:
    conversations: dict[str, list[dict]] = defaultdict(list)
    for piece in pieces:
        conversations[str(piece.get("conversation_id"))].append(piece)
    keys = list(results) if results else [c for c, ps in conversations.items()
                                          if any(x.get("role") == "user" for x in ps)]
    for cid in keys:
        result = results.get(cid, {})
        convo = sorted(conversations.get(cid, []), key=lambda x: (x.get("sequence") or 0))
        raw = {"conversation_id": cid, **{k: v for k, v in result.items() if k != "conversation_id"},
               "pieces": len(convo)}
        if not convo:
            yield Row(None, raw, f"attack result for conversation {cid} has no messages in {PIECES}")
            continue
        user = [x for x in convo if x.get("role") == "user"]
        assistant = [x for x in convo if x.get("role") == "assistant"]
        outcome = result.get("outcome")
        if results:
            success = {"success": True, "failure": False}.get(str(outcome).lower())
        else:
            success = _score_success([s for x in assistant for s in scores.get(str(x.get("id")), [])])
        last = assistant[-1] if assistant else None
        if last is not None and success is not True and (
                last.get("response_error") not in _OK_RESPONSE_ERRORS
                or last.get("converted_value_data_type") == "error"):
            yield Row(None, raw, f"PyRIT recorded an error response (response_error="
                                 f"{last.get('response_error')}): {str(last.get('converted_value'))[:200]}")
            continue
        pairs = [(x.get("role"), x.get("converted_value")) for x in convo]
        harm: list[str] = []
        for x in convo:
            cats = _json_value(x.get("harm_categories"))
            if isinstance(cats, list):
                harm += [c for c in cats if isinstance(c, str) and c not in harm]
        labels = next((_json_value(x.get("labels")) for x in convo if isinstance(_json_value(x.get("labels")), dict)),
                      {})
        target = next((x.get("target") for x in convo if x.get("target")), None)
        attack = result.get("attack") or next((x.get("attack") for x in convo if x.get("attack")), None)
        yield Row({
            "attack_text": user[0].get("converted_value") if user else None,
            "transcript": native.transcript_of(pairs) if len(user) > 1 else None,
            "response": last.get("converted_value") if last is not None else None,
            "task_description": result.get("objective"),
            "model": _identifier_name(target, "model_name", "__type__", "class_name"),
            "attack_method": _identifier_name(attack, "__type__", "class_name"),
            "category": harm[0] if harm else None,
            "tags": [f"harm:{c}" for c in harm] or None,
            "success": success,
            "campaign": labels.get("op_name") or path.name,
            "red_team_member_id": labels.get("username"),
            "created_at": _first_time(convo),
        }, raw)


def _first_time(convo: list[dict]) -> Any:
    times = [x.get("timestamp") for x in convo if x.get("timestamp") is not None]
    if not times:
        return None
    try:
        return min(times)
    except TypeError:
        return times[0]

