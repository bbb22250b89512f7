"""Orders and executions as the desktop knows them, held in columns (numpy arrays) for million-row tables.

Every order is one row, updated in place by each of its execution reports; every fill is one row of the
executions table, marked busted when a trade cancel breaks it (the order's row then loses the fill as well). Text
columns (ids, reasons) are Python lists beside the arrays; categorical columns (instrument, account, strategy,
side, type, status) are small integer codes, so sorting and filtering a million rows is a vectorised numpy
operation. ``version`` changes on every change, for views to know when to refresh.
"""

from __future__ import annotations

from array import array
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

import numpy as np
import numpy.typing as npt

from core.commands import SubmitOrder
from core.enums import ExecType, Liquidity, OrderType, OrdStatus, Side
from core.events import ExecutionReport
from core.numbers import Nanos, Price, Quantity
from core.orders import fill_cost

NO_PRICE = -1
"""The price column's value for an order without a limit price (a market order)."""

SIDES: tuple[Side, ...] = tuple(Side)
ORDER_TYPES: tuple[OrderType, ...] = tuple(OrderType)
STATUSES: tuple[OrdStatus, ...] = tuple(OrdStatus)
LIQUIDITIES: tuple[Liquidity, ...] = tuple(Liquidity)
_SIDE_CODE = {side: i for i, side in enumerate(SIDES)}
_TYPE_CODE = {kind: i for i, kind in enumerate(ORDER_TYPES)}
_STATUS_CODE = {status: i for i, status in enumerate(STATUSES)}
_LIQUIDITY_CODE = {liquidity: i for i, liquidity in enumerate(LIQUIDITIES)}
TERMINAL = frozenset({OrdStatus.FILLED, OrdStatus.CANCELED, OrdStatus.REJECTED, OrdStatus.EXPIRED})
TERMINAL_CODES = np.array(sorted(_STATUS_CODE[status] for status in TERMINAL if status in _STATUS_CODE))
PENDING = frozenset({OrdStatus.PENDING_NEW, OrdStatus.PENDING_CANCEL, OrdStatus.PENDING_REPLACE})

K = TypeVar("K")


class Interner(Generic[K]):
    """Small integer codes for repeated values (symbols, accounts, strategy ids), in order of first use."""

    def __init__(self) -> None:
        self.values: list[K] = []
        self._codes: dict[K, int] = {}

    def code(self, value: K) -> int:
        found = self._codes.get(value)
        if found is None:
            found = self._codes[value] = len(self.values)
            self.values.append(value)
        return found

    def find(self, value: K) -> int | None:
        """The code of ``value``, or None when it was never seen."""
        return self._codes.get(value)


class _Columns:
    """Growable int64 columns sharing one row count."""

    def __init__(self, names: tuple[str, ...], capacity: int = 1024) -> None:
        self._names = names
        self._data = {name: np.zeros(capacity, dtype=np.int64) for name in names}
        self.size = 0

    def column(self, name: str) -> npt.NDArray[np.int64]:
        """The first ``size`` values of column ``name`` (a view: do not keep it across appends)."""
        return self._data[name][: self.size]

    def add_row(self) -> int:
        if self.size == len(self._data[self._names[0]]):
            for name in self._names:
                grown = np.zeros(max(1024, 2 * self.size), dtype=np.int64)
                grown[: self.size] = self._data[name][: self.size]
                self._data[name] = grown
        self.size += 1
        return self.size - 1

    def set(self, row: int, name: str, value: int) -> None:
        self._data[name][row] = value

    def get(self, row: int, name: str) -> int:
        return int(self._data[name][row])

    def extend(self, values: Mapping[str, npt.ArrayLike], count: int) -> range:
        """Append ``count`` rows at once, column by column (columns not given are zero); returns the new rows."""
        start, end = self.size, self.size + count
        if end > len(self._data[self._names[0]]):
            capacity = max(1024, 2 * self.size, end)
            for name in self._names:
                grown = np.zeros(capacity, dtype=np.int64)
                grown[:start] = self._data[name][:start]
                self._data[name] = grown
        for name in self._names:
            self._data[name][start:end] = values.get(name, 0)
        self.size = end
        return range(start, end)


@dataclass(frozen=True, slots=True)
class WorkingOrder:
    """An order still working (or about to), as the ladder draws it."""

    client_order_id: str
    side: Side
    price: Price | None
    leaves_qty: Quantity
    status: OrdStatus


