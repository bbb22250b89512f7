"""An exchange breaks the engine's trades over OUCH: orders, positions and P&L are corrected, and stay so.

Everything is real: the engine's runtime with its SQLite journal, the OUCH venue, SoupBinTCP on loopback, the
gateway and the simulated exchange behind it, and another firm trading against the engine's orders.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from core.commands import SubmitOrder
from core.enums import ExecType, OrdStatus, Side
from core.events import ExecutionReport, PositionUpdate
from core.numbers import MONEY_DECIMALS
from engine.clock import AsyncioScheduler
from engine.ouch import messages as m
from engine.ouch.codec import encode
from engine.ouch.gateway import OuchGateway
from engine.ouch.venue import OuchVenue, order_token
from engine.plugins import load_plugins
from engine.runtime import LiveRuntime
from tests.ouch.harness import SYMBOL, USERS, OuchClient, enter, eventually, ouch_engine_config, quiet_exchange

ACCOUNT = "ACC1"
PREFIX = "T"
RUN_S = 20.0
USD = 10**MONEY_DECIMALS
TICKS_TO_MONEY = 10**4
"""Money units in one price unit of a 4-decimal instrument."""


class Run:
    """One run of the engine (a LiveRuntime on the OUCH venue) and what it published."""

    def __init__(self, runtime: LiveRuntime) -> None:
        self.runtime = runtime
        self.engine = runtime.engine
        self.reports: list[ExecutionReport] = []
        self.positions: list[PositionUpdate] = []
        self.engine.bus.subscribe(ExecutionReport, self.reports.append)
        self.engine.bus.subscribe(PositionUpdate, self.positions.append)

    @property
    def venue(self) -> OuchVenue:
        venue = self.engine.venues["ouch"]
        assert isinstance(venue, OuchVenue)
        return venue

    def submit(self, client_order_id: str, side: Side, quantity: int, price: int) -> None:
        self.engine.submit(
            SubmitOrder(
                client_order_id=client_order_id, account=ACCOUNT, instrument=SYMBOL, side=side, quantity=quantity,
                price=price,
            )
        )  # fmt: skip

    def token(self, client_order_id: str) -> str:
        order = self.engine.orders.by_client_id(client_order_id)
        assert order is not None
        token = order_token(PREFIX, order.order_id, 0)
        assert token is not None
        return token

    def status(self, client_order_id: str) -> OrdStatus | None:
        order = self.engine.orders.by_client_id(client_order_id)
        return None if order is None else order.status

    async def reaches(self, client_order_id: str, status: OrdStatus) -> None:
        await eventually(lambda: self.status(client_order_id) is status)

    def busts(self) -> list[ExecutionReport]:
        return [report for report in self.reports if report.exec_type is ExecType.TRADE_CANCEL]

    def fill_of(self, client_order_id: str) -> ExecutionReport:
        return next(
            report
            for report in self.reports
            if report.client_order_id == client_order_id and report.exec_type is ExecType.TRADE
        )

    def book(self) -> tuple[int, int, int, int]:
        """(quantity, cost, realized, fees) of the account's position."""
        position = self.engine.position(ACCOUNT, SYMBOL)
        return position.quantity, position.cost, position.realized, position.fees

    async def stop(self) -> None:
        self.runtime.stop()
        await asyncio.wait_for(self.venue.wait_stopped(), 5.0)


Scenario = Callable[[OuchGateway, OuchClient, Callable[[], Awaitable[Run]]], Awaitable[None]]


def run(scenario: Scenario, db: Path) -> None:
    async def main() -> None:
        gateway = OuchGateway(quiet_exchange(), users=USERS, heartbeat_s=0.2, timeout_s=5.0)
        port = await gateway.start()
        config = ouch_engine_config(
            ACCOUNT, port=port, username="FIRM1", password_env="OUCH_BUST_PASSWORD", reconnect_s=0.05,
            token_prefix=PREFIX,
        )  # fmt: skip
        loop = asyncio.get_running_loop()

        async def start() -> Run:
            runtime = LiveRuntime(config, load_plugins(), AsyncioScheduler(loop), db_url=f"sqlite:///{db}")
            recovered = runtime.open()
            assert recovered.problems == ()
            engine = Run(runtime)
            runtime.start()
            await asyncio.wait_for(engine.venue.wait_logged_in(), 5.0)
            return engine

        taker = OuchClient(port, "FIRM2", "pw2")  # the other side of every trade
        await taker.soup.connect()
        try:
            await scenario(gateway, taker, start)
        finally:
            await taker.soup.close()
            await gateway.close()

    asyncio.run(asyncio.wait_for(main(), RUN_S))


