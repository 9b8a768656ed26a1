"""``python -m bench.big_db --from SRC.duckdb --rows 1000000 --out /tmp/risk-1m.duckdb``: a large published
database for measuring the dashboard, built without embedding.

The attacks of a published database ``SRC`` (e.g. the 38,961-row demo, ``make run``) are repeated until there
are ``--rows`` of them: copy ``k`` of attack ``a`` gets the id ``a~k``, source_row ``source_row + k * n`` and
x/y moved by a deterministic jitter (at most ``--jitter`` of the map's extent, from a hash of the new id), so
the copies spread around the original instead of sitting on it. Everything else (theme, cluster, model,
outcome, texts) is the original's, so cluster sizes and rates scale with the copies. The new file is made by
``etl.store`` (schema, views), ``etl.metrics.materialize`` (priority tables) and ``etl.store.publish``, like a
real build; ``runs`` gets the source's runs plus nothing else. Transcripts (``turns``) are copied for the
original attacks only, unless ``--all-turns`` (5x the rows and time): the dashboard reads turns for one
attack at a time, so their count does not change any page's speed.
"""

from __future__ import annotations

import argparse
import logging
import math
import time
from pathlib import Path

import duckdb

from etl import metrics, store
from sql.database import open_read_only

log = logging.getLogger("redteam_risk.bench")

COPIED = ("clusters", "themes", "runs", "rejected_rows")  # whole tables, unchanged


def build(source: Path, out: Path, rows: int, jitter: float = 0.01, all_turns: bool = False) -> dict:
    """Write a published database of ``rows`` attacks at ``out`` from the attacks of ``source``; returns
    ``{"rows": …, "copies": …, "seconds": …}``."""
    t0 = time.perf_counter()
    src = open_read_only(source)  # checks it is a published database
    n = int(src.sql("select count(*) from attacks").fetchall()[0][0])
    src.close()
    if n == 0:
        raise SystemExit(f"{source} has no attacks to repeat")
    copies = math.ceil(rows / n)
    build_file = store.build_path(out, f"big-{rows}")
    con = duckdb.connect(str(build_file))
    try:
        store.create_schema(con)
        con.execute("attach ? as src (read_only)", [str(source)])
        for table in COPIED:
            con.execute(f"insert into {table} by name select * from src.{table}")
        # jitter in map units, the same fraction of both axes' extent; null positions stay null
        span = con.execute("select greatest(max(x) - min(x), max(y) - min(y)) from src.attacks").fetchall()[0][0]
        scale = float(jitter) * float(span or 0.0)
        con.execute(
            """
            insert into attacks by name
            select a.* replace (
                case when c.copy = 0 then a.attack_id else a.attack_id || '~' || c.copy end as attack_id,
                a.source_row + c.copy * $n as source_row,
                a.x + $scale * ((hash(a.attack_id, c.copy, 'x') % 20001)::double / 10000 - 1) as x,
                a.y + $scale * ((hash(a.attack_id, c.copy, 'y') % 20001)::double / 10000 - 1) as y
            )
            from src.attacks a cross join (select range as copy from range($copies)) c
            order by c.copy, a.source_file, a.source_row
            limit $rows
            """,
            {"n": n, "scale": scale, "copies": copies, "rows": int(rows)},
        )
        turn_copies = "range($copies)" if all_turns else "range(1)"
        con.execute(
            f"""
            insert into turns by name
            select t.* replace (case when c.copy = 0 then t.attack_id else t.attack_id || '~' || c.copy end
                                as attack_id)
            from src.turns t cross join (select range as copy from {turn_copies}) c
            where (case when c.copy = 0 then t.attack_id else t.attack_id || '~' || c.copy end)
                  in (select attack_id from attacks)
            """,
            {"copies": copies} if all_turns else {},
        )
        con.execute("detach src")
        store.create_views(con)
        metrics.materialize(con)
        con.execute("checkpoint")
        total = int(con.sql("select count(*) from attacks").fetchall()[0][0])
    except BaseException:
        con.close()
        store.discard_build(build_file)
        raise
    con.close()
    store.publish(build_file, out)
    return {"rows": total, "copies": copies, "seconds": round(time.perf_counter() - t0, 1)}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.big_db", description=__doc__.split("\n\n")[0])
    parser.add_argument("--from", dest="source", type=Path, required=True, help="a published database to repeat")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--jitter", type=float, default=0.01, help="largest move, as a fraction of the map's extent")
    parser.add_argument("--all-turns", action="store_true", help="copy transcripts for every copy, not the originals")
    args = parser.parse_args(argv)
    if args.rows < 1:
        parser.error("--rows must be at least 1")
    if args.out.resolve() == args.source.resolve():
        parser.error("--out must not be the source database")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    print(build(args.source, args.out, args.rows, args.jitter, args.all_turns))


if __name__ == "__main__":
    main()
