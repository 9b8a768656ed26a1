"""The `redteam-risk` command line: demo, etl, dashboard, report, compare."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from etl import settings
from etl.errors import UserError
from etl.domain import DEFAULT_SUCCESS_THRESHOLD
from etl.sources import FORMATS, NATIVE_READERS

app = typer.Typer(
    help="Turn red-team results into ranked, explained mitigation priorities.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.callback()
def _root(
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Log only warnings (default: every stage's start, end "
                                        "and duration).")] = False,
) -> None:
    logging.basicConfig(
        level=logging.WARNING if quiet else logging.INFO,
        format="%(asctime)s %(name)s %(message)s",
        datefmt="%H:%M:%S",
    )


@app.command()
def demo(
    out: Annotated[Path, typer.Option(help="Where to write the dataset (one JSON array; gzip when the name ends in .gz). "
                                      "The ground truth goes beside it as OUT.truth.parquet.")],
    rows: Annotated[int, typer.Option(min=1, help="Number of attack records.")] = 38961,
    seed: Annotated[int, typer.Option(help="Random seed; the same seed and rows give the same bytes.")] = 0,
    campaigns: Annotated[int, typer.Option(help="2 adds a second campaign: every RLHF attack replayed against a "
                                           "mitigated RLHF model ('rlhf mitigated') with known per-theme effects, "
                                           "for the Compare page.")] = 1,
) -> None:
    """Write the synthetic demo dataset in the exact format of Anthropic's red-team attempts file."""
    from etl.demo import write_demo

    summary = write_demo(out, rows=rows, seed=seed, campaigns=campaigns)
    typer.echo(f"wrote {summary['rows']} records to {out} in {summary['seconds']:.1f} s")


def _parse_mapping(items: list[str]) -> dict[str, str]:
    mapping = {}
    for item in items:
        canonical, sep, source = item.partition("=")
        if not sep or not canonical.strip() or not source.strip():
            raise UserError(f"--map expects CANONICAL=SOURCE, got {item!r}")
        mapping[canonical.strip()] = source.strip()
    return mapping


