"""Static images of plotly figures with kaleido 1.x (headless Chromium), one browser per process.

Kaleido 1.x drives a Chromium found on PATH (Debian: ``/usr/bin/chromium``). Starting it costs ~2 s, so
the first export starts one persistent server (``kaleido.start_sync_server``) that every later export in
this process reuses (~0.2 s per image). That server is a single queue shared by all threads, so exports
are serialised with a lock (the dashboard serves several sessions from one process).

plotly.js comes from the installed plotly package and MathJax is switched off, so rendering makes no
network request.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import threading
import time
from collections import OrderedDict

import plotly.graph_objects as go

from etl.errors import UserError

log = logging.getLogger("redteam_risk.reports")

# Names choreographer (kaleido's browser driver) looks for on PATH, besides $BROWSER_PATH.
BROWSER_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")
NO_BROWSER = (
    "PDF reports need a Chromium browser to draw the charts and none was found on PATH; "
    "install one with `apt-get install chromium` (or set BROWSER_PATH to a Chrome/Chromium binary)."
)

CACHE_ENTRIES = 32  # PNGs kept per process (a few MB)

_lock = threading.Lock()
_started = False
_cache: OrderedDict[str, bytes] = OrderedDict()


def find_browser() -> str | None:
    """Path of the Chromium/Chrome kaleido will use, or None when there is none."""
    explicit = os.environ.get("BROWSER_PATH")
    if explicit:
        return explicit if os.path.isfile(explicit) and os.access(explicit, os.X_OK) else None
    for name in BROWSER_NAMES:
        path = shutil.which(name)
        if path:
            return path
    return None


def require_browser() -> None:
    """Raise ``UserError`` (saying how to fix it) unless a browser is running or can be started."""
    if not _started and find_browser() is None:
        raise UserError(NO_BROWSER)


def _ensure_server() -> None:
    global _started
    if _started:
        return
    require_browser()
    import kaleido  # imported late: it is only needed for static images

    start = time.perf_counter()
    # A missing browser inside the server thread would hang the caller, hence the check above.
    kaleido.start_sync_server(mathjax=False, silence_warnings=True)
    _started = True
    log.info("reports: kaleido server started in %.2f s", time.perf_counter() - start)


def to_png(fig: go.Figure, *, width: int = 1000, height: int | None = None, scale: float = 2.0) -> bytes:
    """``fig`` as PNG bytes, ``width`` × ``height`` layout pixels (height: the figure's own, else 500)
    rendered at ``scale`` × that resolution. Raises ``UserError`` when no browser is installed.

    Hover-only data (text, customdata) is left out: a static image never shows it, and for the attack map
    it is most of the payload. Results are cached per process by figure and size (the dashboard offers the
    same report again and again)."""
    spec = static_spec(fig)
    height = int(height or spec["layout"].get("height") or 500)
    key = hashlib.sha256(
        json.dumps([spec, width, height, scale], sort_keys=True, default=_json_default).encode()
    ).hexdigest()
    with _lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
        _ensure_server()
        import kaleido

        png = kaleido.calc_fig_sync(spec, opts={"format": "png", "width": width, "height": height, "scale": scale})
        _cache[key] = png
        while len(_cache) > CACHE_ENTRIES:
            _cache.popitem(last=False)
        return png


HOVER_ONLY = ("hovertext", "hovertemplate", "customdata", "hoverinfo")


def static_spec(fig: go.Figure) -> dict:
    """``fig`` as a plain dict for a static image: hover-only fields dropped, point ``text`` of marker-only
    traces dropped (it shows on hover only), no drag tools."""
    spec = fig.to_dict()
    for trace in spec.get("data", []):
        for key in HOVER_ONLY:
            trace.pop(key, None)
        if "text" in str(trace.get("mode", "")) or trace.get("type") in ("heatmap", "bar"):
            continue
        trace.pop("text", None)
    spec.setdefault("layout", {})["dragmode"] = False
    return spec


def _json_default(value):
    # numpy arrays and scalars inside figure dicts
    tolist = getattr(value, "tolist", None)
    if tolist is not None:
        return tolist()
    return str(value)
