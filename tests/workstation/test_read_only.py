"""Read-only sessions over FIX: a user the users file marks ``read_only`` (UserReadOnly, 5152) watches the engine
but cannot trade or change its risk state from the desktop: the ticket, the ladder, the hotkeys, the risk limits
panel and the commands themselves refuse and say why, and the engine sees nothing. A trading user on the same
server edits the limits in the panel over FIX, and the read-only desktop sees the change without a click.

One engine server on 127.0.0.1 per test; the desktops and the server share the qasync loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import qasync
from PySide6 import QtCore, QtWidgets
from pytestqt.qtbot import QtBot

from core.enums import OrdStatus, Side
from engine.client.remote import RemoteClient, RemoteEndpoint
from engine.clock import AsyncioScheduler
from engine.config import EngineConfig
from engine.fix.server import FixServer
from engine.fix.users import add_user
from engine.plugins import PluginRegistry
from engine.runtime import LiveRuntime
from engine.storage.db import open_database
from tests.workstation import test_order_book as order_book
from tests.workstation import test_risk_limits_panel as risk_panel
from tests.workstation.conftest import Desktop
from workstation.commands import READ_ONLY_REASON, ReadOnlySession
from workstation.main_window import MainWindow
from workstation.panel_loader import load_panels
from workstation.plugins import ticket
from workstation.plugins.blotter import BlotterPanel
from workstation.plugins.order_book.ladder import Column
from workstation.plugins.risk_limits import VALUE_COLUMN
from workstation.plugins.ticket import OrderTicket
from workstation.session import open_session
from workstation.settings import DesktopPaths, DesktopSettings
from workstation.state import Severity
from workstation.theme import apply_theme, load_theme

PASSWORD = "desk-password"
LEFT = QtCore.Qt.MouseButton.LeftButton


class ServedDesktop(Desktop):
    """A desktop session logged on to the test's engine server as one user."""

    def __init__(self, loop: qasync.QEventLoop, session: object, runtime: LiveRuntime, client: RemoteClient) -> None:
        super().__init__(loop, session)  # type: ignore[arg-type]
        self.runtime = runtime
        self.client = client


@pytest.fixture
def log_on(
    qapp: QtWidgets.QApplication, tmp_path: Path, registry: PluginRegistry, config: EngineConfig
) -> Iterator[Callable[[str], ServedDesktop]]:
    """An engine server on the simulated market whose users file has ``trader`` and the read-only ``viewer``;
    ``log_on(user)`` opens a desktop session as that user."""
    loop = qasync.QEventLoop(qapp)
    asyncio.set_event_loop(loop)
    theme = load_theme("dark")
    apply_theme(qapp, theme)
    users = tmp_path / "users.toml"
    add_user(users, "trader", PASSWORD, accounts=["*"])
    add_user(users, "viewer", PASSWORD, read_only=True, accounts=["*"])
    url = f"sqlite:///{tmp_path / 'engine.db'}"
    runtime = LiveRuntime(config, registry, AsyncioScheduler(loop), db_url=url, seed=11, commit_loop=loop)
    runtime.open()
    server = FixServer(runtime, database=open_database(url), users_path=users, host="127.0.0.1", port=0)
    runtime.start()
    _, port = loop.run_until_complete(server.start())
    opened: list[ServedDesktop] = []

    def connect(user: str) -> ServedDesktop:
        client = RemoteClient(RemoteEndpoint(user=user, host="127.0.0.1", port=port), PASSWORD, reconnect=False)

        def confirm(title: str, question: str) -> bool:
            desktop.confirmations.append(title)
            return True

        session = loop.run_until_complete(open_session(client, DesktopSettings(), theme, confirm))
        desktop = ServedDesktop(loop, session, runtime, client)
        opened.append(desktop)
        desktop.pump(0.3)
        return desktop

    yield connect
    for desktop in opened:
        loop.run_until_complete(desktop.commands.drain())
        loop.run_until_complete(desktop.client.close())
    loop.run_until_complete(server.stop())
    runtime.stop()
    asyncio.set_event_loop(None)
    loop.close()


def engine_orders(desktop: ServedDesktop) -> int:
    return sum(1 for _ in desktop.runtime.engine.orders)


def refusals(desktop: Desktop) -> list[str]:
    return [
        entry.message
        for entry in desktop.state.audit.entries
        if entry.severity is Severity.WARNING and entry.message.endswith(READ_ONLY_REASON)
    ]


