"""The execution journal: every accepted order and every execution report, in order, before anyone sees it.

A durable :class:`Journal` commits each call before returning, so the engine publishes a report only once it
is on disk; a killed process loses nothing it has published. A journal in a
:class:`~engine.storage.commit_group.CommitGroup` buffers a turn of the event loop and commits it in one
transaction before any byte that depends on it leaves the process. A backtest opens it with ``durable=False``
to write in batches. :func:`recover` rebuilds the orders and the portfolio from what was journaled.

The schema has grown once since the first release: ``journal.ref_exec_id`` (the fill a bust breaks). A journal
opened on a database of an earlier release adds the column (:func:`upgrade_journal`); nothing else changes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, fields
from enum import Enum
from types import TracebackType
from typing import Any

from sqlalchemy import (
    BigInteger,
    Connection,
    Dialect,
    Engine,
    Row,
    Table,
    bindparam,
    insert,
    inspect,
    select,
    text,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql.expression import Executable

from core.enums import FILL_EXEC_TYPES, ExecType, Liquidity, OrderType, OrdStatus, Side, TimeInForce
from core.events import ExecutionReport
from core.instruments import Instrument
from core.numbers import Nanos
from core.orders import IllegalTransition, Order, fill_cost
from core.portfolio import Portfolio, Position
from engine.storage.commit_group import CommitGroup
from engine.storage.db import StorageError
from engine.storage.driver_sql import DriverStatement, Params, WriteBatch, write_now
from engine.storage.models import JOURNAL_EXEC, JOURNAL_ORDER, JournalEntry, OrderRow, PositionRow, table_of

JOURNAL: Table = table_of(JournalEntry)
ORDERS: Table = table_of(OrderRow)
POSITIONS: Table = table_of(PositionRow)

# Enum members are compared by their FIX codes: an enum's own hash and ``value`` are Python-level calls.
_RESTING_CODES = frozenset(s.value for s in (OrdStatus.NEW, OrdStatus.PARTIALLY_FILLED, OrdStatus.REPLACED))
_TERMINAL_CODES = frozenset(
    s.value for s in (OrdStatus.FILLED, OrdStatus.CANCELED, OrdStatus.REJECTED, OrdStatus.EXPIRED)
)
_PENDING_NEW = OrdStatus.PENDING_NEW
_REPLACED = ExecType.REPLACED
_TRADE = ExecType.TRADE
_REPLAY_PAGE = 2_000
_JOURNAL_FIELDS = tuple(c.name for c in JOURNAL.columns if c.name != "seq")
"""Columns of a journal row, in the order :func:`_order_entry` and :func:`_report_entry` build them."""
_ORDER_COLUMN_NAMES = tuple(c.name for c in ORDERS.columns)
"""Columns of the orders table, each named as the Order attribute it stores (``status`` included), in the order
:func:`_order_row` builds them."""
_ORDER_COLUMNS = tuple(name for name in _ORDER_COLUMN_NAMES if name != "order_id")


class DuplicateOrder(ValueError):
    """An order with the same order id or client order id is already journaled; nothing was written."""


class Journal:
    """The append-only execution journal and the latest state of orders and positions, over an Engine.

    Durable (the default): each ``record_*`` call is one committed transaction when it returns.
    With ``group``: calls are buffered and written by the group's commit at the end of the event-loop turn,
    before the sends that the group holds back (see :mod:`engine.storage.commit_group`).
    ``durable=False``: calls are buffered and written ``batch_size`` journal entries at a time, on
    :meth:`flush` and on :meth:`close`. When buffered (grouped or not), duplicate detection relies on the ids
    this journal has seen (loaded at construction), so the journal must be the database's only writer.
    Not thread-safe: use one journal from one thread.
    """

    def __init__(
        self, engine: Engine, *, durable: bool = True, batch_size: int = 1_000, group: CommitGroup | None = None
    ) -> None:
        if batch_size <= 0:
            raise ValueError(f"batch_size must be positive, got {batch_size}")
        self._durable = durable and group is None
        self._group = group
        self._batch_size = batch_size
        self._conn: Connection | None = engine.connect()
        upgrade_journal(self._conn)
        self._entries: list[Params] = []
        self._rows: dict[str, list[Any]] = {}
        """Full orders rows (in :data:`_ORDER_COLUMN_NAMES` order) this batch journal wrote or will write, until
        they are terminal and flushed."""
        self._unflushed: dict[str, None] = {}
        """Orders whose row is still to be inserted, in the order they were recorded."""
        self._finished: list[str] = []
        """Orders whose row turned terminal since the last flush: dropped from ``_rows`` once written."""
        self._dirty: dict[str, None] = {}
        """Orders whose row was written and has changed since."""
        self._other_updates: list[tuple[DriverStatement, Params]] = []
        self._positions: dict[tuple[str, str], Params] = {}
        self._exec_ids: set[str] = set()
        self._order_ids: set[str] = set()
        self._client_order_ids: set[str] = set()
        if not self._durable:
            self._load_seen_ids()
        if group is not None:
            group.join(self._write_buffered)

    @property
    def durable(self) -> bool:
        """True when every call is committed before it returns."""
        return self._durable

    @property
    def _connection(self) -> Connection:
        if self._conn is None:
            raise StorageError("the journal is closed")
        return self._conn

    # --- writing ---------------------------------------------------------------------------------------------

    def record_order(self, order: Order) -> None:
        """Journal an accepted order (still PendingNew, before it goes to the venue) and insert its orders row.

        Raises :class:`DuplicateOrder` when its order id or client order id is already recorded.
        """
        if order.status is not _PENDING_NEW or order.cum_qty or order.fills:
            raise ValueError(f"order {order.order_id} must be recorded as created (PendingNew, unfilled)")
        entry = _order_entry(order)
        row = _order_row(order)
        if self._durable:
            try:
                with self._connection.begin():
                    _INSERT_JOURNAL.execute(self._connection, (entry,))
                    _INSERT_ORDER.execute(self._connection, (tuple(row),))
            except IntegrityError:
                if self._order_known(order):
                    raise _duplicate(order) from None
                raise
            return
        if order.order_id in self._order_ids or order.client_order_id in self._client_order_ids:
            raise _duplicate(order)
        self._order_ids.add(order.order_id)
        self._client_order_ids.add(order.client_order_id)
        self._entries.append(entry)
        self._rows[order.order_id] = row
        self._unflushed[order.order_id] = None
        if self._group is not None:
            self._group.mark()
        else:
            self._maybe_flush()

    def record_execution(self, report: ExecutionReport) -> bool:
        """Journal an execution report and update its order's row; False (nothing written) for a known exec_id.

        A durable journal has committed the report when this returns: publish it only then.
        """
        if not report.exec_id:
            raise ValueError(f"execution report for order {report.order_id} has no exec_id")
        entry = _report_entry(report)
        filled = fill_cost(report)
        if self._durable:
            try:
                with self._connection.begin():
                    _INSERT_JOURNAL.execute(self._connection, (entry,))
                    statement, update = _order_update(report, filled)
                    statement.execute(self._connection, (update,))
            except IntegrityError:
                if self._exec_id_known(report.exec_id):
                    return False
                raise
            return True
        if report.exec_id in self._exec_ids:
            return False
        self._exec_ids.add(report.exec_id)
        self._entries.append(entry)
        cached = self._rows.get(report.order_id)
        if cached is None:
            self._other_updates.append(_order_update(report, filled))
        else:
            _apply_to_row(cached, report, filled)
            if cached[_STATUS] in _TERMINAL_CODES:
                self._finished.append(report.order_id)
            if report.order_id not in self._unflushed:
                self._dirty[report.order_id] = None
        if self._group is not None:
            self._group.mark()
        else:
            self._maybe_flush()
        return True

    def record_positions(self, positions: Iterable[Position], ts_ns: Nanos) -> None:
        """Store the latest snapshot of each position (one row per account and instrument)."""
        rows = [_position_row(position, ts_ns) for position in positions]
        if self._durable:
            with self._connection.begin():
                _UPSERT_POSITION.execute(self._connection, rows)
            return
        for row in rows:
            self._positions[(row[0], row[1])] = row
        self._maybe_flush()

    def flush(self) -> None:
        """Write everything buffered in one transaction (nothing to do when durable; a grouped journal commits
        its group and waits until the database holds it)."""
        if self._group is not None:
            self._group.sync()
            return
        if self._durable or not self._buffered:
            return
        write_now(self._connection, self._write_buffered)

    @property
    def _buffered(self) -> bool:
        return bool(self._entries or self._dirty or self._unflushed or self._positions or self._other_updates)

    def _write_buffered(self, batch: WriteBatch) -> None:
        """Adds what is buffered to ``batch`` and empties the buffers."""
        rows = self._rows
        unflushed = self._unflushed
        # Orders rows are copied into tuples: the lists change with later reports, the batch must not.
        if self._entries:
            batch.add(_INSERT_JOURNAL, self._entries)
        if unflushed:
            batch.add(_INSERT_ORDER, [tuple(rows[order_id]) for order_id in unflushed])
        if self._dirty:
            batch.add(_UPDATE_ORDER, [tuple(rows[order_id]) for order_id in self._dirty if order_id not in unflushed])
        if self._other_updates:
            for statement, row in self._other_updates:
                batch.add(statement, (row,))
        if self._positions:
            batch.add(_UPSERT_POSITION, list(self._positions.values()))
        self._entries.clear()
        unflushed.clear()
        self._dirty.clear()
        self._other_updates.clear()
        self._positions.clear()
        if self._finished:
            for order_id in self._finished:
                rows.pop(order_id, None)
            self._finished.clear()

    def close(self) -> None:
        """Flush what is buffered and release the connection; the journal cannot be used afterwards."""
        if self._conn is None:
            return
        try:
            self.flush()
        finally:
            if self._group is not None:
                self._group.leave(self._write_buffered)
            self._conn.close()
            self._conn = None

    def __enter__(self) -> Journal:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # --- reading ---------------------------------------------------------------------------------------------

    def replay(self) -> Iterator[Order | ExecutionReport]:
        """Every journaled order (as created, PendingNew) and execution report, in journal order.

        Reads page by page, so the journal may be written to while a replay is in progress.
        """
        self.flush()
        last = 0
        while True:
            with self._connection.begin():
                query = select(JOURNAL).where(JOURNAL.c.seq > last).order_by(JOURNAL.c.seq).limit(_REPLAY_PAGE)
                rows = self._connection.execute(query).all()
            for row in rows:
                yield _decode(row)
            if len(rows) < _REPLAY_PAGE:
                return
            last = rows[-1].seq

    # --- internals -------------------------------------------------------------------------------------------

    def _maybe_flush(self) -> None:
        if self._group is not None:
            self._group.mark()
        elif len(self._entries) >= self._batch_size:
            self.flush()

    def _load_seen_ids(self) -> None:
        with self._connection.begin():
            found = self._connection.execute(select(JOURNAL.c.exec_id).where(JOURNAL.c.exec_id.is_not(None)))
            self._exec_ids.update(found.scalars())
            for order_id, client_order_id in self._connection.execute(
                select(ORDERS.c.order_id, ORDERS.c.client_order_id)
            ):
                self._order_ids.add(order_id)
                self._client_order_ids.add(client_order_id)

    def _exec_id_known(self, exec_id: str) -> bool:
        with self._connection.begin():
            query = select(JOURNAL.c.seq).where(JOURNAL.c.exec_id == exec_id)
            return self._connection.execute(query).first() is not None

    def _order_known(self, order: Order) -> bool:
        with self._connection.begin():
            query = select(ORDERS.c.order_id).where(
                (ORDERS.c.order_id == order.order_id) | (ORDERS.c.client_order_id == order.client_order_id)
            )
            return self._connection.execute(query).first() is not None


_ADD_REF_EXEC_ID = text("ALTER TABLE journal ADD COLUMN ref_exec_id VARCHAR(64) NOT NULL DEFAULT ''")


def upgrade_journal(connection: Connection) -> None:
    """Bring the journal table of a database written by an earlier release up to the current schema: add
    ``ref_exec_id`` (empty on the rows already there, which are no busts). Does nothing on a current one."""
    with connection.begin():
        columns = {column["name"] for column in inspect(connection).get_columns(JOURNAL.name)}
        if "ref_exec_id" not in columns:
            connection.execute(_ADD_REF_EXEC_ID)


@dataclass(frozen=True, slots=True, kw_only=True)
class RecoveredState:
    """Orders and portfolio rebuilt from the journal, and the highest id numbers in use.

    ``max_order_seq``, ``max_exec_seq`` and ``max_client_order_seq`` are the largest trailing integers of any
    order id, exec id and client order id seen (0 when none): new ids numbered above them cannot collide.
    ``problems`` lists reports that could not be applied to their order (unknown order, illegal transition);
    their fills and busts are booked in the portfolio all the same, since the venue executed (or broke) them,
    and a bust of a fill the portfolio does not hold is one more problem.
    """

    orders: dict[str, Order]
    portfolio: Portfolio
    max_order_seq: int
    max_exec_seq: int
    max_client_order_seq: int
    reports: int
    problems: tuple[str, ...]

    @property
    def open_orders(self) -> list[Order]:
        """Orders not yet terminal (working or still PendingNew): to be reconciled with their venue."""
        return [order for order in self.orders.values() if not order.is_terminal]


class RecoveryError(ValueError):
    """The journal cannot be recovered against the given instruments (e.g. fills in an unknown instrument)."""


def recover(journal: Journal, instruments: Mapping[str, Instrument]) -> RecoveredState:
    """Rebuild every order (created as journaled, then each report applied with ``Order.apply``) and the
    portfolio (from the TRADE reports, less the fills TRADE_CANCEL reports bust) by replaying ``journal``.

    ``instruments`` maps symbols to instruments; a fill in a symbol missing from it raises
    :class:`RecoveryError`, because starting without that position would be wrong.
    """
    orders: dict[str, Order] = {}
    portfolio = Portfolio(instruments)
    applied: set[str] = set()
    problems: list[str] = []
    max_order = max_exec = max_client = 0
    for item in journal.replay():
        max_order = max(max_order, trailing_number(item.order_id))
        max_client = max(max_client, trailing_number(item.client_order_id))
        if isinstance(item, Order):
            if item.order_id in orders:
                problems.append(f"order {item.order_id} journaled twice; the first one is kept")
            else:
                orders[item.order_id] = item
            continue
        if item.exec_id in applied:
            problems.append(f"exec {item.exec_id} journaled twice; applied once")
            continue
        applied.add(item.exec_id)
        max_exec = max(max_exec, trailing_number(item.exec_id))
        _apply_report(orders, item, problems)
        if item.exec_type not in FILL_EXEC_TYPES:
            continue
        if item.exec_type is _TRADE and item.instrument not in instruments:
            raise RecoveryError(
                f"the journal has fills in {item.instrument!r} (exec {item.exec_id}), which is not among "
                f"the configured instruments: {', '.join(sorted(instruments)) or 'none'}"
            )
        try:
            portfolio.book(item)
        except KeyError as error:  # a bust of a fill the portfolio does not hold
            problems.append(f"exec {item.exec_id}: {error.args[0]}")
    return RecoveredState(
        orders=orders,
        portfolio=portfolio,
        max_order_seq=max_order,
        max_exec_seq=max_exec,
        max_client_order_seq=max_client,
        reports=len(applied),
        problems=tuple(problems),
    )


def trailing_number(identifier: str) -> int:
    """The integer an id ends with (``"O-000042"`` -> 42), or 0 when it ends with no digit."""
    match = re.search(r"(\d+)$", identifier)
    return int(match.group(1)) if match else 0


def _apply_report(orders: dict[str, Order], report: ExecutionReport, problems: list[str]) -> None:
    order = orders.get(report.order_id)
    if order is None:
        problems.append(f"exec {report.exec_id} is for order {report.order_id}, which was never journaled")
        return
    try:
        order.apply(report)
    except IllegalTransition as exc:
        problems.append(f"exec {report.exec_id} on order {report.order_id}: {exc}")


def _duplicate(order: Order) -> DuplicateOrder:
    return DuplicateOrder(f"order {order.order_id} (client order id {order.client_order_id}) is already journaled")


# --- rows ------------------------------------------------------------------------------------------------------
# Rows are tuples in their statement's field order, built attribute by attribute: no dict per row, and an enum's
# FIX code read as its ``_value_`` (``Enum.value`` is a Python-level property). The tests check each builder
# against the columns it fills.


_REPORT_FIELDS = tuple(f.name for f in fields(ExecutionReport))
_ENUMS: dict[str, type[Enum]] = {
    "side": Side,
    "order_type": OrderType,
    "time_in_force": TimeInForce,
    "exec_type": ExecType,
    "ord_status": OrdStatus,
    "liquidity": Liquidity,
}
"""Columns holding an enum's value, and the enum to read them back as."""
_ORDER_ENTRY_FIELDS = (
    "order_id",
    "client_order_id",
    "account",
    "instrument",
    "side",
    "order_type",
    "time_in_force",
    "quantity",
    "price",
    "strategy_id",
    "created_ns",
    "venue",
    "reason",
)
"""Fields of a new Order stored under their own name in its journal entry."""