@app.command()
def etl(
    inputs: Annotated[list[Path], typer.Argument(help="Input files or directories: the Anthropic red-team file (JSON "
                                                 "array or JSON Lines, gzip or plain), CSV / JSON Lines / JSON / "
                                                 "Parquet, or a red-team tool's own output (" + ", ".join(NATIVE_READERS)
                                                 + "), detected by content. A directory reads every tool output "
                                                 "under it.")],
    db: Annotated[Path, typer.Option(help="The published DuckDB database (replaced atomically when the build completes).")],
    fmt: Annotated[str, typer.Option("--format", help=" | ".join(FORMATS) + " (auto detects by content; a tool's "
                                     "name forces its reader).")] = "auto",
    map_: Annotated[Optional[list[str]], typer.Option("--map", help="Column mapping CANONICAL=SOURCE, repeatable, e.g. "
                                                      "--map attack_text=prompt --map success=jailbroken.")] = None,
    dataset: Annotated[Optional[str], typer.Option(help="Dataset identity mixed into attack ids (default: "
                                                   "'anthropic-red-team' for that format, else 'default').")] = None,
    success_threshold: Annotated[float, typer.Option(help="An attack succeeded when its 0–4 rating is at least this.")]
    = DEFAULT_SUCCESS_THRESHOLD,
    strict: Annotated[bool, typer.Option(help="Fail when any row is rejected.")] = False,
    max_reject_rate: Annotated[float, typer.Option(min=0.0, max=1.0, help="Fail when more than this share of rows is "
                                                   "rejected.")] = settings.DEFAULT_MAX_REJECT_RATE,
    model: Annotated[Optional[str], typer.Option(help="sentence-transformers model name or local path (default: the "
                                                 "packaged all-MiniLM-L6-v2, works offline).")] = None,
    embed_text: Annotated[str, typer.Option(help="Columns joined to form the embedded text, '+'-separated.")]
    = settings.DEFAULT_EMBED_TEXT,
    embed_precision: Annotated[str, typer.Option(help="float32 | bfloat16 | auto (bfloat16 where the CPU has it "
                                                 "natively). bfloat16 embeds ~1.7x faster on such CPUs with themes "
                                                 "and NMI within 0.01, but clusters vary more with the seed.")]
    = settings.DEFAULT_EMBED_PRECISION,
    embedding_backend: Annotated[str, typer.Option(help=" | ".join(settings.EMBEDDING_BACKENDS) + ": run the model "
                                                   "on PyTorch, or exported once to ONNX and run by ONNX Runtime "
                                                   "(onnx-int8: its int8-quantised copy). Each backend has its own "
                                                   "embedding cache. See docs/performance.md.")]
    = settings.DEFAULT_EMBEDDING_BACKEND,
    cache_dir: Annotated[Optional[Path], typer.Option(help="Embedding cache folder (default: $REDTEAM_RISK_CACHE or "
                                                      "~/.cache/redteam-risk).")] = None,
    taxonomy: Annotated[Optional[Path], typer.Option(help="Harm taxonomy TOML file (default: the packaged one).")] = None,
    category_map: Annotated[Optional[Path], typer.Option(help="TOML file mapping source categories to theme ids; it "
                                                         "wins over the shipped maps (HarmBench, JailbreakBench, "
                                                         "StrongREJECT, promptfoo, garak, AILuminate, Llama Guard). "
                                                         "See docs/taxonomy.md.")] = None,
    behaviors: Annotated[Optional[Path], typer.Option(help="HarmBench behaviours CSV (BehaviorID, Behavior, "
                                                      "SemanticCategory): the intent and category of HarmBench "
                                                      "results.")] = None,
    success_when: Annotated[Optional[str], typer.Option(help="inspect-ai logs: when a sample counts as a successful "
                                                        "attack, e.g. 'score=C', 'match=I', 'score>=0.5' (a score's "
                                                        "meaning is task-specific; without a rule success is "
                                                        "unknown).")] = None,
    seed: Annotated[int, typer.Option(help="Seed for UMAP; the same data and seed give the same map and clusters.")]
    = settings.DEFAULT_SEED,
    min_cluster_size: Annotated[Optional[int], typer.Option(min=2, help="HDBSCAN min_cluster_size (default: scaled "
                                                            "to the data size).")] = None,
    recluster_share: Annotated[float, typer.Option(min=0.0, max=1.0, help="Incremental runs: when at most this "
                                                   "share of the rows are new since the published build (and at "
                                                   "most this share of its rows are gone) and the model, embedded "
                                                   "text, seed and min cluster size are unchanged, earlier attacks "
                                                   "keep their map position and cluster and the new ones are placed "
                                                   "among them (UMAP transform, HDBSCAN approximate prediction) "
                                                   "instead of refitting. 0 always refits.")] = settings.DEFAULT_RECLUSTER_SHARE,
    fit_sample: Annotated[int, typer.Option(min=0, help="Above this many attacks, fit the map (UMAP) and "
                                                      "clusters (HDBSCAN) on a sample of this size, stratified by "
                                                      "source file, campaign and model, and place every other "
                                                      "attack on it (as incremental runs do); the fit's cost "
                                                      "and memory then stop growing with the rows. 0 fits every "
                                                      "row.")]
    = settings.DEFAULT_FIT_SAMPLE,
    reuse: Annotated[bool, typer.Option(help="When the inputs, settings and code are unchanged since the published "
                                        "build, publish a copy of it as a new run instead of rebuilding.")] = True,
    progress: Annotated[bool, typer.Option(help="Show progress bars.")] = True,
    keep_runs: Annotated[int, typer.Option(min=0, help="Keep this many earlier published builds in <db>.runs/ "
                                           "(hard links; each costs about the database's size once replaced) to "
                                           "compare runs (`redteam-risk compare --run-a`); 0 keeps none.")]
    = settings.DEFAULT_KEEP_RUNS,
    engine: Annotated[str, typer.Option(help="Where ingest parsing, embedding and placement run: local (this "
                                        "process) or ray (a Ray cluster; needs the 'ray' extra). The fit, "
                                        "themes and publish stay here. See docs/scale.md.")] = "local",
    ray_address: Annotated[Optional[str], typer.Option(help="--engine ray: the cluster to join (e.g. 'auto' or "
                                                       "'ray://head:10001'); default: start a local Ray "
                                                       "instance for this build.")] = None,
    build_memory_limit: Annotated[Optional[str], typer.Option(help="DuckDB's memory cap while the build database "
                                                              "is written, e.g. 512MB or 2GB; it spills to disk "
                                                              "beyond it and fails clearly when even that is not "
                                                              "enough (default: $" + settings.BUILD_MEMORY_LIMIT_ENV
                                                              + " or " + settings.BUILD_MEMORY_LIMIT + ").")] = None,
) -> None:
    """Ingest attack records, analyse them and publish one DuckDB database."""
    from etl.pipeline import EtlConfig, run

    for path in inputs:
        if not path.exists():
            raise UserError(f"input file not found: {path}")
    summary = run(EtlConfig(
        inputs=tuple(inputs), db=db, fmt=fmt, mapping=_parse_mapping(map_ or []), dataset=dataset,
        success_threshold=success_threshold, strict=strict, max_reject_rate=max_reject_rate, model=model,
        embed_text=embed_text, embed_precision=embed_precision, embedding_backend=embedding_backend, cache_dir=cache_dir, taxonomy=taxonomy,
        category_map=category_map, behaviors=behaviors, success_when=success_when, seed=seed,
        min_cluster_size=min_cluster_size,
        reuse=reuse, recluster_share=recluster_share, fit_sample=fit_sample, progress=progress,
        keep_runs=keep_runs, engine=engine, ray_address=ray_address, build_memory_limit=build_memory_limit,
    ))
    total = sum(summary.stage_seconds.values())
    _carry_annotations(summary.db)
    if summary.reused_from:
        typer.echo(f"unchanged since run {summary.reused_from}: republished {summary.db} as run {summary.run_id} "
                   f"in {total:.1f} s (--no-reuse rebuilds)")
        _echo_unmapped(summary.unmapped_categories)
        return
    typer.echo(
        f"published {summary.db}: read {summary.n_read}, loaded {summary.n_loaded}, rejected {summary.n_rejected}, "
        f"duplicates {summary.n_duplicates}, {summary.n_clusters} clusters, {total:.1f} s (run {summary.run_id})"
    )
    _echo_unmapped(summary.unmapped_categories)


