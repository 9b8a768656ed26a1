"""Hosting settings that keep a shared dashboard safe stay on, wherever Streamlit is started from."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

from typer.testing import CliRunner

from etl import cli

REPO = Path(__file__).resolve().parents[2]
SHIPPED = REPO / "dashboard" / ".streamlit" / "config.toml"

# Feeds `streamlit run` flags through Streamlit's own command-line parser and config loader and prints the
# resulting options: an unknown or misspelt flag fails here as it would for the real server.
PROBE = r"""
import json, sys
from streamlit import config
from streamlit.web import bootstrap, cli
seen = {}
cli._main_run = lambda path, args, flag_options: seen.update(flag_options)
cli.main(args=sys.argv[1:], standalone_mode=False)
names = json.loads(sys.stdin.read())
before = {n: config.get_option(n) for n in names}
bootstrap.load_config_options(flag_options=seen)
print(json.dumps({"before": before, "after": {n: config.get_option(n) for n in names}}))
"""


def _settings() -> dict[str, object]:
    config = tomllib.loads(SHIPPED.read_text(encoding="utf-8"))
    return {f"{section}.{name}": value for section, options in config.items() for name, value in options.items()}


def _dashboard_command(tmp_path: Path, monkeypatch, *args: str) -> tuple[list[str], dict[str, str]]:
    db = tmp_path / "risk.duckdb"
    db.write_bytes(b"")
    seen = {}

    def fake_call(cmd, env):  # the streamlit process itself is exercised by tests/e2e
        seen["cmd"], seen["env"] = cmd, env
        return 0

    monkeypatch.setattr(cli.subprocess, "call", fake_call)
    result = CliRunner().invoke(cli.app, ["dashboard", "--db", str(db), *args])
    assert result.exit_code == 0, result.output
    return seen["cmd"], seen["env"]


def test_config_file_keeps_xsrf_on_and_usage_stats_off():
    config = tomllib.loads(SHIPPED.read_text(encoding="utf-8"))
    assert config["server"].get("enableXsrfProtection", True) is True
    assert config["server"]["headless"] is True
    assert config["browser"]["gatherUsageStats"] is False
    assert config["client"]["toolbarMode"] == "viewer"


def test_the_repository_config_is_the_shipped_one():
    # `streamlit run dashboard/app.py` in the repository root reads .streamlit/config.toml: the same file.
    assert (REPO / ".streamlit" / "config.toml").resolve() == SHIPPED.resolve()
    assert cli.streamlit_settings() == _settings()


def test_dashboard_command_passes_xsrf_and_hides_error_details(tmp_path, monkeypatch):
    cmd, env = _dashboard_command(tmp_path, monkeypatch, "--port", "8765")
    flags = dict(zip(cmd[cmd.index("run") + 2::2], cmd[cmd.index("run") + 3::2]))
    assert flags["--server.enableXsrfProtection"] == "true"
    assert flags["--client.showErrorDetails"] == "none"
    assert flags["--server.port"] == "8765"
    assert env["REDTEAM_RISK_DB"] == str((tmp_path / "risk.duckdb").resolve())


def test_dashboard_started_from_another_directory_applies_every_shipped_setting(tmp_path, monkeypatch):
    service_dir = tmp_path / "srv"  # a service's working directory: no .streamlit/ here or in $HOME
    service_dir.mkdir()
    monkeypatch.chdir(service_dir)
    cmd, _ = _dashboard_command(tmp_path, monkeypatch, "--host", "0.0.0.0", "--port", "8765")
    settings = _settings()
    names = [*settings, "server.address", "server.port"]
    probe = subprocess.run([sys.executable, "-c", PROBE, *cmd[cmd.index("run"):]], input=json.dumps(names),
                           cwd=service_dir, env={**os.environ, "HOME": str(service_dir)}, capture_output=True,
                           text=True, timeout=120)
    assert probe.returncode == 0, probe.stderr[-2000:]
    result = json.loads(probe.stdout.strip().splitlines()[-1])
    assert result["before"]["client.toolbarMode"] != "viewer"  # Streamlit's default: the developer toolbar
    assert result["after"] == {**settings, "server.address": "0.0.0.0", "server.port": 8765}
    assert result["after"]["theme.primaryColor"] == "#B8323A"
