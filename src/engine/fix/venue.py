"""The FIX venue: routes the engine's orders to an external FIX 4.4 acceptor (another engine's server, a broker).

Each engine order becomes a NewOrderSingle (D) under a ClOrdID of the venue's own (the engine's order id, ``~``,
a prefix fixed when the venue starts, from the time of day, and a counter); a cancel is an OrderCancelRequest (F)
and a replace an OrderCancelReplaceRequest (G), each under a new ClOrdID naming the order by its first one
(OrigClOrdID). After an engine restart the venue adopts the orders still working (:meth:`FixVenue.adopt`). The
acceptor's ExecutionReports (8) and OrderCancelRejects (9) become the engine's reports and cancel rejects (exec ids
``FIX-<the acceptor's ExecID>``, so a report resent after a reconnection is the same report, which the engine's
journal drops; a trade cancel, 150=H, names the busted fill by the exec id it was passed on with); a request the
acceptor refuses with a BusinessMessageReject (j) becomes a reject too. Pending reports (PendingNew,
PendingCancel, PendingReplace) and order status reports are not passed on: the engine keeps its own pending
states.

Market data: the venue subscribes (V) to the book and trades of its instruments and forwards them to the engine:
each snapshot (W) as one book update that sets every level (and removes those gone since the last one), each
incremental refresh (X) as book updates and trades.

The venue logs on when started and again whenever the connection is lost (after ``reconnect_s``); requests
made while it is not logged on wait and go out at the next Logon. With ``store_url`` the sequence numbers and
sent messages are kept in that database (a restarted venue resumes the session, and the acceptor resends what was
missed); without it they are kept in memory and every Logon resets them (``ResetSeqNumFlag``).

Settings (``VenueSetup.settings``, the ``[venue]`` table of the engine configuration; in code each may also be
written with a ``fix_`` prefix):

======================  ==========================================================================
``port``                the acceptor's port (required)
``sender_comp_id``      the venue's CompID (required)
``password_env``        the environment variable holding the Logon's Password (required; code may
                        give ``password`` itself, the configuration file may not)
``host``                the acceptor's host (127.0.0.1)
``target_comp_id``      the acceptor's CompID (``ENGINE``)
``username``            the Logon's Username (the sender CompID)
``account``             Account (1) of every order (default: the engine order's own account)
``symbols``             the instruments traded there (default: every instrument of the engine)
``market_data``         subscribe to the acceptor's market data (true)
``heartbeat_s``         HeartBtInt (30)
``reconnect_s``         wait before logging on again after a lost connection (1.0)
``timeout_s``           bound of the connection and the Logon (10.0)
``store_url``           SQLAlchemy URL of the session store (none: in memory, reset on every Logon)
``reset_on_logon``      reset the sequence numbers on every Logon even with a store (false)
``tls_ca``              connect with TLS, trusting this CA file (PEM); ``tls``: TLS with the
                        system's authorities
======================  ==========================================================================
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

import numpy as np
import numpy.typing as npt
from sqlalchemy import create_engine

from core.clock import Scheduler
from core.commands import CancelOrder, ReplaceOrder, SubmitOrder
from core.contracts import SettingError, Venue, VenueListener, VenueSetup, VenueSpec
from core.enums import ExecType, OrdStatus
from core.events import ASK, BID, CancelReject, ExecutionReport
from core.hookspecs import hookimpl
from core.instruments import Instrument
from core.numbers import NANOS_PER_MILLI, Price, Quantity
from core.orders import TERMINAL, Order, report_for
from core.settings import SettingsReader
from engine.fix import app_codec as fix
from engine.fix.engine_app import server_dictionary
from engine.fix.initiator import FixInitiator, InitiatorConfig, LogonError, client_ssl_context
from engine.fix.message import FixMessage
from engine.fix.session import SessionError
from engine.fix.store import MemoryStore, SessionStore, SqlSessionStore, session_key

log = logging.getLogger(__name__)

_ORDER_ID_END = "~"
"""Ends the engine's order id at the start of each ClOrdID the venue sends for that order."""
_NOT_RECONCILED = "not yet reconciled with the FIX venue after the restart (its status is on its way)"
_PASSED_ON = frozenset(
    {
        ExecType.NEW,
        ExecType.TRADE,
        ExecType.TRADE_CANCEL,
        ExecType.CANCELED,
        ExecType.REPLACED,
        ExecType.REJECTED,
        ExecType.EXPIRED,
    }
)
_BASE36 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


