"""The blotter as a trader uses it: orders and fills appear live, filters narrow, headers sort, cancel and export
act on what is shown; and a million-row table sorts and filters correctly."""

from __future__ import annotations

import csv
import re
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest
from PySide6 import QtCore, QtWidgets

from core.enums import OrdStatus, Side
from workstation.plugins.blotter import (
    WORKING,
    BlotterFilter,
    BlotterPanel,
    BlotterSort,
    OrderModel,
    register_panels,
    select_rows,
    synthetic_executions,
    synthetic_orders,
)
from workstation.plugins.blotter.bench import synthetic_instruments
from workstation.plugins.blotter.columns import ExecutionColumns, TextKeys
from workstation.plugins.blotter.views import DONE, stable_order
from workstation.state import DesktopState
from workstation.state.orders import SIDES, STATUSES, TERMINAL_CODES, ExecutionTable, OrderTable
from workstation.theme import load_theme

from .conftest import Desktop

Qt = QtCore.Qt
MICROSECOND_TIME = re.compile(r"^\d{2}:\d{2}:\d{2}\.\d{6}$")
MICROSECOND_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{6}$")
CENT_PRICE = re.compile(r"^\d+\.\d{2}$")


def open_blotter(desktop: Desktop, qtbot: object) -> BlotterPanel:
    """The blotter panel, shown at 1500 x 420 and rendered once."""
    spec = register_panels()[0]
    panel = spec.factory(desktop.context)
    assert isinstance(panel, BlotterPanel)
    qtbot.addWidget(panel)  # type: ignore[attr-defined]
    panel.resize(1500, 420)
    panel.show()
    desktop.frame()
    return panel


def _column(model: OrderModel | object, name: str) -> list[str]:
    """Every shown cell of column ``name``, top to bottom."""
    assert isinstance(model, QtCore.QAbstractTableModel)
    columns = model.columns  # type: ignore[attr-defined]
    section = columns.index(name)
    return [model.data(model.index(row, section)) for row in range(model.rowCount())]


def _row_of(model: OrderModel, client_order_id: str) -> int:
    return _column(model, "client_order_id").index(client_order_id)


def _cell(model: OrderModel, client_order_id: str, name: str) -> str:
    return str(model.data(model.index(_row_of(model, client_order_id), model.columns.index(name))))


def _status(desktop: Desktop, client_order_id: str) -> OrdStatus:
    row = desktop.state.orders.row_of(client_order_id)
    assert row is not None
    return desktop.state.orders.status(row)


def _resting(desktop: Desktop, symbol: str, side: Side, quantity: int = 100, ticks_away: int = 5) -> str:
    """An order a few ticks behind the touch: it rests."""
    market = desktop.state.market(symbol)
    tick = desktop.state.instruments[symbol].tick_size
    if side is Side.BUY:
        best_bid = market.best_bid()
        assert best_bid is not None
        return desktop.commands.submit(symbol, side, quantity, best_bid[0] - ticks_away * tick)
    best_ask = market.best_ask()
    assert best_ask is not None
    return desktop.commands.submit(symbol, side, quantity, best_ask[0] + ticks_away * tick)


def _marketable(desktop: Desktop, symbol: str, side: Side, quantity: int = 100) -> str:
    price = desktop.commands.best_price(symbol, side)
    assert price is not None
    return desktop.commands.submit(symbol, side, quantity, price)


def _settled(desktop: Desktop, *ids: str) -> None:
    """Wait until the engine has answered every order (none pending)."""
    desktop.wait_for(lambda: all(_status(desktop, i) is not OrdStatus.PENDING_NEW for i in ids), timeout=10)


def test_the_panel_plugin_registers_the_blotter() -> None:
    (spec,) = register_panels()
    assert (spec.name, spec.title, spec.area) == ("blotter", "Blotter", "bottom")
    assert BlotterPanel.linkable is False


