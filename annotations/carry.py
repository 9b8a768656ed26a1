"""Carry the analysts' corrections over to a rebuilt database (run by ``redteam-risk etl`` after it publishes).

- Attack corrections are keyed by ``attack_id``, a hash of the dataset identity and the record's content
  (``etl.validate``), so the same record gets the same id in every build. A correction whose attack is no longer
  in the database stays in the store (it applies again if the attack comes back) and is listed as unplaced.
- Cluster corrections (and cluster mitigations) are keyed by the published cluster id, which only means the
  same group of attacks within one clustering fit: a build that reuses the previous build or places new attacks
  on its fit (``etl/reuse.py``, ``etl/place.py``; ``runs.parameters.placement.base_run``) keeps the ids. After a
  refit, each corrected cluster is re-keyed to the new cluster holding most of the attacks it held when it was
  corrected (its membership snapshot), with a history row (source ``etl carry-over run <id>``). A correction
  that cannot be placed (no attack of it is in a cluster any more, the cluster is gone, no snapshot, or another
  correction already took the same cluster and field) is moved from the store's current state to its unplaced
  list with the reason: never dropped silently, never applied to the wrong cluster.

The carry-over writes only the store, in one transaction; a store it cannot read is left untouched and the
caller gets an ``AnnotationError`` to show as a warning (the ETL never fails because of it).
"""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from annotations.store import (
    CLUSTER_FIELDS,
    MITIGATION_FIELDS,
    UNCLUSTERED,
    AnnotationStore,
    _published,
    encode,
    fit_id,
    now_utc,
    store_path_for,
    write_snapshot,
)


@dataclass
class CarryOver:
    """What one carry-over did."""

    run_id: str | None
    refitted: bool  # the build's clusters come from another fit than the corrections'
    attacks_kept: int = 0  # attack corrections whose attack is in the new build
    attacks_unplaced: int = 0  # ... whose attack is not (kept in the store, listed as unplaced)
    clusters_kept: int = 0  # cluster corrections / mitigations on the same cluster id
    clusters_moved: dict[int, int] = field(default_factory=dict)  # old cluster id -> new cluster id
    clusters_unplaced: int = 0  # cluster fields moved to the unplaced list

    def summary(self) -> str:
        """One line for the CLI."""
        how = "clusters refitted" if self.refitted else "same clusters"
        return (f"annotations carried over to run {self.run_id} ({how}): {self.attacks_kept} attack corrections "
                f"kept, {self.clusters_kept} cluster corrections kept, {len(self.clusters_moved)} re-placed on the "
                f"cluster holding most of their attacks, {self.attacks_unplaced + self.clusters_unplaced} unplaced"
                + (" (listed on the Data & runs page)" if self.attacks_unplaced + self.clusters_unplaced else ""))


@dataclass(frozen=True)
class _Build:
    run_id: str | None
    fit_id: str | None
    attack_ids: frozenset[str]
    cluster_of: dict[str, int]  # attack id -> published cluster id
    clusters: frozenset[int]


def _read_build(db_path: Path) -> _Build:
    from etl import store as etl_store

    with _published(db_path) as con:
        rows = con.execute("select attack_id, cluster_id from published.attacks").fetchall()
        clusters = {int(r[0]) for r in con.execute("select cluster_id from published.clusters").fetchall()}
        run = etl_store.latest_run(con.sql("select * from published.runs").pl())
    return _Build(
        run_id=None if run is None else run.get("run_id"), fit_id=fit_id(run),
        attack_ids=frozenset(r[0] for r in rows),
        cluster_of={r[0]: int(r[1]) for r in rows if r[1] is not None},
        clusters=frozenset(clusters))


