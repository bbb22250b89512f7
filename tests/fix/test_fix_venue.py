"""The FIX venue: an engine whose orders go over FIX to another engine's server, on real loopback sockets.

Both engines run on the test's event loop: the remote one on the simulated market behind its FIX server, the local
one with the FIX venue as its only venue, its market data coming from the remote engine.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from core.book import L2Book
from core.commands import CancelOrder, ReplaceOrder, SubmitOrder
from core.contracts import VenueSetup
from core.enums import ExecType, OrderType, OrdStatus, Side, TimeInForce
from core.events import BookUpdate, CancelReject, ExecutionReport
from core.orders import Order
from engine.clock import AsyncioScheduler
from engine.config import AccountConfig, EngineConfig, VenueConfig
from engine.engine import Engine
from engine.fix.server import FixServer
from engine.fix.users import add_user
from engine.fix.venue import FixVenue, FixVenueSettings
from engine.plugins import PluginRegistry
from engine.risk.engine import RiskEngine
from engine.routing import DirectRouter
from engine.runtime import LiveRuntime
from engine.storage.db import open_database

PASSWORD = "router-secret"
RUN_S = 30.0
WAIT_S = 5.0
REMOTE_LIMIT = 50
LOCAL_LIMIT = 1_000


async def eventually(condition: Callable[[], bool], timeout_s: float = WAIT_S) -> None:
    for _ in range(int(timeout_s / 0.01)):
        if condition():
            return
        await asyncio.sleep(0.01)
    assert condition(), f"not true within {timeout_s} s"


@dataclass
class Link:
    """The remote engine and its server, and the local engine routing through the FIX venue."""

    remote: LiveRuntime
    server: FixServer
    engine: Engine
    venue: FixVenue
    reports: list[ExecutionReport]
    rejects: list[CancelReject]
    books: dict[str, L2Book]
    ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def submit(self, side: Side, quantity: int, price: int | None, **kwargs: Any) -> str:
        client_order_id = f"local-{next(self.ids)}"
        self.engine.submit(
            SubmitOrder(
                client_order_id=client_order_id, account="main", instrument="AAPL", side=side, quantity=quantity,
                price=price, order_type=OrderType.LIMIT if price is not None else OrderType.MARKET, **kwargs,
            )
        )  # fmt: skip
        return client_order_id

    def of(self, client_order_id: str) -> list[ExecutionReport]:
        return [report for report in self.reports if report.client_order_id == client_order_id]

    async def take(self, quantity: int) -> tuple[str, list[ExecutionReport]]:
        """A marketable IOC buy of ``quantity`` AAPL, once it has filled at the remote engine: its id and the
        fills the local engine reported."""
        ask = self.remote.market.snapshot("AAPL").best_ask
        assert ask is not None
        taker = self.submit(Side.BUY, quantity, ask + 10_000, time_in_force=TimeInForce.IOC)
        await eventually(lambda: self.status(taker) is OrdStatus.FILLED)
        return taker, [report for report in self.of(taker) if report.exec_type is ExecType.TRADE]

    def status(self, client_order_id: str) -> OrdStatus | None:
        order = self.engine.orders.by_client_id(client_order_id)
        return None if order is None else order.status

    def remote_order(self, client_order_id: str) -> Order | None:
        """The remote engine's order for a local one (the server names it ``<user>:<ClOrdID>``)."""
        order = self.engine.orders.by_client_id(client_order_id)
        assert order is not None
        sent_as = self.venue.sent_as(order.order_id)
        return None if sent_as is None else self.remote.engine.orders.by_client_id(f"router:{sent_as}")


