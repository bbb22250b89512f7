"""The engine client for an engine reached over FIX 4.4 (``workstation-engine serve``): :class:`RemoteClient`.

It speaks the engine's FIX interface (``docs/fix.md``) as an initiator and presents it as the same
:class:`~engine.client.protocol.EngineClient` the embedded engine gives, so a front end cannot tell them apart:

* :meth:`RemoteClient.connect` logs on (Username/Password, ResetSeqNumFlag: the client rebuilds its state from
  the server on every Logon rather than replaying missed messages), then loads the instruments (SecurityList),
  the strategies (control UA/UB), the risk limits and accounts (UF/UG), subscribes to every instrument's book and
  trades (V: the snapshot W of each is the book, incremental refreshes X become ``BookUpdate``/``TradeTick``
  events) and to the positions (AN: PositionReports become ``PositionUpdate`` events; when the server does not
  push them, they are asked for after fills, at most every :data:`POSITION_REFRESH_S`).
* Orders: submit/cancel/replace are D/F/G. FIX gives each cancel or replace its own ClOrdID; the client maps the
  answers back to the order's own id, so events name an order by the id it was submitted with, as the engine
  does. ExecutionReports (8) and OrderCancelRejects (9) become events (a trade cancel, 150=H, is a
  ``TRADE_CANCEL`` report naming the busted fill, after which positions are refreshed as after a fill); a request
  the server refuses with a BusinessMessageReject (j) becomes a rejected report (or a cancel reject) with the
  server's reason.
* Snapshots: :meth:`RemoteClient.orders` and :meth:`RemoteClient.executions` come from one
  OrderMassStatusRequest (AF, 585=7), answered with the day's fills (PossResend) and one status report per order;
  :meth:`RemoteClient.positions` from a RequestForPositions; :meth:`RemoteClient.book_snapshot` from the book the
  client keeps.
* Control: strategies (UA-UE), risk limits (UF/UG, changed with UH) and the kill switch (UI/UJ) are the engine's
  control messages; ``flatten`` is done client-side (cancel all, then market orders against the account's
  positions). Every UG, answering or unsolicited (another session changed limits), updates ``info.risk_limits``
  and is told as a ``RiskLimitsChanged`` then a ``RiskEvent`` of kind ``LIMITS`` per account that changed; its
  UserReadOnly (5152) gives ``info.read_only``. Every UJ (the answer to a request, one per engaged switch at
  logon, or unsolicited news of another session's or the engine's) keeps ``info.kill_switches`` current and is
  told as a ``RiskEvent`` (``KILL_SWITCH`` or ``RELEASE``); a switch released while the session was away is told
  after the next logon.
* A lost connection is a ``ConnectionEvent(DISCONNECTED, reason)``; with ``reconnect`` the client logs on again
  with a growing delay, reloads everything, sends the changes as events and a ``ConnectionEvent(CONNECTED)``.

Events reach subscribers on the event loop's thread, as the messages arrive.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import itertools
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from urllib.parse import unquote, urlsplit

import numpy as np

from core.commands import CancelAll, CancelOrder, KillSwitch, ReplaceOrder, SubmitOrder
from core.enums import FILL_EXEC_TYPES, ExecType, OrderType, OrdStatus, Side, TimeInForce
from core.events import ASK, BID, BookUpdate, CancelReject, ExecutionReport, PositionUpdate, RiskEvent, RiskEventKind
from core.instruments import Instrument
from core.numbers import Nanos, Quantity
from core.orders import TERMINAL
from engine.client.protocol import (
    ClientEvent,
    ConnectionEvent,
    ConnectionState,
    EventHandler,
    RiskLimitsChanged,
    SessionInfo,
    StrategyState,
    TradingDay,
)
from engine.client.risk_limits import limits_event
from engine.fix import app_codec as fix
from engine.fix import control
from engine.fix.engine_app import KILL_SWITCH_ENGAGED, KILL_SWITCH_REQUEST, KILL_SWITCH_STATUS, server_dictionary
from engine.fix.initiator import FixInitiator, InitiatorConfig, client_ssl_context
from engine.fix.message import FixMessage
from engine.fix.session import SessionError
from engine.fix.store import MemoryStore
from engine.fix.trading_session import (
    TRADING_SESSION_STATUS,
    TRADING_SESSION_STATUS_REQUEST,
    decode_trading_session_status,
    encode_trading_session_status_request,
)

log = logging.getLogger(__name__)

DEFAULT_PORT = 9878
ENGINE_COMP_ID = "ENGINE"
POSITION_REFRESH_S = 0.25
"""Shortest interval between two position requests made because of fills (when the server does not push)."""
_NO_ORDERS_SYMBOL = b"[N/A]"


class RequestRefused(ValueError):
    """The server refused a request with a BusinessMessageReject (j); the message is its Text (58)."""

    def __init__(self, text: str, reason: fix.BusinessRejectReason) -> None:
        super().__init__(text)
        self.reason = reason


@dataclass(frozen=True, slots=True, kw_only=True)
class RemoteEndpoint:
    """Where and as whom to connect: ``fix://USER@HOST:PORT`` (``fixs://`` for TLS)."""

    user: str
    host: str
    port: int = DEFAULT_PORT
    tls: bool = False

    @classmethod
    def parse(cls, url: str) -> RemoteEndpoint:
        """The endpoint of ``fix://USER@HOST[:PORT]`` or ``fixs://...``; raises ValueError naming the problem."""
        parts = urlsplit(url)
        if parts.scheme not in ("fix", "fixs"):
            raise ValueError(f"{url!r}: expected fix://USER@HOST:PORT")
        if not parts.username:
            raise ValueError(f"{url!r}: the user name is missing (fix://USER@HOST:PORT)")
        if parts.password is not None:
            raise ValueError(f"{url!r}: a password does not belong in the URL")
        if not parts.hostname:
            raise ValueError(f"{url!r}: the host is missing (fix://USER@HOST:PORT)")
        try:
            port = parts.port or DEFAULT_PORT
        except ValueError:
            raise ValueError(f"{url!r}: the port is not a number") from None
        return cls(user=unquote(parts.username), host=parts.hostname, port=port, tls=parts.scheme == "fixs")

    def __str__(self) -> str:
        return f"{'fixs' if self.tls else 'fix'}://{self.user}@{self.host}:{self.port}"


