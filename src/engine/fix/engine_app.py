"""The engine behind the FIX server: each session's application messages into the engine, the engine's events out
to every session allowed to see them.

:class:`EngineApp` is one per server. It subscribes once to the engine's bus and fans events out to the
logged-on sessions; :meth:`EngineApp.bridge` gives each connection its :class:`ClientBridge`, the
:class:`~engine.fix.session.Application` of that session.

Order ids. FIX ClOrdIDs are per session, the engine's client order ids per engine: an order a user sends with
ClOrdID ``X`` is ``"<user>:X"`` in the engine. The owner's sessions see ``X``; other sessions see ``"<user>:X"``
(and may cancel it under that id when they may trade its account); strategy orders keep the engine's id. A cancel
or replace is answered with the request's ClOrdID (11) and OrigClOrdID (41); the order keeps its first ClOrdID
on every unsolicited report. A replace's ClOrdID becomes another name of the order for later requests.

Market data. Book updates and trades seen in one turn of the event loop go out as one incremental refresh per
symbol, encoded once for every subscriber. A session whose transport is congested (:meth:`ClientBridge.set_congested`)
has its market data conflated: the latest quantity of each changed level is kept and sent as one incremental
refresh when the transport drains (trades in between are dropped). Order and execution messages are never
conflated or dropped.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from typing import Any, NamedTuple

import numpy as np

from core.commands import CancelAll, CancelOrder, KillSwitch, ReplaceOrder, SubmitOrder
from core.enums import FILL_EXEC_TYPES, ExecType, OrdStatus, TimeInForce
from core.events import (
    ASK,
    BID,
    BookUpdate,
    CancelReject,
    ExecutionReport,
    PositionUpdate,
    RiskEvent,
    RiskEventKind,
    TradeTick,
)
from core.numbers import Nanos
from core.orders import TERMINAL, Order, fill_cost, report_for
from engine.client.protocol import StrategyInfo, StrategyState
from engine.client.risk_limits import apply_risk_limits
from engine.fix import control
from engine.fix.app_codec import (
    BusinessRejectReason,
    CxlRejReason,
    FieldReader,
    FixAppError,
    L2Books,
    MarketDataRequest,
    MassCancelRejectReason,
    MassCancelReport,
    MDEntryType,
    MDReqRejReason,
    OrdRejReason,
    PosReqResult,
    RejectAs,
    SecurityList,
    SecurityRequestResult,
    SubscriptionType,
    decode_cancel,
    decode_market_data_request,
    decode_mass_cancel,
    decode_new_order,
    decode_order_status_request,
    decode_position_request,
    decode_replace,
    decode_security_list_request,
    encode_app_reject,
    encode_cancel_reject,
    encode_execution_report,
    encode_market_data_incremental,
    encode_market_data_snapshot,
    encode_mass_cancel_report,
    encode_no_positions,
    encode_position_report,
    encode_security_list,
    shown,
    text_value,
    unsupported,
)
from engine.fix.dictionary import FixDictionary, fix44
from engine.fix.message import FixMessage
from engine.fix.session import Session
from engine.fix.sessions_config import Permissions
from engine.fix.trading_session import (
    TRADING_SESSION_STATUS_REQUEST,
    decode_trading_session_status_request,
    encode_trading_session_status,
)
from engine.risk.engine import RiskConfigError
from engine.runtime import LiveRuntime

log = logging.getLogger(__name__)

# --- the kill switch: a control message pair beyond engine.fix.control -----------------------------------------

KILL_SWITCH_REQUEST = "UI"
"""KillSwitchRequest, client -> engine: engage or release the kill switch; answered by UJ, or j."""
KILL_SWITCH_STATUS = "UJ"
"""KillSwitchStatus, engine -> client: the kill switch after the request."""
KILL_SWITCH_ENGAGED = 5160
"""BOOLEAN: Y engage (block new orders, cancel working ones), N release."""


def dictionary_extension() -> dict[str, Any]:
    """The server's additions beyond :func:`engine.fix.control.dictionary_extension` (the kill switch messages),
    in the same JSON-ready layout."""
    items = [["field", control.CONTROL_REQ_ID, True], ["field", KILL_SWITCH_ENGAGED, True]]
    items += [["field", 1, False], ["field", 58, False]]
    reply = [["field", control.CONTROL_REQ_ID, False], *items[1:]]
    return {
        "fields": {str(KILL_SWITCH_ENGAGED): {"name": "KillSwitchEngaged", "type": "BOOLEAN"}},
        "messages": {
            KILL_SWITCH_REQUEST: {"name": "KillSwitchRequest", "category": "app", "items": items},
            KILL_SWITCH_STATUS: {"name": "KillSwitchStatus", "category": "app", "items": reply},
        },
    }


@cache
def server_dictionary() -> FixDictionary:
    """FIX 4.4 with the engine's control messages and user-defined fields, and the kill switch messages."""
    return control.extend_dictionary(control.extend_dictionary(fix44()), dictionary_extension())


# --- OrderMassStatusRequest (AF) ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class MassStatusRequest:
    """An OrderMassStatusRequest (AF): every order (585=7), or those of one Symbol (585=1), optionally of one
    Account (1)."""

    request_id: str
    symbol: str | None = None
    account: str | None = None


def decode_mass_status_request(message: FixMessage) -> MassStatusRequest:
    """The :class:`MassStatusRequest` of an AF message; a MassStatusReqType (585) other than 7 or 1 is refused
    with a BusinessMessageReject."""
    r = FieldReader(message)
    request_id = r.text(584)
    r.ref_id = request_id
    kind = r.raw(585)
    if kind not in (b"1", b"7"):
        raise r.error(585, f"MassStatusReqType (585) {shown(kind)} is not supported: use 7 (all orders) or 1 (symbol)")
    return MassStatusRequest(
        request_id=request_id, symbol=r.text(55) if kind == b"1" else None, account=r.optional_text(1)
    )


# --- helpers ------------------------------------------------------------------------------------------------

# Read on every execution report: an enum class attribute costs a slow lookup in Python 3.11.
_CANCELED, _EXEC_REPLACED, _EXEC_REJECTED = ExecType.CANCELED, ExecType.REPLACED, ExecType.REJECTED
_STATUS_REPLACED, _OTHER_REASON = OrdStatus.REPLACED, OrdRejReason.OTHER

_ALL_ENTRY_TYPES = frozenset(MDEntryType)


