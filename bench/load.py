"""``python -m bench.load --sessions 10 --db PATH [--client ws|browser] [--rounds 2] [--pages overview,attack_map]``:
N concurrent dashboard sessions against one real Streamlit server; p50/p95 page completion and server memory per
session.

The server is ``redteam-risk dashboard``'s own command (``etl.cli.streamlit_command``) on a free local port,
started outside the repository as a service is. All sessions run at once. A session opens the app at one page
(timed separately as ``app_load``), then visits every page ``--rounds`` times, as a user clicking the sidebar
does, in a rotated order so that the sessions do not all ask for the same page at the same moment. Before the
sessions, one warm-up session visits every page once (so the first session does not pay for imports, the
database connection and the first queries; the warm-up times are reported).

Two kinds of client:

- ``--client ws`` (the default): each session is a lightweight client speaking Streamlit's own websocket protocol
  (``/_stcore/stream``, protobuf ``BackMsg``/``ForwardMsg`` from the installed ``streamlit.proto``), as the
  frontend does: it asks for a page with a ``rerun_script`` BackMsg (the page's URL path as ``page_name`` when the
  session opens, the ``page_script_hash`` from the server's ``navigation`` message when switching, no query
  string, the hashes of the messages it has cached so far so the server sends references for those, as the
  browser's message cache does), and reads ForwardMsgs until ``script_finished``. Completion = from sending the
  rerun to receiving ``script_finished`` (``FINISHED_SUCCESSFULLY``): the server's whole script run and every
  message of it, with no rendering. A page counts as an error when it shows an exception, an ``st.error``, the
  "page not found" message or a compile error, when its title or its main element (a plotly chart, the
  Overview's metrics, the data grid of the Explorer, Data & runs and History) is missing, or when it does not
  finish within the timeout; every visit also reports the bytes of the ForwardMsgs received. This measures the
  server, which is what one server's capacity is about: the client costs a few ms of CPU per page.
  Widgets keep their default values (the client sends no widget states), as for a user who has not touched the
  filters.
- ``--client browser``: each session is its own browser context (own cookies, own Streamlit session) in one
  headless chromium (``/usr/bin/chromium`` through Playwright's async API), clicking the sidebar. A page is
  *complete* when its title is shown, Streamlit's status widget no longer says "Running", and its main element
  is rendered (the same elements as above). Completion runs from the click to that moment: the server's script
  run, the websocket messages and the browser's rendering. On one machine the browsers' rendering competes with
  the server for the CPU, so this mostly measures the client machine; with ``--cdp`` the sessions run in a
  chromium on another machine (started with ``--remote-debugging-port``; then give ``--host`` an address that
  machine can reach).

Memory: resident set size (psutil) of the server process and its children, before any session connects
(after the warm-up), and after all sessions have completed their pages while still connected; per session =
the difference / N.

CPU: seconds of CPU the server and the client (the local browser with Playwright's driver, or this process for
``ws``) used during the sessions, so a slow completion can be put on the server or on the client.

Prints one JSON object (and writes it to ``--out`` when given) with the 1-minute load average at the end of
the run. Timings are wall-clock on whatever machine runs it: say how busy it was when you report them.
"""

from __future__ import annotations

import argparse
import ast
import asyncio
import json
import math
import os
import shutil
import signal
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
# The elements (``streamlit.proto`` Element types), any one of which shows a page has rendered its content;
# a plotly chart for the pages not named. History without any change shows a notice instead of its table.
MAIN_ELEMENT = {"overview": ("metric",), "explorer": ("dataframe",), "data_runs": ("dataframe",),
                "history": ("dataframe", "alert")}
CHART = ("plotly_chart",)
SELECTORS = {"metric": "[data-testid='stMetric']", "dataframe": "[data-testid='stDataFrame']",
             "plotly_chart": ".js-plotly-plot .main-svg", "alert": "[data-testid='stAlert']"}


def main_element(name: str) -> tuple[str, ...]:
    return MAIN_ELEMENT.get(name, CHART)
