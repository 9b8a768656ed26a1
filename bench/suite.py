"""The benchmark schedule: generate (or reuse) the datasets, run each measurement in a fresh child process
with its own cache folders, and hand the results to ``bench.report``.

Layout under ``bench/results/tmp/`` (git-ignored, reused between runs):

    data/demo-r<rows>-s<seed>.json.gz (+ .truth.parquet)   generated once by `redteam-risk demo`
    numba/<name>/                                          numba caches (first_run: emptied each time)
    work/<measure>/cache/  work/<measure>/risk.duckdb      embedding cache and database of one measurement
    logs/<measure>.log                                     the child's stderr (pipeline logs, tracebacks)

The cold 38,961-row build (``work/cold``) is what the warm rerun, the incremental run, the seed check, the
dashboard and the reports start from; ``--only`` reuses it from an earlier run when it is there.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
TMP = RESULTS / "tmp"
DEMO_ROWS = 38961
SMALL_ROWS = 10000
INCREMENT_ROWS = 1000
SCALE_FACTOR = 4
MAIN_SEED, INCREMENT_SEED, WARMUP_SEED = 0, 1, 2  # data seeds: the numba warm-up uses data nobody measures
WARMUP_ROWS = 2000
ETL_SEED_B = 1  # second UMAP seed, for the cluster-stability check
SCALE_FIT_SAMPLE = 20000  # --fit-sample of the scale_sample step
MILLION_ROWS = 1_000_000  # the million step (issue 16): the fastest embedding backend and --fit-sample
MILLION_BACKEND, MILLION_FIT_SAMPLE = "onnx-int8", 40_000
CHILD_TIMEOUT = 3600  # seconds; only a hung child hits this
MILLION_TIMEOUT = 4 * 3600  # the million build takes ~30 min on 2 quiet cores, far longer under load


@dataclass(frozen=True)
class Step:
    """One measurement: ``name`` (also its work folder and log), what it needs first, and how to run it."""

    name: str
    title: str
    needs: tuple[str, ...]
    run: Callable[[Suite], dict]
    optional: bool = False  # skipped by --quick


@dataclass
class Suite:
    rows: int = DEMO_ROWS
    verbose: bool = True
    results: dict[str, dict] = field(default_factory=dict)
    crashed: list[str] = field(default_factory=list)

    # --- sizes and datasets ------------------------------------------------------------------------

    @property
    def small_rows(self) -> int:
        return SMALL_ROWS if self.rows > SMALL_ROWS else max(100, self.rows // 4)

    @property
    def increment_rows(self) -> int:
        return INCREMENT_ROWS if self.rows >= DEMO_ROWS else max(50, round(self.rows * INCREMENT_ROWS / DEMO_ROWS))

    @property
    def scale_rows(self) -> int:
        return self.rows * SCALE_FACTOR

    @property
    def million_rows(self) -> int:
        """1M with the demo's size, else the same multiple of ``rows`` (a small ``--rows`` tries the step quickly)."""
        return MILLION_ROWS if self.rows >= DEMO_ROWS else self.rows * round(MILLION_ROWS / DEMO_ROWS)

    def dataset(self, rows: int, seed: int) -> Path:
        """The demo file with ``rows`` records for ``seed``, generated on first use (in a child process)."""
        path = TMP / "data" / f"demo-r{rows}-s{seed}.json.gz"
        if path.is_file() and Path(str(path) + ".truth.parquet").is_file():
            return path
        path.parent.mkdir(parents=True, exist_ok=True)
        self.say(f"generating {rows:,} demo rows (seed {seed}) -> {path.relative_to(ROOT)}")
        log = self.log_path(f"demo-r{rows}-s{seed}")
        with open(log, "w") as fh:
            subprocess.run([sys.executable, "-m", "etl.cli", "demo", "--rows", str(rows), "--seed", str(seed),
                            "--out", str(path)], cwd=ROOT, env=self.env(), stdout=fh, stderr=subprocess.STDOUT,
                           check=True, timeout=CHILD_TIMEOUT)
        return path

    @property
    def main_input(self) -> Path:
        return self.dataset(self.rows, MAIN_SEED)

    # --- folders -------------------------------------------------------------------------------------

    @staticmethod
    def work(name: str, fresh: bool = False) -> Path:
        path = TMP / "work" / name
        if fresh and path.exists():
            shutil.rmtree(path)
        path.mkdir(parents=True, exist_ok=True)
        return path

    @staticmethod
    def numba(name: str, fresh: bool = False) -> Path:
        path = TMP / "numba" / name
        if fresh and path.exists():
            shutil.rmtree(path)
        path.mkdir(parents=True, exist_ok=True)
        return path

    @staticmethod
    def log_path(name: str) -> Path:
        path = TMP / "logs" / f"{name}.log"
        path.parent.mkdir(parents=True, exist_ok=True)
        return path

    def env(self, cache: Path | None = None, numba: Path | None = None, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in ("REDTEAM_RISK_PASSWORD", "REDTEAM_RISK_DB")}
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
        env["HF_HUB_OFFLINE"] = "1"
        env["TRANSFORMERS_OFFLINE"] = "1"
        if cache is not None:
            env["REDTEAM_RISK_CACHE"] = str(cache)
        if numba is not None:
            env["NUMBA_CACHE_DIR"] = str(numba)
        env.update(extra)
        return env

    def say(self, message: str) -> None:
        if self.verbose:
            print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)

    # --- one child ----------------------------------------------------------------------------------

    def child(self, name: str, spec: dict, env: dict[str, str], timeout: int = CHILD_TIMEOUT) -> dict:
        """Run ``bench.child`` with ``spec``; returns its JSON result plus ``process_s`` (spawn to exit, s)
        and the 1-minute load average before and after. A crash gives ``{"ok": False, "error": ...}``."""
        log = self.log_path(name)
        load_before = os.getloadavg()[0]
        t0 = time.perf_counter()
        try:
            with open(log, "w") as fh:
                proc = subprocess.run([sys.executable, "-m", "bench.child", json.dumps(spec)], check=False, cwd=ROOT, env=env,
                                      stdout=subprocess.PIPE, stderr=fh, text=True, timeout=timeout)
            lines = [line for line in proc.stdout.splitlines() if line.strip()]
            result = json.loads(lines[-1]) if lines else {"ok": False, "error": f"no result (exit {proc.returncode})"}
        except subprocess.TimeoutExpired:
            result = {"ok": False, "error": f"timed out after {timeout} s"}
        except (json.JSONDecodeError, OSError) as exc:
            result = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
        result["process_s"] = round(time.perf_counter() - t0, 3)
        result["load_avg_1m"] = [round(load_before, 2), round(os.getloadavg()[0], 2)]
        result["log"] = str(log.relative_to(ROOT))
        if not result.get("ok"):
            result.setdefault("error", "crashed")
            self.crashed.append(name)
            self.say(f"{name}: FAILED ({result['error'][:200]}); see {result['log']}")
        return result

    def etl(self, name: str, inputs: list[Path], work: Path, numba: Path, *, seed: int = 0, fresh: bool = True,
            truth: Path | None = None, compare_db: Path | None = None, profile: Path | None = None,
            cache: Path | None = None, reuse: bool = True, timeout: int = CHILD_TIMEOUT, **options) -> dict:
        """One ETL child. ``fresh``: start from an empty embedding cache and no database in ``work``. ``options``:
        ``embedding_backend``, ``fit_sample`` (``etl.pipeline.EtlConfig``)."""
        if fresh:
            shutil.rmtree(work, ignore_errors=True)
            work.mkdir(parents=True)
        spec = {"kind": "etl", "inputs": [str(p) for p in inputs], "db": str(work / "risk.duckdb"), "seed": seed,
                "reuse": reuse}
        if truth is not None:
            spec["truth"] = str(truth)
        if compare_db is not None:
            spec["compare_db"] = str(compare_db)
        if profile is not None:
            spec["profile"] = str(profile)
        spec.update(options)
        result = self.child(name, spec, self.env(cache or work / "cache", numba), timeout)
        result["inputs"] = [str(Path(p).relative_to(ROOT)) if Path(p).is_relative_to(ROOT) else str(p) for p in inputs]
        return result


