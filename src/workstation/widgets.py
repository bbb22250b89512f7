"""Small widgets the panels share: the instrument chooser with its link-group button, and text formatting."""

from __future__ import annotations

from datetime import UTC, datetime

from PySide6 import QtCore, QtGui, QtWidgets

from core.numbers import Nanos
from workstation.links import LINK_COLOURS
from workstation.panel import Panel


def time_text(ts_ns: Nanos) -> str:
    """``HH:MM:SS.ffffff`` in UTC: times to the microsecond."""
    seconds, nanos = divmod(ts_ns, 1_000_000_000)
    return f"{datetime.fromtimestamp(seconds, UTC):%H:%M:%S}.{nanos // 1_000:06d}"


def datetime_text(ts_ns: Nanos) -> str:
    """``YYYY-MM-DD HH:MM:SS.ffffff`` in UTC."""
    seconds, nanos = divmod(ts_ns, 1_000_000_000)
    return f"{datetime.fromtimestamp(seconds, UTC):%Y-%m-%d %H:%M:%S}.{nanos // 1_000:06d}"


Selection = QtWidgets.QAbstractItemView.SelectionMode


def dense_table(
    model: QtCore.QAbstractItemModel,
    *,
    selection: QtWidgets.QAbstractItemView.SelectionMode = Selection.ExtendedSelection,
    row_height: int | None = None,
    parent: QtWidgets.QWidget | None = None,
) -> QtWidgets.QTableView:
    """A trading-style view of ``model``: whole-row selection, alternating rows, no grid, one line per row of a
    fixed height (the font's height plus 4 by default), no row numbers, the last column stretched."""
    view = QtWidgets.QTableView(parent)
    view.setModel(model)
    view.setSelectionBehavior(QtWidgets.QAbstractItemView.SelectionBehavior.SelectRows)
    view.setSelectionMode(selection)
    view.setAlternatingRowColors(True)
    view.setShowGrid(False)
    view.setWordWrap(False)
    rows = view.verticalHeader()
    rows.hide()
    rows.setSectionResizeMode(QtWidgets.QHeaderView.ResizeMode.Fixed)
    rows.setDefaultSectionSize(row_height if row_height is not None else view.fontMetrics().height() + 4)
    header = view.horizontalHeader()
    header.setHighlightSections(False)
    header.setStretchLastSection(True)
    return view


class InstrumentBar(QtWidgets.QWidget):
    """An instrument chooser and a link-group button for a :class:`Panel`; keeps both in step with the panel."""

    def __init__(self, panel: Panel, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self._panel = panel
        layout = QtWidgets.QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        self.link_button = QtWidgets.QToolButton()
        self.link_button.setToolTip("Link group: panels of the same colour follow the same instrument")
        self.link_button.setPopupMode(QtWidgets.QToolButton.ToolButtonPopupMode.InstantPopup)
        self.link_button.setFixedWidth(22)
        menu = QtWidgets.QMenu(self.link_button)
        for group in (None, *LINK_COLOURS):
            action = menu.addAction(self._icon(group), "not linked" if group is None else group)
            action.triggered.connect(lambda _=False, g=group: self._choose_group(g))
        self.link_button.setMenu(menu)
        self.symbols = QtWidgets.QComboBox()
        self.symbols.addItems(list(panel.context.state.symbols))
        self.symbols.setCurrentText(panel.instrument)
        self.symbols.currentTextChanged.connect(lambda symbol: panel.set_instrument(symbol))
        layout.addWidget(self.link_button)
        layout.addWidget(self.symbols)
        panel.instrument_set.connect(lambda _symbol: self.sync())
        self.sync()

    @staticmethod
    def _icon(group: str | None) -> QtGui.QIcon:
        pixmap = QtGui.QPixmap(12, 12)
        pixmap.fill(QtGui.QColor(LINK_COLOURS[group]) if group else QtGui.QColor(QtCore.Qt.GlobalColor.transparent))
        painter = QtGui.QPainter(pixmap)
        painter.setPen(QtGui.QColor("#888888"))
        painter.drawRect(0, 0, 11, 11)
        painter.end()
        return QtGui.QIcon(pixmap)

    def _choose_group(self, group: str | None) -> None:
        self._panel.set_link_group(group)

    def sync(self) -> None:
        """Show the panel's current instrument and link group."""
        self.link_button.setIcon(self._icon(self._panel.link_group))
        if self.symbols.currentText() != self._panel.instrument:
            self.symbols.blockSignals(True)
            self.symbols.setCurrentText(self._panel.instrument)
            self.symbols.blockSignals(False)
