"""``workstation-engine plugins`` and ``sim``, and configuration errors, through the real command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.conftest import run_engine

pytestmark = pytest.mark.slow


def test_plugins_lists_the_built_ins_and_what_they_register() -> None:
    result = run_engine("plugins")
    assert result.returncode == 0, result.stderr
    for expected in (
        "strategies",
        "risk",
        "simulator",
        "routing",
        "market-maker",
        "pairs",
        "twap",
        "daily_loss",
        "kill_switch",
        "sim",
        "direct",
        "loaded",
    ):
        assert expected in result.stdout
    listed = json.loads(run_engine("plugins", "--json").stdout)
    assert {entry["name"] for entry in listed} >= {"strategies", "risk", "simulator", "routing", "ouch"}
    assert all(entry["status"] == "loaded" for entry in listed if entry["source"] == "built-in")


def test_sim_shows_live_status_and_stops_by_itself(db_url: str) -> None:
    result = run_engine("--db", db_url, "sim", "--seconds", "3", "--refresh", "1", timeout=120)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    for symbol in ("AAPL", "MSFT", "SPY", "QQQ"):
        assert symbol in out
    assert "P&L" in out
    assert "risk events" in out
    assert "strategy market-maker" in out
    assert "stopped:" in out


def test_bad_config_names_the_file_and_the_key(tmp_path: Path, db_url: str) -> None:
    bad = tmp_path / "engine.toml"
    bad.write_text('[[instruments]]\nsymbol = "ABC"\ntick_size = "0.01"\nstart_price = 12.5\n')
    result = run_engine("--config", str(bad), "--db", db_url, "backtest", "--strategy", "market-maker")
    assert result.returncode == 2
    assert str(bad) in result.stderr
    assert "start_price" in result.stderr
    assert "Traceback" not in result.stderr


def test_missing_config_file_is_an_error(tmp_path: Path) -> None:
    result = run_engine("--config", str(tmp_path / "nope.toml"), "plugins")
    assert result.returncode in (0, 2)
    result = run_engine("--config", str(tmp_path / "nope.toml"), "backtest", "--strategy", "market-maker")
    assert result.returncode == 2
    assert "nope.toml" in result.stderr
