"""An OUCH 4.2 gateway: a SoupBinTCP server that trades its clients' orders on a venue (the simulated exchange).

Each SoupBinTCP user is an OUCH account and an account of the exchange; its orders are known by their tokens
(day-unique per user: a reused token is ignored, as OUCH does). The gateway turns OUCH requests into the venue's
``submit`` / ``cancel`` / ``replace`` calls and the venue's execution reports and cancel rejects back into OUCH
messages on the user's sequenced stream. A message that cannot be decoded logs its client out; the others go on.

Mapping: sides ``T`` and ``E`` sell; price :data:`~engine.ouch.messages.MARKET_PRICE` is a market order; time in
force 0 is immediate-or-cancel (fill-or-kill when the minimum quantity is the whole order), any other value a day
order. A Cancel for ``shares`` > 0 and a Modify reduce the order to that many open shares. A cancel or replace of
an order that is not live (or of an unknown token) is answered with Cancel Reject ``I``.

The gateway's operator breaks an execution with :meth:`OuchGateway.break_trade`: a Broken Trade to the user whose
order it was. The exchange behind has no busts, so nothing else changes: the order's open shares stay as they were.
"""

from __future__ import annotations

import itertools
import logging
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from core.contracts import Venue
from core.enums import ExecType, Liquidity, OrderType, OrdStatus, Side, TimeInForce
from core.events import CancelReject, ExecutionReport
from core.numbers import NANOS_PER_SECOND, Nanos, Price, Quantity
from core.orders import Order
from engine.clock import AsyncioScheduler
from engine.ouch import messages as m
from engine.ouch.codec import decode_inbound, encode
from engine.ouch.soupbintcp import SoupBinServer

log = logging.getLogger(__name__)

NANOS_PER_DAY = 86_400 * NANOS_PER_SECOND
MAX_SHARES = 1_000_000
"""Default largest order size; larger orders are rejected with reason 'Z'."""

_CANCEL_CODES = {
    "canceled on request": "U",
    "immediate-or-cancel remainder canceled": "I",
    "fill-or-kill could not fill completely": "I",
    "market order found no more liquidity": "I",
    "self-trade prevention": "Q",
    "replaced to zero quantity": "U",
}


@dataclass(slots=True, kw_only=True)
class _Change:
    """A cancel-to-size, modify or replace sent to the venue and not answered yet."""

    kind: str  # "reduce", "modify" or "replace"
    open_shares: Quantity
    replacement: m.ReplaceOrder | None = None
    side: str = ""


@dataclass(slots=True, kw_only=True)
class _Live:
    """One OUCH order as the gateway tracks it."""

    username: str
    token: str
    """The token the exchange's order is known by now."""
    latest: str
    """The token the client last gave it (a replacement token as soon as the Replace is received)."""
    order: Order
    entry: m.EnterOrder
    reference: int
    quantity: Quantity
    price: Price
    cum_qty: Quantity = 0
    accepted: bool = False
    done: bool = False
    changes: deque[_Change] = field(default_factory=deque)

    @property
    def open_shares(self) -> Quantity:
        return 0 if self.done else self.quantity - self.cum_qty


