"""Export and import of the annotations' current state as JSON or CSV (``redteam-risk annotations export|import``),
to review them in git or move them between deployments (docs/annotations.md).

Both formats hold the same rows: one per set field of a corrected attack, a corrected cluster or a tracked
mitigation — ``entity_kind`` ('attack' | 'cluster' | 'mitigation'), ``entity_id`` (attack id, published cluster
id, or ``theme:<id>`` / ``cluster:<id>``), ``field`` and ``value`` (text; booleans ``true`` / ``false``).
JSON wraps them as ``{"format": "redteam-risk-annotations", "version": 1, "rows": [...]}``. In CSV every
value that a spreadsheet would run as a formula (first character ``= + - @``, tab or CR), or that starts with
``'``, gets a leading ``'``, which the import removes again, so the round trip is exact.

The import applies every valid row through the store (the same checks as the dashboard, against the database
beside the store), all in one transaction, with history rows whose source is ``import <file name>``; a row it
cannot apply is reported with its reason and changes nothing. Rows only set values: nothing the file does not
mention is cleared.
"""

from __future__ import annotations

import csv
import io
import json
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from annotations.store import (
    ATTACK_FIELDS,
    CLUSTER_FIELDS,
    MITIGATION_FIELDS,
    MITIGATION_KINDS,
    AnnotationError,
    AnnotationStore,
)
from etl.domain import FORMULA_PREFIXES

FORMAT = "redteam-risk-annotations"
FORMAT_VERSION = 1
COLUMNS = ("entity_kind", "entity_id", "field", "value")
CSV_QUOTED = (*FORMULA_PREFIXES, "'")  # the formula prefixes, plus ' itself (removed again on import)
FIELDS = {"attack": ATTACK_FIELDS, "cluster": CLUSTER_FIELDS, "mitigation": MITIGATION_FIELDS}


def rows(store: AnnotationStore) -> list[dict[str, str]]:
    """The store's current state as export rows, in a stable order."""
    out: list[dict[str, str]] = []
    for r in store.attack_corrections().iter_rows(named=True):
        for name in ATTACK_FIELDS:
            if r[name] is not None:
                out.append(_row("attack", r["attack_id"], name, r[name]))
    for r in store.cluster_corrections().iter_rows(named=True):
        for name in CLUSTER_FIELDS:
            if r[name] is not None:
                out.append(_row("cluster", str(r["cluster_id"]), name, r[name]))
    for r in store.mitigations().iter_rows(named=True):
        for name in MITIGATION_FIELDS:
            if r[name] is not None:
                out.append(_row("mitigation", f"{r['kind']}:{r['key']}", name, r[name]))
    return out


def _row(kind: str, entity_id: str, name: str, value: object) -> dict[str, str]:
    text = ("true" if value else "false") if isinstance(value, bool) else str(value)
    return {"entity_kind": kind, "entity_id": entity_id, "field": name, "value": text}


def export_text(store: AnnotationStore, fmt: str = "json") -> str:
    """The store's current state as JSON or CSV text."""
    data = rows(store)
    if fmt == "json":
        return json.dumps({"format": FORMAT, "version": FORMAT_VERSION, "rows": data}, ensure_ascii=False,
                          indent=1) + "\n"
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\n", quoting=csv.QUOTE_ALL)  # CR too
        writer.writeheader()
        for r in data:
            writer.writerow({k: ("'" + v if v.startswith(CSV_QUOTED) else v) for k, v in r.items()})
        return buffer.getvalue()
    raise AnnotationError(f"The export format is json or csv, not {fmt!r}.")


@dataclass
class ImportResult:
    applied: int = 0  # rows applied (a row equal to the current value counts, it changes nothing)
    changes: int = 0  # history rows written
    rejected: list[tuple[int, str]] = field(default_factory=list)  # (row number, reason)

    def summary(self) -> str:
        return (f"imported {self.applied} rows ({self.changes} changes), rejected {len(self.rejected)}")


def parse(path: Path) -> list[dict[str, str]]:
    """The rows of an export file (JSON or CSV, by content); ``AnnotationError`` when the file is unusable."""
    try:
        with open(path, encoding="utf-8-sig", newline="") as fh:  # newline="": CR inside a CSV value stays
            text = fh.read()
    except FileNotFoundError:
        raise AnnotationError(f"The annotations file {path} does not exist.") from None
    except UnicodeDecodeError:
        raise AnnotationError(f"The annotations file {path} is not UTF-8 text.") from None
    except OSError as exc:
        raise AnnotationError(f"Cannot read the annotations file {path}: {exc.strerror}.") from None
    if text.lstrip().startswith("{"):
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise AnnotationError(f"The annotations file {path} is not valid JSON ({exc}).") from None
        if not isinstance(data, dict) or data.get("format") != FORMAT or not isinstance(data.get("rows"), list):
            raise AnnotationError(f"{path} is not a redteam-risk annotations export (no \"format\": \"{FORMAT}\" "
                                  "with \"rows\").")
        if data.get("version") != FORMAT_VERSION:
            raise AnnotationError(f"{path} has export version {data.get('version')!r}; this redteam-risk reads "
                                  f"version {FORMAT_VERSION}.")
        return data["rows"]
    reader = csv.DictReader(io.StringIO(text))
    if reader.fieldnames is None or not set(COLUMNS) <= set(reader.fieldnames):
        raise AnnotationError(f"{path} is neither an annotations JSON export nor a CSV with the columns "
                              f"{', '.join(COLUMNS)}.")
    out = []
    for r in reader:
        out.append({k: (v[1:] if isinstance(v, str) and v.startswith("'") else v) for k, v in r.items()
                    if k in COLUMNS})
    return out


