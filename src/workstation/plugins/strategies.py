"""The strategies panel: every strategy instance, running or stopped, with its own P&L; start and stop them.

Starting one opens a small form: the strategy, the account, the instruments and the strategy's declared
parameters (a form generated from them, :func:`workstation.param_form.build_param_form`). The state's strategy
entries change only when an instance starts or stops, so while the panel is shown it asks the engine for fresh
figures about once a second and puts them into the state.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from typing import Any

from PySide6 import QtCore, QtGui, QtWidgets
from shiboken6 import isValid

from core.params import ParamError, ParamValue
from engine.client.protocol import StrategyInfo, StrategyState
from engine.text import money_cents
from workstation.hookspecs import hookimpl
from workstation.panel import Panel, PanelContext, PanelSpec
from workstation.param_form import build_param_form
from workstation.state import DesktopState
from workstation.theme import Theme
from workstation.widgets import Selection, dense_table

POLL_SECONDS = 1.0
"""How often the panel asks the engine for fresh strategy figures while it is shown."""

COLUMNS = ("ID", "Strategy", "Account", "Instruments", "Status", "Realized", "Unrealized", "Fees", "Net", "Parameters")
STATUS, REALIZED, UNREALIZED, FEES, NET, PARAMETERS = 4, 5, 6, 7, 8, 9
_MONEY = (REALIZED, UNREALIZED, FEES, NET)
_RIGHT = QtCore.Qt.AlignmentFlag.AlignRight | QtCore.Qt.AlignmentFlag.AlignVCenter
_LEFT = QtCore.Qt.AlignmentFlag.AlignLeft | QtCore.Qt.AlignmentFlag.AlignVCenter

StartRequest = Callable[[str, str, Sequence[str], dict[str, ParamValue]], "asyncio.Task[StrategyState]"]
"""Starts ``(strategy, account, instruments, params)`` and returns the task that answers with its state."""


def _indicator_style(theme: Theme) -> str:
    """Check boxes drawn in the theme's colours (ticked: filled with the accent)."""
    box = f"width: 11px; height: 11px; border: 1px solid {theme.hex('muted')}; border-radius: 2px;"
    return (
        f"QCheckBox::indicator, QListView::indicator {{ {box} background: {theme.hex('background')}; }}"
        f"QCheckBox::indicator:checked, QListView::indicator:checked {{ background: {theme.hex('accent')}; "
        f"border-color: {theme.hex('accent')}; }}"
    )


def status_text(strategy: StrategyState) -> str:
    """``running``, ``stopped`` or ``stopped: <error>``."""
    if strategy.running:
        return "running"
    return f"stopped: {strategy.error}" if strategy.error else "stopped"


def params_text(strategy: StrategyState) -> str:
    """The instance's resolved parameters as ``name=value, ...``."""
    return ", ".join(f"{name}={value}" for name, value in strategy.params.items())