START_TIMEOUT = 120  # seconds for the server's health check
PAGE_TIMEOUT = 120_000  # ms for one page to complete
ROOT = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(db: Path, log_path: Path, host: str = "127.0.0.1",
                 profile: Path | None = None) -> tuple[subprocess.Popen, str]:
    """The dashboard on ``host``:<free port> over ``db``; returns the process and its base URL. With ``profile``
    the server runs under ``bench.server_profile``, which writes its sampling profile there."""
    from etl import cli

    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k != "REDTEAM_RISK_PASSWORD"}
    env.update({"REDTEAM_RISK_DB": str(db), "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT),
                                                                                      env.get("PYTHONPATH")]))})
    log = open(log_path, "wb")  # noqa: SIM115 - closed with the process in stop_server
    cmd = cli.streamlit_command(host, port)
    if profile:  # [python, -m, streamlit, ...] -> [python, -m, bench.server_profile, OUT, --, streamlit, ...]
        cmd = [*cmd[:2], "bench.server_profile", str(profile.resolve()), "--", *cmd[2:]]
    proc = subprocess.Popen(cmd, cwd=tempfile.gettempdir(), env=env,
                            stdout=log, stderr=subprocess.STDOUT)
    proc.log = log  # type: ignore[attr-defined]
    proc.profiled = bool(profile)  # type: ignore[attr-defined]
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
    """CPU seconds (user + system) used so far by the server with its children, and by this process with every
    other process it started (the websocket clients, or the browser and Playwright's driver): where the time of
    a page goes."""
    import psutil

    def used(proc: psutil.Process) -> float:
        try:
            t = proc.cpu_times()
            return t.user + t.system
        except psutil.Error:
            return 0.0

    server = psutil.Process(server_pid)
    in_server = {server.pid, *(c.pid for c in server.children(recursive=True))}
    mine = [psutil.Process(), *psutil.Process().children(recursive=True)]
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
    selector = ", ".join(SELECTORS[kind] for kind in main_element(name))
    await page.locator(selector).first.wait_for(state="visible", timeout=PAGE_TIMEOUT)


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


# --- the websocket client (--client ws) ------------------------------------------------------------------------


class PageError(Exception):
    """A page that completed with an error shown, or did not complete (``finished`` False): reported as an error
    of the visit."""

    def __init__(self, message: str, finished: bool = True):
        super().__init__(message)
        self.finished = finished


class WsSession:
    """One dashboard session over Streamlit's websocket protocol (module docstring): ``await visit(name)`` asks
    for a page and reads the server's messages until its script run has finished.

    Like the frontend it keeps the ForwardMsgs the server marks ``cacheable`` (large elements, by hash) and sends
    their hashes with every rerun, so the server sends a reference instead of an element this session already
    has; references are resolved from that cache, so the checks see every element of the page."""

    def __init__(self, url: str):
        self.http = url
        self.url = "ws" + url.removeprefix("http") + "/_stcore/stream"
        self.cache: dict[str, object] = {}  # hash -> ForwardMsg
        self.page_hashes: dict[str, str] = {}  # url path -> page_script_hash, from the navigation message
        self.ws = None

    async def __aenter__(self) -> WsSession:
        from websockets.asyncio.client import connect

        self.ws = await connect(self.url, subprotocols=["streamlit"], max_size=None, ping_interval=None,
                                open_timeout=PAGE_TIMEOUT / 1000, compression=None)
        return self

    async def __aexit__(self, *exc) -> None:
        await self.ws.close()

    def _rerun(self, name: str) -> bytes:
        from streamlit.proto.BackMsg_pb2 import BackMsg

        msg = BackMsg()
        state = msg.rerun_script
        state.query_string = ""  # a page switch starts without query parameters, as in the frontend
        if name in self.page_hashes:  # a click in the navigation
            state.page_script_hash = self.page_hashes[name]
        else:  # opening the app at a URL: the server resolves the path
            state.page_name = "" if name == PAGES[0] else name
        state.cached_message_hashes.extend(self.cache)
        state.context_info.timezone = "UTC"
        state.context_info.locale = "en-US"
        state.context_info.url = f"{self.http}/{'' if name == PAGES[0] else name}"
        return msg.SerializeToString()

    async def visit(self, name: str) -> dict:
        """Ask for page ``name`` and read until its run finishes; returns seconds, bytes, messages and the
        element counts. Raises ``PageError`` when the page shows an error or lacks its title or main element."""
        from streamlit.proto.Alert_pb2 import Alert
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        elements: dict[str, int] = {}
        problems: list[str] = []
        title_seen = False
        received = messages = 0
        t0 = time.perf_counter()
        await self.ws.send(self._rerun(name))
        deadline = t0 + PAGE_TIMEOUT / 1000
        while True:
            try:
                raw = await asyncio.wait_for(self.ws.recv(), timeout=max(0.1, deadline - time.perf_counter()))
            except TimeoutError:
                raise PageError(f"no script_finished in {PAGE_TIMEOUT / 1000:.0f} s", finished=False) from None
            received += len(raw)
            messages += 1
            msg = ForwardMsg()
            msg.ParseFromString(raw)
            if msg.WhichOneof("type") == "ref_hash":
                if msg.ref_hash not in self.cache:
                    problems.append(f"reference to an unknown message {msg.ref_hash}")
                    continue
                msg = self.cache[msg.ref_hash]
            elif msg.metadata.cacheable:
                self.cache[msg.hash] = msg
            kind = msg.WhichOneof("type")
            if kind == "navigation":
                self.page_hashes = {p.url_pathname: p.page_script_hash for p in msg.navigation.app_pages}
            elif kind == "page_not_found":
                problems.append("page not found")
            elif kind == "delta" and msg.delta.WhichOneof("type") == "new_element":
                element = msg.delta.new_element
                etype = element.WhichOneof("type")
                elements[etype] = elements.get(etype, 0) + 1
                if etype == "exception":
                    problems.append(f"exception {element.exception.type}: {element.exception.message[:200]}")
                elif etype == "alert" and element.alert.format == Alert.ERROR:
                    problems.append(f"error shown: {element.alert.body[:200]}")
                elif etype == "heading" and element.heading.tag == "h1" and element.heading.body == TITLES[name]:
                    title_seen = True
            elif kind == "script_finished":
                status = msg.script_finished
                if status == ForwardMsg.FINISHED_EARLY_FOR_RERUN:  # the script asked for a rerun: keep reading
                    continue
                if status == ForwardMsg.FINISHED_WITH_COMPILE_ERROR:
                    problems.append("compile error")
                break
        seconds = time.perf_counter() - t0
        if not title_seen:
            problems.append(f"no title {TITLES[name]!r}")
        if not any(elements.get(kind) for kind in main_element(name)):
            problems.append(f"no {' or '.join(main_element(name))} element")
        if problems:
            raise PageError("; ".join(problems))
        return {"seconds": seconds, "bytes": received, "messages": messages, "elements": elements}