def _carry_annotations(db: Path) -> None:
    """Carry the analysts' corrections over to the build just published (annotations/carry.py); one line.
    Never fails the ETL: the build is published, and a store that cannot be read is left as it was."""
    from annotations.carry import carry_over

    try:
        result = carry_over(db)
    except Exception as exc:  # noqa: BLE001 - whatever is wrong with the store, the published build stands
        typer.echo(f"warning: the annotations beside {db} were not carried over ({exc}); the store file was left "
                   "as it was", err=True)
        return
    if result is not None:
        typer.echo(result.summary())


def _echo_unmapped(unmapped: dict[str, int], limit: int = 20) -> None:
    """List source categories no map sends to a theme (their theme was left to the model)."""
    if not unmapped:
        return
    typer.echo(f"{len(unmapped)} source categor{'y' if len(unmapped) == 1 else 'ies'} mapped to no theme (the model "
               "chose their themes; map them with --category-map):")
    for label, n in list(unmapped.items())[:limit]:
        typer.echo(f"  {n:>7}  {label}")
    if len(unmapped) > limit:
        typer.echo(f"  … and {len(unmapped) - limit} more (see the run's parameters.unmapped_categories)")


@app.command()
def dashboard(
    db: Annotated[Path, typer.Option(help="The DuckDB database built by `redteam-risk etl`.")],
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 8501,
) -> None:
    """Serve the dashboard (Streamlit) on HOST:PORT, reading DB read-only."""
    if not db.is_file():
        raise UserError(f"database not found: {db}; build one with `redteam-risk etl INPUT --db {db}`")
    env = {**os.environ, "REDTEAM_RISK_DB": str(db.resolve())}
    cmd = streamlit_command(host, port)
    typer.echo(f"serving http://{host}:{port} from {db}")
    raise typer.Exit(subprocess.call(cmd, env=env))


def streamlit_settings() -> dict[str, object]:
    """The dashboard's Streamlit settings as ``{"section.option": value}``, from the config file shipped inside
    the ``dashboard`` package (``dashboard/.streamlit/config.toml``)."""
    import tomllib
    from importlib import resources

    text = resources.files("dashboard").joinpath(".streamlit", "config.toml").read_text(encoding="utf-8")
    return {f"{section}.{name}": value for section, options in tomllib.loads(text).items()
            for name, value in options.items()}