def test_orders_and_fills_appear_live_with_their_status(desktop: Desktop, qtbot: object) -> None:
    panel = open_blotter(desktop, qtbot)
    model = panel.orders_model
    theme = desktop.context.theme
    assert model.rowCount() == 0

    resting = _resting(desktop, "AAPL", Side.BUY, 300)
    desktop.frame()
    assert _cell(model, resting, "status") == "Pending New"
    pending_row = _row_of(model, resting)
    assert model.data(model.index(pending_row, 0), Qt.ItemDataRole.ForegroundRole) == theme.colour("pending")

    desktop.wait_for(lambda: _status(desktop, resting) is OrdStatus.NEW)
    desktop.frame()
    assert _cell(model, resting, "status") == "New"
    assert _cell(model, resting, "leaves") == "300"
    assert _cell(model, resting, "order_id") != ""
    new_row = _row_of(model, resting)
    assert model.data(model.index(new_row, model.columns.index("side")), Qt.ItemDataRole.ForegroundRole) == (
        theme.colour("buy")
    )
    assert MICROSECOND_TIME.match(_cell(model, resting, "entered"))

    filled = _marketable(desktop, "AAPL", Side.BUY, 100)
    desktop.wait_for(lambda: _status(desktop, filled) is OrdStatus.FILLED)
    desktop.frame()
    assert model.rowCount() == 2
    assert _column(model, "client_order_id")[0] == filled, "newest first"
    assert _cell(model, filled, "status") == "Filled"
    assert _cell(model, filled, "filled") == "100"
    assert _cell(model, filled, "leaves") == "0"
    assert CENT_PRICE.match(_cell(model, filled, "average"))
    status_cell = model.index(_row_of(model, filled), model.columns.index("status"))
    assert model.data(status_cell, Qt.ItemDataRole.ForegroundRole) == theme.colour("profit")
    assert panel.tabs.tabText(0) == "Orders (2)"

    # The executions tab shows the fill at its price.
    panel.tabs.setCurrentIndex(1)
    desktop.frame()
    fills = panel.executions_model
    assert fills.rowCount() >= 1
    assert set(_column(fills, "client_order_id")) == {filled}
    executions = desktop.state.executions
    instrument = desktop.state.instruments["AAPL"]
    expected_prices = {
        str(instrument.to_decimal(executions.columns.get(row, "price")).quantize(Decimal("0.01")))
        for row in range(len(executions))
    }
    assert set(_column(fills, "price")) == expected_prices
    assert set(_column(fills, "side")) == {"Buy"}
    assert sum(int(quantity) for quantity in _column(fills, "quantity")) == 100
    assert all(MICROSECOND_TIME.match(text) for text in _column(fills, "time"))
    assert not panel.status_combo.isEnabled()


def test_filters_narrow_the_rows_shown(desktop: Desktop, qtbot: object) -> None:
    aapl_buy = _resting(desktop, "AAPL", Side.BUY)
    aapl_sell = _resting(desktop, "AAPL", Side.SELL)
    msft_buy = _resting(desktop, "MSFT", Side.BUY)
    msft_filled = _marketable(desktop, "MSFT", Side.BUY)
    rejected = desktop.commands.submit("SPY", Side.BUY, 20_000, desktop.commands.best_price("SPY", Side.BUY))
    everything = {aapl_buy, aapl_sell, msft_buy, msft_filled, rejected}
    _settled(desktop, *everything)
    desktop.wait_for(lambda: _status(desktop, msft_filled) is OrdStatus.FILLED)
    panel = open_blotter(desktop, qtbot)
    model = panel.orders_model

    def shown(**filters: object) -> set[str]:
        panel.set_filter(**filters)  # type: ignore[arg-type]
        desktop.frame()
        return set(_column(model, "client_order_id"))

    assert shown() == everything
    assert shown(instrument="MSFT") == {msft_buy, msft_filled}
    assert set(_column(model, "instrument")) == {"MSFT"}
    assert shown(side=Side.SELL) == {aapl_sell}
    assert shown(status=WORKING) == {aapl_buy, aapl_sell, msft_buy}
    assert shown(status=DONE) == {msft_filled, rejected}
    assert shown(status=OrdStatus.REJECTED.value) == {rejected}
    assert "max_order_quantity" in _cell(model, rejected, "text")
    assert model.data(model.index(0, 0), Qt.ItemDataRole.ForegroundRole) == desktop.context.theme.colour("reject")
    assert shown(instrument="MSFT", status=WORKING) == {msft_buy}
    assert shown(text=msft_buy.upper()) == {msft_buy}
    assert shown(text="spy") == {rejected}
    assert shown(text="exceeds limit") == {rejected}, "every term must match (reason text)"
    assert shown(text="main msft") == {msft_buy, msft_filled}, "account and instrument terms"
    assert panel.count_label.text() == "2 of 5 orders"

    # The same instrument, side and text filters apply to the executions tab.
    panel.set_filter(instrument="AAPL")
    panel.tabs.setCurrentIndex(1)
    desktop.frame()
    assert panel.executions_model.rowCount() == 0
    panel.set_filter(instrument="MSFT")
    desktop.frame()
    assert set(_column(panel.executions_model, "client_order_id")) == {msft_filled}


