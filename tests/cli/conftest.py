"""Helpers to run ``workstation-engine`` as a user would: a separate process, its output, its exit code."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest


def engine_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "engine.cli", *args]


def run_engine(*args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    """Run the CLI to completion and return what it printed."""
    return subprocess.run(
        engine_command(*args), capture_output=True, text=True, timeout=timeout, env=cli_env(), check=False
    )


def cli_env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("NUMBA_DISABLE_JIT", None)
    return env


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    """A fresh SQLite database for one test (never the user's own)."""
    return f"sqlite:///{tmp_path / 'engine.db'}"
