"""The annotations store: analyst corrections, mitigation tracking and their full history, in one SQLite file
beside the published database (``risk.duckdb`` -> ``risk.duckdb.annotations.sqlite``).

SQLite in WAL mode takes several writers (dashboard sessions, server processes, an import) while readers (the
query overlay, the ETL's carry-over) read a consistent snapshot, with no server to install. Every write is one
``BEGIN IMMEDIATE`` transaction (writers queue on the file lock, ``busy_timeout`` long) that updates the
current-state table of the entity *and* appends one row per changed field to ``changes`` (who, when in UTC,
entity, field, old value, new value, source). Nothing is overwritten without a history row; a write that
changes nothing records nothing. ``undo`` writes a new change restoring the old value and marks the undone one.

Tables (schema version ``SCHEMA_VERSION``, applied by ``MIGRATIONS`` in order; docs/annotations.md):
``attack_corrections`` (one row per corrected attack), ``cluster_corrections`` (per corrected published
cluster id), ``cluster_snapshots`` (the attack ids a corrected or merge-target cluster held when corrected, and
the fit it belonged to, so that a refit can re-place the correction), ``mitigations`` (per priority area),
``changes`` (append-only history), ``unplaced`` (corrections a rebuild could not carry over), ``meta``
(``revision``: bumped by every write, the cache key of readers).

Values travel through the history as text: booleans ``true``/``false``, cluster ids as decimal text.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

import polars as pl

from etl.errors import UserError

SUFFIX = ".annotations.sqlite"
MITIGATION_STATUSES = ("open", "in_progress", "mitigated", "accepted_risk")
MITIGATION_KINDS = ("theme", "cluster")
_WEB_LINK = re.compile(r"https?://\S", re.IGNORECASE)  # a mitigation link is a web address (never javascript:)
MITIGATION_FIELDS = ("status", "owner", "due_date", "note", "link")
EXCLUSION_REASONS = ("not_an_attack", "duplicate")
ATTACK_FIELDS = ("theme", "success", "exclusion", "note")
CLUSTER_FIELDS = ("label", "theme", "merged_into", "reviewed")
ENTITY_KINDS = ("attack", "cluster", "mitigation")
BOOLEAN_FIELDS = {("attack", "success"), ("cluster", "reviewed")}
INTEGER_FIELDS = {("cluster", "merged_into")}
UNCLUSTERED = -1
BUSY_TIMEOUT_MS = 30_000
HISTORY_SCHEMA = {"change_id": pl.Int64, "at": pl.Datetime("us"), "user": pl.String, "entity_kind": pl.String,
                  "entity_id": pl.String, "field": pl.String, "old_value": pl.String, "new_value": pl.String,
                  "undone_by": pl.Int64, "source": pl.String}
UNPLACED_SCHEMA = {c: pl.String for c in ("entity_kind", "entity_id", "field", "value", "reason", "run_id", "at")}
MITIGATION_SCHEMA = {c: pl.String for c in ("kind", "key", "status", "owner", "due_date", "note", "link",
                                            "updated_at", "updated_by")}


class AnnotationError(UserError):
    """An invalid annotation value or an impossible change, explained in one readable sentence."""


def store_path_for(db_path: str | Path) -> Path:
    """The store file beside the published database: ``risk.duckdb`` -> ``risk.duckdb.annotations.sqlite``."""
    return Path(str(db_path) + SUFFIX)


def now_utc() -> str:
    """The current UTC time as ISO text with microseconds (how the store records ``at``)."""
    return datetime.now(timezone.utc).replace(tzinfo=None).isoformat(timespec="microseconds")


# Migrations: (version, statements). Applied in order inside one transaction each; never edit a released one,
# add the next. Version 1 was the first released layout (corrections, mitigations, history); version 2 added
# the membership snapshots, the unplaced list and the history's ``source``.
MIGRATIONS: tuple[tuple[int, tuple[str, ...]], ...] = (
    (1, (
        "create table meta (key text primary key, value text)",
        "insert into meta (key, value) values ('revision', '0')",
        "create table attack_corrections (attack_id text primary key, theme text, success integer, "
        "exclusion text, note text)",
        "create table cluster_corrections (cluster_id integer primary key, label text, theme text, "
        "merged_into integer, reviewed integer)",
        "create table mitigations (kind text not null, key text not null, status text not null, owner text, "
        "due_date text, note text, link text, updated_at text not null, updated_by text not null, "
        "primary key (kind, key))",
        "create table changes (change_id integer primary key autoincrement, at text not null, user text not null, "
        "entity_kind text not null, entity_id text not null, field text not null, old_value text, new_value text, "
        "undone_by integer references changes(change_id))",
        "create index changes_entity on changes (entity_kind, entity_id)",
    )),
    (2, (
        "alter table changes add column source text not null default 'edit'",
        "create table cluster_snapshots (cluster_id integer primary key, attack_ids text not null, "
        "fit_id text, run_id text, taken_at text not null)",
        "create table unplaced (entity_kind text not null, entity_id text not null, field text not null, "
        "value text, reason text not null, run_id text, at text not null)",
    )),
)
SCHEMA_VERSION = MIGRATIONS[-1][0]


def migrate(con: sqlite3.Connection, upto: int | None = None) -> int:
    """Bring the schema of the open store ``con`` to version ``upto`` (default: the newest), each migration in its
    own ``BEGIN IMMEDIATE`` transaction; returns the version reached. Refuses a file from a newer release."""
    target = SCHEMA_VERSION if upto is None else upto
    con.execute("create table if not exists schema_version (version integer not null, applied_at text not null)")
    while True:
        con.execute("begin immediate")
        try:
            current = con.execute("select coalesce(max(version), 0) from schema_version").fetchone()[0]
            if current > SCHEMA_VERSION:
                raise AnnotationError(f"The annotations store was written by a newer redteam-risk (schema version "
                                      f"{current}, this one knows {SCHEMA_VERSION}); upgrade redteam-risk.")
            pending = [(v, steps) for v, steps in MIGRATIONS if current < v <= target]
            if not pending:
                con.execute("commit")
                return current
            version, steps = pending[0]
            for statement in steps:
                con.execute(statement)
            con.execute("insert into schema_version (version, applied_at) values (?, ?)", (version, now_utc()))
            con.execute("commit")
        except BaseException:
            con.execute("rollback")
            raise


def connect(path: Path) -> sqlite3.Connection:
    """A connection to the store file at ``path`` (created if missing) in WAL mode with a long busy timeout;
    transactions are explicit (``isolation_level=None``)."""
    try:
        con = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None,
                              check_same_thread=False)
    except sqlite3.Error as exc:
        raise AnnotationError(f"Cannot open the annotations store {path}: {exc}.") from None
    try:
        con.execute(f"pragma busy_timeout = {BUSY_TIMEOUT_MS}")
        mode = con.execute("pragma journal_mode").fetchone()[0]
        if mode != "wal":
            con.execute("pragma journal_mode = wal")
        con.execute("pragma foreign_keys = on")
        con.execute("pragma synchronous = normal")
    except sqlite3.Error as exc:
        con.close()
        raise AnnotationError(f"{path} is not a readable annotations store ({exc}); it was left untouched. "
                              "Move it aside to start a new one.") from None
    return con


def encode(kind: str, field: str, value: Any) -> str | None:
    """A field value as the text the history stores (None stays None)."""
    if value is None:
        return None
    if (kind, field) in BOOLEAN_FIELDS:
        return "true" if value else "false"
    return str(value)


def decode(kind: str, field: str, text: str | None) -> Any:
    """The inverse of ``encode``."""
    if text is None:
        return None
    if (kind, field) in BOOLEAN_FIELDS:
        return text == "true"
    if (kind, field) in INTEGER_FIELDS:
        return int(text)
    return text


@dataclass(frozen=True)
class DatabaseFacts:
    """What the store checks new values against: the published database's themes, clusters and attack ids."""

    themes: frozenset[str]
    clusters: frozenset[int]
    attack_ids: frozenset[str]
    run_id: str | None
    fit_id: str | None