def streamlit_command(host: str, port: int) -> list[str]:
    """``streamlit run`` of the installed dashboard on HOST:PORT with every shipped setting as a flag.

    Streamlit reads ``.streamlit/config.toml`` only from the working directory and the home folder (recent
    versions also beside the script), so a service started elsewhere would show the developer toolbar
    ("Deploy") and lose the theme; flags hold wherever it starts and win over any config file."""
    import importlib.util

    app_path = Path(importlib.util.find_spec("dashboard.app").origin)
    flags = {**streamlit_settings(), "server.address": host, "server.port": port}
    cmd = [sys.executable, "-m", "streamlit", "run", str(app_path)]
    for name, value in flags.items():
        cmd += [f"--{name}", str(value).lower() if isinstance(value, bool) else str(value)]
    return cmd


@app.command()
def report(
    db: Annotated[Path, typer.Option(help="The DuckDB database built by `redteam-risk etl`.")],
    out: Annotated[Path, typer.Option(help="Output file (or an existing folder: redteam-risk-report.<ext> inside it).")],
    fmt: Annotated[str, typer.Option("--format", help="pdf | html | xlsx | csv | md.")] = "pdf",
    model_size: Annotated[Optional[list[str]], typer.Option(help="Keep these model sizes, e.g. 52B (repeatable).")] = None,
    model_type: Annotated[Optional[list[str]], typer.Option(help="Keep these interventions, e.g. rlhf (repeatable).")]
    = None,
    model: Annotated[Optional[list[str]], typer.Option(help="Keep these model names (repeatable).")] = None,
    theme: Annotated[Optional[list[str]], typer.Option(help="Keep these harm theme ids (repeatable).")] = None,
    cluster: Annotated[Optional[list[int]], typer.Option(help="Keep these cluster ids (repeatable).")] = None,
    pool: Annotated[Optional[str], typer.Option(help="Red-team pool: upwork or mturk.")] = None,
    success_threshold: Annotated[Optional[float], typer.Option(min=0.0, max=4.0, help="Count an attack as a success "
                                                               "when its 0–4 rating is at least this (default: the "
                                                               "build's).")] = None,
    search: Annotated[Optional[str], typer.Option(
        help='Keep attacks whose task, attack, response or transcript match this search: words (all must occur), '
             '"a phrase", -word or -"a phrase" to exclude; case-insensitive.')] = None,
    category: Annotated[Optional[list[str]], typer.Option(help="Keep these source categories (the tool's own harm "
                                                          "label, verbatim; repeatable).")] = None,
    attack_method: Annotated[Optional[list[str]], typer.Option(help="Keep these attack methods (repeatable).")] = None,
    needs_review: Annotated[Optional[bool], typer.Option(
        "--needs-review/--confident", help="Keep only attacks whose theme needs review (a low-confidence guess), or "
                                           "only the others (default: both).")] = None,
    top: Annotated[int, typer.Option(min=1, max=50, help="Priority areas explained in the summary.")] = 5,
    w_success: Annotated[float, typer.Option(min=0.0, help="Priority weight of the success rate's CI lower bound.")]
    = 0.4,
    w_volume: Annotated[float, typer.Option(min=0.0, help="Priority weight of the share of attacks.")] = 0.2,
    w_severity: Annotated[float, typer.Option(min=0.0, help="Priority weight of the theme's severity (1–5).")] = 0.2,
    w_resistance: Annotated[float, typer.Option(min=0.0, help="Priority weight of success against the strongest "
                                                "model cell.")] = 0.2,
    compare_a: Annotated[Optional[str], typer.Option(help="Add a comparison section: scope A (before), e.g. "
                                                     "\"model=m-1\" (see `redteam-risk compare`).")] = None,
    compare_b: Annotated[Optional[str], typer.Option(help="Scope B (after) of the comparison section.")] = None,
    pair_on: Annotated[str, typer.Option(help="Pair the comparison's attacks on attack_text or task_description.")]
    = "attack_text",
    compare_run_a: Annotated[Optional[str], typer.Option(help="Compare with a kept build: the run id whose attacks "
                                                         "scope A reads (`redteam-risk compare --db PATH --list-runs`"
                                                         "); without --compare-a, every attack.")] = None,
    compare_run_b: Annotated[Optional[str], typer.Option(help="The build scope B reads (default: the current file).")]
    = None,
) -> None:
    """Write a stakeholder risk report (PDF, offline HTML, XLSX, CSV or Markdown) with the dashboard's numbers.

    With --compare-a and --compare-b (and/or --compare-run-a: an earlier build) it also compares the two scopes
    (the CSV is then the comparison table)."""
    from dashboard.reports import build_report
    from etl.domain import Weights
    from sql.filters import Filters

    filters = Filters(
        model_sizes=tuple(model_size or ()), model_types=tuple(model_type or ()), models=tuple(model or ()),
        themes=tuple(theme or ()), cluster_ids=tuple(cluster or ()), red_team_pool=pool,
        success_threshold=success_threshold, text=search, categories=tuple(category or ()),
        attack_methods=tuple(attack_method or ()), needs_review=needs_review,
    )
    weights = Weights(success=w_success, volume=w_volume, severity=w_severity, resistance=w_resistance)
    compare = None
    if (compare_a is None) != (compare_b is None):
        raise UserError("give both --compare-a and --compare-b (or neither)")
    if compare_run_b is not None and compare_run_a is None:
        raise UserError("--compare-run-b needs --compare-run-a (the build scope A reads)")
    if compare_a is not None or compare_run_a is not None:
        from sql.compare import parse_scope

        compare = (parse_scope(compare_a or ""), parse_scope(compare_b or ""), pair_on, compare_run_a, compare_run_b)
    path = build_report(db, filters, fmt, out, top=top, weights=weights, compare=compare)
    typer.echo(f"wrote {path}")


