"""The remote engine client against a real FIX server (engine on the simulated market, same event loop, 127.0.0.1).

What a desktop relies on: the session it connects to, the books, orders with their whole life, fills and
positions, strategies, the kill switch, and what happens when the connection goes away.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import AsyncIterator, Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from core.commands import CancelAll, CancelOrder, KillSwitch, ReplaceOrder, SubmitOrder
from core.enums import ExecType, OrderType, OrdStatus, Side, TimeInForce
from core.events import BookUpdate, CancelReject, ExecutionReport, PositionUpdate, RiskEvent, RiskEventKind, TradeTick
from engine.client.protocol import ClientEvent, ConnectionEvent, ConnectionState, StrategyState
from engine.client.remote import RemoteClient, RemoteEndpoint, RequestRefused
from engine.clock import AsyncioScheduler
from engine.config import EngineConfig
from engine.fix.initiator import LogonError
from engine.fix.server import FixServer, tls_context
from engine.fix.users import add_user
from engine.plugins import PluginRegistry
from engine.runtime import LiveRuntime
from engine.storage.db import open_database
from tests.fix.test_initiator import certificate

PASSWORD = "correct horse"
RUN_S = 30.0
WAIT_S = 5.0


@dataclass
class Served:
    """An engine on the simulated market behind a FIX server, both on the test's loop."""

    runtime: LiveRuntime
    server: FixServer
    port: int

    def client(self, user: str = "alice", password: str = PASSWORD, **options: Any) -> RemoteClient:
        return RemoteClient(RemoteEndpoint(user=user, host="127.0.0.1", port=self.port), password, **options)


@contextlib.asynccontextmanager
async def serving(
    registry: PluginRegistry, config: EngineConfig, tmp_path: Path, *, tls: ssl.SSLContext | None = None
) -> AsyncIterator[Served]:
    users = tmp_path / "users.toml"
    if not users.exists():
        add_user(users, "alice", PASSWORD, accounts=["*"])
        add_user(users, "viewer", PASSWORD, accounts=["*"], read_only=True)
    url = f"sqlite:///{tmp_path / 'engine.db'}"
    runtime = LiveRuntime(
        config, registry, AsyncioScheduler(), db_url=url, seed=3, commit_loop=asyncio.get_running_loop()
    )
    runtime.open()
    server = FixServer(runtime, database=open_database(url), users_path=users, host="127.0.0.1", port=0, tls=tls)
    runtime.start()
    _, port = await server.start()
    try:
        yield Served(runtime, server, port)
    finally:
        await server.stop()
        runtime.stop()


def run(scenario: Coroutine[Any, Any, None]) -> None:
    asyncio.run(asyncio.wait_for(scenario, RUN_S))


async def eventually(condition: Callable[[], bool], timeout_s: float = WAIT_S) -> None:
    for _ in range(int(timeout_s / 0.01)):
        if condition():
            return
        await asyncio.sleep(0.01)
    assert condition(), f"not true within {timeout_s} s"


class Events:
    """Everything a client delivered, with the lookups the tests need."""

    def __init__(self, client: RemoteClient) -> None:
        self.all: list[ClientEvent] = []
        client.subscribe(self.all.append)

    def of(self, kind: type[Any]) -> list[Any]:
        return [event for event in self.all if isinstance(event, kind)]

    def reports(self, client_order_id: str) -> list[ExecutionReport]:
        return [e for e in self.of(ExecutionReport) if e.client_order_id == client_order_id]

    def status(self, client_order_id: str) -> OrdStatus | None:
        reports = self.reports(client_order_id)
        return reports[-1].ord_status if reports else None

    def connections(self) -> list[ConnectionState]:
        return [event.state for event in self.of(ConnectionEvent)]


def order(client: RemoteClient, side: Side, quantity: int, price: int | None, **kwargs: Any) -> SubmitOrder:
    return SubmitOrder(
        client_order_id=client.new_order_id(), account="main", instrument="AAPL", side=side, quantity=quantity,
        price=price, order_type=OrderType.LIMIT if price is not None else OrderType.MARKET, **kwargs,
    )  # fmt: skip


