"""Hosting settings that keep a shared dashboard safe stay on, wherever Streamlit is started from."""

from __future__ import annotations

import tomllib
from pathlib import Path

from etl import cli

REPO = Path(__file__).resolve().parents[2]


def test_config_file_keeps_xsrf_on_and_usage_stats_off():
    config = tomllib.loads((REPO / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    assert config["server"].get("enableXsrfProtection", True) is True
    assert config["server"]["headless"] is True
    assert config["browser"]["gatherUsageStats"] is False


def test_dashboard_command_passes_xsrf_and_hides_error_details(tmp_path, monkeypatch):
    db = tmp_path / "risk.duckdb"
    db.write_bytes(b"")
    seen = {}

    def fake_call(cmd, env):  # the streamlit process itself is exercised by tests/e2e
        seen["cmd"], seen["env"] = cmd, env
        return 0

    monkeypatch.setattr(cli.subprocess, "call", fake_call)
    from typer.testing import CliRunner

    result = CliRunner().invoke(cli.app, ["dashboard", "--db", str(db), "--port", "8765"])
    assert result.exit_code == 0, result.output
    cmd = seen["cmd"]
    flags = dict(zip(cmd[cmd.index("run") + 2::2], cmd[cmd.index("run") + 3::2]))
    assert flags["--server.enableXsrfProtection"] == "true"
    assert flags["--client.showErrorDetails"] == "none"
    assert flags["--server.port"] == "8765"
    assert seen["env"]["REDTEAM_RISK_DB"] == str(db.resolve())
