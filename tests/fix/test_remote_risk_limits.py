"""Risk limits changed through the remote client while the engine runs, as a desktop sees them.

A real engine behind a real FIX server on 127.0.0.1: one session changes a limit, every session's ``info`` and
desktop state follow, and the engine judges the next order by the new limit.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from core.enums import OrdStatus, Side
from core.events import RiskEvent, RiskEventKind
from engine.client.protocol import RiskLimitsChanged
from engine.client.remote import RequestRefused
from engine.config import EngineConfig
from engine.fix.users import add_user
from engine.plugins import PluginRegistry
from tests.fix.test_remote_client import PASSWORD, Events, eventually, order, run, serving
from workstation.state.audit import Severity
from workstation.state.store import DesktopState


def test_a_changed_limit_reaches_every_session_and_judges_the_next_order(
    registry: PluginRegistry, config: EngineConfig, tmp_path: Path
) -> None:
    _users(tmp_path)

    async def scenario() -> None:
        async with serving(registry, config, tmp_path) as served:
            trader, desk = served.client(), served.client("desk")
            trader_events, desk_events = Events(trader), Events(desk)
            await trader.connect()
            desk_state = DesktopState(await desk.connect())
            desk.subscribe(desk_state.on_event)
            assert desk_state.risk_limit("main", "max_order_quantity", "limit") == 10_000
            assert not trader.info.read_only

            live = await trader.set_risk_limits("main", {"max_order_quantity": {"limit": 50}})
            assert live == {**config.accounts[0].risk, "max_order_quantity": {"limit": 50}}
            assert trader.info.risk_limits["main"] == live
            changed, audit = trader_events.of(RiskLimitsChanged), trader_events.of(RiskEvent)
            assert [(c.account, c.limits) for c in changed] == [("main", live)]
            assert [(e.kind, e.check, e.account) for e in audit] == [
                (RiskEventKind.LIMITS, "max_order_quantity", "main")
            ]
            assert audit[0].reason == "max_order_quantity limit 10000 -> 50"

            # The other session was told without asking (an unsolicited UG).
            await eventually(lambda: bool(desk_events.of(RiskLimitsChanged)))
            assert desk.info.risk_limits["main"] == live
            assert desk_state.risk_limit("main", "max_order_quantity", "limit") == 50
            last = desk_state.audit.entries[-1]
            assert (last.severity, last.source) == (Severity.WARNING, "risk")
            assert last.message == "limits [main] max_order_quantity: max_order_quantity limit 10000 -> 50"

            bid = (await trader.book_snapshot("AAPL")).best_bid
            assert bid is not None
            above, below = order(trader, Side.BUY, 60, bid - 10_000), order(trader, Side.BUY, 40, bid - 10_000)
            await trader.submit(above)
            await trader.submit(below)
            await eventually(lambda: trader_events.status(below.client_order_id) is OrdStatus.NEW)
            await eventually(lambda: trader_events.status(above.client_order_id) is OrdStatus.REJECTED)
            assert "max_order_quantity: 60 exceeds limit 50" in trader_events.reports(above.client_order_id)[-1].reason

            # Loosening it again (a money limit too, as decimal text) is one change, told once.
            live = await desk.set_risk_limits(
                "main", {"max_order_quantity": {"limit": 100}, "max_order_notional": {"limit": "500000.25"}}
            )
            assert live["max_order_notional"] == {"limit": "500000.25"}
            await eventually(lambda: len(trader_events.of(RiskLimitsChanged)) == 2)
            assert trader.info.risk_limits["main"]["max_order_quantity"] == {"limit": 100}
            assert served.runtime.engine.risk.limits("main") == live
            await trader.close()
            await desk.close()

    run(scenario())


def test_a_read_only_session_knows_it_and_a_bad_change_is_refused_with_the_reason(
    registry: PluginRegistry, config: EngineConfig, tmp_path: Path
) -> None:
    _users(tmp_path)

    async def scenario() -> None:
        async with serving(registry, config, tmp_path) as served:
            viewer, trader = served.client("viewer"), served.client()
            viewer_events = Events(viewer)
            assert (await viewer.connect()).read_only
            await trader.connect()
            with pytest.raises(RequestRefused, match="user viewer is read-only"):
                await viewer.set_risk_limits("main", {"max_order_quantity": {"limit": 5}})
            with pytest.raises(RequestRefused, match=r"unknown risk check\(s\) max_qty"):
                await trader.set_risk_limits("main", {"max_qty": {"limit": 5}})
            with pytest.raises(RequestRefused, match="parameter limit: expected int, got 'five'"):
                await trader.set_risk_limits("main", {"max_order_quantity": {"limit": "five"}})
            assert served.runtime.engine.risk.limits("main") == config.accounts[0].risk
            assert trader.info.risk_limits == viewer.info.risk_limits == {"main": config.accounts[0].risk}
            # A read-only session still sees changes others make.
            await trader.set_risk_limits("main", {"order_rate": {"max_orders": 10}})
            await eventually(lambda: bool(viewer_events.of(RiskLimitsChanged)))
            assert viewer.info.risk_limits["main"]["order_rate"] == {"max_orders": 10, "window_ms": 1_000}
            assert viewer.info.read_only
            await viewer.close()
            await trader.close()

    run(scenario())


def _users(tmp_path: Path) -> None:
    """alice and desk trade every account, viewer sees them all read-only."""
    users = tmp_path / "users.toml"
    add_user(users, "alice", PASSWORD, accounts=["*"])
    add_user(users, "desk", PASSWORD, accounts=["*"])
    add_user(users, "viewer", PASSWORD, accounts=["*"], read_only=True)
