"""The order ticket on a live embedded engine: orders as entered, checks before sending, and each order's fate."""

from __future__ import annotations

from PySide6 import QtCore
from pytestqt.qtbot import QtBot

from core.enums import OrderType, OrdStatus, Side, TimeInForce
from engine.client.embedded import EmbeddedClient
from engine.text import price_text
from tests.workstation.conftest import Desktop
from workstation.plugins import ticket
from workstation.plugins.ticket import OrderTicket
from workstation.state.orders import TERMINAL

LEFT = QtCore.Qt.MouseButton.LeftButton


def _ticket(desktop: Desktop, qtbot: QtBot) -> OrderTicket:
    panel = ticket.SPEC.factory(desktop.context)
    assert isinstance(panel, OrderTicket)
    qtbot.addWidget(panel)
    panel.resize(320, 420)
    panel.show()
    desktop.frame()
    return panel


def _engine_tif(desktop: Desktop, client_order_id: str) -> TimeInForce:
    client = desktop.session.client
    assert isinstance(client, EmbeddedClient)
    order = client.runtime.engine.orders.by_client_id(client_order_id)
    assert order is not None
    return order.time_in_force


def _sent(panel: OrderTicket, desktop: Desktop, qtbot: QtBot) -> tuple[str, int]:
    before = len(desktop.state.orders)
    qtbot.mouseClick(panel.submit_button, LEFT)
    assert panel.sent_id is not None
    assert len(desktop.state.orders) == before + 1
    row = desktop.state.orders.row_of(panel.sent_id)
    assert row is not None
    return panel.sent_id, row


def test_a_limit_order_goes_out_as_entered_and_shows_working(desktop: Desktop, qtbot: QtBot) -> None:
    panel = _ticket(desktop, qtbot)
    state, orders = desktop.state, desktop.state.orders
    instrument = state.instruments["AAPL"]
    assert panel.instrument == "AAPL"
    assert panel.quantity.value() == desktop.context.settings.default_quantity
    qtbot.mouseClick(panel.quick_buttons[1], LEFT)  # 500
    assert panel.quantity.value() == 500
    qtbot.mouseClick(panel.bid_button, LEFT)
    bid = state.market("AAPL").best_bid()
    assert bid is not None
    assert panel.price.price() == bid[0]
    for _ in range(10):
        panel.price.stepDown()  # ten ticks under the bid: it rests
    price = bid[0] - 10 * instrument.tick_size
    assert panel.price.text() == price_text(instrument, price)
    panel.tif.setCurrentText("GTC")
    assert panel.submit_button.property("role") == "buy"
    assert panel.submit_button.text() == f"BUY 500 AAPL @ {price_text(instrument, price)}  GTC"

    client_order_id, row = _sent(panel, desktop, qtbot)
    desktop.wait_for(lambda: orders.status(row) is OrdStatus.NEW)
    assert orders.side(row) is Side.BUY
    assert orders.order_type(row) is OrderType.LIMIT
    assert orders.price(row) == price
    assert orders.columns.get(row, "quantity") == 500
    assert _engine_tif(desktop, client_order_id) is TimeInForce.GTC
    desktop.frame()
    assert panel.status.text().startswith(f"working {orders.order_ids[row]}")
    desktop.commands.cancel(client_order_id)
    desktop.wait_for(lambda: orders.status(row) in TERMINAL)


def test_a_market_sell_fills_and_says_so(desktop: Desktop, qtbot: QtBot) -> None:
    panel = _ticket(desktop, qtbot)
    orders = desktop.state.orders
    qtbot.mouseClick(panel.sell_button, LEFT)
    assert panel.side is Side.SELL
    assert panel.submit_button.property("role") == "sell"
    assert not panel.buy_button.isChecked()
    panel.set_kind("Market")
    assert not panel.price.isEnabled()
    assert not panel.tif.isEnabled()
    assert panel.submit_button.text() == "SELL 100 AAPL  MKT"

    _client_order_id, row = _sent(panel, desktop, qtbot)
    desktop.wait_for(lambda: orders.status(row) in TERMINAL)
    assert orders.order_type(row) is OrderType.MARKET
    assert orders.price(row) is None
    assert orders.side(row) is Side.SELL
    assert orders.status(row) is OrdStatus.FILLED
    desktop.frame()
    assert panel.status.text().startswith(f"filled {orders.order_ids[row]}: 100 @ ")
    assert panel.status.property("fate") == "profit"


