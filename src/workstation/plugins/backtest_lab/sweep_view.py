"""The parameter sweep: two numeric parameters over a grid, run on an executor, shown as a heatmap and a table."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from decimal import Decimal

from PySide6 import QtCore, QtWidgets

from core.params import Param, ParamError, ParamValue
from engine.backtest import BacktestRequest
from workstation.plugins.backtest_lab.models import CellTableModel, table_view
from workstation.plugins.backtest_lab.plots import Heatmap
from workstation.plugins.backtest_lab.resources import LabResources
from workstation.plugins.backtest_lab.results import (
    Cell,
    drawdown_cell,
    fee_cell,
    money_cell,
    number_cell,
)
from workstation.plugins.backtest_lab.scenario import Scenario
from workstation.plugins.backtest_lab.setup_view import SetupError
from workstation.plugins.backtest_lab.sweep import (
    SWEEP_METRICS,
    SweepAxis,
    SweepCell,
    SweepHandle,
    SweepSpec,
    axis_values,
    metric_grid,
    submit_sweep,
)
from workstation.theme import Theme

POLL_INTERVAL_MS = 50
MAX_STEPS = 50
SWEEP_HEADERS = ("P&L", "Sharpe", "Max DD", "Fees", "Trades", "Fill ratio", "Wall s")

ExecutorFactory = Callable[[int], Executor]
"""Makes the executor a sweep runs on, given the number of workers asked for."""
BaseRequest = Callable[[], tuple[BacktestRequest, Scenario]]
"""The set-up's request and market (raises :class:`SetupError`)."""


def value_text(value: ParamValue) -> str:
    """A parameter value as an axis label."""
    return f"{value:g}" if isinstance(value, float) else str(value)


class AxisControls:
    """The parameter, from, to and steps of one axis."""

    def __init__(self, default_steps: int) -> None:
        self.param = QtWidgets.QComboBox()
        self.start = QtWidgets.QDoubleSpinBox()
        self.stop = QtWidgets.QDoubleSpinBox()
        self.steps = QtWidgets.QSpinBox()
        self.steps.setRange(1, MAX_STEPS)
        self.steps.setValue(default_steps)
        for spin in (self.start, self.stop):
            spin.setRange(-1e9, 1e9)
            spin.setAlignment(QtCore.Qt.AlignmentFlag.AlignRight | QtCore.Qt.AlignmentFlag.AlignVCenter)
            spin.setMinimumWidth(80)
        self._params: dict[str, Param] = {}
        self.param.currentTextChanged.connect(self._on_param)

    def set_params(self, params: Sequence[Param], preferred: int) -> None:
        """Offer ``params`` and choose the ``preferred``-th (or the last)."""
        self._params = {param.name: param for param in params}
        self.param.blockSignals(True)
        self.param.clear()
        self.param.addItems(list(self._params))
        self.param.blockSignals(False)
        if params:
            self.param.setCurrentIndex(min(preferred, len(params) - 1))
            self._on_param(self.param.currentText())

    def chosen(self) -> Param | None:
        return self._params.get(self.param.currentText())

    def set_range(self, start: float, stop: float, steps: int) -> None:
        """Set the grid of this axis."""
        self.start.setValue(start)
        self.stop.setValue(stop)
        self.steps.setValue(steps)

    def _on_param(self, name: str) -> None:
        param = self._params.get(name)
        if param is None:
            return
        decimals = 0 if param.type is int else 4
        low = -1e9 if param.minimum is None else float(param.minimum)
        high = 1e9 if param.maximum is None else float(param.maximum)
        default = float(param.default)
        for spin in (self.start, self.stop):
            spin.setDecimals(decimals)
            spin.setRange(low, high)
        self.start.setValue(default)
        self.stop.setValue(min(high, default * 2 if default else 1.0))

    def axis(self) -> SweepAxis:
        """This axis' values (raises :class:`SetupError`)."""
        param = self.chosen()
        if param is None:
            raise SetupError("the strategy has no numeric parameter to sweep")
        try:
            values = axis_values(param, self.start.value(), self.stop.value(), self.steps.value())
        except (ParamError, ValueError) as error:
            raise SetupError(str(error)) from None
        return SweepAxis(param=param.name, values=values)


