"""The HTML report: one self-contained file with interactive charts that works offline.

plotly.js is embedded once (``<script id="plotlyjs">``); each chart is a ``<div>`` plus a small script
that draws it from plotly's JSON (which escapes ``<``, ``>`` and ``/``). A Content-Security-Policy allows
only scripts carrying this file's random nonce and no network at all, so even markup that slipped
through escaping could neither run nor fetch anything. All data text goes through Jinja2 autoescape.
The PDF renders the same template in ``pdf`` mode with static images.
"""

from __future__ import annotations

import json
import secrets
from functools import cache
from importlib import resources

import jinja2
import plotly.io as pio
from markupsafe import Markup

from dashboard.reports.content import Figure, ReportContent, figures
from dashboard.reports.layout import layout

PLOTLY_CONFIG = {"displaylogo": False, "responsive": True, "toImageButtonOptions": {"format": "png", "scale": 2}}


@cache
def environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FunctionLoader(_template_source),
        autoescape=True,  # every {{ }} is HTML-escaped unless it is Markup built by our code
        undefined=jinja2.StrictUndefined,
        trim_blocks=False,
        lstrip_blocks=False,
    )


def _template_source(name: str) -> str:
    return resources.files("dashboard.reports").joinpath("templates", name).read_text(encoding="utf-8")


def stylesheet(mode: str = "pdf") -> str:
    """The CSS of the report in ``mode``: shared and print rules, plus screen rules for ``html``."""
    css = _template_source("report.css")
    return css + "\n" + _template_source("screen.css") if mode == "html" else css


@cache
def plotly_bundle() -> str:
    """plotly.js (the copy shipped with the plotly package), minified, as one string."""
    from plotly.offline import get_plotlyjs

    return get_plotlyjs()


def render(c: ReportContent, *, mode: str, charts: dict[str, Markup], figs: list[Figure] | None = None,
           nonce: str = "", plotlyjs: Markup | str = "", font_notice: str = "") -> str:
    """The report as an HTML string. ``mode``: ``html`` | ``pdf``; ``charts``: figure key -> trusted markup;
    ``font_notice``: a sentence for the cover saying which scripts this PDF cannot show (``fonts.notice``)."""
    figs = figures(c) if figs is None else figs
    view = layout(c, {f.key: (f.title, f.caption) for f in figs if f.key in charts})
    return environment().get_template("report.html.j2").render(
        c=view, sections=view.sections, charts=charts, mode=mode, nonce=nonce,
        css=Markup(stylesheet(mode)), plotlyjs=plotlyjs, font_notice=font_notice,
    )


def chart_markup(fig: Figure, nonce: str) -> Markup:
    """A ``<div>`` and the script that draws ``fig`` into it with plotly.js (already loaded)."""
    figure_json = pio.to_json(fig.figure, validate=False)  # escapes < > / so it cannot close the script
    config_json = json.dumps(PLOTLY_CONFIG)
    div_id = f"plot-{fig.key}"
    return Markup(
        f'<div id="{div_id}" class="plot"></div>\n'
        f'<script nonce="{nonce}">(function () {{ var f = {figure_json}; '
        f'Plotly.newPlot("{div_id}", f.data, f.layout, {config_json}); }})();</script>'
    )


def build_html(c: ReportContent) -> str:
    """The self-contained interactive HTML report of ``c``."""
    nonce = secrets.token_urlsafe(18)
    figs = figures(c)
    charts = {f.key: chart_markup(f, nonce) for f in figs}
    bundle = Markup(f'<script id="plotlyjs" nonce="{nonce}">{plotly_bundle()}</script>') if figs else Markup("")
    return render(c, mode="html", charts=charts, figs=figs, nonce=nonce, plotlyjs=bundle)
