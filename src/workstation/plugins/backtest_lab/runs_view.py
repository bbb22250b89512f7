"""Stored runs: the list from the database, and the selected runs side by side with their equity overlaid."""

from __future__ import annotations

from collections.abc import Callable

from PySide6 import QtCore, QtWidgets

from engine.storage.db import StorageError, open_database
from engine.storage.runs import BacktestRunRecord, RunStore
from workstation.plugins.backtest_lab.models import CellTableModel, table_view
from workstation.plugins.backtest_lab.plots import OverlayPlot
from workstation.plugins.backtest_lab.resources import LabResources
from workstation.plugins.backtest_lab.results import (
    RUN_HEADERS,
    comparison_rows,
    elapsed_seconds,
    money_float,
    run_rows,
)
from workstation.theme import Theme

RUN_LIST_LIMIT = 200


class RunsView(QtWidgets.QWidget):
    """Runs stored in the database; selecting rows compares them (metrics in columns, equity overlaid)."""

    def __init__(
        self,
        database_url: str | None,
        resources: LabResources,
        theme: Theme,
        report: Callable[[str], None],
        parent: QtWidgets.QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.database_url = database_url
        self._report = report
        self._resources = resources
        self.runs: list[BacktestRunRecord] = []
        self.selected: list[BacktestRunRecord] = []

        self.model = CellTableModel(theme, RUN_HEADERS)
        self.table = table_view(self.model, selectable=True)
        self.comparison = CellTableModel(theme, ("",))
        self.comparison_table = table_view(self.comparison)
        self.comparison_table.horizontalHeader().setStretchLastSection(False)
        self.overlay = OverlayPlot(theme)
        self.reload_button = QtWidgets.QPushButton("Reload")
        self.delete_button = QtWidgets.QPushButton("Delete")
        self.delete_button.setToolTip("Delete the selected runs from the database")
        self.count_label = QtWidgets.QLabel()
        self.count_label.setStyleSheet(f"color: {theme.hex('muted')};")
        hint = QtWidgets.QLabel("select two or more runs to compare them")
        hint.setStyleSheet(f"color: {theme.hex('muted')};")

        bar = QtWidgets.QHBoxLayout()
        bar.setSpacing(6)
        bar.addWidget(self.count_label)
        bar.addWidget(hint)
        bar.addStretch(1)
        bar.addWidget(self.delete_button)
        bar.addWidget(self.reload_button)
        self.compare_split = QtWidgets.QSplitter(QtCore.Qt.Orientation.Horizontal)
        self.compare_split.addWidget(self.comparison_table)
        self.compare_split.addWidget(self.overlay)
        self.compare_split.setSizes([440, 560])
        split = QtWidgets.QSplitter(QtCore.Qt.Orientation.Vertical)
        split.addWidget(self.table)
        split.addWidget(self.compare_split)
        split.setSizes([220, 380])
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(4)
        layout.addLayout(bar)
        layout.addWidget(split, 1)

        self.reload_button.clicked.connect(self.reload)
        self.delete_button.clicked.connect(self.delete_selected)
        self.table.selectionModel().selectionChanged.connect(lambda *_: self._on_selection())

    def store(self) -> RunStore | None:
        """The run store (the database is opened on first use); None when it cannot be opened."""
        if self._resources.database is None:
            try:
                self._resources.database = open_database(self.database_url)
            except StorageError as error:
                self._report(str(error))
                return None
        return RunStore(self._resources.database)

    def reload(self) -> None:
        """Read the latest runs again, keeping the selection where the runs are still there."""
        store = self.store()
        if store is None:
            return
        keep = {run.run_id for run in self.selected}
        self.runs = store.list(RUN_LIST_LIMIT)
        self.model.set_rows(run_rows(self.runs))
        self.table.resizeColumnsToContents()
        self.count_label.setText(f"{len(self.runs)} stored run(s)")
        selection = self.table.selectionModel()
        for row, run in enumerate(self.runs):
            if run.run_id in keep:
                flags = QtCore.QItemSelectionModel.SelectionFlag.Select | QtCore.QItemSelectionModel.SelectionFlag.Rows
                selection.select(self.model.index(row, 0), flags)
        self._on_selection()

    def select_runs(self, run_ids: list[str]) -> None:
        """Select the rows of ``run_ids`` (and compare them)."""
        selection = self.table.selectionModel()
        selection.clearSelection()
        flags = QtCore.QItemSelectionModel.SelectionFlag.Select | QtCore.QItemSelectionModel.SelectionFlag.Rows
        for row, run in enumerate(self.runs):
            if run.run_id in run_ids:
                selection.select(self.model.index(row, 0), flags)

    def _fit_comparison(self) -> None:
        """Give the comparison table the width of its columns (within reason), the overlay the rest."""
        total = sum(self.compare_split.sizes())
        if total <= 0:
            return
        wanted = self.comparison_table.horizontalHeader().length() + 2 * self.comparison_table.frameWidth() + 16
        table = max(160, min(wanted, total * 2 // 3))
        self.compare_split.setSizes([table, total - table])

    def delete_selected(self) -> None:
        """Delete the selected runs from the database."""
        store = self.store()
        if store is None or not self.selected:
            return
        for run in self.selected:
            store.delete(run.run_id)
        self.selected = []
        self.reload()

    def _on_selection(self) -> None:
        store = self.store()
        rows = sorted({index.row() for index in self.table.selectionModel().selectedRows()})
        chosen = [self.runs[row] for row in rows if row < len(self.runs)]
        records = [store.get(run.run_id) for run in chosen] if store is not None else []
        self.selected = [record for record in records if record is not None]
        self.comparison.set_rows(comparison_rows(self.selected), ["", *(run.run_id for run in self.selected)])
        self.comparison_table.resizeColumnsToContents()
        self._fit_comparison()
        self.overlay.show_runs(
            [
                (
                    f"{run.run_id} {run.strategy}",
                    elapsed_seconds([ts for ts, _ in run.equity]),
                    [money_float(value) for _, value in run.equity],
                )
                for run in self.selected
            ]
        )