def levels(book: BookUpdate) -> dict[tuple[int, int], int]:
    return {(side, price): quantity for side, price, quantity in book.deltas.tolist() if quantity}


def test_a_session_gets_the_engines_instruments_accounts_strategies_limits_and_books(
    registry: PluginRegistry, config: EngineConfig, tmp_path: Path
) -> None:
    async def scenario() -> None:
        async with serving(registry, config, tmp_path) as served:
            client = served.client()
            events = Events(client)
            info = await client.connect()
            assert info.user == "alice"
            assert info.endpoint == f"fix://alice@127.0.0.1:{served.port}"
            assert info.instruments == tuple(served.runtime.engine.instruments.values())
            assert info.accounts == ("main",)
            assert {s.name for s in info.strategies} == {"market-maker", "pairs", "twap"}
            maker = next(s for s in info.strategies if s.name == "market-maker")
            assert maker.params == registry.strategies["market-maker"].params
            assert info.risk_limits == {"main": config.accounts[0].risk}
            assert events.connections() == [ConnectionState.CONNECTED]
            assert await client.ping() > 0
            # The books the client keeps are the engine's books, update for update.
            engine_market = served.runtime.market
            await asyncio.sleep(0.3)

            def same_books() -> bool:
                return all(
                    levels(engine_market.snapshot(symbol)) == levels(asyncio_result(client.book_snapshot(symbol)))
                    for symbol in ("AAPL", "MSFT")
                )

            await eventually(same_books)
            snapshot = await client.book_snapshot("AAPL")
            engine_book = engine_market.snapshot("AAPL")
            assert (snapshot.best_bid, snapshot.best_ask) == (engine_book.best_bid, engine_book.best_ask)
            assert snapshot.sequence == engine_book.sequence
            assert events.of(BookUpdate)
            await eventually(lambda: bool(events.of(TradeTick)))
            trade = events.of(TradeTick)[-1]
            assert engine_market.last_trade(trade.instrument)[0] is not None
            assert await client.plugins() == []
            await client.close()
            assert events.connections() == [ConnectionState.CONNECTED, ConnectionState.DISCONNECTED]

    run(scenario())


def asyncio_result(coroutine: Coroutine[Any, Any, BookUpdate]) -> BookUpdate:
    """The value of a coroutine that never awaits (the client's book snapshot is local)."""
    try:
        coroutine.send(None)
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]
    raise AssertionError("the coroutine awaited")


def test_an_order_is_acknowledged_replaced_and_cancelled_under_its_own_id(
    registry: PluginRegistry, config: EngineConfig, tmp_path: Path
) -> None:
    async def scenario() -> None:
        async with serving(registry, config, tmp_path) as served:
            client = served.client()
            events = Events(client)
            await client.connect()
            bid = (await client.book_snapshot("AAPL")).best_bid
            assert bid is not None
            resting = order(client, Side.BUY, 10, bid - 5_000)
            await client.submit(resting)
            await eventually(lambda: events.status(resting.client_order_id) is OrdStatus.NEW)
            await client.replace(
                ReplaceOrder(client_order_id=resting.client_order_id, account="main", price=bid - 6_000, quantity=20)
            )
            await eventually(lambda: events.status(resting.client_order_id) is OrdStatus.REPLACED)
            replaced = events.reports(resting.client_order_id)[-1]
            assert (replaced.exec_type, replaced.price, replaced.quantity) == (ExecType.REPLACED, bid - 6_000, 20)
            engine_order = served.runtime.engine.orders.by_client_id(f"alice:{resting.client_order_id}")
            assert engine_order is not None
            assert (engine_order.price, engine_order.quantity) == (bid - 6_000, 20)
            await client.cancel(CancelOrder(client_order_id=resting.client_order_id, account="main"))
            await eventually(lambda: events.status(resting.client_order_id) is OrdStatus.CANCELED)
            shown = [r.exec_type for r in events.reports(resting.client_order_id)]
            assert [kind for kind in shown if kind in (ExecType.NEW, ExecType.REPLACED, ExecType.CANCELED)] == [
                ExecType.NEW, ExecType.REPLACED, ExecType.CANCELED,
            ]  # fmt: skip
            # A cancel of a finished order is refused by the engine and reported under the order's id.
            await client.cancel(CancelOrder(client_order_id=resting.client_order_id, account="main"))
            await eventually(lambda: len(events.of(CancelReject)) == 1)
            reject = events.of(CancelReject)[0]
            assert reject.client_order_id == resting.client_order_id
            # A limit order off the tick grid is rejected by the server with the reason.
            odd = order(client, Side.BUY, 10, bid - 5_001)
            await client.submit(odd)
            await eventually(lambda: events.status(odd.client_order_id) is OrdStatus.REJECTED)
            assert "tick" in events.reports(odd.client_order_id)[-1].reason
            # Cancel all: every working order of the account.
            for offset in (7_000, 8_000):
                await client.submit(order(client, Side.BUY, 5, bid - offset))
            await eventually(lambda: len([r for r in events.of(ExecutionReport) if r.ord_status is OrdStatus.NEW]) >= 3)
            assert await client.cancel_all(CancelAll(account="main")) == 2
            await client.close()

    run(scenario())