class OuchGateway:
    """An OUCH 4.2 server over SoupBinTCP in front of ``exchange`` (see the module docstring).

    ``users`` maps each user name (up to 6 characters) to its password. The gateway is the exchange's
    :class:`core.contracts.VenueListener`; it starts the exchange on the asyncio loop in :meth:`start`.
    """

    def __init__(
        self,
        exchange: Venue,
        *,
        users: Mapping[str, str],
        session: str = "1",
        heartbeat_s: float = 1.0,
        timeout_s: float = 15.0,
        max_shares: Quantity = MAX_SHARES,
    ) -> None:
        self.exchange = exchange
        self.users = dict(users)
        self.max_shares = max_shares
        self.instruments = {instrument.symbol: instrument for instrument in exchange.instruments()}
        for instrument in self.instruments.values():
            if instrument.price_scale != 4:
                raise ValueError(
                    f"{instrument.symbol}: OUCH 4.2 prices have 4 decimals, the instrument has {instrument.price_scale}"
                )
        self.server = SoupBinServer(self, session=session, heartbeat_s=heartbeat_s, timeout_s=timeout_s)
        self.port = 0
        """The port the gateway listens on, once started."""
        self._scheduler: AsyncioScheduler | None = None
        self._live: dict[tuple[str, str], _Live] = {}
        self._by_order_id: dict[str, _Live] = {}
        self._used_tokens: set[tuple[str, str]] = set()
        self._order_ids = itertools.count(1)
        self._references = itertools.count(1)
        self._match_numbers = itertools.count(1)
        self._matches: dict[int, tuple[str, str]] = {}
        """Match number -> (user, order token) of every execution sent, for :meth:`break_trade`."""

    # --- lifecycle -------------------------------------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> int:
        """Start the exchange and listen for clients; returns the port. Every user's stream opens with a
        start-of-day System Event."""
        self._scheduler = AsyncioScheduler()
        self.exchange.start(self, self._scheduler)
        for username in self.users:
            self._send(username, m.SystemEvent(timestamp=self._timestamp(), event_code="S"))
        self.port = await self.server.start(host, port)
        return self.port

    async def close(self) -> None:
        """End of day: an end-of-day System Event to every user, End of Session, then stop the exchange."""
        if self._scheduler is not None:
            for username in self.users:
                self._send(username, m.SystemEvent(timestamp=self._timestamp(), event_code="E"))
        await self.server.end_session()
        await self.server.close()
        self.exchange.stop()

    def match_numbers(self, username: str, token: str) -> list[int]:
        """The match numbers of the executions (not broken) of ``username``'s order known by ``token`` when it
        executed, oldest first."""
        return [number for number, owner in self._matches.items() if owner == (username, token)]

    def break_trade(self, match_number: int, reason: str = "E") -> None:
        """Break the execution ``match_number``: a Broken Trade (reason a code of
        :data:`~engine.ouch.messages.BROKEN_REASONS`, erroneous by default) on its user's stream. Raises
        ``KeyError`` for a match number the gateway never sent, and ``ValueError`` for an unknown reason."""
        if reason not in m.BROKEN_REASONS:
            raise ValueError(f"unknown Broken Trade reason {reason!r}; known: {', '.join(m.BROKEN_REASONS)}")
        found = self._matches.pop(match_number, None)
        if found is None:
            raise KeyError(f"no execution with match number {match_number} to break")
        username, token = found
        broken = m.BrokenTrade(timestamp=self._timestamp(), order_token=token, match_number=match_number, reason=reason)
        self._send(username, broken)

    # --- SoupBinTCP application ------------------------------------------------------------------------------

    def authenticate(self, username: str, password: str) -> bool:
        """True for a configured user with its password."""
        return self.users.get(username) == password

    def on_message(self, username: str, payload: bytes) -> None:
        """Carry out one OUCH request; a malformed one raises (and logs the client out)."""
        message = decode_inbound(payload)
        if isinstance(message, m.EnterOrder):
            self._enter(username, message)
        elif isinstance(message, m.CancelOrder):
            self._cancel(username, message)
        elif isinstance(message, m.ReplaceOrder):
            self._replace(username, message)
        else:
            self._modify(username, message)

    # --- requests --------------------------------------------------------------------------------------------

    def _enter(self, username: str, message: m.EnterOrder) -> None:
        key = (username, message.order_token)
        if key in self._used_tokens:
            log.warning("OUCH %s: duplicate order token %r ignored", username, message.order_token)
            return
        self._used_tokens.add(key)
        reason = self._entry_problem(message)
        if reason is not None:
            self._answer(username, m.Rejected(timestamp=0, order_token=message.order_token, reason=reason))
            return
        market = message.price == m.MARKET_PRICE
        if message.time_in_force == m.TIF_IOC:
            fok = message.minimum_quantity == message.shares
            tif = TimeInForce.FOK if fok else TimeInForce.IOC
        else:
            tif = TimeInForce.DAY
        now = self._now()
        order = Order(
            order_id=f"{username}-{next(self._order_ids)}",
            client_order_id=message.order_token,
            account=username,
            instrument=message.stock,
            side=Side.BUY if message.side == "B" else Side.SELL,
            order_type=OrderType.MARKET if market else OrderType.LIMIT,
            quantity=message.shares,
            price=None if market else message.price,
            time_in_force=tif,
            strategy_id=None,
            created_ns=now,
            updated_ns=now,
        )
        live = _Live(
            username=username,
            token=message.order_token,
            latest=message.order_token,
            order=order,
            entry=message,
            reference=next(self._references),
            quantity=message.shares,
            price=message.price,
        )
        self._live[key] = live
        self._by_order_id[order.order_id] = live
        self.exchange.submit(order)

    def _entry_problem(self, message: m.EnterOrder) -> str | None:
        """The reject reason code of an Enter Order that cannot be accepted, or None."""
        instrument = self.instruments.get(message.stock)
        if instrument is None:
            return "S"
        if message.side not in m.SIDES:
            return "O"
        if message.shares <= 0 or message.shares > self.max_shares:
            return "Z"
        if message.price != m.MARKET_PRICE and (message.price <= 0 or not instrument.is_on_tick(message.price)):
            return "X"
        ioc = message.time_in_force == m.TIF_IOC
        if message.minimum_quantity and not (ioc and message.minimum_quantity == message.shares):
            return "N"
        return None

    def _cancel(self, username: str, message: m.CancelOrder) -> None:
        live = self._live_order(username, message.order_token)
        if live is None:
            return
        if message.shares == 0:
            self.exchange.cancel(live.order)
        elif message.shares < live.open_shares:
            self._reduce(live, _Change(kind="reduce", open_shares=message.shares))

    def _modify(self, username: str, message: m.ModifyOrder) -> None:
        live = self._live_order(username, message.order_token)
        if live is None:
            return
        buying = live.order.side is Side.BUY
        if message.side not in m.SIDES or (message.side == "B") != buying:
            self._answer(username, m.CancelReject(timestamp=0, order_token=live.latest))
            return
        if 0 < message.shares < live.open_shares:
            self._reduce(live, _Change(kind="modify", open_shares=message.shares, side=message.side))
        elif message.shares == 0:
            self.exchange.cancel(live.order)
        else:
            modified = m.OrderModified(timestamp=0, order_token=live.latest, side=message.side, shares=live.open_shares)
            self._answer(username, modified)

    def _replace(self, username: str, message: m.ReplaceOrder) -> None:
        live = self._live_order(username, message.existing_order_token)
        if live is None:
            return
        new_key = (username, message.replacement_order_token)
        if new_key in self._used_tokens:
            log.warning("OUCH %s: duplicate replacement token %r ignored", username, message.replacement_order_token)
            return
        self._used_tokens.add(new_key)
        instrument = self.instruments[live.order.instrument]
        if live.order.order_type is OrderType.MARKET or message.price <= 0 or not instrument.is_on_tick(message.price):
            self._answer(username, m.Rejected(timestamp=0, order_token=message.replacement_order_token, reason="X"))
            return
        if message.shares == 0:
            self.exchange.cancel(live.order)
            return
        live.changes.append(_Change(kind="replace", open_shares=message.shares, replacement=message))
        live.latest = message.replacement_order_token
        self._live[new_key] = live
        self.exchange.replace(live.order, live.cum_qty + message.shares, message.price)

    def _reduce(self, live: _Live, change: _Change) -> None:
        live.changes.append(change)
        self.exchange.replace(live.order, live.cum_qty + change.open_shares, live.order.price)

    def _live_order(self, username: str, token: str) -> _Live | None:
        """The live order known by ``token``; None (after a Cancel Reject) when it is unknown or finished."""
        live = self._live.get((username, token))
        if live is None or live.done or live.latest != token:
            self._answer(username, m.CancelReject(timestamp=0, order_token=token))
            return None
        return live

    # --- venue listener --------------------------------------------------------------------------------------

    def on_execution(self, report: ExecutionReport) -> None:
        """Turn the exchange's report about one of the gateway's orders into OUCH messages."""
        live = self._by_order_id.get(report.order_id)
        if live is None:
            return
        kind = report.exec_type
        if kind is ExecType.NEW:
            self._accepted(live)
        elif kind is ExecType.TRADE:
            self._executed(live, report)
        elif kind is ExecType.CANCELED or kind is ExecType.EXPIRED:
            decrement = live.open_shares
            live.done = True
            code = _CANCEL_CODES.get(report.reason, "Z")
            self._send(
                live.username,
                m.Canceled(
                    timestamp=self._timestamp(), order_token=live.token, decrement_shares=decrement, reason=code
                ),
            )
        elif kind is ExecType.REPLACED:
            self._replaced(live, report)
        elif kind is ExecType.REJECTED:
            live.done = True
            code = "S" if "not traded" in report.reason else "O"
            self._send(live.username, m.Rejected(timestamp=self._timestamp(), order_token=live.token, reason=code))
        if live.done:
            self._by_order_id.pop(report.order_id, None)

    def on_cancel_reject(self, reject: CancelReject) -> None:
        """The exchange refused a cancel or replace: Cancel Reject on the token it was asked for."""
        live = self._by_order_id.get(reject.order_id)
        if live is None:
            return
        if reject.is_replace and live.changes:
            change = live.changes.popleft()
            if change.kind == "replace":
                live.latest = live.token
        self._send(live.username, m.CancelReject(timestamp=self._timestamp(), order_token=live.token))

    def on_market_data(self, event: object) -> None:
        """Market data is not sent over OUCH."""

    def wants(self, event_type: type) -> bool:
        """The gateway reads no market data."""
        return False

    def _accepted(self, live: _Live) -> None:
        live.accepted = True
        entry = live.entry
        self._send(
            live.username,
            m.Accepted(
                timestamp=self._timestamp(), order_token=live.token, side=entry.side, shares=entry.shares,
                stock=entry.stock, price=entry.price, time_in_force=entry.time_in_force, firm=entry.firm,
                display=entry.display, order_reference_number=live.reference, capacity=entry.capacity,
                intermarket_sweep=entry.intermarket_sweep, minimum_quantity=entry.minimum_quantity,
                cross_type=entry.cross_type, order_state="L", bbo_weight_indicator=" ",
            ),
        )  # fmt: skip

    def _executed(self, live: _Live, report: ExecutionReport) -> None:
        assert report.last_price is not None
        live.cum_qty = report.cum_qty
        live.done = report.ord_status is OrdStatus.FILLED
        flag = "A" if report.liquidity is Liquidity.MAKER else "R"
        match_number = next(self._match_numbers)
        self._matches[match_number] = (live.username, live.token)
        executed = m.Executed(
            timestamp=self._timestamp(), order_token=live.token, executed_shares=report.last_qty,
            execution_price=report.last_price, liquidity_flag=flag, match_number=match_number,
        )  # fmt: skip
        self._send(live.username, executed)

    def _replaced(self, live: _Live, report: ExecutionReport) -> None:
        if not live.changes:
            return
        change = live.changes.popleft()
        before = live.open_shares
        live.quantity = report.quantity
        live.cum_qty = report.cum_qty
        now = self._timestamp()
        if change.kind == "reduce":
            cut = m.Canceled(
                timestamp=now, order_token=live.token, decrement_shares=before - live.open_shares, reason="U"
            )
            self._send(live.username, cut)
            return
        if change.kind == "modify":
            modified = m.OrderModified(timestamp=now, order_token=live.token, side=change.side, shares=live.open_shares)
            self._send(live.username, modified)
            return
        replacement = change.replacement
        assert replacement is not None
        previous = live.token
        live.token = replacement.replacement_order_token
        live.price = replacement.price
        live.reference = next(self._references)
        entry = live.entry
        self._send(
            live.username,
            m.Replaced(
                timestamp=now, replacement_order_token=live.token, side=entry.side, shares=live.open_shares,
                stock=entry.stock, price=replacement.price, time_in_force=replacement.time_in_force, firm=entry.firm,
                display=replacement.display, order_reference_number=live.reference, capacity=entry.capacity,
                intermarket_sweep=replacement.intermarket_sweep, minimum_quantity=replacement.minimum_quantity,
                cross_type=entry.cross_type, order_state="L", previous_order_token=previous,
                bbo_weight_indicator=" ",
            ),
        )  # fmt: skip

    # --- helpers ---------------------------------------------------------------------------------------------

    def _answer(self, username: str, message: m.OutboundMessage) -> None:
        """Send the gateway's own answer after what the exchange does with the requests received before."""
        assert self._scheduler is not None, "the gateway is not started"
        self._scheduler.call_later(0, lambda: self._send(username, replace(message, timestamp=self._timestamp())))

    def _send(self, username: str, message: m.OutboundMessage) -> None:
        self.server.send(username, encode(message))

    def _now(self) -> Nanos:
        assert self._scheduler is not None, "the gateway is not started"
        return self._scheduler.now_ns()

    def _timestamp(self) -> int:
        """Nanoseconds since midnight (UTC), as OUCH timestamps are."""
        return self._now() % NANOS_PER_DAY
