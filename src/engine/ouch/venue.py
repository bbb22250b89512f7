"""The OUCH venue: routes the engine's orders to an OUCH 4.2 server over SoupBinTCP.

Each engine order becomes an Enter Order under a token made of a prefix (at most 4 characters: by default the
time of day the venue started, in base 36), the engine's order number (6 base-36 digits) and how many times the
order was replaced (4 base-36 digits): tokens are unique for the session day, and any token of the session names
its engine order. The server's sequenced messages become :class:`ExecutionReport` and :class:`CancelReject`
events; their exec ids carry the SoupBinTCP session and sequence number, so a replayed message is the same report
(the journal drops the duplicate). The venue logs in when started, queues requests while it is not logged in, and
after a lost connection logs in again asking for the next sequence number it needs.

Restarted, the venue takes over the orders it held (:meth:`OuchVenue.adopt`): its first login replays the
session from its first message, and the tokens name the orders, so their state is rebuilt and whatever happened
while the engine was down (fills, cancels) is reported. Once the server has sent everything (its first heartbeat,
or ``timeout_s`` after the login), an adopted order the session does not know is expired; until then a cancel or
replace of an adopted order is refused.

Settings (``VenueSetup.settings``, the ``[venue]`` table of the engine configuration): ``port`` and ``username``
(required), ``password_env`` (the environment variable holding the password; code may give ``password`` itself),
``host`` (127.0.0.1), ``firm`` (""), ``symbols`` (default: every instrument of the setup), ``token_prefix`` (at most
4 characters),
``heartbeat_s`` (1), ``timeout_s`` (15), ``reconnect_s`` (1). Prices must be on the 4-decimal scale of OUCH 4.2.

Mapping: limit and market orders (market: price :data:`~engine.ouch.messages.MARKET_PRICE`); time in force DAY is
market hours, GTC system hours, IOC 0, FOK 0 with the whole order as minimum quantity. A replace sends the new open
quantity (total minus filled). OUCH carries no fees, so fills report none.

A Broken Trade becomes a trade cancel (ExecType H) of the fill its match number names (``ref_exec_id`` is that
fill's exec id; the venue keeps each fill's match number for the session), with the reason in the report's text.
The exchange does not give the busted shares back: an order still live keeps its open shares (its quantity drops
by the busted shares along with its filled quantity), and a done order stays done. A Broken Trade of a match
number the venue does not know is logged as an error and changes nothing. After a restart the venue knows the
fills of the orders it adopted and of those the engine recalls to it as done (``recall``), as the session's replay
names them: a break of one, replayed or live, is a trade cancel (one the journal already holds is dropped by the
engine as a duplicate); a replayed break of a match number still unknown is a warning. Trade corrections,
priority updates and order modifications are logged, not reported.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import itertools
import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from core.clock import Scheduler
from core.contracts import SettingError, Venue, VenueListener, VenueSetup
from core.enums import ExecType, Liquidity, OrderType, OrdStatus, Side, TimeInForce
from core.events import CancelReject
from core.instruments import Instrument
from core.numbers import NANOS_PER_SECOND, Price, Quantity
from core.orders import Order, report_for
from core.settings import SettingsReader
from engine.ouch import messages as m
from engine.ouch.codec import OuchDecodeError, decode_outbound, encode
from engine.ouch.soupbintcp import LoginRejected, SoupBinClient, SoupBinError

log = logging.getLogger(__name__)

_TIF = {
    TimeInForce.DAY: m.TIF_MARKET_HOURS,
    TimeInForce.GTC: m.TIF_SYSTEM_HOURS,
    TimeInForce.IOC: m.TIF_IOC,
    TimeInForce.FOK: m.TIF_IOC,
}
_LIQUIDITY = {"A": Liquidity.MAKER, "R": Liquidity.TAKER}
_BASE36 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_ORDER_DIGITS = 6
"""Base-36 digits of the engine's order number in a token (up to 2,176,782,335: every ``O`` + 9 digits id)."""
_REPLACE_DIGITS = 4
"""Base-36 digits of an order's replace count in a token (up to 1,679,615 replaces of one order a day)."""
MAX_PREFIX = m.TOKEN_SIZE - _ORDER_DIGITS - _REPLACE_DIGITS
NOT_IN_SESSION = "not in the OUCH session after the restart (the session ended, or the order never reached it)"
"""Reason of the Expired report of an adopted order the server's session does not know."""
RECOVERING = "its state is being recovered from the OUCH session after the restart; try again in a moment"