# --- the steps ------------------------------------------------------------------------------------------


def _first_run(s: Suite) -> dict:
    """Right after install: no embedding cache, no numba cache, no database."""
    return s.etl("first_run", [s.main_input], s.work("first_run"), s.numba("first_run", fresh=True))


def _warmup_etl(s: Suite) -> dict:
    """Fill the shared numba cache with an ETL run on other data (different seed, small), as a team's
    earlier campaign would have."""
    data = s.dataset(WARMUP_ROWS, WARMUP_SEED)
    return s.etl("warmup_etl", [data], s.work("warmup_etl"), s.numba("etl", fresh=True))


def _warmup_bertopic(s: Suite) -> dict:
    data = s.dataset(WARMUP_ROWS, WARMUP_SEED)
    numba = s.numba("bertopic", fresh=True)
    return s.child("warmup_bertopic", {"kind": "bertopic", "input": str(data)}, s.env(s.work("bertopic") / "cache", numba))


def _floor(s: Suite) -> dict:
    return s.child("floor", {"kind": "floor", "input": str(s.main_input)}, s.env(s.work("floor") / "cache"))


def _floor_bf16(s: Suite) -> dict:
    """The floor again under bfloat16 autocast (what ``--embed-precision bfloat16`` costs on this CPU)."""
    return s.child("floor_bf16", {"kind": "floor", "input": str(s.main_input), "precision": "bfloat16"},
                   s.env(s.work("floor") / "cache"))