@dataclass(frozen=True, slots=True, kw_only=True)
class FixVenueSettings:
    """Where and as whom the venue logs on (see the module docstring for each setting)."""

    port: int
    sender_comp_id: str
    password: str = dataclasses.field(repr=False)
    host: str = "127.0.0.1"
    target_comp_id: str = "ENGINE"
    username: str | None = None
    account: str | None = None
    symbols: tuple[str, ...] | None = None
    market_data: bool = True
    heartbeat_s: int = 30
    reconnect_s: float = 1.0
    timeout_s: float = 10.0
    store_url: str | None = None
    reset_on_logon: bool = False
    tls_ca: str | None = None
    tls: bool = False

    @classmethod
    def from_mapping(cls, settings: Mapping[str, Any]) -> FixVenueSettings:
        """The FIX venue's settings in ``settings``, each written with or without its ``fix_`` prefix. Raises
        :class:`SettingError` naming a missing, unknown or unusable one."""
        read = SettingsReader(settings, _SETTINGS, owner="the FIX venue", prefix="fix_")
        comp_id = "a CompID"
        return cls(
            port=read.integer("port", minimum=1, maximum=65535, what="a TCP port"),
            sender_comp_id=read.text("sender_comp_id", what=comp_id),
            password=read.secret("password", os.environ),
            host=read.text("host", "127.0.0.1", what="a host name or address"),
            target_comp_id=read.text("target_comp_id", "ENGINE", what=comp_id),
            username=read.text("username", None, what="a user name"),
            account=read.text("account", None, what="an account name"),
            symbols=read.texts("symbols", None, what="an array of symbols"),
            market_data=read.boolean("market_data", True),
            heartbeat_s=read.integer("heartbeat_s", 30, minimum=1, what="a heartbeat interval in seconds"),
            reconnect_s=read.number("reconnect_s", 1.0, minimum=0.001, what="seconds"),
            timeout_s=read.number("timeout_s", 10.0, minimum=0.001, what="seconds"),
            store_url=read.text("store_url", None, what="an SQLAlchemy database URL"),
            reset_on_logon=read.boolean("reset_on_logon", False),
            tls_ca=read.text("tls_ca", None, what="the path of a CA file (PEM)"),
            tls=read.boolean("tls", False),
        )


_SETTINGS = (
    "host", "port", "sender_comp_id", "target_comp_id", "username", "password", "password_env", "account",
    "symbols", "market_data", "heartbeat_s", "reconnect_s", "timeout_s", "store_url", "reset_on_logon", "tls_ca",
    "tls",
)  # fmt: skip
"""The settings the venue reads (each may be written with a ``fix_`` prefix)."""


@dataclass(slots=True, kw_only=True)
class _Tracked:
    """One engine order at the acceptor."""

    order: Order
    cl_ord_id: str
    """The ClOrdID the order was sent under (its OrigClOrdID in every later request); empty for an order adopted
    after a restart until the acceptor's status report names it."""
    seen: set[str] = dataclasses.field(default_factory=set)
    """ExecIDs of the acceptor's reports already passed on (a resent one is not passed on again)."""