def _base36(number: int, width: int) -> str:
    digits = ""
    for _ in range(width):
        number, digit = divmod(number, 36)
        digits = _BASE36[digit] + digits
    return digits


def order_token(prefix: str, order_id: str, replaces: int) -> str | None:
    """The token of ``order_id`` (``O`` and its number) after ``replaces`` replaces; None when the id or the count
    does not fit a token."""
    number = order_id[1:]
    if not order_id.startswith("O") or not number.isdigit() or int(number) >= 36**_ORDER_DIGITS:
        return None
    if not 0 <= replaces < 36**_REPLACE_DIGITS:
        return None
    return prefix + _base36(int(number), _ORDER_DIGITS) + _base36(replaces, _REPLACE_DIGITS)


def token_order(token: str) -> tuple[str, int] | None:
    """The engine order id and the replace count a token of :func:`order_token` carries, whatever its prefix;
    None for a token of another form."""
    tail = token.rstrip()[-(_ORDER_DIGITS + _REPLACE_DIGITS) :]
    if len(tail) != _ORDER_DIGITS + _REPLACE_DIGITS or any(char not in _BASE36 for char in tail):
        return None
    return f"O{int(tail[:_ORDER_DIGITS], 36):09d}", int(tail[_ORDER_DIGITS:], 36)


@dataclass(frozen=True, slots=True, kw_only=True)
class OuchVenueSettings:
    """Where and as whom the venue logs in, and its timers (see the module docstring)."""

    port: int
    username: str
    password: str
    host: str = "127.0.0.1"
    firm: str = ""
    symbols: tuple[str, ...] | None = None
    token_prefix: str | None = None
    heartbeat_s: float = 1.0
    timeout_s: float = 15.0
    reconnect_s: float = 1.0

    @classmethod
    def from_mapping(cls, settings: Mapping[str, Any]) -> OuchVenueSettings:
        """The OUCH settings in ``settings``; raises :class:`SettingError` naming a missing, unknown or unusable one."""
        read = SettingsReader(settings, _SETTINGS, owner="the OUCH venue")
        seconds = {name: read.number(name, default, minimum=0.001) for name, default in _TIMERS.items()}
        return cls(
            port=read.integer("port", minimum=1, maximum=65535, what="a TCP port"),
            username=read.text("username", what="a SoupBinTCP username"),
            password=read.secret("password", os.environ),
            host=read.text("host", "127.0.0.1", what="a host name or address"),
            firm=read.text("firm", "", what="a firm identifier"),
            symbols=read.texts("symbols", None, what="an array of symbols"),
            token_prefix=read.text("token_prefix", None, what="a token prefix"),
            **seconds,
        )


_TIMERS = {"heartbeat_s": 1.0, "timeout_s": 15.0, "reconnect_s": 1.0}
_SETTINGS = ("host", "port", "username", "password", "password_env", "firm", "symbols", "token_prefix", *_TIMERS)