def test_the_read_only_user_is_told_read_only_by_the_server(log_on: Callable[[str], ServedDesktop]) -> None:
    viewer = log_on("viewer")
    assert viewer.state.info.read_only
    assert viewer.commands.refusal == READ_ONLY_REASON
    trader = log_on("trader")
    assert not trader.state.info.read_only
    assert trader.commands.refusal is None


def test_the_ticket_of_a_read_only_session_cannot_send(log_on: Callable[[str], ServedDesktop], qtbot: QtBot) -> None:
    viewer = log_on("viewer")
    panel = ticket.SPEC.factory(viewer.context)
    assert isinstance(panel, OrderTicket)
    qtbot.addWidget(panel)
    panel.resize(320, 420)
    panel.show()
    viewer.wait_for(lambda: viewer.state.market("AAPL").best_bid() is not None)
    viewer.frame()
    assert not panel.submit_button.isEnabled()
    assert "read-only" in panel.submit_button.toolTip()
    assert panel.status.text() == f"{READ_ONLY_REASON[0].upper()}{READ_ONLY_REASON[1:]}."
    panel.fill_price(Side.SELL)
    qtbot.mouseClick(panel.submit_button, LEFT)  # a disabled button: nothing happens
    assert panel.submit() is None  # and the ticket's own path refuses too
    assert panel.status.text() == f"Not sent: {READ_ONLY_REASON}"
    assert viewer.commands.submit("AAPL", Side.BUY, 100, None) is None  # so does the commands object
    viewer.pump(0.2)
    assert len(viewer.state.orders) == 0
    assert engine_orders(viewer) == 0
    assert len(refusals(viewer)) == 1


def test_the_blotters_cancel_buttons_of_a_read_only_session_are_off_and_say_why(
    log_on: Callable[[str], ServedDesktop], qtbot: QtBot
) -> None:
    viewer, trader = log_on("viewer"), log_on("trader")
    for served, allowed in ((viewer, False), (trader, True)):
        panel = BlotterPanel(served.context)
        qtbot.addWidget(panel)
        panel.show()
        served.frame()
        assert panel.cancel_all_button.isEnabled() is allowed
        assert panel.cancel_selected_button.isEnabled() is allowed
        assert ("read-only" in panel.cancel_all_button.toolTip()) is not allowed
    assert len(refusals(viewer)) == 0  # nothing was tried


def test_a_click_on_the_ladder_sends_nothing_and_says_why(log_on: Callable[[str], ServedDesktop], qtbot: QtBot) -> None:
    trader = log_on("trader")
    viewer = log_on("viewer")
    panel = order_book.open_panel(viewer, qtbot)
    ladder = panel.ladder
    assert ladder.status_text == "Read-only session: watching only, click-to-trade is off"
    order_book.click(qtbot, ladder, Column.BID, order_book.best_bid(viewer))
    order_book.click(qtbot, ladder, Column.ASK, order_book.best_ask(viewer))
    assert ladder.status_text == "Not sent: read-only session, click-to-trade is off"
    viewer.pump(0.2)
    assert len(viewer.state.orders) == 0
    assert engine_orders(viewer) == 0

    # A trader's resting buy on the account shows on the viewer's ladder; clicking or dragging it does nothing.
    price = order_book.best_bid(trader) - 5 * order_book.TICK
    client_order_id = trader.commands.submit(order_book.SYMBOL, Side.BUY, 100, price)
    assert client_order_id is not None
    viewer.wait_for(lambda: any(o.price == price for o in viewer.state.orders.working(order_book.SYMBOL)))
    viewer.frame()
    assert order_book.row_of(ladder, price).own_buy == 100
    source = ladder.column_rect(Column.OWN_BUY, price).center()
    target = ladder.column_rect(Column.OWN_BUY, price - 2 * order_book.TICK).center()
    qtbot.mousePress(ladder, LEFT, pos=source)
    qtbot.mouseMove(ladder, target)
    qtbot.mouseRelease(ladder, LEFT, pos=target)
    assert ladder.status_text == "Not sent: read-only session, cancel/move is off"
    order_book.click(qtbot, ladder, Column.OWN_BUY, price)
    viewer.pump(0.3)
    (order,) = list(trader.runtime.engine.orders)
    assert order.status is OrdStatus.NEW  # neither cancelled
    assert order.price == price  # nor moved