class StrategiesModel(QtCore.QAbstractTableModel):
    """Strategy instances as a virtual table, in the order they were first seen."""

    def __init__(self, theme: Theme, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self._theme = theme
        self.strategies: list[StrategyState] = []

    def set_strategies(self, strategies: Sequence[StrategyState]) -> None:
        """Show ``strategies``; the same instances with new figures repaint in place."""
        same_ids = [s.strategy_id for s in strategies] == [s.strategy_id for s in self.strategies]
        if same_ids:
            self.strategies = list(strategies)
            if strategies:
                self.dataChanged.emit(self.index(0, 0), self.index(len(strategies) - 1, len(COLUMNS) - 1))
            return
        self.beginResetModel()
        self.strategies = list(strategies)
        self.endResetModel()

    def rowCount(self, parent: QtCore.QModelIndex | QtCore.QPersistentModelIndex = QtCore.QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.strategies)

    def columnCount(self, parent: QtCore.QModelIndex | QtCore.QPersistentModelIndex = QtCore.QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: QtCore.Qt.Orientation, role: int = 0) -> Any:
        if orientation is not QtCore.Qt.Orientation.Horizontal:
            return None
        if role == QtCore.Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        if role == QtCore.Qt.ItemDataRole.TextAlignmentRole:
            return _RIGHT if section in _MONEY else _LEFT
        return None

    def data(self, index: QtCore.QModelIndex | QtCore.QPersistentModelIndex, role: int = 0) -> Any:
        if not index.isValid():
            return None
        strategy, column = self.strategies[index.row()], index.column()
        if role == QtCore.Qt.ItemDataRole.DisplayRole:
            return self._text(strategy, column)
        if role == QtCore.Qt.ItemDataRole.ToolTipRole and column in (STATUS, PARAMETERS):
            return self._text(strategy, column)
        if role == QtCore.Qt.ItemDataRole.TextAlignmentRole:
            return _RIGHT if column in _MONEY else _LEFT
        if role == QtCore.Qt.ItemDataRole.ForegroundRole:
            return self._colour(strategy, column)
        return None

    @staticmethod
    def _text(strategy: StrategyState, column: int) -> str:
        if column in _MONEY:
            values = (strategy.realized, strategy.unrealized, strategy.fees, strategy.net)
            return money_cents(values[_MONEY.index(column)])
        if column == STATUS:
            return status_text(strategy)
        if column == PARAMETERS:
            return params_text(strategy)
        return (strategy.strategy_id, strategy.strategy, strategy.account, " ".join(strategy.instruments))[column]

    def _colour(self, strategy: StrategyState, column: int) -> QtGui.QColor | None:
        theme = self._theme
        if column == STATUS:
            return theme.colour("profit" if strategy.running else "loss" if strategy.error else "muted")
        if column in (REALIZED, UNREALIZED, NET):
            value = (strategy.realized, strategy.unrealized, strategy.net)[(REALIZED, UNREALIZED, NET).index(column)]
            return theme.colour("muted" if value == 0 else "profit" if value > 0 else "loss")
        if column == PARAMETERS or (column != STATUS and not strategy.running):
            return theme.colour("muted")
        return None


class StartStrategyForm(QtWidgets.QDialog):
    """Choose a strategy, an account, instruments and parameters; Start sends it and closes once it runs."""

    def __init__(self, state: DesktopState, theme: Theme, start: StartRequest, parent: QtWidgets.QWidget | None):
        super().__init__(parent)
        self.setWindowTitle("Start a strategy")
        self.setStyleSheet(_indicator_style(theme))
        self._state = state
        self._theme = theme
        self._start = start
        self._infos = {info.name: info for info in state.info.strategies}
        self.task: asyncio.Task[StrategyState] | None = None
        self.read_params: Callable[[], dict[str, ParamValue]] = dict
        layout = QtWidgets.QVBoxLayout(self)
        top = QtWidgets.QFormLayout()
        self.strategy = QtWidgets.QComboBox()
        self.strategy.addItems(list(self._infos))
        self.account = QtWidgets.QComboBox()
        self.account.addItems(list(state.accounts))
        self.instruments = QtWidgets.QListWidget()
        self.instruments.setMaximumHeight(22 * min(6, max(2, len(state.symbols))) + 4)
        for symbol in state.symbols:
            item = QtWidgets.QListWidgetItem(symbol)
            item.setFlags(item.flags() | QtCore.Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(QtCore.Qt.CheckState.Unchecked)
            self.instruments.addItem(item)
        top.addRow("Strategy", self.strategy)
        self.description = QtWidgets.QLabel()
        self.description.setWordWrap(True)
        self.description.setStyleSheet(f"color: {theme.hex('muted')};")
        top.addRow(self.description)
        top.addRow("Account", self.account)
        top.addRow("Instruments", self.instruments)
        layout.addLayout(top)
        self.params_box = QtWidgets.QGroupBox("Parameters")
        self._params_layout = QtWidgets.QVBoxLayout(self.params_box)
        self.param_form: QtWidgets.QWidget | None = None
        layout.addWidget(self.params_box)
        layout.addStretch(1)
        self.error = QtWidgets.QLabel()
        self.error.setWordWrap(True)
        self.error.setStyleSheet(f"color: {theme.hex('reject')};")
        layout.addWidget(self.error)
        buttons = QtWidgets.QDialogButtonBox()
        self.start_button = buttons.addButton("Start", QtWidgets.QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.addButton(QtWidgets.QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.start)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.strategy.currentTextChanged.connect(self._strategy_changed)
        self._strategy_changed(self.strategy.currentText())

    def info(self) -> StrategyInfo | None:
        """What the engine declared of the chosen strategy."""
        return self._infos.get(self.strategy.currentText())

    def _strategy_changed(self, name: str) -> None:
        info = self._infos.get(name)
        if self.param_form is not None:
            self._params_layout.removeWidget(self.param_form)
            self.param_form.deleteLater()
        self.param_form, self.read_params = build_param_form(
            () if info is None else info.params, invalid_colour=self._theme.hex("reject")
        )
        self._params_layout.addWidget(self.param_form)
        self.description.setText("" if info is None else info.description)
        wanted = 1 if info is None else info.min_instruments
        self.set_instruments(self._state.symbols[:wanted])
        self.error.clear()

    def set_instruments(self, symbols: Sequence[str]) -> None:
        """Tick exactly ``symbols`` in the instrument list."""
        for row in range(self.instruments.count()):
            item = self.instruments.item(row)
            checked = item.text() in symbols
            item.setCheckState(QtCore.Qt.CheckState.Checked if checked else QtCore.Qt.CheckState.Unchecked)

    def chosen_instruments(self) -> list[str]:
        """The ticked instruments, in the session's order."""
        return [
            self.instruments.item(row).text()
            for row in range(self.instruments.count())
            if self.instruments.item(row).checkState() is QtCore.Qt.CheckState.Checked
        ]

    def editor(self, name: str) -> QtWidgets.QWidget | None:
        """The editor of parameter ``name`` in the current form."""
        return None if self.param_form is None else self.param_form.findChild(QtWidgets.QWidget, name)

    def problem(self) -> str | None:
        """Why the form cannot be sent as it is, or None."""
        info = self.info()
        if info is None:
            return "choose a strategy"
        count = len(self.chosen_instruments())
        most = info.max_instruments
        if count < info.min_instruments or (most is not None and count > most):
            least = info.min_instruments
            wanted = f"at least {least}" if most is None else f"{least}" if most == least else f"{least} to {most}"
            return f"{info.name} trades {wanted} instrument(s); {count} chosen"
        if not self.account.currentText():
            return "choose an account"
        return None

    def start(self) -> None:
        """Check the form and ask for the strategy to start; the form closes once it runs."""
        problem = self.problem()
        params: dict[str, ParamValue] = {}
        if problem is None:
            try:
                params = self.read_params()
            except ParamError as error:
                problem = str(error)
        if problem is not None:
            self.error.setText(problem)
            return
        self.error.setText("starting…")
        self.start_button.setEnabled(False)
        self.task = self._start(self.strategy.currentText(), self.account.currentText(), self.chosen_instruments(),
                                params)  # fmt: skip
        self.task.add_done_callback(self._started)

    def _started(self, task: asyncio.Task[StrategyState]) -> None:
        if not isValid(self):
            return
        self.start_button.setEnabled(True)
        error = None if task.cancelled() else task.exception()
        if task.cancelled() or error is not None:
            self.error.setText(f"not started: {error or 'cancelled'}")
            return
        self.error.clear()
        self.accept()


class StrategiesPanel(Panel):
    """Strategy instances with their P&L; Start opens the form, Stop stops the selected one."""

    linkable = False

    def __init__(self, context: PanelContext, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(context, parent)
        self._shown: list[StrategyState] | None = None
        self._poll: asyncio.Future[None] | None = None
        self._polled = 0.0
        self._message: tuple[str, str] = ("", "muted")
        self._shown_message: tuple[str, str] | None = None
        self.form: StartStrategyForm | None = None
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(4)
        bar = QtWidgets.QHBoxLayout()
        self.start_button = QtWidgets.QPushButton("Start…")
        self.start_button.setToolTip("Start a strategy instance")
        self.start_button.clicked.connect(self.open_start_form)
        self.stop_button = QtWidgets.QPushButton("Stop")
        self.stop_button.setToolTip("Stop the selected strategy instance (its orders are cancelled)")
        self.stop_button.setProperty("role", "danger")
        self.stop_button.clicked.connect(self.stop_selected)
        self.summary = QtWidgets.QLabel()
        self.summary.setStyleSheet(f"color: {context.theme.hex('muted')};")
        self.message = QtWidgets.QLabel()
        bar.addWidget(self.start_button)
        bar.addWidget(self.stop_button)
        bar.addSpacing(8)
        bar.addWidget(self.summary)
        bar.addStretch(1)
        bar.addWidget(self.message)
        layout.addLayout(bar)
        self.model = StrategiesModel(context.theme, self)
        self.table = dense_table(self.model, selection=Selection.SingleSelection, row_height=21)
        self.table.selectionModel().selectionChanged.connect(lambda *_: self._update_buttons())
        layout.addWidget(self.table, 1)
        self._update_buttons()

    # --- actions -------------------------------------------------------------------------------------------------

    def open_start_form(self) -> StartStrategyForm:
        """Show the start form (one at a time)."""
        if self.form is None:
            self.form = StartStrategyForm(self.context.state, self.context.theme, self.start_strategy, self)
        self.form.show()
        self.form.raise_()
        return self.form

    def start_strategy(
        self, strategy: str, account: str, instruments: Sequence[str], params: dict[str, ParamValue]
    ) -> asyncio.Task[StrategyState]:
        """Ask the engine to start ``strategy``; the state has the instance as soon as it runs."""
        task = self.context.commands.start_strategy(strategy, account=account, instruments=instruments, params=params)
        task.add_done_callback(lambda done: self._answered(done, "started"))
        return task

    def selected(self) -> StrategyState | None:
        """The instance of the selected line, or None."""
        rows = self.table.selectionModel().selectedRows()
        return self.model.strategies[rows[0].row()] if rows else None

    def select(self, strategy_id: str) -> None:
        """Select the line of ``strategy_id``."""
        for row, strategy in enumerate(self.model.strategies):
            if strategy.strategy_id == strategy_id:
                self.table.selectRow(row)
                return

    def stop_selected(self) -> None:
        """Stop the selected instance when it runs."""
        strategy = self.selected()
        if strategy is None or not strategy.running:
            return
        task = self.context.commands.stop_strategy(strategy.strategy_id)
        task.add_done_callback(lambda done: self._answered(done, "stopped"))

    def _answered(self, task: asyncio.Task[StrategyState], verb: str) -> None:
        """Put a start or stop answer into the state at once (without waiting for the next poll)."""
        if task.cancelled():
            return
        error = task.exception()
        if error is not None:
            self._message = (f"not {verb}: {error}", "reject")
            return
        result = task.result()
        self.context.state.strategies[result.strategy_id] = result
        self._message = (f"{result.strategy_id} {verb}", "muted")

    # --- the frame -----------------------------------------------------------------------------------------------

    def refresh(self) -> None:
        self._maybe_poll()
        strategies = list(self.context.state.strategy_list())
        if strategies != self._shown:
            resized = self._shown is None or len(strategies) != len(self._shown)
            self._shown = strategies
            chosen = self.selected()
            self.model.set_strategies(strategies)
            if resized:
                self.table.resizeColumnsToContents()
                if chosen is not None:
                    self.select(chosen.strategy_id)
            running = sum(1 for s in strategies if s.running)
            self.summary.setText(f"{running} running, {len(strategies) - running} stopped")
            self._update_buttons()
        if self._message != self._shown_message:
            self._shown_message = self._message
            text, role = self._message
            self.message.setText(text)
            self.message.setStyleSheet(f"color: {self.context.theme.hex(role)};")

    def _maybe_poll(self) -> None:
        now = time.monotonic()
        if (self._poll is not None and not self._poll.done()) or now - self._polled < POLL_SECONDS:
            return
        self._polled = now
        self._poll = asyncio.ensure_future(self._fetch())
        self._poll.add_done_callback(self._fetched)

    async def _fetch(self) -> None:
        for strategy in await self.context.client.strategies():
            self.context.state.strategies[strategy.strategy_id] = strategy

    def _fetched(self, task: asyncio.Future[None]) -> None:
        error = None if task.cancelled() else task.exception()
        if error is not None:
            self._message = (f"strategy figures not updated: {error}", "warning")

    def _update_buttons(self) -> None:
        strategy = self.selected()
        self.stop_button.setEnabled(strategy is not None and strategy.running)


def _factory(context: PanelContext) -> QtWidgets.QWidget:
    return StrategiesPanel(context)


SPEC = PanelSpec(
    name="strategies",
    title="Strategies",
    factory=_factory,
    area="right",
    description="Strategy instances with their own P&L; start them with their parameters, stop them.",
)


@hookimpl
def register_panels() -> Sequence[PanelSpec]:
    """The strategies panel."""
    return [SPEC]
