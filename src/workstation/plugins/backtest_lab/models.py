"""A virtual table model over rows of :class:`results.Cell`: text, theme colour, numbers aligned right."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from PySide6 import QtCore, QtGui, QtWidgets

from workstation.plugins.backtest_lab.results import Cell
from workstation.theme import Theme
from workstation.widgets import Selection, dense_table

_RIGHT = QtCore.Qt.AlignmentFlag.AlignRight | QtCore.Qt.AlignmentFlag.AlignVCenter
_LEFT = QtCore.Qt.AlignmentFlag.AlignLeft | QtCore.Qt.AlignmentFlag.AlignVCenter
Index = QtCore.QModelIndex | QtCore.QPersistentModelIndex


class CellTableModel(QtCore.QAbstractTableModel):
    """Rows of cells under a header; replaced whole with :meth:`set_rows` (tables here change per run)."""

    def __init__(self, theme: Theme, headers: Sequence[str] = (), parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self._theme = theme
        self._headers: list[str] = list(headers)
        self._rows: list[tuple[Cell, ...]] = []
        self._brushes: dict[str, QtGui.QBrush] = {}

    def set_rows(self, rows: Sequence[Sequence[Cell]], headers: Sequence[str] | None = None) -> None:
        """Show ``rows`` (and new ``headers`` when given)."""
        self.beginResetModel()
        if headers is not None:
            self._headers = list(headers)
        self._rows = [tuple(row) for row in rows]
        self.endResetModel()

    def cell(self, row: int, column: int) -> Cell:
        """The cell at ``row``, ``column``."""
        return self._rows[row][column]

    def rowCount(self, parent: Index = QtCore.QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QtCore.QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(self._headers)

    def headerData(
        self, section: int, orientation: QtCore.Qt.Orientation, role: int = QtCore.Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation == QtCore.Qt.Orientation.Horizontal and 0 <= section < len(self._headers):
            if role == QtCore.Qt.ItemDataRole.DisplayRole:
                return self._headers[section]
            if role == QtCore.Qt.ItemDataRole.TextAlignmentRole:
                numeric = bool(self._rows) and section < len(self._rows[0]) and self._rows[0][section].numeric
                return _RIGHT if numeric else _LEFT
        return None

    def data(self, index: Index, role: int = QtCore.Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or index.row() >= len(self._rows) or index.column() >= len(self._rows[index.row()]):
            return None
        cell = self._rows[index.row()][index.column()]
        if role == QtCore.Qt.ItemDataRole.DisplayRole:
            return cell.text
        if role == QtCore.Qt.ItemDataRole.ForegroundRole and cell.tone:
            brush = self._brushes.get(cell.tone)
            if brush is None:
                brush = self._brushes[cell.tone] = QtGui.QBrush(self._theme.colour(cell.tone))
            return brush
        if role == QtCore.Qt.ItemDataRole.TextAlignmentRole:
            return _RIGHT if cell.numeric else _LEFT
        return None


def table_view(model: QtCore.QAbstractItemModel, *, selectable: bool = False) -> QtWidgets.QTableView:
    """A dense, read-only table view of ``model`` (rows selectable when asked)."""
    view = dense_table(
        model, selection=Selection.ExtendedSelection if selectable else Selection.NoSelection, row_height=20
    )
    view.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
    view.setHorizontalScrollMode(QtWidgets.QAbstractItemView.ScrollMode.ScrollPerPixel)
    return view