def carry_over(db_path: str | Path) -> CarryOver | None:
    """Carry the corrections of the store beside ``db_path`` over to the database now published there; None
    when there is no store. Raises ``AnnotationError`` (store left untouched) when the store cannot be read."""
    db_path = Path(db_path)
    if not store_path_for(db_path).exists():
        return None
    store = AnnotationStore.for_database(db_path)
    build = _read_build(db_path)
    source = f"etl carry-over run {build.run_id}"
    snapshots = store.cluster_snapshots()
    with store.transaction() as con:
        at = now_utc()
        result = CarryOver(run_id=build.run_id, refitted=False)
        # attacks: kept by id; the missing ones listed (again) as unplaced
        con.execute("delete from unplaced where entity_kind = 'attack'")
        for attack_id, theme, success, exclusion, note in con.execute(
                "select attack_id, theme, success, exclusion, note from attack_corrections").fetchall():
            if attack_id in build.attack_ids:
                result.attacks_kept += 1
                continue
            result.attacks_unplaced += 1
            value = json.dumps({k: v for k, v in (("theme", theme), ("success", None if success is None else
                                bool(success)), ("exclusion", exclusion), ("note", note)) if v is not None},
                               ensure_ascii=False)
            con.execute("insert into unplaced (entity_kind, entity_id, field, value, reason, run_id, at) "
                        "values ('attack', ?, '*', ?, ?, ?, ?)",
                        (attack_id, value, f"attack {attack_id} is not in run {build.run_id}; the correction is "
                         "kept and applies again if the attack comes back", build.run_id, at))
        # clusters: the id each corrected (or tracked, or merge-target) cluster has in the new build
        corrections = {r[0]: dict(zip(CLUSTER_FIELDS, r[1:])) for r in con.execute(
            f"select cluster_id, {', '.join(CLUSTER_FIELDS)} from cluster_corrections").fetchall()}
        tracked = {int(key) for (key,) in con.execute(
            "select key from mitigations where kind = 'cluster'").fetchall() if key.lstrip("-").isdigit()}
        involved = set(corrections) | tracked | {c["merged_into"] for c in corrections.values()
                                                 if c["merged_into"] is not None}
        placed: dict[int, tuple[int | None, str, int]] = {}  # old id -> (new id or None, reason, overlap)
        row = con.execute("select value from meta where key = 'fit_id'").fetchone()
        last_fit = row[0] if row else None  # the fit of the build the store was last carried over to
        for old in sorted(involved):
            placed[old] = _place(old, snapshots.get(old), build, last_fit)
            if placed[old][0] is not None and placed[old][0] != old:
                result.refitted = True
        result.refitted = result.refitted or any(
            snap_fit != build.fit_id for old, (_, snap_fit) in snapshots.items() if old in involved)
        _rewrite_clusters(con, corrections, placed, build, source, at, result)
        _rewrite_mitigations(con, tracked, placed, build, source, at, result)
        # fresh snapshots on the new build for every cluster still involved
        still = {r[0] for r in con.execute("select cluster_id from cluster_corrections").fetchall()}
        still |= {r[0] for r in con.execute("select merged_into from cluster_corrections "
                                            "where merged_into is not null").fetchall()}
        still |= {int(k) for (k,) in con.execute("select key from mitigations where kind = 'cluster'").fetchall()
                  if k.lstrip("-").isdigit()}
        members: dict[int, list[str]] = {}
        for attack_id, cluster_id in build.cluster_of.items():
            if cluster_id in still:
                members.setdefault(cluster_id, []).append(attack_id)
        con.execute("delete from cluster_snapshots")
        for cluster_id in still:
            write_snapshot(con, cluster_id, members.get(cluster_id, []), build.fit_id, build.run_id)
        for key, value in (("carried_to_run", build.run_id), ("fit_id", build.fit_id)):
            con.execute("insert into meta (key, value) values (?, ?) on conflict (key) do update "
                        "set value = excluded.value", (key, value))
    return result


def _place(old: int, snapshot: tuple[list[str], str | None] | None, build: _Build,
           last_fit: str | None) -> tuple[int | None, str, int]:
    """The new id of published cluster ``old`` (or None) with the reason, and how many of its attacks it holds."""
    fit = snapshot[1] if snapshot is not None else last_fit
    if fit is not None and fit == build.fit_id:
        if old in build.clusters:
            return old, "same clustering fit", 0
        return None, f"cluster {old} is not in run {build.run_id} any more", 0
    if snapshot is None:
        return None, (f"cluster {old} has no record of its attacks (it was corrected without its database) and "
                      f"run {build.run_id} refitted the clusters"), 0
    votes = Counter(build.cluster_of[a] for a in snapshot[0] if a in build.cluster_of
                    and build.cluster_of[a] != UNCLUSTERED)
    if not votes:
        return None, (f"none of the {len(snapshot[0])} attacks of cluster {old} is in a cluster of run "
                      f"{build.run_id}"), 0
    (new, n), *_ = sorted(votes.items(), key=lambda kv: (-kv[1], kv[0]))
    return new, f"{n} of its {len(snapshot[0])} attacks are now in cluster {new}", n


def _unplace(con: sqlite3.Connection, kind: str, entity_id: str, field_: str, value: str | None, reason: str,
             build: _Build, source: str, at: str) -> None:
    con.execute("insert into unplaced (entity_kind, entity_id, field, value, reason, run_id, at) "
                "values (?, ?, ?, ?, ?, ?, ?)", (kind, entity_id, field_, value, reason, build.run_id, at))
    con.execute("insert into changes (at, user, entity_kind, entity_id, field, old_value, new_value, source) "
                "values (?, 'etl', ?, ?, ?, ?, null, ?)", (at, kind, entity_id, field_, value, source))


