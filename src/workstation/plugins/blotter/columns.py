"""The blotter's columns: for each, its title, how a cell reads, and how a million rows sort by it.

A column reads one cell in O(1) from the columnar tables (:class:`OrderTable`, :class:`ExecutionTable`) and gives
a numpy sort key over every row at once: numbers sort by their column, categorical values (instrument, account,
strategy, side, type, status) by the rank of their text among the codes in use, free text (ids, reasons) by cached
natural-order integer keys. No Qt here: the models and the benchmark share these.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import Enum
from typing import Generic, Literal, TypeVar

import numpy as np
import numpy.typing as npt

from core.enums import Liquidity, OrderType, OrdStatus, Side
from core.instruments import Instrument
from engine.text import decimal_text, money_cents, price_text, tick_decimals
from workstation.state.orders import (
    LIQUIDITIES,
    NO_PRICE,
    ORDER_TYPES,
    SIDES,
    STATUSES,
    ExecutionTable,
    Interner,
    OrderTable,
)
from workstation.widgets import datetime_text, time_text

Align = Literal["left", "right", "center"]
Kind = Literal["time", "text", "category", "number", "price"]

SIDE_TEXT = {Side.BUY: "Buy", Side.SELL: "Sell"}
TYPE_TEXT = {OrderType.LIMIT: "Limit", OrderType.MARKET: "Market"}
LIQUIDITY_TEXT = {Liquidity.MAKER: "Maker", Liquidity.TAKER: "Taker", Liquidity.NONE: "-"}
STATUS_TEXT = {
    OrdStatus.PENDING_NEW: "Pending New",
    OrdStatus.NEW: "New",
    OrdStatus.PARTIALLY_FILLED: "Partial",
    OrdStatus.REPLACED: "Replaced",
    OrdStatus.PENDING_CANCEL: "Pending Cancel",
    OrdStatus.PENDING_REPLACE: "Pending Replace",
    OrdStatus.FILLED: "Filled",
    OrdStatus.CANCELED: "Canceled",
    OrdStatus.REJECTED: "Rejected",
    OrdStatus.EXPIRED: "Expired",
}
"""Status names as the blotter shows them, in the order the status filter lists them."""

Table = TypeVar("Table", OrderTable, ExecutionTable)
E = TypeVar("E", bound=Enum)


def _ranks(texts: Sequence[str], *, fold_case: bool = False) -> npt.NDArray[np.int64]:
    """``rank[code]``: the position of ``texts[code]`` in case-insensitive alphabetical order.

    With ``fold_case``, texts equal but for case share a rank (their rows then keep their arrival order).
    """
    order = sorted(range(len(texts)), key=lambda code: (texts[code].lower(), texts[code]))
    rank = np.zeros(max(1, len(texts)), dtype=np.int64)
    if not fold_case:
        rank[np.asarray(order, dtype=np.int64)] = np.arange(len(order), dtype=np.int64)
        return rank
    position, previous = -1, None
    for code in order:
        folded = texts[code].lower()
        if folded != previous:
            position, previous = position + 1, folded
        rank[code] = position
    return rank


def _enum_ranks(members: Sequence[E], labels: Mapping[E, str]) -> npt.NDArray[np.int64]:
    return _ranks([labels.get(member, str(member.name)) for member in members])


_SIDE_RANK = _enum_ranks(SIDES, SIDE_TEXT)
_TYPE_RANK = _enum_ranks(ORDER_TYPES, TYPE_TEXT)
_STATUS_RANK = _enum_ranks(STATUSES, STATUS_TEXT)
_LIQUIDITY_RANK = _enum_ranks(LIQUIDITIES, LIQUIDITY_TEXT)


_DIGITS = "0123456789"
_NUMBER_LIMIT = 10**18


def _split_number(text: str) -> tuple[str, int]:
    """``("DSK-", 12)`` for ``"DSK-12"``: the text before its trailing digits and their value (-1: no digits)."""
    prefix = text.rstrip(_DIGITS)
    digits = text[len(prefix) :]
    return prefix, (min(int(digits), _NUMBER_LIMIT) if digits else -1)


class TextKeys:
    """Integer sort keys for a text column (a list of str) in natural order, for sorting a million rows by text.

    Each text is split into the part before its trailing digits (interned, ranked case-insensitively) and the
    number those digits make, so ``DSK-9`` sorts before ``DSK-10``. Parsed once per row as the table grows;
    rows named in the table's ``text_log`` (order ids and reasons change after the row is added) are parsed again.
    """

    def __init__(self, texts: Callable[[], list[str]], log: Callable[[], Sequence[int]] | None = None) -> None:
        self._texts = texts
        self._log = log
        self._prefixes: Interner[str] = Interner()
        self._prefix_codes: npt.NDArray[np.int64] = np.empty(0, dtype=np.int64)
        self._numbers: npt.NDArray[np.int64] = np.empty(0, dtype=np.int64)
        self._size = 0
        self._logged = 0
        self._rank: npt.NDArray[np.int64] = np.empty(0, dtype=np.int64)
        self._ranked = -1

    def _store(self, row: int, text: str) -> None:
        prefix, number = _split_number(text)
        self._prefix_codes[row] = self._prefixes.code(prefix)
        self._numbers[row] = number

    def _grow(self, count: int) -> None:
        capacity = max(1024, 2 * len(self._numbers), count)
        for name in ("_prefix_codes", "_numbers"):
            grown = np.zeros(capacity, dtype=np.int64)
            grown[: self._size] = getattr(self, name)[: self._size]
            setattr(self, name, grown)

    def keys(self, count: int) -> npt.NDArray[np.int64]:
        """Sort keys of the first ``count`` texts (equal texts, up to case and leading zeros, get equal keys)."""
        texts = self._texts()
        if self._log is not None:
            log = self._log()
            for row in set(log[self._logged :]):
                if row < self._size:
                    self._store(row, texts[row])
            self._logged = len(log)
        if count > self._size:
            if count > len(self._numbers):
                self._grow(count)
            chunk = texts[self._size : count]
            prefixes = [text.rstrip(_DIGITS) for text in chunk]
            pairs = zip(chunk, prefixes, strict=True)
            try:
                numbers = np.fromiter((int(text[len(prefix) :] or -1) for text, prefix in pairs), np.int64, len(chunk))
            except OverflowError:
                numbers = np.array([_split_number(text)[1] for text in chunk], dtype=np.int64)
            self._numbers[self._size : count] = numbers
            self._prefix_codes[self._size : count] = np.fromiter(
                map(self._prefixes.code, prefixes), np.int64, len(chunk)
            )
            self._size = count
        if self._ranked != len(self._prefixes.values):
            self._rank = _ranks(self._prefixes.values, fold_case=True)
            self._ranked = len(self._prefixes.values)
        prefix_rank = self._rank[self._prefix_codes[:count]]
        numbers = self._numbers[:count] + 1
        top = int(numbers.max()) + 1 if count else 1
        if len(self._rank) * top < 2**62:
            return prefix_rank * top + numbers
        # Numbers too large to pack beside the prefix: dense ranks of (prefix, number) pairs instead.
        order = np.lexsort((numbers, prefix_rank))
        ordered_prefix, ordered_number = prefix_rank[order], numbers[order]
        step = np.ones(count, dtype=np.int64)
        step[1:] = (ordered_prefix[1:] != ordered_prefix[:-1]) | (ordered_number[1:] != ordered_number[:-1])
        keys = np.empty(count, dtype=np.int64)
        keys[order] = np.cumsum(step)
        return keys


@dataclass(frozen=True, slots=True)
class Column(Generic[Table]):
    """One column of a blotter table.

    ``text(table, row)`` is the cell as shown; ``export(table, row)`` the CSV value (dates included for times);
    ``key(table, count)`` a sort key per row (any numpy dtype argsort orders as the column should).
    """

    name: str
    title: str
    kind: Kind
    text: Callable[[Table, int], str]
    key: Callable[[Table, int], npt.NDArray[np.generic]]
    align: Align = "left"
    export: Callable[[Table, int], str] | None = None
    sample: str = ""
    """A typical wide value, to size the column."""

    def csv(self, table: Table, row: int) -> str:
        """The value written to a CSV export."""
        return (self.export or self.text)(table, row)


def average_price_text(instrument: Instrument | None, cost: int, quantity: int) -> str:
    """An average fill price (exact fraction ``cost / quantity`` of ticks) at tick precision plus two decimals."""
    if quantity == 0:
        return ""
    if instrument is None:
        return decimal_text(Decimal(cost) / Decimal(quantity))
    if cost % quantity == 0:
        return price_text(instrument, cost // quantity)
    decimals = tick_decimals(instrument) + 2
    value = (Decimal(cost) / Decimal(quantity)).scaleb(-instrument.price_scale)
    text = str(value.quantize(Decimal(1).scaleb(-decimals)))
    # Keep the tick's decimals; drop the extra ones when they are zeros.
    return text.rstrip("0") if "." in text and len(text.split(".")[1]) > tick_decimals(instrument) else text


class ColumnSet(Generic[Table]):
    """The columns of one table and the per-table caches their sort keys need."""

    def __init__(self, columns: Sequence[Column[Table]]) -> None:
        self.columns: tuple[Column[Table], ...] = tuple(columns)

    def __len__(self) -> int:
        return len(self.columns)

    def __getitem__(self, index: int) -> Column[Table]:
        return self.columns[index]

    def index(self, name: str) -> int:
        """The position of the column called ``name``."""
        for position, column in enumerate(self.columns):
            if column.name == name:
                return position
        raise KeyError(name)


def _category_key(
    interner: Callable[[Table], Interner[str]], column: str
) -> Callable[[Table, int], npt.NDArray[np.generic]]:
    def key(table: Table, count: int) -> npt.NDArray[np.generic]:
        codes = table.columns.column(column)[:count]
        return _ranks(interner(table).values)[codes]

    return key


def _int_key(column: str) -> Callable[[OrderTable | ExecutionTable, int], npt.NDArray[np.generic]]:
    def key(table: OrderTable | ExecutionTable, count: int) -> npt.NDArray[np.generic]:
        return table.columns.column(column)[:count]

    return key


def _ranked_key(
    column: str, rank: npt.NDArray[np.int64]
) -> Callable[[OrderTable | ExecutionTable, int], npt.NDArray[np.generic]]:
    def key(table: OrderTable | ExecutionTable, count: int) -> npt.NDArray[np.generic]:
        return rank[table.columns.column(column)[:count]]

    return key


class OrderColumns(ColumnSet[OrderTable]):
    """The orders tab: times, ids, account, instrument, side, type, price, quantities, average, status, text."""

    def __init__(self, table: OrderTable, instruments: Mapping[str, Instrument]) -> None:
        self.table = table
        self.instruments = instruments
        self._client_order_ids = TextKeys(lambda: table.client_order_ids)
        self._order_ids = TextKeys(lambda: table.order_ids, lambda: table.text_log)
        self._reasons = TextKeys(lambda: table.reasons, lambda: table.text_log)
        super().__init__(self._build())

    def instrument_of(self, table: OrderTable, row: int) -> Instrument | None:
        return self.instruments.get(table.instrument(row))

    def _price(self, table: OrderTable, row: int) -> str:
        price = table.columns.get(row, "price")
        if price == NO_PRICE:
            return "MKT"
        instrument = self.instrument_of(table, row)
        return str(price) if instrument is None else price_text(instrument, price)

    def _average(self, table: OrderTable, row: int) -> str:
        columns = table.columns
        return average_price_text(
            self.instrument_of(table, row), columns.get(row, "filled_cost"), columns.get(row, "cum_qty")
        )

    @staticmethod
    def _average_key(table: OrderTable, count: int) -> npt.NDArray[np.generic]:
        """The average price in 1/256 ticks (integers sort fastest); -1 for orders without fills."""
        filled = table.columns.column("cum_qty")[:count]
        cost = table.columns.column("filled_cost")[:count]
        return np.where(filled > 0, (cost * 256) // np.maximum(filled, 1), -1)

    def _build(self) -> list[Column[OrderTable]]:
        number: Align = "right"
        return [
            Column(
                "entered", "Entered", "time", lambda t, r: time_text(t.columns.get(r, "entered_ns")),
                _int_key("entered_ns"), export=lambda t, r: datetime_text(t.columns.get(r, "entered_ns")),
                sample="00:00:00.000000",
            ),
            Column(
                "updated", "Updated", "time", lambda t, r: time_text(t.columns.get(r, "updated_ns")),
                _int_key("updated_ns"), export=lambda t, r: datetime_text(t.columns.get(r, "updated_ns")),
                sample="00:00:00.000000",
            ),
            Column(
                "client_order_id", "Cl Ord ID", "text", lambda t, r: t.client_order_ids[r],
                lambda t, n: self._client_order_ids.keys(n), sample="DSK0000-000000",
            ),
            Column(
                "order_id", "Order ID", "text", lambda t, r: t.order_ids[r], lambda t, n: self._order_ids.keys(n),
                sample="O-00000000",
            ),
            Column(
                "account", "Account", "category", lambda t, r: t.account(r),
                _category_key(lambda t: t.accounts, "account"), sample="account",
            ),
            Column(
                "instrument", "Instrument", "category", lambda t, r: t.instrument(r),
                _category_key(lambda t: t.instruments, "instrument"), sample="Instrument",
            ),
            Column(
                "side", "Side", "category", lambda t, r: SIDE_TEXT[t.side(r)], _ranked_key("side", _SIDE_RANK),
                sample="Sell",
            ),
            Column(
                "type", "Type", "category", lambda t, r: TYPE_TEXT[t.order_type(r)],
                _ranked_key("order_type", _TYPE_RANK), sample="Market",
            ),
            Column("price", "Price", "price", self._price, _int_key("price"), number, sample="00000.00"),
            Column(
                "quantity", "Qty", "number", lambda t, r: str(t.columns.get(r, "quantity")), _int_key("quantity"),
                number, sample="000000",
            ),
            Column(
                "filled", "Filled", "number", lambda t, r: str(t.columns.get(r, "cum_qty")), _int_key("cum_qty"),
                number, sample="000000",
            ),
            Column(
                "leaves", "Leaves", "number", lambda t, r: str(t.columns.get(r, "leaves_qty")),
                _int_key("leaves_qty"), number, sample="000000",
            ),
            Column("average", "Avg Px", "price", self._average, self._average_key, number, sample="00000.0000"),
            Column(
                "status", "Status", "category", lambda t, r: STATUS_TEXT[t.status(r)],
                _ranked_key("status", _STATUS_RANK), sample="Pending Replace",
            ),
            Column(
                "strategy", "Strategy", "category", lambda t, r: t.strategy(r),
                _category_key(lambda t: t.strategies, "strategy"), sample="market-maker-1",
            ),
            Column(
                "text", "Text", "text", lambda t, r: t.reasons[r], lambda t, n: self._reasons.keys(n),
                sample="price 000.00 outside the band",
            ),
        ]  # fmt: skip


BUSTED_TEXT = "Busted"
"""The executions tab's status of a fill the venue broke (a live fill's status is empty)."""


class ExecutionColumns(ColumnSet[ExecutionTable]):
    """The executions tab: time, ids, account, instrument, side, price, quantity, fee, liquidity, strategy, and
    the status (a busted fill says so; last, so that saved sort columns keep their place)."""

    def __init__(self, table: ExecutionTable, instruments: Mapping[str, Instrument]) -> None:
        self.table = table
        self.instruments = instruments
        self._exec_ids = TextKeys(lambda: table.exec_ids)
        self._client_order_ids = TextKeys(lambda: table.client_order_ids)
        super().__init__(self._build())

    def _price(self, table: ExecutionTable, row: int) -> str:
        price = table.columns.get(row, "price")
        instrument = self.instruments.get(table.instrument(row))
        return str(price) if instrument is None else price_text(instrument, price)

    def _build(self) -> list[Column[ExecutionTable]]:
        number: Align = "right"
        return [
            Column(
                "time", "Time", "time", lambda t, r: time_text(t.columns.get(r, "ts_ns")), _int_key("ts_ns"),
                export=lambda t, r: datetime_text(t.columns.get(r, "ts_ns")), sample="00:00:00.000000",
            ),
            Column(
                "exec_id", "Exec ID", "text", lambda t, r: t.exec_ids[r], lambda t, n: self._exec_ids.keys(n),
                sample="E-00000000",
            ),
            Column(
                "client_order_id", "Cl Ord ID", "text", lambda t, r: t.client_order_ids[r],
                lambda t, n: self._client_order_ids.keys(n), sample="DSK0000-000000",
            ),
            Column(
                "account", "Account", "category", lambda t, r: t.account(r),
                _category_key(lambda t: t.accounts, "account"), sample="account",
            ),
            Column(
                "instrument", "Instrument", "category", lambda t, r: t.instrument(r),
                _category_key(lambda t: t.instruments, "instrument"), sample="Instrument",
            ),
            Column(
                "side", "Side", "category", lambda t, r: SIDE_TEXT[t.side(r)], _ranked_key("side", _SIDE_RANK),
                sample="Sell",
            ),
            Column("price", "Price", "price", self._price, _int_key("price"), number, sample="00000.00"),
            Column(
                "quantity", "Qty", "number", lambda t, r: str(t.columns.get(r, "quantity")), _int_key("quantity"),
                number, sample="000000",
            ),
            Column(
                "fee", "Fee", "number", lambda t, r: money_cents(t.columns.get(r, "fee")), _int_key("fee"), number,
                sample="-0000.00",
            ),
            Column(
                "liquidity", "Liquidity", "category", lambda t, r: LIQUIDITY_TEXT[t.liquidity(r)],
                _ranked_key("liquidity", _LIQUIDITY_RANK), sample="Liquidity",
            ),
            Column(
                "strategy", "Strategy", "category", lambda t, r: t.strategy(r),
                _category_key(lambda t: t.strategies, "strategy"), sample="market-maker-1",
            ),
            Column(
                "status", "Status", "category", lambda t, r: BUSTED_TEXT if t.busted(r) else "", _int_key("busted"),
                sample=BUSTED_TEXT,
            ),
        ]  # fmt: skip