class AnnotationStore:
    """The annotations of one published database (docs/annotations.md). Thread-safe: every call opens its own
    short-lived SQLite connection; processes coordinate through SQLite's file locks."""

    def __init__(self, path: str | Path, *, db_path: str | Path | None = None) -> None:
        """Open (creating and migrating when needed) the store at ``path``. ``db_path``: the published database
        it annotates (default: ``path`` without ``.annotations.sqlite``); when it exists, new values are checked
        against it (themes, cluster ids, attack ids) and cluster corrections record its cluster membership."""
        self.path = Path(path)
        if db_path is None and str(self.path).endswith(SUFFIX):
            db_path = str(self.path)[: -len(SUFFIX)]
        self.db_path = Path(db_path) if db_path is not None else None
        self._facts_key: tuple | None = None
        self._facts: DatabaseFacts | None = None
        self._lock = threading.Lock()
        self._local = threading.local()  # the open transaction of this thread (transaction()), if any
        con = connect(self.path)
        try:
            migrate(con)
        except sqlite3.DatabaseError as exc:
            raise AnnotationError(f"{self.path} is not a readable annotations store ({exc}); it was left "
                                  "untouched. Move it aside to start a new one.") from None
        finally:
            con.close()

    @classmethod
    def for_database(cls, db_path: str | Path) -> AnnotationStore:
        """The store beside the published database at ``db_path`` (``store_path_for``)."""
        return cls(store_path_for(db_path), db_path=db_path)

    # plumbing

    def _connection(self) -> sqlite3.Connection:
        """This thread's connection to the store, kept open: closing the last connection to a WAL file
        checkpoints it, which would cost every write a sync. Reopened when the file at the path was replaced."""
        try:
            inode = os.stat(self.path).st_ino
        except FileNotFoundError:
            raise AnnotationError(f"The annotations store {self.path} was removed.") from None
        cached = getattr(self._local, "conn", None)
        if cached is not None and cached[1] == inode:
            return cached[0]
        if cached is not None:
            cached[0].close()
        con = connect(self.path)
        self._local.conn = (con, inode)
        return con

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        yield getattr(self._local, "con", None) or self._connection()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One ``BEGIN IMMEDIATE`` transaction that also bumps the revision; rolled back on any error. Inside
        ``transaction()`` it is a savepoint of that transaction instead (undone alone when it fails)."""
        outer = getattr(self._local, "con", None)
        if outer is not None:
            outer.execute("savepoint write")
            try:
                yield outer
                outer.execute("release write")
            except BaseException:
                outer.execute("rollback to write")
                outer.execute("release write")
                raise
            return
        con = self._connection()
        con.execute("begin immediate")
        try:
            before = con.total_changes
            yield con
            if con.total_changes != before:  # a write that changed nothing keeps the version (and caches)
                con.execute("update meta set value = cast(value as integer) + 1 where key = 'revision'")
            con.execute("commit")
        except BaseException:
            con.execute("rollback")
            raise

    def _record(self, con: sqlite3.Connection, user: str, kind: str, entity_id: str, field: str, old: str | None,
                new: str | None, source: str | None = None, at: str | None = None) -> int:
        source = source or getattr(self._local, "source", None) or "edit"
        cursor = con.execute(
            "insert into changes (at, user, entity_kind, entity_id, field, old_value, new_value, source) "
            "values (?, ?, ?, ?, ?, ?, ?, ?)", (at or now_utc(), user, kind, entity_id, field, old, new, source))
        return int(cursor.lastrowid)

    def version(self) -> int:
        """A number that changes whenever anything is written (the cache key of readers); 0 for no file."""
        with self._read() as con:
            return int(con.execute("select value from meta where key = 'revision'").fetchone()[0])

    def schema_version(self) -> int:
        with self._read() as con:
            return int(con.execute("select max(version) from schema_version").fetchone()[0])

    def database_facts(self) -> DatabaseFacts | None:
        """Themes, cluster ids and the build of the published database beside the store (None without one);
        cached until the file changes."""
        if self.db_path is None or not self.db_path.exists():
            return None
        stat = self.db_path.stat()
        key = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
        with self._lock:
            if self._facts_key == key:
                return self._facts
        facts = read_database_facts(self.db_path)
        with self._lock:
            self._facts_key, self._facts = key, facts
        return facts

    # validation

    @staticmethod
    def _user(user: str) -> str:
        if not isinstance(user, str) or not user.strip():
            raise AnnotationError("Every change needs a user name (the signed-in user, or 'local').")
        return user

    def _check_theme(self, theme: str | None) -> None:
        if theme is None:
            return
        if not isinstance(theme, str) or not theme.strip():
            raise AnnotationError("A theme must be a theme id such as 'violence' (not empty).")
        facts = self.database_facts()
        if facts is not None and facts.themes and theme not in facts.themes:
            raise AnnotationError(f"There is no theme {theme!r} in the database; pick one of its themes.")

    def _check_cluster(self, cluster_id: Any, what: str = "cluster") -> int:
        if isinstance(cluster_id, bool) or not isinstance(cluster_id, int):
            try:
                cluster_id = int(str(cluster_id).strip())
            except ValueError:
                raise AnnotationError(f"A {what} id must be a whole number, not {cluster_id!r}.") from None
        if cluster_id == UNCLUSTERED:
            raise AnnotationError(f"Cluster {UNCLUSTERED} holds the unclustered attacks and cannot be corrected as "
                                  "a cluster; correct those attacks one by one.")
        facts = self.database_facts()
        if facts is not None and cluster_id not in facts.clusters:
            raise AnnotationError(f"There is no cluster {cluster_id} in the database.")
        return cluster_id

    def _check_attacks(self, attack_ids: Iterable[str] | str) -> list[str]:
        ids = [attack_ids] if isinstance(attack_ids, str) else list(attack_ids)
        if not ids:
            raise AnnotationError("No attack was selected.")
        for attack_id in ids:
            if not isinstance(attack_id, str) or not attack_id.strip():
                raise AnnotationError(f"An attack id must be a non-empty text, not {attack_id!r}.")
        ids = list(dict.fromkeys(ids))
        facts = self.database_facts()
        if facts is not None:
            missing = [i for i in ids if i not in facts.attack_ids]
            if missing:
                raise AnnotationError(f"{len(missing)} of the attack ids are not in the database (e.g. "
                                      f"{missing[0]!r}); nothing was changed.")
        return ids

    # attack corrections

    def _set_attack_field(self, attack_ids: Iterable[str] | str, field: str, value: Any, user: str,
                          source: str | None = None) -> list[int]:
        user = self._user(user)
        ids = self._check_attacks(attack_ids)
        new = encode("attack", field, value)
        stored = 1 if value is True else 0 if value is False else value
        changes = []
        with self._write() as con:
            current = _attack_values(con, ids, field)
            at = now_utc()
            for attack_id in ids:
                old = current.get(attack_id)
                old_text = encode("attack", field, None if old is None else bool(old) if field == "success" else old)
                if old_text == new:
                    continue
                con.execute("insert into attack_corrections (attack_id) values (?) on conflict do nothing",
                            (attack_id,))
                con.execute(f"update attack_corrections set {field} = ? where attack_id = ?", (stored, attack_id))
                changes.append(self._record(con, user, "attack", attack_id, field, old_text, new, source, at))
            con.execute("delete from attack_corrections where theme is null and success is null and "
                        "exclusion is null and note is null")
        return changes

    def set_attack_theme(self, attack_ids: Iterable[str] | str, theme_id: str | None, *, user: str) -> list[int]:
        """Set the analyst's theme of these attacks (None clears the correction); one change per attack whose
        value changes, all in one transaction. Returns the change ids."""
        self._check_theme(theme_id)
        return self._set_attack_field(attack_ids, "theme", theme_id, user)

    def set_attack_success(self, attack_ids: Iterable[str] | str, success: bool | None, *, user: str) -> list[int]:
        """The analyst's verdict on success (overrides the rating-derived value; None clears it)."""
        if success is not None and not isinstance(success, bool):
            raise AnnotationError(f"A success verdict is true, false or none, not {success!r}.")
        return self._set_attack_field(attack_ids, "success", success, user)

    def set_attack_exclusion(self, attack_ids: Iterable[str] | str, reason: str | None, *, user: str) -> list[int]:
        """Exclude attacks from every metric ("not_an_attack" | "duplicate"; None includes them again)."""
        if reason is not None and reason not in EXCLUSION_REASONS:
            raise AnnotationError(f"An exclusion reason is one of {', '.join(EXCLUSION_REASONS)}, not {reason!r}.")
        return self._set_attack_field(attack_ids, "exclusion", reason, user)

    def set_attack_note(self, attack_id: str, note: str | None, *, user: str) -> int | None:
        """Free-text note on one attack (None or empty clears it). Returns the change id (None: unchanged)."""
        if note is not None and not isinstance(note, str):
            raise AnnotationError("A note must be text.")
        changes = self._set_attack_field(attack_id, "note", note or None, user)
        return changes[0] if changes else None

    def attack_corrections(self) -> pl.DataFrame:
        """Current attack corrections: attack_id, theme, success, exclusion, note (null = not corrected)."""
        with self._read() as con:
            rows = con.execute("select attack_id, theme, success, exclusion, note from attack_corrections "
                               "order by attack_id").fetchall()
        return pl.DataFrame(
            [(a, t, None if s is None else bool(s), e, n) for a, t, s, e, n in rows], orient="row",
            schema={"attack_id": pl.String, "theme": pl.String, "success": pl.Boolean, "exclusion": pl.String,
                    "note": pl.String})

    # cluster corrections

    def _set_cluster_field(self, cluster_id: Any, field: str, value: Any, user: str) -> int | None:
        user = self._user(user)
        cluster_id = self._check_cluster(cluster_id)
        new = encode("cluster", field, value)
        stored = 1 if value is True else 0 if value is False else value
        with self._write() as con:
            row = con.execute(f"select {field} from cluster_corrections where cluster_id = ?", (cluster_id,)).fetchone()
            old = None if row is None else row[0]
            old_text = encode("cluster", field, None if old is None else bool(old) if field == "reviewed" else old)
            if old_text == new:
                return None
            if field == "merged_into" and value is not None:
                _check_no_cycle(con, cluster_id, value)
            con.execute("insert into cluster_corrections (cluster_id) values (?) on conflict do nothing", (cluster_id,))
            con.execute(f"update cluster_corrections set {field} = ? where cluster_id = ?", (stored, cluster_id))
            con.execute("delete from cluster_corrections where label is null and theme is null and "
                        "merged_into is null and reviewed is null")
            for snap in (cluster_id, value if field == "merged_into" and value is not None else None):
                if snap is not None:
                    self._snapshot(con, snap)
            return self._record(con, user, "cluster", str(cluster_id), field, old_text, new)

    def _snapshot(self, con: sqlite3.Connection, cluster_id: int) -> None:
        """Record which attacks ``cluster_id`` holds in the published database (once per fit), so that a refit
        can re-place the correction by its attacks."""
        facts = self.database_facts()
        if facts is None:
            return
        row = con.execute("select fit_id from cluster_snapshots where cluster_id = ?", (cluster_id,)).fetchone()
        if row is not None and row[0] == facts.fit_id:
            return
        ids = cluster_members(self.db_path, cluster_id)
        write_snapshot(con, cluster_id, ids, facts.fit_id, facts.run_id)

    def rename_cluster(self, cluster_id: int, label: str | None, *, user: str) -> int | None:
        """The analyst's label for a cluster (None clears the correction). Returns the change id (None:
        unchanged)."""
        if label is not None and (not isinstance(label, str) or not label.strip()):
            raise AnnotationError("A cluster label cannot be empty.")
        return self._set_cluster_field(cluster_id, "label", label, user)

    def set_cluster_theme(self, cluster_id: int, theme_id: str | None, *, user: str) -> int | None:
        """The theme of every attack of the cluster (unless the attack has its own theme correction)."""
        self._check_theme(theme_id)
        return self._set_cluster_field(cluster_id, "theme", theme_id, user)

    def merge_cluster(self, cluster_id: int, into_cluster_id: int | None, *, user: str) -> int | None:
        """Merge the cluster into another one (its attacks count as that cluster's); None undoes the merge."""
        if into_cluster_id is not None:
            into_cluster_id = self._check_cluster(into_cluster_id, "target cluster")
            if int(into_cluster_id) == int(cluster_id):
                raise AnnotationError("A cluster cannot be merged into itself.")
        return self._set_cluster_field(cluster_id, "merged_into", into_cluster_id, user)

    def mark_cluster_reviewed(self, cluster_id: int, reviewed: bool, *, user: str) -> int | None:
        if not isinstance(reviewed, bool):
            raise AnnotationError(f"Reviewed is true or false, not {reviewed!r}.")
        return self._set_cluster_field(cluster_id, "reviewed", reviewed or None, user)

    def cluster_corrections(self) -> pl.DataFrame:
        """Current cluster corrections: cluster_id, label, theme, merged_into, reviewed."""
        with self._read() as con:
            rows = con.execute("select cluster_id, label, theme, merged_into, reviewed from cluster_corrections "
                               "order by cluster_id").fetchall()
        return pl.DataFrame(
            [(c, lab, t, m, bool(r) if r is not None else None) for c, lab, t, m, r in rows], orient="row",
            schema={"cluster_id": pl.Int64, "label": pl.String, "theme": pl.String, "merged_into": pl.Int64,
                    "reviewed": pl.Boolean})

    def cluster_snapshots(self) -> dict[int, tuple[list[str], str | None]]:
        """cluster id -> (the attack ids it held when corrected, the fit id of that build)."""
        with self._read() as con:
            rows = con.execute("select cluster_id, attack_ids, fit_id from cluster_snapshots").fetchall()
        return {c: (json.loads(ids), fit) for c, ids, fit in rows}

    # mitigations

    def set_mitigation(self, kind: str, key: str, *, status: str | None = None, owner: str | None = None,
                       due_date: date | str | None = None, note: str | None = None, link: str | None = None,
                       user: str) -> list[int]:
        """Track a priority area's mitigation (``kind`` "theme" | "cluster", ``key`` the theme id or cluster id).
        Only the given fields change ("" clears owner, due_date, note or link); each change a history row. A new
        area starts as "open"."""
        user = self._user(user)
        if kind not in MITIGATION_KINDS:
            raise AnnotationError(f"A mitigation is for a theme or a cluster, not {kind!r}.")
        key = str(key) if isinstance(key, int) and not isinstance(key, bool) else key
        if not isinstance(key, str) or not key.strip():
            raise AnnotationError("A mitigation needs the theme id or cluster id it is for.")
        if kind == "cluster":
            key = str(self._check_cluster(key))
        else:
            self._check_theme(key)
        snapshot = int(key) if kind == "cluster" else None
        if status is not None and status not in MITIGATION_STATUSES:
            raise AnnotationError(f"A mitigation status is one of {', '.join(MITIGATION_STATUSES)}, not {status!r}.")
        values: dict[str, str | None] = {}
        if status is not None:
            values["status"] = status
        for field, value in (("owner", owner), ("note", note), ("link", link)):
            if value is not None:
                if not isinstance(value, str):
                    raise AnnotationError(f"A mitigation's {field} must be text.")
                values[field] = value or None
        if values.get("link") and not _WEB_LINK.match(values["link"]):
            raise AnnotationError("A mitigation's link must be an http:// or https:// address (e.g. the ticket's URL).")
        if due_date is not None:
            values["due_date"] = _iso_date(due_date)
        entity = f"{kind}:{key}"
        changes = []
        with self._write() as con:
            if snapshot is not None:
                self._snapshot(con, snapshot)
            row = con.execute(f"select {', '.join(MITIGATION_FIELDS)} from mitigations where kind = ? and key = ?",
                              (kind, key)).fetchone()
            at = now_utc()
            if row is None:
                values.setdefault("status", "open")
                con.execute("insert into mitigations (kind, key, status, updated_at, updated_by) "
                            "values (?, ?, 'open', ?, ?)", (kind, key, at, user))
                current = {"status": None, **{f: None for f in MITIGATION_FIELDS[1:]}}
            else:
                current = dict(zip(MITIGATION_FIELDS, row))
            for field in MITIGATION_FIELDS:
                if field in values and values[field] != current[field]:
                    con.execute(f"update mitigations set {field} = ?, updated_at = ?, updated_by = ? "
                                "where kind = ? and key = ?", (values[field], at, user, kind, key))
                    changes.append(self._record(con, user, "mitigation", entity, field, current[field],
                                                values[field], at=at))
        return changes

    def mitigations(self) -> pl.DataFrame:
        """kind, key, status, owner, due_date (ISO text), note, link, updated_at, updated_by."""
        with self._read() as con:
            rows = con.execute("select kind, key, status, owner, due_date, note, link, updated_at, updated_by "
                               "from mitigations order by kind, key").fetchall()
        return pl.DataFrame(rows, orient="row", schema=MITIGATION_SCHEMA)

    # history and undo

    def history(self, *, entity_kind: str | None = None, entity_id: str | None = None, user: str | None = None,
                field: str | None = None, since: datetime | str | None = None, limit: int = 1000) -> pl.DataFrame:
        """Changes, newest first: change_id, at (UTC), user, entity_kind, entity_id, field, old_value, new_value,
        undone_by (the change that undid it, or null), source ('edit', 'undo of change N', 'import FILE',
        'etl carry-over run ID')."""
        where, params = [], []
        for column, value in (("entity_kind", entity_kind), ("entity_id", entity_id), ("user", user),
                              ("field", field)):
            if value is not None:
                where.append(f"{column} = ?")
                params.append(str(value))
        if since is not None:
            where.append("at >= ?")
            params.append(since.isoformat() if isinstance(since, (datetime, date)) else str(since))
        sql_text = ("select change_id, at, user, entity_kind, entity_id, field, old_value, new_value, undone_by, "
                    f"source from changes {'where ' + ' and '.join(where) if where else ''} "
                    "order by change_id desc limit ?")
        with self._read() as con:
            rows = con.execute(sql_text, (*params, int(limit))).fetchall()
        frame = pl.DataFrame(rows, orient="row", schema={**HISTORY_SCHEMA, "at": pl.String})
        return frame.with_columns(pl.col("at").str.to_datetime("%Y-%m-%dT%H:%M:%S%.f", time_unit="us"))

    def undo(self, change_id: int, *, user: str) -> int:
        """Undo one change: a new change restoring its old value (source 'undo of change N'); the undone change
        gets ``undone_by``. Refused when the value has changed again since (undo the later change first), when
        it is already undone, or for a rebuild's carry-over."""
        user = self._user(user)
        with self._write() as con:
            row = con.execute("select entity_kind, entity_id, field, old_value, new_value, undone_by, source "
                              "from changes where change_id = ?", (int(change_id),)).fetchone()
            if row is None:
                raise AnnotationError(f"There is no change {change_id}.")
            kind, entity_id, field, old, new, undone_by, source = row
            if undone_by is not None:
                raise AnnotationError(f"Change {change_id} was already undone by change {undone_by}.")
            if source.startswith("etl carry-over"):
                raise AnnotationError(f"Change {change_id} is a rebuild's carry-over and cannot be undone.")
            current = _current_text(con, kind, entity_id, field)
            if current != new:
                raise AnnotationError(f"The {field} of {kind} {entity_id} has changed since change {change_id}; "
                                      "undo the later change first.")
            _write_value(con, kind, entity_id, field, old, user)
            if kind == "cluster" and field == "merged_into" and old is not None:
                _check_no_cycle(con, int(entity_id), int(old))
            new_id = self._record(con, user, kind, entity_id, field, new, old, f"undo of change {change_id}")
            con.execute("update changes set undone_by = ? where change_id = ?", (new_id, int(change_id)))
            return new_id

    # carry-over bookkeeping (annotations.carry)

    def unplaced(self) -> pl.DataFrame:
        """Corrections the last rebuild could not carry over: entity_kind, entity_id, field, value, reason,
        run_id, at. Attack corrections stay in the store (they apply again if the attack comes back); cluster
        corrections are moved here, since their old cluster id may now name another cluster."""
        with self._read() as con:
            rows = con.execute("select entity_kind, entity_id, field, value, reason, run_id, at from unplaced "
                               "order by at desc, entity_kind, entity_id, field").fetchall()
        return pl.DataFrame(rows, orient="row", schema=UNPLACED_SCHEMA)

    @contextmanager
    def transaction(self, source: str | None = None) -> Iterator[sqlite3.Connection]:
        """One write transaction (``BEGIN IMMEDIATE``, revision bumped) for the carry-over and the import: the
        store's methods called inside it on this thread join it (each as a savepoint), and their history rows
        get ``source``."""
        with self._write() as con:
            self._local.con, self._local.source = con, source
            try:
                yield con
            finally:
                self._local.con = self._local.source = None