def test_fills_move_positions_and_are_in_the_snapshots_after_a_reconnect(
    registry: PluginRegistry, config: EngineConfig, tmp_path: Path
) -> None:
    async def scenario() -> None:
        async with serving(registry, config, tmp_path) as served:
            client = served.client(reconnect_min_s=0.05)
            events = Events(client)
            await client.connect()
            ask = (await client.book_snapshot("AAPL")).best_ask
            assert ask is not None
            buy = order(client, Side.BUY, 7, ask + 10_000, time_in_force=TimeInForce.IOC)
            await client.submit(buy)
            await eventually(lambda: events.status(buy.client_order_id) is OrdStatus.FILLED)
            fills = [r for r in events.reports(buy.client_order_id) if r.exec_type is ExecType.TRADE]
            assert sum(fill.last_qty for fill in fills) == 7
            await eventually(lambda: any(p.quantity == 7 for p in events.of(PositionUpdate)))
            positions = await client.positions()
            assert [(p.account, p.instrument, p.quantity) for p in positions] == [("main", "AAPL", 7)]
            engine_position = served.runtime.engine.position("main", "AAPL")
            assert positions[0].cost == engine_position.cost
            orders = await client.orders()
            assert [(o.client_order_id, o.ord_status, o.cum_qty) for o in orders] == [
                (buy.client_order_id, OrdStatus.FILLED, 7)
            ]
            assert [f.exec_id for f in await client.executions()] == [f.exec_id for f in fills]

            # The connection drops: the client says so, logs on again, and the snapshots are the same.
            await client.drop_connection("cable cut")
            await eventually(
                lambda: events.connections()[-2:] == [ConnectionState.DISCONNECTED, ConnectionState.CONNECTED]
            )
            lost = [e for e in events.of(ConnectionEvent) if e.state is ConnectionState.DISCONNECTED]
            assert "cable cut" in lost[0].message
            assert [o.client_order_id for o in await client.orders()] == [buy.client_order_id]
            assert [f.exec_id for f in await client.executions()] == [f.exec_id for f in fills]
            # Still trading after the reconnect: flatten cancels the working order and sells the position.
            resting = order(client, Side.BUY, 3, ask - 20_000)
            await client.submit(resting)
            await eventually(lambda: events.status(resting.client_order_id) is OrdStatus.NEW)
            await client.flatten("main", "end of the test")
            await eventually(lambda: events.status(resting.client_order_id) is OrdStatus.CANCELED)
            await eventually(lambda: served.runtime.engine.position("main", "AAPL").quantity == 0)
            await eventually(lambda: events.of(PositionUpdate)[-1].quantity == 0)
            sells = [o for o in await client.orders() if o.side is Side.SELL]
            assert [(o.order_type, o.ord_status, o.cum_qty) for o in sells] == [(OrderType.MARKET, OrdStatus.FILLED, 7)]
            sell = sells[0]
            await client.close()

            # A new session of the same user (a restarted desktop) sees the day's orders and fills too.
            again = served.client()
            await again.connect()
            assert {o.client_order_id for o in await again.orders()} == {
                buy.client_order_id, resting.client_order_id, sell.client_order_id,
            }  # fmt: skip
            assert len(await again.executions()) == len(fills) + len(
                [r for r in events.reports(sell.client_order_id) if r.exec_type is ExecType.TRADE]
            )
            await again.close()

    run(scenario())