def test_clicking_a_header_sorts_and_the_selection_follows_its_order(desktop: Desktop, qtbot: object) -> None:
    ids = [_resting(desktop, symbol, Side.BUY, ticks_away=away) for symbol in ("AAPL", "MSFT") for away in (3, 9, 6)]
    _settled(desktop, *ids)
    panel = open_blotter(desktop, qtbot)
    model, view = panel.orders_model, panel.orders_view
    chosen = ids[4]
    view.selectRow(_row_of(model, chosen))

    header = view.horizontalHeader()
    section = model.columns.index("price")
    position = QtCore.QPoint(header.sectionViewportPosition(section) + header.sectionSize(section) // 2, 5)
    qtbot.mouseClick(header.viewport(), Qt.MouseButton.LeftButton, pos=position)  # type: ignore[attr-defined]
    desktop.frame()
    prices = [Decimal(text) for text in _column(model, "price")]
    assert prices == sorted(prices)
    assert len(prices) == len(ids)
    selected = view.selectionModel().selectedRows()
    assert [model.client_order_id(index.row()) for index in selected] == [chosen]

    qtbot.mouseClick(header.viewport(), Qt.MouseButton.LeftButton, pos=position)  # type: ignore[attr-defined]
    desktop.frame()
    prices = [Decimal(text) for text in _column(model, "price")]
    assert prices == sorted(prices, reverse=True)
    assert panel.selected_order_ids() == [chosen]

    panel.orders_model.sort(model.columns.index("instrument"), Qt.SortOrder.AscendingOrder)
    desktop.frame()
    assert _column(model, "instrument") == ["AAPL"] * 3 + ["MSFT"] * 3


def test_cancel_selected_and_cancel_all(desktop: Desktop, qtbot: object) -> None:
    keep, cancel = _resting(desktop, "QQQ", Side.BUY), _resting(desktop, "QQQ", Side.SELL)
    other = _resting(desktop, "SPY", Side.BUY)
    _settled(desktop, keep, cancel, other)
    panel = open_blotter(desktop, qtbot)
    model = panel.orders_model
    panel.orders_view.selectRow(_row_of(model, cancel))
    qtbot.mouseClick(panel.cancel_selected_button, Qt.MouseButton.LeftButton)  # type: ignore[attr-defined]
    desktop.wait_for(lambda: _status(desktop, cancel) is OrdStatus.CANCELED)
    desktop.frame()
    assert _cell(model, cancel, "status") == "Canceled"
    assert _cell(model, keep, "status") == "New"
    greyed = model.data(model.index(_row_of(model, cancel), 0), Qt.ItemDataRole.ForegroundRole)
    assert greyed == desktop.context.theme.colour("muted")

    qtbot.mouseClick(panel.cancel_all_button, Qt.MouseButton.LeftButton)  # type: ignore[attr-defined]
    desktop.wait_for(lambda: {_status(desktop, i) for i in (keep, other)} == {OrdStatus.CANCELED})
    desktop.frame()
    assert set(_column(model, "status")) == {"Canceled"}


def test_csv_export_writes_the_rows_shown(desktop: Desktop, qtbot: object, tmp_path: Path) -> None:
    aapl = [_resting(desktop, "AAPL", side) for side in (Side.BUY, Side.SELL)]
    filled = _marketable(desktop, "AAPL", Side.SELL, 100)
    msft = _resting(desktop, "MSFT", Side.BUY)
    _settled(desktop, *aapl, filled, msft)
    desktop.wait_for(lambda: _status(desktop, filled) is OrdStatus.FILLED)
    panel = open_blotter(desktop, qtbot)
    panel.set_filter(instrument="AAPL")
    desktop.frame()

    path = tmp_path / "orders.csv"
    assert panel.export_csv(path) == 3
    with path.open(newline="", encoding="utf-8") as handle:
        header, *rows = list(csv.reader(handle))
    model = panel.orders_model
    assert header == [column.title for column in model.columns.columns]
    assert [row[header.index("Cl Ord ID")] for row in rows] == _column(model, "client_order_id")
    assert {row[header.index("Instrument")] for row in rows} == {"AAPL"}
    for row in rows:
        assert MICROSECOND_DATETIME.match(row[header.index("Entered")])
        assert MICROSECOND_DATETIME.match(row[header.index("Updated")])
        assert CENT_PRICE.match(row[header.index("Price")])
    by_id = {row[header.index("Cl Ord ID")]: row for row in rows}
    assert by_id[filled][header.index("Status")] == "Filled"
    assert CENT_PRICE.match(by_id[filled][header.index("Avg Px")])
    assert by_id[filled][header.index("Entered")].endswith(_cell(model, filled, "entered"))

    panel.tabs.setCurrentIndex(1)
    fills_path = tmp_path / "fills.csv"
    written = panel.export_csv(fills_path)
    with fills_path.open(newline="", encoding="utf-8") as handle:
        fills_header, *fills = list(csv.reader(handle))
    assert written == len(fills) >= 1
    assert fills_header[:3] == ["Time", "Exec ID", "Cl Ord ID"]
    assert {fill[2] for fill in fills} == {filled}
    assert sum(int(fill[fills_header.index("Qty")]) for fill in fills) == 100


def test_a_workspace_keeps_the_filters_sort_and_tab(desktop: Desktop, qtbot: object) -> None:
    panel = open_blotter(desktop, qtbot)
    panel.set_filter(instrument="SPY", side=Side.SELL, status=WORKING, text="abc")
    panel.orders_model.sort(8, Qt.SortOrder.DescendingOrder)
    panel.tabs.setCurrentIndex(1)
    saved = dict(panel.save_state())
    other = open_blotter(desktop, qtbot)
    other.restore_state(saved)
    assert other.current_filter() == BlotterFilter("SPY", Side.SELL, WORKING, "abc")
    assert other.orders_model.sort_order == BlotterSort(8, descending=True)
    assert other.tabs.currentIndex() == 1


# --- a million rows ------------------------------------------------------------------------------------------


def test_stable_order_matches_a_stable_argsort_both_ways() -> None:
    random = np.random.default_rng(5)
    for keys in (random.integers(0, 7, 500), random.integers(-(2**62), 2**62, 500), random.random(500).round(1)):
        np.testing.assert_array_equal(stable_order(keys, False), np.argsort(keys, kind="stable"))
        expected = np.lexsort((np.arange(len(keys)), -keys))
        np.testing.assert_array_equal(stable_order(keys, True), expected)


def test_text_columns_sort_in_natural_order_and_follow_changes() -> None:
    texts = ["DSK-10", "dsk-9", "", "ABC", "DSK-9", "O-0002", "O-1"]
    log: list[int] = []
    keys = TextKeys(lambda: texts, lambda: log)
    order = np.argsort(keys.keys(len(texts)), kind="stable")
    assert [texts[row] for row in order] == ["", "ABC", "dsk-9", "DSK-9", "DSK-10", "O-1", "O-0002"]
    texts[2] = "ZZZ"
    log.append(2)
    texts.append("DSK-1")
    order = np.argsort(keys.keys(len(texts)), kind="stable")
    assert [texts[row] for row in order] == ["ABC", "DSK-1", "dsk-9", "DSK-9", "DSK-10", "O-1", "O-0002", "ZZZ"]


@pytest.mark.usefixtures("qapp")
def test_a_million_orders_sort_and_filter_correctly() -> None:
    rows = 1_000_000
    table = OrderTable()
    synthetic_orders(table, rows)
    model = OrderModel(table, synthetic_instruments(), load_theme("dark"))
    model.refresh()
    assert model.rowCount() == rows
    columns = model.order_columns
    price = table.columns.column("price")

    model.sort(columns.index("price"), Qt.SortOrder.AscendingOrder)
    assert model.refresh()
    np.testing.assert_array_equal(model.rows, np.lexsort((np.arange(rows), price)))
    model.sort(columns.index("price"), Qt.SortOrder.DescendingOrder)
    model.refresh()
    np.testing.assert_array_equal(model.rows, np.lexsort((np.arange(rows), -price)))
    first = model.data(model.index(0, columns.index("price")))
    assert first == str(Decimal(int(price.max())).scaleb(-4).quantize(Decimal("0.01")))

    working = ~np.isin(table.columns.column("status"), TERMINAL_CODES)
    msft = table.columns.column("instrument") == table.instruments.find("MSFT")
    sells = table.columns.column("side") == SIDES.index(Side.SELL)
    model.set_filter(BlotterFilter(instrument="MSFT", side=Side.SELL, status=WORKING))
    model.sort(-1)
    model.refresh()
    np.testing.assert_array_equal(model.rows, np.flatnonzero(msft & sells & working)[::-1])
    assert set(_column(model, "status")) <= {"New", "Partial", "Pending New"}

    model.set_filter(BlotterFilter(status=OrdStatus.REJECTED.value, text="SYN-1234"))
    model.refresh()
    rejected = table.columns.column("status") == STATUSES.index(OrdStatus.REJECTED)
    expected = [row for row in np.flatnonzero(rejected).tolist() if "syn-1234" in table.client_order_ids[row].lower()]
    assert sorted(model.rows.tolist()) == expected
    assert all("max_order_quantity" in text for text in _column(model, "text"))

    model.set_filter(BlotterFilter())
    model.sort(columns.index("client_order_id"), Qt.SortOrder.AscendingOrder)
    model.refresh()
    assert [model.client_order_id(row) for row in range(3)] == ["SYN-0", "SYN-1", "SYN-2"]
    assert model.client_order_id(rows - 1) == f"SYN-{rows - 1}"


def test_a_million_fills_sort_by_price() -> None:
    table = ExecutionTable()
    synthetic_executions(table, 1_000_000)
    columns = ExecutionColumns(table, synthetic_instruments())
    shown = select_rows(table, columns, BlotterFilter(side=Side.BUY), BlotterSort(columns.index("price")))
    buys = np.flatnonzero(table.columns.column("side") == SIDES.index(Side.BUY))
    prices = table.columns.column("price")
    np.testing.assert_array_equal(shown, buys[np.lexsort((buys, prices[buys]))])


def test_the_blotter_has_no_widget_per_cell(desktop: Desktop, qtbot: object) -> None:
    for _ in range(40):
        _resting(desktop, "AAPL", Side.BUY)
    panel = open_blotter(desktop, qtbot)
    assert panel.orders_model.rowCount() == 40
    assert not panel.orders_view.findChildren(QtWidgets.QLabel)


def test_a_filled_order_loaded_from_the_snapshots_keeps_its_average_price(desktop: Desktop) -> None:
    """A desktop that connects after the fills (or reconnects) shows the same average price as one that saw them."""
    filled = _marketable(desktop, "AAPL", Side.BUY, 300)
    desktop.wait_for(lambda: _status(desktop, filled) is OrdStatus.FILLED)
    live_row = desktop.state.orders.row_of(filled)
    assert live_row is not None
    live = desktop.state.orders.average_price(live_row)
    assert live is not None
    assert live[1] == 300

    client = desktop.session.client
    later = DesktopState(client.info)
    desktop.run(later.load(client))
    row = later.orders.row_of(filled)
    assert row is not None
    assert later.orders.average_price(row) == live