@contextlib.asynccontextmanager
async def linked(
    registry: PluginRegistry, tmp_path: Path, *, store: bool = False, reconnect_s: float = 0.05
) -> AsyncIterator[Link]:
    users = tmp_path / "users.toml"
    add_user(users, "router", PASSWORD, accounts=["*"], cancel_on_disconnect=False)
    remote_config = EngineConfig(
        accounts=(
            AccountConfig(name="main", risk={"max_order_quantity": {"limit": REMOTE_LIMIT}}),
            AccountConfig(name="house", risk={}),
        )
    )
    url = f"sqlite:///{tmp_path / 'remote.db'}"
    remote = LiveRuntime(
        remote_config, registry, AsyncioScheduler(), db_url=url, seed=9, commit_loop=asyncio.get_running_loop()
    )
    remote.open()
    server = FixServer(remote, database=open_database(url), users_path=users, host="127.0.0.1", port=0)
    remote.start()
    _, port = await server.start()
    instruments = remote.engine.instruments
    settings: dict[str, Any] = {
        "fix_port": port, "fix_sender_comp_id": "router", "fix_password": PASSWORD, "fix_reconnect_s": reconnect_s,
        "fix_symbols": ["AAPL"],
    }  # fmt: skip
    if store:
        settings["fix_store_url"] = f"sqlite:///{tmp_path / 'venue.db'}"
    venue = FixVenue(VenueSetup(instruments=instruments, settings=settings))
    engine = Engine(
        instruments=instruments, scheduler=AsyncioScheduler(),
        risk=RiskEngine(registry.risk_checks, {"main": {"max_order_quantity": {"limit": LOCAL_LIMIT}}}),
        router=DirectRouter(), venues={"fix": venue},
    )  # fmt: skip
    link = Link(remote, server, engine, venue, [], [], {"AAPL": L2Book()})
    engine.bus.subscribe(ExecutionReport, link.reports.append)
    engine.bus.subscribe(CancelReject, link.rejects.append)
    engine.bus.subscribe(BookUpdate, lambda update: link.books[update.instrument].apply_deltas(update.deltas))
    engine.start()
    try:
        await asyncio.wait_for(venue.wait_logged_on(), WAIT_S)
        yield link
    finally:
        engine.stop()
        await asyncio.wait_for(venue.wait_stopped(), WAIT_S)
        await server.stop()
        remote.stop()


def run(scenario: Coroutine[Any, Any, None]) -> None:
    asyncio.run(asyncio.wait_for(scenario, RUN_S))


def depth(book: L2Book) -> Any:
    return book.depth(1_000).price_levels()


def test_orders_go_to_the_remote_engine_and_risk_runs_at_both_ends(registry: PluginRegistry, tmp_path: Path) -> None:
    async def scenario() -> None:
        async with linked(registry, tmp_path) as link:
            # The local engine's book is the remote engine's book, from the venue's market data.
            remote_market = link.remote.market
            await eventually(lambda: depth(link.books["AAPL"]) == _levels(remote_market.snapshot("AAPL")))
            bid = remote_market.snapshot("AAPL").best_bid
            assert bid is not None

            resting = link.submit(Side.BUY, 10, bid - 5_000)
            await eventually(lambda: link.status(resting) is OrdStatus.NEW)
            remote = link.remote_order(resting)
            assert remote is not None
            assert (remote.quantity, remote.price, remote.account) == (10, bid - 5_000, "main")
            link.engine.replace(ReplaceOrder(client_order_id=resting, account="main", quantity=20, price=bid - 6_000))
            await eventually(lambda: link.status(resting) is OrdStatus.REPLACED)
            assert (remote.quantity, remote.price) == (20, bid - 6_000)
            link.engine.cancel(CancelOrder(client_order_id=resting, account="main"))
            await eventually(lambda: link.status(resting) is OrdStatus.CANCELED)
            assert remote.status is OrdStatus.CANCELED
            assert all(report.venue == "fix" for report in link.of(resting))

            # A marketable order fills at the remote engine; the local engine books the fill.
            _, fills = await link.take(5)
            assert sum(fill.last_qty for fill in fills) == 5
            assert link.engine.position("main", "AAPL").quantity == 5
            assert link.remote.engine.position("main", "AAPL").quantity == 5

            # Above the remote limit but within the local one: accepted here, rejected there, and reported back.
            too_big = link.submit(Side.BUY, REMOTE_LIMIT + 10, bid - 5_000)
            await eventually(lambda: link.status(too_big) is OrdStatus.REJECTED)
            assert "max_order_quantity" in link.of(too_big)[-1].reason
            # Above the local limit: never leaves the local engine.
            way_too_big = link.submit(Side.BUY, LOCAL_LIMIT + 1, bid - 5_000)
            assert link.status(way_too_big) is OrdStatus.REJECTED
            assert link.remote_order(way_too_big) is None
            assert len(list(link.remote.engine.orders)) == 3

    run(scenario())


