"""The database schema: orders, the execution journal, position snapshots, the write log's progress and
backtest runs.

Prices, quantities, money and times are integers (``BigInteger``) exactly as the domain holds them; enums are
stored by their FIX code (``Side.BUY`` is ``"1"``). The journal and the orders table are written with Core
statements by :mod:`engine.storage.journal`; the mapped classes document the columns and serve ad-hoc queries.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, BigInteger, Integer, String, Table
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# SQLite only auto-increments an INTEGER PRIMARY KEY; elsewhere the journal sequence is a 64-bit integer.
_SEQUENCE = BigInteger().with_variant(Integer(), "sqlite")

JOURNAL_ORDER = "order"
"""``journal.kind`` of an accepted order request (the order as created, in PendingNew)."""
JOURNAL_EXEC = "exec"
"""``journal.kind`` of an execution report."""


class Base(DeclarativeBase):
    """Declarative base of every table of the engine's database."""


class OrderRow(Base):
    """One row per order: its latest known state, updated by each of its execution reports."""

    __tablename__ = "orders"

    order_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    client_order_id: Mapped[str] = mapped_column(String(64), unique=True)
    account: Mapped[str] = mapped_column(String(64), index=True)
    instrument: Mapped[str] = mapped_column(String(32))
    side: Mapped[str] = mapped_column(String(4))
    order_type: Mapped[str] = mapped_column(String(4))
    quantity: Mapped[int] = mapped_column(BigInteger)
    price: Mapped[int | None] = mapped_column(BigInteger)
    time_in_force: Mapped[str] = mapped_column(String(4))
    strategy_id: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(4), index=True)
    cum_qty: Mapped[int] = mapped_column(BigInteger)
    leaves_qty: Mapped[int] = mapped_column(BigInteger)
    filled_cost: Mapped[int] = mapped_column(BigInteger, default=0)
    """Sum of fill price x fill quantity, for the average fill price."""
    venue: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(String)
    created_ns: Mapped[int] = mapped_column(BigInteger)
    updated_ns: Mapped[int] = mapped_column(BigInteger)


class JournalEntry(Base):
    """The append-only execution journal, in the order things happened (``seq``).

    ``kind`` is ``"order"`` for an accepted order request (``time_in_force`` and ``created_ns`` set, no
    ``exec_id``) or ``"exec"`` for an execution report (``exec_id``, ``exec_type`` and ``liquidity`` set).
    ``exec_id`` is unique, so a report can be journaled only once. ``ref_exec_id`` is the fill a trade cancel
    (a bust) breaks, empty on every other row (added after the first release: see
    :func:`engine.storage.journal.upgrade_journal`).
    """

    __tablename__ = "journal"

    seq: Mapped[int] = mapped_column(_SEQUENCE, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(8))
    ts_ns: Mapped[int] = mapped_column(BigInteger)
    exec_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    order_id: Mapped[str] = mapped_column(String(64), index=True)
    client_order_id: Mapped[str] = mapped_column(String(64))
    account: Mapped[str] = mapped_column(String(64))
    instrument: Mapped[str] = mapped_column(String(32))
    side: Mapped[str] = mapped_column(String(4))
    order_type: Mapped[str] = mapped_column(String(4))
    time_in_force: Mapped[str | None] = mapped_column(String(4))
    exec_type: Mapped[str | None] = mapped_column(String(4))
    ord_status: Mapped[str] = mapped_column(String(4))
    quantity: Mapped[int] = mapped_column(BigInteger)
    price: Mapped[int | None] = mapped_column(BigInteger)
    cum_qty: Mapped[int] = mapped_column(BigInteger)
    leaves_qty: Mapped[int] = mapped_column(BigInteger)
    last_qty: Mapped[int] = mapped_column(BigInteger)
    last_price: Mapped[int | None] = mapped_column(BigInteger)
    fee: Mapped[int] = mapped_column(BigInteger)
    liquidity: Mapped[str | None] = mapped_column(String(4))
    reason: Mapped[str] = mapped_column(String)
    venue: Mapped[str] = mapped_column(String(64))
    strategy_id: Mapped[str | None] = mapped_column(String(64))
    created_ns: Mapped[int | None] = mapped_column(BigInteger)
    ref_exec_id: Mapped[str] = mapped_column(String(64), default="", server_default="")


class PositionRow(Base):
    """Latest snapshot of one account's position in one instrument (``cost`` in price units x quantity)."""

    __tablename__ = "positions"

    account: Mapped[str] = mapped_column(String(64), primary_key=True)
    instrument: Mapped[str] = mapped_column(String(32), primary_key=True)
    quantity: Mapped[int] = mapped_column(BigInteger)
    cost: Mapped[int] = mapped_column(BigInteger)
    realized: Mapped[int] = mapped_column(BigInteger)
    fees: Mapped[int] = mapped_column(BigInteger)
    traded_qty: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_ns: Mapped[int] = mapped_column(BigInteger)


class WriteLogState(Base):
    """How far the write log in front of this database has been applied (one row; see
    :mod:`engine.storage.write_log`). ``token`` ties the log's files to this database."""

    __tablename__ = "write_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token: Mapped[str] = mapped_column(String(32))
    applied_seq: Mapped[int] = mapped_column(BigInteger)


class BacktestRun(Base):
    """A finished backtest: what ran (strategy, instruments, params, seed, settings) and what came out.

    ``metrics`` hold money as decimal strings and counts as integers; ``equity`` is a bounded list of
    ``[ts_ns, equity in money units]`` samples for plotting.
    """

    __tablename__ = "backtest_runs"

    run_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    created_ns: Mapped[int] = mapped_column(BigInteger, index=True)
    strategy: Mapped[str] = mapped_column(String(128))
    instruments: Mapped[list[str]] = mapped_column(JSON)
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    seed: Mapped[int] = mapped_column(BigInteger)
    duration_ns: Mapped[int] = mapped_column(BigInteger)
    settings: Mapped[dict[str, Any]] = mapped_column(JSON)
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON)
    events: Mapped[int] = mapped_column(BigInteger)
    equity: Mapped[list[list[int]]] = mapped_column(JSON)


def table_of(model: type[Base]) -> Table:
    """The Core :class:`Table` of a mapped class, for bulk statements."""
    return Base.metadata.tables[model.__tablename__]
