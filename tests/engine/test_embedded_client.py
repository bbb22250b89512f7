"""The embedded engine client as a front end uses it: connect, commands, the event stream, snapshots, strategies."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from core.book import L2Book
from core.commands import CancelOrder, KillSwitch, SubmitOrder
from core.enums import ExecType, OrdStatus, Side
from core.events import BookUpdate, ExecutionReport, PositionUpdate, RiskEvent, RiskEventKind
from engine.client.embedded import EmbeddedClient
from engine.client.protocol import ClientEvent, ConnectionEvent, ConnectionState, StrategyState
from engine.clock import AsyncioScheduler
from engine.config import EngineConfig
from engine.plugins import PluginRegistry
from engine.runtime import LiveRuntime


@pytest.fixture
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()


def _client(
    loop: asyncio.AbstractEventLoop, config: EngineConfig, registry: PluginRegistry, db: Path
) -> EmbeddedClient:
    runtime = LiveRuntime(config, registry, AsyncioScheduler(loop), db_url=f"sqlite:///{db}", seed=5)
    return EmbeddedClient(runtime)


def test_a_session_trades_and_sees_its_fill_and_position(
    loop: asyncio.AbstractEventLoop, config: EngineConfig, registry: PluginRegistry, tmp_path: Path
) -> None:
    client = _client(loop, config, registry, tmp_path / "e.db")
    events: list[ClientEvent] = []
    client.subscribe(events.append)

    async def scenario() -> None:
        info = await client.connect()
        assert [i.symbol for i in info.instruments] == ["AAPL", "MSFT", "SPY", "QQQ"]
        assert info.accounts == ("main",)
        assert {s.name for s in info.strategies} >= {"market-maker", "twap", "pairs"}
        await asyncio.sleep(0.3)
        snapshot = await client.book_snapshot("AAPL")
        ask = snapshot.best_ask
        assert ask is not None
        order_id = client.new_order_id()
        await client.submit(
            SubmitOrder(
                client_order_id=order_id, account="main", instrument="AAPL", side=Side.BUY, quantity=10, price=ask
            )
        )
        await asyncio.sleep(0.2)
        reports = [e for e in events if isinstance(e, ExecutionReport) and e.client_order_id == order_id]
        assert reports[-1].ord_status is OrdStatus.FILLED
        positions = await client.positions()
        assert [(p.instrument, p.quantity) for p in positions] == [("AAPL", 10)]
        fills = await client.executions()
        assert [f.client_order_id for f in fills] == [order_id]
        orders = await client.orders()
        assert [(o.client_order_id, o.ord_status) for o in orders] == [(order_id, OrdStatus.FILLED)]
        await client.close()

    loop.run_until_complete(scenario())
    kinds = {type(event) for event in events}
    assert {ConnectionEvent, BookUpdate, ExecutionReport, PositionUpdate} <= kinds
    connection = [event.state for event in events if isinstance(event, ConnectionEvent)]
    assert connection == [ConnectionState.CONNECTED, ConnectionState.DISCONNECTED]


def test_the_book_snapshot_plus_later_updates_is_the_engine_book(
    loop: asyncio.AbstractEventLoop, config: EngineConfig, registry: PluginRegistry, tmp_path: Path
) -> None:
    client = _client(loop, config, registry, tmp_path / "e.db")
    book = L2Book()
    seen: list[int] = []

    async def scenario() -> None:
        await client.connect()
        await asyncio.sleep(0.2)
        snapshot = await client.book_snapshot("MSFT")
        book.apply_deltas(snapshot.deltas)
        seen.append(snapshot.sequence)

        def on_event(event: ClientEvent) -> None:
            if isinstance(event, BookUpdate) and event.instrument == "MSFT" and event.sequence > seen[0]:
                book.apply_deltas(event.deltas)

        client.subscribe(on_event)
        await asyncio.sleep(0.3)
        engine_book = client.runtime.market.snapshot("MSFT")
        assert book.depth(50).price_levels() == _levels(engine_book)
        await client.close()

    loop.run_until_complete(scenario())


def _levels(update: BookUpdate) -> tuple[tuple[tuple[int, int], ...], tuple[tuple[int, int], ...]]:
    other = L2Book()
    other.apply_deltas(np.asarray(update.deltas))
    return other.depth(50).price_levels()


def test_kill_switch_cancels_working_orders_and_refuses_new_ones(
    loop: asyncio.AbstractEventLoop, config: EngineConfig, registry: PluginRegistry, tmp_path: Path
) -> None:
    client = _client(loop, config, registry, tmp_path / "e.db")
    events: list[ClientEvent] = []
    client.subscribe(events.append)

    async def scenario() -> None:
        await client.connect()
        await asyncio.sleep(0.2)
        bid = (await client.book_snapshot("SPY")).best_bid
        assert bid is not None
        resting = client.new_order_id()
        await client.submit(
            SubmitOrder(client_order_id=resting, account="main", instrument="SPY", side=Side.BUY, quantity=5,
                        price=bid - 1_000)
        )  # fmt: skip
        await asyncio.sleep(0.1)
        await client.kill_switch(KillSwitch(engaged=True, reason="test"))
        await asyncio.sleep(0.1)
        refused = client.new_order_id()
        await client.submit(
            SubmitOrder(client_order_id=refused, account="main", instrument="SPY", side=Side.BUY, quantity=5,
                        price=bid - 1_000)
        )  # fmt: skip
        await client.cancel(CancelOrder(client_order_id="nope", account="main"))
        await asyncio.sleep(0.05)
        statuses = {o.client_order_id: o.ord_status for o in await client.orders()}
        assert statuses == {resting: OrdStatus.CANCELED, refused: OrdStatus.REJECTED}
        await client.close()

    loop.run_until_complete(scenario())
    risk = [e for e in events if isinstance(e, RiskEvent)]
    assert risk[0].kind is RiskEventKind.KILL_SWITCH
    assert any(e.kind is RiskEventKind.REJECT for e in risk)


def test_strategies_start_and_stop_with_their_own_pnl(
    loop: asyncio.AbstractEventLoop, config: EngineConfig, registry: PluginRegistry, tmp_path: Path
) -> None:
    client = _client(loop, config, registry, tmp_path / "e.db")
    events: list[ClientEvent] = []
    client.subscribe(events.append)

    async def scenario() -> None:
        await client.connect()
        state = await client.start_strategy(
            "market-maker", account="main", instruments=["AAPL"], params={"half_spread_ticks": 0}
        )
        assert state.running
        assert state.params["half_spread_ticks"] == 0
        with pytest.raises(ValueError, match="already running"):
            await client.start_strategy(
                "market-maker", account="main", instruments=["AAPL"], params={}, strategy_id=state.strategy_id
            )
        with pytest.raises(LookupError, match="no strategy named"):
            await client.start_strategy("nonesuch", account="main", instruments=["AAPL"], params={})
        await asyncio.sleep(1.0)
        stopped = await client.stop_strategy(state.strategy_id)
        assert not stopped.running
        await asyncio.sleep(0.1)
        own = [o for o in await client.orders() if o.strategy_id == state.strategy_id]
        assert own, "the market maker quoted"
        assert all(o.ord_status in (OrdStatus.CANCELED, OrdStatus.FILLED, OrdStatus.REJECTED) for o in own)
        fills = [f for f in await client.executions() if f.strategy_id == state.strategy_id]
        listed = {s.strategy_id: s for s in await client.strategies()}
        fees = sum(f.fee for f in fills)
        assert listed[state.strategy_id].fees == fees
        await client.close()

    loop.run_until_complete(scenario())
    assert [type(e) for e in events if isinstance(e, StrategyState)] == [StrategyState, StrategyState]


def test_a_restart_recovers_orders_and_positions_from_the_journal(
    loop: asyncio.AbstractEventLoop, config: EngineConfig, registry: PluginRegistry, tmp_path: Path
) -> None:
    db = tmp_path / "e.db"

    async def first() -> str:
        client = _client(loop, config, registry, db)
        await client.connect()
        await asyncio.sleep(0.2)
        ask = (await client.book_snapshot("QQQ")).best_ask
        assert ask is not None
        filled, resting = client.new_order_id(), client.new_order_id()
        await client.submit(SubmitOrder(client_order_id=filled, account="main", instrument="QQQ", side=Side.BUY,
                                        quantity=3, price=ask))  # fmt: skip
        await client.submit(SubmitOrder(client_order_id=resting, account="main", instrument="QQQ", side=Side.BUY,
                                        quantity=3, price=ask - 5_000))  # fmt: skip
        await asyncio.sleep(0.2)
        client.runtime.engine.stop()  # as if the process died: no cancel of the resting order
        return resting

    resting = loop.run_until_complete(first())

    async def second() -> None:
        client = _client(loop, config, registry, db)
        await client.connect()
        positions = await client.positions()
        assert [(p.instrument, p.quantity) for p in positions] == [("QQQ", 3)]
        orders = {o.client_order_id: o for o in await client.orders()}
        assert orders[resting].ord_status is OrdStatus.EXPIRED
        expired = [r for r in client.runtime.journal.replay() if isinstance(r, ExecutionReport)]  # type: ignore[union-attr]
        assert any(r.exec_type is ExecType.EXPIRED and r.client_order_id == resting for r in expired)
        await client.close()

    loop.run_until_complete(second())
