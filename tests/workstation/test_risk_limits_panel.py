"""The risk limits panel on a live embedded engine: the engine's limits as they are, edited in place and applied by
the engine (which then enforces them), bad values refused before sending, the engine's own refusals shown, and
changes made elsewhere appearing without a click."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from PySide6 import QtCore, QtWidgets
from pytestqt.qtbot import QtBot

from core.enums import OrdStatus, Side
from core.events import RiskEventKind
from engine.client.embedded import EmbeddedClient
from engine.client.risk_limits import apply_risk_limits
from engine.engine import Engine
from tests.workstation.conftest import Desktop
from workstation.plugins import risk_limits
from workstation.plugins.risk_limits import VALUE_COLUMN, RiskLimitsPanel
from workstation.state import Severity

LEFT = QtCore.Qt.MouseButton.LeftButton


def engine_of(desktop: Desktop) -> Engine:
    """The engine behind the desktop (embedded, or the server's for a remote desktop)."""
    runtime = getattr(desktop, "runtime", None)
    if runtime is None:
        client = desktop.session.client
        assert isinstance(client, EmbeddedClient)
        runtime = client.runtime
    engine = runtime.engine
    assert isinstance(engine, Engine)
    return engine


def open_panel(desktop: Desktop, qtbot: QtBot) -> RiskLimitsPanel:
    panel = risk_limits.SPEC.factory(desktop.context)
    assert isinstance(panel, RiskLimitsPanel)
    qtbot.addWidget(panel)
    panel.resize(620, 420)
    panel.show()
    desktop.frame()
    return panel


def cell(panel: RiskLimitsPanel, account: str, check: str, param: str, column: int = VALUE_COLUMN) -> str:
    """The text the table shows for ``account``'s ``check`` parameter ``param``."""
    row = panel.model.row_of(account, check, param)
    assert row is not None, f"no line for {account} {check} {param}"
    return str(panel.model.index(row, column).data())


def type_into(panel: RiskLimitsPanel, qtbot: QtBot, check: str, param: str, text: str, account: str = "main") -> None:
    """Open the value's editor as a trader does (select it, start typing), type ``text`` and press Enter."""
    row = panel.model.row_of(account, check, param)
    assert row is not None
    index = panel.model.index(row, VALUE_COLUMN)
    panel.table.setCurrentIndex(index)
    panel.table.edit(index)
    editor = panel.table.indexWidget(index)  # the editor open on that cell
    assert isinstance(editor, QtWidgets.QLineEdit), "no editor opened"
    editor.selectAll()
    qtbot.keyClicks(editor, text)
    qtbot.keyClick(editor, QtCore.Qt.Key.Key_Return)
    QtWidgets.QApplication.processEvents()  # the view commits the editor's text on its next turn
    assert panel.table.state() is not QtWidgets.QAbstractItemView.State.EditingState


def limits_events(desktop: Desktop) -> list[str]:
    return [entry.message for entry in desktop.state.audit.entries if entry.message.startswith("limits")]


def test_the_panel_shows_the_live_limits_with_their_units_and_the_kill_switch(desktop: Desktop, qtbot: QtBot) -> None:
    panel = open_panel(desktop, qtbot)
    live = engine_of(desktop).risk.limits("main")
    shown = {(row.check, row.param) for row in panel.model.rows if row.account == "main"}
    assert shown == {(check, param) for check, params in live.items() for param in params}
    assert cell(panel, "main", "max_order_quantity", "limit") == "10,000"
    assert cell(panel, "main", "max_order_quantity", "limit", 4) == "qty"
    assert cell(panel, "main", "daily_loss", "limit") == "50,000.00"
    assert cell(panel, "main", "daily_loss", "limit", 4) == "USD"
    assert cell(panel, "main", "price_band", "max_percent", 4) == "%"
    assert cell(panel, "main", "order_rate", "window_ms") == "1,000"
    assert cell(panel, "main", "order_rate", "window_ms", 4) == "ms"
    assert cell(panel, "main", "daily_loss", "flatten") == "off"
    assert panel.read_only_note.isHidden()
    assert panel.kill_label.text() == "released"

    assert desktop.commands.kill_switch(ask=False)
    desktop.wait_for(lambda: desktop.state.kill_switch_engaged)
    desktop.frame()
    assert panel.kill_label.text().startswith("ENGAGED")
    qtbot.mouseClick(panel.release_button, LEFT)
    desktop.wait_for(lambda: not desktop.state.kill_switch_engaged)
    desktop.frame()
    assert panel.kill_label.text() == "released"


def test_a_limit_edited_in_the_panel_is_enforced_by_the_engine(desktop: Desktop, qtbot: QtBot) -> None:
    panel = open_panel(desktop, qtbot)
    engine = engine_of(desktop)
    type_into(panel, qtbot, "max_order_quantity", "limit", "250")
    assert cell(panel, "main", "max_order_quantity", "limit") == "250"  # the edit, not applied yet
    assert panel.status.text() == "1 edit not applied yet"
    assert engine.risk.limits("main")["max_order_quantity"] == {"limit": 10_000}
    assert panel.apply_button.isEnabled()

    qtbot.mouseClick(panel.apply_button, LEFT)
    desktop.wait_for(lambda: engine.risk.limits("main")["max_order_quantity"] == {"limit": 250})
    desktop.pump(0.05)
    desktop.frame()
    assert desktop.state.risk_limit("main", "max_order_quantity", "limit") == 250
    assert cell(panel, "main", "max_order_quantity", "limit") == "250"
    assert not panel.model.pending
    assert panel.status.text() == "Applied to main: max_order_quantity limit"
    assert not panel.apply_button.isEnabled()
    assert any("max_order_quantity limit 10000 -> 250" in message for message in limits_events(desktop))

    bid = desktop.commands.best_price("AAPL", Side.SELL)
    client_order_id = desktop.commands.submit("AAPL", Side.BUY, 300, bid)
    assert client_order_id is not None
    row = desktop.state.orders.row_of(client_order_id)
    assert row is not None
    desktop.wait_for(lambda: desktop.state.orders.status(row) is not OrdStatus.PENDING_NEW)
    assert desktop.state.orders.status(row) is OrdStatus.REJECTED, [e.message for e in desktop.state.audit.entries]
    assert "max_order_quantity" in desktop.state.last_rejects[client_order_id]
    assert "250" in desktop.state.last_rejects[client_order_id]


def test_a_flag_and_a_money_limit_are_applied_together(desktop: Desktop, qtbot: QtBot) -> None:
    panel = open_panel(desktop, qtbot)
    engine = engine_of(desktop)
    row = panel.model.row_of("main", "daily_loss", "flatten")
    assert row is not None
    panel.table.setCurrentIndex(panel.model.index(row, VALUE_COLUMN))
    qtbot.keyClick(panel.table, QtCore.Qt.Key.Key_Space)  # toggles the check box, as a click on it does
    assert cell(panel, "main", "daily_loss", "flatten") == "on"
    type_into(panel, qtbot, "daily_loss", "limit", "12,500.50")
    assert panel.status.text() == "2 edits not applied yet"
    assert panel.apply() == 1  # one change for the account, the engine takes all of it or nothing
    desktop.wait_for(lambda: engine.risk.limits("main")["daily_loss"]["flatten"] is True)
    assert Decimal(engine.risk.limits("main")["daily_loss"]["limit"]) == Decimal("12500.50")
    desktop.pump(0.05)
    desktop.frame()
    assert cell(panel, "main", "daily_loss", "limit") == "12,500.50"
    assert cell(panel, "main", "daily_loss", "flatten") == "on"


def test_a_bad_value_is_refused_with_a_message_and_nothing_is_sent(desktop: Desktop, qtbot: QtBot) -> None:
    panel = open_panel(desktop, qtbot)
    engine = engine_of(desktop)
    before = engine.risk.limits("main")
    type_into(panel, qtbot, "max_order_quantity", "limit", "12.5")
    assert panel.status.text() == "Not a valid value: max_order_quantity limit: '12.5' is not a whole number"
    assert panel.status.property("role") == "reject"
    assert cell(panel, "main", "max_order_quantity", "limit") == "12.5"  # left as typed, in the reject colour
    row = panel.model.row_of("main", "max_order_quantity", "limit")
    assert row is not None
    colour = panel.model.index(row, VALUE_COLUMN).data(QtCore.Qt.ItemDataRole.ForegroundRole)
    assert colour == desktop.context.theme.colour("reject")

    assert panel.apply() == 0
    assert panel.status.text().startswith("Not sent: max_order_quantity limit: '12.5' is not a whole number")
    type_into(panel, qtbot, "max_order_notional", "limit", "-100")
    assert panel.status.text() == "Not a valid value: max_order_notional limit: -100 is negative; a limit is 0 or more"
    type_into(panel, qtbot, "order_rate", "max_orders", "ten")
    assert "'ten' is not a whole number" in panel.status.text()
    type_into(panel, qtbot, "daily_loss", "limit", "1.000000001")
    assert "finer than the money scale" in panel.status.text()
    qtbot.mouseClick(panel.apply_button, LEFT)
    desktop.pump(0.1)
    assert engine.risk.limits("main") == before
    assert limits_events(desktop) == []

    qtbot.mouseClick(panel.revert_button, LEFT)
    assert not panel.model.pending
    assert cell(panel, "main", "max_order_quantity", "limit") == "10,000"


def test_the_engines_refusal_is_shown_and_the_edit_kept(desktop: Desktop, qtbot: QtBot) -> None:
    panel = open_panel(desktop, qtbot)
    engine = engine_of(desktop)
    before = engine.risk.limits("main")
    type_into(panel, qtbot, "order_rate", "window_ms", "0")  # a whole number, but the engine wants at least 1 ms
    qtbot.mouseClick(panel.apply_button, LEFT)
    desktop.pump(0.1)
    desktop.frame()
    text = panel.status.text()
    assert text.startswith("Refused by the engine (main): ")
    assert "window_ms" in text
    assert panel.status.property("role") == "reject"
    assert engine.risk.limits("main") == before
    assert cell(panel, "main", "order_rate", "window_ms") == "0"  # kept, to be corrected
    failures = [entry for entry in desktop.state.audit.entries if entry.severity is Severity.ERROR]
    assert any("risk limits of main failed" in entry.message for entry in failures)


def test_a_change_made_elsewhere_shows_without_a_click(desktop: Desktop, qtbot: QtBot) -> None:
    panel = open_panel(desktop, qtbot)
    type_into(panel, qtbot, "max_position", "limit", "777")  # an edit in progress of another line stays
    changes: dict[str, Any] = {"max_order_quantity": {"limit": 42}, "order_rate": {"max_orders": 9}}
    # What the FIX server does for a risk manager's client connected to the same engine.
    apply_risk_limits(engine_of(desktop), "main", changes, by="risk-desk")
    desktop.pump(0.05)
    desktop.frame()
    assert cell(panel, "main", "max_order_quantity", "limit") == "42"
    assert cell(panel, "main", "order_rate", "max_orders") == "9"
    assert cell(panel, "main", "max_position", "limit") == "777"
    assert desktop.state.audit.entries[-1].message.endswith("by risk-desk")
    assert desktop.state.audit.entries[-1].message.startswith(f"{RiskEventKind.LIMITS.value} [main]")
