"""Virtual Qt table models over the columnar order and execution tables.

A model never copies rows: it holds the index array of the rows shown (:func:`select_rows`) and reads each cell
from the table's columns when the view paints it, in O(1). The index array is recomputed in :meth:`refresh`
(once per display frame at most), only when the table's ``version`` or the filter or sort changed; selections
follow their rows across re-sorts.
"""

from __future__ import annotations

import csv
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
from PySide6 import QtCore, QtGui

from core.enums import OrdStatus, Side
from core.instruments import Instrument
from workstation.plugins.blotter.columns import ColumnSet, ExecutionColumns, OrderColumns
from workstation.plugins.blotter.views import BlotterFilter, BlotterSort, Rows, select_rows
from workstation.state.orders import PENDING, ExecutionTable, OrderTable
from workstation.theme import Theme

Qt = QtCore.Qt
_ALIGN = {
    "left": Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
    "right": Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
    "center": Qt.AlignmentFlag.AlignCenter,
}
TABLE_ROW_ROLE = Qt.ItemDataRole.UserRole + 1
"""Data role giving the table row behind a view row."""

_WORKING_STATUSES = frozenset({OrdStatus.NEW, OrdStatus.PARTIALLY_FILLED, OrdStatus.REPLACED})
_GREYED_STATUSES = frozenset({OrdStatus.CANCELED, OrdStatus.EXPIRED})
_BUSY_SHARE = 0.25
"""Live re-sorts of a huge table may use at most this share of the time (the rest stays with the user)."""