def test_an_ioc_away_from_the_market_is_cancelled_unfilled(desktop: Desktop, qtbot: QtBot) -> None:
    panel = _ticket(desktop, qtbot)
    orders = desktop.state.orders
    panel.set_kind("IOC")
    assert panel.tif.currentText() == "IOC"
    assert not panel.tif.isEnabled()
    panel.fill_price(Side.SELL)  # the bid, for a buy: it cannot trade now
    panel.price.stepBy(-20)
    client_order_id, row = _sent(panel, desktop, qtbot)
    desktop.wait_for(lambda: orders.status(row) in TERMINAL)
    assert orders.status(row) is OrdStatus.CANCELED
    assert orders.columns.get(row, "cum_qty") == 0
    assert _engine_tif(desktop, client_order_id) is TimeInForce.IOC
    desktop.frame()
    assert panel.status.text() == f"canceled {orders.order_ids[row]}: filled 0 of 100"

    panel.set_kind("Limit")
    assert panel.tif.isEnabled()
    assert panel.tif.currentText() == "Day"


def test_a_risk_reject_shows_its_reason(desktop: Desktop, qtbot: QtBot) -> None:
    panel = _ticket(desktop, qtbot)
    limit = desktop.state.risk_limit("main", "max_order_quantity", "limit")
    panel.quantity.setValue(limit * 2)
    panel.fill_price(Side.SELL)
    client_order_id, row = _sent(panel, desktop, qtbot)
    desktop.wait_for(lambda: desktop.state.orders.status(row) is OrdStatus.REJECTED)
    desktop.frame()
    reason = desktop.state.last_rejects[client_order_id]
    assert "max_order_quantity" in reason
    assert panel.status.text() == f"Rejected: {reason}"
    assert panel.status.property("fate") == "reject"


def test_the_ticket_refuses_what_it_can_tell_is_wrong(desktop: Desktop, qtbot: QtBot) -> None:
    panel = _ticket(desktop, qtbot)
    orders = len(desktop.state.orders)
    panel.price.set_price(None)
    qtbot.mouseClick(panel.submit_button, LEFT)
    assert panel.status.text() == "Not sent: enter a limit price"
    panel.price.lineEdit().setText("190.005")
    qtbot.mouseClick(panel.submit_button, LEFT)
    assert panel.status.text() == "Not sent: price 190.005 is off the tick grid of AAPL (tick 0.01)"
    panel.price.lineEdit().setText("abc")
    qtbot.mouseClick(panel.submit_button, LEFT)
    assert panel.status.text() == "Not sent: price 'abc' is not a number"
    panel.price.lineEdit().setText("190.00")
    panel.quantity.setValue(0)
    qtbot.mouseClick(panel.submit_button, LEFT)
    assert panel.status.text() == "Not sent: the quantity must be positive"
    assert panel.status.property("fate") == "reject"
    assert len(desktop.state.orders) == orders
    assert panel.sent_id is None


def test_the_ticket_follows_its_link_group_and_keeps_its_settings(desktop: Desktop, qtbot: QtBot) -> None:
    panel = _ticket(desktop, qtbot)
    panel.set_link_group("blue")
    desktop.context.links.set_instrument("blue", "MSFT")
    assert panel.instrument == "MSFT"
    assert panel.price.text() == ""
    panel.price.stepUp()  # an empty price starts at the market
    assert panel.price.price() == desktop.commands.best_price("MSFT", Side.BUY)
    panel.set_side(Side.SELL)
    panel.set_kind("FOK")
    saved = panel.save_state()
    other = _ticket(desktop, qtbot)
    other.restore_state(saved)
    assert (other.instrument, other.link_group, other.side) == ("MSFT", "blue", Side.SELL)
    assert other.time_in_force() is TimeInForce.FOK
    assert other.order_type() is OrderType.LIMIT