def _floor_onnx(s: Suite) -> dict:
    """The floor with the ONNX Runtime backend (``--embedding-backend onnx``): the same texts, batch 64; the
    one-off export is made in the step's own cache folder before timing (``model_load_s``)."""
    return s.child("floor_onnx", {"kind": "floor", "input": str(s.main_input), "backend": "onnx"},
                   s.env(s.work("floor_onnx", fresh=True) / "cache"))


def _cold_onnx(s: Suite) -> dict:
    """Cold ETL with ``--embedding-backend onnx``: empty embedding cache (the ONNX export included, as a user's
    first run with the backend pays it), numba cache warm; quality against the demo truth."""
    work = s.work("cold_onnx")
    result = s.etl("cold_onnx", [s.main_input], work, s.numba("etl"), truth=s.main_input, embedding_backend="onnx")
    if result.get("ok"):
        (work / "state.json").write_text(json.dumps({"rows": s.rows, "input": str(s.main_input)}))
    return result


def _seed_stability_onnx(s: Suite) -> dict:
    """The ONNX cold build's data with UMAP seed 1 (its embedding cache warm): ARI against the cold ONNX build."""
    cold = s.work("cold_onnx")
    return s.etl("seed_stability_onnx", [s.main_input], s.work("seed_stability_onnx", fresh=True), s.numba("etl"),
                 seed=ETL_SEED_B, cache=cold / "cache", compare_db=cold / "risk.duckdb", fresh=False,
                 embedding_backend="onnx")


def _scale_sample(s: Suite) -> dict:
    """The 4× scale run with the fastest embedding backend measured to keep quality (onnx) and ``--fit-sample``."""
    data = s.dataset(s.scale_rows, MAIN_SEED)
    return s.etl("scale_sample", [data], s.work("scale_sample"), s.numba("etl"), truth=data,
                 embedding_backend="onnx", fit_sample=SCALE_FIT_SAMPLE)


def _cold(s: Suite) -> dict:
    """Cold ETL at full size: empty embedding cache, new database, numba cache warm from other data."""
    work = s.work("cold")
    result = s.etl("cold", [s.main_input], work, s.numba("etl"), truth=s.main_input)
    if result.get("ok"):
        (work / "state.json").write_text(json.dumps({"rows": s.rows, "input": str(s.main_input)}))
    return result


