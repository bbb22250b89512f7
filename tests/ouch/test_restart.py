"""A restarted engine on the OUCH venue takes its working orders over from the session instead of forgetting them.

Everything is real: the engine's runtime with its SQLite journal, the OUCH venue, SoupBinTCP on loopback, the
gateway and the simulated exchange behind it. The engine is stopped and started again on the same database while
the gateway (and another firm trading against the engine's orders) goes on.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from core.commands import CancelOrder, SubmitOrder
from core.enums import ExecType, OrdStatus, Side
from core.events import CancelReject, ExecutionReport
from engine.clock import AsyncioScheduler
from engine.ouch import messages as m
from engine.ouch.gateway import OuchGateway
from engine.ouch.venue import NOT_IN_SESSION, RECOVERING, OuchVenue
from engine.plugins import load_plugins
from engine.runtime import LiveRuntime
from tests.ouch.harness import SYMBOL, USERS, OuchClient, enter, eventually, ouch_engine_config, quiet_exchange

ACCOUNT = "ACC1"
RUN_S = 20.0


class Engine:
    """One run of the engine (a LiveRuntime on the OUCH venue) and what it published."""

    def __init__(self, runtime: LiveRuntime) -> None:
        self.runtime = runtime
        self.reports: list[ExecutionReport] = []
        self.rejects: list[CancelReject] = []
        runtime.engine.bus.subscribe(ExecutionReport, self.reports.append)
        runtime.engine.bus.subscribe(CancelReject, self.rejects.append)

    @property
    def venue(self) -> OuchVenue:
        venue = self.runtime.engine.venues["ouch"]
        assert isinstance(venue, OuchVenue)
        return venue

    def status(self, client_order_id: str) -> OrdStatus | None:
        order = self.runtime.engine.orders.by_client_id(client_order_id)
        return None if order is None else order.status

    async def reaches(self, client_order_id: str, status: OrdStatus) -> None:
        await eventually(lambda: self.status(client_order_id) is status)

    async def stop(self) -> None:
        self.runtime.stop()
        await asyncio.wait_for(self.venue.wait_stopped(), 5.0)


def run(scenario: Callable[[OuchGateway, Callable[[], Awaitable[Engine]]], Awaitable[None]], db: Path) -> None:
    async def main() -> None:
        gateway = OuchGateway(quiet_exchange(), users=USERS, heartbeat_s=0.2, timeout_s=5.0)
        port = await gateway.start()
        config = ouch_engine_config(
            ACCOUNT, port=port, username="FIRM1", password_env="OUCH_RESTART_PASSWORD", reconnect_s=0.05
        )
        loop = asyncio.get_running_loop()

        async def start() -> Engine:
            runtime = LiveRuntime(config, load_plugins(), AsyncioScheduler(loop), db_url=f"sqlite:///{db}")
            runtime.open()
            engine = Engine(runtime)
            runtime.start()
            await asyncio.wait_for(engine.venue.wait_logged_in(), 5.0)
            return engine

        try:
            await scenario(gateway, start)
        finally:
            await gateway.close()

    asyncio.run(asyncio.wait_for(main(), RUN_S))


def submit(engine: Engine, client_order_id: str, side: Side, quantity: int, price: int) -> None:
    engine.runtime.engine.submit(
        SubmitOrder(
            client_order_id=client_order_id, account=ACCOUNT, instrument=SYMBOL, side=side, quantity=quantity,
            price=price,
        )
    )  # fmt: skip


@pytest.fixture(autouse=True)
def password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OUCH_RESTART_PASSWORD", USERS["FIRM1"])


def test_orders_filled_while_the_engine_was_down_are_reported_and_the_rest_stay_live(tmp_path: Path) -> None:
    async def scenario(gateway: OuchGateway, start: Callable[[], Awaitable[Engine]]) -> None:
        first = await start()
        submit(first, "buy-1", Side.BUY, 300, 1_005_000)
        submit(first, "buy-2", Side.BUY, 100, 1_004_000)
        await first.reaches("buy-1", OrdStatus.NEW)
        await first.reaches("buy-2", OrdStatus.NEW)
        await first.stop()

        taker = OuchClient(gateway.port, "FIRM2", "pw2")  # trades with the engine's bid while it is down
        await taker.soup.connect()
        taker.send(enter("SELL1", "S", 300, 1_005_000, tif=m.TIF_IOC))
        await eventually(lambda: len(taker.of_type(m.Executed)) == 1)
        await taker.soup.close()

        second = await start()
        engine = second.runtime.engine
        await second.reaches("buy-1", OrdStatus.FILLED)
        fill = next(r for r in second.reports if r.client_order_id == "buy-1" and r.exec_type is ExecType.TRADE)
        assert (fill.last_qty, fill.last_price, fill.cum_qty, fill.leaves_qty) == (300, 1_005_000, 300, 0)
        assert engine.position(ACCOUNT, SYMBOL).quantity == 300
        assert second.status("buy-2") is OrdStatus.NEW
        assert not [r for r in second.reports if r.client_order_id == "buy-2"], "nothing new happened to buy-2"

        await eventually(lambda: not second.venue._recovering)
        engine.cancel(CancelOrder(client_order_id="buy-2", account=ACCOUNT))
        await second.reaches("buy-2", OrdStatus.CANCELED)
        await second.stop()

    run(scenario, tmp_path / "engine.db")


def test_orders_of_a_session_that_ended_are_expired_and_held_until_then(tmp_path: Path) -> None:
    async def scenario(gateway: OuchGateway, start: Callable[[], Awaitable[Engine]]) -> None:
        first = await start()
        submit(first, "buy-1", Side.BUY, 100, 1_005_000)
        await first.reaches("buy-1", OrdStatus.NEW)
        await first.stop()

        # A new session: the orders of the old one are gone with it.
        await gateway.close()
        replacement = OuchGateway(quiet_exchange(), users=USERS, heartbeat_s=0.2, timeout_s=5.0)
        await replacement.start(port=gateway.port)
        try:
            second = await start()
            engine = second.runtime.engine
            engine.cancel(CancelOrder(client_order_id="buy-1", account=ACCOUNT))  # before the session is known
            await eventually(lambda: bool(second.rejects))
            assert second.rejects[0].reason == RECOVERING
            await second.reaches("buy-1", OrdStatus.EXPIRED)
            expired = [r for r in second.reports if r.client_order_id == "buy-1"][-1]
            assert (expired.exec_type, expired.reason) == (ExecType.EXPIRED, NOT_IN_SESSION)
            await second.stop()
        finally:
            await replacement.close()

    run(scenario, tmp_path / "engine.db")