async def ws_session(url: str, pages: tuple[str, ...], rounds: int, offset: int, results: list,
                     errors: list, finished: asyncio.Queue, hold: asyncio.Event) -> None:
    """One session over the websocket: opens the app at one page, then every page ``rounds`` times; puts its
    number on ``finished`` and stays connected until ``hold`` is set (so memory is read with every session
    open)."""
    order = pages[offset % len(pages):] + pages[:offset % len(pages)]
    visits = [(order[-1], True)] + [(name, False) for _ in range(rounds) for name in order]
    try:
        async with WsSession(url) as client:
            for name, first in visits:
                try:
                    results.append({"page": name, "first": first, **await client.visit(name)})
                except PageError as exc:
                    errors.append(f"{'open ' if first else ''}{name}: {exc}")
                    # without its first page a session has no navigation to click; after a page that never
                    # finished (a stuck server) the session's state is unknown
                    if first or not exc.finished:
                        break
            finished.put_nowait(offset)
            await hold.wait()
    except Exception as exc:  # noqa: BLE001 - the connection itself (refused, reset, closed): reported
        errors.append(f"session {offset}: {type(exc).__name__}: {str(exc)[:200]}")
        finished.put_nowait(offset)


async def _measure_ws(server: subprocess.Popen, url: str, sessions: int, rounds: int,
                      pages: tuple[str, ...]) -> dict:
    warmup = {}
    async with WsSession(url) as client:
        for name in pages:
            try:
                warmup[name] = round((await client.visit(name))["seconds"], 3)
            except PageError as exc:
                raise SystemExit(f"warm-up: page {name}: {exc}") from None
    await asyncio.sleep(1.0)
    if getattr(server, "profiled", False):
        server.send_signal(signal.SIGUSR1)  # bench.server_profile: drop the warm-up's samples
    before = rss_mb(server.pid)
    cpu_before = cpu_seconds(server.pid)
    results: list[dict] = []
    errors: list[str] = []
    finished: asyncio.Queue = asyncio.Queue()
    hold = asyncio.Event()
    t0 = time.perf_counter()
    tasks = [asyncio.create_task(ws_session(url, pages, rounds, i, results, errors, finished, hold))
             for i in range(sessions)]
    for _ in range(sessions):
        await finished.get()
    wall = time.perf_counter() - t0
    after = rss_mb(server.pid)  # every session still connected
    cpu_after = cpu_seconds(server.pid)
    hold.set()
    await asyncio.gather(*tasks)
    return {"results": results, "errors": errors, "wall": wall, "warmup": warmup, "before": before, "after": after,
            "server_cpu": cpu_after[0] - cpu_before[0], "client_cpu": cpu_after[1] - cpu_before[1]}