class SweepView(QtWidgets.QWidget):
    """Runs a grid of backtests on an executor and charts one metric of them."""

    def __init__(
        self,
        base: BaseRequest,
        executor_factory: ExecutorFactory,
        resources: LabResources,
        theme: Theme,
        parent: QtWidgets.QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._base = base
        self._executor_factory = executor_factory
        self._resources = resources
        self._theme = theme
        self.handle: SweepHandle | None = None
        self.state = "idle"

        self.x_axis = AxisControls(3)
        self.y_axis = AxisControls(3)
        self.metric_choice = QtWidgets.QComboBox()
        for name, label in SWEEP_METRICS.items():
            self.metric_choice.addItem(label, name)
        self.workers = QtWidgets.QSpinBox()
        self.workers.setRange(1, 64)
        self.workers.setValue(2)
        self.workers.setToolTip("Worker processes running the grid's backtests")
        self.run_button = QtWidgets.QPushButton("Run sweep")
        self.cancel_button = QtWidgets.QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.progress = QtWidgets.QProgressBar()
        self.progress.setFormat("%v / %m")
        self.progress.setValue(0)
        self.status = QtWidgets.QLabel("Sweeps use the strategy, market, seed and duration of the set-up.")
        self.status.setStyleSheet(f"color: {theme.hex('muted')};")
        self.heatmap = Heatmap(theme)
        self.model = CellTableModel(theme, ("x", "y", *SWEEP_HEADERS))
        self.table = table_view(self.model)
        self._timer = QtCore.QTimer(self)
        self._timer.setInterval(POLL_INTERVAL_MS)
        self._timer.timeout.connect(self.poll)
        self._layout_widgets()

        self.run_button.clicked.connect(self.start)
        self.cancel_button.clicked.connect(self.cancel)
        self.metric_choice.currentIndexChanged.connect(lambda _index: self._draw())

    def _layout_widgets(self) -> None:
        controls = QtWidgets.QGridLayout()
        controls.setHorizontalSpacing(6)
        controls.setVerticalSpacing(4)
        for column, text in enumerate(("", "Parameter", "From", "To", "Steps")):
            label = QtWidgets.QLabel(text)
            label.setStyleSheet(f"color: {self._theme.hex('muted')};")
            controls.addWidget(label, 0, column)
        for row, (name, axis) in enumerate((("X", self.x_axis), ("Y", self.y_axis)), start=1):
            controls.addWidget(QtWidgets.QLabel(name), row, 0)
            controls.addWidget(axis.param, row, 1)
            controls.addWidget(axis.start, row, 2)
            controls.addWidget(axis.stop, row, 3)
            controls.addWidget(axis.steps, row, 4)
        controls.addWidget(QtWidgets.QLabel("Metric"), 1, 5)
        controls.addWidget(self.metric_choice, 1, 6)
        controls.addWidget(QtWidgets.QLabel("Workers"), 2, 5)
        controls.addWidget(self.workers, 2, 6)
        controls.addWidget(self.run_button, 1, 7)
        controls.addWidget(self.cancel_button, 2, 7)
        controls.setColumnStretch(1, 2)
        controls.setColumnStretch(8, 1)
        bar = QtWidgets.QHBoxLayout()
        bar.addWidget(self.progress, 1)
        bar.addWidget(self.status, 2)
        split = QtWidgets.QSplitter(QtCore.Qt.Orientation.Horizontal)
        split.addWidget(self.heatmap)
        split.addWidget(self.table)
        split.setSizes([560, 520])
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(4)
        layout.addLayout(controls)
        layout.addLayout(bar)
        layout.addWidget(split, 1)

    def set_params(self, params: Sequence[Param]) -> None:
        """Offer the numeric parameters of the chosen strategy on both axes."""
        numeric = [param for param in params if param.type in (int, float, Decimal) and not param.choices]
        self.x_axis.set_params(numeric, 0)
        self.y_axis.set_params(numeric, 1)
        self.run_button.setEnabled(len(numeric) >= 2 and self.state != "running")

    # --- running -------------------------------------------------------------------------------------------------

    def start(self) -> None:
        """Submit every point of the grid."""
        if self.state == "running":
            return
        try:
            base, scenario = self._base()
            spec = SweepSpec(base=base, x=self.x_axis.axis(), y=self.y_axis.axis(), scenario=scenario)
            if spec.x.param == spec.y.param:
                raise SetupError("choose two different parameters")
        except SetupError as error:
            self._say(str(error), "reject")
            return
        self.handle = submit_sweep(self._executor_for(self.workers.value()), spec)
        self.state = "running"
        self.progress.setRange(0, spec.total)
        self.progress.setValue(0)
        self.run_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self._say(f"Running {spec.total} backtests on {self._resources.executor_workers} worker(s)…", "muted")
        self._draw()
        self._timer.start()

    def _executor_for(self, workers: int) -> Executor:
        resources = self._resources
        if resources.executor is None or workers != resources.executor_workers:
            resources.release_executor()
            resources.executor = self._executor_factory(workers)
            resources.executor_workers = workers
        return resources.executor

    def cancel(self) -> None:
        """Cancel the points not started; the running ones are left to finish in the background."""
        if self.handle is None or self.state != "running":
            return
        cancelled = self.handle.cancel()
        self._resources.release_executor()
        self.poll()
        self._end("canceled", f"Canceled: {self.handle.done} of {self.handle.total} done, {cancelled} not started")

    def poll(self) -> None:
        """Collect finished points, redraw, and end the sweep once every point is in."""
        handle = self.handle
        if handle is None:
            return
        if handle.poll():
            self.progress.setValue(handle.done)
            self._draw()
        if self.state == "running" and handle.finished:
            failed = sum(1 for cell in handle.cells if cell.error)
            note = f", {failed} failed: {next(c.error for c in handle.cells if c.error)}" if failed else ""
            self._end("finished", f"Finished {handle.done} backtests{note}")

    def _end(self, state: str, message: str) -> None:
        self.state = state
        self._timer.stop()
        self.run_button.setEnabled(True)
        self.cancel_button.setEnabled(False)
        self._say(message, "warning" if state == "canceled" else "foreground")

    def _say(self, message: str, role: str) -> None:
        self.status.setText(message)
        self.status.setStyleSheet(f"color: {self._theme.hex(role)};")

    # --- drawing -------------------------------------------------------------------------------------------------

    def _draw(self) -> None:
        handle = self.handle
        if handle is None:
            return
        spec = handle.spec
        metric = str(self.metric_choice.currentData())
        values = metric_grid(handle.cells, spec.shape, metric)
        self.heatmap.show_values(
            values,
            [value_text(value) for value in spec.x.values],
            [value_text(value) for value in spec.y.values],
            x_name=spec.x.param,
            y_name=spec.y.param,
        )
        self.heatmap.setToolTip(f"{SWEEP_METRICS[metric]} by {spec.x.param} and {spec.y.param}")
        cells = sorted((cell for cell in handle.cells if cell.i >= 0), key=lambda cell: (cell.i, cell.j))
        self.model.set_rows([self._row(spec, cell) for cell in cells], (spec.x.param, spec.y.param, *SWEEP_HEADERS))
        self.table.resizeColumnsToContents()

    @staticmethod
    def _row(spec: SweepSpec, cell: SweepCell) -> tuple[Cell, ...]:
        axes = (number_cell(value_text(spec.x.values[cell.i])), number_cell(value_text(spec.y.values[cell.j])))
        metrics = cell.metrics
        if metrics is None:
            return (*axes, Cell(cell.error, "reject"), *(Cell("") for _ in SWEEP_HEADERS[1:]))
        return (
            *axes,
            money_cell(metrics.pnl),
            number_cell(f"{metrics.sharpe:.2f}"),
            drawdown_cell(metrics.max_drawdown),
            fee_cell(metrics.fees),
            number_cell(f"{metrics.trades:,}"),
            number_cell(f"{metrics.fill_ratio:.2%}"),
            number_cell(f"{cell.wall_seconds:.2f}"),
        )

    def stop(self) -> None:
        """Stop polling and cancel a running sweep (the panel is going away)."""
        self._timer.stop()
        if self.handle is not None and self.state == "running":
            self.handle.cancel()
            self.state = "canceled"
