"""The ETL, one short function: ingest → validate → embed → reduce → cluster → label → themes → metrics → publish.

Each stage is its own module taking frames/arrays and returning them; this module only orders them, times them
and records the build in the ``runs`` table.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import polars as pl

from etl import __version__, settings
from etl.domain import DEFAULT_SUCCESS_THRESHOLD
from etl.errors import UserError
from etl.schema import ANALYTICS_COLUMNS, ATTACK_COLUMNS, conform, embeddings_frame

log = logging.getLogger("redteam_risk.pipeline")


@dataclass(frozen=True)
class EtlConfig:
    """Everything a build depends on. Units: rates are fractions 0–1, ratings on the 0–4 scale."""

    inputs: tuple[Path, ...]
    db: Path
    fmt: str = "auto"
    mapping: dict[str, str] = field(default_factory=dict)
    dataset: str | None = None
    success_threshold: float = DEFAULT_SUCCESS_THRESHOLD
    strict: bool = False
    max_reject_rate: float = settings.DEFAULT_MAX_REJECT_RATE
    model: str | None = None
    embed_text: str = settings.DEFAULT_EMBED_TEXT
    embed_precision: str = settings.DEFAULT_EMBED_PRECISION
    embedding_backend: str = settings.DEFAULT_EMBEDDING_BACKEND  # torch | onnx | onnx-int8 (etl/embed_onnx.py)
    cache_dir: Path | None = None
    taxonomy: Path | None = None
    category_map: Path | None = None  # the user's source-category → theme map (etl/categories.py)
    behaviors: Path | None = None  # HarmBench behaviours CSV (intent and category of its results)
    success_when: str | None = None  # inspect-ai: the rule that makes a sample a successful attack
    seed: int = settings.DEFAULT_SEED
    min_cluster_size: int | None = None
    recluster_share: float = settings.DEFAULT_RECLUSTER_SHARE  # above this share of new rows, refit (etl/place.py)
    fit_sample: int | None = settings.DEFAULT_FIT_SAMPLE  # above this many rows, fit on a sample, place the rest (0/None: never)
    reuse: bool = True  # when inputs, settings and code match the published build, record a run on a copy of it
    progress: bool = True
    keep_runs: int = settings.DEFAULT_KEEP_RUNS  # published builds kept in <db>.runs/ for comparing runs (not a build setting)
    engine: str = "local"  # where ingest parsing, embedding and placement run: local | ray (etl/engines/)
    ray_address: str | None = None  # the Ray cluster to join (--engine ray); None starts a local instance
    build_memory_limit: str | None = None  # DuckDB's cap while writing the build (None: settings.build_memory_limit)

    def parameters(self) -> dict:
        out = {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(self).items()
               if k not in ("inputs", "db", "keep_runs")}
        return out


@dataclass
class RunSummary:
    run_id: str
    db: Path
    n_read: int
    n_loaded: int
    n_rejected: int
    n_duplicates: int
    n_clusters: int
    stage_seconds: dict[str, float]
    reused_from: str | None = None  # the run whose build was republished unchanged, if any
    unmapped_categories: dict[str, int] = field(default_factory=dict)  # source label -> rows; theme left to the model


class _Timer:
    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        log.info("%s: start", name)
        t0 = time.perf_counter()
        yield
        self.seconds[name] = round(self.seconds.get(name, 0.0) + time.perf_counter() - t0, 3)  # a stage may come back
        log.info("%s: done in %.1f s", name, self.seconds[name])


def run(config: EtlConfig) -> RunSummary:
    """Build the database for ``config`` and publish it atomically at ``config.db``.

    On any failure the previously published database is left untouched and the partial build is removed.
    """
    from etl import store
    from etl.engines import open_engine

    # The build's files (its database, begun after ingest, and the vectors on disk), removed however the run ends
    # (a published build is no longer at its path).
    work: list[Path] = []
    try:
        with open_engine(config.engine, config.ray_address) as engine:
            return _run(config, engine, work)
    finally:
        for path in work:
            store.discard_build(path)


def _run(config: EtlConfig, engine, work: list[Path]) -> RunSummary:
    # Imported here so that `redteam-risk --help` and the dashboard never pay for torch/umap imports.
    from etl import categories, cluster, embed, label, metrics, place, reduce, requests, reuse, sources, store, themes
    from etl.vectors import VectorFile

    started_at = datetime.now(timezone.utc).replace(tzinfo=None)
    run_id = started_at.strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:6]
    timer = _Timer()
    db = config.db.resolve()
    db.parent.mkdir(parents=True, exist_ok=True)
    store.remove_stale_builds(db)
    cache_dir = settings.cache_dir(config.cache_dir)
    reduce.configure_numba_cache(cache_dir)
    embed.resolve_precision(config.embed_precision, embed.resolve_backend(config.embedding_backend))  # fail fast too
    if config.fit_sample and config.fit_sample < settings.MIN_FIT_SAMPLE:
        raise UserError(f"--fit-sample must be 0 (fit every row) or at least {settings.MIN_FIT_SAMPLE} rows, "
                        f"got {config.fit_sample}")
    memory_limit = store.check_memory_limit(config.build_memory_limit)  # fail fast on a cap DuckDB cannot take
    taxonomy = themes.load_taxonomy(config.taxonomy)  # fail fast on a bad taxonomy, before any heavy work
    category_maps = categories.load_category_maps(config.category_map)
    fingerprint = None
    if all(Path(p).exists() for p in config.inputs):  # else ingest reports what is wrong with them
        input_files = sources.expand_inputs(config.inputs, config.fmt).files
        side_files = tuple(p for p in (config.behaviors, config.category_map) if p is not None)
        if all(Path(p).is_file() for p in (*input_files, *side_files)):
            fingerprint = reuse.fingerprint(
                config.parameters(), (*input_files, *side_files),
                precision=embed.resolve_precision(config.embed_precision, config.embedding_backend),
                taxonomy=config.taxonomy,
                is_demo=_is_demo(config.inputs),
            )
    previous_runs = store.read_previous_runs(db)
    if config.reuse and fingerprint is not None:
        summary = _reuse(db, previous_runs, fingerprint, run_id, started_at, config.keep_runs)
        if summary is not None:
            return summary

    embedder = engine.embedder(config.model, cache_dir, progress=config.progress, precision=config.embed_precision,
                               backend=config.embedding_backend)
    embedder.preload_if_cold()  # a cold cache: the model loads while ingest reads (etl/embed.py)
    with timer.stage("ingest"):
        ingested = engine.load(
            list(config.inputs),
            config.fmt,
            config.mapping or None,
            dataset=config.dataset,
            success_threshold=config.success_threshold,
            behaviors=config.behaviors,
            success_when=config.success_when,
            progress=config.progress,
        )
    n_read = sum(s.n_read for s in ingested.inputs)
    n_rejected = ingested.rejected.height
    n_loaded = ingested.attacks.height
    _check_rejections(config, n_read, n_rejected)
    if n_loaded == 0:
        raise UserError("no attack was loaded from the input; see the rejection reasons above")

    with timer.stage("ingest"):
        # The turns (the transcripts turn by turn: a large share of the ingested bytes, read by no later stage) go
        # into the build database now, so their frame leaves memory long before the publish (store.begin_build).
        build = store.build_path(db, run_id)
        work.append(build)
        handed, ingested.turns = {"turns": ingested.turns}, None
        store.begin_build(build, {"turns": lambda: handed.pop("turns")}, memory_limit=memory_limit)
    attacks = ingested.attacks
    with timer.stage("embed"):
        texts = embed.embedding_texts(attacks, config.embed_text)
        # The vectors go to a file beside the build (removed with it), read back a chunk or a set of rows at a
        # time, so memory grows with the fit sample and the chunk, not with the rows (etl/vectors.py).
        work.append(Path(f"{store.build_path(db, run_id)}.vectors.npy"))
        vectors: np.ndarray | VectorFile = embedder.encode_to(texts, work[-1])
    keys = embed.text_keys(texts)
    # Above --fit-sample rows UMAP and HDBSCAN are fitted on a stratified sample and the other rows placed on it.
    sampled = bool(config.fit_sample) and config.fit_sample < len(keys)
    if not sampled:  # every row is fitted at once: they are all needed in memory anyway
        vectors = vectors.read()
    fit = place.fit_parameters(embedder.model_id, embedder.precision, config.embed_text, config.seed,
                               config.min_cluster_size, embedder.backend, config.fit_sample if sampled else None)
    with timer.stage("reduce"):
        # New rows are placed on the last build's map and clusters when few enough are new (etl/place.py).
        placement = place.prepare(cache_dir, previous_runs, keys, fit, config.recluster_share)
        placed = (place.place(placement, vectors, keys, run_chunks=engine.place_chunks)
                  if placement is not None else None)
    on_sample = None
    if placed is None and sampled:  # times its own reduce (the sample's fit) and cluster (fit, placement) stages
        sample = place.sample_rows(attacks.select(place.SAMPLE_STRATA), config.fit_sample, config.seed)
        on_sample = place.fit_on_sample(vectors, keys, sample, run_id, fit, config.seed,
                                        config.min_cluster_size, cache_dir, timer, run_chunks=engine.place_chunks)
    if placed is None and on_sample is None:
        with timer.stage("reduce"):
            # Small inputs: several 5-D fits, clustered by consensus (etl/cluster.py, consensus_fits).
            reduced = reduce.reduce(vectors, seed=config.seed, cache_dir=cache_dir,
                                    consensus_fits=cluster.consensus_fits(len(vectors)))
    else:
        reduced = (placed or on_sample[0]).reduced
    with timer.stage("cluster"):
        if on_sample is not None:
            placed, sample_fit, placement_info = on_sample
            raw_clusters, strength = placed.raw_labels, placed.strength
            reference = np.zeros(len(keys), dtype=bool)
            reference[sample] = True
            place.save_state(cache_dir, run_id, fit, keys, reduced,
                             cluster.Clustering(raw_clusters, sample_fit.model, strength, sample_fit.settings),
                             attacks["attack_id"].to_list(), reference=reference)
        elif placed is not None:
            raw_clusters = placed.raw_labels  # predicted by place.place in the reduce stage
            strength = placed.strength
            placement_info = placement.info()
        else:
            clustering = cluster.fit(reduced.z, min_cluster_size=config.min_cluster_size, z_extra=reduced.z_extra)
            raw_clusters = clustering.labels
            strength = clustering.strength
            place.save_state(cache_dir, run_id, fit, keys, reduced, clustering, attacks["attack_id"].to_list())
            placement_info = {"mode": "full", "base_run": run_id, "hdbscan": clustering.settings}
        log.info("placement: %s", json.dumps(placement_info))
    with timer.stage("label"):
        labelled = label.label_clusters(
            texts=texts,
            attack_ids=attacks["attack_id"].to_list(),
            raw_labels=raw_clusters,
            embeddings=vectors,
            xy=reduced.xy,
            fixed_ids=placed.cluster_ids if placed is not None and on_sample is None else None,
        )
    with timer.stage("themes"):
        # Source categories (etl/categories.py): one allowed theme decides it, several narrow the assigner's choice.
        allowed_themes, unmapped_categories = category_maps.allowed_themes(attacks["category"].to_list(), taxonomy.ids)
        # The theme follows the request, not a jailbreak's wrapper (etl/requests.py).
        theme_input = requests.theme_texts(attacks["attack_text"].to_list(), attacks["task_description"].to_list())
        # Most attacks' theme text is the text already embedded for the map: reuse its vector, embed only the rest.
        same = np.array([t == x for t, x in zip(theme_input.texts, texts, strict=True)], dtype=bool)
        other_texts = [t for t, s in zip(theme_input.texts, same, strict=True) if not s]
        if same.all():
            theme_vectors = vectors
        elif isinstance(vectors, VectorFile):  # a patched copy on disk, written chunk by chunk
            work.append(Path(f"{store.build_path(db, run_id)}.theme-texts.npy"))
            other = embedder.encode_to(other_texts, work[-1])
            work.append(Path(f"{store.build_path(db, run_id)}.theme-vectors.npy"))
            theme_vectors = vectors.with_rows(work[-1], np.flatnonzero(~same), other, settings.VECTOR_CHUNK_ROWS)
        else:
            theme_vectors = vectors.copy()  # one more (n, d) copy only when needed
            theme_vectors[~same] = embedder.encode(other_texts)
        del other_texts
        chunk_vectors = embedder.encode([c for _, c in theme_input.chunks]) if theme_input.chunks else None
        assigned = themes.assign_themes(
            theme_vectors, labelled.cluster_ids, taxonomy, embedder.encode,
            allowed=allowed_themes if any(a is not None for a in allowed_themes) else None,
            chunks=(np.array([r for r, _ in theme_input.chunks]), chunk_vectors) if theme_input.chunks else None,
            mix=same,
            cache_dir=cache_dir,
        )
        log.info("themes: read from %s", json.dumps(dict(Counter(theme_input.how))))
        theme_confidence = np.asarray(assigned.confidence, dtype=np.float64).copy()
        theme_source = ["model"] * len(assigned.theme)
        needs_review = np.asarray(assigned.needs_review, dtype=bool).copy()
        for i, allowed in enumerate(allowed_themes):
            if allowed is not None and len(allowed) == 1:
                theme_confidence[i], theme_source[i], needs_review[i] = 1.0, "source", False
        if unmapped_categories:
            log.info("themes: %d source categories map to no theme (left to the model): %s",
                     len(unmapped_categories), json.dumps(unmapped_categories, ensure_ascii=False)[:500])

    with timer.stage("publish"):
        # Only the frames the build is written from stay alive: the per-row Python lists are dropped once turned into
        # columns, and the attacks frame is handed to store.write_build (``frames``), which lets go of it once
        # written (the turns were written after ingest).
        attack_ids = attacks["attack_id"]
        inputs, rejected, frames = ingested.inputs, ingested.rejected, {}
        del ingested
        attacks = attacks.with_columns(
            pl.Series("embed_text", texts, dtype=pl.String),
            pl.Series("cluster_id", labelled.cluster_ids, dtype=pl.Int32),
            pl.Series("cluster_label", labelled.cluster_labels, dtype=pl.String),
            pl.Series("theme", list(assigned.theme), dtype=pl.String),
            pl.Series("theme_confidence", theme_confidence),
            pl.Series("theme_source", theme_source, dtype=pl.String),
            pl.Series("needs_review", needs_review, dtype=pl.Boolean),
            pl.Series("cluster_strength", np.where(labelled.cluster_ids >= 0, strength if strength is not None else 1.0,
                                                   0.0).astype(np.float64)),
            pl.Series("x", reduced.xy[:, 0].astype(np.float64)),
            pl.Series("y", reduced.xy[:, 1].astype(np.float64)),
        )
        del texts, theme_input, theme_source, same, allowed_themes, keys, theme_vectors, chunk_vectors
        frames["attacks"] = conform(attacks, {**ATTACK_COLUMNS, **ANALYTICS_COLUMNS})
        del attacks
        n_duplicates = int(frames["attacks"]["is_duplicate"].sum())
        clusters = labelled.clusters.with_columns(
            pl.col("cluster_id").replace_strict(assigned.cluster_theme, default="other", return_dtype=pl.String).alias("theme")
        )
        finished_at = datetime.now(timezone.utc).replace(tzinfo=None)
        runs = _runs_history(store.read_previous_runs(db), {
            "run_id": run_id,
            "started_at": started_at,
            "finished_at": finished_at,
            "status": "published",
            "inputs": json.dumps([asdict(s) for s in inputs]),
            "n_read": n_read,
            "n_loaded": n_loaded,
            "n_rejected": n_rejected,
            "n_duplicates": n_duplicates,
            "parameters": json.dumps(
                {**config.parameters(), "model_id": embedder.model_id, "embed_precision_used": embedder.precision,
                 "embedding_backend_used": embedder.backend,
                 "fingerprint": fingerprint,
                 "taxonomy_settings": taxonomy.settings(), "placement": placement_info,
                 "unmapped_categories": unmapped_categories},
                default=str,
            ),
            "code_version": __version__,
            "stage_seconds": json.dumps(timer.seconds),
            "is_demo": _is_demo(config.inputs),
        })
        rejected = rejected.with_columns(pl.lit(run_id).alias("run_id"))
        try:
            store.write_build(build, {
                "attacks": lambda: frames.pop("attacks"),
                "rejected_rows": rejected,
                "clusters": clusters,
                "themes": taxonomy.to_frame(),
                "runs": runs,
                "attack_embeddings": _embedding_frames(attack_ids, vectors),
            }, finalize=metrics.materialize, memory_limit=memory_limit, begun=True)
            store.publish(build, db, config.keep_runs)
        except BaseException:
            store.discard_build(build)
            raise
    log.info("run %s: read %d, loaded %d, rejected %d, duplicates %d", run_id, n_read, n_loaded, n_rejected, n_duplicates)
    return RunSummary(
        run_id=run_id,
        db=db,
        n_read=n_read,
        n_loaded=n_loaded,
        n_rejected=n_rejected,
        n_duplicates=n_duplicates,
        n_clusters=int(clusters.filter(pl.col("cluster_id") >= 0).height),
        stage_seconds=timer.seconds,
        unmapped_categories=unmapped_categories,
    )


def _embedding_frames(attack_ids: pl.Series,
                      vectors: np.ndarray | VectorFile) -> pl.DataFrame | Iterator[pl.DataFrame]:
    """The ``attack_embeddings`` table: one frame, or for vectors on disk frames of ``VECTOR_CHUNK_ROWS`` rows
    (inserted one after another by ``store.write_build``)."""
    from etl.vectors import VectorFile

    if not isinstance(vectors, VectorFile):
        return embeddings_frame(attack_ids, vectors)
    if len(attack_ids) != len(vectors):
        raise ValueError(f"{len(attack_ids)} attacks but {len(vectors)} vectors")
    size = settings.VECTOR_CHUNK_ROWS
    return (embeddings_frame(attack_ids.slice(lo, size), block) for lo, block in vectors.chunks(size))


def _reuse(db: Path, previous_runs: pl.DataFrame | None, fingerprint: str, run_id: str,
           started_at: datetime, keep_runs: int = settings.DEFAULT_KEEP_RUNS) -> RunSummary | None:
    """Publish a copy of the current database with one more ``runs`` row when the published build (whose
    history is ``previous_runs``) has ``fingerprint``; None (build normally) otherwise."""
    from etl import reuse, store

    t0 = time.perf_counter()
    previous = reuse.reusable_run(previous_runs, fingerprint)
    if previous is None:
        return None
    parameters = {**previous["parameters"], "reused_from": previous["run_id"]}
    finished_at = datetime.now(timezone.utc).replace(tzinfo=None)
    seconds = {"reuse": round(time.perf_counter() - t0, 3)}  # the recorded row can only hold time until the copy
    row = {**previous, "run_id": run_id, "started_at": started_at, "finished_at": finished_at,
           "parameters": json.dumps(parameters, default=str), "stage_seconds": json.dumps(seconds)}
    build = store.build_path(db, run_id)
    try:
        n_clusters = store.copy_build(db, build, pl.DataFrame([row]))
        store.publish(build, db, keep_runs)
    except BaseException:
        store.discard_build(build)
        raise
    seconds["reuse"] = round(time.perf_counter() - t0, 3)
    log.info("run %s: inputs, settings and code unchanged since run %s; published a copy of it in %.1f s",
             run_id, previous["run_id"], seconds["reuse"])
    return RunSummary(run_id=run_id, db=db, n_read=previous["n_read"], n_loaded=previous["n_loaded"],
                      n_rejected=previous["n_rejected"], n_duplicates=previous["n_duplicates"],
                      n_clusters=n_clusters, stage_seconds=seconds, reused_from=previous["run_id"],
                      unmapped_categories=parameters.get("unmapped_categories") or {})


def _check_rejections(config: EtlConfig, n_read: int, n_rejected: int) -> None:
    if config.strict and n_rejected:
        raise UserError(f"{n_rejected} of {n_read} rows were rejected and --strict is set")
    if n_read and n_rejected / n_read > config.max_reject_rate:
        raise UserError(
            f"{n_rejected} of {n_read} rows ({n_rejected / n_read:.0%}) were rejected, more than "
            f"--max-reject-rate {config.max_reject_rate:.0%}; check the --format and --map options"
        )


def _is_demo(inputs: tuple[Path, ...]) -> bool:
    """The demo generator writes a ground-truth sidecar beside its file; its presence marks demo data.

    Only the sidecar's existence is checked; its content is never read by the ETL.
    """
    return bool(inputs) and all(Path(str(p) + ".truth.parquet").exists() for p in inputs)


def _runs_history(previous: pl.DataFrame | None, current: dict) -> pl.DataFrame:
    row = pl.DataFrame([current])
    if previous is None or previous.height == 0:
        return row
    previous = previous.with_columns(pl.col(c).cast(pl.String) for c in ("inputs", "parameters", "stage_seconds"))
    return pl.concat([previous, row], how="diagonal_relaxed")