def test_what_happened_while_disconnected_arrives_when_the_venue_logs_on_again(
    registry: PluginRegistry, tmp_path: Path
) -> None:
    async def scenario() -> None:
        async with linked(registry, tmp_path, store=True, reconnect_s=0.5) as link:
            bid = link.remote.market.snapshot("AAPL").best_bid
            assert bid is not None
            resting = link.submit(Side.BUY, 10, bid - 5_000)
            await eventually(lambda: link.status(resting) is OrdStatus.NEW)
            remote = link.remote_order(resting)
            assert remote is not None
            await link.venue.drop_connection("cable cut")
            # While the venue is away, the remote engine's operator cancels the order.
            link.remote.engine.cancel(CancelOrder(client_order_id=remote.client_order_id, account="main"))
            await eventually(lambda: remote.status is OrdStatus.CANCELED)
            assert not link.venue.logged_on
            assert link.status(resting) is OrdStatus.NEW
            # The venue logs on again, resuming the session: the server resends the report it missed.
            await eventually(lambda: link.status(resting) is OrdStatus.CANCELED)
            assert link.venue.logged_on
            # And orders flow again.
            again = link.submit(Side.BUY, 10, bid - 5_000)
            await eventually(lambda: link.status(again) is OrdStatus.NEW)

    run(scenario())


def test_the_settings_say_what_is_missing() -> None:
    with pytest.raises(ValueError, match="fix_port"):
        FixVenueSettings.from_mapping({"fix_sender_comp_id": "x", "fix_password": "p"})
    with pytest.raises(ValueError, match="fix_password"):
        FixVenueSettings.from_mapping({"fix_port": 1, "fix_sender_comp_id": "x"})
    with pytest.raises(ValueError, match="NO_SUCH_VARIABLE"):
        FixVenueSettings.from_mapping(
            {"fix_port": 1, "fix_sender_comp_id": "x", "fix_password_env": "NO_SUCH_VARIABLE"}
        )
    settings = FixVenueSettings.from_mapping(
        {"fix_port": "9878", "fix_sender_comp_id": "router", "fix_password": "hunter2", "fix_heartbeat_s": "5"}
    )
    assert (settings.port, settings.heartbeat_s, settings.target_comp_id) == (9878, 5, "ENGINE")
    assert "hunter2" not in repr(settings)


def test_the_venue_is_a_built_in_plugin(registry: PluginRegistry) -> None:
    assert "fix" in registry.venues


def _levels(book: BookUpdate) -> Any:
    l2 = L2Book()
    l2.apply_deltas(book.deltas)
    return depth(l2)