def test_strategies_start_and_stop_and_a_bad_start_says_why(
    registry: PluginRegistry, config: EngineConfig, tmp_path: Path
) -> None:
    async def scenario() -> None:
        async with serving(registry, config, tmp_path) as served:
            client = served.client()
            events = Events(client)
            await client.connect()
            state = await client.start_strategy(
                "market-maker", account="main", instruments=["MSFT"], params={"quote_size": 5}, strategy_id="mm-1"
            )
            assert (state.strategy_id, state.running, state.params["quote_size"]) == ("mm-1", True, 5)
            assert [s.strategy_id for s in await client.strategies()] == ["mm-1"]
            await eventually(lambda: any(r.strategy_id == "mm-1" for r in events.of(ExecutionReport)))
            stopped = await client.stop_strategy("mm-1")
            assert not stopped.running
            assert [s.running for s in events.of(StrategyState)][-1] is False
            assert served.runtime.strategy_state("mm-1").running is False
            with pytest.raises(ValueError, match="quote_size"):
                await client.start_strategy(
                    "market-maker", account="main", instruments=["MSFT"], params={"quote_size": -1}
                )
            with pytest.raises(LookupError):
                await client.stop_strategy("no-such-strategy")
            await client.close()

    run(scenario())


def test_the_kill_switch_cancels_and_blocks_then_releases(
    registry: PluginRegistry, config: EngineConfig, tmp_path: Path
) -> None:
    async def scenario() -> None:
        async with serving(registry, config, tmp_path) as served:
            client = served.client()
            events = Events(client)
            await client.connect()
            bid = (await client.book_snapshot("AAPL")).best_bid
            assert bid is not None
            resting = order(client, Side.BUY, 10, bid - 5_000)
            await client.submit(resting)
            await eventually(lambda: events.status(resting.client_order_id) is OrdStatus.NEW)
            await client.kill_switch(KillSwitch(engaged=True, reason="panic"))
            await eventually(lambda: events.status(resting.client_order_id) is OrdStatus.CANCELED)
            assert [(e.kind, e.reason) for e in events.of(RiskEvent)] == [(RiskEventKind.KILL_SWITCH, "panic")]
            blocked = order(client, Side.BUY, 10, bid - 5_000)
            await client.submit(blocked)
            await eventually(lambda: events.status(blocked.client_order_id) is OrdStatus.REJECTED)
            await client.kill_switch(KillSwitch(engaged=False, reason="calm"))
            assert events.of(RiskEvent)[-1].kind is RiskEventKind.RELEASE
            accepted = order(client, Side.BUY, 10, bid - 5_000)
            await client.submit(accepted)
            await eventually(lambda: events.status(accepted.client_order_id) is OrdStatus.NEW)
            await client.close()

    run(scenario())


