"""SQL shipped with the package: ``schema/`` (tables), ``views/`` (metric views), ``queries/`` (named,
parameterised queries), ``macros/`` (scalar macros the views and queries share, such as the Wilson and Newcombe
interval bounds: each formula written once). One object per file; the file name is the object name.

Filtered variants: ``scoped(name)`` evaluates a view or query body over ``queries/attacks_in_scope.sql``
instead of the ``attacks`` table, so the user's filters reach SQL only as bound parameters::

    text = sql.scoped("theme_metrics")
    con.sql(text, params=sql.bind(text, filters.params())).pl()

or in one call ``sql.query(con, "theme_metrics", filters=filters)``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import duckdb
    import polars as pl

    from sql.filters import Filters

# In a scoped query these names are CTEs built from queries/, shadowing the table/view of the same name.
_SCOPE_OVERRIDES = {"attacks": "attacks_in_scope", "metric_settings": "metric_settings_in_scope",
                    "clusters": "clusters_in_scope"}


_INCLUDE = re.compile(r"^[ \t]*@include[ \t]+(\S+)[ \t]*$", re.MULTILINE)


@cache
def read(kind: str, name: str) -> str:
    """Text of ``sql/<kind>/<name>.sql`` without a trailing semicolon, each ``@include <path>`` line replaced by
    the text of ``sql/<kind>/<path>`` without its comment lines (a column list two tables share, defined once).
    """
    folder = resources.files(__name__).joinpath(kind)

    def include(match: re.Match) -> str:
        lines = folder.joinpath(match.group(1)).read_text(encoding="utf-8").splitlines()
        return "\n".join(line for line in lines if not line.lstrip().startswith("--")).rstrip()

    text = folder.joinpath(f"{name}.sql").read_text(encoding="utf-8")
    return _INCLUDE.sub(include, text).strip().rstrip(";")


def names(kind: str) -> list[str]:
    """Object names in ``sql/<kind>/``, sorted."""
    folder = resources.files(__name__).joinpath(kind)
    return sorted(p.name[:-4] for p in folder.iterdir() if p.name.endswith(".sql"))


def _strip_comments(text: str) -> str:
    return re.sub(r"--[^\n]*", "", text)


def create_macros(con: duckdb.DuckDBPyConnection, *, temporary: bool = False) -> None:
    """Create every macro in ``sql/macros`` (``<file name>`` = ``<file body>``, a parameter list and an expression).

    The build creates them in the database, before its views (a published file's views work in any DuckDB);
    ``temporary`` creates them for this connection only, e.g. on a read-only one whose scoped queries use them.
    """
    for name in names("macros"):
        con.execute(f"create or replace {'temp ' if temporary else ''}macro {name}\n{read('macros', name)}")


@cache
def dependencies(kind: str, name: str) -> tuple[str, ...]:
    """Views that ``sql/<kind>/<name>.sql`` reads, directly or through other views, in creation order
    (a view comes after the views it reads)."""
    view_names = names("views")
    ordered: list[str] = []

    def visit(text: str, seen: tuple[str, ...]) -> None:
        body = _strip_comments(text)
        for view in view_names:
            if view in ordered or view in seen or not re.search(rf"\b{view}\b", body):
                continue
            visit(read("views", view), (*seen, view))
            ordered.append(view)

    visit(read(kind, name), (name,) if kind == "views" else ())
    return tuple(ordered)


@cache
def scoped(name: str, kind: str = "views") -> str:
    """SQL evaluating ``sql/<kind>/<name>.sql`` over the attacks in the caller's scope.

    ``attacks``, ``metric_settings`` and ``clusters`` become CTEs built from ``queries/attacks_in_scope.sql``,
    ``queries/metric_settings_in_scope.sql`` and ``queries/clusters_in_scope.sql`` (named parameters
    ``$model_sizes``, …, ``$tail_threshold``; analyst corrections applied, ``annotations.overlay``),
    followed by every view the body reads, inlined as CTEs of the same name so that they too read the
    scoped attacks. Bind the parameters with ``bind(text, filters.params())``.
    """
    ctes = [(cte, read("queries", query)) for cte, query in _SCOPE_OVERRIDES.items()]
    ctes += [(view, read("views", view)) for view in dependencies(kind, name) if view not in _SCOPE_OVERRIDES]
    # Bodies may end in a comment, so every closing parenthesis goes on its own line.
    with_clause = ",\n".join(f"{cte} as (\n{body}\n)" for cte, body in ctes)
    if kind == "views" and name in _SCOPE_OVERRIDES:  # the view itself is overridden (metric_settings)
        return f"with\n{with_clause}\nselect * from {name}"
    return f"with\n{with_clause}\nselect * from (\n{read(kind, name)}\n)"


@cache
def parameters(text: str) -> frozenset[str]:
    """Names of the named parameters (``$name``) that the SQL ``text`` uses."""
    import duckdb

    con = duckdb.connect()
    try:
        return frozenset(name for statement in con.extract_statements(text) for name in statement.named_parameters)
    finally:
        con.close()


def bind(text: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """The parameters ``text`` uses, from ``params`` (missing ones are None = no filter).

    DuckDB refuses parameters a statement does not use, so callers pass everything they have through here.
    """
    return {name: params.get(name) for name in parameters(text)}


def query(
    con: duckdb.DuckDBPyConnection,
    name: str,
    *,
    kind: str = "views",
    filters: Filters | None = None,
    params: Mapping[str, Any] | None = None,
) -> pl.DataFrame:
    """Rows of view or query ``name``: scoped to ``filters`` when given, else over every attack.

    ``params`` supplies the query's own parameters (e.g. priority weights); filter values always travel
    as bound parameters.
    """
    if name not in names(kind):
        raise ValueError(f"there is no sql/{kind}/{name}.sql")
    from annotations import overlay  # the scoped SQL joins the analyst corrections' tables (empty without any)

    overlay.ensure(con)
    if filters is None:
        text = f"select * from {name}" if kind == "views" else read(kind, name)
        values = dict(params or {})
    else:
        text = scoped(name, kind)
        values = {**filters.params(), **(params or {})}
    return con.sql(text, params=bind(text, values)).pl()