def _order_entry(order: Order) -> Params:
    """The journal row of an accepted order, in :data:`_JOURNAL_FIELDS` order."""
    return (
        JOURNAL_ORDER,  # kind
        order.updated_ns,  # ts_ns
        None,  # exec_id
        order.order_id,
        order.client_order_id,
        order.account,
        order.instrument,
        order.side._value_,
        order.order_type._value_,
        order.time_in_force._value_,
        None,  # exec_type
        order.status._value_,  # ord_status
        order.quantity,
        order.price,
        0,  # cum_qty
        order.leaves_qty,
        0,  # last_qty
        None,  # last_price
        0,  # fee
        None,  # liquidity
        order.reason,
        order.venue,
        order.strategy_id,
        order.created_ns,
        "",  # ref_exec_id
    )


def _report_entry(report: ExecutionReport) -> Params:
    """The journal row of an execution report, in :data:`_JOURNAL_FIELDS` order."""
    return (
        JOURNAL_EXEC,  # kind
        report.ts_ns,
        report.exec_id,
        report.order_id,
        report.client_order_id,
        report.account,
        report.instrument,
        report.side._value_,
        report.order_type._value_,
        None,  # time_in_force
        report.exec_type._value_,
        report.ord_status._value_,
        report.quantity,
        report.price,
        report.cum_qty,
        report.leaves_qty,
        report.last_qty,
        report.last_price,
        report.fee,
        report.liquidity._value_,
        report.reason,
        report.venue,
        report.strategy_id,
        None,  # created_ns
        report.ref_exec_id,
    )


