"""The Debian packages redteam-risk and its tests use besides PyPI: declared once, checked, installed when possible.

    python3 -m etl.system_packages --check            # say what is missing; exit 1 when something is
    python3 -m etl.system_packages --install          # install what is missing when this user can, else say how
    python3 -m etl.system_packages --install --strict # the same, but exit 1 unless everything is present after (CI)

``make test`` / ``make run`` call ``--install`` and ``.ci/run`` calls ``--install --strict``. The user can install
when the machine has apt-get (Debian/Ubuntu) and runs as root or has passwordless sudo; otherwise one line lists
what is missing and the command that installs it, and the tests that need a missing package skip naming it.
The product asks the same module at run time (``missing``, ``font_families``): a PDF needs at least one font.

Standard library only: the Makefile runs it with the system Python before the virtualenv exists.
"""

from __future__ import annotations

import argparse
import ctypes
import ctypes.util
import os
import shutil
import subprocess
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Package:
    """A Debian package, why it is needed, and how to tell that it is installed: every command in ``commands``
    is on PATH and, when ``font_family`` is set, fontconfig knows a font family whose name starts with it."""

    name: str
    why: str
    commands: tuple[str, ...] = ()
    font_family: str | None = None


PACKAGES: tuple[Package, ...] = (
    Package("chromium", "PDF chart images (kaleido) and the real-browser tests", commands=("chromium",)),
    Package("poppler-utils", "the tests read PDFs with pdftotext and pdffonts", commands=("pdftotext", "pdffonts")),
    Package("fonts-dejavu-core", "Latin text in PDF reports; a PDF needs at least one font",
            font_family="DejaVu Sans"),
    Package("fonts-noto-cjk", "Chinese, Japanese and Korean text in PDF reports", font_family="Noto Sans CJK"),
    Package("fonts-noto-color-emoji", "emoji in PDF reports", font_family="Noto Color Emoji"),
)
BY_NAME = {p.name: p for p in PACKAGES}
BASE_FONT_PACKAGE = "fonts-dejavu-core"  # the one to name when a machine has no font at all

_FC_FAMILY = b"family"


class _FcFontSet(ctypes.Structure):
    _fields_ = [("nfont", ctypes.c_int), ("sfont", ctypes.c_int), ("fonts", ctypes.POINTER(ctypes.c_void_p))]


def _fontconfig_families() -> set[str] | None:
    """Font families of a freshly loaded fontconfig configuration (reads $FONTCONFIG_FILE now), or None when
    libfontconfig cannot be loaded."""
    try:
        lib = ctypes.CDLL(ctypes.util.find_library("fontconfig") or "libfontconfig.so.1")
    except OSError:
        return None
    lib.FcInitLoadConfigAndFonts.restype = ctypes.c_void_p
    lib.FcPatternCreate.restype = ctypes.c_void_p
    lib.FcObjectSetCreate.restype = ctypes.c_void_p
    lib.FcObjectSetAdd.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
    lib.FcFontList.restype = ctypes.POINTER(_FcFontSet)
    lib.FcFontList.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p]
    lib.FcPatternGetString.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int,
                                       ctypes.POINTER(ctypes.c_char_p)]
    for name in ("FcPatternDestroy", "FcObjectSetDestroy", "FcConfigDestroy"):
        getattr(lib, name).argtypes = [ctypes.c_void_p]
    lib.FcFontSetDestroy.argtypes = [ctypes.POINTER(_FcFontSet)]

    config = lib.FcInitLoadConfigAndFonts()
    if not config:
        return set()
    pattern, objects = lib.FcPatternCreate(), lib.FcObjectSetCreate()
    lib.FcObjectSetAdd(objects, _FC_FAMILY)
    fonts = lib.FcFontList(config, pattern, objects)
    families: set[str] = set()
    try:
        if fonts:
            value = ctypes.c_char_p()
            for i in range(fonts.contents.nfont):
                n = 0
                while lib.FcPatternGetString(fonts.contents.fonts[i], _FC_FAMILY, n, ctypes.byref(value)) == 0:
                    families.add(value.value.decode("utf-8", "replace"))
                    n += 1
    finally:
        if fonts:
            lib.FcFontSetDestroy(fonts)
        lib.FcObjectSetDestroy(objects)
        lib.FcPatternDestroy(pattern)
        lib.FcConfigDestroy(config)
    return families