ORDER_COLUMNS = (
    "entered_ns", "updated_ns", "instrument", "account", "strategy", "side", "order_type", "price", "quantity",
    "cum_qty", "leaves_qty", "filled_cost", "status",
)  # fmt: skip


class _CodedTable:
    """Columns with the categorical codes both tables share: instrument, account, strategy and side."""

    def __init__(self, names: tuple[str, ...]) -> None:
        self.columns = _Columns(names)
        self.instruments: Interner[str] = Interner()
        self.accounts: Interner[str] = Interner()
        self.strategies: Interner[str] = Interner()
        self.version = 0

    def __len__(self) -> int:
        return self.columns.size

    def side(self, row: int) -> Side:
        return SIDES[self.columns.get(row, "side")]

    def instrument(self, row: int) -> str:
        return self.instruments.values[self.columns.get(row, "instrument")]

    def account(self, row: int) -> str:
        return self.accounts.values[self.columns.get(row, "account")]

    def strategy(self, row: int) -> str:
        return self.strategies.values[self.columns.get(row, "strategy")]


class OrderTable(_CodedTable):
    """One row per order, kept current by execution reports (and by local pending rows sent from the desktop)."""

    def __init__(self) -> None:
        super().__init__(ORDER_COLUMNS)
        self.client_order_ids: list[str] = []
        self.order_ids: list[str] = []
        self.reasons: list[str] = []
        self._rows: dict[str, int] = {}
        self._working: dict[str, dict[str, int]] = {}
        self.text_log: array[int] = array("q")
        """Rows whose order id or reason changed, in order of change (append-only: each reader keeps its own
        position), so text caches update those rows instead of rebuilding a million."""
        self._search: list[str] = []
        self._search_logged = 0

    def row_of(self, client_order_id: str) -> int | None:
        return self._rows.get(client_order_id)

    def _new_row(self, client_order_id: str, instrument: str, account: str, strategy: str | None) -> int:
        columns = self.columns
        row = columns.add_row()
        columns.set(row, "instrument", self.instruments.code(instrument))
        columns.set(row, "account", self.accounts.code(account))
        columns.set(row, "strategy", self.strategies.code(strategy or ""))
        self.client_order_ids.append(client_order_id)
        self.order_ids.append("")
        self.reasons.append("")
        self._rows[client_order_id] = row
        return row

    def add_pending(self, request: SubmitOrder, now_ns: Nanos) -> int:
        """A row for an order the desktop has just sent, PendingNew until the engine reports on it."""
        row = self._new_row(request.client_order_id, request.instrument, request.account, request.strategy_id)
        self._write(
            row, now_ns, request.side, request.order_type, request.price, request.quantity, 0, request.quantity,
            OrdStatus.PENDING_NEW,
        )  # fmt: skip
        self.columns.set(row, "entered_ns", now_ns)
        self._track(row, request.instrument, request.client_order_id, OrdStatus.PENDING_NEW)
        self.version += 1
        return row

    def mark(self, client_order_id: str, status: OrdStatus) -> None:
        """Show the order in ``status`` until the engine reports on it: a request in flight (PendingCancel,
        PendingReplace), or the working status again after a refused cancel or replace."""
        row = self._rows.get(client_order_id)
        if row is None or self.status(row) in TERMINAL:
            return
        self.columns.set(row, "status", _STATUS_CODE[status])
        self.version += 1

    def apply(self, report: ExecutionReport, *, new_fill: bool = True) -> int:
        """Bring the order's row up to ``report``; returns the row. A TRADE report's fill adds to the order's
        average price, and a TRADE_CANCEL report's busted fill leaves it, unless ``new_fill`` is False (a fill
        already counted, or a bust of a fill never counted or already taken out)."""
        row = self._rows.get(report.client_order_id)
        if row is None:
            row = self._new_row(report.client_order_id, report.instrument, report.account, report.strategy_id)
            self.columns.set(row, "entered_ns", report.ts_ns)
        if report.order_id and report.order_id != self.order_ids[row]:
            self.order_ids[row] = report.order_id
            self.text_log.append(row)
        if report.reason and report.reason != self.reasons[row]:
            self.reasons[row] = report.reason
            self.text_log.append(row)
        if new_fill:
            self._add_fill_cost(row, report)
        self._write(
            row, report.ts_ns, report.side, report.order_type, report.price, report.quantity, report.cum_qty,
            report.leaves_qty, report.ord_status,
        )  # fmt: skip
        self._track(row, report.instrument, report.client_order_id, report.ord_status)
        self.version += 1
        return row

    def add_fill_cost(self, report: ExecutionReport) -> None:
        """Count a TRADE report's fill in its order's average price, or take a TRADE_CANCEL report's busted fill
        out of it (loaded apart from the order's state, as the snapshots give them); nothing for an unknown
        order."""
        row = self._rows.get(report.client_order_id)
        if row is not None:
            self._add_fill_cost(row, report)
            self.version += 1

    def _add_fill_cost(self, row: int, report: ExecutionReport) -> None:
        cost = fill_cost(report)
        if cost:
            self.columns.set(row, "filled_cost", self.columns.get(row, "filled_cost") + cost)

    def _write(
        self, row: int, ts_ns: Nanos, side: Side, order_type: OrderType, price: Price | None, quantity: Quantity,
        cum_qty: Quantity, leaves_qty: Quantity, status: OrdStatus,
    ) -> None:  # fmt: skip
        columns = self.columns
        columns.set(row, "updated_ns", ts_ns)
        columns.set(row, "side", _SIDE_CODE[side])
        columns.set(row, "order_type", _TYPE_CODE[order_type])
        columns.set(row, "price", NO_PRICE if price is None else price)
        columns.set(row, "quantity", quantity)
        columns.set(row, "cum_qty", cum_qty)
        columns.set(row, "leaves_qty", leaves_qty)
        columns.set(row, "status", _STATUS_CODE[status])

    def _track(self, row: int, instrument: str, client_order_id: str, status: OrdStatus) -> None:
        working = self._working.setdefault(instrument, {})
        if status in TERMINAL:
            working.pop(client_order_id, None)
        else:
            working[client_order_id] = row

    # --- reading -----------------------------------------------------------------------------------------------

    def status(self, row: int) -> OrdStatus:
        return STATUSES[self.columns.get(row, "status")]

    def order_type(self, row: int) -> OrderType:
        return ORDER_TYPES[self.columns.get(row, "order_type")]

    def price(self, row: int) -> Price | None:
        value = self.columns.get(row, "price")
        return None if value == NO_PRICE else value

    def average_price(self, row: int) -> tuple[int, int] | None:
        """The average fill price as the exact fraction ``(filled cost, filled quantity)``, or None unfilled."""
        filled = self.columns.get(row, "cum_qty")
        return None if filled == 0 else (self.columns.get(row, "filled_cost"), filled)

    def working(self, instrument: str) -> list[WorkingOrder]:
        """The orders of ``instrument`` not yet finished (pending ones included)."""
        rows = self._working.get(instrument, {})
        return [
            WorkingOrder(client_order_id, self.side(row), self.price(row), self.columns.get(row, "leaves_qty"),
                         self.status(row))
            for client_order_id, row in rows.items()
        ]  # fmt: skip

    def working_ids(self) -> list[str]:
        """Client order ids of every unfinished order."""
        return [client_order_id for rows in self._working.values() for client_order_id in rows]

    def search_texts(self) -> list[str]:
        """Per row, its client order id, order id and reason lower-cased in one line, for free-text filters.

        Built on first use, then kept current: new rows are added and rows in :attr:`text_log` rewritten.
        """
        search = self._search
        log = self.text_log
        for row in set(log[self._search_logged :]):
            if row < len(search):
                search[row] = self._search_line(row)
        self._search_logged = len(log)
        if len(search) < len(self):
            start = len(search)
            search.extend(
                f"{client_order_id}\n{order_id}\n{reason}".lower()
                for client_order_id, order_id, reason in zip(
                    self.client_order_ids[start:], self.order_ids[start:], self.reasons[start:], strict=True
                )
            )
        return search

    def _search_line(self, row: int) -> str:
        return f"{self.client_order_ids[row]}\n{self.order_ids[row]}\n{self.reasons[row]}".lower()

    def extend(
        self,
        columns: Mapping[str, npt.ArrayLike],
        *,
        client_order_ids: Sequence[str],
        order_ids: Sequence[str],
        reasons: Sequence[str],
    ) -> range:
        """Append many orders at once (history loads, synthetic tables for benchmarks); returns the new rows.

        ``columns`` holds :data:`ORDER_COLUMNS` arrays with categorical values already coded (``instruments.code``,
        ``accounts.code``, ``strategies.code``, and indexes into :data:`SIDES`, :data:`ORDER_TYPES`,
        :data:`STATUSES`). Client order ids must be new.
        """
        count = len(client_order_ids)
        if len(order_ids) != count or len(reasons) != count:
            raise ValueError("client_order_ids, order_ids and reasons must have one value per row")
        rows = self.columns.extend(columns, count)
        self.client_order_ids.extend(client_order_ids)
        self.order_ids.extend(order_ids)
        self.reasons.extend(reasons)
        self._rows.update(zip(client_order_ids, rows, strict=True))
        statuses = self.columns.column("status")[rows.start :]
        for offset in np.flatnonzero(~np.isin(statuses, TERMINAL_CODES)).tolist():
            row = rows.start + offset
            self._working.setdefault(self.instrument(row), {})[self.client_order_ids[row]] = row
        self.version += 1
        return rows


