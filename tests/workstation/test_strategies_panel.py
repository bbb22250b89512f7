"""The strategies panel on a live embedded engine, and the parameter form it generates from declared parameters."""

from __future__ import annotations

from decimal import Decimal

import pytest
from PySide6 import QtCore, QtWidgets
from pytestqt.qtbot import QtBot

from core.params import Param, ParamError
from engine.text import money_cents
from tests.workstation.conftest import Desktop
from workstation.param_form import build_param_form
from workstation.plugins import strategies
from workstation.plugins.strategies import StrategiesPanel

LEFT = QtCore.Qt.MouseButton.LeftButton


def _panel(desktop: Desktop, qtbot: QtBot) -> StrategiesPanel:
    panel = strategies.SPEC.factory(desktop.context)
    assert isinstance(panel, StrategiesPanel)
    qtbot.addWidget(panel)
    panel.resize(900, 260)
    panel.show()
    desktop.frame()
    return panel


def _row(panel: StrategiesPanel, strategy_id: str) -> list[str]:
    model = panel.model
    for row in range(model.rowCount()):
        if model.data(model.index(row, 0)) == strategy_id:
            return [str(model.data(model.index(row, column))) for column in range(model.columnCount())]
    raise AssertionError(f"no line for {strategy_id}")


def test_start_a_market_maker_from_the_form_then_stop_it(desktop: Desktop, qtbot: QtBot) -> None:
    panel = _panel(desktop, qtbot)
    state = desktop.state
    assert panel.model.rowCount() == 0
    assert not panel.stop_button.isEnabled()
    qtbot.mouseClick(panel.start_button, LEFT)
    form = panel.form
    assert form is not None
    assert form.isVisible()
    form.strategy.setCurrentText("market-maker")
    quote_size, half_spread = form.editor("quote_size"), form.editor("half_spread_ticks")
    assert isinstance(quote_size, QtWidgets.QSpinBox)
    assert isinstance(half_spread, QtWidgets.QSpinBox)
    assert quote_size.value() == 100
    assert quote_size.maximum() == 1_000_000
    quote_size.setValue(200)
    half_spread.setValue(3)
    form.set_instruments(["MSFT"])
    qtbot.mouseClick(form.start_button, LEFT)
    desktop.wait_for(lambda: form.task is not None and form.task.done())
    assert not form.isVisible()
    started = [s for s in state.strategies.values() if s.strategy == "market-maker"]
    assert len(started) == 1
    assert started[0].running
    strategy_id = started[0].strategy_id
    assert started[0].instruments == ("MSFT",)
    assert started[0].params["quote_size"] == 200
    assert started[0].params["half_spread_ticks"] == 3

    desktop.frame()
    line = _row(panel, strategy_id)
    assert line[1:5] == ["market-maker", "main", "MSFT", "running"]
    assert "quote_size=200" in line[9]
    assert "half_spread_ticks=3" in line[9]
    assert panel.summary.text() == "1 running, 0 stopped"

    first = state.strategies[strategy_id].ts_ns

    def refreshed() -> bool:
        desktop.frame()
        return state.strategies[strategy_id].ts_ns > first

    desktop.wait_for(refreshed, timeout=5)  # the panel fetches fresh figures while it is shown
    desktop.frame()
    figures = state.strategies[strategy_id]
    assert _row(panel, strategy_id)[5:9] == [
        money_cents(figures.realized), money_cents(figures.unrealized), money_cents(figures.fees),
        money_cents(figures.net),
    ]  # fmt: skip

    panel.select(strategy_id)
    assert panel.stop_button.isEnabled()
    qtbot.mouseClick(panel.stop_button, LEFT)
    desktop.wait_for(lambda: not state.strategies[strategy_id].running)
    desktop.frame()
    assert _row(panel, strategy_id)[4] == "stopped"
    assert panel.summary.text() == "0 running, 1 stopped"
    assert not panel.stop_button.isEnabled()


def test_the_form_says_what_is_missing(desktop: Desktop, qtbot: QtBot) -> None:
    panel = _panel(desktop, qtbot)
    form = panel.open_start_form()
    form.strategy.setCurrentText("market-maker")
    form.set_instruments([])
    qtbot.mouseClick(form.start_button, LEFT)
    assert form.error.text() == "market-maker trades at least 1 instrument(s); 0 chosen"
    assert form.task is None
    assert form.isVisible()


def test_the_engine_refusal_stays_on_the_form(desktop: Desktop, qtbot: QtBot) -> None:
    panel = _panel(desktop, qtbot)
    form = panel.open_start_form()
    form.strategy.setCurrentText("market-maker")
    form.set_instruments(["AAPL"])
    form.account.addItem("nobody")
    form.account.setCurrentText("nobody")
    qtbot.mouseClick(form.start_button, LEFT)
    desktop.wait_for(lambda: form.task is not None and form.task.done())
    assert form.isVisible()
    assert form.error.text().startswith("not started: unknown account 'nobody'")
    desktop.frame()
    assert panel.message.text().startswith("not started: unknown account")


PARAMS = (
    Param(name="window", type=int, default=20, minimum=2, maximum=500, description="samples"),
    Param(name="entry_z", type=float, default=2.0, minimum=0.0, description="entry threshold"),
    Param(name="fee_rate", type=Decimal, default=Decimal("0.0005"), minimum=Decimal(0)),
    Param(name="hedge", type=str, default="fixed", choices=("fixed", "rolling")),
    Param(name="aggressive", type=bool, default=False),
    Param(name="label", type=str, default="x"),
    Param(name="huge", type=int, default=1, maximum=10**12),
)


def test_the_form_is_generated_from_the_declared_parameters(qtbot: QtBot) -> None:
    form, read = build_param_form(PARAMS, {"window": 50})
    qtbot.addWidget(form)
    assert read() == {
        "window": 50, "entry_z": 2.0, "fee_rate": Decimal("0.0005"), "hedge": "fixed", "aggressive": False,
        "label": "x", "huge": 1,
    }  # fmt: skip
    window = form.findChild(QtWidgets.QSpinBox, "window")
    assert window is not None
    assert (window.minimum(), window.maximum()) == (2, 500)
    hedge = form.findChild(QtWidgets.QComboBox, "hedge")
    assert hedge is not None
    assert [hedge.itemText(i) for i in range(hedge.count())] == ["fixed", "rolling"]
    aggressive = form.findChild(QtWidgets.QCheckBox, "aggressive")
    entry = form.findChild(QtWidgets.QLineEdit, "entry_z")
    fee = form.findChild(QtWidgets.QLineEdit, "fee_rate")
    huge = form.findChild(QtWidgets.QLineEdit, "huge")  # beyond a spin box: edited as text
    assert aggressive is not None
    assert entry is not None
    assert fee is not None
    assert huge is not None
    hedge.setCurrentText("rolling")
    aggressive.setChecked(True)
    entry.setText("1.5")
    fee.setText("0.001")
    huge.setText("999999999999")
    values = read()
    assert values["hedge"] == "rolling"
    assert values["aggressive"] is True
    assert values["entry_z"] == 1.5
    assert values["fee_rate"] == Decimal("0.001")
    assert values["huge"] == 999_999_999_999

    entry.setText("-1")
    assert entry.property("invalid") is True
    with pytest.raises(ParamError, match="entry_z"):
        read()
    entry.setText("abc")
    with pytest.raises(ParamError, match="entry_z: expected float"):
        read()
    entry.setText("0.5")
    assert entry.property("invalid") is False
    assert read()["entry_z"] == 0.5