def import_file(store: AnnotationStore, path: Path, *, user: str = "local") -> ImportResult:
    """Apply the rows of ``path`` to ``store`` (see the module docstring); returns what was applied and why rows
    were rejected (row numbers count from 1, the first data row)."""
    data = parse(path)
    result = ImportResult()
    valid: list[tuple[int, str, str, str, str | None]] = []
    for n, r in enumerate(data, start=1):
        if not isinstance(r, dict):
            result.rejected.append((n, "not an object with entity_kind, entity_id, field and value"))
            continue
        kind, entity_id, name, value = (r.get(k) for k in COLUMNS)
        if kind not in FIELDS:
            result.rejected.append((n, f"entity_kind must be attack, cluster or mitigation, not {kind!r}"))
        elif not isinstance(entity_id, str) or not entity_id:
            result.rejected.append((n, "entity_id is missing"))
        elif name not in FIELDS[kind]:
            result.rejected.append((n, f"{kind} has no field {name!r} (fields: {', '.join(FIELDS[kind])})"))
        elif value is not None and not isinstance(value, str):
            result.rejected.append((n, "value must be text"))
        else:
            valid.append((n, kind, entity_id, name, value))
    attack_ids = [e for _, k, e, _, _ in valid if k == "attack"]
    facts = store.database_facts()
    missing = {a for a in attack_ids if a not in facts.attack_ids} if facts is not None else set()
    bulk: dict[tuple[str, str | None], list[tuple[int, str]]] = defaultdict(list)
    with store.transaction(source=f"import {Path(path).name}"):
        for n, kind, entity_id, name, value in valid:
            if kind == "attack":
                if entity_id in missing:
                    result.rejected.append((n, f"attack {entity_id!r} is not in the database"))
                elif name == "note":
                    _apply(result, n, lambda: [store.set_attack_note(entity_id, value, user=user)])
                else:
                    bulk[(name, value)].append((n, entity_id))
            elif kind == "cluster":
                _apply(result, n, lambda: [_cluster(store, entity_id, name, value, user)])
            else:
                _apply(result, n, lambda: _mitigation(store, entity_id, name, value, user))
        for (name, value), items in bulk.items():
            ids = [e for _, e in items]
            try:
                changes = _attacks(store, ids, name, value, user)
            except AnnotationError as exc:
                result.rejected += [(n, str(exc)) for n, _ in items]
                continue
            result.applied += len(items)
            result.changes += len(changes)
    result.rejected.sort()
    return result


def _apply(result: ImportResult, n: int, write) -> None:
    try:
        changes = [c for c in write() if c is not None]
    except AnnotationError as exc:
        result.rejected.append((n, str(exc)))
        return
    result.applied += 1
    result.changes += len(changes)


def _bool(value: str | None) -> bool | None:
    if value is None or value == "":
        return None
    if value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise AnnotationError(f"expected true or false, not {value!r}")


def _attacks(store: AnnotationStore, ids: list[str], name: str, value: str | None, user: str) -> list[int]:
    if name == "theme":
        return store.set_attack_theme(ids, value or None, user=user)
    if name == "success":
        return store.set_attack_success(ids, _bool(value), user=user)
    return store.set_attack_exclusion(ids, value or None, user=user)


def _cluster(store: AnnotationStore, entity_id: str, name: str, value: str | None, user: str) -> int | None:
    if name == "label":
        return store.rename_cluster(entity_id, value, user=user)
    if name == "theme":
        return store.set_cluster_theme(entity_id, value or None, user=user)
    if name == "merged_into":
        return store.merge_cluster(entity_id, value or None, user=user)
    return store.mark_cluster_reviewed(entity_id, bool(_bool(value)), user=user)


def _mitigation(store: AnnotationStore, entity_id: str, name: str, value: str | None, user: str) -> list[int]:
    kind, sep, key = entity_id.partition(":")
    if not sep or kind not in MITIGATION_KINDS:
        raise AnnotationError(f"a mitigation's entity_id is theme:<id> or cluster:<id>, not {entity_id!r}")
    return store.set_mitigation(kind, key, **{name: value if value is not None else ""}, user=user)