def _decode(row: Row[Any]) -> Order | ExecutionReport:
    values = row._mapping
    if row.kind == JOURNAL_ORDER:
        order = {name: _read(name, values[name]) for name in _ORDER_ENTRY_FIELDS}
        return Order(**order, status=OrdStatus(row.ord_status), updated_ns=row.ts_ns)
    if row.kind == JOURNAL_EXEC:
        return ExecutionReport(**{name: _read(name, values[name]) for name in _REPORT_FIELDS})
    raise StorageError(f"journal entry {row.seq} has an unknown kind {row.kind!r}")


def _read(name: str, value: Any) -> Any:
    enum = _ENUMS.get(name)
    return value if enum is None else enum(value)


def _order_row(order: Order) -> list[Any]:
    """The orders row of an order, in :data:`_ORDER_COLUMN_NAMES` order (a list: a batch journal updates it in
    place until it is written)."""
    return [
        order.order_id,
        order.client_order_id,
        order.account,
        order.instrument,
        order.side._value_,
        order.order_type._value_,
        order.quantity,
        order.price,
        order.time_in_force._value_,
        order.strategy_id,
        order.status._value_,
        order.cum_qty,
        order.leaves_qty,
        order.filled_cost,
        order.venue,
        order.reason,
        order.created_ns,
        order.updated_ns,
    ]


