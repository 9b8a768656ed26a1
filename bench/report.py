"""Turn the children's results into figures (measured value, target, met) and write latest.json / latest.md.

A ratio is only computed when both of its sides were measured in the same bench run, so that a noisy
machine slows both alike. Targets are for 38,961 rows on 2 cores; at other sizes they are still shown,
for orientation only.
"""

from __future__ import annotations

import json
import platform
from dataclasses import asdict, dataclass
from pathlib import Path

STAGES = ("reuse", "ingest", "embed", "reduce", "cluster", "label", "themes", "publish")
PAGE_WARM_TARGET_S = 0.3
PDF_WARM_TARGET_S = 5.0
QUALITY_TOLERANCE = 0.01  # a quality figure "regresses" when it falls more than this below the previous run
# rows of the ETL-runs table: step name, label
ETL_RUNS = (
    ("first_run", "First run after install"),
    ("warmup_etl", "numba warm-up (other data)"),
    ("cold_small", "Cold ETL (small)"),
    ("cold", "Cold ETL"),
    ("warm", "Warm rerun"),
    ("warm_rebuild", "Warm rerun, --no-reuse"),
    ("incremental", "Incremental (+ new attacks)"),
    ("seed_stability", "Second UMAP seed (cache warm)"),
    ("scale", "Scale (4×)"),
    ("million", "1M rows, onnx-int8, --fit-sample"),
    ("profile", "Cold ETL under cProfile"),
)


@dataclass
class Figure:
    """One line of the targets table. ``op`` is "<=" or ">=" (None: no target); ``met`` None when either
    the value or the target is missing."""

    key: str
    label: str
    value: float | None
    unit: str
    target: float | None = None
    op: str | None = None
    met: bool | None = None
    previous: float | None = None
    note: str = ""

    def check(self) -> Figure:
        if self.value is not None and self.target is not None and self.op:
            self.met = self.value <= self.target if self.op == "<=" else self.value >= self.target
        return self


def _ok(results: dict, name: str) -> dict | None:
    r = results.get(name)
    return r if r and r.get("ok") else None


def _ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 3) if a is not None and b else None


def _gb(mb: float | None) -> float | None:
    return round(mb / 1024, 2) if mb is not None else None