async def take(taker: OuchClient, token: str, side: str, shares: int, price: int) -> None:
    """The other firm trades ``shares`` against the engine's order at ``price`` (immediate or cancel)."""
    executed = len(taker.of_type(m.Executed))
    taker.send(enter(token, side, shares, price, tif=m.TIF_IOC))
    await eventually(lambda: len(taker.of_type(m.Executed)) > executed)


@pytest.fixture(autouse=True)
def password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OUCH_BUST_PASSWORD", USERS["FIRM1"])


def test_broken_trades_correct_orders_positions_and_pnl_and_a_restart_keeps_the_correction(tmp_path: Path) -> None:
    async def scenario(gateway: OuchGateway, taker: OuchClient, start: Callable[[], Awaitable[Run]]) -> None:
        first = await start()
        first.submit("buy-1", Side.BUY, 200, 1_004_000)
        await first.reaches("buy-1", OrdStatus.NEW)
        await take(taker, "S1", "S", 100, 1_004_000)  # fill A: long 100 at 100.40
        await first.reaches("buy-1", OrdStatus.PARTIALLY_FILLED)
        first.submit("sell-1", Side.SELL, 50, 1_007_000)
        await first.reaches("sell-1", OrdStatus.NEW)
        await take(taker, "B1", "B", 50, 1_007_000)  # fill B: sells 50 of them at 100.70, $15 realized
        await first.reaches("sell-1", OrdStatus.FILLED)
        first.submit("buy-2", Side.BUY, 100, 1_005_000)
        await first.reaches("buy-2", OrdStatus.NEW)
        await take(taker, "S2", "S", 100, 1_005_000)  # fill C: 100 more at 100.50
        await first.reaches("buy-2", OrdStatus.FILLED)
        assert first.book() == (150, 50 * 1_004_000 + 100 * 1_005_000, 15 * USD, 0)

        # The exchange breaks fill A. Without it, the sale opened a short of 50 that fill C closed ($10) before
        # going long 50 at 100.50. buy-1 keeps working the 100 shares the exchange still works.
        fill_a = first.fill_of("buy-1")
        [match_a] = gateway.match_numbers("FIRM1", first.token("buy-1"))
        gateway.break_trade(match_a)
        await eventually(lambda: len(first.busts()) == 1)
        [bust] = first.busts()
        assert (bust.ref_exec_id, bust.last_qty, bust.last_price) == (fill_a.exec_id, 100, 1_004_000)
        assert (bust.ord_status, bust.quantity, bust.cum_qty, bust.leaves_qty) == (OrdStatus.NEW, 100, 0, 100)
        assert bust.reason == "trade broken (erroneous)"
        buy_1 = first.engine.orders.by_client_id("buy-1")
        assert buy_1 is not None
        assert (buy_1.status, buy_1.quantity, buy_1.cum_qty, buy_1.leaves_qty) == (OrdStatus.NEW, 100, 0, 100)
        assert first.book() == (50, 50 * 1_005_000, (1_007_000 - 1_005_000) * 50 * TICKS_TO_MONEY, 0)
        assert first.positions[-1].quantity == 50
        assert first.engine.portfolio.pnl(ACCOUNT).realized == 10 * USD

        # Then fill B, of an order that is done: sell-1 stays Filled, with nothing filled and nothing left.
        [match_b] = gateway.match_numbers("FIRM1", first.token("sell-1"))
        gateway.break_trade(match_b, reason="S")
        await eventually(lambda: len(first.busts()) == 2)
        assert first.busts()[-1].reason == "trade broken (supervisory)"
        sell_1 = first.engine.orders.by_client_id("sell-1")
        assert sell_1 is not None
        assert (sell_1.status, sell_1.cum_qty, sell_1.leaves_qty, sell_1.filled_cost) == (OrdStatus.FILLED, 0, 0, 0)
        corrected = (100, 100 * 1_005_000, 0, 0)
        assert first.book() == corrected
        await first.stop()

        # A restart on the same database rebuilds the corrected orders and positions from the journal (the
        # session replays the fills and the breaks again: the journal knows them all).
        second = await start()
        assert second.book() == corrected
        assert second.engine.portfolio.pnl(ACCOUNT).realized == 0
        for client_order_id, status, quantity, cum in [
            ("buy-1", OrdStatus.NEW, 100, 0),
            ("sell-1", OrdStatus.FILLED, 50, 0),
            ("buy-2", OrdStatus.FILLED, 100, 100),
        ]:
            order = second.engine.orders.by_client_id(client_order_id)
            assert order is not None
            assert (order.status, order.quantity, order.cum_qty) == (status, quantity, cum)
        await eventually(lambda: second.venue.caught_up)
        assert not second.busts(), "nothing new was broken"
        assert second.venue.last_error == "", "the replayed break of sell-1 (done before the restart) is no error"

        # The exchange still works buy-1's 100 shares: they fill it.
        await take(taker, "S3", "S", 100, 1_004_000)
        await second.reaches("buy-1", OrdStatus.FILLED)
        assert second.book() == (200, 100 * 1_005_000 + 100 * 1_004_000, 0, 0)
        await second.stop()

    run(scenario, tmp_path / "engine.db")


