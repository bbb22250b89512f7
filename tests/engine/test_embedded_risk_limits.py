"""Risk limits changed through the embedded client while its engine runs, as the desktop sees them."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.commands import SubmitOrder
from core.enums import OrdStatus, Side
from core.events import ExecutionReport, RiskEvent, RiskEventKind
from engine.client.embedded import EmbeddedClient
from engine.client.protocol import ClientEvent, RiskLimitsChanged
from engine.client.risk_limits import apply_risk_limits
from engine.clock import AsyncioScheduler
from engine.config import EngineConfig
from engine.plugins import PluginRegistry
from engine.risk import RiskConfigError
from engine.runtime import LiveRuntime
from workstation.state.store import DesktopState


@pytest.fixture
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()


def test_a_changed_limit_updates_info_and_the_desktop_and_judges_the_next_order(
    loop: asyncio.AbstractEventLoop, config: EngineConfig, registry: PluginRegistry, tmp_path: Path
) -> None:
    runtime = LiveRuntime(config, registry, AsyncioScheduler(loop), db_url=f"sqlite:///{tmp_path / 'e.db'}", seed=5)
    client = EmbeddedClient(runtime, user="risk-desk")
    events: list[ClientEvent] = []
    client.subscribe(events.append)

    async def scenario() -> None:
        state = DesktopState(await client.connect())
        client.subscribe(state.on_event)
        configured = config.accounts[0].risk
        assert client.info.risk_limits == {"main": configured}

        live = await client.set_risk_limits("main", {"max_order_quantity": {"limit": 50}})
        assert live == {**configured, "max_order_quantity": {"limit": 50}}
        assert client.info.risk_limits["main"] == live
        changes = [e for e in events if isinstance(e, RiskLimitsChanged | RiskEvent)]
        assert [type(e) for e in changes] == [RiskLimitsChanged, RiskEvent]  # info first, then the audit
        audit = changes[1]
        assert isinstance(audit, RiskEvent)
        assert (audit.kind, audit.account) == (RiskEventKind.LIMITS, "main")
        assert audit.reason == "max_order_quantity limit 10000 -> 50 by risk-desk"
        assert state.risk_limit("main", "max_order_quantity", "limit") == 50
        assert state.audit.entries[-1].message.startswith("limits [main] max_order_quantity:")

        bid = await _bid(client)
        above, below = _order(client, 60, bid), _order(client, 40, bid)
        await client.submit(above)
        await client.submit(below)
        assert _status(events, above.client_order_id) is OrdStatus.REJECTED
        for _ in range(200):  # the venue acknowledges on a later turn of the loop
            if _status(events, below.client_order_id) is not None:
                break
            await asyncio.sleep(0.01)
        assert _status(events, below.client_order_id) is OrdStatus.NEW

        # A bad change is refused whole, and nothing is told.
        told = len(events)
        with pytest.raises(RiskConfigError, match=r"unknown parameter\(s\) size"):
            await client.set_risk_limits("main", {"max_order_quantity": {"limit": 5}, "order_rate": {"size": 1}})
        assert client.info.risk_limits["main"] == live
        assert not [e for e in events[told:] if isinstance(e, RiskLimitsChanged | RiskEvent)]

        # A change made elsewhere on the same engine (the FIX server does it this way) reaches the client too.
        apply_risk_limits(runtime.engine, "main", {"max_order_quantity": {"limit": 70}}, by="bob")
        assert client.info.risk_limits["main"]["max_order_quantity"] == {"limit": 70}
        assert state.risk_limit("main", "max_order_quantity", "limit") == 70
        await client.close()

    loop.run_until_complete(scenario())


async def _bid(client: EmbeddedClient) -> int:
    for _ in range(200):
        bid = (await client.book_snapshot("AAPL")).best_bid
        if bid is not None:
            return bid
        await asyncio.sleep(0.01)
    raise AssertionError("no AAPL book")


def _order(client: EmbeddedClient, quantity: int, bid: int) -> SubmitOrder:
    return SubmitOrder(
        client_order_id=client.new_order_id(), account="main", instrument="AAPL", side=Side.BUY, quantity=quantity,
        price=bid - 10_000,
    )  # fmt: skip


def _status(events: list[ClientEvent], client_order_id: str) -> OrdStatus | None:
    reports = [e for e in events if isinstance(e, ExecutionReport) and e.client_order_id == client_order_id]
    return reports[-1].ord_status if reports else None
