"""One run's results: equity and drawdown over simulated time, its metrics, and its trades."""

from __future__ import annotations

from PySide6 import QtCore, QtWidgets

from workstation.plugins.backtest_lab.models import CellTableModel, table_view
from workstation.plugins.backtest_lab.plots import EquityPlots
from workstation.plugins.backtest_lab.results import (
    FILL_HEADERS,
    drawdown_curve,
    elapsed_seconds,
    fill_rows,
    metric_rows,
    money_float,
)
from workstation.plugins.backtest_lab.worker import LabOutcome
from workstation.theme import Theme


def _titled(title: QtWidgets.QLabel, body: QtWidgets.QWidget) -> QtWidgets.QWidget:
    box = QtWidgets.QWidget()
    layout = QtWidgets.QVBoxLayout(box)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.setSpacing(2)
    layout.addWidget(title)
    layout.addWidget(body, 1)
    return box


class ResultView(QtWidgets.QWidget):
    """The latest run of the lab."""

    def __init__(self, theme: Theme, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.plots = EquityPlots(theme)
        self.metrics = CellTableModel(theme, ("Metric", "Value"))
        self.fills = CellTableModel(theme, FILL_HEADERS)
        self.metrics_table = table_view(self.metrics)
        self.metrics_table.horizontalHeader().setStretchLastSection(True)
        self.fills_table = table_view(self.fills)
        self.title = QtWidgets.QLabel("No run yet: set up a strategy and press Run")
        self.title.setStyleSheet(f"color: {theme.hex('muted')};")
        self.fills_title = QtWidgets.QLabel("Trades")
        self.fills_title.setStyleSheet(f"color: {theme.hex('muted')};")
        metrics_title = QtWidgets.QLabel("Metrics")
        metrics_title.setStyleSheet(f"color: {theme.hex('muted')};")

        bottom = QtWidgets.QSplitter(QtCore.Qt.Orientation.Horizontal)
        bottom.addWidget(_titled(metrics_title, self.metrics_table))
        bottom.addWidget(_titled(self.fills_title, self.fills_table))
        bottom.setStretchFactor(0, 2)
        bottom.setStretchFactor(1, 5)
        bottom.setSizes([240, 600])
        split = QtWidgets.QSplitter(QtCore.Qt.Orientation.Vertical)
        split.addWidget(self.plots)
        split.addWidget(bottom)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        split.setSizes([470, 330])
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(4)
        layout.addWidget(self.title)
        layout.addWidget(split, 1)

    def show_outcome(self, outcome: LabOutcome) -> None:
        """Draw ``outcome``: curves, metrics and trades."""
        result = outcome.result
        request = result.request
        equity = [money_float(value) for value in result.equity]
        drawdown = [money_float(value) for value in drawdown_curve(result.equity)]
        self.plots.show_run(elapsed_seconds(result.equity_times), equity, drawdown)
        self.metrics.set_rows(metric_rows(result, outcome.run_id))
        self.metrics_table.resizeColumnToContents(0)
        self.fills.set_rows(fill_rows(result.fills, outcome.instruments))
        self.fills_table.resizeColumnsToContents()
        self.fills_title.setText(f"Trades ({len(result.fills):,})")
        params = " ".join(f"{name}={value}" for name, value in result.params.items())
        run = outcome.run_id or ("canceled" if outcome.canceled else "not saved")
        self.title.setText(f"{run}  ·  {request.strategy} on {', '.join(result.instruments)}  ·  {params}")
