"""The P&L panel on a live embedded engine: positions, P&L, totals, the equity curve and the daily loss gauge."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from PySide6 import QtCore, QtGui
from pytestqt.qtbot import QtBot

from core.enums import OrdStatus, Side
from core.numbers import decimal_to_money
from engine.client.embedded import EmbeddedClient
from engine.text import money_cents
from tests.workstation.conftest import Desktop
from workstation.plugins import pnl
from workstation.plugins.pnl import LossGauge, PnlPanel, average_price_text
from workstation.state.orders import TERMINAL


def _panel(desktop: Desktop, qtbot: QtBot) -> PnlPanel:
    panel = pnl.SPEC.factory(desktop.context)
    assert isinstance(panel, PnlPanel)
    qtbot.addWidget(panel)
    panel.resize(900, 520)
    panel.show()
    return panel


def _cells(panel: PnlPanel, instrument: str) -> list[str]:
    model = panel.model
    for row in range(model.rowCount()):
        if model.data(model.index(row, 1)) == instrument:
            return [model.data(model.index(row, column)) for column in range(model.columnCount())]
    raise AssertionError(f"no line for {instrument}")


def _fill(desktop: Desktop, side: Side, target: int) -> None:
    """Buy or sell at best until the AAPL position is ``target`` (the market may move away: retry, bounded)."""
    state = desktop.state

    def held() -> int:
        position = state.positions.position("main", "AAPL")
        return 0 if position is None else position.quantity

    for _ in range(8):
        needed = abs(target - held())
        if needed == 0:
            return
        client_order_id = desktop.commands.at_best("AAPL", side, needed)
        assert client_order_id is not None
        row = state.orders.row_of(client_order_id)
        assert row is not None
        try:
            desktop.wait_for(lambda: state.orders.status(row) is OrdStatus.FILLED, timeout=1.5)  # noqa: B023
        except AssertionError:
            desktop.commands.cancel(client_order_id)
            desktop.wait_for(lambda: state.orders.status(row) in TERMINAL, timeout=5)  # noqa: B023
        desktop.pump(0.05)  # the position update follows the fill
    assert held() == target


def test_a_fill_shows_as_a_position_with_its_pnl(desktop: Desktop, qtbot: QtBot) -> None:
    panel = _panel(desktop, qtbot)
    desktop.frame()
    assert _cells(panel, "0 positions")[0] == "Total"

    _fill(desktop, Side.BUY, 100)
    desktop.frame()
    state = desktop.state
    position = state.positions.position("main", "AAPL")
    assert position is not None
    account, instrument, quantity, average, mark, realized, unrealized, fees, net = _cells(panel, "AAPL")
    assert (account, instrument, quantity) == ("main", "AAPL", "100")
    fraction = position.average_price()
    assert fraction is not None
    assert average == average_price_text(position.instrument, *fraction)
    assert Decimal(mark) == position.instrument.to_decimal(state.market("AAPL").mid() or 0)
    assert unrealized == money_cents(state.positions.unrealized(position))
    assert fees == money_cents(position.fees)
    assert position.fees != 0
    assert net == money_cents(position.realized + state.positions.unrealized(position) - position.fees)
    totals = _cells(panel, "1 position")
    assert totals[0] == "Total"
    assert totals[8] == money_cents(state.positions.net())
    assert panel.net_label.text() == money_cents(state.positions.net())
    panel.resize(600, 520)  # as narrow as the panel is in the default layout
    desktop.frame()
    header = panel.table.horizontalHeader()
    for column, text in enumerate(pnl.COLUMNS):  # no header or total cut short
        assert header.sectionSize(column) >= header.fontMetrics().horizontalAdvance(text), text
    bold = QtGui.QFont(panel.table.font())
    bold.setBold(True)
    assert header.sectionSize(1) >= QtGui.QFontMetrics(bold).horizontalAdvance("1 position")
    net = pnl.COLUMNS.index("Net")
    assert [pnl.COLUMNS[header.logicalIndex(shown)] for shown in range(5)] == [
        "Account", "Symbol", "Qty", "Avg Px", "Net",
    ]  # fmt: skip
    assert header.sectionViewportPosition(net) + header.sectionSize(net) <= panel.table.viewport().width()

    _fill(desktop, Side.SELL, 0)
    desktop.frame()
    position = state.positions.position("main", "AAPL")
    assert position is not None
    _, _, quantity, average, _, realized, unrealized, _, _ = _cells(panel, "AAPL")
    assert quantity == "0"
    assert average == ""
    assert realized == money_cents(position.realized)
    assert unrealized == "0.00"


def test_the_equity_curve_plots_the_samples(desktop: Desktop, qtbot: QtBot) -> None:
    panel = _panel(desktop, qtbot)
    desktop.frame()
    positions = desktop.state.positions
    assert positions.samples == 1  # the panel's first sample; the window takes the rest
    desktop.frame()
    assert positions.samples == 1  # never sampled twice
    for offset in (1, 2, 3):
        positions.sample_equity(desktop.state.now_ns() + offset * 1_000_000_000)
    desktop.frame()
    xs, ys = panel.curve.getData()
    assert len(xs) == 4
    assert len(ys) == 4


def test_the_gauge_shows_the_loss_against_the_daily_limit(desktop: Desktop, qtbot: QtBot) -> None:
    panel = _panel(desktop, qtbot)
    limit = decimal_to_money(Decimal(str(desktop.state.risk_limit("main", "daily_loss", "limit"))))
    gauge = panel.gauges["main"]
    assert gauge.limit == limit
    desktop.frame()
    assert gauge.text() == f"used 0.00 of {money_cents(limit)}"

    _fill(desktop, Side.BUY, 100)
    desktop.frame()
    used = max(0, -desktop.state.positions.net("main"))
    assert gauge.used == used
    assert gauge.text() == f"used {money_cents(used)} of {money_cents(limit)}"
    assert gauge.role() == "profit"  # a few cents of a 50,000 limit


def test_the_gauge_turns_amber_then_red(desktop: Desktop, qtbot: QtBot) -> None:
    gauge = LossGauge(desktop.context.theme, "main", 1_000)
    qtbot.addWidget(gauge)
    gauge.resize(300, 18)
    gauge.show()
    colours = []
    for used, role in (
        (-50, "profit"),
        (400, "profit"),
        (500, "warning"),
        (799, "warning"),
        (800, "loss"),
        (1_500, "loss"),
    ):
        gauge.set_used(used)
        assert gauge.role() == role
        image = gauge.grab().toImage()
        colours.append(image.pixelColor(QtCore.QPoint(4, image.height() // 2)).name())
    assert gauge.used == 1_500
    assert gauge.fraction() == 1.5
    assert len({colours[1], colours[2], colours[4]}) == 3  # three different colours painted


def test_the_gauge_counts_the_loss_of_the_trading_day_only(desktop: Desktop, qtbot: QtBot) -> None:
    panel = _panel(desktop, qtbot)
    _fill(desktop, Side.BUY, 100)
    positions = desktop.state.positions
    fees = positions.totals("main")[2]
    assert fees != 0, "the fill paid a fee (or earned a rebate)"

    client = desktop.session.client
    assert isinstance(client, EmbeddedClient)
    client.runtime.engine.start_day(date(2030, 1, 2))  # the roll, as the engine's calendar does it
    desktop.pump(0.1)
    desktop.frame()
    day_realized, day_unrealized, day_fees = positions.day_totals("main")
    assert (day_realized, day_fees) == (0, 0), "what was realized and paid before the roll is not the day's"
    assert positions.totals("main")[2] == fees, "the position keeps its lifetime figures"
    assert panel.gauges["main"].used == max(0, -(day_realized + day_unrealized - day_fees))
    assert panel.day_label.text() == f"day {money_cents(positions.day_net())}"