class BlotterModel(QtCore.QAbstractTableModel):
    """The rows of one columnar table the filter lets through, in the sort order, read cell by cell."""

    def __init__(
        self, table: OrderTable | ExecutionTable, columns: ColumnSet[Any], theme: Theme,
        parent: QtCore.QObject | None = None,
    ) -> None:  # fmt: skip
        super().__init__(parent)
        self.table = table
        self.columns = columns
        self.theme = theme
        self._rows: Rows = np.empty(0, dtype=np.int64)
        self._filter = BlotterFilter()
        self._sort = BlotterSort()
        self._seen_version = -1
        self._dirty = True
        self._hold_until = 0.0
        self._colours = {role: theme.colour(role) for role in ("foreground", "muted", "buy", "sell", "pending",
                                                               "reject", "profit", "own_order", "warning")}  # fmt: skip
        self.last_compute_ms = 0.0
        """How long the latest recomputation of the shown rows took."""

    # --- what is shown -------------------------------------------------------------------------------------------

    @property
    def rows(self) -> Rows:
        """The table rows shown, in display order (read-only)."""
        return self._rows

    @property
    def view_filter(self) -> BlotterFilter:
        return self._filter

    def set_filter(self, view: BlotterFilter) -> None:
        """Show only the rows ``view`` lets through (from the next :meth:`refresh`)."""
        if view != self._filter:
            self._filter = view
            self._dirty = True

    @property
    def sort_order(self) -> BlotterSort:
        return self._sort

    def set_sort(self, sort: BlotterSort) -> None:
        """Order the rows by ``sort`` (from the next :meth:`refresh`)."""
        if sort != self._sort:
            self._sort = sort
            self._dirty = True

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        """Qt's header click: sort by ``column``; no column (a cleared sort indicator) shows the newest first."""
        if column < 0:
            self.set_sort(BlotterSort(None, descending=True))
        else:
            self.set_sort(BlotterSort(column, order == Qt.SortOrder.DescendingOrder))

    def table_row(self, view_row: int) -> int:
        """The table row shown at ``view_row``."""
        return int(self._rows[view_row])

    def refresh(self, *, force: bool = False) -> bool:
        """Recompute the rows shown when the table, filter or sort changed; True when the rows were recomputed.

        A table changing continuously is re-sorted at most once per frame and, when that takes long (a million
        rows), only as often as keeps it to a quarter of the time.
        """
        changed = self.table.version != self._seen_version
        if not (self._dirty or changed):
            return False
        if not self._dirty and not force and time.perf_counter() < self._hold_until:
            return False
        started = time.perf_counter()
        self._seen_version = self.table.version
        self._dirty = False
        rows = select_rows(self.table, self.columns, self._filter, self._sort)
        self._show(rows)
        elapsed = time.perf_counter() - started
        self.last_compute_ms = elapsed * 1e3
        self._hold_until = started + elapsed / _BUSY_SHARE if elapsed > 0.01 else 0.0
        return True

    def _show(self, rows: Rows) -> None:
        old = self._rows
        if len(old) == len(rows) and np.array_equal(old, rows):
            if len(rows):
                bottom_right = self.index(len(rows) - 1, len(self.columns) - 1)
                self.dataChanged.emit(self.index(0, 0), bottom_right)
            return
        self.layoutAboutToBeChanged.emit()
        persistent = self.persistentIndexList()
        table_rows = [int(old[index.row()]) if 0 <= index.row() < len(old) else -1 for index in persistent]
        self._rows = rows
        if persistent:
            position = np.full(len(self.table) + 1, -1, dtype=np.int64)
            position[rows] = np.arange(len(rows), dtype=np.int64)
            moved = [
                self.index(int(position[row]), index.column()) if row >= 0 and position[row] >= 0
                else QtCore.QModelIndex()
                for row, index in zip(table_rows, persistent, strict=True)
            ]  # fmt: skip
            self.changePersistentIndexList(persistent, moved)
        self.layoutChanged.emit()

    # --- Qt model ------------------------------------------------------------------------------------------------

    def rowCount(self, parent: QtCore.QModelIndex | QtCore.QPersistentModelIndex = QtCore.QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: QtCore.QModelIndex | QtCore.QPersistentModelIndex = QtCore.QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.columns)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and 0 <= section < len(self.columns):
            column = self.columns[section]
            if role == Qt.ItemDataRole.DisplayRole:
                return column.title
            if role == Qt.ItemDataRole.TextAlignmentRole:
                return _ALIGN[column.align]
            if role == Qt.ItemDataRole.InitialSortOrderRole and column.kind == "time":
                return Qt.SortOrder.DescendingOrder  # a first click on a time shows the latest first
        return None

    def data(
        self, index: QtCore.QModelIndex | QtCore.QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        view_row = index.row()
        if not index.isValid() or view_row >= len(self._rows):
            return None
        row = int(self._rows[view_row])
        column = self.columns[index.column()]
        if role == Qt.ItemDataRole.DisplayRole:
            return column.text(self.table, row)
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return _ALIGN[column.align]
        if role == Qt.ItemDataRole.ForegroundRole:
            return self.colour(row, column.name)
        if role == Qt.ItemDataRole.ToolTipRole and column.kind == "text":
            return column.text(self.table, row) or None
        if role == TABLE_ROW_ROLE:
            return row
        return None

    def colour(self, row: int, column: str) -> QtGui.QColor | None:
        """The text colour of a cell (None: the view's default)."""
        side = self.table.side(row)
        if column == "side":
            return self._colours["buy" if side is Side.BUY else "sell"]
        return None

    # --- export --------------------------------------------------------------------------------------------------

    def export_csv(self, path: str | Path) -> int:
        """Write the rows shown, in display order, with a header row; returns the number of rows written.

        Columns are those shown; prices are decimal text at tick precision, times dates to the microsecond.
        """
        columns = self.columns.columns
        table = self.table
        with Path(path).open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow([column.title for column in columns])
            for row in self._rows.tolist():
                writer.writerow([column.csv(table, row) for column in columns])
        return len(self._rows)


class OrderModel(BlotterModel):
    """The orders tab: one row per order, coloured by status (working, filled, pending and done greyed,
    rejected red)."""

    def __init__(
        self, table: OrderTable, instruments: Mapping[str, Instrument], theme: Theme,
        parent: QtCore.QObject | None = None,
    ) -> None:  # fmt: skip
        self.order_columns = OrderColumns(table, instruments)
        super().__init__(table, self.order_columns, theme, parent)
        self.orders = table

    def colour(self, row: int, column: str) -> QtGui.QColor | None:
        status = self.orders.status(row)
        if status is OrdStatus.REJECTED:
            return self._colours["reject"]
        if status in PENDING:
            return self._colours["pending"]
        if status in _GREYED_STATUSES:
            return self._colours["muted"]
        if column == "status":
            return self._colours["profit" if status is OrdStatus.FILLED else "own_order"]
        return super().colour(row, column)

    def client_order_id(self, view_row: int) -> str:
        """The client order id shown at ``view_row``."""
        return self.orders.client_order_ids[self.table_row(view_row)]

    def is_working(self, view_row: int) -> bool:
        """Whether the order at ``view_row`` can still be cancelled."""
        status = self.orders.status(self.table_row(view_row))
        return status in _WORKING_STATUSES or status is OrdStatus.PENDING_NEW or status is OrdStatus.PENDING_REPLACE


class ExecutionModel(BlotterModel):
    """The executions tab: one row per fill, side in the buy/sell colours; a busted fill greyed and struck
    through, its status in the reject colour."""

    def __init__(
        self, table: ExecutionTable, instruments: Mapping[str, Instrument], theme: Theme,
        parent: QtCore.QObject | None = None,
    ) -> None:  # fmt: skip
        super().__init__(table, ExecutionColumns(table, instruments), theme, parent)
        self.executions = table
        self._struck = QtGui.QFont()
        self._struck.setStrikeOut(True)

    def data(
        self, index: QtCore.QModelIndex | QtCore.QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if role == Qt.ItemDataRole.FontRole and index.isValid() and index.row() < len(self.rows):
            busted = self.executions.busted(self.table_row(index.row()))
            return self._struck if busted and self.columns[index.column()].name != "status" else None
        return super().data(index, role)

    def colour(self, row: int, column: str) -> QtGui.QColor | None:
        if self.executions.busted(row):
            return self._colours["reject" if column == "status" else "muted"]
        return super().colour(row, column)
