"""Comparing two scopes of one published database: did the mitigation work?

A and B are each a ``sql.filters.Filters`` over the same database (model, model type or size, campaign,
attack method, …). The statistics are SQL, defined once in ``sql/queries/``:

- ``compare_groups``: success in A and B per theme, cluster and attack method and overall, the difference
  B − A with Newcombe's 95 % interval and a Bonferroni-adjusted one, a regression / improvement flag and the
  "new weaknesses" rank;
- ``compare_pairs``: the attacks present in both scopes (same attack text, or same intent), one row each;
- ``compare_paired_counts``: newly succeeding / newly failing counts per theme, attack method and overall.

Each reads the attacks of the two scopes through ``queries/attacks_in_scope.sql`` (so query-time overlays
apply to both), instantiated twice with its parameters renamed ``$a_*`` and ``$b_*``. The only arithmetic
here is McNemar's exact p-value from the SQL's discordant counts (and Holm's step-down over the themes).
docs/metrics.md#comparing-two-scopes describes every formula.

    result = compare(con, Filters(models=("m-1",)), Filters(models=("m-2",)))
    result.groups, result.paired, result.newly_succeeding   # polars frames
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import duckdb
import polars as pl

import sql
from etl.errors import UserError
from sql.filters import LIST_FIELDS, Filters

PAIR_ON = ("attack_text", "task_description")
NEWLY_SUCCEEDING_LIMIT = 500  # the newly succeeding attacks listed (the counts cover all of them)
# Scope syntax: "model=X,model_type=rlhf|plain lm" — short keys for the Filters fields people compare on.
SCOPE_KEYS = {
    "model": "models", "model_type": "model_types", "model_size": "model_sizes", "size": "model_sizes",
    "campaign": "campaigns", "attack_method": "attack_methods", "method": "attack_methods",
    "category": "categories", "theme": "themes", "cluster": "cluster_ids", "source_file": "source_files",
    "file": "source_files", "pool": "red_team_pool",
    "success_threshold": "success_threshold", "text": "text",
    "from": "created_from", "created_from": "created_from",  # created-at range: ISO dates (inclusive days)
    "to": "created_to", "created_to": "created_to",  # or datetimes, e.g. from=2026-01-01,to=2026-03-31
}


CLUSTERS_ACROSS_BUILDS = (
    "Two builds are compared: clusters are left out (a cluster id names a cluster of one build's fit only); "
    "themes, attack methods and the paired attacks compare across builds. Analysts' attack corrections apply "
    "to both builds, cluster corrections only to the current one.")


class ScopeError(UserError):
    """A comparison scope that cannot be read; the message says which part and what is accepted."""


@dataclass(frozen=True)
class Comparison:
    """The comparison of scope ``a`` with scope ``b`` (frames in the column order of the SQL)."""

    a: Filters
    b: Filters
    pair_on: str
    groups: pl.DataFrame  # compare_groups
    paired: pl.DataFrame  # compare_paired_counts + mcnemar_p (+ mcnemar_p_holm on the theme rows)
    newly_succeeding: pl.DataFrame  # compare_pairs rows with outcome 'newly succeeding' (at most the limit)
    n_newly_succeeding_total: int = 0  # how many newly succeeding attacks there are in all
    notes: tuple[str, ...] = field(default=())
    run_a: str | None = None  # the builds compared (``Queries.compare(run_a=…)``): None = one database
    run_b: str | None = None

    def overall(self) -> dict[str, Any]:
        """The 'all' row of ``groups`` as a dict."""
        rows = self.groups.filter(pl.col("grain") == "all")
        return rows.row(0, named=True) if rows.height else {}

    def grain(self, grain: str) -> pl.DataFrame:
        return self.groups.filter(pl.col("grain") == grain)

    def regressions(self) -> pl.DataFrame:
        """Flagged regressions overall and per theme (what ``--fail-on-regression`` fails on)."""
        return self.groups.filter(pl.col("grain").is_in(["all", "theme"]) & (pl.col("change") == "regression"))

    def new_weaknesses(self) -> pl.DataFrame:
        """Themes and clusters whose success rises beyond the adjusted interval, ranked (1 = surest)."""
        return self.groups.filter(pl.col("weakness_rank").is_not_null()).sort("grain", "weakness_rank",
                                                                              descending=[True, False])

    def paired_overall(self) -> dict[str, Any]:
        rows = self.paired.filter(pl.col("grain") == "all")
        return rows.row(0, named=True) if rows.height else {"n_pairs": 0}


def _prefixed(text: str, prefix: str) -> str:
    """``text`` with every named parameter ``$name`` renamed ``$<prefix>name``."""
    return re.sub(r"\$([A-Za-z_]\w*)", lambda m: f"${prefix}{m.group(1)}", text)


def _in_catalog(scope: str, catalog: str | None) -> str:
    """``scope`` (attacks_in_scope.sql) reading the attacks and clusters of the attached database ``catalog``
    (a kept build, ``Queries.compare``) instead of the database in use; None: unchanged. The analysts' attack
    corrections apply (attack ids are the same in every build of a record); cluster corrections do not (a
    cluster id names a cluster of one clustering fit only, the current build's)."""
    if catalog is None:
        return scope
    from annotations import overlay

    if not re.fullmatch(r"[a-z_][a-z0-9_]*", catalog) or overlay.CLUSTERS not in scope:
        raise ValueError(f"cannot read the scope from catalog {catalog!r}")
    return (f"with attacks as (select * from {catalog}.main.attacks),\n"
            f"clusters as (select * from {catalog}.main.clusters),\n"
            f"attack_search as (select * from {catalog}.main.attack_search),\n"
            f"no_cluster_corrections as (select * from {overlay.CLUSTERS} where false)\n"
            f"select * from (\n{scope.replace(overlay.CLUSTERS, 'no_cluster_corrections')}\n)")


@cache
def two_scopes(name: str, catalog_a: str | None = None, catalog_b: str | None = None) -> str:
    """SQL of ``sql/queries/<name>.sql`` with the CTEs it reads: ``scope_a`` / ``scope_b`` (the attacks in
    each scope: attacks_in_scope.sql with parameters ``$a_*`` / ``$b_*``, over the attached database
    ``catalog_a`` / ``catalog_b`` when given, see ``_in_catalog``), ``metric_settings`` and, for
    the paired counts, ``compare_pairs``. Bind with ``bind_scopes(text, a, b, ...)``."""
    scope = sql.read("queries", "attacks_in_scope")
    ctes = [("scope_a", _prefixed(_in_catalog(scope, catalog_a), "a_")),
            ("scope_b", _prefixed(_in_catalog(scope, catalog_b), "b_")),
            ("metric_settings", sql.read("views", "metric_settings")),
            ("clusters", sql.read("queries", "clusters_in_scope"))]  # labels and themes as the analysts corrected them
    if name == "compare_paired_counts":
        ctes.append(("compare_pairs", sql.read("queries", "compare_pairs")))
    with_clause = ",\n".join(f"{cte} as (\n{body}\n)" for cte, body in ctes)
    return f"with\n{with_clause}\nselect * from (\n{sql.read('queries', name)}\n)"


def bind_scopes(text: str, a: Filters, b: Filters, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    values = {**{f"a_{k}": v for k, v in a.params().items()}, **{f"b_{k}": v for k, v in b.params().items()},
              **(extra or {})}
    return sql.bind(text, values)


def _run(con: duckdb.DuckDBPyConnection, name: str, a: Filters, b: Filters,
         extra: dict[str, Any] | None = None, tail: str = "",
         catalogs: tuple[str | None, str | None] = (None, None)) -> pl.DataFrame:
    from annotations import overlay  # the scopes join the analyst corrections' tables (empty without any)

    overlay.ensure(con)
    text = two_scopes(name, *catalogs) + tail
    return con.sql(text, params=bind_scopes(text, a, b, extra)).pl()


def compare(con: duckdb.DuckDBPyConnection, a: Filters, b: Filters, pair_on: str = "attack_text",
            limit: int = NEWLY_SUCCEEDING_LIMIT, catalogs: tuple[str | None, str | None] = (None, None),
            runs: tuple[str | None, str | None] = (None, None)) -> Comparison:
    """Compare scope ``a`` (before / reference) with scope ``b`` (after / candidate) on ``con``.

    Two builds: ``catalogs`` names the attached databases whose attacks scope A and scope B read (None: the
    database in use) and ``runs`` their run ids (``Queries.compare(run_a=…, run_b=…)`` attaches them). Cluster
    ids belong to one build, so across builds the cluster grain is left out (a note says so)."""
    if pair_on not in PAIR_ON:
        raise ScopeError(f"pair_on must be one of {', '.join(PAIR_ON)}, not {pair_on!r}")
    extra = {"pair_on": pair_on}
    groups = _run(con, "compare_groups", a, b, extra, catalogs=catalogs)
    paired = _run(con, "compare_paired_counts", a, b, extra, catalogs=catalogs)
    paired = with_mcnemar(paired)
    newly = _run(con, "compare_pairs", a, b, {**extra, "newly_limit": int(limit)},
                 "\nwhere outcome = 'newly succeeding' order by theme, pair_key limit $newly_limit", catalogs=catalogs)
    n_newly = int(paired.filter(pl.col("grain") == "all")["n_newly_succeeding"].sum()) if paired.height else 0
    notes = scope_notes(groups)
    if catalogs != (None, None):
        groups = groups.filter(pl.col("grain") != "cluster")
        notes += (CLUSTERS_ACROSS_BUILDS,)
    return Comparison(a=a, b=b, pair_on=pair_on, groups=groups, paired=paired, newly_succeeding=newly,
                      n_newly_succeeding_total=n_newly, notes=notes, run_a=runs[0], run_b=runs[1])


def scope_notes(groups: pl.DataFrame) -> tuple[str, ...]:
    """Sentences explaining an empty or tiny scope (instead of showing zeros)."""
    overall = groups.filter(pl.col("grain") == "all")
    notes = []
    n = {"A": 0, "B": 0}
    judged = {"A": 0, "B": 0}
    small = 0
    if overall.height:
        row = overall.row(0, named=True)
        n = {"A": row["n_attacks_a"], "B": row["n_attacks_b"]}
        judged = {"A": row["n_judged_a"], "B": row["n_judged_b"]}
        small = row["min_cell_attacks"]
    for side in ("A", "B"):
        if n[side] == 0:
            notes.append(f"Scope {side} has no attacks: nothing to compare. Check its filters.")
        elif judged[side] == 0:
            notes.append(f"Scope {side} has {n[side]} attacks but none with a success value (no rating and no "
                         "success flag), so no success rate can be compared.")
        elif judged[side] < small:
            notes.append(f"Scope {side} has only {judged[side]} attacks with a success value: intervals are wide "
                         "and few differences can be told from chance.")
    return tuple(notes)


# ---- McNemar's exact test ------------------------------------------------------------------------------


def mcnemar_exact(newly_succeeding: int, newly_failing: int) -> float | None:
    """Two-sided exact McNemar p-value: the binomial test of min(b, c) of b + c discordant pairs at p = 1/2,
    ``min(1, 2 · P(X ≤ min(b, c)))``; None without discordant pairs."""
    b, c = int(newly_succeeding), int(newly_failing)
    n = b + c
    if n == 0:
        return None
    k = min(b, c)
    log_half_n = -n * math.log(2)
    tail = sum(math.exp(math.lgamma(n + 1) - math.lgamma(i + 1) - math.lgamma(n - i + 1) + log_half_n)
               for i in range(k + 1))
    return min(1.0, 2.0 * tail)


def holm(p_values: list[float | None]) -> list[float | None]:
    """Holm's step-down adjusted p-values (None stays None and does not count as a test)."""
    present = sorted((p, i) for i, p in enumerate(p_values) if p is not None)
    m = len(present)
    out: list[float | None] = [None] * len(p_values)
    running = 0.0
    for rank, (p, i) in enumerate(present):
        running = max(running, min(1.0, (m - rank) * p))
        out[i] = running
    return out


def with_mcnemar(paired: pl.DataFrame) -> pl.DataFrame:
    """``paired`` with ``mcnemar_p`` per row and ``mcnemar_p_holm`` (Holm over the theme rows; null elsewhere)."""
    p = [mcnemar_exact(b, c) for b, c in zip(paired["n_newly_succeeding"].to_list(),
                                               paired["n_newly_failing"].to_list())]
    grains = paired["grain"].to_list()
    theme_idx = [i for i, g in enumerate(grains) if g == "theme"]
    adjusted = holm([p[i] for i in theme_idx])
    p_holm: list[float | None] = [None] * len(p)
    for i, value in zip(theme_idx, adjusted):
        p_holm[i] = value
    return paired.with_columns(pl.Series("mcnemar_p", p, dtype=pl.Float64),
                               pl.Series("mcnemar_p_holm", p_holm, dtype=pl.Float64))


# ---- scope syntax --------------------------------------------------------------------------------------


def parse_scope(text: str) -> Filters:
    """A scope from ``key=value`` parts separated by commas; a value lists alternatives with ``|``:
    ``"model=gpt-4"``, ``"model_type=rlhf,size=52B|13B"``, ``"campaign=after-fix"``. Keys: ``SCOPE_KEYS``
    (``model``, ``model_type``, ``model_size``/``size``, ``campaign``, ``attack_method``/``method``,
    ``category``, ``theme``, ``cluster``, ``source_file``/``file``, ``pool``, ``success_threshold``, ``text``,
    ``from``/``to``: the created-at range, ISO dates or datetimes, e.g. ``from=2026-01-01,to=2026-03-31``).
    An empty text is every
    attack. Raises ``ScopeError`` naming the bad part."""
    kwargs: dict[str, Any] = {}
    for part in (p.strip() for p in (text or "").split(",")):
        if not part:
            continue
        key, sep, value = part.partition("=")
        key = key.strip().lower()
        if not sep or not key:
            raise ScopeError(f"scope part {part!r} is not key=value (e.g. model=my-model)")
        if key not in SCOPE_KEYS:
            raise ScopeError(f"unknown scope key {key!r}; use one of {', '.join(sorted(SCOPE_KEYS))}")
        name = SCOPE_KEYS[key]
        values = [v.strip() for v in value.split("|") if v.strip()]
        if not values:
            raise ScopeError(f"scope key {key!r} has no value")
        if name in LIST_FIELDS:
            kwargs[name] = (*kwargs.get(name, ()), *values)
        elif name in kwargs or len(values) > 1:
            raise ScopeError(f"scope key {key!r} takes one value")
        else:
            kwargs[name] = values[0]
    try:
        return Filters(**kwargs)
    except UserError as exc:
        raise ScopeError(str(exc)) from None


def format_scope(filters: Filters) -> str:
    """The scope syntax of ``filters`` (``parse_scope(format_scope(f)) == f`` for the fields of SCOPE_KEYS)."""
    short = {}
    for key, name in SCOPE_KEYS.items():
        short.setdefault(name, key)
    parts = []
    for name, key in short.items():
        value = getattr(filters, name)
        if value in ((), None):
            continue
        text = "|".join(str(v) for v in value) if isinstance(value, tuple) else (
            f"{value:g}" if isinstance(value, float) else str(value))
        parts.append(f"{key}={text}")
    return ",".join(parts)