def test_a_trade_broken_after_a_restart_of_an_order_done_before_it_is_taken_out(tmp_path: Path) -> None:
    async def scenario(gateway: OuchGateway, taker: OuchClient, start: Callable[[], Awaitable[Run]]) -> None:
        first = await start()
        first.submit("buy-1", Side.BUY, 100, 1_004_000)
        await first.reaches("buy-1", OrdStatus.NEW)
        await take(taker, "S1", "S", 100, 1_004_000)
        await first.reaches("buy-1", OrdStatus.FILLED)
        fill = first.fill_of("buy-1")
        [match] = gateway.match_numbers("FIRM1", first.token("buy-1"))
        await first.stop()

        # The engine restarts; the order it finished before is not working, so nothing adopts it, but the engine
        # recalls it to the venue, whose session replay names its fill: a break heard now still finds it.
        second = await start()
        await eventually(lambda: second.venue.caught_up)
        assert second.book() == (100, 100 * 1_004_000, 0, 0)
        gateway.break_trade(match)
        await eventually(lambda: len(second.busts()) == 1)
        [bust] = second.busts()
        assert (bust.ref_exec_id, bust.last_qty, bust.ord_status, bust.cum_qty) == (
            fill.exec_id, 100, OrdStatus.FILLED, 0,
        )  # fmt: skip
        assert second.book() == (0, 0, 0, 0)
        assert second.venue.last_error == ""
        await second.stop()

        # And the next start rebuilds the correction from the journal, the replayed break dropped as known.
        third = await start()
        await eventually(lambda: third.venue.caught_up)
        assert third.book() == (0, 0, 0, 0)
        assert not third.busts()
        await third.stop()

    run(scenario, tmp_path / "engine.db")


def test_a_broken_trade_of_an_unknown_match_number_is_logged_and_changes_nothing(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async def scenario(gateway: OuchGateway, taker: OuchClient, start: Callable[[], Awaitable[Run]]) -> None:
        engine = await start()
        engine.submit("buy-1", Side.BUY, 200, 1_004_000)
        await engine.reaches("buy-1", OrdStatus.NEW)
        await take(taker, "S1", "S", 100, 1_004_000)
        await engine.reaches("buy-1", OrdStatus.PARTIALLY_FILLED)
        await eventually(lambda: engine.venue.caught_up)
        before = engine.book()
        broken = m.BrokenTrade(timestamp=0, order_token=engine.token("buy-1"), match_number=999_999, reason="E")
        gateway.server.send("FIRM1", encode(broken))
        await eventually(lambda: "999999" in engine.venue.last_error)
        assert "Broken Trade of unknown match number 999999" in caplog.text
        assert engine.book() == before
        assert not engine.busts()
        order = engine.engine.orders.by_client_id("buy-1")
        assert order is not None
        assert (order.status, order.cum_qty) == (OrdStatus.PARTIALLY_FILLED, 100)
        await engine.stop()

    with caplog.at_level(logging.ERROR, logger="engine.ouch.venue"):
        run(scenario, tmp_path / "engine.db")
