"""The annotations store: analyst corrections, mitigation tracking and their full history (skeleton; see
/work/notes/annotations-api.md)."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from etl.errors import UserError

MITIGATION_STATUSES = ("open", "in_progress", "mitigated", "accepted_risk")
EXCLUSION_REASONS = ("not_an_attack", "duplicate")
SUFFIX = ".annotations.sqlite"


class AnnotationError(UserError):
    """An invalid annotation value, explained in one readable sentence."""


def store_path_for(db_path: str | Path) -> Path:
    """The store file beside the published database: ``risk.duckdb`` -> ``risk.duckdb.annotations.sqlite``."""
    return Path(str(db_path) + SUFFIX)


class AnnotationStore:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    @classmethod
    def for_database(cls, db_path: str | Path) -> AnnotationStore:
        return cls(store_path_for(db_path))

    def version(self) -> int: raise NotImplementedError
    def rename_cluster(self, cluster_id: int, label: str, *, user: str) -> int: raise NotImplementedError
    def set_cluster_theme(self, cluster_id: int, theme_id: str | None, *, user: str) -> int: raise NotImplementedError
    def merge_cluster(self, cluster_id: int, into_cluster_id: int | None, *, user: str) -> int: raise NotImplementedError
    def mark_cluster_reviewed(self, cluster_id: int, reviewed: bool, *, user: str) -> int: raise NotImplementedError
    def set_attack_theme(self, attack_ids, theme_id, *, user: str) -> list[int]: raise NotImplementedError
    def set_attack_success(self, attack_ids, success, *, user: str) -> list[int]: raise NotImplementedError
    def set_attack_exclusion(self, attack_ids, reason, *, user: str) -> list[int]: raise NotImplementedError
    def set_attack_note(self, attack_id: str, note: str | None, *, user: str) -> int: raise NotImplementedError
    def set_mitigation(self, kind, key, *, status=None, owner=None, due_date=None, note=None, link=None,
                       user: str) -> list[int]: raise NotImplementedError
    def mitigations(self) -> pl.DataFrame: raise NotImplementedError
    def attack_corrections(self) -> pl.DataFrame: raise NotImplementedError
    def cluster_corrections(self) -> pl.DataFrame: raise NotImplementedError
    def history(self, *, entity_kind=None, entity_id=None, user=None, field=None, since=None,
                limit=1000) -> pl.DataFrame: raise NotImplementedError
    def undo(self, change_id: int, *, user: str) -> int: raise NotImplementedError
    def unplaced(self) -> pl.DataFrame: raise NotImplementedError
