"""What the blotter shows: the rows of a table that pass its filters, in its sort order, as one numpy index array.

Everything here is vectorised over the table's columns (a million rows filter and sort in tens of milliseconds);
only the free-text filter looks at strings, through the table's cached lower-case search lines.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from core.enums import OrdStatus, Side
from workstation.plugins.blotter.columns import ColumnSet, Table
from workstation.state.orders import SIDES, STATUSES, TERMINAL_CODES, ExecutionTable, Interner, OrderTable

WORKING = "working"
"""Status filter: orders not finished (pending ones included)."""
DONE = "done"
"""Status filter: filled, canceled, rejected and expired orders."""

Rows = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class BlotterFilter:
    """Which rows to show. ``status`` is :data:`WORKING`, :data:`DONE` or an :class:`OrdStatus` (orders only);
    ``text`` is whitespace-separated terms that must all appear (case-insensitive) in an id, the instrument,
    the account, the strategy or the reject/cancel text."""

    instrument: str | None = None
    side: Side | None = None
    status: str | None = None
    text: str = ""


@dataclass(frozen=True, slots=True)
class BlotterSort:
    """The sort order: by column index (None: the order rows arrived in), ascending or descending; always stable."""

    column: int | None = None
    descending: bool = False


def _matching_codes(interner: Interner[str], term: str) -> list[int]:
    return [code for code, value in enumerate(interner.values) if term in value.lower()]


def _text_mask(
    rows: Rows, count: int, term: str, texts: Sequence[str], categories: Sequence[tuple[Interner[str], Rows]]
) -> npt.NDArray[np.bool_]:
    """Which of ``rows`` contain ``term`` in their search line or in one of their categorical values."""
    if len(rows) * 4 < count:
        found = np.fromiter((term in texts[row] for row in rows.tolist()), dtype=np.bool_, count=len(rows))
    else:
        lines = texts if len(texts) == count else texts[:count]
        every = np.fromiter((term in line for line in lines), dtype=np.bool_, count=count)
        found = every[rows]
    for interner, codes in categories:
        matching = _matching_codes(interner, term)
        if matching:
            found |= np.isin(codes[rows], matching)
    return found


def _order_mask(table: OrderTable, count: int, view: BlotterFilter) -> npt.NDArray[np.bool_] | None:
    """The rows passing the categorical filters (None: every row); an empty mask when nothing can match."""
    columns = table.columns
    mask: npt.NDArray[np.bool_] | None = None

    def narrow(condition: npt.NDArray[np.bool_]) -> None:
        nonlocal mask
        mask = condition if mask is None else mask & condition

    if view.instrument is not None:
        code = table.instruments.find(view.instrument)
        narrow(columns.column("instrument")[:count] == (-1 if code is None else code))
    if view.side is not None:
        narrow(columns.column("side")[:count] == SIDES.index(view.side))
    if view.status is not None:
        statuses = columns.column("status")[:count]
        if view.status == WORKING:
            narrow(~np.isin(statuses, TERMINAL_CODES))
        elif view.status == DONE:
            narrow(np.isin(statuses, TERMINAL_CODES))
        else:
            narrow(statuses == STATUSES.index(OrdStatus(view.status)))
    return mask


def _execution_mask(table: ExecutionTable, count: int, view: BlotterFilter) -> npt.NDArray[np.bool_] | None:
    columns = table.columns
    mask: npt.NDArray[np.bool_] | None = None
    if view.instrument is not None:
        code = table.instruments.find(view.instrument)
        mask = columns.column("instrument")[:count] == (-1 if code is None else code)
    if view.side is not None:
        side = columns.column("side")[:count] == SIDES.index(view.side)
        mask = side if mask is None else mask & side
    return mask


def stable_order(keys: npt.NDArray[np.generic], descending: bool) -> Rows:
    """Positions that order ``keys`` ascending or descending; equal keys keep their order in both directions.

    Integer keys of a moderate range are packed with their position into one int64 and sorted in place, several
    times faster than a stable argsort; other keys take the stable argsort.
    """
    count = len(keys)
    if count == 0:
        return np.empty(0, dtype=np.int64)
    if keys.dtype.kind in "iu":
        low, high = int(keys.min()), int(keys.max())
        if (high - low + 1) * count < 2**62:
            shifted = (high - keys) if descending else (keys - low)
            packed = shifted.astype(np.int64) * count + np.arange(count, dtype=np.int64)
            packed.sort()
            return packed % count
    if not descending:
        return np.argsort(keys, kind="stable").astype(np.int64)
    backwards = np.argsort(keys[::-1], kind="stable")[::-1]
    return (count - 1 - backwards).astype(np.int64)


def select_rows(table: Table, columns: ColumnSet[Table], view: BlotterFilter, sort: BlotterSort) -> Rows:
    """The rows of ``table`` to show, filtered by ``view`` and ordered by ``sort``."""
    count = len(table)
    mask = _order_mask(table, count, view) if isinstance(table, OrderTable) else _execution_mask(table, count, view)
    rows: Rows = np.arange(count, dtype=np.int64) if mask is None else np.flatnonzero(mask).astype(np.int64)
    terms = view.text.lower().split()
    if terms and len(rows):
        texts = table.search_texts()
        table_columns = table.columns
        categories = [
            (table.instruments, table_columns.column("instrument")[:count]),
            (table.accounts, table_columns.column("account")[:count]),
            (table.strategies, table_columns.column("strategy")[:count]),
        ]
        for term in terms:
            rows = rows[_text_mask(rows, count, term, texts, categories)]
    if sort.column is None:
        return rows[::-1].copy() if sort.descending else rows
    keys = columns[sort.column].key(table, count)[rows]
    return rows[stable_order(keys, sort.descending)]
