"""Shared pieces of the OUCH tests: a quiet simulated exchange, polling with a bound, a recording client."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TypeVar

from core.contracts import VenueSetup
from core.instruments import Instrument
from engine.config import AccountConfig, EngineConfig, InstrumentConfig, VenueConfig
from engine.ouch.codec import decode_outbound, encode
from engine.ouch.messages import EnterOrder, InboundMessage, OutboundMessage
from engine.ouch.soupbintcp import SoupBinClient
from engine.sim.exchange import SimulatedExchange

T = TypeVar("T")
SYMBOL = "ZVZZT"
INSTRUMENTS = {SYMBOL: Instrument(symbol=SYMBOL)}
QUIET_FLOW = {
    "tick": 10_000, "start_price": 1_000_000, "zi_rate": 0.0, "zi_cancel_rate": 0.0, "mm_refresh_rate": 0.0,
    "mm_reaction_rate": 0.0, "informed_rate": 0.0, "momentum_rate": 0.0, "noise_rate": 0.0, "daily_volatility": 0.0,
    "impact_ticks": 0.0,
}  # fmt: skip
"""Background traders that only quote, on whole-dollar prices (bids at 100.00 and below, asks above): the cents
between belong to the tests' orders."""
USERS = {"FIRM1": "pw1", "FIRM2": "pw2"}
WAIT_S = 5.0


def ouch_engine_config(account: str, **venue: object) -> EngineConfig:
    """An engine trading :data:`SYMBOL` for ``account`` (no risk checks) on the ``ouch`` venue with ``venue``."""
    return EngineConfig(
        instruments=(InstrumentConfig(instrument=INSTRUMENTS[SYMBOL], start_price=1_000_000),),
        accounts=(AccountConfig(name=account, risk={}),),
        venue=VenueConfig(name="ouch", settings=dict(venue)),
        source="<test>",
    )


def quiet_exchange() -> SimulatedExchange:
    """The simulated exchange with :data:`QUIET_FLOW` and no order latency."""
    settings = {"order_latency_ns": 0, "instruments": {SYMBOL: QUIET_FLOW}}
    return SimulatedExchange(VenueSetup(instruments=INSTRUMENTS, settings=settings))


async def eventually(predicate: Callable[[], bool], timeout_s: float = WAIT_S) -> None:
    """Return once ``predicate()`` holds; TimeoutError after ``timeout_s``."""

    async def poll() -> None:
        while not predicate():  # noqa: ASYNC110 - the state polled has no event to wait on
            await asyncio.sleep(0.002)

    await asyncio.wait_for(poll(), timeout_s)


class OuchClient:
    """A SoupBinTCP client speaking OUCH that records every outbound message and why it was logged out."""

    def __init__(
        self, port: int, username: str, password: str, *, heartbeat_s: float = 1.0, timeout_s: float = 15.0
    ) -> None:
        self.messages: list[tuple[int, OutboundMessage]] = []
        self.closed: list[str] = []
        self.soup = SoupBinClient(
            host="127.0.0.1", port=port, username=username, password=password, on_message=self._message,
            on_closed=self.closed.append, heartbeat_s=heartbeat_s, timeout_s=timeout_s,
        )  # fmt: skip

    def _message(self, sequence: int, payload: bytes) -> None:
        self.messages.append((sequence, decode_outbound(payload)))

    def send(self, message: InboundMessage) -> None:
        self.soup.send(encode(message))

    def of_type(self, cls: type[T]) -> list[T]:
        return [message for _, message in self.messages if isinstance(message, cls)]


def enter(token: str, side: str, shares: int, price: int, *, tif: int = 99_998) -> EnterOrder:
    """A plain Enter Order for :data:`SYMBOL`."""
    return EnterOrder(
        order_token=token, side=side, shares=shares, stock=SYMBOL, price=price, time_in_force=tif, firm="TEST",
        display="Y", capacity="A", intermarket_sweep="N", minimum_quantity=0, cross_type="N", customer_type=" ",
    )  # fmt: skip