def _iso_date(value: date | str) -> str | None:
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str):
        if not value.strip():
            return None
        try:
            return date.fromisoformat(value.strip()).isoformat()
        except ValueError:
            pass
    raise AnnotationError(f"A due date is a date like 2026-12-31, not {value!r}.")


def _attack_values(con: sqlite3.Connection, ids: list[str], field: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        marks = ", ".join("?" * len(chunk))
        out.update(con.execute(f"select attack_id, {field} from attack_corrections where attack_id in ({marks})",
                               chunk).fetchall())
    return out


def _check_no_cycle(con: sqlite3.Connection, cluster_id: int, into: int) -> None:
    seen = {int(cluster_id)}
    target: int | None = int(into)
    while target is not None:
        if target in seen:
            raise AnnotationError(f"Merging cluster {cluster_id} into {into} would make a circle of merges.")
        seen.add(target)
        row = con.execute("select merged_into from cluster_corrections where cluster_id = ?", (target,)).fetchone()
        target = None if row is None else row[0]


def _current_text(con: sqlite3.Connection, kind: str, entity_id: str, field: str) -> str | None:
    if kind == "attack":
        row = con.execute(f"select {field} from attack_corrections where attack_id = ?", (entity_id,)).fetchone()
    elif kind == "cluster":
        row = con.execute(f"select {field} from cluster_corrections where cluster_id = ?", (int(entity_id),)).fetchone()
    else:
        mkind, _, key = entity_id.partition(":")
        row = con.execute(f"select {field} from mitigations where kind = ? and key = ?", (mkind, key)).fetchone()
    value = None if row is None else row[0]
    if value is not None and (kind, field) in BOOLEAN_FIELDS:
        value = bool(value)
    return encode(kind, field, value)


def _write_value(con: sqlite3.Connection, kind: str, entity_id: str, field: str, text: str | None, user: str) -> None:
    """Set one field of one entity from its history text (undo, import)."""
    value = decode(kind, field, text)
    if isinstance(value, bool):
        value = int(value)
    if kind == "attack":
        con.execute("insert into attack_corrections (attack_id) values (?) on conflict do nothing", (entity_id,))
        con.execute(f"update attack_corrections set {field} = ? where attack_id = ?", (value, entity_id))
        con.execute("delete from attack_corrections where theme is null and success is null and "
                    "exclusion is null and note is null")
    elif kind == "cluster":
        con.execute("insert into cluster_corrections (cluster_id) values (?) on conflict do nothing", (int(entity_id),))
        con.execute(f"update cluster_corrections set {field} = ? where cluster_id = ?", (value, int(entity_id)))
        con.execute("delete from cluster_corrections where label is null and theme is null and "
                    "merged_into is null and reviewed is null")
    else:
        mkind, _, key = entity_id.partition(":")
        if field == "status" and value is None:
            con.execute("delete from mitigations where kind = ? and key = ?", (mkind, key))
            return
        con.execute("insert into mitigations (kind, key, status, updated_at, updated_by) values (?, ?, 'open', ?, ?) "
                    "on conflict do nothing", (mkind, key, now_utc(), user))
        con.execute(f"update mitigations set {field} = ?, updated_at = ?, updated_by = ? where kind = ? and key = ?",
                    (value, now_utc(), user, mkind, key))


def write_snapshot(con: sqlite3.Connection, cluster_id: int, attack_ids: list[str], fit_id: str | None,
                   run_id: str | None) -> None:
    con.execute("insert into cluster_snapshots (cluster_id, attack_ids, fit_id, run_id, taken_at) "
                "values (?, ?, ?, ?, ?) on conflict (cluster_id) do update set attack_ids = excluded.attack_ids, "
                "fit_id = excluded.fit_id, run_id = excluded.run_id, taken_at = excluded.taken_at",
                (int(cluster_id), json.dumps(sorted(attack_ids)), fit_id, run_id, now_utc()))


# the published database (read-only, through DuckDB; imported lazily so the store alone stays light)

@contextmanager
def _published(db_path: Path) -> Iterator[Any]:
    import duckdb

    con = duckdb.connect(":memory:")
    try:
        con.execute("attach ? as published (read_only)", [str(db_path)])
        yield con
    finally:
        con.close()


def fit_id(run: dict[str, Any] | None) -> str | None:
    """The clustering fit a build's cluster ids come from: the full fit it placed its attacks on (``placement.
    base_run``, also for a reused copy, whose parameters are its source's), else the build's own run id."""
    if run is None:
        return None
    placement = run.get("parameters", {}).get("placement") or {}
    return placement.get("base_run") or run.get("run_id")


def read_database_facts(db_path: Path) -> DatabaseFacts | None:
    """Themes, cluster ids, latest run and fit of the published database at ``db_path`` (None if unreadable)."""
    from etl import store as etl_store

    try:
        with _published(db_path) as con:
            themes = {r[0] for r in con.execute("select theme from published.themes").fetchall()}
            themes |= {r[0] for r in con.execute(
                "select distinct theme from published.attacks where theme is not null").fetchall()}
            clusters = {int(r[0]) for r in con.execute("select cluster_id from published.clusters").fetchall()}
            attack_ids = {r[0] for r in con.execute("select attack_id from published.attacks").fetchall()}
            runs = con.sql("select * from published.runs").pl()
    except Exception:  # noqa: BLE001 - an unreadable database only means the values cannot be checked
        return None
    run = etl_store.latest_run(runs)
    return DatabaseFacts(themes=frozenset(themes), clusters=frozenset(clusters), attack_ids=frozenset(attack_ids),
                         run_id=None if run is None else run.get("run_id"), fit_id=fit_id(run))


def cluster_members(db_path: Path, cluster_id: int) -> list[str]:
    with _published(db_path) as con:
        return [r[0] for r in con.execute("select attack_id from published.attacks where cluster_id = ?",
                                          [int(cluster_id)]).fetchall()]


def store_exists(db_path: str | Path) -> bool:
    return os.path.exists(store_path_for(db_path))
