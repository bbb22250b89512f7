"""The run set-up: strategy and its parameters, the simulated market (scenario, instruments, seed, duration)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from PySide6 import QtCore, QtWidgets

from core.numbers import NANOS_PER_SECOND
from core.params import Param, ParamError, ParamValue
from engine.backtest import BacktestRequest
from engine.client.protocol import StrategyInfo
from engine.config import DEFAULTS_SOURCE, ConfigError, EngineConfig
from workstation.param_form import build_param_form
from workstation.plugins.backtest_lab.scenario import Scenario
from workstation.theme import Theme

DURATION_UNITS = {"s": 1, "min": 60}
MAX_SEED = 2**31 - 1
MAX_FORM_HEIGHT = 360


class SetupError(ValueError):
    """The set-up cannot make a request; the message says what to fix."""


class SetupView(QtWidgets.QWidget):
    """Chooses what to run and on which market, and builds the :class:`BacktestRequest`."""

    strategy_changed = QtCore.Signal(str)

    def __init__(
        self,
        strategies: Sequence[StrategyInfo],
        scenarios: Sequence[Scenario],
        account: str,
        theme: Theme,
        parent: QtWidgets.QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._strategies = {info.name: info for info in strategies}
        self._account = account
        self._theme = theme
        self._config: EngineConfig | None = None
        self._read_params: Callable[[], dict[str, ParamValue]] = dict

        self.strategy = QtWidgets.QComboBox()
        self.strategy.addItems(list(self._strategies))
        self.strategy.setToolTip("Strategy plugin to test")
        self.scenario = QtWidgets.QComboBox()
        self.scenario.setToolTip("Simulated market: instruments, order flow and fees of a configuration")
        for scenario in scenarios:
            self.scenario.addItem(scenario.name, scenario)
        self.open_scenario = QtWidgets.QToolButton()
        self.open_scenario.setText("…")
        self.open_scenario.setToolTip("Test on the market of another engine configuration file (TOML)")
        self.instruments = QtWidgets.QListWidget()
        self.instruments.setToolTip("Instruments the strategy trades")
        self.instruments.setMaximumHeight(86)
        self.seed = QtWidgets.QSpinBox()
        self.seed.setRange(0, MAX_SEED)
        self.seed.setValue(7)
        self.seed.setToolTip("Seed of the simulated order flow: the same seed gives the same run")
        self.duration = QtWidgets.QDoubleSpinBox()
        self.duration.setRange(0.1, 100_000.0)
        self.duration.setDecimals(1)
        self.duration.setValue(30.0)
        self.duration.setToolTip("Simulated time to run")
        self.duration_unit = QtWidgets.QComboBox()
        self.duration_unit.addItems(list(DURATION_UNITS))
        self.description = QtWidgets.QLabel()
        self.description.setWordWrap(True)
        self.description.setStyleSheet(f"color: {theme.hex('muted')};")
        self.params_area = QtWidgets.QScrollArea()
        self.params_area.setWidgetResizable(True)
        self.params_area.setFrameShape(QtWidgets.QFrame.Shape.NoFrame)
        self.params_area.setHorizontalScrollBarPolicy(QtCore.Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self._layout_widgets()

        self.strategy.currentTextChanged.connect(self._on_strategy)
        self.scenario.currentIndexChanged.connect(lambda _index: self._on_scenario())
        self.open_scenario.clicked.connect(self._choose_scenario_file)
        self._on_scenario()
        self._on_strategy(self.strategy.currentText())

    def _layout_widgets(self) -> None:
        market = QtWidgets.QGroupBox("Market")
        grid = QtWidgets.QGridLayout(market)
        grid.setContentsMargins(6, 6, 6, 6)
        grid.setHorizontalSpacing(6)
        grid.setVerticalSpacing(4)
        grid.addWidget(QtWidgets.QLabel("Scenario"), 0, 0)
        scenario_row = QtWidgets.QHBoxLayout()
        scenario_row.setSpacing(2)
        scenario_row.addWidget(self.scenario, 1)
        scenario_row.addWidget(self.open_scenario)
        grid.addLayout(scenario_row, 0, 1, 1, 2)
        grid.addWidget(QtWidgets.QLabel("Instruments"), 1, 0, QtCore.Qt.AlignmentFlag.AlignTop)
        grid.addWidget(self.instruments, 1, 1, 1, 2)
        grid.addWidget(QtWidgets.QLabel("Seed"), 2, 0)
        grid.addWidget(self.seed, 2, 1, 1, 2)
        grid.addWidget(QtWidgets.QLabel("Duration"), 3, 0)
        grid.addWidget(self.duration, 3, 1)
        grid.addWidget(self.duration_unit, 3, 2)
        grid.setColumnStretch(1, 1)

        strategy = QtWidgets.QGroupBox("Strategy")
        column = QtWidgets.QVBoxLayout(strategy)
        column.setContentsMargins(6, 6, 6, 6)
        column.setSpacing(4)
        column.addWidget(self.strategy)
        column.addWidget(self.description)
        column.addWidget(self.params_area)

        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(6)
        layout.addWidget(strategy)
        layout.addWidget(market)
        layout.addStretch(1)

    # --- choices -------------------------------------------------------------------------------------------------

    def strategy_info(self) -> StrategyInfo | None:
        """The chosen strategy's declaration."""
        return self._strategies.get(self.strategy.currentText())

    def declared_params(self) -> tuple[Param, ...]:
        """The chosen strategy's declared parameters."""
        info = self.strategy_info()
        return () if info is None else info.params

    def current_scenario(self) -> Scenario:
        """The chosen market."""
        scenario = self.scenario.currentData()
        return scenario if isinstance(scenario, Scenario) else Scenario(name="default")

    def param_values(self) -> dict[str, ParamValue]:
        """The form's parameter values, checked (raises :class:`SetupError` naming a bad one)."""
        try:
            return self._read_params()
        except ParamError as error:
            raise SetupError(str(error)) from None

    def chosen_instruments(self) -> tuple[str, ...]:
        """Checked instruments, in list order."""
        items = (self.instruments.item(row) for row in range(self.instruments.count()))
        return tuple(item.text() for item in items if item.checkState() == QtCore.Qt.CheckState.Checked)

    def set_instruments(self, symbols: Sequence[str]) -> None:
        """Check exactly ``symbols``."""
        for row in range(self.instruments.count()):
            item = self.instruments.item(row)
            checked = item.text() in symbols
            item.setCheckState(QtCore.Qt.CheckState.Checked if checked else QtCore.Qt.CheckState.Unchecked)

    def duration_ns(self) -> int:
        """The simulated duration in nanoseconds."""
        seconds = self.duration.value() * DURATION_UNITS[self.duration_unit.currentText()]
        return round(seconds * NANOS_PER_SECOND)

    def build_request(self) -> BacktestRequest:
        """The request the form describes; raises :class:`SetupError` with what to fix."""
        info = self.strategy_info()
        if info is None:
            raise SetupError("no strategy to test: the engine offers none")
        if self._config is None:
            raise SetupError("the scenario's configuration could not be read")
        symbols = self.chosen_instruments()
        if len(symbols) < info.min_instruments:
            raise SetupError(f"{info.name} needs at least {info.min_instruments} instrument(s)")
        if info.max_instruments is not None and len(symbols) > info.max_instruments:
            raise SetupError(f"{info.name} takes at most {info.max_instruments} instrument(s)")
        return BacktestRequest(
            strategy=info.name,
            params=self.param_values(),
            instruments=symbols,
            seed=self.seed.value(),
            duration_ns=self.duration_ns(),
            account=self._account_for(self._config),
        )

    def _account_for(self, config: EngineConfig) -> str:
        names = [account.name for account in config.accounts]
        return self._account if self._account in names or not names else names[0]

    # --- reactions -----------------------------------------------------------------------------------------------

    def _on_strategy(self, name: str) -> None:
        info = self._strategies.get(name)
        params = () if info is None else info.params
        form, read = build_param_form(params, invalid_colour=self._theme.hex("reject"))
        self._read_params = read
        self.params_area.setWidget(form)
        # Show the whole form when it fits a screen; long forms scroll.
        self.params_area.setMinimumHeight(min(form.sizeHint().height() + 4, MAX_FORM_HEIGHT))
        self.description.setText("" if info is None else info.description)
        self.description.setVisible(bool(info and info.description))
        if info is not None and len(self.chosen_instruments()) < info.min_instruments:
            self._check_first(info.min_instruments)
        self.strategy_changed.emit(name)

    def _check_first(self, count: int) -> None:
        symbols = [self.instruments.item(row).text() for row in range(self.instruments.count())]
        self.set_instruments(symbols[: max(count, 1)])

    def _on_scenario(self) -> None:
        chosen = set(self.chosen_instruments())
        self.instruments.clear()
        try:
            self._config = self.current_scenario().load()
        except ConfigError as error:
            self._config = None
            self.scenario.setToolTip(str(error))
            return
        self.scenario.setToolTip(self._config.source)
        for entry in self._config.instruments:
            item = QtWidgets.QListWidgetItem(entry.instrument.symbol)
            item.setFlags(item.flags() | QtCore.Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(QtCore.Qt.CheckState.Unchecked)
            self.instruments.addItem(item)
        kept = [symbol for symbol in chosen if self.instruments.findItems(symbol, QtCore.Qt.MatchFlag.MatchExactly)]
        if kept:
            self.set_instruments(kept)
        else:
            info = self.strategy_info()
            self._check_first(info.min_instruments if info is not None else 1)

    def _choose_scenario_file(self) -> None:
        path, _filter = QtWidgets.QFileDialog.getOpenFileName(
            self, "Engine configuration", "", "Engine configuration (*.toml);;All files (*)"
        )
        if path:
            self.add_scenario(Scenario(name=Path(path).stem, config_path=path), select=True)

    def add_scenario(self, scenario: Scenario, *, select: bool = False) -> None:
        """Offer ``scenario`` (once) and, with ``select``, choose it."""
        for index in range(self.scenario.count()):
            if self.scenario.itemData(index) == scenario:
                if select:
                    self.scenario.setCurrentIndex(index)
                return
        self.scenario.addItem(scenario.name, scenario)
        if select:
            self.scenario.setCurrentIndex(self.scenario.count() - 1)


def scenarios_for(config_source: str | None) -> list[Scenario]:
    """The scenarios offered at first: the desktop engine's configuration file (if it has one) and the defaults."""
    scenarios = [Scenario(name="Default market")]
    if config_source and config_source != DEFAULTS_SOURCE:
        scenarios.insert(0, Scenario(name=f"Desktop ({Path(config_source).name})", config_path=config_source))
    return scenarios
