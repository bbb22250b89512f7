"""Opening the database: the default location, SQLite tuning, and clear errors for bad URLs."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from sqlalchemy import inspect, text

from engine.storage import StorageError, default_database_url, open_database


def test_the_default_database_lives_in_the_user_data_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    url = default_database_url()
    assert url.startswith("sqlite:///")
    assert url.endswith("/workstation.db")
    database_file = Path(url.removeprefix("sqlite:///"))
    assert database_file.parent.is_dir()
    if sys.platform.startswith("linux"):
        assert database_file == tmp_path / "data" / "workstation" / "workstation.db"


def test_a_sqlite_file_is_opened_in_wal_mode_with_the_schema(tmp_path: Path) -> None:
    database = open_database(f"sqlite:///{tmp_path / 'engine.db'}")
    with database.connect() as conn:
        pragmas = {
            name: conn.execute(text(f"PRAGMA {name}")).scalar()
            for name in ("journal_mode", "synchronous", "foreign_keys", "busy_timeout")
        }
    assert pragmas == {"journal_mode": "wal", "synchronous": 1, "foreign_keys": 1, "busy_timeout": 5000}
    assert {"orders", "journal", "positions", "backtest_runs"} <= set(inspect(database).get_table_names())
    database.dispose()
    open_database(f"sqlite:///{tmp_path / 'engine.db'}").dispose()  # opening again keeps the schema


def test_an_in_memory_database_works() -> None:
    database = open_database("sqlite://")
    assert "journal" in inspect(database).get_table_names()
    database.dispose()


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("not a url", "cannot open database 'not a url': not a database URL"),
        ("nosuchdb://host/db", "cannot open database nosuchdb://host/db: Can't load plugin"),
        ("sqlite:////no/such/directory/engine.db", "sqlite:////no/such/directory/engine.db: unable to open"),
    ],
)
def test_a_bad_url_gives_an_error_naming_it(url: str, expected: str) -> None:
    with pytest.raises(StorageError) as caught:
        open_database(url)
    assert expected in str(caught.value)
    assert caught.value.__cause__ is None
    assert caught.value.__suppress_context__


def test_an_unreachable_server_is_named_without_its_password() -> None:
    with pytest.raises(StorageError) as caught:
        open_database("postgresql://trader:s3cret@127.0.0.1:1/workstation")
    message = str(caught.value)
    assert "postgresql://trader:***@127.0.0.1:1/workstation" in message
    assert "s3cret" not in message