annotations_app = typer.Typer(help="Export or import the analysts' annotations (corrections, mitigation tracking) "
                               "kept beside a database (docs/annotations.md).", no_args_is_help=True)
app.add_typer(annotations_app, name="annotations")


@annotations_app.command("export")
def annotations_export(
    db: Annotated[Path, typer.Option(help="The database whose annotations (DB.annotations.sqlite) to export.")],
    fmt: Annotated[str, typer.Option("--format", help="json | csv.")] = "json",
    out: Annotated[Optional[Path], typer.Option(help="Output file (default: standard output).")] = None,
) -> None:
    """Write the current corrections and mitigations as JSON or CSV (one row per set field)."""
    from annotations.store import AnnotationStore, store_path_for
    from annotations.transfer import export_text

    if not store_path_for(db).exists():
        raise UserError(f"there are no annotations beside {db} (no {store_path_for(db).name})")
    text = export_text(AnnotationStore.for_database(db), fmt)
    if out is None:
        typer.echo(text, nl=False)
        return
    with open(out, "w", encoding="utf-8", newline="") as fh:  # written as is: a CR in a value stays a CR
        fh.write(text)
    typer.echo(f"wrote {out}", err=True)


@annotations_app.command("import")
def annotations_import(
    file: Annotated[Path, typer.Argument(help="A JSON or CSV file written by `redteam-risk annotations export`.")],
    db: Annotated[Path, typer.Option(help="The database whose annotations to add to (created beside it if needed).")],
    user: Annotated[str, typer.Option(help="Who the history records as making these changes.")] = "local",
) -> None:
    """Apply an exported file: each valid row is set (with a history row), each invalid row reported with its
    reason; exits 1 when a row was rejected."""
    from annotations.store import AnnotationStore
    from annotations.transfer import import_file

    if not db.is_file():
        raise UserError(f"database not found: {db}")
    result = import_file(AnnotationStore.for_database(db), file, user=user)
    for n, reason in result.rejected[:50]:
        typer.echo(f"row {n}: {reason}", err=True)
    if len(result.rejected) > 50:
        typer.echo(f"… and {len(result.rejected) - 50} more rejected rows", err=True)
    typer.echo(result.summary())
    if result.rejected:
        raise typer.Exit(1)