def _cold_small(s: Suite) -> dict:
    data = s.dataset(s.small_rows, MAIN_SEED)
    return s.etl("cold_small", [data], s.work("cold_small"), s.numba("etl"), truth=data)


def _bertopic(s: Suite) -> dict:
    return s.child("bertopic", {"kind": "bertopic", "input": str(s.main_input)},
                   s.env(s.work("bertopic") / "cache", s.numba("bertopic")))


def _warm(s: Suite) -> dict:
    """Rerun on unchanged data: the cold build's database path and caches."""
    work = s.work("cold")
    return s.etl("warm", [s.main_input], work, s.numba("etl"), fresh=False)


def _warm_rebuild(s: Suite) -> dict:
    """The warm rerun again with the unchanged-input shortcut off: what a rebuild from the caches costs."""
    work = s.work("cold")
    return s.etl("warm_rebuild", [s.main_input], work, s.numba("etl"), fresh=False, reuse=False)


def _incremental(s: Suite) -> dict:
    """The cold build plus a second file of new attacks (another seed), caches warm. Runs on a copy of
    the cold build's database and embedding cache, so the cold build stays reusable."""
    cold, work = s.work("cold"), s.work("incremental", fresh=True)
    shutil.copy2(cold / "risk.duckdb", work / "risk.duckdb")
    shutil.copytree(cold / "cache", work / "cache")
    extra = s.dataset(s.increment_rows, INCREMENT_SEED)
    return s.etl("incremental", [s.main_input, extra], work, s.numba("etl"), fresh=False)


def _seed_stability(s: Suite) -> dict:
    """The same data with another UMAP seed (embedding cache warm): ARI of its clusters vs the cold build's."""
    cold = s.work("cold")
    return s.etl("seed_stability", [s.main_input], s.work("seed_stability", fresh=True), s.numba("etl"),
                 seed=ETL_SEED_B, cache=cold / "cache", compare_db=cold / "risk.duckdb", fresh=False)


def _dashboard(s: Suite) -> dict:
    db = s.work("cold") / "risk.duckdb"
    return s.child("dashboard", {"kind": "dashboard"}, s.env(s.work("dashboard") / "cache", REDTEAM_RISK_DB=str(db)))


def _reports(s: Suite) -> dict:
    db = s.work("cold") / "risk.duckdb"
    out = s.work("reports", fresh=True)
    return s.child("reports", {"kind": "reports", "db": str(db), "out_dir": str(out), "formats": ["pdf", "html", "xlsx"]},
                   s.env(out / "cache"))


def _scale(s: Suite) -> dict:
    data = s.dataset(s.scale_rows, MAIN_SEED)
    return s.etl("scale", [data], s.work("scale"), s.numba("etl"))


def _million(s: Suite) -> dict:
    """A million rows, cold (issue 16): the fastest embedding backend (onnx-int8) and ``--fit-sample 40000``, the
    other 960,000 rows placed on that fit. About 30 minutes and ~5 GB on a quiet 2-core machine: only on request."""
    data = s.dataset(s.million_rows, MAIN_SEED)
    return s.etl("million", [data], s.work("million"), s.numba("etl"), truth=data, timeout=MILLION_TIMEOUT,
                 embedding_backend=MILLION_BACKEND, fit_sample=MILLION_FIT_SAMPLE)


def _profile(s: Suite) -> dict:
    """The cold ETL again under cProfile (slower than unprofiled); writes tmp/profile/cold_etl.prof."""
    out = TMP / "profile"
    out.mkdir(parents=True, exist_ok=True)
    return s.etl("profile", [s.main_input], s.work("profile"), s.numba("etl"), profile=out / "cold_etl.prof")