def figures(results: dict, rows: int, small_rows: int, increment_rows: int, scale_rows: int,
            previous: dict[str, float]) -> list[Figure]:
    """The headline figures with their targets, from the step results of one bench run."""
    def get(name: str, key: str):
        r = _ok(results, name)
        return r.get(key) if r else None

    floor, first, cold = get("floor", "encode_s"), get("first_run", "run_s"), get("cold", "run_s")
    small, bert = get("cold_small", "run_s"), get("bertopic", "fit_s")
    warm, inc, scale = get("warm", "run_s"), get("incremental", "run_s"), get("scale", "run_s")
    n = f"{rows:,}"
    out = [
        Figure("floor_s", f"Embedding floor: encode {n} texts, batch 64", floor, "s",
               note=f"{get('floor', 'texts_per_s')} texts/s" if floor else ""),
        Figure("cold_s", f"Cold ETL, {n} rows", cold, "s"),
        Figure("cold_over_floor", "Cold ETL ÷ embedding floor", _ratio(cold, floor), "×", 1.2, "<=",
               note=_encode_rates(results)),
        Figure("floor_bf16_s", "Embedding floor in bfloat16 (--embed-precision bfloat16; not the default)",
               get("floor_bf16", "encode_s"), "s", note=f"{get('floor_bf16', 'texts_per_s')} texts/s"
               if get("floor_bf16", "texts_per_s") else ""),
        Figure("floor_onnx_s", "Embedding floor, ONNX backend (--embedding-backend onnx; not the default)",
               get("floor_onnx", "encode_s"), "s", note=f"{get('floor_onnx', 'texts_per_s')} texts/s"
               if get("floor_onnx", "texts_per_s") else ""),
        Figure("cold_onnx_s", f"Cold ETL, {n} rows, --embedding-backend onnx", get("cold_onnx", "run_s"), "s"),
        Figure("cold_onnx_over_bertopic", "Cold ETL with onnx ÷ BERTopic fit_transform",
               _ratio(get("cold_onnx", "run_s"), bert), "×", 0.8, "<="),
        Figure("first_run_s", f"First run after install, {n} rows", first, "s"),
        Figure("first_run_over_floor", "First run after install ÷ embedding floor", _ratio(first, floor), "×", 1.6, "<="),
        Figure("bertopic_s", f"BERTopic fit_transform, {n} texts (embeds itself)", bert, "s"),
        Figure("cold_over_bertopic", "Cold ETL ÷ BERTopic fit_transform", _ratio(cold, bert), "×", 0.8, "<="),
        Figure("cold_small_s", f"Cold ETL, {small_rows:,} rows", small, "s",
               note=f"{_ratio(small, cold)} of the {n}-row time for {small_rows / rows:.2f} of the rows"
               if small and cold else ""),
        Figure("warm_s", "Warm rerun, unchanged data", warm, "s"),
        Figure("warm_over_cold", "Warm rerun ÷ cold ETL", _ratio(warm, cold), "×", 0.05, "<="),
        Figure("warm_rebuild_s", "Warm rerun with --no-reuse (rebuilt from the embedding and reduce caches)",
               get("warm_rebuild", "run_s"), "s"),
        Figure("incremental_s", f"{n} + {increment_rows:,} new attacks, caches warm", inc, "s"),
        Figure("incremental_over_cold", f"+{increment_rows:,} attacks ÷ cold ETL", _ratio(inc, cold), "×", 0.10, "<="),
        Figure("cold_peak_rss_gb", f"Peak RSS, cold ETL {n} rows", _gb(get("cold", "peak_rss_mb")), "GB", 2.0, "<="),
        Figure("scale_s", f"Cold ETL, {scale_rows:,} rows (4×)", scale, "s"),
        Figure("scale_linearity", "4× time ÷ (4 × cold ETL time)", _ratio(scale, 4 * cold if cold else None), "×",
               1.25, "<=", note="~linear: 1.0 is exactly linear"),
        Figure("scale_peak_rss_gb", f"Peak RSS, {scale_rows:,} rows", _gb(get("scale", "peak_rss_mb")), "GB", 4.0, "<="),
        Figure("scale_sample_s", f"Cold ETL, {scale_rows:,} rows, onnx and --fit-sample", get("scale_sample", "run_s"),
               "s"),
        Figure("scale_sample_peak_rss_gb", f"Peak RSS, {scale_rows:,} rows, onnx and --fit-sample",
               _gb(get("scale_sample", "peak_rss_mb")), "GB", 4.0, "<="),
        Figure("million_s", f"Cold ETL, {get('million', 'n_loaded') or 0:,} rows, onnx-int8 and --fit-sample",
               get("million", "run_s"), "s"),
        Figure("million_peak_rss_gb", f"Peak RSS, {get('million', 'n_loaded') or 0:,} rows, onnx-int8 and "
               "--fit-sample", _gb(get("million", "peak_rss_mb")), "GB", 6.0, "<="),
    ]
    dash = _ok(results, "dashboard")
    if dash:
        out.append(Figure("dashboard_first_load_s", "Dashboard first load (fresh process, overview)",
                          dash.get("first_load_s"), "s"))
        for name, page in dash.get("pages", {}).items():
            out.append(Figure(f"page_{name}_warm_s", f"Page warm: {page['title']}", page.get("warm_s"), "s",
                              PAGE_WARM_TARGET_S, "<=",
                              note="raised an exception" if name in dash.get("page_errors", {}) else ""))
        payload = dash.get("map_payload_bytes")
        out.append(Figure("map_payload_mb", "Attack map payload (plotly JSON)",
                          round(payload / 2**20, 2) if payload else None, "MB",
                          note=f"{dash['map_payload_gzip_bytes'] / 2**20:.2f} MB gzipped" if payload else ""))
    reports = _ok(results, "reports")
    if reports:
        for fmt, entry in reports.get("formats", {}).items():
            target = PDF_WARM_TARGET_S if fmt == "pdf" else None
            out.append(Figure(f"report_{fmt}_warm_s", f"Report {fmt.upper()} build, warm", entry.get("warm_s"), "s",
                              target, "<=" if target else None, note=entry.get("error", "")))
    out.extend(_quality(results, previous))
    for fig in out:
        if fig.previous is None:
            fig.previous = previous.get(fig.key)
        fig.check()
    return out