@dataclass(slots=True)
class _Known:
    """What a cancel or replace of an order needs to say about it."""

    symbol: str
    side: Side
    order_type: OrderType
    account: str


@dataclass(slots=True)
class _Batch:
    """A request answered by several messages, collected until the last one."""

    future: asyncio.Future[list[Any]]
    items: list[Any] = field(default_factory=list)


class RemoteClient:
    """An :class:`~engine.client.protocol.EngineClient` over FIX to an engine server (see the module docs).

    ``password`` is the user's; ``tls_ca`` a PEM file of the authority that signed the server's certificate
    (TLS is used when it is given or the endpoint says ``tls``). ``timeout_s`` bounds the connection, the Logon
    and every request. ``reconnect`` logs on again after a lost connection, waiting ``reconnect_min_s`` at first
    and twice as long after each failure, up to ``reconnect_max_s``.
    """

    def __init__(
        self,
        endpoint: RemoteEndpoint,
        password: str,
        *,
        tls_ca: str | None = None,
        target_comp_id: str = ENGINE_COMP_ID,
        heartbeat_s: int = 10,
        timeout_s: float = 10.0,
        reconnect: bool = True,
        reconnect_min_s: float = 0.5,
        reconnect_max_s: float = 10.0,
    ) -> None:
        self.endpoint = endpoint
        self._tls_ca = tls_ca
        self._timeout_s = timeout_s
        self._reconnect = reconnect
        self._reconnect_min_s = reconnect_min_s
        self._reconnect_max_s = reconnect_max_s
        config = InitiatorConfig(
            sender_comp_id=endpoint.user,
            target_comp_id=target_comp_id,
            username=endpoint.user,
            password=password,
            heartbeat_s=heartbeat_s,
            reset_on_logon=True,
            sending_time_tolerance_s=None,
        )
        self._fix = FixInitiator(
            config, MemoryStore(), on_message=self._on_message, on_disconnect=self._on_disconnect,
            dictionary=server_dictionary(),
        )  # fmt: skip
        self._handlers: list[EventHandler] = []
        self._info: SessionInfo | None = None
        self._instruments: dict[str, Instrument] = {}
        self._books = fix.L2Books()
        self._book_marks: dict[str, tuple[int, Nanos]] = {}
        self._orders: dict[str, _Known] = {}
        self._aliases: dict[str, str] = {}
        self._answers: dict[str, asyncio.Future[FixMessage]] = {}
        self._position_batches: dict[str, _Batch] = {}
        self._status_batches: dict[str, _Batch] = {}
        self._snapshots: dict[str, asyncio.Future[None]] = {}
        self._position_subscription = ""
        self._positions_pushed = False
        self._fills_seen: set[str] = set()
        self._position_refresh: asyncio.TimerHandle | None = None
        self._status_cache: tuple[list[ExecutionReport], list[ExecutionReport]] | None = None
        self._status_inflight: asyncio.Future[tuple[list[ExecutionReport], list[ExecutionReport]]] | None = None
        self._reconnector: asyncio.Task[None] | None = None
        self._background: set[asyncio.Task[Any]] = set()
        self._loading = False
        self._kill_switches: dict[str | None, str] = {}
        """The engaged kill switches the engine told of (None: the global one), for ``info``."""
        self._kill_switches_told: set[str | None] = set()
        """The switches told of since the current logon: the engine tells every engaged one at logon."""
        self._closing = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._id_prefix = f"{endpoint.user}-{_base36(time.time_ns() // 1_000_000)}"
        self._ids = itertools.count(1)

    # --- session ---------------------------------------------------------------------------------------------

    @property
    def info(self) -> SessionInfo:
        """The session established by :meth:`connect`."""
        if self._info is None:
            raise RuntimeError("the client is not connected")
        return self._info

    @property
    def connected(self) -> bool:
        """True while logged on to the server."""
        return self._fix.logged_on

    async def connect(self) -> SessionInfo:
        """Log on and load the session (instruments, strategies, risk limits, books, positions)."""
        self._closing = False
        self._loop = asyncio.get_running_loop()
        self._info = await self._open(initial=True)
        self._dispatch(ConnectionEvent(ts_ns=time.time_ns(), state=ConnectionState.CONNECTED))
        return self._info

    async def close(self) -> None:
        """Log out and stop reconnecting."""
        self._closing = True
        if self._reconnector is not None:
            self._reconnector.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reconnector
            self._reconnector = None
        if self._position_refresh is not None:
            self._position_refresh.cancel()
        for task in list(self._background):
            task.cancel()
        await self._fix.logout("closed by the user", timeout_s=self._timeout_s)
        self._info = None

    async def drop_connection(self, reason: str = "connection dropped") -> None:
        """Drops the connection without a Logout, as a network failure would (reconnects when enabled)."""
        await self._fix.abort(reason)

    def subscribe(self, handler: EventHandler) -> Callable[[], None]:
        """Call ``handler`` with every event, on the event loop's thread. Returns the unsubscribe function."""
        self._handlers.append(handler)

        def unsubscribe() -> None:
            if handler in self._handlers:
                self._handlers.remove(handler)

        return unsubscribe

    def new_order_id(self) -> str:
        """A ClOrdID unique to this user: the user, the client's start time and a counter."""
        return f"{self._id_prefix}-{next(self._ids)}"

    def _require_loop(self) -> asyncio.AbstractEventLoop:
        """The loop the client was connected on (callbacks may run where no loop is marked running)."""
        if self._loop is None:
            raise RuntimeError("the client is not connected")
        return self._loop

    def _dispatch(self, event: ClientEvent) -> None:
        for handler in list(self._handlers):
            try:
                handler(event)
            except Exception:
                log.exception("an event handler failed on %r", event)

    async def _open(self, *, initial: bool) -> SessionInfo:
        """Connect, log on and load everything; the events of a reload are dispatched unless ``initial``."""
        endpoint = self.endpoint
        tls = self._tls_ca is not None or endpoint.tls
        context = client_ssl_context(self._tls_ca) if tls else None
        await self._fix.connect(endpoint.host, endpoint.port, ssl_context=context, timeout_s=self._timeout_s)
        self._loading = True
        self._kill_switches_told = set()
        try:
            info = await self._load(initial=initial)
            if not initial:
                for account in set(self._kill_switches) - self._kill_switches_told:
                    del self._kill_switches[account]  # released while the session was away
                    self._kill_switch_changed(account, engaged=False, reason="released while disconnected")
            return info
        except BaseException:
            await self._fix.abort("loading the session failed")
            raise
        finally:
            self._loading = False

    async def _load(self, *, initial: bool) -> SessionInfo:
        listing = fix.decode_security_list(
            await self._ask(fix.encode_security_list_request(fix.SecurityListRequest(request_id=self._id())))
        )
        if initial or not self._instruments:
            self._instruments = {instrument.symbol: instrument for instrument in listing.instruments}
        strategies = control.decode_strategy_list(
            await self._ask(control.encode_strategy_list_request(control.StrategyListRequest(request_id=self._id())))
        )
        limits = control.decode_risk_limits(
            await self._ask(control.encode_risk_limits_request(control.RiskLimitsRequest(request_id=self._id())))
        )
        risk = control.risk_limits_mapping(limits.limits)
        if not initial:
            self._limits_reported(limits)
        trading_day = await self._subscribe_trading_day()
        await self._subscribe_market_data()
        positions = await self._subscribe_positions()
        if not initial:
            for state in strategies.instances:
                self._dispatch(state)
            for update in positions:
                self._dispatch(update)
            self._status_cache = None
            orders, fills = await self._mass_status()
            # Fills missed while disconnected (not those already shown: an order would count them twice).
            for fill in fills:
                if fill.exec_id not in self._fills_seen:
                    self._fills_seen.add(fill.exec_id)
                    self._dispatch(fill)
            for report in orders:
                self._dispatch(report)
        accounts = list(risk)
        accounts += [update.account for update in positions if update.account not in accounts]
        return SessionInfo(
            user=self.endpoint.user,
            endpoint=str(self.endpoint),
            instruments=tuple(self._instruments.values()),
            accounts=tuple(accounts),
            read_only=bool(limits.read_only),
            strategies=strategies.strategies,
            risk_limits=risk,
            kill_switches=dict(self._kill_switches),
            trading_day=trading_day,
        )

    async def _subscribe_trading_day(self) -> TradingDay | None:
        """The engine's trading day, with an h at every roll from now on (None from an engine that keeps none)."""
        request = encode_trading_session_status_request(self._id(), fix.SubscriptionType.SUBSCRIBE)
        try:
            return _trading_day(await self._ask(request))
        except RequestRefused as error:
            log.info("the engine gives no trading day: %s", error)
            return None

    async def _subscribe_market_data(self) -> None:
        symbols = tuple(self._instruments)
        if not symbols:
            return
        loop = asyncio.get_running_loop()
        self._snapshots = {symbol: loop.create_future() for symbol in symbols}
        request = fix.MarketDataRequest(
            request_id=self._id(), subscription=fix.SubscriptionType.SUBSCRIBE, symbols=symbols
        )
        self._fix.send(fix.encode_market_data_request(request), resendable=False)
        try:
            await asyncio.wait_for(asyncio.gather(*self._snapshots.values()), self._timeout_s)
        finally:
            self._snapshots = {}

    async def _subscribe_positions(self) -> list[PositionUpdate]:
        self._position_subscription = self._id()
        self._positions_pushed = False
        return await self._position_request(self._position_subscription, fix.SubscriptionType.SUBSCRIBE)

    async def _position_request(self, request_id: str, kind: fix.SubscriptionType) -> list[PositionUpdate]:
        request = fix.PositionRequest(request_id=request_id, subscription=kind, ts_ns=time.time_ns())
        batch = _Batch(asyncio.get_running_loop().create_future())
        self._position_batches[request_id] = batch
        try:
            self._fix.send(fix.encode_position_request(request), resendable=False)
            return await asyncio.wait_for(asyncio.shield(batch.future), self._timeout_s)
        finally:
            self._position_batches.pop(request_id, None)

    def _on_disconnect(self, reason: str) -> None:
        error = ConnectionError(f"connection to the engine lost: {reason}")
        waiting: list[asyncio.Future[Any]] = [*self._answers.values(), *self._snapshots.values()]
        for future in waiting:
            if not future.done():
                future.set_exception(error)
        for batch in [*self._position_batches.values(), *self._status_batches.values()]:
            if not batch.future.done():
                batch.future.set_exception(error)
        self._status_cache = None
        if self._loading:
            return  # the connect (or reconnect) in progress reports it
        self._dispatch(ConnectionEvent(ts_ns=time.time_ns(), state=ConnectionState.DISCONNECTED, message=reason))
        if self._reconnect and not self._closing and self._info is not None:
            self._reconnector = self._require_loop().create_task(self._reconnect_loop())

    async def _reconnect_loop(self) -> None:
        delay = self._reconnect_min_s
        while not self._closing:
            await asyncio.sleep(delay)
            try:
                await self._open(initial=False)
            except (OSError, ValueError, SessionError) as error:
                log.warning("reconnecting to %s failed: %s", self.endpoint, error)
                delay = min(delay * 2, self._reconnect_max_s)
                continue
            self._dispatch(
                ConnectionEvent(ts_ns=time.time_ns(), state=ConnectionState.CONNECTED, message="reconnected")
            )
            return

    # --- requests and answers -----------------------------------------------------------------------------------

    def _id(self) -> str:
        return self.new_order_id()

    def _send(self, message: FixMessage) -> None:
        try:
            self._fix.send(message)
        except SessionError as error:
            raise ConnectionError(f"not connected to the engine ({self._fix.last_reason or error})") from None

    async def _ask(self, message: FixMessage, *, request_tag: int | None = None) -> FixMessage:
        """Sends a request and returns the message answering it (matched by its request id)."""
        tag = request_tag or _REQUEST_ID_TAG[message.msg_type]
        request_id = message.get_str(tag)
        answer: asyncio.Future[FixMessage] = asyncio.get_running_loop().create_future()
        self._answers[request_id] = answer
        try:
            self._send(message)
            return await asyncio.wait_for(asyncio.shield(answer), self._timeout_s)
        finally:
            self._answers.pop(request_id, None)

    def _answer(self, request_id: str, message: FixMessage) -> bool:
        waiting = self._answers.get(request_id)
        if waiting is None or waiting.done():
            return False
        waiting.set_result(message)
        return True

    # --- inbound ----------------------------------------------------------------------------------------------

    def _on_message(self, message: FixMessage) -> None:
        """Every application message from the server; never raises (the session would log out)."""
        handler = self._dispatch_table.get(message.msg_type)
        if handler is None:
            log.info("ignored a %s message from the engine", message.msg_type)
            return
        try:
            handler(self, message)
        except fix.FixAppError as error:
            log.warning("could not read a %s message from the engine: %s", message.msg_type, error)
        except Exception:
            log.exception("failed on a %s message from the engine", message.msg_type)

    def _on_execution_report(self, message: FixMessage) -> None:
        request_id = message.get(584)
        if request_id is not None:
            self._on_status_report(request_id.decode("utf-8", "replace"), message)
            return
        report = self._report_of(message)
        self._status_cache = None
        exec_type = report.exec_type
        if exec_type is ExecType.TRADE:
            if report.exec_id in self._fills_seen:
                return
            self._fills_seen.add(report.exec_id)
        self._dispatch(report)
        if exec_type in FILL_EXEC_TYPES:
            self._fills_changed_positions()

    def _report_of(self, message: FixMessage) -> ExecutionReport:
        """The report of an 8, named by the order's own id, remembering what cancels of the order need."""
        report = fix.decode_execution_report(message, self._instruments)
        own = self._aliases.get(report.client_order_id)
        if own is not None:
            report = dataclasses.replace(report, client_order_id=own)
        if report.exec_type is ExecType.REPLACED and report.ord_status is OrdStatus.NEW:
            # FIX 4.4 has no OrdStatus Replaced: the engine's own report of a replace says Replaced.
            report = dataclasses.replace(report, ord_status=OrdStatus.REPLACED)
        self._remember(report)
        return report

    def _remember(self, report: ExecutionReport) -> None:
        if report.ord_status in TERMINAL:
            self._orders.pop(report.client_order_id, None)
            return
        self._orders[report.client_order_id] = _Known(report.instrument, report.side, report.order_type, report.account)

    def _on_status_report(self, request_id: str, message: FixMessage) -> None:
        batch = self._status_batches.get(request_id)
        if batch is None:
            return
        last = message.get(912) == b"Y"
        if not (message.get(911) == b"0" and message.get(55) == _NO_ORDERS_SYMBOL):
            try:
                batch.items.append(self._report_of(message))
            except fix.FixAppError as error:
                log.warning("left out an order status the client cannot read: %s", error)
        if last and not batch.future.done():
            batch.future.set_result(batch.items)

    def _on_cancel_reject(self, message: FixMessage) -> None:
        reject = fix.decode_cancel_reject(message)
        request = message.get_str(11)
        own = self._aliases.get(request) or self._aliases.get(reject.client_order_id) or reject.client_order_id
        self._dispatch(dataclasses.replace(reject, client_order_id=own))

    def _on_mass_cancel_report(self, message: FixMessage) -> None:
        self._answer(message.get_str(11), message)

    def _on_snapshot(self, message: FixMessage) -> None:
        symbol = message.get_str(55)
        bids, asks = self._books.levels(symbol)
        snapshot = fix.decode_market_data_snapshot(message, self._instruments, self._books)
        book = snapshot.book
        self._book_marks[symbol] = (book.sequence, book.ts_ns)
        waiting = self._snapshots.get(symbol)
        if waiting is not None and not waiting.done():
            waiting.set_result(None)
        # What changed since the book the client had (all of it the first time): one update.
        now_bids, now_asks = _prices(book, BID), _prices(book, ASK)
        rows = [(BID, price, 0) for price in bids if price not in now_bids]
        rows += [(ASK, price, 0) for price in asks if price not in now_asks]
        rows += [(int(side), int(price), int(quantity)) for side, price, quantity in book.deltas.tolist()]
        if rows:
            self._dispatch(dataclasses.replace(book, deltas=_frozen(rows)))

    def _on_incremental(self, message: FixMessage) -> None:
        for event in fix.decode_market_data_incremental(message, self._instruments, self._books):
            if isinstance(event, BookUpdate):
                self._book_marks[event.instrument] = (event.sequence, event.ts_ns)
            self._dispatch(event)

    def _on_market_data_reject(self, message: FixMessage) -> None:
        reject = fix.decode_market_data_reject(message)
        log.error("the engine refused market data %s: %s", reject.request_id, reject.text)
        error = RequestRefused(f"market data refused: {reject.text}", fix.BusinessRejectReason.OTHER)
        for waiting in self._snapshots.values():
            if not waiting.done():
                waiting.set_exception(error)

    def _on_security_list(self, message: FixMessage) -> None:
        self._answer(message.get_str(320), message)

    def _on_position_report(self, message: FixMessage) -> None:
        report = fix.decode_position_report(message, self._instruments)
        batch = self._position_batches.get(report.request_id or "")
        if batch is not None and message.get(727) is not None:
            if report.update is not None:
                batch.items.append(report.update)
            total = report.total_reports or 0
            if (report.update is None or len(batch.items) >= total) and not batch.future.done():
                batch.future.set_result(batch.items)
            return
        if report.update is None:
            return
        if report.request_id == self._position_subscription:
            self._positions_pushed = True
        self._dispatch(report.update)

    def _on_control(self, message: FixMessage) -> None:
        request_id = message.get(control.CONTROL_REQ_ID)
        if request_id is not None and self._answer(request_id.decode("utf-8", "replace"), message):
            return
        if message.msg_type == control.STRATEGY_STATUS:
            self._dispatch(control.decode_strategy_status(message).state)
        elif message.msg_type == control.RISK_LIMITS_REPORT:
            self._limits_reported(control.decode_risk_limits(message))
        elif message.msg_type == KILL_SWITCH_STATUS:
            self._kill_switch_reported(message)

    def _kill_switch_reported(self, message: FixMessage) -> None:
        """An unsolicited UJ: a kill switch engaged or released elsewhere, or one engaged at logon."""
        engaged = message.get(KILL_SWITCH_ENGAGED) == b"Y"
        account_text, reason_text = message.get(1), message.get(58)
        account = None if account_text is None else fix.read_text(account_text)
        reason = "" if reason_text is None else fix.read_text(reason_text)
        if engaged:
            self._kill_switches_told.add(account)
        if self._note_kill_switch(account, engaged=engaged, reason=reason):
            self._kill_switch_changed(account, engaged=engaged, reason=reason)

    def _note_kill_switch(self, account: str | None, *, engaged: bool, reason: str) -> bool:
        """Records a switch's state; True when that changed what was known."""
        if engaged:
            changed = self._kill_switches.get(account) != reason
            self._kill_switches[account] = reason
            return changed
        return self._kill_switches.pop(account, None) is not None

    def _kill_switch_changed(self, account: str | None, *, engaged: bool, reason: str) -> None:
        """Keeps ``info`` current and tells subscribers (before the first ``info``, it only waits for it)."""
        if self._info is None:
            return
        self._info = dataclasses.replace(self._info, kill_switches=dict(self._kill_switches))
        kind = RiskEventKind.KILL_SWITCH if engaged else RiskEventKind.RELEASE
        self._dispatch(RiskEvent(ts_ns=time.time_ns(), kind=kind, check="kill_switch", reason=reason, account=account))

    def _limits_reported(self, report: control.RiskLimits) -> None:
        """Takes the limits of a UG into ``info`` and tells subscribers of each account whose limits changed."""
        info = self._info
        if info is None:
            return
        now = time.time_ns()
        reported = control.risk_limits_mapping(report.limits)
        read_only = info.read_only if report.read_only is None else report.read_only
        self._info = dataclasses.replace(info, risk_limits={**info.risk_limits, **reported}, read_only=read_only)
        for account, limits in reported.items():
            event = limits_event(account, info.risk_limits.get(account, {}), limits, ts_ns=now)
            if event is not None:
                self._dispatch(RiskLimitsChanged(ts_ns=now, account=account, limits=limits))
                self._dispatch(event)

    def _on_trading_session_status(self, message: FixMessage) -> None:
        """The answer to the trading day's request, or (unsolicited) the day the engine's roll began."""
        request_id = message.get(335)
        if request_id is not None and self._answer(request_id.decode("latin-1"), message):
            return
        if self._info is not None:
            self._info = dataclasses.replace(self._info, trading_day=_trading_day(message))

    def _on_business_reject(self, message: FixMessage) -> None:
        reject = fix.decode_business_reject(message)
        ref = reject.ref_id or ""
        error = RequestRefused(reject.text or f"refused ({reject.reason.name.lower()})", reject.reason)
        waiting = self._answers.get(ref)
        if waiting is not None and not waiting.done():
            waiting.set_exception(error)
            return
        batch = self._position_batches.get(ref) or self._status_batches.get(ref)
        if batch is not None and not batch.future.done():
            batch.future.set_exception(error)
            return
        if reject.ref_msg_type == "D" and ref in self._orders:
            self._dispatch(self._local_reject(ref, str(error)))
        elif reject.ref_msg_type in ("F", "G") and ref in self._aliases:
            self._refuse(self._aliases[ref], str(error), is_replace=reject.ref_msg_type == "G")
        else:
            log.warning("the engine refused a %s message (%s): %s", reject.ref_msg_type, ref, error)

    _dispatch_table: Mapping[str, Callable[[RemoteClient, FixMessage], None]] = {
        "8": _on_execution_report,
        "9": _on_cancel_reject,
        "r": _on_mass_cancel_report,
        "W": _on_snapshot,
        "X": _on_incremental,
        "Y": _on_market_data_reject,
        "y": _on_security_list,
        "AP": _on_position_report,
        TRADING_SESSION_STATUS: _on_trading_session_status,
        "j": _on_business_reject,
        control.STRATEGY_LIST: _on_control,
        control.STRATEGY_STATUS: _on_control,
        control.RISK_LIMITS_REPORT: _on_control,
        KILL_SWITCH_STATUS: _on_control,
    }

    # --- positions after fills ----------------------------------------------------------------------------------

    def _fills_changed_positions(self) -> None:
        """Asks for the positions after fills, unless the server pushes them (at most every POSITION_REFRESH_S)."""
        if self._positions_pushed or self._position_refresh is not None:
            return
        self._position_refresh = self._require_loop().call_later(POSITION_REFRESH_S, self._refresh_positions)

    def _refresh_positions(self) -> None:
        self._position_refresh = None
        if self._positions_pushed or not self._fix.logged_on:
            return
        task = self._require_loop().create_task(self._push_positions())
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _push_positions(self) -> None:
        try:
            updates = await self.positions()
        except (ConnectionError, TimeoutError, RequestRefused) as error:
            log.warning("could not refresh the positions: %s", error)
            return
        for update in updates:
            self._dispatch(update)

    # --- commands --------------------------------------------------------------------------------------------

    async def submit(self, request: SubmitOrder) -> None:
        """Send a new order (D); its reports arrive on the event stream."""
        instrument = self._instruments.get(request.instrument)
        self._orders[request.client_order_id] = _Known(
            request.instrument, request.side, request.order_type, request.account
        )
        if instrument is None:
            self._dispatch(self._local_reject(request.client_order_id, f"unknown instrument {request.instrument!r}"))
            self._orders.pop(request.client_order_id, None)
            return
        order = request._replace(ts_ns=request.ts_ns or time.time_ns())
        try:
            self._send(fix.encode_new_order(order, instrument))
        except ConnectionError:
            self._orders.pop(request.client_order_id, None)
            raise

    async def cancel(self, request: CancelOrder) -> None:
        """Cancel a working order (F)."""
        known = self._orders.get(request.client_order_id)
        if known is None:
            self._refuse(request.client_order_id, f"unknown order {request.client_order_id}", is_replace=False)
            return
        request_id = self._alias(request.client_order_id)
        command = dataclasses.replace(request, account=request.account or known.account, ts_ns=_now(request.ts_ns))
        self._send(fix.encode_cancel(command, cl_ord_id=request_id, symbol=known.symbol, side=known.side))

    async def replace(self, request: ReplaceOrder) -> None:
        """Change a working order's price and/or quantity (G)."""
        known = self._orders.get(request.client_order_id)
        if known is None:
            self._refuse(request.client_order_id, f"unknown order {request.client_order_id}", is_replace=True)
            return
        request_id = self._alias(request.client_order_id)
        command = dataclasses.replace(request, account=request.account or known.account, ts_ns=_now(request.ts_ns))
        instrument = self._instruments[known.symbol]
        self._send(
            fix.encode_replace(command, instrument, cl_ord_id=request_id, side=known.side, order_type=known.order_type)
        )

    async def cancel_all(self, request: CancelAll) -> int:
        """Cancel every selected working order (q); returns how many the server asked to cancel."""
        message = fix.encode_mass_cancel(dataclasses.replace(request, ts_ns=_now(request.ts_ns)), cl_ord_id=self._id())
        report = fix.decode_mass_cancel_report(await self._ask(message))
        if not report.accepted:
            raise RequestRefused(report.text or "mass cancel refused", fix.BusinessRejectReason.OTHER)
        return report.affected

    async def kill_switch(self, request: KillSwitch) -> None:
        """Engage or release the engine's kill switch (control UI, answered by UJ); the change is reported as a
        ``RiskEvent`` like the engine's own."""
        fields: list[tuple[int, bytes | str]] = [
            (control.CONTROL_REQ_ID, self._id()),
            (KILL_SWITCH_ENGAGED, b"Y" if request.engaged else b"N"),
        ]
        if request.account:
            fields.append((1, fix.text_value(request.account)))
        if request.reason:
            fields.append((58, fix.text_value(request.reason)))
        answer = await self._ask(FixMessage.build(KILL_SWITCH_REQUEST, fields), request_tag=control.CONTROL_REQ_ID)
        engaged = answer.get(KILL_SWITCH_ENGAGED) == b"Y"
        reason = answer.get(58)
        text = fix.read_text(reason) if reason else request.reason
        # The answer tells this switch's state (told even when unchanged); the other switches are as they were.
        self._note_kill_switch(request.account, engaged=engaged, reason=text)
        self._kill_switch_changed(request.account, engaged=engaged, reason=text)

    async def flatten(self, account: str, reason: str) -> None:
        """Cancel the account's working orders, then close each of its positions with a market order (IOC)."""
        await self.cancel_all(CancelAll(account=account, ts_ns=time.time_ns()))
        for position in await self.positions():
            if position.account != account or position.quantity == 0:
                continue
            side = Side.SELL if position.quantity > 0 else Side.BUY
            await self.submit(
                SubmitOrder(
                    client_order_id=self.new_order_id(), account=account, instrument=position.instrument, side=side,
                    quantity=abs(position.quantity), order_type=OrderType.MARKET,
                    time_in_force=TimeInForce.IOC, ts_ns=time.time_ns(),
                )
            )  # fmt: skip
        log.info("flattened %s: %s", account, reason)

    async def ping(self) -> Nanos:
        """One TestRequest/Heartbeat round trip to the server, in nanoseconds."""
        try:
            return await self._fix.ping(self._timeout_s)
        except SessionError as error:
            raise ConnectionError(str(error)) from None

    # --- snapshots -------------------------------------------------------------------------------------------

    async def orders(self) -> Sequence[ExecutionReport]:
        """The latest report (ExecType I) of every order the user may see."""
        orders, _ = await self._mass_status()
        return orders

    async def executions(self) -> Sequence[ExecutionReport]:
        """Every fill of the day the user may see, oldest first."""
        _, fills = await self._mass_status()
        self._fills_seen.update(fill.exec_id for fill in fills)
        return fills

    async def _mass_status(self) -> tuple[list[ExecutionReport], list[ExecutionReport]]:
        """Orders and fills from one OrderMassStatusRequest, shared by concurrent callers and kept until the next
        execution report arrives."""
        if self._status_cache is not None:
            return self._status_cache
        if self._status_inflight is None:
            self._status_inflight = asyncio.get_running_loop().create_future()
            inflight = self._status_inflight
            try:
                result = await self._ask_mass_status()
            except BaseException as error:
                inflight.set_exception(error)
                inflight.exception()
                raise
            finally:
                self._status_inflight = None
            inflight.set_result(result)
            self._status_cache = result
            return result
        return await asyncio.shield(self._status_inflight)

    async def _ask_mass_status(self) -> tuple[list[ExecutionReport], list[ExecutionReport]]:
        request_id = self._id()
        batch = _Batch(asyncio.get_running_loop().create_future())
        self._status_batches[request_id] = batch
        try:
            self._send(FixMessage.build("AF", [(584, request_id), (585, 7)]))
            reports: list[ExecutionReport] = await asyncio.wait_for(asyncio.shield(batch.future), self._timeout_s)
        finally:
            self._status_batches.pop(request_id, None)
        orders = [report for report in reports if report.exec_type is ExecType.ORDER_STATUS]
        fills = sorted((report for report in reports if report.exec_type in FILL_EXEC_TYPES), key=_time)
        return orders, fills

    async def positions(self) -> Sequence[PositionUpdate]:
        """Every position of the user's accounts, with current marks (a RequestForPositions)."""
        try:
            return await self._position_request(self._id(), fix.SubscriptionType.SNAPSHOT)
        except SessionError as error:
            raise ConnectionError(f"not connected to the engine ({error})") from None

    async def book_snapshot(self, symbol: str) -> BookUpdate:
        """The full book of ``symbol`` as the client holds it (the server's snapshot plus every update since)."""
        if symbol not in self._instruments:
            raise KeyError(symbol)
        bids, asks = self._books.levels(symbol)
        sequence, ts_ns = self._book_marks.get(symbol, (0, 0))
        rows = [(BID, price, bids[price]) for price in sorted(bids, reverse=True)]
        rows += [(ASK, price, asks[price]) for price in sorted(asks)]
        best_bid = rows[0][1] if bids else None
        best_ask = min(asks) if asks else None
        return BookUpdate(
            instrument=symbol, ts_ns=ts_ns, sequence=sequence, deltas=_frozen(rows), best_bid=best_bid,
            best_bid_qty=0 if best_bid is None else bids[best_bid], best_ask=best_ask,
            best_ask_qty=0 if best_ask is None else asks[best_ask],
        )  # fmt: skip

    async def strategies(self) -> Sequence[StrategyState]:
        """Every strategy instance the user may see (UA/UB)."""
        request = control.StrategyListRequest(request_id=self._id())
        answer = await self._ask(control.encode_strategy_list_request(request))
        return list(control.decode_strategy_list(answer).instances)

    async def start_strategy(
        self,
        strategy: str,
        *,
        account: str,
        instruments: Sequence[str],
        params: Mapping[str, Any],
        strategy_id: str | None = None,
    ) -> StrategyState:
        """Start a strategy instance (UC); raises ``ValueError`` with the server's reason when it cannot start."""
        start = control.StrategyStart(
            request_id=self._id(), strategy=strategy, account=account, instruments=tuple(instruments),
            params=dict(params), strategy_id=strategy_id, ts_ns=time.time_ns(),
        )  # fmt: skip
        answer = await self._ask(control.encode_strategy_start(start))
        state = control.decode_strategy_status(answer).state
        self._dispatch(state)
        return state

    async def stop_strategy(self, strategy_id: str) -> StrategyState:
        """Stop a strategy instance (UD); raises ``LookupError`` for an unknown one."""
        stop = control.StrategyStop(request_id=self._id(), strategy_id=strategy_id, ts_ns=time.time_ns())
        try:
            answer = await self._ask(control.encode_strategy_stop(stop))
        except RequestRefused as error:
            if error.reason is fix.BusinessRejectReason.UNKNOWN_ID:
                raise LookupError(str(error)) from None
            raise
        state = control.decode_strategy_status(answer).state
        self._dispatch(state)
        return state

    async def plugins(self) -> Sequence[Mapping[str, Any]]:
        """The engine's plugin report: not offered over FIX, so empty."""
        return []

    async def set_risk_limits(
        self, account: str, changes: Mapping[str, Mapping[str, Any]]
    ) -> Mapping[str, Mapping[str, Any]]:
        """Change ``account``'s limits (UH, answered by UG); raises :class:`RequestRefused` (a ``ValueError``)
        with the server's reason when refused."""
        rows: list[control.RiskLimit] = []
        for check, params in changes.items():
            if not params:
                rows.append(control.RiskLimit(account=account, check=check))
            for name, value in params.items():
                if type(value) not in (int, float, Decimal, bool, str):
                    raise ValueError(f"risk check {check}: parameter {name}: unsupported value {value!r}")
                rows.append(control.RiskLimit(account=account, check=check, param=name, value=value))
        request = control.RiskLimits(limits=tuple(rows), request_id=self._id())
        answer = control.decode_risk_limits(await self._ask(control.encode_risk_limits_set(request)))
        self._limits_reported(answer)
        return control.risk_limits_mapping(answer.limits).get(account, {})

    # --- local answers -----------------------------------------------------------------------------------------

    def _alias(self, client_order_id: str) -> str:
        """A new ClOrdID for a cancel or replace of ``client_order_id``, whose answers name the order again."""
        request_id = self.new_order_id()
        self._aliases[request_id] = client_order_id
        return request_id

    def _local_reject(self, client_order_id: str, reason: str) -> ExecutionReport:
        known = self._orders.get(client_order_id)
        now = time.time_ns()
        return ExecutionReport(
            exec_id=f"{client_order_id}-rejected", order_id="", client_order_id=client_order_id,
            account=known.account if known else "", instrument=known.symbol if known else "",
            side=known.side if known else Side.BUY, order_type=known.order_type if known else OrderType.LIMIT,
            exec_type=ExecType.REJECTED, ord_status=OrdStatus.REJECTED, quantity=0, price=None, cum_qty=0,
            leaves_qty=0, ts_ns=now, reason=reason,
        )  # fmt: skip

    def _refuse(self, client_order_id: str, reason: str, *, is_replace: bool) -> None:
        known = self._orders.get(client_order_id)
        self._dispatch(
            CancelReject(
                client_order_id=client_order_id, order_id="", account=known.account if known else "",
                ts_ns=time.time_ns(), reason=reason, is_replace=is_replace,
            )
        )  # fmt: skip