_STATUS, _CUM_QTY, _LEAVES_QTY, _UPDATED_NS, _QUANTITY, _PRICE, _VENUE, _REASON, _FILLED_COST = (
    _ORDER_COLUMN_NAMES.index(name)
    for name in ("status", "cum_qty", "leaves_qty", "updated_ns", "quantity", "price", "venue", "reason", "filled_cost")
)


def _apply_to_row(row: list[Any], report: ExecutionReport, filled: int) -> None:
    """Changes an orders row as ``Order.apply`` changes the order (the same columns as :func:`_order_update`)."""
    status = report.ord_status._value_
    row[_STATUS] = status
    row[_CUM_QTY] = report.cum_qty
    row[_LEAVES_QTY] = report.leaves_qty
    row[_UPDATED_NS] = report.ts_ns
    if report.exec_type is _REPLACED or status in _RESTING_CODES:
        row[_QUANTITY] = report.quantity
        row[_PRICE] = report.price
    if report.venue:
        row[_VENUE] = report.venue
    if report.reason:
        row[_REASON] = report.reason
    row[_FILLED_COST] += filled


# Statements are built once and bound per call: building one per report costs more than executing it.
# Bound names must differ from column names in an UPDATE's SET clause, hence the "b_" prefix.
_INSERT_JOURNAL = DriverStatement(
    insert(JOURNAL).values({name: bindparam(name) for name in _JOURNAL_FIELDS}), _JOURNAL_FIELDS
)
_INSERT_ORDER = DriverStatement(
    insert(ORDERS).values({name: bindparam(name) for name in _ORDER_COLUMN_NAMES}), _ORDER_COLUMN_NAMES
)
_UPDATE_ORDER = DriverStatement(
    update(ORDERS)
    .where(ORDERS.c.order_id == bindparam("b_order_id"))
    .values({name: bindparam(f"b_{name}") for name in _ORDER_COLUMNS}),
    [f"b_{name}" for name in _ORDER_COLUMN_NAMES],
)
"""Writes a whole orders row again (the rows of :func:`_order_row`)."""
_order_updates: dict[tuple[str, ...], DriverStatement] = {}


