"""The log panel and the plugins panel as a trader reads them: rejects with their reasons, filters, following the
newest entry, and every plugin with its status and the reason a failed one failed."""

from __future__ import annotations

from PySide6 import QtCore

from core.enums import OrdStatus, Side
from workstation.plugins.audit_log import WARNINGS_AND_ERRORS, AuditLogPanel
from workstation.plugins.audit_log import register_panels as log_panels
from workstation.plugins.plugins_panel import PluginsPanel
from workstation.plugins.plugins_panel import register_panels as plugin_panels
from workstation.state.audit import Severity

from .conftest import Desktop

Qt = QtCore.Qt


def _log(desktop: Desktop, qtbot: object) -> AuditLogPanel:
    panel = log_panels()[0].factory(desktop.context)
    assert isinstance(panel, AuditLogPanel)
    qtbot.addWidget(panel)  # type: ignore[attr-defined]
    panel.resize(1000, 240)
    panel.show()
    desktop.frame()
    return panel


def _messages(panel: AuditLogPanel) -> list[str]:
    model = panel.model
    return [model.data(model.index(row, 3)) for row in range(model.rowCount())]


def test_the_panels_register_beside_the_blotter() -> None:
    (log,) = log_panels()
    (plugins,) = plugin_panels()
    assert (log.name, log.title, log.area, log.tab_with) == ("audit-log", "Log", "bottom", "blotter")
    assert (plugins.name, plugins.title, plugins.area, plugins.tab_with) == ("plugins", "Plugins", "bottom", "blotter")
    assert plugins.visible
    assert AuditLogPanel.linkable is False
    assert PluginsPanel.linkable is False


def test_the_log_shows_a_risk_reject_with_its_reason(desktop: Desktop, qtbot: object) -> None:
    panel = _log(desktop, qtbot)
    price = desktop.commands.best_price("AAPL", Side.BUY)
    order = desktop.commands.submit("AAPL", Side.BUY, 50_000, price)
    desktop.wait_for(lambda: order in desktop.state.last_rejects)
    reason = desktop.state.last_rejects[order]
    assert "max_order_quantity" in reason
    desktop.frame()

    model = panel.model
    rows = [row for row, message in enumerate(_messages(panel)) if order in message]
    sources = {model.data(model.index(row, 2)) for row in rows}
    assert {"risk", "order"} <= sources
    for row in rows:
        assert reason in model.data(model.index(row, 3))
        assert model.data(model.index(row, 1)) == "WARNING"
        assert model.data(model.index(row, 3), Qt.ItemDataRole.ForegroundRole) == desktop.context.theme.colour(
            "warning"
        )

    panel.set_filter(source="risk")
    desktop.frame()
    assert {model.data(model.index(row, 2)) for row in range(model.rowCount())} == {"risk"}
    assert any(order in message for message in _messages(panel))
    panel.set_filter(severity=Severity.ERROR.value)
    desktop.frame()
    assert not any(order in message for message in _messages(panel))
    panel.set_filter(severity=WARNINGS_AND_ERRORS, text="MAX_ORDER_QUANTITY rejected")
    desktop.frame()
    assert len(_messages(panel)) == 1
    assert order in _messages(panel)[0]
    assert "rejected" in _messages(panel)[0]
    assert panel.count_label.text().startswith("1 of ")


def test_the_log_follows_the_newest_entry_unless_scrolled_up(desktop: Desktop, qtbot: object) -> None:
    panel = _log(desktop, qtbot)
    audit = desktop.state.audit
    for number in range(200):
        audit.add(desktop.state.now_ns(), Severity.INFO, "desktop", f"note {number}")
    desktop.frame()
    bar = panel.view.verticalScrollBar()
    assert bar.maximum() > 0
    assert bar.value() == bar.maximum()
    assert _messages(panel)[-1] == "note 199", "newest at the bottom"

    bar.setValue(0)
    audit.add(desktop.state.now_ns(), Severity.ERROR, "desktop", "while reading older lines")
    desktop.frame()
    assert bar.value() == 0, "the reader keeps their place"
    assert _messages(panel)[-1] == "while reading older lines"

    bar.setValue(bar.maximum())
    audit.add(desktop.state.now_ns(), Severity.INFO, "desktop", "back at the bottom")
    desktop.frame()
    assert bar.value() == bar.maximum()
    last = panel.model.index(panel.model.rowCount() - 2, 3)
    assert panel.model.data(last, Qt.ItemDataRole.ForegroundRole) == desktop.context.theme.colour("reject")


def test_the_log_keeps_up_with_a_cancel_refused(desktop: Desktop, qtbot: object) -> None:
    panel = _log(desktop, qtbot)
    price = desktop.commands.best_price("MSFT", Side.BUY)
    order = desktop.commands.submit("MSFT", Side.BUY, 100, price)
    desktop.wait_for(lambda: desktop.state.orders.status(desktop.state.orders.row_of(order) or 0) is OrdStatus.FILLED)
    desktop.commands.cancel(order)
    desktop.wait_for(lambda: any(f"cancel {order} refused" in entry.message for entry in desktop.state.audit.entries))
    desktop.frame()
    assert any(f"cancel {order} refused" in message for message in _messages(panel))


def test_the_plugins_panel_lists_every_plugin_and_why_one_failed(desktop: Desktop, qtbot: object) -> None:
    panel = plugin_panels()[0].factory(desktop.context)
    assert isinstance(panel, PluginsPanel)
    qtbot.addWidget(panel)  # type: ignore[attr-defined]
    panel.resize(1000, 300)
    panel.show()
    desktop.frame()
    model = panel.model

    def column(section: int) -> list[str]:
        return [model.data(model.index(row, section)) for row in range(model.rowCount())]

    engine_plugins = list(desktop.state.plugins)
    assert {"strategies", "risk", "simulator"} <= set(column(0))
    assert set(column(1)) == {"built-in"}
    assert set(column(2)) == {"loaded"}
    registers = dict(zip(column(0), column(3), strict=True))
    assert "strategy market-maker" in registers["strategies"]
    assert "risk check max_order_quantity" in registers["risk"]
    assert panel.summary.text() == f"{len(engine_plugins)} plugins: {len(engine_plugins)} loaded"

    desktop.state.plugins = [
        *engine_plugins,
        {"name": "order-book", "source": "built-in", "status": "loaded", "registers": ["panel order-book"],
         "reason": ""},
        {"name": "fancy-heatmap", "source": "entry point fancy 1.2", "status": "failed", "registers": [],
         "reason": "ImportError: No module named 'fancy'"},
    ]  # fmt: skip
    desktop.frame()
    assert column(0)[-2:] == ["order-book", "fancy-heatmap"]
    failed = model.rowCount() - 1
    assert model.data(model.index(failed, 4)) == "ImportError: No module named 'fancy'"
    assert model.data(model.index(failed, 2)) == "failed"
    for section in range(5):
        assert model.data(model.index(failed, section), Qt.ItemDataRole.ForegroundRole) == (
            desktop.context.theme.colour("reject")
        )
    assert "1 failed" in panel.summary.text()