EXECUTION_COLUMNS = (
    "ts_ns", "instrument", "account", "strategy", "side", "price", "quantity", "fee", "liquidity", "busted",
)  # fmt: skip


class ExecutionTable(_CodedTable):
    """One row per fill, in arrival order; a fill seen twice (snapshot and stream) is kept once. A busted fill
    keeps its row, marked busted (``busted`` 1)."""

    def __init__(self) -> None:
        super().__init__(EXECUTION_COLUMNS)
        self.exec_ids: list[str] = []
        self.client_order_ids: list[str] = []
        self._rows: dict[str, int] = {}
        self._search: list[str] = []

    def apply(self, report: ExecutionReport) -> bool:
        """Add the fill of a TRADE report, or mark busted the fill a TRADE_CANCEL report names; False for anything
        else, a fill already kept, and a bust of a fill not kept or already marked."""
        if report.exec_type is ExecType.TRADE_CANCEL:
            return self._bust(report.ref_exec_id)
        if report.exec_type is not ExecType.TRADE or report.last_price is None or report.exec_id in self._rows:
            return False
        columns = self.columns
        row = columns.add_row()
        self._rows[report.exec_id] = row
        columns.set(row, "ts_ns", report.ts_ns)
        columns.set(row, "instrument", self.instruments.code(report.instrument))
        columns.set(row, "account", self.accounts.code(report.account))
        columns.set(row, "strategy", self.strategies.code(report.strategy_id or ""))
        columns.set(row, "side", _SIDE_CODE[report.side])
        columns.set(row, "price", report.last_price)
        columns.set(row, "quantity", report.last_qty)
        columns.set(row, "fee", report.fee)
        columns.set(row, "liquidity", _LIQUIDITY_CODE[report.liquidity])
        self.exec_ids.append(report.exec_id)
        self.client_order_ids.append(report.client_order_id)
        self.version += 1
        return True

    def _bust(self, exec_id: str) -> bool:
        row = self._rows.get(exec_id)
        if row is None or self.busted(row):
            return False
        self.columns.set(row, "busted", 1)
        self.version += 1
        return True

    def liquidity(self, row: int) -> Liquidity:
        return LIQUIDITIES[self.columns.get(row, "liquidity")]

    def busted(self, row: int) -> bool:
        """Whether the venue broke the fill of ``row``."""
        return bool(self.columns.get(row, "busted"))

    def search_texts(self) -> list[str]:
        """Per row, its execution id and client order id lower-cased in one line, for free-text filters."""
        search = self._search
        if len(search) < len(self):
            start = len(search)
            search.extend(
                f"{exec_id}\n{client_order_id}".lower()
                for exec_id, client_order_id in zip(self.exec_ids[start:], self.client_order_ids[start:], strict=True)
            )
        return search

    def extend(
        self, columns: Mapping[str, npt.ArrayLike], *, exec_ids: Sequence[str], client_order_ids: Sequence[str]
    ) -> range:
        """Append many fills at once (history loads, synthetic tables for benchmarks); returns the new rows.

        ``columns`` holds :data:`EXECUTION_COLUMNS` arrays with categorical values already coded. Execution ids
        must be new.
        """
        count = len(exec_ids)
        if len(client_order_ids) != count:
            raise ValueError("exec_ids and client_order_ids must have one value per row")
        rows = self.columns.extend(columns, count)
        self.exec_ids.extend(exec_ids)
        self.client_order_ids.extend(client_order_ids)
        self._rows.update(zip(exec_ids, rows, strict=True))
        self.version += 1
        return rows
