"""Fonts for the PDF: refuse to render without any, and say which scripts the installed fonts cannot show.

WeasyPrint draws text through fontconfig. With no font at all it does not fail cleanly: Pango hands it a
null font and the process dies with a segmentation fault, so ``require_fonts`` checks before rendering. The
optional fonts (CJK, emoji; ``etl.system_packages``) only matter when the report contains such characters;
without them the PDF still renders and ``unshown_scripts`` names what shows as blanks or boxes.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass

from etl import system_packages
from etl.errors import UserError

log = logging.getLogger("redteam_risk.reports")

NO_FONTS = (
    "PDF reports need at least one font and fontconfig finds none (the renderer would crash); install one with "
    f"`apt-get install {system_packages.BASE_FONT_PACKAGE}` — the HTML, XLSX, CSV and Markdown reports need no fonts."
)


@dataclass(frozen=True)
class Script:
    """A writing system the report may contain, the characters that belong to it and the package with its font."""

    name: str
    package: str
    chars: re.Pattern[str]


SCRIPTS: tuple[Script, ...] = (
    Script("Chinese, Japanese and Korean text", "fonts-noto-cjk",
           re.compile("[\u2e80-\u2fdf\u3040-\u30ff\u3100-\u312f\u3190-\u31ff\u3400-\u4dbf\u4e00-\u9fff"
                      "\uac00-\ud7af\uf900-\ufaff\U00020000-\U0003134f]")),
    Script("emoji", "fonts-noto-color-emoji", re.compile("[\U0001f000-\U0001faff]")),
)


def require_fonts() -> None:
    """Raise ``UserError`` (one line naming a font package) when fontconfig finds no font at all."""
    if not system_packages.font_families():
        raise UserError(NO_FONTS)


def unshown_scripts(text: str, families: Iterable[str] | None = None) -> list[Script]:
    """The scripts present in ``text`` whose font package is not installed (``families``: the installed font
    families, default: ask fontconfig)."""
    present = [s for s in SCRIPTS if s.chars.search(text)]
    if not present:
        return []
    families = system_packages.font_families() if families is None else set(families)
    return [s for s in present if not system_packages.is_installed(system_packages.BY_NAME[s.package], families)]


def notice(scripts: list[Script]) -> str:
    """The sentence the PDF prints when it cannot show ``scripts`` (empty when there are none)."""
    if not scripts:
        return ""
    names = " or ".join(s.name for s in scripts)
    packages = " ".join(s.package for s in scripts)
    return (f"This PDF cannot show {names}: the machine that built it lacks the fonts (Debian: apt-get install "
            f"{packages}), so those characters appear as blanks or boxes. The HTML report uses the reader's fonts.")