def _rewrite_clusters(con: sqlite3.Connection, corrections: dict[int, dict], placed: dict, build: _Build,
                      source: str, at: str, result: CarryOver) -> None:
    """Re-key the cluster corrections to their new ids (strongest overlap first wins a contested field)."""
    order = sorted(corrections, key=lambda c: (-placed[c][2], c))
    new_rows: dict[int, dict] = {}
    for old in order:
        new, reason, _ = placed[old]
        values = corrections[old]
        if new is None:
            for name in CLUSTER_FIELDS:
                if values[name] is not None:
                    _unplace(con, "cluster", str(old), name, encode("cluster", name, _norm(name, values[name])),
                             reason, build, source, at)
                    result.clusters_unplaced += 1
            continue
        row = new_rows.setdefault(new, dict.fromkeys(CLUSTER_FIELDS))
        for name in CLUSTER_FIELDS:
            value = values[name]
            if value is None:
                continue
            if name == "merged_into":
                target, target_reason, _ = placed.get(value, (None, "not placed", 0))
                if target is None:
                    _unplace(con, "cluster", str(old), name, str(value), f"merge target: {target_reason}", build,
                             source, at)
                    result.clusters_unplaced += 1
                    continue
                if target == new:
                    _unplace(con, "cluster", str(old), name, str(value), f"clusters {old} and {value} are one "
                             f"cluster ({new}) in run {build.run_id}; nothing left to merge", build, source, at)
                    result.clusters_unplaced += 1
                    continue
                value = target
            if row[name] is not None:
                _unplace(con, "cluster", str(old), name, encode("cluster", name, _norm(name, value)),
                         f"cluster {new} of run {build.run_id} already took this {name} from another corrected "
                         f"cluster with more of its attacks ({reason})", build, source, at)
                result.clusters_unplaced += 1
                continue
            row[name] = value
        if new == old:
            result.clusters_kept += 1
        else:
            result.clusters_moved[old] = new
            con.execute("insert into changes (at, user, entity_kind, entity_id, field, old_value, new_value, source) "
                        "values (?, 'etl', 'cluster', ?, 'cluster_id', ?, ?, ?)",
                        (at, str(new), str(old), str(new), f"{source}: {reason}"))
    con.execute("delete from cluster_corrections")
    for new, row in new_rows.items():
        if any(v is not None for v in row.values()):
            con.execute(f"insert into cluster_corrections (cluster_id, {', '.join(CLUSTER_FIELDS)}) "
                        "values (?, ?, ?, ?, ?)", (new, *(row[name] for name in CLUSTER_FIELDS)))
    _break_cycles(con, build, source, at, result)


def _break_cycles(con: sqlite3.Connection, build: _Build, source: str, at: str, result: CarryOver) -> None:
    merges = dict(con.execute("select cluster_id, merged_into from cluster_corrections "
                              "where merged_into is not null").fetchall())
    for start in sorted(merges):
        seen, node = [], start
        while node in merges and node not in seen:
            seen.append(node)
            node = merges[node]
        if node == start:  # a circle after re-keying: the first merge of it is unplaced
            _unplace(con, "cluster", str(start), "merged_into", str(merges[start]),
                     f"re-keyed merges of run {build.run_id} would go round in a circle", build, source, at)
            result.clusters_unplaced += 1
            con.execute("update cluster_corrections set merged_into = null where cluster_id = ?", (start,))
            merges.pop(start)


def _rewrite_mitigations(con: sqlite3.Connection, tracked: set[int], placed: dict, build: _Build, source: str,
                         at: str, result: CarryOver) -> None:
    rows = {int(r[0]): r[1:] for r in con.execute(
        f"select key, {', '.join(MITIGATION_FIELDS)}, updated_at, updated_by from mitigations "
        "where kind = 'cluster'").fetchall() if r[0].lstrip("-").isdigit()}
    taken: set[int] = set()
    for old in sorted(rows, key=lambda c: (-placed[c][2], c)):
        new, reason, _ = placed[old]
        values = dict(zip(MITIGATION_FIELDS, rows[old][:len(MITIGATION_FIELDS)]))
        if new is None or new in taken:
            why = reason if new is None else (f"cluster {new} of run {build.run_id} already has the mitigation of "
                                              "another cluster with more of its attacks")
            con.execute("delete from mitigations where kind = 'cluster' and key = ?", (str(old),))
            for name, value in values.items():
                if value is not None:
                    _unplace(con, "mitigation", f"cluster:{old}", name, value, why, build, source, at)
                    result.clusters_unplaced += 1
            continue
        taken.add(new)
        if new != old:
            con.execute("update mitigations set key = ? where kind = 'cluster' and key = ?", (f"~{new}", str(old)))
            con.execute("insert into changes (at, user, entity_kind, entity_id, field, old_value, new_value, source) "
                        "values (?, 'etl', 'mitigation', ?, 'key', ?, ?, ?)",
                        (at, f"cluster:{new}", f"cluster:{old}", f"cluster:{new}", f"{source}: {reason}"))
            result.clusters_moved.setdefault(old, new)
    # two-step rename above avoids clashing with a key that is itself being moved away
    con.execute("update mitigations set key = substr(key, 2) where kind = 'cluster' and key like '~%'")


def _norm(name: str, value):
    return bool(value) if name == "reviewed" else value
