"""Opening the engine's database: SQLite under the user's data directory by default, any SQLAlchemy URL otherwise.

SQLite connections are tuned for a journal that commits once per execution report: WAL (readers never block
the writer), ``synchronous=NORMAL`` (a commit survives a killed process; only a power loss may lose the last
commits), foreign keys enforced and a busy timeout so a second process waits for the lock instead of failing.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import platformdirs
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, SQLAlchemyError

from engine.storage.models import Base

APP_NAME = "workstation"
DATABASE_FILE = "workstation.db"
SQLITE_BUSY_TIMEOUT_MS = 5_000


class StorageError(RuntimeError):
    """The database cannot be opened or used; the message names the URL (password hidden) and the cause."""


def default_database_url() -> str:
    """URL of the default SQLite database, ``workstation.db`` in the user's data directory (created if needed)."""
    directory = Path(platformdirs.user_data_dir(APP_NAME))
    directory.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{(directory / DATABASE_FILE).as_posix()}"


def open_database(url: str | None = None) -> Engine:
    """An Engine on ``url`` (the default SQLite file when None) with the schema created.

    Raises :class:`StorageError` naming the URL when it cannot be parsed, its driver is missing or the
    database cannot be reached.
    """
    from engine.fix import store as _fix_tables  # noqa: F401 - the FIX session tables (that module imports this one)
    from engine.storage import trading_days as _day_tables  # noqa: F401 - the trading days' table (likewise)

    text = default_database_url() if url is None else url
    parsed = _parse(text)
    shown = parsed.render_as_string(hide_password=True)
    try:
        engine = create_engine(parsed)
    except (ArgumentError, ImportError) as exc:
        raise StorageError(f"cannot open database {shown}: {_reason(exc)}") from None
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _tune_sqlite)
    try:
        Base.metadata.create_all(engine)
    except SQLAlchemyError as exc:
        engine.dispose()
        raise StorageError(f"cannot open database {shown}: {_reason(exc)}") from None
    return engine


def write_log_beside(database: Engine) -> Path | None:
    """The write-log directory of a SQLite file database (``<file>-writes``); None for any other database, and on
    a system that is not POSIX (its applier process follows the log through POSIX pipes and file locks): there a
    group commits as one transaction."""
    if database.dialect.name != "sqlite" or os.name != "posix":
        return None
    name = database.url.database
    if not name or name == ":memory:" or name.startswith("file:"):
        return None
    return Path(name + "-writes")


def _parse(text: str) -> URL:
    try:
        return make_url(text)
    except (ArgumentError, ValueError):
        raise StorageError(
            f"cannot open database {text!r}: not a database URL (expected e.g. sqlite:///path/to/file.db "
            "or postgresql+psycopg://user@host/dbname)"
        ) from None


def _reason(exc: BaseException) -> str:
    if isinstance(exc, ImportError):
        return f"its database driver is not installed ({exc})"
    # A DBAPI error's own text carries SQL and parameters; the driver's message is what a user needs.
    if isinstance(exc, DBAPIError) and exc.orig is not None:
        return str(exc.orig)
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def _tune_sqlite(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    finally:
        cursor.close()
