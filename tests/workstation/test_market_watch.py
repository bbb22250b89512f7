"""The market watch on a live embedded engine: every instrument's prices, flashes, and driving a link group."""

from __future__ import annotations

from decimal import Decimal

from PySide6 import QtCore, QtGui
from pytestqt.qtbot import QtBot

from engine.text import price_text
from tests.workstation.conftest import Desktop
from workstation.panel import Panel
from workstation.plugins import market_watch
from workstation.plugins.market_watch import ASK, BID, COLUMNS, FLASHING, LAST, VOLUME, MarketWatch

LEFT = QtCore.Qt.MouseButton.LeftButton


class Follower(Panel):
    """Any panel that follows an instrument (a chart, a ladder)."""


def _watch(desktop: Desktop, qtbot: QtBot) -> MarketWatch:
    panel = market_watch.SPEC.factory(desktop.context)
    assert isinstance(panel, MarketWatch)
    qtbot.addWidget(panel)
    panel.resize(panel.sizeHint().width(), 200)  # as a dock opens it
    panel.show()
    return panel


def _text(panel: MarketWatch, row: int, column: int) -> str:
    return str(panel.model.data(panel.model.index(row, column)))


def test_every_instrument_shows_its_prices(desktop: Desktop, qtbot: QtBot) -> None:
    panel = _watch(desktop, qtbot)
    desktop.wait_for(lambda: all(m.last_price is not None for m in desktop.state.markets.values()))
    desktop.frame()
    model = panel.model
    assert model.rowCount() == 4
    assert model.columnCount() == len(COLUMNS)
    assert [_text(panel, row, 0) for row in range(4)] == ["AAPL", "MSFT", "SPY", "QQQ"]
    for row in range(4):
        market = desktop.state.market(_text(panel, row, 0))
        bid, ask = market.best_bid(), market.best_ask()
        assert bid is not None
        assert ask is not None
        assert market.last_price is not None
        assert _text(panel, row, BID) == price_text(market.instrument, bid[0])
        assert _text(panel, row, ASK) == price_text(market.instrument, ask[0])
        assert _text(panel, row, 1) == f"{bid[1]:,}"
        assert _text(panel, row, 4) == f"{ask[1]:,}"
        assert _text(panel, row, LAST) == price_text(market.instrument, market.last_price)
        assert _text(panel, row, VOLUME) == f"{market.volume:,}"
        assert _text(panel, row, 9).endswith(("ms", " s"))
        change = market.last_price - (market.reference_price or 0)
        sign = "+" if change > 0 else "-" if change < 0 else ""
        assert Decimal(_text(panel, row, 6)) == market.instrument.to_decimal(change)
        assert _text(panel, row, 6).startswith(sign)
        assert _text(panel, row, 7).endswith("%")


def test_a_price_move_flashes_its_cell(desktop: Desktop, qtbot: QtBot) -> None:
    panel = _watch(desktop, qtbot)
    desktop.frame()
    theme = desktop.context.theme
    model = panel.model

    seen: list[QtGui.QColor] = []

    def flashing() -> bool:
        desktop.frame()
        seen[:] = [
            model.data(model.index(row, column), QtCore.Qt.ItemDataRole.BackgroundRole)
            for row in range(model.rowCount())
            for column in FLASHING
            if column in model.lines[row].flashes
        ]
        return bool(seen)

    desktop.wait_for(flashing, timeout=10)
    assert all(colour.rgb() in (theme.colour("profit").rgb(), theme.colour("loss").rgb()) for colour in seen)
    assert all(colour.alpha() > 0 for colour in seen)


def test_choosing_a_row_moves_the_linked_panels(desktop: Desktop, qtbot: QtBot) -> None:
    panel = _watch(desktop, qtbot)
    follower = Follower(desktop.context)
    qtbot.addWidget(follower)
    unlinked = Follower(desktop.context)
    qtbot.addWidget(unlinked)
    panel.set_link_group("red")
    follower.set_link_group("red")
    desktop.frame()
    assert follower.instrument == "AAPL"

    row = panel.model.row_of("MSFT")
    assert row is not None
    rect = panel.table.visualRect(panel.model.index(row, 2))
    qtbot.mouseClick(panel.table.viewport(), LEFT, pos=rect.center())
    assert panel.instrument == "MSFT"
    assert follower.instrument == "MSFT"
    assert unlinked.instrument == "AAPL"
    assert desktop.context.links.instrument("red") == "MSFT"

    qtbot.keyClick(panel.table, QtCore.Qt.Key.Key_Down)  # the keyboard chooses too
    assert follower.instrument == "SPY"

    follower.set_instrument("QQQ")  # and the watch follows its group
    assert panel.instrument == "QQQ"
    assert [index.row() for index in panel.table.selectionModel().selectedRows()] == [panel.model.row_of("QQQ")]


def test_a_narrow_watch_keeps_the_prices_and_drops_the_rest(desktop: Desktop, qtbot: QtBot) -> None:
    panel = _watch(desktop, qtbot)
    shown = [column for column in range(len(COLUMNS)) if not panel.table.isColumnHidden(column)]
    assert shown == list(range(len(COLUMNS)))
    panel.resize(260, 200)
    desktop.frame()
    shown_names = [COLUMNS[column] for column in range(len(COLUMNS)) if not panel.table.isColumnHidden(column)]
    assert shown_names[:3] == ["Symbol", "Bid", "Ask"]
    assert "Age" not in shown_names
    assert panel.sizeHint().width() > 600  # a dock opens wide enough for every column
    panel.resize(900, 200)
    assert not any(panel.table.isColumnHidden(column) for column in range(len(COLUMNS)))