def _encode_rates(results: dict) -> str:
    """Texts/s of the model inside the cold ETL vs in the floor run: unequal rates mean the machine's load
    changed between the two, and the ratio is off by about that factor."""
    cold, floor = _ok(results, "cold"), _ok(results, "floor")
    if not cold or not floor:
        return ""
    seconds = cold.get("spy_seconds", {}).get("embed.model_encode")
    if not seconds:
        return ""
    texts = cold.get("n_loaded", 0) - cold.get("n_duplicates", 0) + (cold.get("spy_returns") or {}).get(
        "embed.model_encode", 0)
    return f"model speed: {texts / seconds:.0f} texts/s in the ETL, {floor['texts_per_s']:.0f} in the floor run"


def _quality(results: dict, previous: dict[str, float]) -> list[Figure]:
    cold = (_ok(results, "cold") or {}).get("quality", {})
    seed = (_ok(results, "seed_stability") or {}).get("quality", {})
    bert = (_ok(results, "bertopic") or {}).get("quality", {})
    cold_onnx = (_ok(results, "cold_onnx") or {}).get("quality", {})
    seed_onnx = (_ok(results, "seed_stability_onnx") or {}).get("quality", {})
    scale_sample = (_ok(results, "scale_sample") or {}).get("quality", {})
    million = (_ok(results, "million") or {}).get("quality", {})
    rows = [
        ("theme_accuracy", "Theme accuracy vs demo truth", cold.get("theme_accuracy")),
        ("cluster_nmi", "NMI, cluster_id vs true subtopic (noise = one label)", cold.get("cluster_nmi")),
        ("cluster_nmi_non_noise", "NMI, clustered attacks only", cold.get("cluster_nmi_non_noise")),
        ("noise_share", "Share of attacks HDBSCAN left as noise", cold.get("noise_share")),
        ("seed_ari", "ARI of clusters, UMAP seed 0 vs 1", seed.get("seed_ari")),
        ("bertopic_nmi", "BERTopic NMI, topics vs true subtopic (peer)", bert.get("cluster_nmi")),
        ("onnx_theme_accuracy", "ONNX backend: theme accuracy vs demo truth", cold_onnx.get("theme_accuracy")),
        ("onnx_cluster_nmi", "ONNX backend: NMI, cluster_id vs true subtopic", cold_onnx.get("cluster_nmi")),
        ("onnx_seed_ari", "ONNX backend: ARI of clusters, UMAP seed 0 vs 1", seed_onnx.get("seed_ari")),
        ("scale_sample_cluster_nmi", "4× rows, onnx and --fit-sample: NMI vs true subtopic",
         scale_sample.get("cluster_nmi")),
        ("million_theme_accuracy", "1M rows, onnx-int8 and --fit-sample: theme accuracy vs demo truth",
         million.get("theme_accuracy")),
        ("million_cluster_nmi", "1M rows, onnx-int8 and --fit-sample: NMI vs true subtopic", million.get("cluster_nmi")),
    ]
    out = []
    for key, label, value in rows:
        prev = previous.get(key)
        higher_is_better = key != "noise_share"
        if prev is None or key == "bertopic_nmi":
            out.append(Figure(key, label, value, ""))
        elif higher_is_better:
            out.append(Figure(key, label, value, "", round(prev - QUALITY_TOLERANCE, 4), ">=", note="no regression"))
        else:
            out.append(Figure(key, label, value, "", round(prev + QUALITY_TOLERANCE, 4), "<=", note="no regression"))
    return out


# --- writing ---------------------------------------------------------------------------------------------


def previous_values(path: Path, rows: int) -> dict[str, float]:
    """Figure values of the last run at the same size (from latest.json), for the Previous column."""
    try:
        old = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return {}
    if old.get("meta", {}).get("rows") != rows:
        return {}
    return {f["key"]: f["value"] for f in old.get("figures", []) if f.get("value") is not None}


