"""The starts of trading days, kept in the engine's database across restarts."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import create_engine

from core.portfolio import DayStart
from engine.storage.db import StorageError, open_database
from engine.storage.trading_days import load_day_starts, save_day_starts


def test_a_day_is_kept_with_every_position_start(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'engine.db'}"
    starts = {("main", "AAPL"): DayStart(1_500, 20, None), ("hedge", "SPY"): DayStart(-7, 3, 42)}
    save_day_starts(open_database(url), date(2026, 11, 23), starts)
    assert load_day_starts(open_database(url), date(2026, 11, 23)) == starts
    assert load_day_starts(open_database(url), date(2026, 11, 24)) is None, "a day not begun here"


def test_a_day_begun_flat_counts_as_begun(tmp_path: Path) -> None:
    database = open_database(f"sqlite:///{tmp_path / 'engine.db'}")
    save_day_starts(database, date(2026, 11, 23), {})
    assert load_day_starts(database, date(2026, 11, 23)) == {}


def test_saving_a_day_again_replaces_it(tmp_path: Path) -> None:
    database = open_database(f"sqlite:///{tmp_path / 'engine.db'}")
    save_day_starts(database, date(2026, 11, 23), {("main", "AAPL"): DayStart(1, 2, 3)})
    save_day_starts(database, date(2026, 11, 23), {("main", "MSFT"): DayStart(4, 5, 6)})
    assert load_day_starts(database, date(2026, 11, 23)) == {("main", "MSFT"): DayStart(4, 5, 6)}


def test_an_unreadable_database_is_a_storage_error(tmp_path: Path) -> None:
    path = tmp_path / "engine.db"
    path.write_bytes(b"not a database" * 100)
    with pytest.raises(StorageError, match="trading day 2026-11-23"):
        load_day_starts(create_engine(f"sqlite:///{path}"), date(2026, 11, 23))