def _default_prefix(now_ns: int) -> str:
    """Four base-36 characters of the second of the day: two engines (two databases) sending as one user are
    unlikely to send the same token."""
    return _base36((now_ns // NANOS_PER_SECOND) % 86_400, MAX_PREFIX)


@dataclass(slots=True, kw_only=True)
class _Tracked:
    """One engine order at the OUCH server."""

    order: Order
    token: str
    quantity: Quantity
    price: Price | None
    cum_qty: Quantity = 0
    replaces: int = 0
    """How many replaces the order's current token counts."""
    replacing: tuple[str, Quantity, Price] | None = None
    """(replacement token, new total quantity, new price) of a replace not answered yet."""
    canceling: bool = False
    recovering: bool = False
    """Adopted after a restart, and not yet known to be in the session (its token is empty until it is seen)."""


class OuchVenue(Venue):
    """A :class:`core.contracts.Venue` that trades over OUCH 4.2 (see the module docstring)."""

    name = "ouch"

    def __init__(self, setup: VenueSetup) -> None:
        self.settings = OuchVenueSettings.from_mapping(setup.settings)
        symbols = self.settings.symbols or tuple(setup.instruments)
        self._instruments: dict[str, Instrument] = {}
        for symbol in symbols:
            instrument = setup.instruments.get(symbol)
            if instrument is None:
                raise SettingError("symbols", f"expected instruments of the engine, found {symbol!r}")
            if instrument.price_scale != 4:
                raise ValueError(
                    f"{symbol}: OUCH 4.2 prices have 4 implied decimals; the instrument's scale is "
                    f"{instrument.price_scale}"
                )
            if len(symbol) > m.STOCK_SIZE or not symbol.isascii():
                raise ValueError(f"{symbol}: an OUCH stock symbol is at most 8 ASCII characters")
            self._instruments[symbol] = instrument
        prefix = self.settings.token_prefix
        if prefix is not None and (len(prefix) > MAX_PREFIX or not prefix.isascii() or " " in prefix):
            raise SettingError(
                "token_prefix", f"expected at most {MAX_PREFIX} ASCII characters without spaces, found {prefix!r}"
            )
        self._prefix = prefix
        self._by_token: dict[str, _Tracked] = {}
        self._by_order: dict[str, _Tracked] = {}
        self._recovering: dict[str, _Tracked] = {}
        self._finished: dict[str, Order] = {}
        self._fills: dict[int, tuple[str, Order, Quantity, Price]] = {}
        self._recalled: dict[str, Order] = {}
        """Orders done before a restart (``recall``), by order id: the replay finds their fills for a later break."""
        """Match number -> (exec id, order, shares, price) of every fill of the session, for its Broken Trade."""
        self._outbox: list[bytes] = []
        self._listener: VenueListener | None = None
        self._scheduler: Scheduler | None = None
        self._local_ids = itertools.count(1)
        self._client: SoupBinClient | None = None
        self._runner: asyncio.Task[None] | None = None
        self._closing: asyncio.Task[None] | None = None
        self._logged_in: asyncio.Event | None = None
        self._lost: asyncio.Event | None = None
        self.last_error = ""
        self.caught_up = False
        """True once the server has sent everything it held at the first login (the session's messages from
        before this start, replayed)."""

    # --- Venue contract --------------------------------------------------------------------------------------

    def instruments(self) -> Sequence[Instrument]:
        return list(self._instruments.values())

    def start(self, listener: VenueListener, scheduler: Scheduler) -> None:
        """Log in to the server from the running asyncio loop (and again whenever the connection is lost)."""
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            raise RuntimeError("the OUCH venue runs on an asyncio loop: start it from a running loop") from None
        self._listener = listener
        self._scheduler = scheduler
        if self._prefix is None:
            self._prefix = _default_prefix(scheduler.now_ns())
        settings = self.settings
        self._client = SoupBinClient(
            host=settings.host, port=settings.port, username=settings.username, password=settings.password,
            on_message=self._on_message, on_closed=self._on_closed, on_heartbeat=self._caught_up,
            heartbeat_s=settings.heartbeat_s, timeout_s=settings.timeout_s,
        )  # fmt: skip
        self._logged_in = asyncio.Event()
        self._lost = asyncio.Event()
        self._runner = asyncio.create_task(self._run())

    def stop(self) -> None:
        """Log out and stop reconnecting; :meth:`wait_stopped` awaits the end of it."""
        self._listener = None
        if self._runner is not None:
            self._runner.cancel()
        if self._client is not None and self._closing is None:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:  # the loop is gone: so is the connection
                return
            self._closing = loop.create_task(self._client.logout())

    def adopt(self, orders: Sequence[Order]) -> Sequence[Order]:
        """Take over the orders this venue held before a restart (see the module docstring): all of them."""
        taken = [order for order in orders if order_token("", order.order_id, 0) is not None]
        for order in taken:
            tracked = _Tracked(order=order, token="", quantity=order.quantity, price=order.price, recovering=True)
            self._by_order[order.order_id] = self._recovering[order.order_id] = tracked
        return taken

    def recall(self, orders: Sequence[Order]) -> None:
        """Keep the orders done before the restart: the session's replay names their fills (and a Broken Trade of
        one, live or replayed, is then a trade cancel of it)."""
        self._recalled = {order.order_id: order for order in orders}

    def submit(self, order: Order) -> None:
        assert self._prefix is not None, "the OUCH venue is not started"
        token = order_token(self._prefix, order.order_id, 0)
        problem = self._entry_problem(order)
        if problem is None and token is None:
            problem = f"order id {order.order_id} cannot be carried by an OUCH token"
        if problem is not None:
            reason = problem
            self._later(lambda: self._reject_locally(order, reason))
            return
        assert token is not None
        tracked = _Tracked(order=order, token=token, quantity=order.quantity, price=order.price)
        self._by_token[token] = tracked
        self._by_order[order.order_id] = tracked
        market = order.order_type is OrderType.MARKET
        self._send(
            m.EnterOrder(
                order_token=token, side="B" if order.side is Side.BUY else "S", shares=order.quantity,
                stock=order.instrument, price=m.MARKET_PRICE if market or order.price is None else order.price,
                time_in_force=_TIF[order.time_in_force], firm=self.settings.firm, display="Y", capacity="A",
                intermarket_sweep="N",
                minimum_quantity=order.quantity if order.time_in_force is TimeInForce.FOK else 0,
                cross_type="N", customer_type=" ",
            )
        )  # fmt: skip

    def cancel(self, order: Order) -> None:
        tracked = self._by_order.get(order.order_id)
        if tracked is not None and tracked.recovering:
            self._later(lambda: self._refuse(order, RECOVERING, is_replace=False))
            return
        if tracked is not None:
            tracked.canceling = True
            self._send(m.CancelOrder(order_token=tracked.token, shares=0))
            return
        token = next((t for t, done in self._finished.items() if done.order_id == order.order_id), None)
        if token is None:
            self._later(lambda: self._refuse(order, "unknown order", is_replace=False))
            return
        # The server is the judge of a finished order (it answers with Cancel Reject).
        self._send(m.CancelOrder(order_token=token, shares=0))

    def replace(self, order: Order, quantity: Quantity, price: Price | None) -> None:
        tracked = self._by_order.get(order.order_id)
        if tracked is None or tracked.replacing is not None or tracked.recovering:
            reason = (
                "unknown order"
                if tracked is None
                else RECOVERING
                if tracked.recovering
                else "a replace of this order is already pending"
            )
            self._later(lambda: self._refuse(order, reason, is_replace=True))
            return
        new_price = price if price is not None else tracked.price
        if new_price is None or not 0 < new_price < m.MARKET_PRICE:
            self._later(lambda: self._refuse(order, "OUCH cannot replace without a limit price", is_replace=True))
            return
        assert self._prefix is not None
        token = order_token(self._prefix, order.order_id, tracked.replaces + 1)
        if token is None:
            self._later(lambda: self._refuse(order, "too many replaces of one order for OUCH tokens", is_replace=True))
            return
        tracked.replacing = (token, quantity, new_price)
        self._by_token[token] = tracked
        self._send(
            m.ReplaceOrder(
                existing_order_token=tracked.token, replacement_order_token=token,
                shares=max(quantity - tracked.cum_qty, 0), price=new_price,
                time_in_force=_TIF[order.time_in_force], display="Y", intermarket_sweep="N", minimum_quantity=0,
            )
        )  # fmt: skip

    # --- connection ------------------------------------------------------------------------------------------

    @property
    def logged_in(self) -> bool:
        """True while the venue is logged in to the server."""
        return self._client is not None and self._client.connected

    async def wait_logged_in(self) -> None:
        """Return once the venue is logged in (bound it with ``asyncio.wait_for``)."""
        assert self._logged_in is not None, "the OUCH venue is not started"
        await self._logged_in.wait()

    async def wait_stopped(self) -> None:
        """Return once :meth:`stop` has logged out and closed the connection."""
        if self._runner is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._runner
        if self._closing is not None:
            await self._closing

    async def _run(self) -> None:
        client, logged_in, lost = self._client, self._logged_in, self._lost
        assert client is not None
        assert logged_in is not None
        assert lost is not None
        while True:
            try:
                await client.connect()
            except (LoginRejected, SoupBinError, OSError, TimeoutError) as error:
                self.last_error = str(error)
                log.warning("OUCH venue: login to %s:%s failed: %s", client.host, client.port, error)
                await asyncio.sleep(self.settings.reconnect_s)
                continue
            lost.clear()
            logged_in.set()
            if self._recovering:
                asyncio.get_running_loop().call_later(self.settings.timeout_s, self._caught_up)
            outbox, self._outbox = self._outbox, []
            for payload in outbox:
                client.send(payload)
            await lost.wait()
            logged_in.clear()
            await asyncio.sleep(self.settings.reconnect_s)

    def _on_closed(self, reason: str) -> None:
        self.last_error = reason
        log.warning("OUCH venue: connection lost: %s", reason)
        if self._lost is not None:
            self._lost.set()

    def _send(self, message: m.InboundMessage) -> None:
        payload = encode(message)
        client = self._client
        if client is not None and client.connected:
            client.send(payload)
        else:
            self._outbox.append(payload)

    # --- server messages -------------------------------------------------------------------------------------

    def _on_message(self, sequence: int, payload: bytes) -> None:
        try:
            message = decode_outbound(payload)
        except OuchDecodeError as error:
            self.last_error = f"message {sequence}: {error}"
            log.error("OUCH venue: undecodable message %d: %s", sequence, error)
            return
        if self._listener is None:
            return
        session = self._client.session if self._client is not None else ""
        exec_id = f"OUCH-{session}-{sequence}"
        if isinstance(message, m.Accepted):
            self._on_accepted(message, exec_id)
        elif isinstance(message, m.Executed | m.ExecutedWithReferencePrice):
            self._on_executed(message, exec_id)
        elif isinstance(message, m.Canceled | m.AiqCanceled):
            self._on_canceled(message.order_token, message.decrement_shares, message.reason, exec_id)
        elif isinstance(message, m.Replaced):
            self._on_replaced(message, exec_id)
        elif isinstance(message, m.Rejected):
            self._on_rejected(message, exec_id)
        elif isinstance(message, m.CancelReject):
            self._on_cancel_reject(message)
        elif isinstance(message, m.BrokenTrade):
            self._on_broken_trade(message, exec_id)
        elif not isinstance(message, m.SystemEvent | m.CancelPending):
            log.warning("OUCH venue: %s not reported to the engine: %s", type(message).__name__, message)

    def _on_accepted(self, message: m.Accepted, exec_id: str) -> None:
        tracked = self._tracked(message.order_token)
        if tracked is None:
            return
        if tracked.recovering:  # the replay begins the order again from its entry
            tracked.quantity, tracked.price, tracked.cum_qty = message.shares, message.price, 0
        self._report(tracked, exec_id, ExecType.NEW, OrdStatus.NEW)
        if message.order_state == "D":
            self._finish(tracked)
            self._report(tracked, exec_id + "-D", ExecType.CANCELED, OrdStatus.CANCELED, reason="dead on arrival")

    def _on_executed(self, message: m.Executed | m.ExecutedWithReferencePrice, exec_id: str) -> None:
        tracked = self._tracked(message.order_token)
        if tracked is None:
            self._recall_fill(message, exec_id)
            return
        tracked.cum_qty += message.executed_shares
        self._fills[message.match_number] = (exec_id, tracked.order, message.executed_shares, message.execution_price)
        filled = tracked.cum_qty >= tracked.quantity
        if filled:
            self._finish(tracked)
        self._report(
            tracked, exec_id, ExecType.TRADE, OrdStatus.FILLED if filled else OrdStatus.PARTIALLY_FILLED,
            last_qty=message.executed_shares, last_price=message.execution_price,
            liquidity=_LIQUIDITY.get(message.liquidity_flag, Liquidity.NONE),
        )  # fmt: skip

    def _recall_fill(self, message: m.Executed | m.ExecutedWithReferencePrice, exec_id: str) -> None:
        """A replayed fill of an order done before the restart: known for a later break, not reported again (the
        engine has it)."""
        decoded = token_order(message.order_token)
        order = None if decoded is None else self._recalled.get(decoded[0])
        if order is not None:
            self._fills[message.match_number] = (exec_id, order, message.executed_shares, message.execution_price)

    def _on_broken_trade(self, message: m.BrokenTrade, exec_id: str) -> None:
        """The exchange broke the fill with ``message.match_number``: report its trade cancel (see the module
        docstring); a match number the session's fills do not name changes nothing."""
        known = self._fills.pop(message.match_number, None)
        if known is None:
            unknown = f"Broken Trade of unknown match number {message.match_number} ({message.order_token})"
            if self.caught_up:
                self.last_error = unknown
                log.error("OUCH venue: %s: nothing changed", unknown)
            else:  # replayed: of an order the engine does not know (its journal began after it)
                log.warning("OUCH venue: %s, replayed from before the start: nothing changed", unknown)
            return
        fill_id, order, shares, price = known
        tracked = self._by_order.get(order.order_id)
        if tracked is not None:  # still live: the exchange works the same open shares as before
            tracked.cum_qty -= shares
            tracked.quantity -= shares
        quantity = tracked.quantity if tracked is not None else order.quantity
        cum = tracked.cum_qty if tracked is not None else order.cum_qty - shares
        status = order.status if order.is_terminal else OrdStatus.PARTIALLY_FILLED if cum else OrdStatus.NEW
        listener, scheduler = self._listener, self._scheduler
        if listener is None or scheduler is None:
            return
        reason = f"trade broken ({m.BROKEN_REASONS.get(message.reason, message.reason)})"
        report = report_for(
            order, exec_id=exec_id, exec_type=ExecType.TRADE_CANCEL, ord_status=status, ts_ns=scheduler.now_ns(),
            quantity=quantity, price=tracked.price if tracked is not None else order.price, cum_qty=cum,
            last_qty=shares, last_price=price, reason=reason, venue=self.name,
        )  # fmt: skip
        listener.on_execution(dataclasses.replace(report, ref_exec_id=fill_id))

    def _on_canceled(self, token: str, decrement: Quantity, code: str, exec_id: str) -> None:
        tracked = self._tracked(token)
        if tracked is None:
            return
        reason = m.CANCEL_REASONS.get(code, f"canceled ({code})")
        if decrement >= tracked.quantity - tracked.cum_qty:
            self._finish(tracked)
            self._report(tracked, exec_id, ExecType.CANCELED, OrdStatus.CANCELED, reason=reason)
            return
        tracked.quantity -= decrement
        status = OrdStatus.PARTIALLY_FILLED if tracked.cum_qty else OrdStatus.REPLACED
        self._report(tracked, exec_id, ExecType.REPLACED, status, reason=reason)

    def _on_replaced(self, message: m.Replaced, exec_id: str) -> None:
        tracked = self._tracked(message.previous_order_token)
        if tracked is None:
            return
        self._by_token.pop(tracked.token, None)
        tracked.token = message.replacement_order_token
        decoded = token_order(tracked.token)
        tracked.replaces = decoded[1] if decoded is not None else tracked.replaces + 1
        tracked.replacing = None
        self._by_token[tracked.token] = tracked
        tracked.quantity = tracked.cum_qty + message.shares
        tracked.price = message.price
        status = OrdStatus.PARTIALLY_FILLED if tracked.cum_qty else OrdStatus.REPLACED
        self._report(tracked, exec_id, ExecType.REPLACED, status)

    def _on_rejected(self, message: m.Rejected, exec_id: str) -> None:
        tracked = self._tracked(message.order_token)
        if tracked is None:
            return
        reason = m.REJECT_REASONS.get(message.reason, f"rejected ({message.reason})")
        if tracked.replacing is not None and tracked.replacing[0] == message.order_token:
            self._by_token.pop(message.order_token, None)
            tracked.replacing = None
            self._refuse(tracked.order, f"replace rejected: {reason}", is_replace=True)
            return
        self._finish(tracked)
        self._report(tracked, exec_id, ExecType.REJECTED, OrdStatus.REJECTED, reason=reason)

    def _on_cancel_reject(self, message: m.CancelReject) -> None:
        tracked = self._tracked(message.order_token)
        if tracked is None:
            order = self._finished.get(message.order_token)
            if order is not None:
                self._refuse(order, "too late to cancel: the order is no longer live", is_replace=False)
            return
        is_replace = tracked.replacing is not None and not tracked.canceling
        if is_replace:
            assert tracked.replacing is not None
            self._by_token.pop(tracked.replacing[0], None)
            tracked.replacing = None
        else:
            tracked.canceling = False
        self._refuse(tracked.order, "refused by the OUCH server", is_replace=is_replace)

    def _tracked(self, token: str) -> _Tracked | None:
        """The order ``token`` names: a live one, or, while the session is replayed after a restart, an adopted
        one (whose token it becomes)."""
        tracked = self._by_token.get(token)
        if tracked is None and self._recovering:
            decoded = token_order(token)
            if decoded is not None and (tracked := self._recovering.get(decoded[0])) is not None:
                self._by_token.pop(tracked.token, None)
                tracked.token, tracked.replaces = token, decoded[1]
                self._by_token[token] = tracked
        return tracked

    def _caught_up(self) -> None:
        """The server has sent everything it held: adopted orders it did not name are not in its session."""
        self.caught_up = True
        recovering, self._recovering = self._recovering, {}
        for tracked in recovering.values():
            tracked.recovering = False
            if tracked.token or tracked.order.order_id not in self._by_order:
                continue
            self._by_order.pop(tracked.order.order_id, None)
            listener, scheduler = self._listener, self._scheduler
            if listener is None or scheduler is None:
                continue
            report = report_for(
                tracked.order, exec_id=f"OUCH-RECOVERY-{self._prefix}-{tracked.order.order_id}",
                exec_type=ExecType.EXPIRED, ord_status=OrdStatus.EXPIRED, ts_ns=scheduler.now_ns(),
                reason=NOT_IN_SESSION, venue=self.name,
            )  # fmt: skip
            listener.on_execution(report)

    # --- reports ---------------------------------------------------------------------------------------------

    def _finish(self, tracked: _Tracked) -> None:
        self._by_token.pop(tracked.token, None)
        if tracked.replacing is not None:
            self._by_token.pop(tracked.replacing[0], None)
        self._by_order.pop(tracked.order.order_id, None)
        self._finished[tracked.token] = tracked.order

    def _report(
        self,
        tracked: _Tracked,
        exec_id: str,
        exec_type: ExecType,
        status: OrdStatus,
        *,
        last_qty: Quantity = 0,
        last_price: Price | None = None,
        liquidity: Liquidity = Liquidity.NONE,
        reason: str = "",
    ) -> None:
        listener, scheduler = self._listener, self._scheduler
        if listener is None or scheduler is None:
            return
        report = report_for(
            tracked.order, exec_id=exec_id, exec_type=exec_type, ord_status=status, ts_ns=scheduler.now_ns(),
            quantity=tracked.quantity, price=tracked.price, cum_qty=tracked.cum_qty, last_qty=last_qty,
            last_price=last_price, liquidity=liquidity, reason=reason, venue=self.name,
        )  # fmt: skip
        listener.on_execution(report)

    def _refuse(self, order: Order, reason: str, *, is_replace: bool) -> None:
        listener, scheduler = self._listener, self._scheduler
        if listener is None or scheduler is None:
            return
        listener.on_cancel_reject(
            CancelReject(
                client_order_id=order.client_order_id, order_id=order.order_id, account=order.account,
                ts_ns=scheduler.now_ns(), reason=reason, is_replace=is_replace,
            )
        )  # fmt: skip

    def _entry_problem(self, order: Order) -> str | None:
        if order.instrument not in self._instruments:
            return f"{order.instrument} is not traded on the OUCH venue"
        if not 0 < order.quantity <= m.PRICE_MAX:
            return f"quantity {order.quantity} does not fit OUCH's 32-bit shares"
        if order.order_type is OrderType.LIMIT and (order.price is None or not 0 < order.price < m.MARKET_PRICE):
            return f"price {order.price} does not fit OUCH 4.2 (1 to {m.MARKET_PRICE - 1} ten-thousandths)"
        return None

    def _reject_locally(self, order: Order, reason: str) -> None:
        listener, scheduler = self._listener, self._scheduler
        if listener is None or scheduler is None:
            return
        report = report_for(
            order, exec_id=f"OUCH-LOCAL-{self._prefix}-{next(self._local_ids)}", exec_type=ExecType.REJECTED,
            ord_status=OrdStatus.REJECTED, ts_ns=scheduler.now_ns(), reason=reason, venue=self.name,
        )  # fmt: skip
        listener.on_execution(report)

    def _later(self, action: Any) -> None:
        """Run ``action`` after the current call: a venue never reports from inside a request."""
        assert self._scheduler is not None, "the OUCH venue is not started"
        self._scheduler.call_later(0, action)