_REQUEST_ID_TAG = {
    "x": 320,
    TRADING_SESSION_STATUS_REQUEST: 335,
    "q": 11,
    control.STRATEGY_LIST_REQUEST: control.CONTROL_REQ_ID,
    control.STRATEGY_START: control.CONTROL_REQ_ID,
    control.STRATEGY_STOP: control.CONTROL_REQ_ID,
    control.RISK_LIMITS_REQUEST: control.CONTROL_REQ_ID,
    control.RISK_LIMITS_SET: control.CONTROL_REQ_ID,
}


def _trading_day(status: FixMessage) -> TradingDay:
    """The trading day of an h; raises ``ValueError`` (which the message handler logs) when it names none."""
    day, rolls_at = decode_trading_session_status(status)
    return TradingDay(day=day, rolls_at_ns=rolls_at)


def _time(report: ExecutionReport) -> Nanos:
    return report.ts_ns


def _now(ts_ns: Nanos) -> Nanos:
    return ts_ns or time.time_ns()


def _prices(book: BookUpdate, side: int) -> set[int]:
    return {int(price) for row_side, price, _ in book.deltas.tolist() if row_side == side}


def _frozen(rows: Sequence[tuple[int, int, Quantity]]) -> np.ndarray[Any, np.dtype[np.int64]]:
    deltas = np.array(rows, dtype=np.int64).reshape(-1, 3)
    deltas.flags.writeable = False
    return deltas


def _base36(value: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    text = ""
    while True:
        value, digit = divmod(value, 36)
        text = digits[digit] + text
        if value == 0:
            return text