def _order_update(report: ExecutionReport, filled: int) -> tuple[DriverStatement, Params]:
    """The update applying a report (and its fill cost) to its order's row, with its parameters: the columns
    ``Order.apply`` changes, as :func:`_apply_to_row` does."""
    status = report.ord_status._value_
    names: tuple[str, ...] = ("status", "cum_qty", "leaves_qty", "updated_ns")
    values: tuple[Any, ...] = (status, report.cum_qty, report.leaves_qty, report.ts_ns)
    if report.exec_type is _REPLACED or status in _RESTING_CODES:
        names += ("quantity", "price")
        values += (report.quantity, report.price)
    if report.venue:
        names += ("venue",)
        values += (report.venue,)
    if report.reason:
        names += ("reason",)
        values += (report.reason,)
    statement = _order_updates.get(names)
    if statement is None:
        statement = _order_updates[names] = DriverStatement(
            update(ORDERS)
            .where(ORDERS.c.order_id == bindparam("b_order_id"))
            .values({name: bindparam(f"b_{name}") for name in names})
            .values(filled_cost=ORDERS.c.filled_cost + bindparam("b_filled", type_=BigInteger())),
            [*(f"b_{name}" for name in names), "b_filled", "b_order_id"],
        )
    return statement, (*values, filled, report.order_id)


