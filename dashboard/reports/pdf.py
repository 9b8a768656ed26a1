"""The PDF report: the HTML template in print mode, charts as PNG images, rendered by WeasyPrint.

Page numbers come from CSS ``@page`` counters and the table of contents from ``target-counter``. Chart
images are the same plotly figures as the dashboard's, drawn by kaleido (``images.py``). WeasyPrint may
only read ``data:`` URLs, so nothing in the document can make it fetch a file or a web address.
"""

from __future__ import annotations

import base64
import logging
import time

from markupsafe import Markup

from dashboard.reports import fonts, images
from dashboard.reports.content import Figure, ReportContent, figures
from dashboard.reports.html import render

log = logging.getLogger("redteam_risk.reports")

IMAGE_WIDTH = 1000  # layout pixels of a chart image; the page is ~180 mm wide
IMAGE_SCALE = 1.6  # pixels per layout pixel: sharp in print without a large file
MAP_SCALE = 1.0  # the map has tens of thousands of points; its export time grows with its pixels


def chart_image(fig: Figure) -> Markup:
    """``<img>`` with ``fig`` as an embedded PNG (``data:`` URL)."""
    png = images.to_png(fig.figure, width=IMAGE_WIDTH, scale=MAP_SCALE if fig.key == "map" else IMAGE_SCALE)
    data = base64.b64encode(png).decode("ascii")
    return Markup(f'<img alt="" src="data:image/png;base64,{data}">')


def require_tools() -> None:
    """Raise ``UserError`` (one line saying what to install) unless fonts and a browser are there: without a
    font WeasyPrint crashes the whole process, without a browser the charts cannot be drawn."""
    fonts.require_fonts()
    images.require_browser()


def build_pdf(c: ReportContent) -> bytes:
    """The PDF report of ``c`` as bytes. Raises ``UserError`` when there is no font or no browser to draw
    the charts. Characters whose optional font is missing (CJK, emoji) are named in a notice on the cover."""
    require_tools()
    import weasyprint
    from weasyprint.urls import URLFetcher

    t0 = time.perf_counter()
    figs = figures(c)
    charts = {f.key: chart_image(f) for f in figs}
    t1 = time.perf_counter()
    document = render(c, mode="pdf", charts=charts, figs=figs)
    unshown = fonts.unshown_scripts(document)
    if unshown:
        log.warning("reports: pdf: no font for %s", ", ".join(s.name for s in unshown))
        document = render(c, mode="pdf", charts=charts, figs=figs, font_notice=fonts.notice(unshown))
    pdf = weasyprint.HTML(
        string=document, url_fetcher=URLFetcher(allowed_protocols={"data"}), base_url=None
    ).write_pdf(stylesheets=[])
    log.info("reports: pdf: %d charts in %.2f s, layout in %.2f s", len(figs), t1 - t0, time.perf_counter() - t1)
    return pdf