# Order matters twice: prerequisites come first, and each ratio's two sides run close together in time.
STEPS: tuple[Step, ...] = (
    Step("first_run", "First run after install", (), _first_run),
    Step("warmup_etl", "numba warm-up (other data)", (), _warmup_etl),
    Step("warmup_bertopic", "BERTopic numba warm-up", (), _warmup_bertopic),
    Step("floor", "Embedding floor", (), _floor),
    Step("cold", "Cold ETL", ("warmup_etl",), _cold),
    Step("floor_bf16", "Embedding floor in bfloat16", (), _floor_bf16),
    Step("bertopic", "BERTopic fit_transform", ("warmup_bertopic",), _bertopic),
    # the ONNX backend right after the anchors it is compared with (floor, cold ETL, BERTopic)
    Step("cold_onnx", "Cold ETL, --embedding-backend onnx", ("warmup_etl",), _cold_onnx, optional=True),
    Step("floor_onnx", "Embedding floor, ONNX backend", (), _floor_onnx, optional=True),
    Step("cold_small", "Cold ETL (small)", ("warmup_etl",), _cold_small),
    Step("warm", "Warm rerun", ("cold",), _warm),
    Step("warm_rebuild", "Warm rerun, --no-reuse", ("cold",), _warm_rebuild),
    Step("incremental", "Incremental", ("cold",), _incremental),
    Step("seed_stability", "Second seed", ("cold",), _seed_stability),
    Step("seed_stability_onnx", "Second seed, ONNX backend", ("cold_onnx",), _seed_stability_onnx, optional=True),
    Step("dashboard", "Dashboard", ("cold",), _dashboard),
    Step("reports", "Reports", ("cold",), _reports),
    Step("scale", "Scale", ("warmup_etl",), _scale, optional=True),
    Step("scale_sample", "Scale, ONNX backend and --fit-sample", ("warmup_etl",), _scale_sample, optional=True),
    Step("million", "1M rows, onnx-int8 and --fit-sample", ("warmup_etl",), _million, optional=True),
    Step("profile", "cProfile of the cold ETL", ("warmup_etl",), _profile, optional=True),
)
STEP_NAMES = tuple(step.name for step in STEPS)
DEFAULT_SKIP = ("profile", "million")  # only on request: a profiled repeat of the cold run; half an hour


def _satisfied(suite: Suite, need: str) -> bool:
    """Whether an earlier bench run left what ``need`` provides (so --only can reuse it)."""
    if need == "warmup_etl":
        return any((TMP / "numba" / "etl").rglob("*.nbi"))
    if need == "warmup_bertopic":
        return any((TMP / "numba" / "bertopic").rglob("*.nbi"))
    if need in ("cold", "cold_onnx"):
        state = TMP / "work" / need / "state.json"
        if not (state.is_file() and (TMP / "work" / need / "risk.duckdb").is_file()):
            return False
        return json.loads(state.read_text()).get("rows") == suite.rows
    return False


def plan(suite: Suite, only: list[str] | None, quick: bool, profile: bool) -> list[Step]:
    """The steps to run, in schedule order: the requested ones plus any missing prerequisite."""
    by_name = {step.name: step for step in STEPS}
    if only:
        wanted = set(only)
    else:
        wanted = {s.name for s in STEPS if s.name not in DEFAULT_SKIP and not (quick and s.optional)}
    if profile:
        wanted.add("profile")
    changed = True
    while changed:
        changed = False
        for name in list(wanted):
            for need in by_name[name].needs:
                if need not in wanted and not (only and _satisfied(suite, need)):
                    wanted.add(need)
                    changed = True
    return [step for step in STEPS if step.name in wanted]


def run(suite: Suite, steps: list[Step]) -> dict[str, dict]:
    for k, step in enumerate(steps, 1):
        suite.say(f"[{k}/{len(steps)}] {step.title} ...")
        try:
            result = step.run(suite)
        except Exception as exc:  # noqa: BLE001 - the harness itself failed (e.g. a dataset could not be generated)
            result = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
            suite.crashed.append(step.name)
        suite.results[step.name] = result
        headline = result.get("run_s") or result.get("encode_s") or result.get("fit_s") or result.get("process_s")
        suite.say(f"[{k}/{len(steps)}] {step.title}: {'ok' if result.get('ok') else 'FAILED'}, {headline} s, "
                  f"peak RSS {result.get('peak_rss_mb')} MB")
    return suite.results