_POSITION_FIELDS = tuple(c.name for c in POSITIONS.columns)


def _position_row(position: Position, ts_ns: Nanos) -> Params:
    """The positions row of a position, in :data:`_POSITION_FIELDS` order."""
    return (
        position.account,
        position.instrument.symbol,
        position.quantity,
        position.cost,
        position.realized,
        position.fees,
        position.traded_qty,
        ts_ns,
    )


def _upsert_position(dialect: Dialect) -> Executable:
    """Insert a position row, replacing the one with the same account and instrument (native upsert on SQLite and
    PostgreSQL)."""
    keys = ("account", "instrument")
    others = [c.name for c in POSITIONS.columns if c.name not in keys]
    if dialect.name == "sqlite":
        lite = sqlite.insert(POSITIONS)
        return lite.on_conflict_do_update(index_elements=keys, set_={c: lite.excluded[c] for c in others})
    if dialect.name == "postgresql":
        pg = postgresql.insert(POSITIONS)
        return pg.on_conflict_do_update(index_elements=keys, set_={c: pg.excluded[c] for c in others})
    raise StorageError(f"positions cannot be upserted on {dialect.name}: use SQLite or PostgreSQL")


_UPSERT_POSITION = DriverStatement(_upsert_position, _POSITION_FIELDS)
