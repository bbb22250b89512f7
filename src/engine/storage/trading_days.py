"""Where each position stood when a trading day began, kept so that a restarted engine counts the day's P&L (and
judges the daily loss limit) from the same start.

One row per trading day, account and instrument (``trading_days``), written once when the day begins and kept
afterwards: the history of each day's starting realized P&L, fees and open P&L.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

from sqlalchemy import BigInteger, Column, Engine, String, Table, delete, insert, select
from sqlalchemy.exc import SQLAlchemyError

from core.portfolio import DayStart
from engine.storage.db import StorageError
from engine.storage.models import Base

TRADING_DAYS = Table(
    "trading_days",
    Base.metadata,
    Column("day", String(10), primary_key=True),
    Column("account", String(64), primary_key=True),
    Column("instrument", String(32), primary_key=True),
    Column("realized", BigInteger, nullable=False),
    Column("fees", BigInteger, nullable=False),
    Column("unrealized", BigInteger, nullable=True),
    comment="where each position stood when a trading day began (unrealized NULL: no mark at that moment)",
)


def load_day_starts(database: Engine, day: date) -> dict[tuple[str, str], DayStart] | None:
    """The positions' starts of trading day ``day`` by (account, symbol), or None when that day has not begun
    on this database. Raises :class:`StorageError` when the database cannot be read."""
    try:
        with database.connect() as conn:
            rows = conn.execute(select(TRADING_DAYS).where(TRADING_DAYS.c.day == day.isoformat())).all()
    except SQLAlchemyError as error:
        raise StorageError(f"cannot read the start of trading day {day}: {error}") from error
    if not rows:
        return None
    return {
        (row.account, row.instrument): DayStart(row.realized, row.fees, row.unrealized) for row in rows if row.account
    }


def save_day_starts(database: Engine, day: date, starts: Mapping[tuple[str, str], DayStart]) -> None:
    """Records where every position starts trading day ``day`` (replacing what was recorded for it). A day with
    no positions is recorded too, as one row with an empty account, so that it counts as begun. Raises
    :class:`StorageError` when the database cannot be written."""
    key = day.isoformat()
    rows = [
        {"day": key, "account": account, "instrument": symbol, **start._asdict()}
        for (account, symbol), start in starts.items()
    ] or [{"day": key, "account": "", "instrument": "", "realized": 0, "fees": 0, "unrealized": None}]
    try:
        with database.begin() as conn:
            conn.execute(delete(TRADING_DAYS).where(TRADING_DAYS.c.day == key))
            conn.execute(insert(TRADING_DAYS), rows)
    except SQLAlchemyError as error:
        raise StorageError(f"cannot record the start of trading day {day}: {error}") from error
