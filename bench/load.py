"""``python -m bench.load --sessions 10 --db PATH [--rounds 2] [--pages overview,attack_map]``: N concurrent
dashboard sessions against one real Streamlit server; p50/p95 page completion and server memory per session.

The server is ``redteam-risk dashboard``'s own command (``etl.cli.streamlit_command``) on a free local port,
started outside the repository as a service is. Each session is its own browser context (own cookies, own
Streamlit session) in one headless chromium (``/usr/bin/chromium`` through Playwright's async API); all
sessions run at once. A session opens the app (timed separately as ``app_load``: the frontend's scripts, the
websocket and the first page), then visits every page ``--rounds`` times by clicking it in the sidebar, as a
user does, in a rotated order so that the sessions do not all ask for the same page at the same moment.

A page is *complete* when its title is shown, Streamlit's status widget no longer says "Running", and its main
element is rendered: a plotly chart's SVG for the chart pages, the headline metrics for the Overview, a data
grid for the Explorer and the Data & runs page. Completion time runs from the click to that moment: the
server's script run, the websocket messages and the browser's rendering.

Memory: resident set size (psutil) of the server process and its children, before any session connects
(after one warm-up visit, so the first session does not pay for imports and the database connection), and
after all sessions have completed their pages while still connected; per session = the difference / N.

With ``--cdp`` the sessions run in a chromium on another machine (started with ``--remote-debugging-port``;
then give ``--host`` an address that machine can reach), so that rendering does not compete with the server.

CPU: seconds of CPU the server and the local browser (with Playwright's driver) used during the sessions, so a
slow completion can be put on the server or on the rendering (with ``--cdp`` the browser's is not counted).

Prints one JSON object (and writes it to ``--out`` when given). Timings are wall-clock on whatever machine
runs it: say how busy it was when you report them.
"""

from __future__ import annotations

import argparse
import ast
import asyncio
import json
import math
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


def _page_titles() -> dict[str, str]:
    """Page name (file stem) -> title, from ``dashboard/app.py``'s ``PAGES`` (read, not imported: importing the
    app would run it)."""
    tree = ast.parse((Path(__file__).resolve().parents[1] / "dashboard" / "app.py").read_text(encoding="utf-8"))
    node = next(n for n in tree.body if isinstance(n, ast.Assign) and getattr(n.targets[0], "id", "") == "PAGES")
    return {file.removesuffix(".py"): title for file, title, _ in ast.literal_eval(node.value)}


TITLES = _page_titles()
PAGES = tuple(TITLES)
MAIN_ELEMENT = {"overview": "[data-testid='stMetric']", "explorer": "[data-testid='stDataFrame']",
                "data_runs": "[data-testid='stDataFrame']"}