def test_trading_hotkeys_do_nothing_and_say_why(
    log_on: Callable[[str], ServedDesktop], qtbot: QtBot, tmp_path: Path
) -> None:
    viewer = log_on("viewer")
    window = MainWindow(
        viewer.session, load_panels(builtins=True, entry_points=False), DesktopPaths(tmp_path / "config")
    )
    qtbot.addWidget(window)
    viewer.wait_for(lambda: viewer.state.market("AAPL").best_bid() is not None)
    for name in ("buy_at_best", "sell_at_best", "cancel_all", "flatten_all", "kill_switch"):
        window.statusBar().clearMessage()
        window.actions_by_name[name].trigger()
        assert READ_ONLY_REASON in window.statusBar().currentMessage(), name
    viewer.pump(0.3)
    assert viewer.confirmations == []  # refused before asking
    assert len(viewer.state.orders) == 0
    assert engine_orders(viewer) == 0
    assert not viewer.runtime.engine.risk.kill_switch_engaged("main")
    assert len(refusals(viewer)) == 5
    window.status.tick()
    assert window.status.connection.text().endswith("viewer · read-only")
    window.frame_timer.stop()
    window.second_timer.stop()


def test_the_risk_panel_of_a_read_only_session_shows_but_cannot_change(
    log_on: Callable[[str], ServedDesktop], qtbot: QtBot
) -> None:
    trader = log_on("trader")
    viewer = log_on("viewer")
    panel = risk_panel.open_panel(viewer, qtbot)
    engine = viewer.runtime.engine
    assert risk_panel.cell(panel, "main", "max_order_quantity", "limit") == "10,000"
    assert panel.read_only_note.isVisible()
    assert "Read-only session (viewer)" in panel.read_only_note.text()
    row = panel.model.row_of("main", "max_order_quantity", "limit")
    assert row is not None
    flags = panel.model.flags(panel.model.index(row, VALUE_COLUMN))
    assert not flags & QtCore.Qt.ItemFlag.ItemIsEditable
    assert not flags & QtCore.Qt.ItemFlag.ItemIsEnabled  # drawn disabled
    for button in (panel.apply_button, panel.revert_button, panel.engage_button, panel.release_button):
        assert not button.isEnabled()
    assert not panel.edit("main", "max_order_quantity", "limit", "5")
    panel.table.setCurrentIndex(panel.model.index(row, VALUE_COLUMN))
    qtbot.keyClicks(panel.table, "5")  # typing on the cell opens no editor
    assert panel.table.state() is not QtWidgets.QAbstractItemView.State.EditingState
    assert panel.apply() == 0
    assert panel.status.text() == f"Not sent: {READ_ONLY_REASON}"

    task = viewer.commands.set_risk_limits("main", {"max_order_quantity": {"limit": 5}})
    viewer.run(asyncio.wait([task]))
    assert isinstance(task.exception(), ReadOnlySession)
    with pytest.raises(ValueError, match="read-only"):  # the server refuses it as well
        viewer.run(viewer.client.set_risk_limits("main", {"max_order_quantity": {"limit": 5}}))
    assert engine.risk.limits("main")["max_order_quantity"] == {"limit": 10_000}

    # The trader changes a limit from the trader's desktop: the viewer's panel follows without a click.
    trader_panel = risk_panel.open_panel(trader, qtbot)
    assert trader_panel.edit("main", "max_order_quantity", "limit", "1,234")
    assert trader_panel.apply() == 1
    viewer.wait_for(lambda: viewer.state.risk_limit("main", "max_order_quantity", "limit") == 1_234)
    viewer.frame()
    assert risk_panel.cell(panel, "main", "max_order_quantity", "limit") == "1,234"


def test_over_fix_a_limit_edited_in_the_panel_is_enforced_by_the_engine(
    log_on: Callable[[str], ServedDesktop], qtbot: QtBot
) -> None:
    risk_panel.test_a_limit_edited_in_the_panel_is_enforced_by_the_engine(log_on("trader"), qtbot)


def test_over_fix_the_engines_refusal_is_shown(log_on: Callable[[str], ServedDesktop], qtbot: QtBot) -> None:
    risk_panel.test_the_engines_refusal_is_shown_and_the_edit_kept(log_on("trader"), qtbot)
