"""The whole chain on loopback: engine -> OUCH venue -> SoupBinTCP -> gateway -> simulated exchange -> back."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from core.commands import CancelOrder, ReplaceOrder, SubmitOrder
from core.contracts import VenueSetup
from core.enums import ExecType, Liquidity, OrderType, OrdStatus, Side, TimeInForce
from core.events import CancelReject, ExecutionReport
from core.instruments import Instrument
from engine.clock import AsyncioScheduler
from engine.engine import Engine
from engine.ouch import messages as m
from engine.ouch.gateway import OuchGateway
from engine.ouch.plugin import register_venues
from engine.ouch.venue import OuchVenue
from engine.risk.engine import RiskEngine
from engine.routing import DirectRouter
from tests.ouch.harness import INSTRUMENTS, SYMBOL, USERS, OuchClient, enter, eventually, quiet_exchange

RUN_S = 20.0
ACCOUNT = "ACC1"


class Chain:
    """A gateway on the quiet exchange, and an engine whose only venue logs in to it as FIRM1."""

    def __init__(self, gateway: OuchGateway, engine: Engine, venue: OuchVenue) -> None:
        self.gateway = gateway
        self.engine = engine
        self.venue = venue
        self.reports: list[ExecutionReport] = []
        self.rejects: list[CancelReject] = []
        engine.bus.subscribe(ExecutionReport, self.reports.append)
        engine.bus.subscribe(CancelReject, self.rejects.append)

    def of(self, client_order_id: str) -> list[ExecutionReport]:
        return [report for report in self.reports if report.client_order_id == client_order_id]

    def last(self, client_order_id: str) -> ExecutionReport | None:
        reports = self.of(client_order_id)
        return reports[-1] if reports else None

    def submit(self, client_order_id: str, side: Side, quantity: int, price: int | None, **kwargs: object) -> None:
        request = SubmitOrder(
            client_order_id=client_order_id, account=ACCOUNT, instrument=SYMBOL, side=side, quantity=quantity,
            price=price, **kwargs,  # type: ignore[arg-type]
        )  # fmt: skip
        self.engine.submit(request)

    async def status(self, client_order_id: str, status: OrdStatus) -> ExecutionReport:
        await eventually(lambda: (last := self.last(client_order_id)) is not None and last.ord_status is status)
        last = self.last(client_order_id)
        assert last is not None
        return last


def run_chain(scenario: Callable[[Chain], Awaitable[None]], *, reconnect_s: float = 0.05) -> None:
    async def main() -> None:
        gateway = OuchGateway(quiet_exchange(), users=USERS, heartbeat_s=0.2, timeout_s=5.0)
        port = await gateway.start()
        settings = {"port": port, "username": "FIRM1", "password": "pw1", "reconnect_s": reconnect_s}
        venue = OuchVenue(VenueSetup(instruments=INSTRUMENTS, settings=settings))
        engine = Engine(
            instruments=INSTRUMENTS, scheduler=AsyncioScheduler(), risk=RiskEngine({}, {ACCOUNT: {}}),
            router=DirectRouter(), venues={"ouch": venue},
        )  # fmt: skip
        engine.start()
        try:
            await asyncio.wait_for(venue.wait_logged_in(), 5.0)
            await scenario(Chain(gateway, engine, venue))
        finally:
            engine.stop()
            await asyncio.wait_for(venue.wait_stopped(), 5.0)
            await gateway.close()

    asyncio.run(asyncio.wait_for(main(), RUN_S))


def test_an_order_rests_and_is_filled_by_another_firms_marketable_order() -> None:
    async def scenario(chain: Chain) -> None:
        chain.submit("buy-1", Side.BUY, 300, 1_005_000)
        accepted = await chain.status("buy-1", OrdStatus.NEW)
        assert (accepted.exec_type, accepted.venue, accepted.leaves_qty) == (ExecType.NEW, "ouch", 300)
        taker = OuchClient(chain.gateway.port, "FIRM2", "pw2")
        await taker.soup.connect()
        taker.send(enter("SELL1", "S", 100, 1_005_000, tif=m.TIF_IOC))
        partial = await chain.status("buy-1", OrdStatus.PARTIALLY_FILLED)
        assert (partial.last_qty, partial.last_price, partial.liquidity) == (100, 1_005_000, Liquidity.MAKER)
        assert (partial.cum_qty, partial.leaves_qty) == (100, 200)
        taker.send(enter("SELL2", "S", 200, 1_000_000))  # walks down to the resting 100.50 bid first
        filled = await chain.status("buy-1", OrdStatus.FILLED)
        assert (filled.cum_qty, filled.leaves_qty, filled.last_price) == (300, 0, 1_005_000)
        assert chain.engine.position(ACCOUNT, SYMBOL).quantity == 300
        order = chain.engine.orders.by_client_id("buy-1")
        assert order is not None
        assert order.status is OrdStatus.FILLED
        # The taker saw its own side of the trades.
        await eventually(lambda: len(taker.of_type(m.Executed)) == 2)
        assert [(e.executed_shares, e.liquidity_flag) for e in taker.of_type(m.Executed)] == [(100, "R"), (200, "R")]
        await taker.soup.close()

    run_chain(scenario)


def test_a_cancel_works_and_a_cancel_of_a_filled_order_is_refused() -> None:
    async def scenario(chain: Chain) -> None:
        chain.submit("rest", Side.BUY, 100, 1_004_000)
        await chain.status("rest", OrdStatus.NEW)
        chain.engine.cancel(CancelOrder(client_order_id="rest", account=ACCOUNT))
        canceled = await chain.status("rest", OrdStatus.CANCELED)
        assert (canceled.exec_type, canceled.reason, canceled.leaves_qty) == (
            ExecType.CANCELED,
            "user requested cancel",
            0,
        )

        chain.submit("take", Side.BUY, 100, None, order_type=OrderType.MARKET, time_in_force=TimeInForce.IOC)
        filled = await chain.status("take", OrdStatus.FILLED)
        assert filled.liquidity is Liquidity.TAKER
        assert filled.last_price is not None
        assert filled.last_price > 1_005_000  # the background asks, above the whole-dollar mid
        order = chain.engine.orders.by_client_id("take")
        assert order is not None
        # The engine refuses at once; asked directly, the OUCH server refuses too (Cancel Reject 'I').
        chain.engine.cancel(CancelOrder(client_order_id="take", account=ACCOUNT))
        assert chain.rejects[-1].reason == "order take is filled"
        chain.venue.cancel(order)
        await eventually(lambda: len(chain.rejects) == 2)
        assert chain.rejects[-1].order_id == order.order_id
        assert chain.rejects[-1].reason == "too late to cancel: the order is no longer live"
        assert order.status is OrdStatus.FILLED

    run_chain(scenario)


def test_a_replace_changes_price_and_quantity_under_a_new_token() -> None:
    async def scenario(chain: Chain) -> None:
        chain.submit("quote", Side.SELL, 100, 1_007_000)
        await chain.status("quote", OrdStatus.NEW)
        chain.engine.replace(ReplaceOrder(client_order_id="quote", account=ACCOUNT, quantity=200, price=1_006_000))
        replaced = await chain.status("quote", OrdStatus.REPLACED)
        assert (replaced.exec_type, replaced.quantity, replaced.price, replaced.leaves_qty) == (
            ExecType.REPLACED, 200, 1_006_000, 200,
        )  # fmt: skip
        taker = OuchClient(chain.gateway.port, "FIRM2", "pw2")
        await taker.soup.connect()
        taker.send(enter("BUY1", "B", 200, 1_006_000))
        filled = await chain.status("quote", OrdStatus.FILLED)
        assert (filled.last_qty, filled.last_price) == (200, 1_006_000)
        await taker.soup.close()

    run_chain(scenario)


def test_a_bad_message_logs_its_client_out_while_the_engine_goes_on() -> None:
    async def scenario(chain: Chain) -> None:
        rogue = OuchClient(chain.gateway.port, "FIRM2", "pw2")
        await rogue.soup.connect()
        rogue.soup.send(b"O" + b"\x00" * 10)  # a truncated Enter Order
        await eventually(lambda: bool(rogue.closed))
        assert "truncated EnterOrder: 11 bytes, expected 49" in rogue.closed[0]
        assert chain.gateway.server.logouts[-1][0] == "FIRM2"
        chain.submit("after", Side.BUY, 100, 1_003_000)
        await chain.status("after", OrdStatus.NEW)
        assert chain.venue.logged_in

    run_chain(scenario)


def test_the_venue_logs_in_again_and_misses_nothing() -> None:
    async def scenario(chain: Chain) -> None:
        chain.submit("one", Side.BUY, 100, 1_003_000)
        await chain.status("one", OrdStatus.NEW)
        # The connection drops; while it is down, the order is filled.
        await chain.gateway.server.disconnect("FIRM1")
        await eventually(lambda: not chain.venue.logged_in)
        taker = OuchClient(chain.gateway.port, "FIRM2", "pw2")
        await taker.soup.connect()
        taker.send(enter("SELL1", "S", 100, 1_003_000))
        await eventually(lambda: len(taker.of_type(m.Executed)) == 1)
        assert not chain.venue.logged_in
        assert chain.last("one").ord_status is OrdStatus.NEW  # type: ignore[union-attr]
        # Logged in again, the venue asks for what it missed and reports the fill once.
        filled = await chain.status("one", OrdStatus.FILLED)
        assert (filled.last_qty, filled.last_price) == (100, 1_003_000)
        assert [report.exec_type for report in chain.of("one")] == [ExecType.NEW, ExecType.TRADE]
        assert "connection closed by the server" in chain.venue.last_error
        await taker.soup.close()

    run_chain(scenario, reconnect_s=0.5)


def test_the_venue_refuses_instruments_off_the_ouch_price_scale() -> None:
    cents = {"XYZ": Instrument(symbol="XYZ", price_scale=2, tick_size=1)}
    with pytest.raises(ValueError, match=r"XYZ: OUCH 4\.2 prices have 4 implied decimals; the instrument's scale is 2"):
        OuchVenue(VenueSetup(instruments=cents, settings={"port": 1, "username": "U", "password": "P"}))
    with pytest.raises(ValueError, match="needs the setting"):
        OuchVenue(VenueSetup(instruments=INSTRUMENTS, settings={}))
    [spec] = register_venues()
    assert (spec.name, spec.factory) == ("ouch", OuchVenue)