def test_a_kill_switch_engaged_before_or_elsewhere_is_in_the_session(
    registry: PluginRegistry, config: EngineConfig, tmp_path: Path
) -> None:
    async def scenario() -> None:
        async with serving(registry, config, tmp_path) as served:
            engine = served.runtime.engine
            engine.kill_switch(KillSwitch(engaged=True, reason="risk desk", account="main", ts_ns=0))
            watcher = served.client("viewer", reconnect_min_s=0.05)
            events = Events(watcher)
            info = await watcher.connect()
            assert info.kill_switches == {"main": "risk desk"}

            # Another desktop releases it, then the engine engages the global switch: this one hears of both.
            trader = served.client()
            await trader.connect()
            await trader.kill_switch(KillSwitch(engaged=False, reason="resume", account="main"))
            await eventually(lambda: watcher.info.kill_switches == {})
            engine.kill_switch(KillSwitch(engaged=True, reason="market halt", ts_ns=0))
            await eventually(lambda: watcher.info.kill_switches == {None: "market halt"})
            told = [(e.kind, e.account, e.reason) for e in events.of(RiskEvent)]
            assert told == [(RiskEventKind.RELEASE, "main", ""), (RiskEventKind.KILL_SWITCH, None, "market halt")]

            # Released while this session was away: it learns so when it logs on again.
            await watcher.drop_connection("cable cut")
            engine.kill_switch(KillSwitch(engaged=False, reason="reopen", ts_ns=0))
            await eventually(lambda: watcher.info.kill_switches == {})
            last = events.of(RiskEvent)[-1]
            assert (last.kind, last.account) == (RiskEventKind.RELEASE, None)
            assert last.reason == "released while disconnected"
            assert events.connections()[-2:] == [ConnectionState.DISCONNECTED, ConnectionState.CONNECTED]
            await trader.close()
            await watcher.close()

    run(scenario())


def test_a_read_only_user_sees_but_its_orders_are_refused(
    registry: PluginRegistry, config: EngineConfig, tmp_path: Path
) -> None:
    async def scenario() -> None:
        async with serving(registry, config, tmp_path) as served:
            client = served.client("viewer")
            events = Events(client)
            await client.connect()
            refused = order(client, Side.BUY, 1, None)
            await client.submit(refused)
            await eventually(lambda: events.status(refused.client_order_id) is OrdStatus.REJECTED)
            assert "read-only" in events.reports(refused.client_order_id)[-1].reason
            with pytest.raises(RequestRefused, match="read-only"):
                await client.start_strategy("twap", account="main", instruments=["AAPL"], params={})
            await client.close()

    run(scenario())


def test_a_wrong_password_is_refused_and_a_stopped_server_is_a_lost_connection(
    registry: PluginRegistry, config: EngineConfig, tmp_path: Path
) -> None:
    async def scenario() -> None:
        async with serving(registry, config, tmp_path) as served:
            with pytest.raises(LogonError, match="wrong password"):
                await served.client(password="guess").connect()
            client = served.client(reconnect=False)
            events = Events(client)
            await client.connect()
            await served.server.stop("maintenance")
            await eventually(lambda: ConnectionState.DISCONNECTED in events.connections())
            lost = events.of(ConnectionEvent)[-1]
            assert "maintenance" in lost.message
            with pytest.raises(ConnectionError):
                await client.submit(order(client, Side.BUY, 1, None))
            with pytest.raises(ConnectionError):
                await client.positions()
            await client.close()

    run(scenario())


def test_a_url_names_the_user_host_and_port() -> None:
    assert RemoteEndpoint.parse("fix://alice@engine.local:9999") == RemoteEndpoint(
        user="alice", host="engine.local", port=9999
    )
    assert RemoteEndpoint.parse("fixs://bob@10.0.0.2").port == 9878
    assert RemoteEndpoint.parse("fixs://bob@10.0.0.2").tls
    for bad, why in [
        ("http://alice@h:1", "fix://"),
        ("fix://h:1", "user name"),
        ("fix://alice:pw@h:1", "password"),
        ("fix://alice@h:port", "port"),
    ]:
        with pytest.raises(ValueError, match=why):
            RemoteEndpoint.parse(bad)


def test_over_tls_the_servers_certificate_is_checked_against_the_ca_file(
    registry: PluginRegistry, config: EngineConfig, tmp_path: Path
) -> None:
    cert, key = certificate(tmp_path)

    async def scenario() -> None:
        async with serving(registry, config, tmp_path, tls=tls_context(cert, key)) as served:
            client = served.client(tls_ca=str(cert))
            info = await client.connect()
            assert info.accounts == ("main",)
            assert await client.ping() > 0
            await client.close()
            # fixs:// without the CA file trusts only the system's authorities, which did not sign it.
            stranger = RemoteClient(RemoteEndpoint.parse(f"fixs://alice@127.0.0.1:{served.port}"), PASSWORD)
            with pytest.raises(ssl.SSLError):
                await stranger.connect()

    run(scenario())