def engine_order_id(user: str, cl_ord_id: str) -> str:
    """The engine's client order id of a user's ClOrdID: ``"<user>:<ClOrdID>"``."""
    return f"{user}:{cl_ord_id}"


def _owner(report_client_id: str, strategy_id: str | None) -> str | None:
    """The user who sent an order, from its engine client order id (None for strategy and other orders)."""
    if strategy_id is not None:
        return None
    user, colon, _ = report_client_id.partition(":")
    return user if colon else None


def fix44_status(status: OrdStatus, cum_qty: int) -> OrdStatus:
    """The OrdStatus (39) FIX 4.4 can carry: it has no Replaced (5); a replaced order is New or PartiallyFilled."""
    if status is OrdStatus.REPLACED:
        return OrdStatus.PARTIALLY_FILLED if cum_qty else OrdStatus.NEW
    return status


def _fix44(message: FixMessage, cum_qty: int) -> FixMessage:
    """``message`` with OrdStatus (39) Replaced written as FIX 4.4 has it (see :func:`fix44_status`)."""
    if message.get(39) != b"5":
        return message
    value = fix44_status(OrdStatus.REPLACED, cum_qty).value.encode()
    return FixMessage([(tag, value if tag == 39 else raw) for tag, raw in message.fields])


def _possible_resend(message: FixMessage) -> bool:
    return message.get(97) == b"Y" or message.get(43) == b"Y"


def _with_fields(
    message: FixMessage, before: Sequence[tuple[int, bytes]], after: Sequence[tuple[int, bytes]]
) -> FixMessage:
    """``message`` with ``before`` right after MsgType and ``after`` at the end."""
    return FixMessage([message.fields[0], *before, *message.fields[1:], *after])


class _Answer(NamedTuple):
    """A cancel or replace waiting for the engine's answer: who asked, under which ClOrdID, about which."""

    user: str
    cl_ord_id: str
    orig_cl_ord_id: str
    is_replace: bool


@dataclass(slots=True)
class _MdSubscription:
    request_id: bytes
    symbols: tuple[str, ...]
    entry_types: frozenset[MDEntryType]

    @property
    def everything(self) -> bool:
        return self.entry_types == _ALL_ENTRY_TYPES


@dataclass(slots=True)
class _Conflated:
    """One symbol's book changes held back for a congested session: latest quantity per (side, price)."""

    levels: dict[tuple[int, int], int] = field(default_factory=dict)
    sequence: int = 0
    ts_ns: Nanos = 0
    trades_dropped: int = 0


# --- one session ----------------------------------------------------------------------------------------------


class ClientBridge:
    """The :class:`~engine.fix.session.Application` of one session: its permissions, its market data
    subscriptions, its conflated market data and the bulk answers waiting for the transport to drain."""

    def __init__(self, app: EngineApp, permissions: Permissions) -> None:
        self.app = app
        self.permissions = permissions
        self.session: Session | None = None
        self.key = ""
        """The session key, once logged on."""
        self.md: dict[bytes, _MdSubscription] = {}
        self.position_subscriptions: dict[str, frozenset[str]] = {}
        self.conflated_updates = 0
        """Book updates and trades held back (conflated) so far."""
        self._congested = False
        self._conflated: dict[str, _Conflated] = {}
        self._bulk: deque[Iterator[FixMessage]] = deque()

    @property
    def user(self) -> str:
        """The user the session runs for."""
        return self.permissions.user

    @property
    def congested(self) -> bool:
        """Whether the transport is above its high-water mark (market data is then conflated)."""
        return self._congested

    # --- Application ------------------------------------------------------------------------------------------

    def on_logon(self, session: Session) -> None:
        """Starts delivering the engine's events to the session."""
        self.session = session
        self.key = session.key or ""
        self.app._attach(self)

    def on_logout(self, session: Session, reason: str, graceful: bool) -> None:
        """Stops the delivery (order and execution messages are still stored for the next logon unless the
        sequence numbers are reset); without a Logout handshake, cancels the working day orders if set to."""
        self.app._detach(self)
        self._bulk.clear()
        self._conflated.clear()
        config = session.config
        if not (config.reset_on_disconnect or (config.reset_on_logout and graceful)):
            self.app._keep_offline(self)
        if not graceful and self.permissions.cancel_on_disconnect and not self.permissions.read_only:
            self.app._cancel_on_disconnect(self, reason)

    def on_app_message(self, session: Session, message: FixMessage) -> None:
        """Handles one application message (answering every refusal as FIX wants)."""
        self.app._handle(self, message)

    # --- output -----------------------------------------------------------------------------------------------

    def send(self, message: FixMessage, *, resendable: bool = True) -> None:
        """Sends an application message on the session (nothing once it is gone)."""
        session = self.session
        if session is not None:
            session.send_app(message, resendable=resendable)

    def set_congested(self, congested: bool) -> None:
        """The transport went above its high-water mark (True) or drained below its low-water mark (False)."""
        self._congested = congested
        if not congested:
            self._flush_conflated()
            self._pump()

    def queue_bulk(self, messages: Iterator[FixMessage]) -> None:
        """Sends ``messages`` (not resendable) as fast as the transport drains them."""
        self._bulk.append(messages)
        self._pump()

    def _pump(self) -> None:
        while self._bulk and not self._congested and self.session is not None:
            message = next(self._bulk[0], None)
            if message is None:
                self._bulk.popleft()
            else:
                self.send(message, resendable=False)

    def conflate(self, symbol: str, events: Sequence[BookUpdate | TradeTick]) -> None:
        """Holds back ``events`` of ``symbol`` for later (the latest quantity of each level)."""
        state = self._conflated.get(symbol)
        if state is None:
            state = self._conflated[symbol] = _Conflated()
        for event in events:
            self.conflated_updates += 1
            if isinstance(event, TradeTick):
                state.trades_dropped += 1
                continue
            levels = state.levels
            for side, price, quantity in event.deltas.tolist():
                levels[(side, price)] = quantity
            state.sequence = event.sequence
            state.ts_ns = event.ts_ns

    def _flush_conflated(self) -> None:
        while self._conflated and not self._congested:
            symbol, state = next(iter(self._conflated.items()))
            del self._conflated[symbol]
            if not state.levels:
                continue
            rows = [(side, price, quantity) for (side, price), quantity in state.levels.items()]
            deltas = np.array(rows, dtype=np.int64).reshape(-1, 3)
            deltas.flags.writeable = False
            update = BookUpdate(
                instrument=symbol, ts_ns=state.ts_ns, sequence=state.sequence, deltas=deltas,
                best_bid=None, best_bid_qty=0, best_ask=None, best_ask_qty=0,
            )  # fmt: skip
            body = encode_market_data_incremental([update], self.app.instruments).fields[1:]
            for subscription in self.md.values():
                if symbol in subscription.symbols:
                    self.send(_incremental(subscription, body), resendable=False)

    def __repr__(self) -> str:
        return f"ClientBridge({self.user}, {self.key or 'not logged on'})"


