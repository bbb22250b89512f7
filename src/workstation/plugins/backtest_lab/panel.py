"""The backtest lab: set up a strategy on a simulated market, run it in a worker process, read its results,
compare stored runs, and sweep two parameters over a grid.

Nothing heavy runs on the GUI thread: a single run goes to a spawned process (progress over a queue polled on a
timer, cancellation through a shared event), a sweep to an executor's workers. The GUI only reads the run list
from the database and draws.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from PySide6 import QtCore, QtWidgets

from engine.backtest import BacktestRequest
from engine.client.protocol import EngineClient
from workstation.panel import Panel, PanelContext
from workstation.plugins.backtest_lab.resources import LabResources
from workstation.plugins.backtest_lab.result_view import ResultView
from workstation.plugins.backtest_lab.runs_view import RunsView
from workstation.plugins.backtest_lab.scenario import Scenario
from workstation.plugins.backtest_lab.setup_view import DURATION_UNITS, SetupError, SetupView, scenarios_for
from workstation.plugins.backtest_lab.sweep import process_executor
from workstation.plugins.backtest_lab.sweep_view import ExecutorFactory, SweepView
from workstation.plugins.backtest_lab.worker import (
    BacktestProcess,
    Failed,
    Finished,
    LabJob,
    LabOutcome,
    Progress,
)

POLL_INTERVAL_MS = 50
PROGRESS_STEPS = 1000


def lab_database_url(client: EngineClient) -> str | None:
    """Where the lab stores runs: the embedded engine's database, else the default database (None)."""
    runtime = getattr(client, "runtime", None)
    if runtime is None:
        return None
    url = getattr(runtime, "db_url", None)
    return url if isinstance(url, str) else runtime.config.database_url


def lab_config_source(client: EngineClient) -> str | None:
    """The embedded engine's configuration file, if it has one (its market is offered as a scenario)."""
    runtime = getattr(client, "runtime", None)
    return None if runtime is None else str(runtime.config.source)