CHART = ".js-plotly-plot .main-svg"
START_TIMEOUT = 120  # seconds for the server's health check
PAGE_TIMEOUT = 120_000  # ms for one page to complete
ROOT = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(db: Path, log_path: Path, host: str = "127.0.0.1") -> tuple[subprocess.Popen, str]:
    """The dashboard on ``host``:<free port> over ``db``; returns the process and its base URL."""
    from etl import cli

    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k != "REDTEAM_RISK_PASSWORD"}
    env.update({"REDTEAM_RISK_DB": str(db), "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT),
                                                                                      env.get("PYTHONPATH")]))})
    log = open(log_path, "wb")  # noqa: SIM115 - closed with the process in stop_server
    proc = subprocess.Popen(cli.streamlit_command(host, port), cwd=tempfile.gettempdir(), env=env,
                            stdout=log, stderr=subprocess.STDOUT)
    proc.log = log  # type: ignore[attr-defined]
    url = f"http://{host}:{port}"
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        if proc.poll() is not None:
            raise SystemExit(f"streamlit exited with {proc.returncode}; see {log_path}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as resp:
                if resp.status == 200:
                    return proc, url
        except OSError:
            pass
        if time.monotonic() > deadline:
            stop_server(proc)
            raise SystemExit(f"streamlit did not answer in {START_TIMEOUT} s; see {log_path}")
        time.sleep(0.3)


def stop_server(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    proc.log.close()  # type: ignore[attr-defined]


def cpu_seconds(server_pid: int) -> tuple[float, float]:
    """CPU seconds (user + system) used so far by the server with its children, and by every other process
    this one started (the browser and Playwright's driver): where the time of a page goes."""
    import psutil

    def used(proc: psutil.Process) -> float:
        try:
            t = proc.cpu_times()
            return t.user + t.system
        except psutil.Error:
            return 0.0

    server = psutil.Process(server_pid)
    in_server = {server.pid, *(c.pid for c in server.children(recursive=True))}
    mine = psutil.Process().children(recursive=True)
    return (sum(used(p) for p in mine if p.pid in in_server),
            sum(used(p) for p in mine if p.pid not in in_server))


def rss_mb(pid: int) -> float:
    """Resident memory of ``pid`` and its children, MB (10^6 bytes)."""
    import psutil

    proc = psutil.Process(pid)
    total = proc.memory_info().rss
    for child in proc.children(recursive=True):
        try:
            total += child.memory_info().rss
        except psutil.Error:
            pass
    return total / 1e6


async def complete(page, name: str) -> None:
    """Wait until ``page`` shows page ``name`` completely (module docstring)."""
    await page.locator("h1", has_text=TITLES[name]).first.wait_for(timeout=PAGE_TIMEOUT)
    await page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')"
        " || !document.querySelector('[data-testid=\"stStatusWidget\"]').innerText.includes('Running')",
        timeout=PAGE_TIMEOUT, polling=50,
    )
    await page.locator(MAIN_ELEMENT.get(name, CHART)).first.wait_for(state="visible", timeout=PAGE_TIMEOUT)


async def open_app(page, url: str, name: str) -> float:
    """A new session: load the app at page ``name`` (the frontend, its websocket, the page); seconds."""
    t0 = time.perf_counter()
    await page.goto(f"{url}/{'' if name == 'overview' else name}", wait_until="commit", timeout=PAGE_TIMEOUT)
    await complete(page, name)
    return time.perf_counter() - t0


async def switch(page, name: str) -> float:
    """In the open app, click page ``name`` in the sidebar's navigation, as a user does; seconds to complete."""
    t0 = time.perf_counter()
    await page.locator("[data-testid='stSidebarNav'] a", has_text=TITLES[name]).first.click(timeout=PAGE_TIMEOUT)
    await complete(page, name)
    return time.perf_counter() - t0


async def session(browser, url: str, pages: tuple[str, ...], rounds: int, offset: int, results: list,
                  errors: list) -> object:
    """One dashboard session (its own browser context): opens the app, then every page ``rounds`` times through
    the sidebar; returns the open context."""
    order = pages[offset % len(pages):] + pages[:offset % len(pages)]
    context = await browser.new_context(viewport={"width": 1400, "height": 1000})
    page = await context.new_page()
    try:
        results.append({"page": order[-1], "seconds": await open_app(page, url, order[-1]), "first": True})
    except Exception as exc:  # noqa: BLE001 - reported, not fatal
        errors.append(f"open {order[-1]}: {type(exc).__name__}: {str(exc).splitlines()[0][:200]}")
        return context
    for _ in range(rounds):
        for name in order:
            try:
                results.append({"page": name, "seconds": await switch(page, name), "first": False})
            except Exception as exc:  # noqa: BLE001 - one failed visit is reported, not fatal
                errors.append(f"{name}: {type(exc).__name__}: {str(exc).splitlines()[0][:200]}")
    return context


def percentile(values: list[float], q: float) -> float:
    """The ``q`` quantile of ``values`` (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


async def _measure(server: subprocess.Popen, url: str, sessions: int, rounds: int,
                   pages: tuple[str, ...], cdp: str | None = None) -> dict:
    from playwright.async_api import async_playwright

    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    async with async_playwright() as p:
        if cdp:  # a chromium elsewhere (--remote-debugging-port), so rendering does not share the server's CPU
            browser = await p.chromium.connect_over_cdp(cdp)
        else:
            browser = await p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            warm_context = await browser.new_context(viewport={"width": 1400, "height": 1000})
            warm_page = await warm_context.new_page()
            warmup = {name: round(await open_app(warm_page, url, name), 3) for name in pages}
            await warm_context.close()
            await asyncio.sleep(1.0)
            before = rss_mb(server.pid)
            cpu_before = cpu_seconds(server.pid)
            results: list[dict] = []
            errors: list[str] = []
            t0 = time.perf_counter()
            contexts = await asyncio.gather(*(session(browser, url, pages, rounds, i, results, errors)
                                              for i in range(sessions)))
            wall = time.perf_counter() - t0
            after = rss_mb(server.pid)  # every session still connected
            cpu_after = cpu_seconds(server.pid)
            for context in contexts:
                await context.close()
        finally:
            await browser.close()
    return {"results": results, "errors": errors, "wall": wall, "warmup": warmup, "before": before, "after": after,
            "server_cpu": cpu_after[0] - cpu_before[0], "client_cpu": cpu_after[1] - cpu_before[1]}


def run(db: Path, sessions: int, rounds: int, pages: tuple[str, ...], log_path: Path, host: str = "127.0.0.1",
        cdp: str | None = None) -> dict:
    server, url = start_server(db, log_path, host)
    try:
        m = asyncio.run(_measure(server, url, sessions, rounds, pages, cdp))
    finally:
        stop_server(server)
    visits = [r for r in m["results"] if not r["first"]]
    seconds = [r["seconds"] for r in visits]
    first = [r["seconds"] for r in m["results"] if r["first"]]
    per_page = {name: {"n": len(v), "p50_s": round(statistics.median(v), 3), "p95_s": round(percentile(v, 0.95), 3)}
                for name in pages if (v := [r["seconds"] for r in visits if r["page"] == name])}
    return {
        "db": str(db), "sessions": sessions, "rounds": rounds, "pages": list(pages),
        "visits": len(seconds), "errors": m["errors"], "wall_s": round(m["wall"], 1),
        "p50_s": round(statistics.median(seconds), 3) if seconds else None,
        "p95_s": round(percentile(seconds, 0.95), 3) if seconds else None,
        "per_page": per_page, "warmup_s": m["warmup"],
        "app_load_p50_s": round(statistics.median(first), 3) if first else None,
        "app_load_p95_s": round(percentile(first, 0.95), 3) if first else None,
        "server_rss_mb_before": round(m["before"], 1), "server_rss_mb_after": round(m["after"], 1),
        "rss_mb_per_session": round((m["after"] - m["before"]) / sessions, 1),
        "server_cpu_s": round(m["server_cpu"], 1), "browser_cpu_s": round(m["client_cpu"], 1),
        "cpu_count": os.cpu_count(), "load_average_1m": round(os.getloadavg()[0], 2),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", type=Path, required=True, help="a published database")
    parser.add_argument("--sessions", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=2, help="times each session opens every page")
    parser.add_argument("--pages", default=",".join(PAGES), help="comma-separated page names")
    parser.add_argument("--out", type=Path, help="also write the JSON result here")
    parser.add_argument("--host", default="127.0.0.1", help="address the server listens on (and is visited at)")
    parser.add_argument("--cdp", help="use the chromium at this DevTools URL (e.g. http://OTHER:9222, started with "
                                      "--remote-debugging-port) instead of launching one here")
    parser.add_argument("--log", type=Path, default=Path(tempfile.gettempdir()) / "bench-load-streamlit.log")
    args = parser.parse_args(argv)
    pages = tuple(p for p in args.pages.split(",") if p)
    if unknown := [p for p in pages if p not in PAGES]:
        parser.error(f"unknown pages {unknown}; choose from {', '.join(PAGES)}")
    if args.sessions < 1 or args.rounds < 1:
        parser.error("--sessions and --rounds must be at least 1")
    if not args.db.is_file():
        parser.error(f"{args.db} does not exist")
    result = run(args.db.resolve(), args.sessions, args.rounds, pages, args.log, args.host, args.cdp)
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")
    sys.exit(1 if result["errors"] and not result["visits"] else 0)


if __name__ == "__main__":
    main()