def _incremental(subscription: _MdSubscription, body: Sequence[tuple[int, bytes]]) -> FixMessage:
    """An X message of the shared ``body`` (268 and its entries) for one subscription (its MDReqID, its types)."""
    if not subscription.everything:
        body = _only_entry_types(body, {entry.value.encode() for entry in subscription.entry_types})
    return FixMessage([(35, b"X"), (262, subscription.request_id), *body])


def _only_entry_types(body: Sequence[tuple[int, bytes]], wanted: set[bytes]) -> list[tuple[int, bytes]]:
    entries: list[list[tuple[int, bytes]]] = []
    for tag, value in body[1:]:
        if tag == 279:
            entries.append([])
        entries[-1].append((tag, value))
    kept = [entry for entry in entries if dict(entry).get(269) in wanted]
    return [(268, b"%d" % len(kept)), *(item for entry in kept for item in entry)]


# --- the engine side ------------------------------------------------------------------------------------------


class EngineApp:
    """The engine of ``runtime`` behind every FIX session of a server. Build it on the running event loop; call
    :meth:`close` when the server stops."""

    def __init__(self, runtime: LiveRuntime) -> None:
        self.runtime = runtime
        self.engine = runtime.engine
        self.instruments = self.engine.instruments
        self.accounts: tuple[str, ...] = self.engine.risk.accounts
        self._loop = asyncio.get_running_loop()
        self._bridges: list[ClientBridge] = []
        self._kill_switch_origin: ClientBridge | None = None
        """The session whose request is engaging or releasing a kill switch: it gets the answer, not the news."""
        self._viewers_cache: dict[str, tuple[ClientBridge, ...]] = {}
        self._offline: dict[str, ClientBridge] = {}
        """Sessions gone without a reset of their sequence numbers, by session key: order and execution messages
        for them are stored under their next MsgSeqNum and resent when they log on again and ask for them."""
        self._used: set[str] = set()
        self._aliases: dict[str, str] = {}
        self._answers: dict[str, list[_Answer]] = {}
        self._origin: dict[str, str] = {}
        self._md_subscribers: dict[str, list[tuple[ClientBridge, _MdSubscription]]] = {}
        self._md_pending: dict[str, list[BookUpdate | TradeTick]] = {}
        self._md_flush_due = False
        self._books = L2Books()
        self._tracked: set[str] = set()
        self._day_subscribers: list[ClientBridge] = []
        self._ids = itertools.count(1)
        self._id_prefix = f"FIX{self.engine.scheduler.now_ns():x}"
        bus = self.engine.bus
        self._unsubscribe = [
            bus.subscribe(ExecutionReport, self._on_report),
            bus.subscribe(CancelReject, self._on_cancel_reject),
            bus.subscribe(BookUpdate, self._on_market_data),
            bus.subscribe(TradeTick, self._on_market_data),
            bus.subscribe(PositionUpdate, self._on_position),
            bus.subscribe(RiskEvent, self._on_risk_event),
        ]
        self.engine.day_listeners.append(self._on_trading_day)
        self._handlers: dict[str, Callable[[ClientBridge, FixMessage], None]] = {
            "D": self._new_order,
            "F": self._cancel,
            "G": self._replace,
            "H": self._order_status,
            "q": self._mass_cancel,
            "AF": self._mass_status,
            "V": self._market_data_request,
            "x": self._security_list,
            "AN": self._positions,
            TRADING_SESSION_STATUS_REQUEST: self._trading_session_status,
            control.STRATEGY_LIST_REQUEST: self._strategy_list,
            control.STRATEGY_START: self._strategy_start,
            control.STRATEGY_STOP: self._strategy_stop,
            control.RISK_LIMITS_REQUEST: self._risk_limits,
            control.RISK_LIMITS_SET: self._risk_limits_set,
            KILL_SWITCH_REQUEST: self._kill_switch,
        }

    def bridge(self, permissions: Permissions) -> ClientBridge:
        """A new session's application, with the session's permissions."""
        return ClientBridge(self, permissions)

    @property
    def bridges(self) -> tuple[ClientBridge, ...]:
        """The logged-on sessions' bridges."""
        return tuple(self._bridges)

    def close(self) -> None:
        """Stops listening to the engine."""
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe.clear()
        if self._on_trading_day in self.engine.day_listeners:
            self.engine.day_listeners.remove(self._on_trading_day)

    # --- sessions ---------------------------------------------------------------------------------------------

    def _attach(self, bridge: ClientBridge) -> None:
        self._bridges.append(bridge)
        self._offline.pop(bridge.key, None)
        self._viewers_cache.clear()
        # A session learns at logon of every engaged kill switch it may see; later changes follow as they happen.
        for account, reason in self.engine.risk.engaged_kill_switches().items():
            if account is None or bridge.permissions.may_use(account):
                bridge.send(_kill_switch_status(account, engaged=True, reason=reason))

    def _on_risk_event(self, event: RiskEvent) -> None:
        """Tells every other session that may see it of a kill switch engaged or released (an unsolicited UJ)."""
        if event.kind not in (RiskEventKind.KILL_SWITCH, RiskEventKind.RELEASE):
            return
        engaged = event.kind is RiskEventKind.KILL_SWITCH
        status = _kill_switch_status(event.account, engaged=engaged, reason=event.reason if engaged else None)
        for bridge in tuple(self._bridges):
            if bridge is self._kill_switch_origin:
                continue
            if event.account is None or bridge.permissions.may_use(event.account):
                bridge.send(status)

    def _keep_offline(self, bridge: ClientBridge) -> None:
        """Keeps storing order and execution messages for a session that ended with its sequence numbers kept."""
        if bridge.key:
            self._offline[bridge.key] = bridge

    def _order_viewers(self, account: str) -> tuple[ClientBridge, ...]:
        """The sessions that get ``account``'s order and execution messages: those logged on, and those gone
        whose messages are kept for their next logon."""
        viewers = self._viewers(account)
        if not self._offline:
            return viewers
        return viewers + tuple(bridge for bridge in self._offline.values() if bridge.permissions.may_use(account))

    def _detach(self, bridge: ClientBridge) -> None:
        if bridge in self._bridges:
            self._bridges.remove(bridge)
        self._viewers_cache.clear()
        for request_id in list(bridge.md):
            self._unsubscribe_md(bridge, request_id)
        bridge.position_subscriptions.clear()
        if bridge in self._day_subscribers:
            self._day_subscribers.remove(bridge)

    def _viewers(self, account: str) -> tuple[ClientBridge, ...]:
        viewers = self._viewers_cache.get(account)
        if viewers is None:
            viewers = self._viewers_cache[account] = tuple(
                bridge for bridge in self._bridges if bridge.permissions.may_use(account)
            )
        return viewers

    def _now(self) -> Nanos:
        return self.engine.scheduler.now_ns()

    def _next_id(self) -> str:
        return f"{self._id_prefix}-{next(self._ids)}"

    def _cancel_on_disconnect(self, bridge: ClientBridge, reason: str) -> None:
        """Cancels the working day orders the session sent."""
        now = self._now()
        count = 0
        for order in list(self.engine.orders.working()):
            if self._origin.get(order.client_order_id) != bridge.key:
                continue
            if order.time_in_force is not TimeInForce.DAY or order.status is OrdStatus.PENDING_CANCEL:
                continue
            self.engine.cancel(CancelOrder(client_order_id=order.client_order_id, account=order.account, ts_ns=now))
            count += 1
        if count:
            log.warning("%r ended without Logout (%s): cancelled %d working order(s)", bridge, reason, count)

    # --- dispatch ---------------------------------------------------------------------------------------------

    def _handle(self, bridge: ClientBridge, message: FixMessage) -> None:
        handler = self._handlers.get(message.msg_type)
        try:
            if handler is None:
                raise unsupported(message)
            handler(bridge, message)
        except FixAppError as error:
            self._refuse(bridge, error, message)

    def _refuse(
        self,
        bridge: ClientBridge,
        error: FixAppError,
        message: FixMessage,
        *,
        order: Order | None = None,
    ) -> None:
        seq = message.get(34)
        answer = encode_app_reject(
            error,
            ts_ns=self._now(),
            exec_id=self._next_id() if error.answer is RejectAs.ORDER else "",
            ref_seq_num=int(seq) if seq is not None and seq.isdigit() else None,
            order_id=order.order_id if order is not None else "",
            ord_status=fix44_status(order.status, order.cum_qty) if order is not None else None,
        )
        bridge.send(answer)

    @staticmethod
    def _not_authorised(message: FixMessage, text: str, ref_id: str | None, ref_tag: int | None = None) -> FixAppError:
        return FixAppError(
            text, request=message, reason=BusinessRejectReason.NOT_AUTHORIZED, ref_id=ref_id, ref_tag=ref_tag
        )

    def _require_trader(self, bridge: ClientBridge, message: FixMessage, ref_id: str | None) -> None:
        if bridge.permissions.read_only:
            raise self._not_authorised(message, f"user {bridge.user} is read-only", ref_id)

    def _require_account(self, bridge: ClientBridge, message: FixMessage, account: str, ref_id: str | None) -> None:
        if not bridge.permissions.may_use(account):
            raise self._not_authorised(message, f"user {bridge.user} may not use account {account!r}", ref_id, 1)

    # --- orders -----------------------------------------------------------------------------------------------

    def _find_order(self, user: str, cl_ord_id: str) -> Order | None:
        """The order a user names: its own ClOrdID, a replace's ClOrdID of it, or the engine's id."""
        orders = self.engine.orders
        key = engine_order_id(user, cl_ord_id)
        return (
            orders.by_client_id(key)
            or orders.by_client_id(self._aliases.get(key, ""))
            or orders.by_client_id(cl_ord_id)
        )

    def _id_in_use(self, user: str, cl_ord_id: str) -> bool:
        return self._key_in_use(engine_order_id(user, cl_ord_id))

    def _key_in_use(self, key: str) -> bool:
        return key in self._used or key in self._aliases or self.engine.orders.by_client_id(key) is not None

    def _new_order(self, bridge: ClientBridge, message: FixMessage) -> None:
        request = decode_new_order(message, self.instruments)
        cl_ord_id = request.client_order_id
        self._require_trader(bridge, message, cl_ord_id)
        account = request.account or bridge.permissions.default_account(self.accounts)
        if account is None:
            raise self._not_authorised(message, f"user {bridge.user} has no account to trade", cl_ord_id, 1)
        self._require_account(bridge, message, account, cl_ord_id)
        key = engine_order_id(bridge.user, cl_ord_id)
        if self._key_in_use(key):
            existing = self.engine.orders.by_client_id(key)
            if existing is not None and _possible_resend(message):
                # The same order again after a reconnection: answer with its state, never a second order.
                bridge.send(self._status_message(existing, bridge.user, self._next_id()))
                return
            raise FixAppError(
                f"duplicate ClOrdID {cl_ord_id!r}",
                request=message, answer=RejectAs.ORDER, reason=OrdRejReason.DUPLICATE_ORDER, ref_tag=11,
                ref_id=cl_ord_id,
            )  # fmt: skip
        self._used.add(key)
        self._origin[key] = bridge.key
        # Built whole rather than with _replace, which costs three times as much on every order.
        _, _, instrument, side, quantity, order_type, price, time_in_force, strategy_id, ts_ns = request
        self.engine.submit(
            SubmitOrder(
                key, account, instrument, side, quantity, order_type, price, time_in_force, strategy_id,
                ts_ns or self._now(),
            )
        )  # fmt: skip

    def _changed_order(self, bridge: ClientBridge, message: FixMessage, orig: str, cl_ord_id: str, given: str) -> Order:
        """The order a cancel or replace names, once the request may be carried out; raises the refusal."""
        self._require_trader(bridge, message, cl_ord_id)
        order = self._find_order(bridge.user, orig)
        if order is None or not bridge.permissions.may_use(order.account):
            raise FixAppError(
                f"unknown order {orig!r}", request=message, answer=RejectAs.CANCEL, reason=CxlRejReason.UNKNOWN_ORDER,
                ref_tag=41, ref_id=cl_ord_id,
            )  # fmt: skip
        if given and given != order.account:
            raise FixAppError(
                f"order {orig!r} belongs to another account", request=message, answer=RejectAs.CANCEL, ref_tag=1,
                ref_id=cl_ord_id,
            )  # fmt: skip
        if self._id_in_use(bridge.user, cl_ord_id):
            raise FixAppError(
                f"duplicate ClOrdID {cl_ord_id!r}", request=message, answer=RejectAs.CANCEL,
                reason=CxlRejReason.DUPLICATE_CL_ORD_ID, ref_tag=11, ref_id=cl_ord_id,
            )  # fmt: skip
        return order

    def _cancel(self, bridge: ClientBridge, message: FixMessage) -> None:
        command, cl_ord_id = decode_cancel(message)
        orig = command.client_order_id
        try:
            order = self._changed_order(bridge, message, orig, cl_ord_id, command.account)
        except FixAppError as error:
            self._refuse(bridge, error, message, order=self._find_order(bridge.user, orig))
            return
        self._used.add(engine_order_id(bridge.user, cl_ord_id))
        engine_id = order.client_order_id
        self._answers.setdefault(engine_id, []).append(_Answer(bridge.user, cl_ord_id, orig, False))
        self.engine.cancel(CancelOrder(client_order_id=engine_id, account=order.account, ts_ns=self._now()))

    def _replace(self, bridge: ClientBridge, message: FixMessage) -> None:
        command, cl_ord_id = decode_replace(message, self.instruments)
        orig = command.client_order_id
        try:
            order = self._changed_order(bridge, message, orig, cl_ord_id, command.account)
        except FixAppError as error:
            self._refuse(bridge, error, message, order=self._find_order(bridge.user, orig))
            return
        alias = engine_order_id(bridge.user, cl_ord_id)
        self._used.add(alias)
        engine_id = order.client_order_id
        self._aliases[alias] = engine_id
        self._answers.setdefault(engine_id, []).append(_Answer(bridge.user, cl_ord_id, orig, True))
        self.engine.replace(
            ReplaceOrder(
                client_order_id=engine_id, account=order.account, quantity=command.quantity, price=command.price,
                ts_ns=self._now(),
            )
        )  # fmt: skip

    def _order_status(self, bridge: ClientBridge, message: FixMessage) -> None:
        request = decode_order_status_request(message)
        order = self._find_order(bridge.user, request.cl_ord_id)
        if order is None and request.order_id:
            order = self.engine.orders.get(request.order_id)
        if order is None or not bridge.permissions.may_use(order.account):
            raise FixAppError(
                f"unknown order {request.cl_ord_id!r}", request=message, reason=BusinessRejectReason.UNKNOWN_ID,
                ref_tag=11, ref_id=request.cl_ord_id,
            )  # fmt: skip
        bridge.send(self._status_message(order, bridge.user, self._next_id()))

    def _mass_cancel(self, bridge: ClientBridge, message: FixMessage) -> None:
        command, cl_ord_id = decode_mass_cancel(message)
        self._require_trader(bridge, message, cl_ord_id)
        if command.account is not None:
            self._require_account(bridge, message, command.account, cl_ord_id)
        request_type = "1" if command.instrument else "7"
        if command.instrument is not None and command.instrument not in self.instruments:
            raise FixAppError(
                f"unknown symbol {command.instrument!r}", request=message, answer=RejectAs.MASS_CANCEL,
                reason=MassCancelRejectReason.UNKNOWN_SECURITY, ref_tag=55, ref_id=cl_ord_id,
            )  # fmt: skip
        accounts = [command.account] if command.account else bridge.permissions.visible(self.accounts)
        affected = sum(
            self.engine.cancel_all(
                CancelAll(account=account, instrument=command.instrument, strategy_id=command.strategy_id)
            )
            for account in accounts
        )
        report = MassCancelReport(
            report_id=self._next_id(), cl_ord_id=cl_ord_id, request_type=request_type, accepted=True,
            affected=affected, ts_ns=self._now(),
        )  # fmt: skip
        bridge.send(encode_mass_cancel_report(report))

    def _mass_status(self, bridge: ClientBridge, message: FixMessage) -> None:
        request = decode_mass_status_request(message)
        if request.account is not None:
            self._require_account(bridge, message, request.account, request.request_id)
        if request.symbol is not None and request.symbol not in self.instruments:
            raise FixAppError(
                f"unknown symbol {request.symbol!r}", request=message, reason=BusinessRejectReason.UNKNOWN_SECURITY,
                ref_tag=55, ref_id=request.request_id,
            )  # fmt: skip
        orders = [
            order
            for order in self.engine.orders
            if bridge.permissions.may_use(order.account)
            and (request.account is None or order.account == request.account)
            and (request.symbol is None or order.instrument == request.symbol)
        ]
        wanted = {order.order_id for order in orders}
        trades: dict[str, list[ExecutionReport]] = {}
        journal = self.runtime.journal
        if journal is not None and wanted:
            for item in journal.replay():
                if isinstance(item, ExecutionReport) and item.exec_type in FILL_EXEC_TYPES and item.order_id in wanted:
                    trades.setdefault(item.order_id, []).append(item)
        total = len(orders) + sum(len(reports) for reports in trades.values())
        bridge.queue_bulk(self._mass_status_messages(bridge.user, request, orders, trades, total))

    def _mass_status_messages(
        self,
        user: str,
        request: MassStatusRequest,
        orders: list[Order],
        trades: dict[str, list[ExecutionReport]],
        total: int,
    ) -> Iterator[FixMessage]:
        """Each order's fills and busts (PossResend) then its status, generated as the transport drains; 912=Y on
        the last."""
        request_id = text_value(request.request_id)
        if not orders:
            yield self._no_orders(request_id)
            return
        sent = 0
        for order in orders:
            instrument = self.instruments[order.instrument]
            filled = 0
            for report in trades.get(order.order_id, ()):
                filled += fill_cost(report)
                sent += 1
                encoded = encode_execution_report(
                    report,
                    instrument,
                    filled_cost=filled,
                    cl_ord_id=self._view_id(user, report.client_order_id, report.strategy_id),
                )
                yield _with_fields(encoded, [(97, b"Y")], self._status_tail(request_id, total, sent))
            sent += 1
            status = self._status_message(order, user, self._next_id())  # the state now, not when asked
            yield _with_fields(status, [], self._status_tail(request_id, total, sent))

    @staticmethod
    def _status_tail(request_id: bytes, total: int, sent: int) -> list[tuple[int, bytes]]:
        tail = [(584, request_id), (911, b"%d" % total)]
        return [*tail, (912, b"Y")] if sent == total else tail

    def _no_orders(self, request_id: bytes) -> FixMessage:
        fields: list[tuple[int, bytes]] = [
            (35, b"8"), (37, b"NONE"), (584, request_id), (911, b"0"), (912, b"Y"), (17, text_value(self._next_id())),
            (150, ExecType.ORDER_STATUS.value.encode()), (39, OrdStatus.REJECTED.value.encode()), (55, b"[N/A]"),
            (54, b"1"), (151, b"0"), (14, b"0"), (6, b"0"), (58, b"no orders"),
        ]  # fmt: skip
        return FixMessage(fields)

    def _view_id(self, user: str, client_order_id: str, strategy_id: str | None) -> str:
        """The ClOrdID ``user`` knows an order by: its own ClOrdID for its orders, else the engine's id."""
        if _owner(client_order_id, strategy_id) == user:
            return client_order_id[len(user) + 1 :]
        return client_order_id

    def _status_message(self, order: Order, user: str, exec_id: str) -> FixMessage:
        """ExecutionReport 150=I of ``order`` as ``user`` sees it."""
        report = report_for(
            order, exec_id=exec_id, exec_type=ExecType.ORDER_STATUS, ord_status=order.status,
            ts_ns=order.updated_ns or order.created_ns,
        )  # fmt: skip
        encoded = encode_execution_report(
            report,
            self.instruments[order.instrument],
            filled_cost=order.filled_cost,
            cl_ord_id=self._view_id(user, order.client_order_id, order.strategy_id),
        )
        return _fix44(encoded, order.cum_qty)

    # --- the engine's order events ----------------------------------------------------------------------------

    def _take_answer(self, client_order_id: str, is_replace: bool) -> _Answer | None:
        waiting = self._answers.get(client_order_id)
        if not waiting:
            return None
        for index, answer in enumerate(waiting):
            if answer.is_replace == is_replace:
                del waiting[index]
                if not waiting:
                    del self._answers[client_order_id]
                return answer
        return None

    def _on_report(self, report: ExecutionReport) -> None:
        client_id = report.client_order_id
        exec_type = report.exec_type
        answer: _Answer | None = None
        if exec_type is _CANCELED:
            answer = self._take_answer(client_id, False)
        elif exec_type is _EXEC_REPLACED:
            answer = self._take_answer(client_id, True)
        if report.ord_status in TERMINAL:
            self._origin.pop(client_id, None)
            self._answers.pop(client_id, None)
        viewers = self._order_viewers(report.account)
        if not viewers:
            return
        order = self.engine.orders.get(report.order_id) if report.order_id else None
        instrument = self.instruments[report.instrument]
        reason = _OTHER_REASON
        if exec_type is _EXEC_REJECTED and report.reason.startswith("duplicate client order id"):
            reason = OrdRejReason.DUPLICATE_ORDER
        encoded: dict[tuple[str, str | None], FixMessage] = {}
        for bridge in viewers:
            if answer is not None and bridge.user == answer.user:
                view: tuple[str, str | None] = (answer.cl_ord_id, answer.orig_cl_ord_id)
            else:
                view = (self._view_id(bridge.user, client_id, report.strategy_id), None)
            message = encoded.get(view)
            if message is None:
                message = encoded[view] = encode_execution_report(
                    report, instrument, filled_cost=order.filled_cost if order is not None else None,
                    cl_ord_id=view[0], orig_cl_ord_id=view[1], ord_rej_reason=reason,
                )  # fmt: skip
                if report.ord_status is _STATUS_REPLACED:
                    message = encoded[view] = _fix44(message, report.cum_qty)
            bridge.send(message)

    def _on_cancel_reject(self, reject: CancelReject) -> None:
        answer = self._take_answer(reject.client_order_id, reject.is_replace)
        order = self.engine.orders.get(reject.order_id) if reject.order_id else None
        status = fix44_status(order.status, order.cum_qty) if order is not None else OrdStatus.REJECTED
        reason = CxlRejReason.TOO_LATE_TO_CANCEL if order is not None and order.is_terminal else None
        strategy_id = order.strategy_id if order is not None else None
        for bridge in self._order_viewers(reject.account):
            if answer is not None and bridge.user == answer.user:
                cl_ord_id, orig = answer.cl_ord_id, answer.orig_cl_ord_id
            else:
                cl_ord_id = orig = self._view_id(bridge.user, reject.client_order_id, strategy_id)
            bridge.send(
                encode_cancel_reject(reject, cl_ord_id=cl_ord_id, orig_cl_ord_id=orig, ord_status=status, reason=reason)
            )

    def _on_position(self, update: PositionUpdate) -> None:
        for bridge in self._viewers(update.account):
            for request_id, accounts in bridge.position_subscriptions.items():
                if update.account in accounts:
                    message = encode_position_report(
                        update, self.instruments[update.instrument], report_id=self._next_id(), request_id=request_id
                    )
                    bridge.send(message, resendable=False)

    # --- market data ------------------------------------------------------------------------------------------

    def _on_market_data(self, event: BookUpdate | TradeTick) -> None:
        symbol = event.instrument
        if symbol not in self._tracked:
            return
        pending = self._md_pending.get(symbol)
        if pending is None:
            self._md_pending[symbol] = [event]
        else:
            pending.append(event)
        if not self._md_flush_due:
            self._md_flush_due = True
            self._loop.call_soon(self._flush_market_data)

    def _flush_market_data(self) -> None:
        self._md_flush_due = False
        pending, self._md_pending = self._md_pending, {}
        for symbol, events in pending.items():
            subscribers = self._md_subscribers.get(symbol)
            if not subscribers:
                continue
            body = encode_market_data_incremental(events, self.instruments, books=self._books).fields[1:]
            for bridge, subscription in tuple(subscribers):
                if bridge.congested:
                    bridge.conflate(symbol, events)
                else:
                    bridge.send(_incremental(subscription, body), resendable=False)

    def _unsubscribe_md(self, bridge: ClientBridge, request_id: bytes) -> None:
        subscription = bridge.md.pop(request_id, None)
        if subscription is None:
            return
        for symbol in subscription.symbols:
            subscribers = self._md_subscribers.get(symbol, [])
            subscribers[:] = [(b, s) for b, s in subscribers if s is not subscription]
            if not subscribers:
                self._md_subscribers.pop(symbol, None)
                self._tracked.discard(symbol)
                self._books.forget(symbol)
                self._md_pending.pop(symbol, None)

    def _market_data_request(self, bridge: ClientBridge, message: FixMessage) -> None:
        request = decode_market_data_request(message, self.instruments)
        request_id = text_value(request.request_id)
        if request.subscription is SubscriptionType.UNSUBSCRIBE:
            if request_id not in bridge.md:
                raise FixAppError(
                    f"no subscription {request.request_id!r}", request=message, reason=BusinessRejectReason.UNKNOWN_ID,
                    ref_tag=262, ref_id=request.request_id,
                )  # fmt: skip
            self._unsubscribe_md(bridge, request_id)
            return
        if request.subscription is SubscriptionType.SUBSCRIBE:
            self._subscribe_md(bridge, message, request, request_id)
        for symbol in request.symbols:
            bridge.send(self._snapshot(symbol, request), resendable=False)

    def _subscribe_md(
        self, bridge: ClientBridge, message: FixMessage, request: MarketDataRequest, request_id: bytes
    ) -> None:
        def refuse(reason: MDReqRejReason, tag: int, text: str) -> FixAppError:
            return FixAppError(
                text, request=message, answer=RejectAs.MARKET_DATA, reason=reason, ref_tag=tag,
                ref_id=request.request_id,
            )  # fmt: skip

        if request_id in bridge.md:
            raise refuse(MDReqRejReason.DUPLICATE_MD_REQ_ID, 262, f"MDReqID {request.request_id!r} is already active")
        if request.depth != 0:
            raise refuse(MDReqRejReason.UNSUPPORTED_MARKET_DEPTH, 264, "a subscription is of the full book (264=0)")
        subscription = _MdSubscription(request_id, request.symbols, frozenset(request.entry_types))
        bridge.md[request_id] = subscription
        for symbol in request.symbols:
            if symbol not in self._tracked:
                self._tracked.add(symbol)
                self._books.load(self.runtime.market.snapshot(symbol))
            self._md_subscribers.setdefault(symbol, []).append((bridge, subscription))

    def _snapshot(self, symbol: str, request: MarketDataRequest) -> FixMessage:
        market = self.runtime.market
        book = market.snapshot(symbol, request.depth) if request.depth else market.snapshot(symbol)
        types = set(request.entry_types)
        if not {MDEntryType.BID, MDEntryType.OFFER} <= types:
            sides = [side for side, kind in ((BID, MDEntryType.BID), (ASK, MDEntryType.OFFER)) if kind in types]
            rows = [row for row in book.deltas.tolist() if row[0] in sides]
            deltas = np.array(rows, dtype=np.int64).reshape(-1, 3)
            book = BookUpdate(
                instrument=symbol, ts_ns=book.ts_ns, sequence=book.sequence, deltas=deltas, best_bid=book.best_bid,
                best_bid_qty=book.best_bid_qty, best_ask=book.best_ask, best_ask_qty=book.best_ask_qty,
            )  # fmt: skip
        last_price, last_qty = market.last_trade(symbol) if MDEntryType.TRADE in types else (None, 0)
        return encode_market_data_snapshot(
            book, self.instruments[symbol], request_id=request.request_id, last_price=last_price, last_qty=last_qty
        )

    # --- reference data and positions -------------------------------------------------------------------------

    def _security_list(self, bridge: ClientBridge, message: FixMessage) -> None:
        request = decode_security_list_request(message)
        if request.symbol is None:
            instruments = tuple(self.instruments.values())
        else:
            found = self.instruments.get(request.symbol)
            instruments = (found,) if found is not None else ()
        result = SecurityRequestResult.VALID if instruments else SecurityRequestResult.NO_INSTRUMENTS_FOUND
        listing = SecurityList(
            request_id=request.request_id, response_id=self._next_id(), instruments=instruments, result=result
        )
        bridge.send(encode_security_list(listing), resendable=False)

    def _trading_session_status(self, bridge: ClientBridge, message: FixMessage) -> None:
        request = decode_trading_session_status_request(message)
        day = self.engine.trading_day
        if day is None:
            raise FixAppError("the engine keeps no trading day", request=message, ref_id=request.request_id)
        if request.subscription is SubscriptionType.UNSUBSCRIBE:
            if bridge in self._day_subscribers:
                self._day_subscribers.remove(bridge)
            return
        if request.subscription is SubscriptionType.SUBSCRIBE and bridge not in self._day_subscribers:
            self._day_subscribers.append(bridge)
        status = encode_trading_session_status(
            day, self.engine.next_roll_ns(), request_id=request.request_id, unsolicited=False
        )
        bridge.send(status, resendable=False)

    def _on_trading_day(self, day: date, _starts: object) -> None:
        """Tells the sessions that subscribed of the new trading day (an unsolicited h)."""
        status = encode_trading_session_status(day, self.engine.next_roll_ns(), request_id=None, unsolicited=True)
        for bridge in tuple(self._day_subscribers):
            bridge.send(status, resendable=False)

    def _positions(self, bridge: ClientBridge, message: FixMessage) -> None:
        request = decode_position_request(message)
        now = self._now()
        if request.account == "*":
            accounts = bridge.permissions.visible(self.accounts)
        elif not bridge.permissions.may_use(request.account):
            text = f"user {bridge.user} may not see account {request.account!r}"
            answer = encode_no_positions(
                request, report_id=self._next_id(), result=PosReqResult.NOT_AUTHORIZED, ts_ns=now, text=text
            )
            bridge.send(answer, resendable=False)
            return
        else:
            accounts = (request.account,)
        if request.subscription is SubscriptionType.SUBSCRIBE:
            bridge.position_subscriptions[request.request_id] = frozenset(accounts)
        portfolio = self.engine.portfolio
        updates = [
            self.engine.position_update(position, now)
            for account in accounts
            for position in portfolio.positions(account)
        ]
        if not updates:
            answer = encode_no_positions(request, report_id=self._next_id(), ts_ns=now)
            bridge.send(answer, resendable=False)
            return
        for update in updates:
            report = encode_position_report(
                update, self.instruments[update.instrument], report_id=self._next_id(),
                request_id=request.request_id, total_reports=len(updates),
            )  # fmt: skip
            bridge.send(report, resendable=False)

    # --- engine control ---------------------------------------------------------------------------------------

    def _strategy_list(self, bridge: ClientBridge, message: FixMessage) -> None:
        request = control.decode_strategy_list_request(message)
        infos = tuple(
            StrategyInfo(
                name=spec.name, description=spec.description, params=spec.params,
                min_instruments=spec.min_instruments, max_instruments=spec.max_instruments,
            )
            for spec in self.runtime.registry.strategies.values()
        )  # fmt: skip
        instances = tuple(s for s in self.runtime.strategy_states() if bridge.permissions.may_use(s.account))
        answer = control.StrategyList(request_id=request.request_id, strategies=infos, instances=instances)
        bridge.send(control.encode_strategy_list(answer), resendable=False)

    def _control_error(self, message: FixMessage, request_id: str, error: Exception) -> FixAppError:
        reason = BusinessRejectReason.UNKNOWN_ID if isinstance(error, LookupError) else BusinessRejectReason.OTHER
        # A KeyError's text is its key's repr, quotes and all: the message itself is its argument.
        text = str(error.args[0]) if isinstance(error, KeyError) and error.args else str(error)
        return FixAppError(text, request=message, reason=reason, ref_id=request_id)

    def _strategy_start(self, bridge: ClientBridge, message: FixMessage) -> None:
        start = control.decode_strategy_start(message)
        self._require_trader(bridge, message, start.request_id)
        self._require_account(bridge, message, start.account, start.request_id)
        if start.strategy_id is not None and ":" in start.strategy_id:
            raise FixAppError(
                "StrategyID (5002) must not contain ':'", request=message, ref_tag=5002, ref_id=start.request_id
            )
        try:
            state = self.runtime.start_strategy(
                start.strategy, account=start.account, instruments=start.instruments, params=start.params,
                strategy_id=start.strategy_id,
            )  # fmt: skip
        except (ValueError, LookupError, TypeError) as error:
            raise self._control_error(message, start.request_id, error) from None
        self._strategy_changed(bridge, state, start.request_id)

    def _strategy_stop(self, bridge: ClientBridge, message: FixMessage) -> None:
        stop = control.decode_strategy_stop(message)
        self._require_trader(bridge, message, stop.request_id)
        known = {state.strategy_id: state for state in self.runtime.strategy_states()}
        current = known.get(stop.strategy_id)
        if current is None or not bridge.permissions.may_use(current.account):
            error = LookupError(f"no strategy instance {stop.strategy_id!r}")
            raise self._control_error(message, stop.request_id, error)
        state = self.runtime.stop_strategy(stop.strategy_id, f"stopped by {bridge.user}")
        self._strategy_changed(bridge, state, stop.request_id)

    def _strategy_changed(self, bridge: ClientBridge, state: StrategyState, request_id: str) -> None:
        """Answers the request with the instance's state and tells every other session that may see it."""
        bridge.send(control.encode_strategy_status(control.StrategyStatus(state=state, request_id=request_id)))
        unsolicited = control.encode_strategy_status(control.StrategyStatus(state=state))
        for other in self._viewers(state.account):
            if other is not bridge:
                other.send(unsolicited)

    def _risk_limits(self, bridge: ClientBridge, message: FixMessage) -> None:
        """UF: the live limits of the account asked for, or of every account the session may see."""
        request = control.decode_risk_limits_request(message)
        if request.account is not None:
            self._require_account(bridge, message, request.account, request.request_id)
        accounts = [request.account] if request.account is not None else bridge.permissions.visible(self.accounts)
        bridge.send(self._risk_report(bridge, accounts, request.request_id), resendable=False)

    def _risk_limits_set(self, bridge: ClientBridge, message: FixMessage) -> None:
        """UH: validates every row's account and change first, applies them, answers with the accounts' live
        limits (UG) and tells every other session that may see an account (unsolicited UG)."""
        request = control.decode_risk_limits(message)
        self._require_trader(bridge, message, request.request_id)
        changes: dict[str, dict[str, dict[str, Any]]] = {}
        for row in request.limits:
            self._require_account(bridge, message, row.account, request.request_id)
            params = changes.setdefault(row.account, {}).setdefault(row.check, {})
            if row.param is not None:
                params[row.param] = row.value
        risk = self.engine.risk
        try:
            for account, change in changes.items():
                risk.validate_limits(account, change)
        except RiskConfigError as error:
            raise FixAppError(
                str(error), request=message, reason=BusinessRejectReason.OTHER, ref_id=request.request_id
            ) from None
        changed: list[str] = []
        for account, change in changes.items():
            before = risk.limits(account)
            if apply_risk_limits(self.engine, account, change, by=bridge.user) != before:
                changed.append(account)
        bridge.send(self._risk_report(bridge, list(changes), request.request_id), resendable=False)
        for account in changed:
            for other in self._viewers(account):
                if other is not bridge:
                    other.send(self._risk_report(other, [account], None))

    def _risk_report(self, bridge: ClientBridge, accounts: Sequence[str], request_id: str | None) -> FixMessage:
        risk = self.engine.risk
        limits = {account: risk.limits(account) for account in accounts if account in risk.accounts}
        report = control.RiskLimits(
            limits=control.risk_limit_rows(limits), request_id=request_id, read_only=bridge.permissions.read_only
        )
        return control.encode_risk_limits_report(report)

    def _kill_switch(self, bridge: ClientBridge, message: FixMessage) -> None:
        r = FieldReader(message)
        request_id = r.text(control.CONTROL_REQ_ID)
        r.ref_id = request_id
        engaged = r.raw(KILL_SWITCH_ENGAGED) == b"Y"
        account = r.optional_text(1)
        reason = r.optional_text(58) or f"kill switch by {bridge.user}"
        self._require_trader(bridge, message, request_id)
        if account is None and not bridge.permissions.all_accounts:
            raise self._not_authorised(
                message, "only a user of every account may use the global kill switch", request_id, 1
            )
        if account is not None:
            self._require_account(bridge, message, account, request_id)
        self._kill_switch_origin = bridge
        try:
            self.engine.kill_switch(KillSwitch(engaged=engaged, reason=reason, account=account, ts_ns=self._now()))
        finally:
            self._kill_switch_origin = None
        risk = self.engine.risk
        state = risk.kill_switch_engaged(account) if account else engaged
        why = risk.kill_switch_reason(account) if account else (reason if engaged else None)
        bridge.send(_kill_switch_status(account, engaged=state, reason=why, request_id=request_id))


def _kill_switch_status(
    account: str | None, *, engaged: bool, reason: str | None, request_id: str | None = None
) -> FixMessage:
    """A KillSwitchStatus (UJ): the answer to a request (with its 5100), or unsolicited news (without)."""
    fields: list[tuple[int, bytes]] = [(35, KILL_SWITCH_STATUS.encode())]
    if request_id is not None:
        fields.append((control.CONTROL_REQ_ID, text_value(request_id)))
    fields.append((KILL_SWITCH_ENGAGED, b"Y" if engaged else b"N"))
    if account is not None:
        fields.append((1, text_value(account)))
    if reason:
        fields.append((58, text_value(reason)))
    return FixMessage(fields)
