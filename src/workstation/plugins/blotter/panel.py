"""The blotter panel: every order and every fill of the session, filtered, sorted, cancellable and exportable."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from PySide6 import QtCore, QtGui, QtWidgets

from core.enums import Side
from workstation.panel import Panel, PanelContext
from workstation.plugins.blotter.columns import STATUS_TEXT
from workstation.plugins.blotter.models import BlotterModel, ExecutionModel, OrderModel
from workstation.plugins.blotter.views import DONE, WORKING, BlotterFilter, BlotterSort
from workstation.widgets import dense_table

Qt = QtCore.Qt
ORDERS_TAB = 0
EXECUTIONS_TAB = 1
_MAX_ID_WIDTH = 260


def _table_view(model: BlotterModel, parent: QtWidgets.QWidget) -> QtWidgets.QTableView:
    """A dense, sortable, row-selecting view of ``model`` with columns sized for their typical values."""
    view = dense_table(model, parent=parent)
    view.setTextElideMode(Qt.TextElideMode.ElideRight)
    view.setHorizontalScrollMode(QtWidgets.QAbstractItemView.ScrollMode.ScrollPerPixel)
    metrics = view.fontMetrics()
    header = view.horizontalHeader()
    header.setSectionsMovable(True)
    header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
    for section, column in enumerate(model.columns.columns):
        sample = max(column.sample, column.title, key=len)
        header.resizeSection(section, metrics.horizontalAdvance(sample) + 18)
    header.setSortIndicatorClearable(True)
    header.setSortIndicator(-1, Qt.SortOrder.DescendingOrder)
    view.setSortingEnabled(True)
    return view


class BlotterPanel(Panel):
    """Orders and executions tabs over the session's tables, with instrument/side/status/text filters,
    header-click sorting, cancel selected / cancel all, and CSV export of the rows shown."""

    linkable = False

    def __init__(self, context: PanelContext, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(context, parent)
        state = context.state
        self.orders_model = OrderModel(state.orders, state.instruments, context.theme, self)
        self.executions_model = ExecutionModel(state.executions, state.instruments, context.theme, self)

        self.instrument_combo = QtWidgets.QComboBox()
        self.instrument_combo.addItem("All instruments", None)
        for symbol in state.symbols:
            self.instrument_combo.addItem(symbol, symbol)
        self.side_combo = QtWidgets.QComboBox()
        self.side_combo.addItem("All sides", None)
        self.side_combo.addItem("Buy", Side.BUY.value)
        self.side_combo.addItem("Sell", Side.SELL.value)
        self.status_combo = QtWidgets.QComboBox()
        self.status_combo.addItem("All statuses", None)
        self.status_combo.addItem("Working", WORKING)
        self.status_combo.addItem("Done", DONE)
        self.status_combo.insertSeparator(self.status_combo.count())
        for status, text in STATUS_TEXT.items():
            self.status_combo.addItem(text, status.value)
        self.search = QtWidgets.QLineEdit()
        self.search.setPlaceholderText("Search ids, instrument, strategy, text")
        self.search.setClearButtonEnabled(True)
        self.search.setMinimumWidth(160)
        self.count_label = QtWidgets.QLabel()
        self.count_label.setStyleSheet(f"color: {context.theme.hex('muted')};")
        self.cancel_selected_button = QtWidgets.QPushButton("Cancel selected")
        self.cancel_selected_button.setToolTip("Cancel the selected working orders (Delete)")
        self.cancel_all_button = QtWidgets.QPushButton("Cancel all")
        self.cancel_all_button.setToolTip("Cancel every working order of the desktop's accounts")
        self.cancel_all_button.setProperty("role", "danger")
        self.export_button = QtWidgets.QPushButton("Export CSV…")
        self.export_button.setToolTip("Write the rows shown in this tab to a CSV file")

        bar = QtWidgets.QHBoxLayout()
        bar.setContentsMargins(4, 4, 4, 2)
        bar.setSpacing(4)
        for combo in (self.instrument_combo, self.side_combo, self.status_combo):
            bar.addWidget(combo)
        bar.addWidget(self.search, 1)
        bar.addWidget(self.count_label)
        bar.addSpacing(8)
        for button in (self.cancel_selected_button, self.cancel_all_button, self.export_button):
            bar.addWidget(button)

        self.tabs = QtWidgets.QTabWidget()
        self.tabs.setDocumentMode(True)
        self.orders_view = _table_view(self.orders_model, self.tabs)
        self.executions_view = _table_view(self.executions_model, self.tabs)
        self.tabs.addTab(self.orders_view, "Orders")
        self.tabs.addTab(self.executions_view, "Executions")

        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addLayout(bar)
        layout.addWidget(self.tabs, 1)

        self.instrument_combo.currentIndexChanged.connect(self._filters_changed)
        self.side_combo.currentIndexChanged.connect(self._filters_changed)
        self.status_combo.currentIndexChanged.connect(self._filters_changed)
        self.search.textChanged.connect(self._filters_changed)
        self.tabs.currentChanged.connect(self._tab_changed)
        self.cancel_selected_button.clicked.connect(self.cancel_selected)
        self.cancel_all_button.clicked.connect(self.cancel_all)
        self.export_button.clicked.connect(self._ask_export)
        cancel_key = QtGui.QShortcut(QtGui.QKeySequence(Qt.Key.Key_Delete), self.orders_view)
        cancel_key.setContext(Qt.ShortcutContext.WidgetShortcut)
        cancel_key.activated.connect(self.cancel_selected)
        self._tab_titles: tuple[int, int] = (-1, -1)
        self._refusal = context.commands.refusal
        """Why the session may not cancel (a read-only one), as the buttons last showed it."""
        self._fitted: set[QtWidgets.QTableView] = set()
        self._counts: tuple[int, int, int] = (-1, -1, -1)
        self._show_rights()

    # --- what is shown -------------------------------------------------------------------------------------------

    @property
    def current_model(self) -> BlotterModel:
        """The model of the tab shown."""
        return self.executions_model if self.tabs.currentIndex() == EXECUTIONS_TAB else self.orders_model

    @property
    def current_view(self) -> QtWidgets.QTableView:
        return self.executions_view if self.tabs.currentIndex() == EXECUTIONS_TAB else self.orders_view

    def current_filter(self) -> BlotterFilter:
        """The filter the bar's combos and search box describe."""
        side = self.side_combo.currentData()
        return BlotterFilter(
            instrument=self.instrument_combo.currentData(),
            side=None if side is None else Side(side),
            status=self.status_combo.currentData(),
            text=self.search.text(),
        )

    def set_filter(
        self, *, instrument: str | None = None, side: Side | None = None, status: str | None = None, text: str = ""
    ) -> None:
        """Set the bar's filters (None: all); ``status`` is ``"working"``, ``"done"`` or an OrdStatus value."""
        for combo, value in (
            (self.instrument_combo, instrument), (self.side_combo, None if side is None else side.value),
            (self.status_combo, status),
        ):  # fmt: skip
            found = combo.findData(value)
            combo.setCurrentIndex(max(found, 0))
        self.search.setText(text)

    def _filters_changed(self) -> None:
        view = self.current_filter()
        self.orders_model.set_filter(view)
        self.executions_model.set_filter(BlotterFilter(view.instrument, view.side, None, view.text))

    def _tab_changed(self, index: int) -> None:
        self.status_combo.setEnabled(index != EXECUTIONS_TAB)
        self._show_rights()
        self.refresh()

    def _show_rights(self) -> None:
        """The cancel buttons follow the session's rights: a read-only session's are disabled and say why."""
        refusal = self._refusal
        self.cancel_selected_button.setEnabled(refusal is None and self.tabs.currentIndex() != EXECUTIONS_TAB)
        self.cancel_all_button.setEnabled(refusal is None)
        for button, tip in (
            (self.cancel_selected_button, "Cancel the selected working orders (Delete)"),
            (self.cancel_all_button, "Cancel every working order of the desktop's accounts"),
        ):
            button.setToolTip(tip if refusal is None else f"Not available: {refusal}")

    def refresh(self) -> None:
        """Bring the shown tab up to the tables (new rows, status changes) and the counts with it."""
        refusal = self.context.commands.refusal
        if refusal != self._refusal:
            self._refusal = refusal
            self._show_rights()
        self._add_new_instruments()
        model = self.current_model
        if model.refresh() and self.current_view not in self._fitted and len(model.rows):
            self._fit_id_columns(self.current_view, model)
        counts = (self.tabs.currentIndex(), len(model.rows), len(model.table))
        if counts != self._counts:
            self._counts = counts
            noun = "fills" if counts[0] == EXECUTIONS_TAB else "orders"
            self.count_label.setText(f"{counts[1]:,} of {counts[2]:,} {noun}")
        titles = (len(self.context.state.orders), len(self.context.state.executions))
        if titles != self._tab_titles:
            self._tab_titles = titles
            self.tabs.setTabText(ORDERS_TAB, f"Orders ({titles[0]:,})")
            self.tabs.setTabText(EXECUTIONS_TAB, f"Executions ({titles[1]:,})")

    def _fit_id_columns(self, view: QtWidgets.QTableView, model: BlotterModel) -> None:
        """Widen the id columns to the ids in use, once, when the first rows arrive (ids differ by venue)."""
        self._fitted.add(view)
        header = view.horizontalHeader()
        for section, column in enumerate(model.columns.columns):
            if column.kind == "text" and column.name != "text":
                width = max(header.sectionSize(section), view.sizeHintForColumn(section) + 8)
                header.resizeSection(section, min(width, _MAX_ID_WIDTH))

    def _add_new_instruments(self) -> None:
        """Offer instruments that appear in the tables without being in the session's list (history)."""
        known = self.instrument_combo.count() - 1
        symbols = self.context.state.orders.instruments.values
        if len(symbols) > known or known == 0:
            for symbol in symbols:
                if self.instrument_combo.findData(symbol) < 0:
                    self.instrument_combo.addItem(symbol, symbol)

    # --- actions -------------------------------------------------------------------------------------------------

    def selected_order_ids(self) -> list[str]:
        """Client order ids of the selected rows of the orders tab that can still be cancelled."""
        model = self.orders_model
        rows = sorted({index.row() for index in self.orders_view.selectionModel().selectedRows()})
        return [model.client_order_id(row) for row in rows if row < len(model.rows) and model.is_working(row)]

    def cancel_selected(self) -> None:
        """Cancel the selected working orders."""
        ids = self.selected_order_ids()
        if ids:
            self.context.commands.cancel_many(ids)

    def cancel_all(self) -> None:
        """Cancel every working order of the desktop's accounts."""
        self.context.commands.cancel_all()

    def export_csv(self, path: str | Path) -> int:
        """Write the rows shown in the current tab to ``path`` as CSV; returns the number of rows."""
        model = self.current_model
        model.refresh(force=True)
        return model.export_csv(path)

    def _ask_export(self) -> None:
        noun = "executions" if self.tabs.currentIndex() == EXECUTIONS_TAB else "orders"
        path, _ = QtWidgets.QFileDialog.getSaveFileName(self, f"Export {noun}", f"{noun}.csv", "CSV files (*.csv)")
        if not path:
            return
        QtWidgets.QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
        try:
            written = self.export_csv(path)
        except OSError as error:
            QtWidgets.QApplication.restoreOverrideCursor()
            QtWidgets.QMessageBox.warning(self, "Export failed", f"Cannot write {path}: {error}")
            return
        QtWidgets.QApplication.restoreOverrideCursor()
        self.count_label.setText(f"{written:,} {noun} written to {Path(path).name}")

    # --- workspace -----------------------------------------------------------------------------------------------

    def save_state(self) -> Mapping[str, Any]:
        view = self.current_filter()
        return {
            "tab": self.tabs.currentIndex(),
            "instrument": view.instrument,
            "side": None if view.side is None else view.side.value,
            "status": view.status,
            "text": view.text,
            "orders_sort": _sort_state(self.orders_model.sort_order),
            "executions_sort": _sort_state(self.executions_model.sort_order),
        }

    def restore_state(self, state: Mapping[str, Any]) -> None:
        side, instrument, status, text = (state.get(key) for key in ("side", "instrument", "status", "text"))
        self.set_filter(
            instrument=instrument if isinstance(instrument, str) else None,
            side=Side(side) if side in (Side.BUY.value, Side.SELL.value) else None,
            status=status if isinstance(status, str) else None,
            text=text if isinstance(text, str) else "",
        )
        for key, model, view in (
            ("orders_sort", self.orders_model, self.orders_view),
            ("executions_sort", self.executions_model, self.executions_view),
        ):
            sort = _sort_from(state.get(key), len(model.columns))
            if sort is not None:
                order = Qt.SortOrder.DescendingOrder if sort.descending else Qt.SortOrder.AscendingOrder
                view.horizontalHeader().setSortIndicator(-1 if sort.column is None else sort.column, order)
                model.set_sort(sort)
        tab = state.get("tab")
        if tab in (ORDERS_TAB, EXECUTIONS_TAB):
            self.tabs.setCurrentIndex(tab)


def _sort_state(sort: BlotterSort) -> dict[str, Any]:
    return {"column": sort.column, "descending": sort.descending}


def _sort_from(value: object, columns: int) -> BlotterSort | None:
    if not isinstance(value, Mapping):
        return None
    column = value.get("column")
    if column is not None and not (isinstance(column, int) and 0 <= column < columns):
        return None
    return BlotterSort(column, bool(value.get("descending")))