def font_families() -> set[str]:
    """Every font family fontconfig (the library WeasyPrint draws text with) finds now; empty when none.
    Falls back to ``fc-list`` when libfontconfig cannot be loaded, and to no fonts without either."""
    families = _fontconfig_families()
    if families is not None:
        return families
    if shutil.which("fc-list") is None:
        return set()
    out = subprocess.run(["fc-list", ":", "family"], capture_output=True, text=True, check=False).stdout
    return {name.strip() for line in out.splitlines() for name in line.split(",") if name.strip()}


def is_installed(package: Package, families: Iterable[str] | None = None) -> bool:
    """Whether ``package`` looks installed (``families``: font families already looked up, to look once)."""
    if any(shutil.which(command) is None for command in package.commands):
        return False
    if package.font_family is None:
        return True
    families = font_families() if families is None else families
    return any(f.startswith(package.font_family) for f in families)


def missing(names: Iterable[str] | None = None) -> list[Package]:
    """The packages of ``names`` (default: all of ``PACKAGES``) that are not installed, in ``PACKAGES`` order."""
    wanted = [BY_NAME[n] for n in names] if names is not None else list(PACKAGES)
    families = font_families() if any(p.font_family for p in wanted) else set()
    return [p for p in wanted if not is_installed(p, families)]


def install_command(packages: Sequence[Package], *, root: bool) -> list[str]:
    """The apt-get command that installs ``packages`` (prefixed with sudo unless ``root``)."""
    return (["sudo"] if not root else []) + ["apt-get", "install", "-y", "--no-install-recommends",
                                            *[p.name for p in packages]]


def can_install(*, root: bool, has_apt: bool, passwordless_sudo: bool) -> bool:
    """Whether this user can install Debian packages without a prompt."""
    return has_apt and (root or passwordless_sudo)


def missing_line(packages: Sequence[Package]) -> str:
    """One line: what is missing, what for, and the command that installs it."""
    names = ", ".join(p.name for p in packages)
    command = " ".join(install_command(packages, root=False))
    return (f"redteam-risk: missing system packages: {names}; install them with `{command}` (Debian/Ubuntu). "
            "Until then their tests are skipped (`python3 -m etl.system_packages --list` says what each is for).")


def _passwordless_sudo() -> bool:
    if shutil.which("sudo") is None:
        return False
    return subprocess.run(["sudo", "-n", "true"], capture_output=True, check=False).returncode == 0


def install(packages: Sequence[Package]) -> bool:
    """Install ``packages`` with apt-get when this user can; False when they cannot (nothing was tried)."""
    root = os.geteuid() == 0
    if not can_install(root=root, has_apt=shutil.which("apt-get") is not None,
                       passwordless_sudo=not root and _passwordless_sudo()):
        return False
    command = install_command(packages, root=root)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    print(f"redteam-risk: installing system packages: {' '.join(command)}", file=sys.stderr)
    subprocess.run([*command[:command.index("apt-get") + 1], "update", "-q"], check=True, env=env)
    subprocess.run(command, check=True, env=env)
    return True


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python3 -m etl.system_packages", description=__doc__.split("\n")[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--check", action="store_true", help="report what is missing; exit 1 when anything is (default)")
    mode.add_argument("--install", action="store_true", help="install what is missing when this user can")
    mode.add_argument("--list", action="store_true", help="print each package and what it is for")
    parser.add_argument("--strict", action="store_true", help="with --install: exit 1 unless all are present after")
    args = parser.parse_args(argv)
    if args.list:
        print("\n".join(f"{p.name:<24} {p.why}" for p in PACKAGES))
        return 0
    absent = missing()
    if absent and args.install:
        try:
            if install(absent):
                absent = missing()
        except subprocess.CalledProcessError as exc:  # no network, a held package…: say so, then what is missing
            print(f"redteam-risk: `{' '.join(exc.cmd)}` failed with exit code {exc.returncode}", file=sys.stderr)
    if not absent:
        print("redteam-risk: system packages present: " + ", ".join(p.name for p in PACKAGES), file=sys.stderr)
        return 0
    print(missing_line(absent), file=sys.stderr)
    return 1 if (args.strict or not args.install) else 0


if __name__ == "__main__":
    sys.exit(main())