def write(out_dir: Path, meta: dict, results: dict, figs: list[Figure]) -> tuple[Path, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    payload = {"meta": meta, "figures": [asdict(f) for f in figs], "results": results}
    json_path, md_path = out_dir / "latest.json", out_dir / "latest.md"
    json_path.write_text(json.dumps(payload, indent=2, default=str) + "\n")
    md_path.write_text(markdown(meta, results, figs))
    return json_path, md_path


def _fmt(value, unit: str = "") -> str:
    """``value`` for a table cell: 3 decimals below 1, 2 below 10, 1 below 1,000, else none; with its unit."""
    if value is None:
        return "—"
    if isinstance(value, float):
        digits = 3 if abs(value) < 1 else 2 if abs(value) < 10 else 1 if abs(value) < 1000 else 0
        text = f"{value:,.{digits}f}"
    else:
        text = f"{value:,}"
    if unit == "×":
        return f"{text}×"
    return f"{text} {unit}".strip()


def _met(fig: Figure) -> str:
    return "—" if fig.met is None else ("yes" if fig.met else "**no**")


def markdown(meta: dict, results: dict, figs: list[Figure]) -> str:
    lines = [
        "# Benchmark results",
        "",
        (f"Run {meta['started_at']} · commit `{meta.get('commit') or '?'}` · {meta['rows']:,} rows · "
         f"{meta['cpus']} CPUs, {meta['ram_gb']} GB RAM · Python {meta['python']} · suite took "
         f"{meta['suite_s'] / 60:.1f} min · 1-min load average during the run {meta['load_min']}–{meta['load_max']} "
         f"(other work on the machine slows every figure; ratios are more stable than times)."),
        "",
        f"Command: `{meta['command']}`. How to read this: docs/performance.md.",
        "",
        "## Targets",
        "",
        "| Figure | Measured | Target | Met | Previous | Note |",
        "|---|---:|---:|:---:|---:|---|",
    ]
    for f in figs:
        if f.value is None:
            continue  # not measured in this run (--only / --quick) or failed (listed under Failures)
        target = f"{f.op} {_fmt(f.target, f.unit)}" if f.target is not None else "—"
        lines.append(f"| {f.label} | {_fmt(f.value, f.unit)} | {target} | {_met(f)} | {_fmt(f.previous, f.unit)} | "
                     f"{f.note} |")
    if any(_ok(results, name) for name, _ in ETL_RUNS):
        lines += _etl_table(results)
    lines += _stage_cpu(results)
    lines += _embedding_detail(results)
    lines += _dashboard_detail(results)
    lines += _reports_detail(results)
    lines += _bertopic_detail(results)
    failed = {k: v for k, v in results.items() if not v.get("ok")}
    if failed:
        lines += ["", "## Failures", ""]
        lines += [f"- `{k}`: {v.get('error', '')[:300]} (log: `{v.get('log', '')}`)" for k, v in failed.items()]
    lines += ["", "Versions: " + ", ".join(f"{k} {v}" for k, v in meta.get("versions", {}).items()), ""]
    return "\n".join(lines)


def _etl_table(results: dict) -> list[str]:
    lines = ["", "## ETL runs, seconds per stage", "",
             ("Wall seconds per pipeline stage (`RunSummary.stage_seconds`); `run()` is the wall time of "
              "`etl.pipeline.run` (the figure used in ratios), `process` adds interpreter start and imports. "
              "CPU/wall near 2 means both cores busy; numba compiled: functions compiled instead of loaded from "
              "numba's disk cache, and the seconds that took."), "",
             "| Run | Rows | " + " | ".join(STAGES) + " | run() | process | CPU/wall | peak RSS | numba compiled | load |",
             "|---|---:|" + "---:|" * (len(STAGES) + 6)]
    for name, label in ETL_RUNS:
        r = _ok(results, name)
        if not r:
            continue
        stages = r.get("stage_seconds", {})
        cpu_wall = r["cpu_s"] / r["child_s"] if r.get("child_s") else None
        lines.append(
            f"| {label} | {r.get('n_loaded', 0):,} | " + " | ".join(_fmt(stages.get(s)) for s in STAGES)
            + f" | {_fmt(r.get('run_s'))} | {_fmt(r.get('process_s'))} | {_fmt(cpu_wall)} | "
            f"{_fmt(r.get('peak_rss_mb'), 'MB')} | {r.get('numba_compiles', 0)} fn, {_fmt(r.get('numba_compile_s'), 's')} | "
            f"{_load(r)} |")
    return lines


def _load(result: dict) -> str:
    """The machine's 1-minute load average when the child started → ended."""
    before, after = (result.get("load_avg_1m") or [None, None])[:2]
    return f"{before:.1f}→{after:.1f}" if before is not None and after is not None else "—"


def _stage_cpu(results: dict) -> list[str]:
    r = _ok(results, "cold")
    if not r or not r.get("stage_cpu_s"):
        return []
    stages, cpu = r["stage_seconds"], r["stage_cpu_s"]
    cells = [f"{s} {cpu[s] / stages[s]:.2f}" for s in STAGES if stages.get(s) and s in cpu]
    return ["", "Cold ETL, CPU seconds ÷ wall seconds per stage (2.00 = both cores): " + ", ".join(cells) + "."]


def _embedding_detail(results: dict) -> list[str]:
    cold, floor = _ok(results, "cold"), _ok(results, "floor")
    if not cold:
        return []
    spy = cold.get("spy_seconds", {})
    calls = cold.get("spy_calls", {})
    sub = (cold.get("spy_returns") or {}).get("reduce.reduce") or {}
    lines = ["", "## Inside the cold ETL", ""]
    lines.append(f"- embed stage {_fmt(cold['stage_seconds'].get('embed'), 's')}: model load "
                 f"{_fmt(spy.get('embed.load_model'), 's')} (a cold cache loads it beside ingest), model encode "
                 f"{_fmt(spy.get('embed.model_encode'), 's')} ({calls.get('embed.model_encode', 0)} call(s)), "
                 f"cache load {_fmt(spy.get('embed.load_cache'), 's')}"
                 + (f"; floor encode {_fmt(floor['encode_s'], 's')} for {floor['n_texts']:,} texts "
                    f"({floor['n_unique_texts']:,} distinct), load {_load(floor)}" if floor else ""))
    if sub:
        lines.append("- reduce sub-steps: " + ", ".join(f"{k} {_fmt(v, 's')}" for k, v in sub.items()))
    if "themes.assign_themes" in spy:
        lines.append(f"- themes.assign_themes {_fmt(spy['themes.assign_themes'], 's')}")
    return lines


def _dashboard_detail(results: dict) -> list[str]:
    dash = _ok(results, "dashboard")
    if not dash:
        return []
    lines = ["", "## Dashboard pages (AppTest, seconds per script run)", "",
             "| Page | First run | Warm (second run) | Target | Met |", "|---|---:|---:|---:|:---:|"]
    for name, page in dash.get("pages", {}).items():
        met = "—" if page.get("warm_s") is None else ("yes" if page["warm_s"] <= PAGE_WARM_TARGET_S else "**no**")
        lines.append(f"| {page['title']} | {_fmt(page.get('cold_s'))} | {_fmt(page.get('warm_s'))} | "
                     f"<= {PAGE_WARM_TARGET_S} | {met} |")
    for name, errors in dash.get("page_errors", {}).items():
        lines.append(f"\n`{name}` raised: {errors[0][:300]}")
    return lines


def _reports_detail(results: dict) -> list[str]:
    rep = _ok(results, "reports")
    if not rep:
        return []
    lines = ["", "## Reports (`dashboard.reports.build_report`, all attacks)", "",
             "| Format | First build | Warm build | Size |", "|---|---:|---:|---:|"]
    for fmt, e in rep.get("formats", {}).items():
        size = f"{e['bytes'] / 1024:,.0f} KB" if e.get("bytes") else e.get("error", "—")
        lines.append(f"| {fmt.upper()} | {_fmt(e.get('cold_s'))} | {_fmt(e.get('warm_s'))} | {size} |")
    return lines


def _bertopic_detail(results: dict) -> list[str]:
    bert = _ok(results, "bertopic")
    if not bert:
        return []
    steps = ", ".join(f"{k} {_fmt(v, 's')}" for k, v in bert.get("step_s", {}).items())
    return ["", (f"BERTopic {bert.get('bertopic_version', '')}: fit_transform {_fmt(bert['fit_s'], 's')} ({steps}), "
                 f"{bert.get('n_topics')} topics, peak RSS {_fmt(bert.get('peak_rss_mb'), 'MB')}, load {_load(bert)}.")]


def machine() -> dict:
    import os

    ram = None
    try:
        with open("/proc/meminfo") as fh:
            ram = round(int(fh.readline().split()[1]) / 2**20, 1)
    except (OSError, ValueError, IndexError):
        pass
    return {"cpus": os.cpu_count(), "ram_gb": ram, "python": platform.python_version(), "platform": platform.platform()}