class BacktestLabPanel(Panel):
    """Backtests of strategy plugins: one run with progress and cancel, stored runs side by side, sweeps."""

    linkable = False

    def __init__(
        self,
        context: PanelContext,
        *,
        database_url: str | None,
        config_source: str | None = None,
        executor_factory: ExecutorFactory = process_executor,
        parent: QtWidgets.QWidget | None = None,
    ) -> None:
        super().__init__(context, parent)
        theme = context.theme
        self.database_url = database_url
        self.resources = LabResources()
        self.run_state = "idle"
        """idle, running, canceling, finished, canceled or failed."""
        self.outcome: LabOutcome | None = None
        """The latest run's outcome (completed or canceled)."""
        self._process: BacktestProcess | None = None

        self.setup = SetupView(
            context.state.info.strategies, scenarios_for(config_source), context.settings.account, theme
        )
        self.run_button = QtWidgets.QPushButton("Run")
        self.run_button.setDefault(True)
        self.run_button.setToolTip("Run the backtest in a worker process")
        self.cancel_button = QtWidgets.QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.progress = QtWidgets.QProgressBar()
        self.progress.setRange(0, PROGRESS_STEPS)
        self.progress.setValue(0)
        self.progress.setFormat("%p%")
        self.status = QtWidgets.QLabel("Ready")
        self.status.setWordWrap(True)
        self.result_view = ResultView(theme)
        self.runs_view = RunsView(database_url, self.resources, theme, lambda text: self._say(text, "reject"))
        self.sweep_view = SweepView(self._sweep_base, executor_factory, self.resources, theme)
        self.tabs = QtWidgets.QTabWidget()
        self.tabs.setDocumentMode(True)
        self.tabs.addTab(self.result_view, "Result")
        self.tabs.addTab(self.runs_view, "Stored runs")
        self.tabs.addTab(self.sweep_view, "Sweep")
        self._timer = QtCore.QTimer(self)
        self._timer.setInterval(POLL_INTERVAL_MS)
        self._timer.timeout.connect(self.poll)
        self._layout_widgets()

        self.run_button.clicked.connect(self.start_run)
        self.cancel_button.clicked.connect(self.cancel_run)
        self.setup.strategy_changed.connect(lambda _name: self.sweep_view.set_params(self.setup.declared_params()))
        self.sweep_view.set_params(self.setup.declared_params())
        self._say("Ready", "muted")
        self.runs_view.reload()
        resources = self.resources
        # Not on the application's aboutToQuit: an event loop driven in steps (qasync) emits it on every stop.
        self.destroyed.connect(lambda *_: resources.release())

    def _layout_widgets(self) -> None:
        buttons = QtWidgets.QHBoxLayout()
        buttons.setSpacing(6)
        buttons.addWidget(self.run_button, 1)
        buttons.addWidget(self.cancel_button, 1)
        left = QtWidgets.QWidget()
        column = QtWidgets.QVBoxLayout(left)
        column.setContentsMargins(4, 4, 4, 4)
        column.setSpacing(6)
        column.addWidget(self.setup, 1)
        column.addLayout(buttons)
        column.addWidget(self.progress)
        column.addWidget(self.status)
        left.setMinimumWidth(270)
        left.setMaximumWidth(380)
        split = QtWidgets.QSplitter(QtCore.Qt.Orientation.Horizontal)
        split.addWidget(left)
        split.addWidget(self.tabs)
        split.setStretchFactor(0, 0)
        split.setStretchFactor(1, 1)
        split.setSizes([280, 900])
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(split)

    # --- one run -------------------------------------------------------------------------------------------------

    def start_run(self) -> None:
        """Start the set-up's backtest in a worker process."""
        if self.run_state in ("running", "canceling"):
            return
        try:
            request = self.setup.build_request()
        except SetupError as error:
            self._say(str(error), "reject")
            return
        job = LabJob(request=request, scenario=self.setup.current_scenario(), database_url=self.database_url)
        process = BacktestProcess(job)
        process.start()
        self._process = self.resources.process = process
        self.run_state = "running"
        self.progress.setValue(0)
        self.run_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self._say(f"Running {request.strategy} on {', '.join(request.instruments)}…", "foreground")
        self._timer.start()

    def cancel_run(self) -> None:
        """Ask the running backtest to stop; it reports back as canceled."""
        if self._process is None or self.run_state != "running":
            return
        self._process.cancel()
        self.run_state = "canceling"
        self.cancel_button.setEnabled(False)
        self._say("Canceling…", "warning")

    def poll(self) -> None:
        """Take the worker's messages: progress, then the outcome or the failure."""
        process = self._process
        if process is None:
            self._timer.stop()
            return
        for message in process.poll():
            if isinstance(message, Progress):
                self.progress.setValue(round(message.fraction * PROGRESS_STEPS))
            elif isinstance(message, Finished):
                self._finished(message)
            elif isinstance(message, Failed):
                self._end("failed")
                self._say(f"Failed: {message.message}", "reject")

    def _finished(self, message: Finished) -> None:
        outcome = message.outcome
        self.outcome = outcome
        self.result_view.show_outcome(outcome)
        self.tabs.setCurrentWidget(self.result_view)
        result = outcome.result
        if outcome.canceled:
            self._end("canceled")
            self._say(f"Canceled at {self.progress.value() * 100 // PROGRESS_STEPS}% (not saved)", "warning")
            return
        self.progress.setValue(PROGRESS_STEPS)
        self._end("finished")
        self._say(
            f"Finished {outcome.run_id}: {result.metrics.trades:,} trades in {result.wall_seconds:.2f} s", "profit"
        )
        self.runs_view.reload()

    def _end(self, state: str) -> None:
        self.run_state = state
        self._process = None
        self.resources.process = None
        self._timer.stop()
        self.run_button.setEnabled(True)
        self.cancel_button.setEnabled(False)

    def _say(self, text: str, role: str) -> None:
        self.status.setText(text)
        self.status.setStyleSheet(f"color: {self.context.theme.hex(role)};")

    def _sweep_base(self) -> tuple[BacktestRequest, Scenario]:
        return self.setup.build_request(), self.setup.current_scenario()

    # --- life and workspace --------------------------------------------------------------------------------------

    def shutdown(self) -> None:
        """Stop timers, the worker process and the sweep's executor, and close the database."""
        self._timer.stop()
        self.sweep_view.stop()
        self.resources.release()
        self._process = None

    def save_state(self) -> Mapping[str, Any]:
        """The set-up: strategy, instruments, seed and duration."""
        setup = self.setup
        return {
            "strategy": setup.strategy.currentText(),
            "instruments": list(setup.chosen_instruments()),
            "seed": setup.seed.value(),
            "duration": setup.duration.value(),
            "duration_unit": setup.duration_unit.currentText(),
        }

    def restore_state(self, state: Mapping[str, Any]) -> None:
        """Restore what :meth:`save_state` returned (unknown or missing values are left as they are)."""
        setup = self.setup
        strategy = state.get("strategy")
        if isinstance(strategy, str) and setup.strategy.findText(strategy) >= 0:
            setup.strategy.setCurrentText(strategy)
        instruments = state.get("instruments")
        if isinstance(instruments, list) and instruments:
            setup.set_instruments([str(symbol) for symbol in instruments])
        seed = state.get("seed")
        if isinstance(seed, int):
            setup.seed.setValue(seed)
        duration = state.get("duration")
        if isinstance(duration, int | float):
            setup.duration.setValue(float(duration))
        unit = state.get("duration_unit")
        if unit in DURATION_UNITS:
            setup.duration_unit.setCurrentText(str(unit))
