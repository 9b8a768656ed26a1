"""The Debian packages are declared once (etl/system_packages.py), checked without them, installed when possible."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from etl import system_packages
from tests import system_packages as test_helper

REPO = Path(__file__).resolve().parents[2]
NAMES = [p.name for p in system_packages.PACKAGES]
EMPTY_FONTCONFIG = '<?xml version="1.0"?>\n<!DOCTYPE fontconfig SYSTEM "fonts.dtd">\n<fontconfig></fontconfig>\n'


def _bare_environment(tmp_path: Path) -> dict[str, str]:
    """An environment with nothing on PATH but Python (no chromium, pdftotext, apt-get, sudo) and no fonts."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "python3").symlink_to(os.path.realpath(sys.executable))
    conf = tmp_path / "fonts.conf"
    conf.write_text(EMPTY_FONTCONFIG)
    return {"PATH": str(bin_dir), "HOME": str(tmp_path), "FONTCONFIG_FILE": str(conf), "LANG": "C.UTF-8"}


def _run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    # Run as `make` does: the system's python3 on the repository, before any virtualenv exists.
    return subprocess.run(["python3", "-m", "etl.system_packages", *args], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=60, executable=os.path.join(env["PATH"], "python3"))


def test_check_without_the_packages_prints_one_line_naming_them_and_the_install_command(tmp_path):
    env = _bare_environment(tmp_path)
    result = _run(env, "--check")
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("redteam-risk: missing system packages: " + ", ".join(NAMES) + ";")
    assert f"`sudo apt-get install -y --no-install-recommends {' '.join(NAMES)}`" in lines[0]
    assert result.stdout == ""


def test_install_that_cannot_install_says_so_and_lets_make_go_on_unless_strict(tmp_path):
    env = _bare_environment(tmp_path)  # no apt-get on PATH: nothing can be installed
    lenient = _run(env, "--install")
    assert lenient.returncode == 0  # `make test` goes on; the tests skip naming the packages
    assert lenient.stderr.strip().splitlines() == _run(env, "--check").stderr.strip().splitlines()
    strict = _run(env, "--install", "--strict")  # .ci/run: nothing may be missing
    assert strict.returncode == 1
    assert "missing system packages" in strict.stderr


@pytest.mark.system_packages("fonts-dejavu-core", "fonts-noto-cjk")
def test_fonts_are_found_through_fontconfig_not_file_paths(tmp_path):
    assert any(f.startswith("Noto Sans CJK") for f in system_packages.font_families())
    env = {**os.environ, "FONTCONFIG_FILE": str(tmp_path / "fonts.conf")}
    (tmp_path / "fonts.conf").write_text(EMPTY_FONTCONFIG)
    probe = "from etl import system_packages as s; print(sorted(p.name for p in s.missing()))"
    out = subprocess.run([sys.executable, "-c", probe], cwd=REPO, env=env, capture_output=True, text=True,
                         check=True).stdout
    assert "fonts-noto-cjk" in out and "fonts-dejavu-core" in out and "fonts-noto-color-emoji" in out


def test_only_root_or_passwordless_sudo_on_debian_can_install():
    assert system_packages.can_install(root=True, has_apt=True, passwordless_sudo=False)
    assert system_packages.can_install(root=False, has_apt=True, passwordless_sudo=True)
    assert not system_packages.can_install(root=False, has_apt=True, passwordless_sudo=False)
    assert not system_packages.can_install(root=True, has_apt=False, passwordless_sudo=True)


def test_install_runs_apt_get_for_the_missing_packages_only(monkeypatch):
    calls = []
    monkeypatch.setattr(system_packages.os, "geteuid", lambda: 0)
    monkeypatch.setattr(system_packages.shutil, "which", lambda name: f"/usr/bin/{name}")
    monkeypatch.setattr(system_packages.subprocess, "run", lambda cmd, **kw: calls.append((cmd, kw["env"])))
    absent = [system_packages.BY_NAME["poppler-utils"], system_packages.BY_NAME["fonts-noto-cjk"]]
    assert system_packages.install(absent)
    assert [cmd for cmd, _ in calls] == [
        ["apt-get", "update", "-q"],
        ["apt-get", "install", "-y", "--no-install-recommends", "poppler-utils", "fonts-noto-cjk"],
    ]
    assert calls[1][1]["DEBIAN_FRONTEND"] == "noninteractive"
    monkeypatch.setattr(system_packages.os, "geteuid", lambda: 1000)
    monkeypatch.setattr(system_packages, "_passwordless_sudo", lambda: False)
    calls.clear()
    assert not system_packages.install(absent) and calls == []  # a password prompt would hang `make`


def test_the_package_list_lives_in_one_place_used_by_make_and_ci():
    makefile = (REPO / "Makefile").read_text()
    ci = (REPO / ".ci" / "run").read_text()
    assert "-m etl.system_packages --install" in makefile
    for target in ("run:", "test:"):
        line = next(line for line in makefile.splitlines() if line.startswith(target))
        assert "system-packages" in line, line
    assert "SYSTEM_PACKAGES_FLAGS=--strict" in ci and "REDTEAM_RISK_REQUIRE_SYSTEM_PACKAGES=1" in ci
    for name in NAMES:  # nowhere else to forget a package
        assert name not in makefile and name not in ci, name


def test_readme_lists_every_system_package_beside_the_two_commands():
    readme = (REPO / "README.md").read_text()
    section = readme[readme.index("## Two commands"):readme.index("## Real data")]
    for name in NAMES:
        assert f"`{name}`" in section, name


def test_a_missing_package_skips_naming_it_and_fails_when_ci_requires_it(monkeypatch):
    monkeypatch.setattr(system_packages, "missing", lambda names: [system_packages.BY_NAME["fonts-noto-cjk"]])
    monkeypatch.delenv(test_helper.REQUIRE_ENV, raising=False)
    with pytest.raises(pytest.skip.Exception, match="fonts-noto-cjk: Chinese, Japanese and Korean text"):
        test_helper.require("fonts-noto-cjk")
    monkeypatch.setenv(test_helper.REQUIRE_ENV, "1")
    with pytest.raises(pytest.fail.Exception, match="fonts-noto-cjk"):
        test_helper.require("fonts-noto-cjk")
    monkeypatch.setattr(system_packages, "missing", lambda names: [])
    test_helper.require("fonts-noto-cjk")  # present: runs


def test_a_failing_apt_get_is_reported_and_make_goes_on(monkeypatch, capsys):
    monkeypatch.setattr(system_packages, "missing", lambda: [system_packages.BY_NAME["poppler-utils"]])

    def failing_install(packages):
        raise subprocess.CalledProcessError(100, ["apt-get", "update", "-q"])

    monkeypatch.setattr(system_packages, "install", failing_install)
    assert system_packages.main(["--install"]) == 0
    assert system_packages.main(["--install", "--strict"]) == 1
    err = capsys.readouterr().err
    assert "`apt-get update -q` failed with exit code 100" in err
    assert "missing system packages: poppler-utils;" in err