class FixVenue(Venue):
    """A :class:`core.contracts.Venue` that trades at a FIX 4.4 acceptor (see the module docstring)."""

    name = "fix"

    def __init__(self, setup: VenueSetup) -> None:
        self.settings = FixVenueSettings.from_mapping(setup.settings)
        symbols = self.settings.symbols or tuple(setup.instruments)
        unknown = [symbol for symbol in symbols if symbol not in setup.instruments]
        if unknown:
            key = "fix_symbols" if "fix_symbols" in setup.settings else "symbols"
            raise SettingError(key, f"expected instruments of the engine, found {', '.join(unknown)}")
        self._instruments: dict[str, Instrument] = {symbol: setup.instruments[symbol] for symbol in symbols}
        self._prefix = ""
        self._ids = itertools.count(1)
        self._by_cl_ord_id: dict[str, _Tracked] = {}
        self._by_order: dict[str, _Tracked] = {}
        self._adopted: set[str] = set()
        """Orders adopted after a restart that no status report has confirmed yet."""
        self._status_request = ""
        """The MassStatusReqID (584) of the status request sent at the last Logon."""
        self._sent_as: dict[str, str] = {}
        self._outbox: list[FixMessage] = []
        self._books = fix.L2Books()
        self._listener: VenueListener | None = None
        self._scheduler: Scheduler | None = None
        self._fix: FixInitiator | None = None
        self._store: SessionStore | None = None
        self._runner: asyncio.Task[None] | None = None
        self._closing: asyncio.Task[None] | None = None
        self._logged_on: asyncio.Event | None = None
        self.last_error = ""
        """Why the last Logon failed or the last connection ended."""

    # --- Venue contract --------------------------------------------------------------------------------------

    def instruments(self) -> Sequence[Instrument]:
        return list(self._instruments.values())

    def start(self, listener: VenueListener, scheduler: Scheduler) -> None:
        """Log on from the running asyncio loop (and again whenever the connection is lost)."""
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            raise RuntimeError("the FIX venue runs on an asyncio loop: start it from a running loop") from None
        self._listener = listener
        self._scheduler = scheduler
        self._prefix = _prefix(scheduler.now_ns())
        settings = self.settings
        config = InitiatorConfig(
            sender_comp_id=settings.sender_comp_id, target_comp_id=settings.target_comp_id,
            username=settings.username or settings.sender_comp_id, password=settings.password,
            heartbeat_s=settings.heartbeat_s, reset_on_logon=settings.reset_on_logon or settings.store_url is None,
            sending_time_tolerance_s=None,
        )  # fmt: skip
        if settings.store_url is None:
            self._store = MemoryStore()
        else:
            key = session_key(settings.sender_comp_id, settings.target_comp_id)
            self._store = SqlSessionStore(create_engine(settings.store_url), key)
        self._fix = FixInitiator(
            config, self._store, on_message=self._on_message, on_disconnect=self._on_disconnect,
            dictionary=server_dictionary(),
        )  # fmt: skip
        self._logged_on = asyncio.Event()
        self._runner = asyncio.get_running_loop().create_task(self._run())

    def stop(self) -> None:
        """Log out and stop reconnecting; :meth:`wait_stopped` awaits the end of it."""
        self._listener = None
        if self._runner is not None:
            self._runner.cancel()
        if self._fix is not None and self._closing is None:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:  # the loop is gone, and the connection with it
                return
            self._closing = loop.create_task(self._fix.logout("venue stopped"))

    def adopt(self, orders: Sequence[Order]) -> Sequence[Order]:
        """Takes over the working orders of the engine's previous process (those of instruments traded here).

        ClOrdIDs start with the engine's order id, so the acceptor's reports name them across restarts: at the
        Logon the venue asks for every order's status (OrderMassStatusRequest), passes on the fills and changes
        made while the engine was down, and expires an adopted order the acceptor does not report. A cancel or
        replace of an adopted order is refused until its status arrives.
        """
        adopted = [order for order in orders if order.instrument in self._instruments]
        for order in adopted:
            self._by_order[order.order_id] = _Tracked(order=order, cl_ord_id="")
            self._adopted.add(order.order_id)
        return adopted

    def submit(self, order: Order) -> None:
        if order.instrument not in self._instruments:
            self._later(lambda: self._reject(order, f"{order.instrument} is not traded on the FIX venue"))
            return
        tracked = _Tracked(order=order, cl_ord_id=self._next_id(order.order_id))
        self._by_cl_ord_id[tracked.cl_ord_id] = tracked
        self._by_order[order.order_id] = tracked
        self._sent_as[order.order_id] = tracked.cl_ord_id
        request = SubmitOrder(
            client_order_id=tracked.cl_ord_id, account=self.settings.account or order.account,
            instrument=order.instrument, side=order.side, quantity=order.quantity, order_type=order.order_type,
            price=order.price, time_in_force=order.time_in_force, ts_ns=self._now(),
        )  # fmt: skip
        self._send(fix.encode_new_order(request, self._instruments[order.instrument]))

    def cancel(self, order: Order) -> None:
        tracked = self._changeable(order, is_replace=False)
        if tracked is None:
            return
        request_id = self._alias(tracked)
        command = CancelOrder(
            client_order_id=tracked.cl_ord_id, account=self.settings.account or order.account, ts_ns=self._now()
        )
        self._send(
            fix.encode_cancel(
                command, cl_ord_id=request_id, symbol=order.instrument, side=order.side, quantity=order.quantity
            )
        )

    def replace(self, order: Order, quantity: Quantity, price: Price | None) -> None:
        tracked = self._changeable(order, is_replace=True)
        if tracked is None:
            return
        request_id = self._alias(tracked)
        command = ReplaceOrder(
            client_order_id=tracked.cl_ord_id, account=self.settings.account or order.account, quantity=quantity,
            price=price, ts_ns=self._now(),
        )  # fmt: skip
        instrument = self._instruments[order.instrument]
        self._send(
            fix.encode_replace(command, instrument, cl_ord_id=request_id, side=order.side, order_type=order.order_type)
        )

    def _changeable(self, order: Order, *, is_replace: bool) -> _Tracked | None:
        """The order's tracking when a cancel or replace can be sent for it; else None, the refusal on its way."""
        tracked = self._by_order.get(order.order_id)
        if tracked is not None and tracked.cl_ord_id:
            return tracked
        reason = "unknown order" if tracked is None else _NOT_RECONCILED
        self._later(lambda: self._refuse(order, reason, is_replace=is_replace))
        return None

    def sent_as(self, order_id: str) -> str | None:
        """The ClOrdID the engine order ``order_id`` was sent under (None if it was not sent here)."""
        return self._sent_as.get(order_id)

    # --- connection ------------------------------------------------------------------------------------------

    @property
    def logged_on(self) -> bool:
        """True while the venue is logged on to the acceptor."""
        return self._fix is not None and self._fix.logged_on

    async def wait_logged_on(self) -> None:
        """Return once the venue is logged on (bound it with ``asyncio.wait_for``)."""
        assert self._logged_on is not None, "the FIX venue is not started"
        await self._logged_on.wait()

    async def wait_stopped(self) -> None:
        """Return once :meth:`stop` has logged out and closed the connection."""
        if self._runner is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._runner
        if self._closing is not None:
            await self._closing
        if isinstance(self._store, SqlSessionStore):
            self._store.close()

    async def drop_connection(self, reason: str = "connection dropped") -> None:
        """Drops the connection without a Logout, as a network failure would (the venue logs on again)."""
        if self._fix is not None:
            await self._fix.abort(reason)

    async def _run(self) -> None:
        fix_session, logged_on = self._fix, self._logged_on
        assert fix_session is not None
        assert logged_on is not None
        settings = self.settings
        context = client_ssl_context(settings.tls_ca) if settings.tls_ca or settings.tls else None
        while True:
            try:
                await fix_session.connect(
                    settings.host, settings.port, ssl_context=context, timeout_s=settings.timeout_s
                )
            except (LogonError, OSError, TimeoutError) as error:
                self.last_error = str(error)
                log.warning("FIX venue: logon to %s:%d failed: %s", settings.host, settings.port, error)
                await asyncio.sleep(settings.reconnect_s)
                continue
            self._on_logon()
            logged_on.set()
            self.last_error = await fix_session.wait_closed()
            logged_on.clear()
            await asyncio.sleep(settings.reconnect_s)

    def _on_logon(self) -> None:
        assert self._fix is not None
        outbox, self._outbox = self._outbox, []
        for message in outbox:
            self._fix.send(message)
        if self.settings.market_data and self._instruments:
            request = fix.MarketDataRequest(
                request_id=self._next_id(), subscription=fix.SubscriptionType.SUBSCRIBE,
                symbols=tuple(self._instruments),
            )  # fmt: skip
            self._fix.send(fix.encode_market_data_request(request), resendable=False)
        if self._by_order:
            # What happened to the working orders while the venue was away: fills, then each order's status.
            self._status_request = self._next_id()
            fields: list[tuple[int, str | int]] = [(584, self._status_request), (585, 7)]
            if self.settings.account:
                fields.append((1, self.settings.account))
            self._fix.send(FixMessage.build("AF", fields), resendable=False)

    def _on_disconnect(self, reason: str) -> None:
        log.warning("FIX venue: connection ended: %s", reason)

    def _send(self, message: FixMessage) -> None:
        fix_session = self._fix
        if fix_session is not None and fix_session.logged_on:
            try:
                fix_session.send(message)
                return
            except SessionError:
                pass
        self._outbox.append(message)

    # --- the acceptor's messages ---------------------------------------------------------------------------------

    def _on_message(self, message: FixMessage) -> None:
        """Every application message from the acceptor; never raises (the session would log out)."""
        try:
            kind = message.msg_type
            if kind == "8":
                self._on_execution_report(message)
            elif kind == "9":
                self._on_cancel_reject(message)
            elif kind == "j":
                self._on_business_reject(message)
            elif kind == "W":
                self._on_snapshot(message)
            elif kind == "X":
                self._on_incremental(message)
            elif kind == "Y":
                self.last_error = f"market data refused: {fix.decode_market_data_reject(message).text}"
                log.error("FIX venue: %s", self.last_error)
        except fix.FixAppError as error:
            log.warning("FIX venue: could not read a %s message: %s", message.msg_type, error)
        except Exception:
            log.exception("FIX venue: failed on a %s message", message.msg_type)

    def _on_execution_report(self, message: FixMessage) -> None:
        last_status = message.get(912) == b"Y" and message.get_str(584) == self._status_request
        if message.get(37) != b"NONE":  # "no orders" answers a status request, and names none
            self._on_order_report(fix.decode_execution_report(message, self._instruments))
        if last_status:
            self._expire_unconfirmed()

    def _on_order_report(self, report: ExecutionReport) -> None:
        tracked = self._by_cl_ord_id.get(report.client_order_id)
        if tracked is None:
            # An order adopted after a restart: its ClOrdIDs begin with the engine's order id.
            tracked = self._by_order.get(report.client_order_id.partition(_ORDER_ID_END)[0])
            if tracked is None:
                return
        if report.exec_type is ExecType.ORDER_STATUS:
            if not tracked.cl_ord_id:
                tracked.cl_ord_id = report.client_order_id
                self._by_cl_ord_id[tracked.cl_ord_id] = tracked
                self._sent_as[tracked.order.order_id] = tracked.cl_ord_id
                self._adopted.discard(tracked.order.order_id)
            self._reconcile(tracked, report)
        elif report.exec_type in _PASSED_ON:
            self._pass_on(tracked, report, report.exec_type, report.ord_status)

    def _expire_unconfirmed(self) -> None:
        """The status request is answered: an adopted order it did not name is not working at the acceptor."""
        for order_id in sorted(self._adopted):
            tracked = self._by_order.pop(order_id, None)
            if tracked is not None and not tracked.order.is_terminal:
                self._report_here(
                    tracked.order, ExecType.EXPIRED, OrdStatus.EXPIRED, "not working at the FIX venue after the restart"
                )
        self._adopted.clear()

    def _pass_on(self, tracked: _Tracked, report: ExecutionReport, exec_type: ExecType, status: OrdStatus) -> None:
        """Reports the acceptor's ``report`` of ``tracked`` to the engine, once per ExecID."""
        listener, scheduler = self._listener, self._scheduler
        if listener is None or scheduler is None or report.exec_id in tracked.seen:
            return
        tracked.seen.add(report.exec_id)
        if exec_type is ExecType.REPLACED and status in (OrdStatus.NEW, OrdStatus.REPLACED):
            status = OrdStatus.PARTIALLY_FILLED if report.cum_qty else OrdStatus.REPLACED
        if status in TERMINAL:
            self._finish(tracked)
        passed = report_for(
            tracked.order, exec_id=f"FIX-{report.exec_id}", exec_type=exec_type, ord_status=status,
            ts_ns=scheduler.now_ns(), quantity=report.quantity, price=report.price, cum_qty=report.cum_qty,
            last_qty=report.last_qty, last_price=report.last_price, fee=report.fee, liquidity=report.liquidity,
            reason=report.reason, venue=self.name,
        )  # fmt: skip
        if exec_type is ExecType.TRADE_CANCEL:  # the busted fill, by the exec id it was passed on with
            passed = dataclasses.replace(passed, ref_exec_id=f"FIX-{report.ref_exec_id}")
        listener.on_execution(passed)

    def _reconcile(self, tracked: _Tracked, status: ExecutionReport) -> None:
        """An order status report (after a Logon): reports what the engine missed about a working order (fills
        come before it, as their own resent reports)."""
        order = tracked.order
        if order.is_terminal or tracked.order.order_id not in self._by_order:
            return
        if status.ord_status in (OrdStatus.CANCELED, OrdStatus.EXPIRED, OrdStatus.REJECTED):
            exec_type = ExecType(status.ord_status.value)
            self._pass_on(tracked, status, exec_type, status.ord_status)
        elif (status.quantity, status.price) != (order.quantity, order.price) and status.cum_qty == order.cum_qty:
            self._pass_on(tracked, status, ExecType.REPLACED, OrdStatus.REPLACED)

    def _on_cancel_reject(self, message: FixMessage) -> None:
        reject = fix.decode_cancel_reject(message)
        tracked = self._by_cl_ord_id.get(message.get_str(11)) or self._by_cl_ord_id.get(reject.client_order_id)
        if tracked is not None:
            self._refuse(
                tracked.order, reject.reason or "refused by the FIX counterparty", is_replace=reject.is_replace
            )

    def _on_business_reject(self, message: FixMessage) -> None:
        reject = fix.decode_business_reject(message)
        tracked = self._by_cl_ord_id.get(reject.ref_id or "")
        reason = reject.text or f"refused by the FIX counterparty ({reject.reason.name.lower()})"
        if tracked is None:
            log.warning("FIX venue: the counterparty refused a %s message: %s", reject.ref_msg_type, reason)
        elif reject.ref_msg_type == "D":
            self._finish(tracked)
            self._reject(tracked.order, reason)
        elif reject.ref_msg_type in ("F", "G"):
            self._refuse(tracked.order, reason, is_replace=reject.ref_msg_type == "G")

    def _on_snapshot(self, message: FixMessage) -> None:
        symbol = message.get_str(55)
        bids, asks = self._books.levels(symbol)
        book = fix.decode_market_data_snapshot(message, self._instruments, self._books).book
        now_bids = {price for side, price, _ in book.deltas.tolist() if side == BID}
        now_asks = {price for side, price, _ in book.deltas.tolist() if side == ASK}
        rows = [(BID, price, 0) for price in bids if price not in now_bids]
        rows += [(ASK, price, 0) for price in asks if price not in now_asks]
        rows += [(int(side), int(price), int(quantity)) for side, price, quantity in book.deltas.tolist()]
        if rows:
            self._publish(dataclasses.replace(book, deltas=_frozen(rows)))

    def _on_incremental(self, message: FixMessage) -> None:
        for event in fix.decode_market_data_incremental(message, self._instruments, self._books):
            self._publish(event)

    def _publish(self, event: Any) -> None:
        listener = self._listener
        if listener is not None and listener.wants(type(event)):
            listener.on_market_data(event)

    # --- reports made here ----------------------------------------------------------------------------------------

    def _finish(self, tracked: _Tracked) -> None:
        self._by_order.pop(tracked.order.order_id, None)

    def _reject(self, order: Order, reason: str) -> None:
        self._report_here(order, ExecType.REJECTED, OrdStatus.REJECTED, reason)

    def _report_here(self, order: Order, exec_type: ExecType, status: OrdStatus, reason: str) -> None:
        """A report the venue makes itself (not the acceptor's)."""
        listener, scheduler = self._listener, self._scheduler
        if listener is None or scheduler is None:
            return
        listener.on_execution(
            report_for(
                order, exec_id=f"FIX-LOCAL-{self._prefix}-{next(self._ids)}", exec_type=exec_type,
                ord_status=status, ts_ns=scheduler.now_ns(), reason=reason, venue=self.name,
            )
        )  # fmt: skip

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

    def _later(self, action: Any) -> None:
        """Run ``action`` after the current call: a venue never reports from inside a request."""
        assert self._scheduler is not None, "the FIX venue is not started"
        self._scheduler.call_later(0, action)

    def _next_id(self, order_id: str = "") -> str:
        """A fresh id; for an order's requests, one that begins with the engine's order id (see :meth:`adopt`)."""
        if order_id:
            return f"{order_id}{_ORDER_ID_END}{self._prefix}-{next(self._ids)}"
        return f"{self._prefix}-{next(self._ids)}"

    def _alias(self, tracked: _Tracked) -> str:
        request_id = self._next_id(tracked.order.order_id)
        self._by_cl_ord_id[request_id] = tracked
        return request_id

    def _now(self) -> int:
        return self._scheduler.now_ns() if self._scheduler is not None else 0


def _prefix(now_ns: int) -> str:
    """``V`` and six base-36 characters of the millisecond of the day: ClOrdIDs of two venue starts differ."""
    milli = (now_ns // NANOS_PER_MILLI) % 86_400_000
    digits = ""
    for _ in range(6):
        milli, digit = divmod(milli, 36)
        digits = _BASE36[digit] + digits
    return "V" + digits


def _frozen(rows: list[tuple[int, int, int]]) -> npt.NDArray[np.int64]:
    deltas = np.array(rows, dtype=np.int64).reshape(-1, 3)
    deltas.flags.writeable = False
    return deltas


@hookimpl
def register_venues() -> Sequence[VenueSpec]:
    """The FIX venue: orders to a FIX 4.4 acceptor (another engine's server, a broker)."""
    return [
        VenueSpec(
            name="fix",
            factory=FixVenue,
            description="FIX 4.4 to an acceptor, e.g. another engine's server (settings: port, sender_comp_id, "
            "password_env)",
        )
    ]