def test_a_restarted_engine_takes_its_orders_at_the_venue_back(
    registry: PluginRegistry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The routing engine stops with orders resting at the remote one (one is cancelled there meanwhile, one
    filled) and one that never got there; started again on its journal, it adopts them: what happened is
    reported, the one the remote engine does not know is expired, and the order still resting there can be
    cancelled from here."""
    monkeypatch.setenv("ROUTER_PASSWORD", PASSWORD)

    async def scenario() -> None:
        async with linked(registry, tmp_path) as link:
            port = link.venue.settings.port
            link.engine.stop()  # the routing engine of this test logs on as the same user
            await asyncio.wait_for(link.venue.wait_stopped(), WAIT_S)
            local_url = f"sqlite:///{tmp_path / 'local.db'}"
            venue = VenueConfig(
                name="fix",
                settings={"port": port, "sender_comp_id": "router", "password_env": "ROUTER_PASSWORD",
                          "symbols": ["AAPL"], "reconnect_s": 0.05},
            )  # fmt: skip
            config = EngineConfig(accounts=(AccountConfig(name="main", risk={}),), venue=venue)

            async def started() -> LiveRuntime:
                runtime = LiveRuntime(config, registry, AsyncioScheduler(), db_url=local_url, seed=1)
                runtime.open()
                runtime.start()
                fix_venue = runtime.engine.venues["fix"]
                assert isinstance(fix_venue, FixVenue)
                await asyncio.wait_for(fix_venue.wait_logged_on(), WAIT_S)
                return runtime

            def submit(runtime: LiveRuntime, client_order_id: str, price: int) -> Order:
                return runtime.engine.submit(
                    SubmitOrder(client_order_id=client_order_id, account="main", instrument="AAPL", side=Side.BUY,
                                quantity=3, price=price, order_type=OrderType.LIMIT)
                )  # fmt: skip

            bid = link.remote.market.snapshot("AAPL").best_bid
            assert bid is not None
            first = await started()
            kept, cancelled = submit(first, "kept", bid - 9_000), submit(first, "cancelled", bid - 9_000)
            filled = submit(first, "filled", bid - 5_000)
            await eventually(lambda: all(order.status is OrdStatus.NEW for order in (kept, cancelled, filled)))
            first_venue = first.engine.venues["fix"]
            assert isinstance(first_venue, FixVenue)
            await first_venue.drop_connection("cable cut")
            lost = submit(first, "lost", bid - 9_000)  # waits for the next Logon, which never comes
            first.stop()  # the remote engine keeps the orders (the user does not cancel on disconnect)
            await asyncio.wait_for(first_venue.wait_stopped(), WAIT_S)

            # While the routing engine is down, one order is cancelled at the remote engine and one fills there.
            remote_orders = {o.client_order_id.split(":", 1)[1].split("~")[0]: o for o in link.remote.engine.orders}
            link.remote.engine.cancel(
                CancelOrder(client_order_id=remote_orders[cancelled.order_id].client_order_id, account="main")
            )
            # A sale that sweeps every bid down to the "filled" order's price, not to the "kept" one's.
            taker = SubmitOrder(client_order_id="house-sell", account="house", instrument="AAPL", side=Side.SELL,
                                quantity=10_000_000, price=bid - 5_000, order_type=OrderType.LIMIT,
                                time_in_force=TimeInForce.IOC)  # fmt: skip
            link.remote.engine.submit(taker)
            await eventually(lambda: remote_orders[cancelled.order_id].status is OrdStatus.CANCELED)

            second = await started()
            try:

                def now(name: str) -> Order:
                    order = second.engine.orders.by_client_id(name)
                    assert order is not None
                    return order

                await eventually(lambda: now("cancelled").status is OrdStatus.CANCELED)
                await eventually(lambda: now("filled").status is OrdStatus.FILLED)
                await eventually(lambda: now("lost").status is OrdStatus.EXPIRED)
                assert now("lost").reason == "not working at the FIX venue after the restart"
                assert lost.order_id not in remote_orders
                assert now("kept").status is OrdStatus.NEW
                second.engine.cancel(CancelOrder(client_order_id="kept", account="main"))
                await eventually(lambda: now("kept").status is OrdStatus.CANCELED)
                assert remote_orders[kept.order_id].status is OrdStatus.CANCELED
                assert second.engine.position("main", "AAPL").quantity == 3
            finally:
                second.stop()
                second_venue = second.engine.venues["fix"]
                assert isinstance(second_venue, FixVenue)
                await asyncio.wait_for(second_venue.wait_stopped(), WAIT_S)

    run(scenario())