def percentile(values: list[float], q: float) -> float:
    """The ``q`` quantile of ``values`` (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


async def _measure_browser(server: subprocess.Popen, url: str, sessions: int, rounds: int,
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


CLIENTS = ("ws", "browser")


def run(db: Path, sessions: int, rounds: int, pages: tuple[str, ...], log_path: Path, host: str = "127.0.0.1",
        cdp: str | None = None, client: str = "ws", profile: Path | None = None) -> dict:
    load_start = os.getloadavg()[0]
    server, url = start_server(db, log_path, host, profile)
    try:
        if client == "ws":
            m = asyncio.run(_measure_ws(server, url, sessions, rounds, pages))
        else:
            m = asyncio.run(_measure_browser(server, url, sessions, rounds, pages, cdp))
    finally:
        stop_server(server)
    m["load_start"] = load_start
    return summarise(m, db=db, client=client, sessions=sessions, rounds=rounds, pages=pages)


def _streamlit_version() -> str:
    from importlib.metadata import version

    return version("streamlit")


def _mb(values: list[int]) -> float:
    return round(statistics.median(values) / 1e6, 3)


def summarise(m: dict, *, db: Path, client: str, sessions: int, rounds: int, pages: tuple[str, ...]) -> dict:
    """The JSON report of one measurement (``_measure_ws`` / ``_measure_browser``)."""
    visits = [r for r in m["results"] if not r["first"]]
    seconds = [r["seconds"] for r in visits]
    first = [r["seconds"] for r in m["results"] if r["first"]]
    per_page = {}
    for name in pages:
        if v := [r for r in visits if r["page"] == name]:
            secs = [r["seconds"] for r in v]
            per_page[name] = {"n": len(v), "p50_s": round(statistics.median(secs), 3),
                              "p95_s": round(percentile(secs, 0.95), 3)}
            if "bytes" in v[0]:  # ws: what the server sent (references for the elements the session has)
                per_page[name]["mb_p50"] = _mb([r["bytes"] for r in v])
                per_page[name]["mb_max"] = round(max(r["bytes"] for r in v) / 1e6, 3)  # the page in full
                per_page[name]["elements"] = v[0]["elements"]
    return {
        "client": client, "db": str(db), "sessions": sessions, "rounds": rounds, "pages": list(pages),
        "visits": len(seconds), "errors": m["errors"], "wall_s": round(m["wall"], 1),
        "p50_s": round(statistics.median(seconds), 3) if seconds else None,
        "p95_s": round(percentile(seconds, 0.95), 3) if seconds else None,
        "per_page": per_page, "warmup_s": m["warmup"],
        "app_load_p50_s": round(statistics.median(first), 3) if first else None,
        "app_load_p95_s": round(percentile(first, 0.95), 3) if first else None,
        **({"app_load_mb_p50": _mb(b)} if (b := [r["bytes"] for r in m["results"] if r["first"] and "bytes" in r])
           else {}),
        "server_rss_mb_before": round(m["before"], 1), "server_rss_mb_after": round(m["after"], 1),
        "rss_mb_per_session": round((m["after"] - m["before"]) / sessions, 1),
        "server_cpu_s": round(m["server_cpu"], 1), "client_cpu_s": round(m["client_cpu"], 1),
        "cpu_count": os.cpu_count(), "load_average_1m_start": round(m.get("load_start", math.nan), 2),
        "load_average_1m": round(os.getloadavg()[0], 2), "streamlit": _streamlit_version(),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", type=Path, required=True, help="a published database")
    parser.add_argument("--sessions", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=2, help="times each session opens every page")
    parser.add_argument("--client", choices=CLIENTS, default="ws",
                        help="ws: Streamlit's websocket protocol (measures the server); browser: real chromium "
                             "sessions (measures the server and the rendering)")
    parser.add_argument("--pages", default=",".join(PAGES), help="comma-separated page names")
    parser.add_argument("--out", type=Path, help="also write the JSON result here")
    parser.add_argument("--host", default="127.0.0.1", help="address the server listens on (and is visited at)")
    parser.add_argument("--cdp", help="use the chromium at this DevTools URL (e.g. http://OTHER:9222, started with "
                                      "--remote-debugging-port) instead of launching one here")
    parser.add_argument("--profile", type=Path, help="run the server under bench.server_profile and write its "
                                                    "sampling profile (JSON) here")
    parser.add_argument("--log", type=Path, default=Path(tempfile.gettempdir()) / "bench-load-streamlit.log")
    args = parser.parse_args(argv)
    pages = tuple(p for p in args.pages.split(",") if p)
    if unknown := [p for p in pages if p not in PAGES]:
        parser.error(f"unknown pages {unknown}; choose from {', '.join(PAGES)}")
    if args.sessions < 1 or args.rounds < 1:
        parser.error("--sessions and --rounds must be at least 1")
    if not args.db.is_file():
        parser.error(f"{args.db} does not exist")
    if args.cdp and args.client != "browser":
        parser.error("--cdp needs --client browser")
    result = run(args.db.resolve(), args.sessions, args.rounds, pages, args.log, args.host, args.cdp, args.client,
                 args.profile)
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")
    sys.exit(1 if result["errors"] and not result["visits"] else 0)


if __name__ == "__main__":
    main()
