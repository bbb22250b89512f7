"""Persistence of the engine: the database, the execution journal with crash recovery, and backtest runs.

SQLite (WAL) under the user's data directory by default, any SQLAlchemy URL (PostgreSQL) for a shared
deployment. Open with :func:`open_database`, then build a :class:`Journal` and a :class:`RunStore` on it.
"""

from engine.storage.db import StorageError, default_database_url, open_database
from engine.storage.journal import DuplicateOrder, Journal, RecoveredState, RecoveryError, recover
from engine.storage.runs import BacktestRunRecord, RunStore

__all__ = [
    "BacktestRunRecord",
    "DuplicateOrder",
    "Journal",
    "RecoveredState",
    "RecoveryError",
    "RunStore",
    "StorageError",
    "default_database_url",
    "open_database",
    "recover",
]