@app.command()
def compare(
    db: Annotated[Path, typer.Option(help="The DuckDB database built by `redteam-risk etl`.")],
    a: Annotated[Optional[str], typer.Option("--a", help="Scope A (before / reference): comma-separated "
                                   "key=value, '|' between alternatives, e.g. \"model=m-1\" or "
                                   "\"model_type=rlhf,size=52B|13B\". Keys: model, model_type, model_size (size), "
                                   "campaign, attack_method (method), category, theme, cluster, source_file (file), "
                                   "pool, success_threshold, text, from / to (created-at range, ISO dates or "
                                   "datetimes, inclusive days, e.g. from=2026-01-01,to=2026-03-31). Empty: every "
                                   "attack.")] = None,
    b: Annotated[Optional[str], typer.Option("--b", help="Scope B (after / candidate), same syntax.")] = None,
    fmt: Annotated[str, typer.Option("--format", help="md | csv | json.")] = "md",
    pair_on: Annotated[str, typer.Option(help="Pair attacks present in both scopes on attack_text or "
                                         "task_description (the intent).")] = "attack_text",
    out: Annotated[Optional[Path], typer.Option(help="Write to this file instead of standard output.")] = None,
    fail_on_regression: Annotated[bool, typer.Option(help="Exit with status 1 when the overall success or any theme's "
                                                     "rises beyond its adjusted interval (for CI jobs).")] = False,
    run_a: Annotated[Optional[str], typer.Option(help="Compare two builds of --db: scope A over the attacks of this "
                                                 "kept build (a run id from --list-runs; `redteam-risk etl "
                                                 "--keep-runs`).")] = None,
    run_b: Annotated[Optional[str], typer.Option(help="Scope B over this kept build (default: the current one).")]
    = None,
    list_runs: Annotated[bool, typer.Option(help="List the kept builds of --db and exit.")] = False,
) -> None:
    """Compare two scopes of one database: success by theme, attack method and cluster with intervals, paired
    counts of the same attacks in both, newly succeeding attacks (docs/metrics.md#comparing-two-scopes).
    With --run-a (and --run-b) scope A and B read two published builds of the database (clusters left out)."""
    from dashboard.reports.comparison import comparison_frame, comparison_json, comparison_markdown
    from dashboard.safety import to_csv_bytes
    from sql.compare import parse_scope
    from sql.database import Queries, open_read_only

    key = fmt.strip().lower()
    if key not in ("md", "csv", "json"):
        raise UserError(f"unknown compare format {fmt!r}; choose md, csv or json")
    if not list_runs and (a is None or b is None):
        raise UserError("give both scopes, --a and --b (an empty one, --a \"\", is every attack)")
    scope_a, scope_b = parse_scope(a or ""), parse_scope(b or "")
    if not Path(db).expanduser().is_file():
        raise UserError(f"the database file {db} does not exist")
    con = open_read_only(Path(db).expanduser())
    try:
        queries = Queries(con)
        if list_runs:
            current = (queries.latest_run() or {}).get("run_id")
            typer.echo(f"{current}\tcurrent\t{Path(db).expanduser().stat().st_size}")
            for kept in queries.snapshots():
                typer.echo(f"{kept['run_id']}\t{kept['published_at']:%Y-%m-%d %H:%M:%S}\t{kept['size_bytes']}")
            return
        result = queries.compare(scope_a, scope_b, pair_on=pair_on, run_a=run_a, run_b=run_b)
    finally:
        con.close()
    if key == "md":
        data = comparison_markdown(result).encode("utf-8")
    elif key == "json":
        data = (comparison_json(result) + "\n").encode("utf-8")
    else:
        data = to_csv_bytes(comparison_frame(result))
    if out is not None:
        out = Path(out).expanduser()
        if not out.parent.is_dir():
            raise UserError(f"cannot write to {out}: the folder {out.parent} does not exist")
        out.write_bytes(data)
    else:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    regressions = result.regressions()
    for note in result.notes:
        typer.echo(f"note: {note}", err=True)
    if regressions.height:
        names = ", ".join(regressions["group_name"].to_list())
        typer.echo(f"regression: success rose beyond the adjusted interval in {names}", err=True)
        if fail_on_regression:
            raise typer.Exit(1)


def main() -> None:
    """Entry point: user errors print one line and exit 2; never a bare traceback for them."""
    try:
        app()
    except UserError as exc:
        typer.echo(f"error: {exc}", err=True)
        sys.exit(2)
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        sys.exit(130)


if __name__ == "__main__":
    main()
