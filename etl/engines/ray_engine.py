"""The Ray engine: ingest parsing, embedding and placement as Ray tasks and actors.

* **Ingest**: one task per input file (``etl.sources.load`` on that file); the driver concatenates the files'
  rows in input order and renumbers duplicates across files exactly as one in-process read does.
* **Embedding**: the driver looks texts up in the embedding cache; only the misses go to the cluster, through
  Ray Data ``map_batches`` with an actor pool (one model per actor). The driver writes the vectors it gets back
  into the cache, so the cache lives wherever the driver runs. Calls with fewer than :data:`MIN_RAY_TEXTS`
  misses (taxonomy descriptions, a few new rows) embed on the driver: starting actors costs more.
* **Placement** (rows placed on a fit: the rows outside a ``--fit-sample`` sample, or an incremental run's new
  rows; etl/place.py): one task per chunk of ``etl.place.CHUNK_ROWS`` texts, the same chunks the local engine
  places in threads, so the results are equal. The fitted model (the sample's vectors and coordinates, the HDBSCAN
  model) is put in the object store once; the driver reads each chunk's vectors from the build's vector file
  when it submits the chunk and keeps at most :func:`place_in_flight` chunks submitted and not yet collected.

Everything else (UMAP/HDBSCAN fit, labels, themes, metrics, the DuckDB publish) stays on the driver.

Without an address a local Ray instance is started (no dashboard, no usage statistics, a small object store)
and shut down at the end; with one (``auto``, ``ray://host:10001`` or ``host:6379``) the engine connects to
that cluster and leaves it running. Workers must be able to import this project and read the input files at
the same paths as the driver (docs/scale.md).
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import polars as pl

from etl import embed
from etl.errors import UserError

log = logging.getLogger("redteam_risk.ray")

# Fewer texts to embed than this embed on the driver: each Ray Data call starts its actors and loads one model per
# actor (~20 s more than the driver for the taxonomy's ~550 texts on 2 loaded cores, docs/scale.md).
MIN_RAY_TEXTS = int(os.environ.get("REDTEAM_RISK_RAY_MIN_TEXTS", "1024"))
RAY_BATCH = 256  # texts per Ray Data batch (a multiple of the model's batch size, so padding groups match)
ACTOR_CPUS = float(os.environ.get("REDTEAM_RISK_RAY_ACTOR_CPUS", "1"))  # CPUs (and torch threads) per model actor
LOCAL_OBJECT_STORE_BYTES = int(os.environ.get("REDTEAM_RISK_RAY_OBJECT_STORE_MB", "400")) * 1024**2
# Placement chunks submitted and not yet collected, at most: 2 per cluster CPU (one running, one queued), capped by
# this (each holds a chunk's vectors in the object store: 15 MB for 10,000 texts of 384 floats).
PLACE_MAX_IN_FLIGHT = int(os.environ.get("REDTEAM_RISK_RAY_PLACE_IN_FLIGHT", "16"))


class RayEngineError(UserError):
    """The Ray cluster could not be reached or lost a worker; the published database is unchanged."""


def _ray():
    try:
        import ray
    except ImportError:
        raise UserError("--engine ray needs Ray: pip install 'redteam-risk[ray]'") from None
    return ray


class RayEngine:
    name = "ray"

    def __init__(self, address: str | None = None) -> None:
        self.address = address
        self._started = False  # whether this engine started (and must shut down) the Ray instance
        self._ray = _ray()

    # --- the cluster --------------------------------------------------------------------------------------

    def ray(self):
        """The ``ray`` module, connected (started or joined on first use)."""
        ray = self._ray
        if ray.is_initialized():
            return ray
        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
        t0 = time.perf_counter()
        try:
            if self.address is None:
                ray.init(num_cpus=os.cpu_count() or 1, include_dashboard=False, log_to_driver=False,
                         object_store_memory=LOCAL_OBJECT_STORE_BYTES, configure_logging=False)
                self._started = True
            else:
                _check_reachable(self.address)
                ray.init(address=self.address, log_to_driver=False, configure_logging=False)
        except Exception as exc:  # ConnectionError, RuntimeError, ValueError... from ray.init
            where = f"the Ray cluster at {self.address!r}" if self.address else "a local Ray instance"
            raise RayEngineError(f"could not start or reach {where}: {_first_line(exc)}") from exc
        log.info("ray: %s in %.1f s, resources %s", "started a local instance" if self._started
                 else f"connected to {self.address}", time.perf_counter() - t0, ray.cluster_resources())
        return ray

    def close(self) -> None:
        if self._started and self._ray.is_initialized():
            self._ray.shutdown()
            self._started = False

    def get(self, refs, what: str):
        """``ray.get`` that turns a lost worker or node into a clear error (a task's own ``UserError`` is
        returned as a value by the tasks below and re-raised unchanged)."""
        ray = self.ray()
        try:
            return ray.get(refs)
        except ray.exceptions.RayError as exc:
            raise self._failed(exc, what) from exc

    # --- stages ---------------------------------------------------------------------------------------------

    def load(self, paths: list[Path], fmt: str, mapping: dict[str, str] | None, **options):
        """``etl.sources.load``, one Ray task per input file."""
        from etl import sources
        from etl.sources import files

        expanded = sources.expand_inputs(paths, fmt)
        if not expanded.files:  # nothing to parse: let the in-process reader report it
            return sources.load(paths, fmt, mapping, **options)
        ray = self.ray()
        task = ray.remote(num_cpus=1, max_retries=0)(_load_one)
        t0 = time.perf_counter()
        refs = [task.remote(Path(p), fmt, mapping, {**options, "progress": False}) for p in expanded.files]
        parts = self.get(refs, "reading the input files")
        for part in parts:
            if isinstance(part, UserError):
                raise part
        merged = _merge(parts)
        merged.inputs += [sources.InputStats(str(p), files.sha256_file(p), 0, 0, 0, 0, kind, note=note)
                          for p, kind, note in expanded.skipped]
        log.info("ray: ingest of %d file(s) in %.2f s: %d loaded, %d rejected", len(expanded.files),
                 time.perf_counter() - t0, merged.attacks.height, merged.rejected.height)
        return merged

    def embedder(self, model: str | None, cache_dir: Path, *, progress: bool, precision: str,
                 backend: str = "torch"):
        return RayEmbedder(self, model, cache_dir, progress=progress, precision=precision, backend=backend)

    def place_in_flight(self) -> int:
        """How many placement chunks may be submitted and not yet collected: 2 per cluster CPU, at most
        ``PLACE_MAX_IN_FLIGHT`` (``$REDTEAM_RISK_RAY_PLACE_IN_FLIGHT``), at least 1."""
        cpus = float(self.ray().cluster_resources().get("CPU", 1))
        return max(1, min(PLACE_MAX_IN_FLIGHT, int(2 * cpus)))

    def place_chunks(self, model, chunks: list[tuple[int, int]], read):
        """``etl.place.ChunkRunner``: one Ray task per chunk (``etl.place.place_chunk``). ``model`` goes to the
        object store once (every task gets a reference to it); each chunk's vectors are read on the driver when it
        is submitted and travel with the task (a worker on another node cannot read the driver's vector file), with
        at most ``place_in_flight()`` chunks submitted and not collected. Yields (lo, ``ChunkPlaced``) as tasks
        finish. A task's own error is raised as it is (``place`` falls back to a full fit, as locally); a lost
        worker is a ``RayEngineError``."""
        ray = self.ray()
        task = ray.remote(num_cpus=1, max_retries=0)(_place_chunk)
        limit = self.place_in_flight()
        t0 = time.perf_counter()
        model_ref = ray.put(model)
        pending: dict = {}  # ObjectRef -> the chunk's first position
        try:
            for lo, hi in chunks:
                while len(pending) >= limit:
                    yield self._collect(pending)
                pending[task.remote(model_ref, read(lo, hi))] = lo
            while pending:
                yield self._collect(pending)
        finally:
            for ref in pending:  # an error or an abandoned placement: stop what is still running
                try:
                    ray.cancel(ref)
                except Exception:  # noqa: BLE001 - finished meanwhile, or the cluster is gone
                    pass
            del model_ref
        log.info("ray: placed %d chunk(s) as tasks (at most %d in flight) in %.1f s", len(chunks), limit,
                 time.perf_counter() - t0)

    def _collect(self, pending: dict):
        """(lo, ``ChunkPlaced``) of the first of ``pending``'s tasks to finish, removed from it."""
        ray = self.ray()
        done, _ = ray.wait(list(pending), num_returns=1)
        lo = pending.pop(done[0])
        try:
            return lo, ray.get(done[0])
        except ray.exceptions.RayTaskError as exc:
            cause = getattr(exc, "cause", None)
            if isinstance(cause, Exception) and not isinstance(cause, ray.exceptions.RayError):
                raise cause from None  # the placement's own failure (e.g. non-finite coordinates)
            raise self._failed(exc, "placing rows on the map") from exc
        except ray.exceptions.RayError as exc:
            raise self._failed(exc, "placing rows on the map") from exc

    @staticmethod
    def _failed(exc: BaseException, what: str) -> RayEngineError:
        return RayEngineError(f"the Ray cluster failed while {what}: {_first_line(exc)}; the published database "
                              f"is unchanged, rerun to retry (cached embeddings are kept)")


class RayEmbedder(embed.Embedder):
    """An ``Embedder`` whose cache misses are embedded by model actors on the Ray cluster (Ray Data
    ``map_batches``); the cache is read and written here, on the driver."""

    def __init__(self, engine: RayEngine, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._engine = engine
        self._args, self._kwargs = args, kwargs

    def preload_if_cold(self) -> None:
        """Nothing: the model actors load the model; the driver loads one only for a few texts."""
        return None

    def _embed(self, texts: list[str], keys: np.ndarray, keep: bool = True) -> np.ndarray | None:
        if len(texts) < MIN_RAY_TEXTS:
            return super()._embed(texts, keys, keep)
        import pyarrow as pa

        ray = self._engine.ray()
        t0 = time.perf_counter()
        # The in-process embedder's order (most tokens first), cut into batches at the same places, so every model
        # batch holds the same texts, pads alike and gives the same vectors.
        order = np.array(self.most_tokens_first(texts), dtype=np.int64)
        table = pa.table({"row": order, "text": pa.array([texts[i] for i in order], type=pa.large_string())})
        cpus = float(ray.cluster_resources().get("CPU", 1))
        n_actors = max(1, int(cpus // ACTOR_CPUS))
        ctx = ray.data.DataContext.get_current()
        ctx.enable_progress_bars = self.progress
        ctx.max_errored_blocks = 0
        # Several blocks per actor, so every actor gets work (one table would be one block, for one actor).
        block = max(RAY_BATCH, -(-len(texts) // (4 * n_actors)) // RAY_BATCH * RAY_BATCH)
        blocks = [table.slice(lo, block) for lo in range(0, len(texts), block)]
        dataset = ray.data.from_arrow(blocks).map_batches(
            _EmbedActor, fn_constructor_args=(self._args, self._kwargs, ACTOR_CPUS), batch_size=RAY_BATCH,
            batch_format="numpy", compute=ray.data.ActorPoolStrategy(size=n_actors), num_cpus=ACTOR_CPUS,
            max_restarts=0, max_task_retries=0,
        )
        out: np.ndarray | None = None
        try:
            for batch in dataset.iter_batches(batch_size=None, batch_format="numpy"):
                vectors = np.asarray(batch["vector"], dtype=np.float32)
                if out is None:
                    out = np.empty((len(texts), vectors.shape[1]), dtype=np.float32)
                out[batch["row"]] = vectors
        except UserError:
            raise
        except Exception as exc:  # Ray Data wraps a dead actor or a failed batch in several exception types
            cause = _user_error(exc)
            if cause is not None:
                raise cause from exc
            raise RayEngineError(f"the Ray cluster failed while embedding {len(texts)} texts: {_first_line(exc)}; "
                                 f"the published database is unchanged, rerun to retry (cached embeddings are "
                                 f"kept)") from exc
        assert out is not None
        for lo in range(0, len(texts), embed.SEGMENT_ROWS):  # into the cache, as the in-process embedder does
            self._append(keys[lo : lo + embed.SEGMENT_ROWS], out[lo : lo + embed.SEGMENT_ROWS])
        seconds = time.perf_counter() - t0
        log.info("ray: embedded %d texts on %d actor(s) in %.1f s (%.0f texts/s)", len(texts), n_actors, seconds,
                 len(texts) / max(seconds, 1e-9))
        return out if keep else None


class _WorkerEmbedder(embed.Embedder):
    """The in-process embedder inside a model actor: same model, same batching; the driver owns the cache."""

    def _append(self, keys: np.ndarray, vectors: np.ndarray) -> None:
        pass


class _EmbedActor:
    """One model per actor (Ray Data actor pool): {"row", "text"} batches to {"row", "vector"}."""

    def __init__(self, args: tuple, kwargs: dict, cpus: float) -> None:
        import torch

        torch.set_num_threads(max(1, int(cpus)))
        self.embedder = _WorkerEmbedder(*args, **{**kwargs, "progress": False})

    def __call__(self, batch: dict) -> dict:
        texts = [str(t) for t in batch["text"]]
        keys = np.zeros(len(texts), dtype=f"V{embed.KEY_BYTES}")  # unused: nothing is cached on a worker
        return {"row": batch["row"], "vector": self.embedder._embed(texts, keys)}


def _load_one(path: Path, fmt: str, mapping, options: dict):
    from etl import sources

    try:
        return sources.load([path], fmt, mapping, **options)
    except UserError as exc:  # returned, not raised, so the driver shows the message without a Ray traceback
        return exc


def _place_chunk(model, vectors):
    from etl import place

    return place.place_chunk(model, vectors)


def _merge(parts: list) -> "sources.Ingested":  # noqa: F821
    """One ``Ingested`` from per-file reads, equal to reading the files in one call: a row repeating one of an
    earlier file becomes its duplicate (``<id>~<k>``, ``is_duplicate``), counted in its own file's stats."""
    from etl import sources

    attacks = pl.concat([p.attacks.with_columns(pl.lit(i, dtype=pl.Int32).alias("_file"))
                         for i, p in enumerate(parts)], how="vertical")
    turns = pl.concat([p.turns.with_columns(pl.lit(i, dtype=pl.Int32).alias("_file"))
                       for i, p in enumerate(parts)], how="vertical")
    rejected = pl.concat([p.rejected for p in parts], how="vertical")
    base = pl.col("attack_id").str.replace(r"~\d+$", "")
    attacks = attacks.with_columns(base.alias("_base")).with_columns(
        pl.int_range(pl.len()).over("_base").alias("_k"))
    new_id = (pl.when(pl.col("_k") == 0).then(pl.col("_base"))
              .otherwise(pl.col("_base") + "~" + pl.col("_k").cast(pl.String)))
    attacks = attacks.with_columns(new_id.alias("_new_id"), (pl.col("_k") > 0).alias("is_duplicate"))
    ids = attacks.select("_file", "attack_id", "_new_id")
    turn_columns = [c for c in turns.columns if c != "_file"]
    turns = (turns.join(ids, on=["_file", "attack_id"], how="left", maintain_order="left")
             .with_columns(pl.col("_new_id").alias("attack_id")).select(turn_columns))
    dup_counts = attacks.group_by("_file").agg(pl.col("is_duplicate").sum())
    n_dup = dict(zip(dup_counts["_file"].to_list(), dup_counts["is_duplicate"].to_list(), strict=True))
    columns = [c for c in parts[0].attacks.columns] if parts else []
    attacks = attacks.with_columns(pl.col("_new_id").alias("attack_id")).select(columns)
    inputs = []
    for i, p in enumerate(parts):
        for stats in p.inputs:
            inputs.append(replace(stats, n_duplicates=int(n_dup.get(i, 0))) if stats.n_loaded else stats)
    return sources.Ingested(attacks, turns, rejected, inputs)


def _user_error(exc: BaseException) -> UserError | None:
    """A ``UserError`` raised in a worker, found among the causes of a Ray exception."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        cause = getattr(exc, "cause", None)  # a RayTaskError's original exception
        if isinstance(cause, UserError):
            return cause
        if isinstance(exc, UserError) and not hasattr(exc, "cause"):
            return exc
        exc = cause if isinstance(cause, BaseException) else exc.__cause__
    return None


def _check_reachable(address: str, timeout: float = 10.0) -> None:
    """Fail fast on a ``host:port`` or ``ray://host:port`` nobody listens on (``ray.init`` would retry for
    minutes). ``auto`` and other forms are left to ``ray.init``."""
    import socket

    hostport = address.removeprefix("ray://")
    host, sep, port = hostport.rpartition(":")
    if not sep or not port.isdigit() or not host:
        return
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout).close()
    except OSError as exc:
        raise ConnectionError(f"nothing answers at {hostport} ({exc.strerror or exc})") from None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text.splitlines()[0] if text else ''}"[:500]
