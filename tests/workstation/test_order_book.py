"""The order book panel on a real embedded engine: the trader clicks the ladder and checks what the state and the
painted rows say."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PySide6 import QtCore, QtGui
from pytestqt.qtbot import QtBot

from core.book import DepthSnapshot
from core.enums import OrdStatus, Side
from workstation.plugins.order_book import OrderBookPanel, register_panels
from workstation.plugins.order_book.axis import PriceAxis
from workstation.plugins.order_book.depth_history import DepthHistory
from workstation.plugins.order_book.ladder import Column, PriceLadder
from workstation.plugins.order_book.rows import LadderRow

from .conftest import Desktop

SYMBOL = "AAPL"
TICK = 100
LEFT = QtCore.Qt.MouseButton.LeftButton


def open_panel(desktop: Desktop, qtbot: QtBot) -> OrderBookPanel:
    (spec,) = register_panels()
    panel = spec.factory(desktop.context)
    assert isinstance(panel, OrderBookPanel)
    qtbot.addWidget(panel)
    panel.resize(1100, 720)
    panel.show()
    desktop.wait_for(lambda: desktop.state.market(SYMBOL).best_bid() is not None)
    desktop.frame()
    return panel


def settle(desktop: Desktop, condition: Callable[[], bool], timeout: float = 10.0) -> None:
    """Run the market until ``condition`` holds, then repaint."""
    desktop.wait_for(condition, timeout)
    desktop.frame()


def best_bid(desktop: Desktop) -> int:
    level = desktop.state.market(SYMBOL).best_bid()
    assert level is not None
    return level[0]


def best_ask(desktop: Desktop) -> int:
    level = desktop.state.market(SYMBOL).best_ask()
    assert level is not None
    return level[0]


def row_of(ladder: PriceLadder, price: int) -> LadderRow:
    rows = [row for row in ladder.rows() if row.price == price]
    assert rows, f"price {price} not on the ladder"
    return rows[0]


def status(desktop: Desktop, client_order_id: str) -> OrdStatus:
    row = desktop.state.orders.row_of(client_order_id)
    assert row is not None
    return desktop.state.orders.status(row)


def click(qtbot: QtBot, ladder: PriceLadder, column: Column, price: int) -> None:
    rect = ladder.column_rect(column, price)
    assert not rect.isNull(), f"{column} at {price} is not visible"
    qtbot.mouseClick(ladder, LEFT, pos=rect.center())


def working_at(desktop: Desktop, side: Side, price: int) -> list[str]:
    return [
        order.client_order_id
        for order in desktop.state.orders.working(SYMBOL)
        if order.side is side and order.price == price
    ]


def test_the_plugin_registers_the_order_book_on_the_left() -> None:
    (spec,) = register_panels()
    assert (spec.name, spec.title, spec.area) == ("order-book", "Order Book", "left")


def test_a_click_in_the_bid_column_buys_there_and_a_click_on_the_order_cancels_it(
    desktop: Desktop, qtbot: QtBot
) -> None:
    panel = open_panel(desktop, qtbot)
    ladder = panel.ladder
    price = best_bid(desktop) - 8 * TICK
    click(qtbot, ladder, Column.BID, price)
    (order_id,) = working_at(desktop, Side.BUY, price)
    desktop.frame()
    shown = row_of(ladder, price)
    assert shown.own_buy == desktop.context.settings.default_quantity
    assert shown.own_buy_pending, "sent but not acknowledged yet: greyed"

    settle(desktop, lambda: status(desktop, order_id) is OrdStatus.NEW)
    assert not row_of(ladder, price).own_buy_pending

    click(qtbot, ladder, Column.OWN_BUY, price)
    assert status(desktop, order_id) is OrdStatus.PENDING_CANCEL
    settle(desktop, lambda: status(desktop, order_id) is OrdStatus.CANCELED)
    assert row_of(ladder, price).own_buy == 0


def test_dragging_an_own_order_to_another_row_moves_it_there(desktop: Desktop, qtbot: QtBot) -> None:
    panel = open_panel(desktop, qtbot)
    ladder = panel.ladder
    price = best_ask(desktop) + 8 * TICK
    click(qtbot, ladder, Column.ASK, price)
    (order_id,) = working_at(desktop, Side.SELL, price)
    settle(desktop, lambda: status(desktop, order_id) is OrdStatus.NEW)

    target = price + 3 * TICK
    start = ladder.column_rect(Column.OWN_SELL, price).center()
    end = ladder.column_rect(Column.OWN_SELL, target).center()
    qtbot.mousePress(ladder, LEFT, pos=start)
    qtbot.mouseMove(ladder, pos=end)
    qtbot.mouseRelease(ladder, LEFT, pos=end)
    orders = desktop.state.orders

    def moved() -> bool:
        row = orders.row_of(order_id)
        return row is not None and orders.price(row) == target and orders.status(row) is OrdStatus.REPLACED

    settle(desktop, moved)

    assert row_of(ladder, target).own_sell == desktop.context.settings.default_quantity
    assert row_of(ladder, price).own_sell == 0


def test_a_marketable_click_fills_and_the_position_marker_appears(desktop: Desktop, qtbot: QtBot) -> None:
    panel = open_panel(desktop, qtbot)
    ladder = panel.ladder
    quantity = desktop.context.settings.default_quantity
    # The bid column buys: two ticks through the offer, so the order fills even if the offer moves up a tick.
    click(qtbot, ladder, Column.BID, best_ask(desktop) + 2 * TICK)
    positions = desktop.state.positions
    account = desktop.context.settings.account

    def filled() -> bool:
        position = positions.position(account, SYMBOL)
        return position is not None and position.quantity == quantity

    settle(desktop, filled)
    marked = [row for row in ladder.rows() if row.position is not None]
    assert [row.position for row in marked] == [quantity]
    assert marked[0].price <= best_ask(desktop) + 2 * TICK
    assert f"Pos +{quantity} @ " in panel.info.text()
    assert any(row.last_trade and row.last_qty > 0 for row in ladder.rows())


def test_a_rejected_order_flashes_at_its_price_with_the_reason(desktop: Desktop, qtbot: QtBot, tmp_path: Path) -> None:
    panel = open_panel(desktop, qtbot)
    ladder = panel.ladder
    desktop.context.settings.default_quantity = 20_000  # above the default max order size (10,000)
    price = best_bid(desktop) - 5 * TICK
    click(qtbot, ladder, Column.BID, price)
    (order_id,) = working_at(desktop, Side.BUY, price)
    settle(desktop, lambda: order_id in desktop.state.last_rejects)

    reason = desktop.state.last_rejects[order_id]
    assert reason.startswith("max_order_")
    assert [row.price for row in ladder.rows() if row.rejected] == [price]
    assert reason in ladder.status_text
    assert "rejected" in ladder.status_text
    ladder.grab().save(str(tmp_path / "order_book_reject.png"))

    desktop.frame()
    assert [row.price for row in ladder.rows() if row.rejected] == [price], "flashes for a while, not one frame"
    assert reason in ladder.status_text


def test_the_heatmap_fills_with_the_book_as_the_market_runs(desktop: Desktop, qtbot: QtBot) -> None:
    panel = open_panel(desktop, qtbot)
    heatmap = panel.heatmap
    for _ in range(60):
        if heatmap.history.samples >= 5:
            break
        desktop.pump(0.1)
        desktop.frame()
    assert heatmap.history.samples >= 5
    image = heatmap.image_item.image
    assert image is not None
    assert np.count_nonzero(image) > 0
    newest = heatmap.history.image()[-1]
    assert np.count_nonzero(newest) >= 4, "the latest column holds the resting levels of both sides"

    ladder = panel.ladder
    for price in (best_bid(desktop) - 10 * TICK, best_bid(desktop) + 10 * TICK):  # heatmap rows continue the ladder's
        scene = heatmap.view.mapViewToScene(QtCore.QPointF(0, price / TICK))
        on_heatmap = heatmap.plot.mapTo(panel, heatmap.plot.mapFromScene(scene)).y()
        on_ladder = ladder.mapTo(panel, ladder.column_rect(Column.PRICE, price).center()).y()
        assert abs(on_heatmap - on_ladder) <= 2


def test_the_ladder_keeps_its_prices_while_the_inside_stays_in_view(desktop: Desktop, qtbot: QtBot) -> None:
    panel = open_panel(desktop, qtbot)
    ladder = panel.ladder
    top = ladder.price_at_row(0)
    rows = len(ladder.rows())
    assert rows > 20
    checked = 0
    for _ in range(25):
        desktop.pump(0.04)
        desktop.frame()
        if ladder.row_at_price(best_bid(desktop)) is None or ladder.row_at_price(best_ask(desktop)) is None:
            break  # the market left the view: recentring is then allowed
        assert ladder.price_at_row(0) == top
        checked += 1
    assert checked > 0


def test_the_wheel_scrolls_the_prices_and_recenter_brings_the_mid_back(desktop: Desktop, qtbot: QtBot) -> None:
    panel = open_panel(desktop, qtbot)
    ladder = panel.ladder
    top = ladder.price_at_row(0)
    assert top is not None
    centre = ladder.rect().center()
    for _ in range(10):  # scroll far above the market: it leaves the view, and the view stays where it was put
        event = QtGui.QWheelEvent(
            QtCore.QPointF(centre), QtCore.QPointF(ladder.mapToGlobal(centre)), QtCore.QPoint(),
            QtCore.QPoint(0, 120), QtCore.Qt.MouseButton.NoButton, QtCore.Qt.KeyboardModifier.NoModifier,
            QtCore.Qt.ScrollPhase.NoScrollPhase, False,
        )  # fmt: skip
        QtCore.QCoreApplication.sendEvent(ladder, event)
    scrolled = ladder.price_at_row(0)
    assert scrolled == top + 30 * TICK
    desktop.pump(0.1)
    desktop.frame()
    assert ladder.price_at_row(0) == scrolled

    qtbot.mouseClick(panel.recenter_button, LEFT)
    mid = desktop.state.market(SYMBOL).mid()
    assert mid is not None
    middle = ladder.row_at_price(mid - mid % TICK)
    assert middle is not None
    assert abs(middle - len(ladder.rows()) // 2) <= 1


def test_the_workspace_keeps_the_instrument_link_group_and_widths(desktop: Desktop, qtbot: QtBot) -> None:
    panel = open_panel(desktop, qtbot)
    panel.set_link_group("red")
    panel.set_instrument("MSFT")
    panel.splitter.setSizes([420, 500, 140])
    saved = dict(panel.save_state())
    assert saved["instrument"] == "MSFT"
    assert saved["link_group"] == "red"

    again = open_panel(desktop, qtbot)
    again.restore_state(saved)
    assert (again.instrument, again.link_group, again.ladder.symbol) == ("MSFT", "red", "MSFT")
    assert again.splitter.sizes() == saved["splitter"]
    desktop.frame()
    assert again.ladder.rows()[0].price_text.startswith("4"), "MSFT trades around 420"


def test_the_full_panel_renders_with_orders_trades_and_volume(desktop: Desktop, qtbot: QtBot, tmp_path: Path) -> None:
    panel = open_panel(desktop, qtbot)
    ladder = panel.ladder
    click(qtbot, ladder, Column.BID, best_bid(desktop) - 3 * TICK)
    click(qtbot, ladder, Column.ASK, best_ask(desktop) + 4 * TICK)
    click(qtbot, ladder, Column.ASK, best_bid(desktop) - 2 * TICK)  # sells through the bid: a fill
    for _ in range(40):
        desktop.pump(0.05)
        desktop.frame()
    profile = panel.profile
    assert any(buy or sell for _, buy, sell in profile.bars())
    assert profile.point_of_control is not None
    assert panel.heatmap.trade_count > 0, "the trades are drawn over the heatmap"
    image = panel.grab().toImage()
    path = tmp_path / "order_book.png"
    assert image.save(str(path))
    background = QtGui.QColor(desktop.context.theme.hex("background")).rgb()
    ladder_image = ladder.grab().toImage()
    painted = {
        ladder_image.pixel(x, y) for x in range(0, ladder_image.width(), 7) for y in range(0, ladder_image.height(), 7)
    }
    assert len(painted - {background}) > 5, "the ladder is painted, not blank"


# --- the axis and the depth history alone --------------------------------------------------------------------------


def test_the_axis_recentres_only_when_the_inside_leaves_the_view_while_following() -> None:
    axis = PriceAxis(TICK)
    axis.set_rows(21)
    assert axis.keep_inside(10_000, 10_100, 10_050)
    assert axis.row_at_price(10_000) == 10
    assert not axis.keep_inside(10_500, 10_600, 10_550), "still in view: no move"
    assert axis.top == 11_000
    assert axis.keep_inside(12_000, 12_100, 12_050), "the market left the view"
    assert axis.row_at_price(12_000) == 10
    axis.scroll(-30, (12_000, 12_100))
    assert not axis.follow
    assert not axis.keep_inside(12_000, 12_100, 12_050), "scrolled away on purpose: the view stays"
    axis.center_on(12_050)
    assert axis.follow
    assert axis.row_at_price(12_000) == 10


@pytest.mark.parametrize("move_ticks", [25, -25, 80, 500])
def test_the_depth_history_keeps_levels_on_their_prices_when_the_grid_moves(move_ticks: int) -> None:
    history = DepthHistory(TICK, slots=10, levels=100, interval_ns=100)
    book = DepthSnapshot(bids=((50_000, 400, 0),), asks=((50_100, 300, 0),))
    assert history.sample(1_000, book, 50_050)
    assert not history.sample(1_050, book, 50_050), "one sample per slot"
    moved = 50_050 + move_ticks * TICK
    assert history.sample(1_100, DepthSnapshot(bids=(), asks=()), moved)
    assert history.low is not None
    image = history.image()
    row = (50_000 - history.low) // TICK
    if 0 <= row < history.levels:
        assert image[-2, row] == pytest.approx(np.log1p(400))
    else:
        assert not image[-2].any(), "the old levels left the grid"
    assert not image[-1].any()
    bids, asks = history.best_lines()
    assert (bids[-2], asks[-2]) == (500, 501)
    assert np.isnan(bids[-1])
