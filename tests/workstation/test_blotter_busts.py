"""A venue breaks one of the desktop's fills: the blotter marks it busted, the order's filled quantity and average
price lose it, the position and the P&L follow, and the log says so (offscreen, over an embedded engine)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from PySide6 import QtCore, QtGui

from core.enums import ExecType, OrdStatus, Side, TimeInForce
from core.orders import report_for
from workstation.plugins import pnl
from workstation.plugins.blotter.columns import average_price_text
from workstation.plugins.blotter.panel import EXECUTIONS_TAB
from workstation.state.audit import Severity

from .conftest import Desktop
from .test_blotter import open_blotter

Qt = QtCore.Qt


def _pnl_quantity(panel: pnl.PnlPanel) -> str:
    """The Qty cell of the AAPL line of the P&L panel."""
    model = panel.model
    row = next(row for row in range(model.rowCount()) if model.data(model.index(row, 1)) == "AAPL")
    return str(model.data(model.index(row, pnl.COLUMNS.index("Qty"))))


def _sweep(desktop: Desktop) -> str:
    """A buy through several offers (immediate or cancel): done, in several fills."""
    ask = desktop.commands.best_price("AAPL", Side.BUY)
    assert ask is not None
    tick = desktop.state.instruments["AAPL"].tick_size
    client_order_id = desktop.commands.submit("AAPL", Side.BUY, 2_000, ask + 20 * tick, time_in_force=TimeInForce.IOC)
    assert client_order_id is not None
    orders = desktop.state.orders
    done = (OrdStatus.FILLED, OrdStatus.CANCELED)
    desktop.wait_for(lambda: (row := orders.row_of(client_order_id)) is not None and orders.status(row) in done)
    return client_order_id


def test_the_blotter_marks_a_busted_fill_and_the_order_and_position_lose_it(
    desktop: Desktop, qtbot: object, tmp_path: Path
) -> None:
    panel = open_blotter(desktop, qtbot)
    pnl_panel = pnl.SPEC.factory(desktop.context)
    assert isinstance(pnl_panel, pnl.PnlPanel)
    qtbot.addWidget(pnl_panel)  # type: ignore[attr-defined]
    pnl_panel.resize(900, 300)
    pnl_panel.show()
    buy = _sweep(desktop)
    state = desktop.state
    fills = [row for row in range(len(state.executions)) if state.executions.client_order_ids[row] == buy]
    assert len(fills) >= 2, "the sweep filled at several prices"
    desktop.wait_for(lambda: (p := state.positions.position("main", "AAPL")) is not None and p.quantity > 0)
    position = state.positions.position("main", "AAPL")
    assert position is not None
    bought = position.quantity
    desktop.frame()
    assert _pnl_quantity(pnl_panel) == f"{bought:,}"
    busted_row = fills[0]
    busted_qty = state.executions.columns.get(busted_row, "quantity")
    busted_price = state.executions.columns.get(busted_row, "price")

    # The venue breaks the first fill: the engine, the venue's listener, is told.
    engine = desktop.session.client.runtime.engine  # type: ignore[attr-defined]
    order = engine.orders.by_client_id(buy)
    bust = report_for(
        order, exec_id="BUST-1", exec_type=ExecType.TRADE_CANCEL, ord_status=order.status, ts_ns=engine.now_ns(),
        cum_qty=order.cum_qty - busted_qty, last_qty=busted_qty, last_price=busted_price, reason="erroneous",
    )  # fmt: skip
    engine.on_execution(dataclasses.replace(bust, ref_exec_id=state.executions.exec_ids[busted_row]))
    desktop.wait_for(lambda: state.executions.busted(busted_row))
    desktop.wait_for(lambda: (p := state.positions.position("main", "AAPL")) is not None and p.quantity < bought)

    panel.tabs.setCurrentIndex(EXECUTIONS_TAB)
    desktop.frame()
    executions = panel.executions_model
    columns = executions.columns
    shown = [executions.table_row(view_row) for view_row in range(executions.rowCount())]
    assert sorted(shown) == sorted(fills), "a busted fill keeps its row"
    for view_row, row in enumerate(shown):
        status = executions.data(executions.index(view_row, columns.index("status")))
        price = executions.index(view_row, columns.index("price"))
        font = executions.data(price, Qt.ItemDataRole.FontRole)
        if row == busted_row:
            assert status == "Busted"
            assert isinstance(font, QtGui.QFont)
            assert font.strikeOut()
            assert executions.data(price, Qt.ItemDataRole.ForegroundRole) == desktop.context.theme.colour("muted")
        else:
            assert status == ""
            assert font is None

    # The order lost the fill: filled quantity and average price are those of the other fills.
    panel.grab().save(str(tmp_path / "executions.png"))
    panel.tabs.setCurrentIndex(0)
    desktop.frame()
    orders = panel.orders_model
    order_row = state.orders.row_of(buy)
    assert order_row is not None
    others = [row for row in fills if row != busted_row]
    column = state.executions.columns.get
    left = sum(column(row, "quantity") for row in others)
    cost = sum(column(row, "quantity") * column(row, "price") for row in others)
    view_row = [orders.table_row(r) for r in range(orders.rowCount())].index(order_row)
    cell = {name: orders.data(orders.index(view_row, orders.columns.index(name))) for name in ("filled", "average")}
    assert cell == {"filled": str(left), "average": average_price_text(state.instruments["AAPL"], cost, left)}
    assert state.orders.columns.get(order_row, "cum_qty") == left == order.cum_qty

    # The position and the P&L follow the engine's; the log tells the trader.
    position = state.positions.position("main", "AAPL")
    assert position is not None
    assert (position.quantity, position.cost) == (bought - busted_qty, engine.position("main", "AAPL").cost)
    assert state.positions.totals("main")[0] == engine.position("main", "AAPL").realized
    [entry] = [entry for entry in state.audit.entries if "busted" in entry.message]
    assert (entry.severity, entry.source) == (Severity.WARNING, "order")
    assert entry.message == (
        f"{buy} buy {busted_qty} AAPL: fill {state.executions.exec_ids[busted_row]} busted (erroneous)"
    )

    desktop.frame()
    assert _pnl_quantity(pnl_panel) == f"{bought - busted_qty:,}"
    panel.grab().save(str(tmp_path / "orders.png"))
    pnl_panel.grab().save(str(tmp_path / "pnl.png"))
    assert all((tmp_path / name).stat().st_size > 0 for name in ("executions.png", "orders.png", "pnl.png"))
