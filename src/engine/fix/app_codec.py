"""FIX 4.4 application messages <-> the engine's typed commands and events.

Pure functions, no session state: an encoder returns a body-only :class:`FixMessage` (MsgType first; the session
adds 8/9/49/56/34/52 and the trailer), a decoder reads a message as parsed off the wire (header included or not).

Conventions (``docs/fix.md`` tells a counterparty the same):

* Prices are FIX decimals converted exactly to integer ticks on the instrument's price scale: a price with more
  decimals than the scale, or (on orders) off the tick grid, is refused. Quantities are whole numbers.
* Times are UTCTimestamps written with the shortest exact fraction (milli, micro or nanoseconds); any fraction
  of up to 9 digits is read.
* Money (fees, P&L) is a decimal amount of the currency, exact to ``1e-8`` (:data:`core.numbers.MONEY_DECIMALS`).
* Texts are UTF-8 (SOH, which would end the field, becomes a space).
* Cancel and replace: FIX gives every request its own ClOrdID (11) and names the order by OrigClOrdID (41); the
  engine names an order by the client order id it was submitted with, for its whole life. Decoders therefore key
  :class:`~core.commands.CancelOrder` / :class:`~core.commands.ReplaceOrder` by OrigClOrdID (mapped through
  ``aliases`` when the order was already replaced under another ClOrdID) and return the request's ClOrdID next to
  the command; :func:`encode_execution_report` and :func:`encode_cancel_reject` take the ClOrdID/OrigClOrdID to
  answer with, so the server can follow FIX's chaining while the engine keeps one id.
* Fields beyond FIX 4.4 use user-defined tags (5000-9999, listed below); a FIX engine reading them needs the
  dictionary extension of :func:`engine.fix.control.extend_dictionary`, or user-defined fields allowed.

A decoder that cannot turn a message into a command raises :class:`FixAppError`, which says how the application
answers (:class:`RejectAs`) with which reason code and RefTagID; :func:`encode_app_reject` builds that answer.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import IntEnum, StrEnum
from typing import NamedTuple, TypeVar

import numpy as np

from core.commands import CancelAll, CancelOrder, ReplaceOrder, SubmitOrder
from core.enums import ExecType, Liquidity, OrderType, OrdStatus, Side, TimeInForce
from core.events import ASK, BID, BookUpdate, CancelReject, ExecutionReport, PositionUpdate, TradeTick
from core.instruments import Instrument
from core.numbers import MONEY_DECIMALS, MONEY_PER_PRICE_UNIT, Money, Nanos, Price, Quantity
from engine.fix.message import FieldValue, FixMessage, fix_value, format_ticks, format_utc_timestamp, parse_ticks
from engine.fix.message import parse_utc_timestamp as _parse_timestamp

# --- user-defined tags --------------------------------------------------------------------------------------

PRICE_SCALE = 5001
"""INT, SecurityList (y) entries: decimals of the instrument's integer price unit."""
STRATEGY_ID = 5002
"""STRING, ExecutionReport (8), OrderMassCancelRequest (q) and control messages: the strategy instance."""
EXEC_VENUE = 5003
"""STRING, ExecutionReport (8): the venue the order was routed to."""
MD_SEQ_NUM = 5004
"""INT, MarketDataSnapshot (W) body and MarketDataIncrementalRefresh (X) entries: the book's update sequence."""
MIN_PRICE_INCREMENT = 5005
"""PRICE, SecurityList (y) entries: the tick size (FIX 5.0's MinPriceIncrement, 969)."""
AGGRESSOR_SIDE = 5006
"""CHAR 1/2, MarketDataIncrementalRefresh (X) trade entries: the side that took liquidity (FIX 5.0's 2446)."""
POS_COST = 5010
"""AMT, PositionReport (AP): signed sum of open price x quantity, in currency."""
REALIZED_PNL = 5011
"""AMT, PositionReport (AP): realized P&L."""
UNREALIZED_PNL = 5012
"""AMT, PositionReport (AP): unrealized P&L at the mark."""
POS_FEES = 5013
"""AMT, PositionReport (AP): fees paid (negative: rebates received)."""
POS_TIME = 5014
"""UTCTIMESTAMP, PositionReport (AP): when the position was last updated."""
START_REALIZED_PNL = 5015
"""AMT, PositionReport (AP): realized P&L when the trading day began."""
START_FEES = 5016
"""AMT, PositionReport (AP): fees when the trading day began."""
START_UNREALIZED_PNL = 5017
"""AMT, PositionReport (AP): unrealized P&L when the trading day began (absent while not known: no mark then)."""

USER_FIELDS: dict[int, tuple[str, str]] = {
    PRICE_SCALE: ("PriceScale", "INT"),
    STRATEGY_ID: ("StrategyID", "STRING"),
    EXEC_VENUE: ("ExecVenue", "STRING"),
    MD_SEQ_NUM: ("MDSeqNum", "INT"),
    MIN_PRICE_INCREMENT: ("MinPriceIncrement", "PRICE"),
    AGGRESSOR_SIDE: ("AggressorSide", "CHAR"),
    POS_COST: ("PosCost", "AMT"),
    REALIZED_PNL: ("RealizedPnL", "AMT"),
    UNREALIZED_PNL: ("UnrealizedPnL", "AMT"),
    POS_FEES: ("PosFees", "AMT"),
    POS_TIME: ("PosUpdateTime", "UTCTIMESTAMP"),
    START_REALIZED_PNL: ("StartRealizedPnL", "AMT"),
    START_FEES: ("StartPosFees", "AMT"),
    START_UNREALIZED_PNL: ("StartUnrealizedPnL", "AMT"),
}
"""The user-defined fields of the application messages: tag -> (name, FIX type)."""

USER_FIELD_PLACES: dict[str, tuple[int, ...]] = {
    "8": (STRATEGY_ID, EXEC_VENUE),
    "q": (1, STRATEGY_ID),
    "W": (MD_SEQ_NUM,),
    "X/268": (MD_SEQ_NUM, AGGRESSOR_SIDE),
    "y/146": (PRICE_SCALE, MIN_PRICE_INCREMENT),
    "AP": (
        POS_COST,
        REALIZED_PNL,
        UNREALIZED_PNL,
        POS_FEES,
        POS_TIME,
        START_REALIZED_PNL,
        START_FEES,
        START_UNREALIZED_PNL,
    ),
}
"""Where the fields beyond FIX 4.4 go: MsgType (``/NoXxx`` tag for a repeating group's entries) -> optional tags.
Account (1) is standard but FIX 4.4 has no place for it in OrderMassCancelRequest (q)."""

ALL_ACCOUNTS = "*"
"""The Account (1) value of a RequestForPositions that asks for every account the user may see."""

# --- reject codes -------------------------------------------------------------------------------------------


class BusinessRejectReason(IntEnum):
    """BusinessRejectReason (380)."""

    OTHER = 0
    UNKNOWN_ID = 1
    UNKNOWN_SECURITY = 2
    UNSUPPORTED_MESSAGE_TYPE = 3
    APPLICATION_NOT_AVAILABLE = 4
    CONDITIONALLY_REQUIRED_FIELD_MISSING = 5
    NOT_AUTHORIZED = 6


class OrdRejReason(IntEnum):
    """OrdRejReason (103) of a rejected ExecutionReport."""

    BROKER_CREDIT = 0
    UNKNOWN_SYMBOL = 1
    EXCHANGE_CLOSED = 2
    ORDER_EXCEEDS_LIMIT = 3
    UNKNOWN_ORDER = 5
    DUPLICATE_ORDER = 6
    UNSUPPORTED_ORDER_CHARACTERISTIC = 11
    INCORRECT_QUANTITY = 13
    UNKNOWN_ACCOUNT = 15
    OTHER = 99


class CxlRejReason(IntEnum):
    """CxlRejReason (102) of an OrderCancelReject."""

    TOO_LATE_TO_CANCEL = 0
    UNKNOWN_ORDER = 1
    ALREADY_PENDING = 3
    DUPLICATE_CL_ORD_ID = 6
    OTHER = 99


class MassCancelRejectReason(IntEnum):
    """MassCancelRejectReason (532) of a rejected OrderMassCancelReport."""

    NOT_SUPPORTED = 0
    UNKNOWN_SECURITY = 1
    OTHER = 99


class MDReqRejReason(StrEnum):
    """MDReqRejReason (281) of a MarketDataRequestReject."""

    UNKNOWN_SYMBOL = "0"
    DUPLICATE_MD_REQ_ID = "1"
    INSUFFICIENT_PERMISSIONS = "3"
    UNSUPPORTED_SUBSCRIPTION_REQUEST_TYPE = "4"
    UNSUPPORTED_MARKET_DEPTH = "5"
    UNSUPPORTED_MD_UPDATE_TYPE = "6"
    UNSUPPORTED_MD_ENTRY_TYPE = "8"


class SecurityRequestResult(IntEnum):
    """SecurityRequestResult (560) of a SecurityList."""

    VALID = 0
    INVALID_OR_UNSUPPORTED = 1
    NO_INSTRUMENTS_FOUND = 2
    NOT_AUTHORIZED = 3


class PosReqResult(IntEnum):
    """PosReqResult (728) of a PositionReport."""

    VALID = 0
    INVALID_OR_UNSUPPORTED = 1
    NO_POSITIONS_FOUND = 2
    NOT_AUTHORIZED = 3


class RejectAs(StrEnum):
    """The message that answers an application message the engine cannot act on (valued with its MsgType)."""

    BUSINESS = "j"
    """BusinessMessageReject, reason: BusinessRejectReason (380)."""
    ORDER = "8"
    """ExecutionReport with OrdStatus 8 (rejected), reason: OrdRejReason (103)."""
    CANCEL = "9"
    """OrderCancelReject, reason: CxlRejReason (102)."""
    MASS_CANCEL = "r"
    """OrderMassCancelReport with MassCancelResponse 0 (rejected), reason: MassCancelRejectReason (532)."""
    MARKET_DATA = "Y"
    """MarketDataRequestReject, reason: MDReqRejReason (281)."""
    SECURITY_LIST = "y"
    """SecurityList without instruments, reason: SecurityRequestResult (560)."""


_REASON_TAG = {
    RejectAs.BUSINESS: 380,
    RejectAs.ORDER: 103,
    RejectAs.CANCEL: 102,
    RejectAs.MASS_CANCEL: 532,
    RejectAs.MARKET_DATA: 281,
    RejectAs.SECURITY_LIST: 560,
}


class FixAppError(ValueError):
    """An application message the engine cannot act on, with everything its answer needs.

    ``answer`` is the kind of message to send back, ``reason`` the code of that message's reason field
    (:attr:`reason_tag`), ``ref_tag`` the offending tag (RefTagID, or None), ``ref_id`` the request's own id
    (ClOrdID, MDReqID...: BusinessRejectRefID) and ``request`` the message itself. ``str(error)`` is the Text (58).
    """

    def __init__(
        self,
        text: str,
        *,
        request: FixMessage,
        answer: RejectAs = RejectAs.BUSINESS,
        reason: int | str = BusinessRejectReason.OTHER,
        ref_tag: int | None = None,
        ref_id: str | None = None,
    ) -> None:
        super().__init__(text)
        self.text = text
        self.request = request
        self.answer = answer
        self.reason = str(reason.value if isinstance(reason, IntEnum | StrEnum) else reason)
        self.ref_tag = ref_tag
        self.ref_id = ref_id

    @property
    def ref_msg_type(self) -> str:
        """MsgType of the message in error (RefMsgType, 372)."""
        return self.request.msg_type

    @property
    def reason_tag(self) -> int:
        """The tag :attr:`reason` goes in: 380, 103, 102, 532, 281 or 560."""
        return _REASON_TAG[self.answer]


def unsupported(message: FixMessage) -> FixAppError:
    """The error of an application message type the engine does not handle (BusinessMessageReject, reason 3)."""
    return FixAppError(
        f"unsupported message type {message.msg_type!r}",
        request=message,
        reason=BusinessRejectReason.UNSUPPORTED_MESSAGE_TYPE,
        ref_tag=35,
    )


# --- field helpers ------------------------------------------------------------------------------------------

_E = TypeVar("_E", bound=StrEnum)
_FIX_SIDES = frozenset(b"123456789ABCDEFG")


def _by_wire_value(kind: type[_E]) -> dict[bytes | None, _E]:
    """The members of ``kind`` by the bytes of their value (as a field holds them)."""
    return {member.value.encode("latin-1"): member for member in kind}


def _wire_values(kind: type[StrEnum]) -> dict[StrEnum, bytes]:
    """The field bytes of each member of ``kind`` (reading ``.value`` costs more than this lookup)."""
    return {member: member.value.encode("ascii") for member in kind}


_SIDES = _by_wire_value(Side)
_ORDER_TYPES = _by_wire_value(OrderType)
_TIMES_IN_FORCE = _by_wire_value(TimeInForce)
_SIDE_BYTES = _wire_values(Side)
_ORDER_TYPE_BYTES = _wire_values(OrderType)
_EXEC_TYPE_BYTES = _wire_values(ExecType)
_ORD_STATUS_BYTES = _wire_values(OrdStatus)
_LIQUIDITY_BYTES = _wire_values(Liquidity)
# Members read on every order: an enum class attribute costs a slow lookup in Python 3.11.
_DAY, _LIMIT, _MARKET = TimeInForce.DAY, OrderType.LIMIT, OrderType.MARKET
_REJECTED, _TRADE, _NO_LIQUIDITY = ExecType.REJECTED, ExecType.TRADE, Liquidity.NONE
_TRADE_CANCEL = ExecType.TRADE_CANCEL
_TAG_NAMES = {tag: name for tag, (name, _) in USER_FIELDS.items()}


def tag_name(tag: int) -> str:
    """``Name (tag)`` of a FIX 4.4 or user-defined field, for messages."""
    from engine.fix.dictionary import fix44

    spec = fix44().fields.get(tag)
    name = spec.name if spec is not None else _TAG_NAMES.get(tag)
    return f"{name} ({tag})" if name else f"tag {tag}"


def shown(value: bytes) -> str:
    """A field value quoted for an error text."""
    return repr(value.decode("latin-1"))


def text_value(text: str) -> bytes:
    """Wire bytes of free text: UTF-8, with SOH (which would end the field) replaced by a space."""
    return text.replace("\x01", " ").encode("utf-8")


def read_text(value: bytes) -> str:
    """Free text of a field written by :func:`text_value` (undecodable bytes are replaced)."""
    return value.decode("utf-8", "replace")


def timestamp_value(ts_ns: Nanos) -> bytes:
    """UTCTimestamp of ``ts_ns`` with the shortest exact fraction: milli, micro or nanoseconds."""
    digits = 3 if ts_ns % 1_000_000 == 0 else 6 if ts_ns % 1_000 == 0 else 9
    return format_utc_timestamp(ts_ns, digits)


def money_value(amount: Money) -> bytes:
    """FIX AMT of an integer money amount (exact, currency units)."""
    return format_ticks(amount, MONEY_DECIMALS)


def _business_day(ts_ns: Nanos) -> bytes:
    return timestamp_value(ts_ns)[:8]


class FieldReader:
    """Typed reads of one message's fields; each failure raises the :class:`FixAppError` the message calls for:
    an answer of kind ``answer`` with reason code ``reason`` (unless a read names another) about ``ref_id``."""

    __slots__ = ("answer", "message", "reason", "ref_id", "request")

    def __init__(
        self,
        message: FixMessage,
        *,
        answer: RejectAs = RejectAs.BUSINESS,
        reason: int | str = BusinessRejectReason.OTHER,
        ref_id: str | None = None,
    ) -> None:
        self.message = message
        self.request = message
        """The message errors are about (the whole message when ``message`` is a group entry)."""
        self.answer = answer
        self.reason = reason
        self.ref_id = ref_id

    def entry(self, entry: FixMessage, *, reason: int | str | None = None) -> FieldReader:
        """A reader of one group entry whose errors are about this reader's request (with ``reason`` by default)."""
        child = FieldReader(
            entry, answer=self.answer, reason=self.reason if reason is None else reason, ref_id=self.ref_id
        )
        child.request = self.request
        return child

    def error(self, tag: int | None, text: str, reason: int | str | None = None) -> FixAppError:
        """The error about ``tag`` (None: no tag), with this reader's answer and ``reason`` or the default one."""
        return FixAppError(
            text,
            request=self.request,
            answer=self.answer,
            reason=self.reason if reason is None else reason,
            ref_tag=tag,
            ref_id=self.ref_id,
        )

    def raw(self, tag: int, reason: int | str | None = None) -> bytes:
        """The raw value of ``tag``; absent or empty is an error (BusinessRejectReason 5 for a business reject)."""
        value = self.message.get(tag)
        if not value:
            if self.answer is RejectAs.BUSINESS and reason is None:
                reason = BusinessRejectReason.CONDITIONALLY_REQUIRED_FIELD_MISSING
            raise self.error(tag, f"{tag_name(tag)} is required", reason)
        return value

    def text(self, tag: int, reason: int | str | None = None) -> str:
        """The text of a required field."""
        return read_text(self.raw(tag, reason))

    def optional_text(self, tag: int) -> str | None:
        """The text of an optional field, or None."""
        value = self.message.get(tag)
        return read_text(value) if value else None

    def integer(self, tag: int, *, default: int | None = None) -> int:
        """A whole number (``default`` when absent, if given)."""
        value = self.message.get(tag)
        if not value and default is not None:
            return default
        value = self.raw(tag)
        try:
            return parse_ticks(value, 0)
        except ValueError:
            raise self.error(tag, f"{tag_name(tag)}: {shown(value)} is not a whole number") from None

    def quantity(self, tag: int, reason: int | str | None = None) -> Quantity:
        """A required quantity: a whole, non-negative number (``100`` or ``100.0``)."""
        value = self.raw(tag, reason)
        try:
            quantity = parse_ticks(value, 0)
        except ValueError:
            raise self.error(tag, f"{tag_name(tag)}: {shown(value)} is not a whole quantity", reason) from None
        if quantity < 0:
            raise self.error(tag, f"{tag_name(tag)}: {shown(value)} is negative", reason)
        return quantity

    def price(self, tag: int, instrument: Instrument, *, on_tick: bool = False) -> Price:
        """A required price as integer ticks of ``instrument``; finer than its scale (or ``on_tick``, off its grid)
        is an error."""
        value = self.raw(tag)
        try:
            ticks = parse_ticks(value, instrument.price_scale)
        except ValueError:
            raise self.error(
                tag, f"{tag_name(tag)}: {shown(value)} is not a price of {instrument.price_scale} decimals or fewer"
            ) from None
        if on_tick and not instrument.is_on_tick(ticks):
            step = format_ticks(instrument.tick_size, instrument.price_scale).decode()
            raise self.error(tag, f"{tag_name(tag)}: {value.decode('latin-1')} is not a multiple of the tick {step}")
        return ticks

    def optional_price(self, tag: int, instrument: Instrument, *, on_tick: bool = False) -> Price | None:
        """An optional price, or None."""
        return self.price(tag, instrument, on_tick=on_tick) if self.message.get(tag) else None

    def money(self, tag: int, *, default: Money | None = None) -> Money:
        """An amount as integer money units (exact to ``1e-8``)."""
        value = self.message.get(tag)
        if not value and default is not None:
            return default
        value = self.raw(tag)
        try:
            return parse_ticks(value, MONEY_DECIMALS)
        except ValueError:
            raise self.error(
                tag, f"{tag_name(tag)}: {shown(value)} is not an amount of {MONEY_DECIMALS} decimals"
            ) from None

    def time(self, tag: int, *, default: Nanos | None = None) -> Nanos:
        """A UTCTimestamp as epoch nanoseconds."""
        value = self.message.get(tag)
        if not value and default is not None:
            return default
        value = self.raw(tag)
        try:
            return _parse_timestamp(value)
        except ValueError:
            raise self.error(tag, f"{tag_name(tag)}: {shown(value)} is not a UTCTimestamp") from None

    def enum(self, tag: int, kind: type[_E], reason: int | str | None = None, *, default: _E | None = None) -> _E:
        """The member of ``kind`` valued as the field."""
        value = self.message.get(tag)
        if not value and default is not None:
            return default
        value = self.raw(tag, reason)
        try:
            return kind(value.decode("latin-1"))
        except ValueError:
            allowed = ", ".join(member.value for member in kind)
            raise self.error(tag, f"{tag_name(tag)}: {shown(value)} is not one of {allowed}", reason) from None

    def instrument(self, instruments: Mapping[str, Instrument], reason: int | str | None = None) -> Instrument:
        """The instrument named by Symbol (55); missing or unknown is an error."""
        symbol = self.text(55, reason)
        instrument = instruments.get(symbol)
        if instrument is None:
            raise self.error(55, f"unknown symbol {symbol!r}", reason)
        return instrument

    def entries(self, count_tag: int, delimiter: int, members: frozenset[int]) -> list[FixMessage]:
        """The entries of repeating group ``count_tag``; a count that does not match the entries is an error."""
        declared = self.integer(count_tag, default=0)
        found = group_entries(self.message, count_tag, delimiter, members)
        if len(found) != declared:
            raise self.error(count_tag, f"{tag_name(count_tag)} says {declared} entries, found {len(found)}")
        return found


def group_entries(message: FixMessage, count_tag: int, delimiter: int, members: frozenset[int]) -> list[FixMessage]:
    """The entries of the first repeating group ``count_tag`` of ``message``, each as its own FixMessage.

    ``members`` are every tag an entry may hold, those of groups nested in it included; an entry begins at each
    ``delimiter`` and the group ends at the first tag that is not a member.
    """
    fields = message.fields
    start = next((i for i, (tag, _) in enumerate(fields) if tag == count_tag), None)
    if start is None:
        return []
    entries: list[list[tuple[int, bytes]]] = []
    for tag, value in fields[start + 1 :]:
        if tag == delimiter:
            entries.append([])
        elif tag not in members or not entries:
            break
        entries[-1].append((tag, value))
    return [FixMessage(entry) for entry in entries]


def _build(msg_type: str, fields: Iterable[tuple[int, FieldValue | None]]) -> FixMessage:
    """A body-only message of the fields whose value is not None."""
    return FixMessage.build(msg_type, [(tag, value) for tag, value in fields if value is not None])


def _opt_text(text: str | None) -> bytes | None:
    return text_value(text) if text else None


def _price(value: Price | None, instrument: Instrument) -> bytes | None:
    return None if value is None else format_ticks(value, instrument.price_scale)


# --- orders -------------------------------------------------------------------------------------------------


def encode_new_order(order: SubmitOrder, instrument: Instrument) -> FixMessage:
    """NewOrderSingle (D) of ``order`` (its ``strategy_id`` is not sent: a FIX user's orders are manual)."""
    return _build(
        "D",
        [
            (11, text_value(order.client_order_id)),
            (1, _opt_text(order.account)),
            (55, text_value(order.instrument)),
            (54, order.side.value),
            (60, timestamp_value(order.ts_ns)),
            (38, order.quantity),
            (40, order.order_type.value),
            (44, _price(order.price, instrument)),
            (59, order.time_in_force.value),
        ],
    )


def decode_new_order(message: FixMessage, instruments: Mapping[str, Instrument]) -> SubmitOrder:
    """The :class:`SubmitOrder` of a NewOrderSingle (D).

    Without ClOrdID (11) or a Side (54) a FIX ExecutionReport could carry, the error is a BusinessMessageReject;
    every other problem is an order reject (ExecutionReport 39=8 with its OrdRejReason). Account (1) absent is an
    empty account (the server puts the user's default); TransactTime (60) absent is 0; TimeInForce (59) absent
    is Day.
    """
    return _usual_new_order(message, instruments) or _decode_new_order(message, instruments)


def _usual_new_order(message: FixMessage, instruments: Mapping[str, Instrument]) -> SubmitOrder | None:
    """The common case, each field read once: an order whose values are all in their usual form; None for
    anything else (an error among them), which :func:`_decode_new_order` reads and says what is wrong."""
    get = message.get
    cl_ord_id = get(11)
    symbol = get(55)
    side = _SIDES.get(get(54))
    order_type = _ORDER_TYPES.get(get(40))
    time_in_force_value = get(59)
    time_in_force = _TIMES_IN_FORCE.get(time_in_force_value) if time_in_force_value else _DAY
    if not cl_ord_id or not symbol or side is None or order_type is None or time_in_force is None:
        return None
    instrument = instruments.get(read_text(symbol))
    quantity = _plain_decimal(get(38), 0)
    if instrument is None or not quantity:
        return None
    price_value = get(44)
    if price_value:  # a limit order's price, on the tick grid
        price = _plain_decimal(price_value, instrument.price_scale)
        if price is None or order_type is not _LIMIT or not instrument.is_on_tick(price):
            return None
    elif order_type is _MARKET:  # a market order's absent price
        price = None
    else:
        return None
    ts_value = get(60)
    ts_ns = _plain_timestamp(ts_value) if ts_value else 0
    if ts_ns is None:
        return None
    account = get(1)
    return SubmitOrder(
        client_order_id=read_text(cl_ord_id),
        account=read_text(account) if account else "",
        instrument=instrument.symbol,
        side=side,
        quantity=quantity,
        order_type=order_type,
        price=price,
        time_in_force=time_in_force,
        ts_ns=ts_ns,
    )


def _plain_decimal(value: bytes | None, scale: int) -> int | None:
    """Ticks of ``value`` on ``scale`` when it is plain digits with at most ``scale`` decimals, else None (let
    :func:`parse_ticks` read it or say what is wrong)."""
    if value is None:
        return None
    whole, _, fraction = value.partition(b".")
    if not whole.isdigit():
        return None
    unit: int = 10**scale
    if not fraction:
        return int(whole) * unit
    if len(fraction) > scale or not fraction.isdigit():
        return None
    return int(whole) * unit + int(fraction.ljust(scale, b"0"))


def _plain_timestamp(value: bytes) -> Nanos | None:
    try:
        return _parse_timestamp(value)
    except ValueError:
        return None


def _decode_new_order(message: FixMessage, instruments: Mapping[str, Instrument]) -> SubmitOrder:
    """:func:`decode_new_order` field by field, raising the :class:`FixAppError` of the first problem."""
    business = FieldReader(message)
    cl_ord_id = business.text(11)
    business.ref_id = cl_ord_id
    side_value = business.raw(54)
    if len(side_value) != 1 or side_value[0] not in _FIX_SIDES:
        raise business.error(54, f"Side (54): {shown(side_value)} is not a FIX side")
    r = FieldReader(message, answer=RejectAs.ORDER, reason=OrdRejReason.OTHER, ref_id=cl_ord_id)
    side = r.enum(54, Side, OrdRejReason.UNSUPPORTED_ORDER_CHARACTERISTIC)
    instrument = r.instrument(instruments, OrdRejReason.UNKNOWN_SYMBOL)
    quantity = r.quantity(38, OrdRejReason.INCORRECT_QUANTITY)
    if quantity == 0:
        raise r.error(38, "OrderQty (38) must be positive", OrdRejReason.INCORRECT_QUANTITY)
    order_type = r.enum(40, OrderType, OrdRejReason.UNSUPPORTED_ORDER_CHARACTERISTIC)
    price = r.optional_price(44, instrument, on_tick=True)
    if order_type is OrderType.LIMIT and price is None:
        raise r.error(44, "Price (44) is required on a limit order")
    if order_type is OrderType.MARKET and price is not None:
        raise r.error(44, "Price (44) must not be given on a market order")
    return SubmitOrder(
        client_order_id=cl_ord_id,
        account=r.optional_text(1) or "",
        instrument=instrument.symbol,
        side=side,
        quantity=quantity,
        order_type=order_type,
        price=price,
        time_in_force=r.enum(59, TimeInForce, OrdRejReason.UNSUPPORTED_ORDER_CHARACTERISTIC, default=TimeInForce.DAY),
        ts_ns=r.time(60, default=0),
    )


class CancelRequest(NamedTuple):
    """An OrderCancelRequest (F) as the engine's command (keyed by the order's id) and the request's ClOrdID."""

    command: CancelOrder
    cl_ord_id: str


class ReplaceRequest(NamedTuple):
    """An OrderCancelReplaceRequest (G) as the engine's command (keyed by the order's id) and its ClOrdID."""

    command: ReplaceOrder
    cl_ord_id: str


def _order_key(r: FieldReader, aliases: Mapping[str, str] | None) -> str:
    orig = r.text(41)
    return aliases.get(orig, orig) if aliases else orig


def encode_cancel(
    command: CancelOrder, *, cl_ord_id: str, symbol: str, side: Side, quantity: Quantity | None = None
) -> FixMessage:
    """OrderCancelRequest (F) for ``command``: OrigClOrdID (41) is its client order id, ClOrdID (11) the request's.

    FIX 4.4 requires the order's Side (54); Symbol (55) and OrderQty (38) describe the order too.
    """
    return _build(
        "F",
        [
            (41, text_value(command.client_order_id)),
            (11, text_value(cl_ord_id)),
            (1, _opt_text(command.account)),
            (55, text_value(symbol)),
            (54, side.value),
            (60, timestamp_value(command.ts_ns)),
            (38, quantity),
        ],
    )


def decode_cancel(message: FixMessage, aliases: Mapping[str, str] | None = None) -> CancelRequest:
    """The :class:`CancelOrder` of an OrderCancelRequest (F), keyed by OrigClOrdID (41), and the ClOrdID (11).

    ``aliases`` maps a ClOrdID the order took on a replace to the client order id the engine knows it by.
    Missing ClOrdID: BusinessMessageReject; other problems: OrderCancelReject (434=1).
    """
    business = FieldReader(message)
    cl_ord_id = business.text(11)
    r = FieldReader(message, answer=RejectAs.CANCEL, reason=CxlRejReason.OTHER, ref_id=cl_ord_id)
    command = CancelOrder(
        client_order_id=_order_key(r, aliases), account=r.optional_text(1) or "", ts_ns=r.time(60, default=0)
    )
    return CancelRequest(command, cl_ord_id)


def encode_replace(
    command: ReplaceOrder,
    instrument: Instrument,
    *,
    cl_ord_id: str,
    side: Side,
    order_type: OrderType = OrderType.LIMIT,
) -> FixMessage:
    """OrderCancelReplaceRequest (G) for ``command``; a quantity or price of None is left out (kept)."""
    return _build(
        "G",
        [
            (41, text_value(command.client_order_id)),
            (11, text_value(cl_ord_id)),
            (1, _opt_text(command.account)),
            (55, text_value(instrument.symbol)),
            (54, side.value),
            (60, timestamp_value(command.ts_ns)),
            (38, command.quantity),
            (40, order_type.value),
            (44, _price(command.price, instrument)),
        ],
    )


def decode_replace(
    message: FixMessage, instruments: Mapping[str, Instrument], aliases: Mapping[str, str] | None = None
) -> ReplaceRequest:
    """The :class:`ReplaceOrder` of an OrderCancelReplaceRequest (G), keyed by OrigClOrdID (41), and the ClOrdID.

    OrderQty (38) is the new total quantity and Price (44) the new price; either absent keeps the order's.
    OrdType (40) and TimeInForce (59) cannot change and are not read. Missing ClOrdID: BusinessMessageReject;
    other problems: OrderCancelReject (434=2).
    """
    business = FieldReader(message)
    cl_ord_id = business.text(11)
    r = FieldReader(message, answer=RejectAs.CANCEL, reason=CxlRejReason.OTHER, ref_id=cl_ord_id)
    key = _order_key(r, aliases)
    instrument = r.instrument(instruments)
    quantity = r.quantity(38) if message.get(38) else None
    if quantity == 0:
        raise r.error(38, "OrderQty (38) must be positive")
    command = ReplaceOrder(
        client_order_id=key,
        account=r.optional_text(1) or "",
        quantity=quantity,
        price=r.optional_price(44, instrument, on_tick=True),
        ts_ns=r.time(60, default=0),
    )
    return ReplaceRequest(command, cl_ord_id)


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderStatusRequest:
    """An OrderStatusRequest (H): the order by ClOrdID (11), or by OrderID (37) when given."""

    cl_ord_id: str
    symbol: str
    side: Side
    order_id: str | None = None


def encode_order_status_request(request: OrderStatusRequest) -> FixMessage:
    """OrderStatusRequest (H) of ``request``."""
    return _build(
        "H",
        [
            (37, _opt_text(request.order_id)),
            (11, text_value(request.cl_ord_id)),
            (55, text_value(request.symbol)),
            (54, request.side.value),
        ],
    )


def decode_order_status_request(message: FixMessage) -> OrderStatusRequest:
    """The :class:`OrderStatusRequest` of an H message; any problem is a BusinessMessageReject."""
    r = FieldReader(message)
    cl_ord_id = r.text(11)
    r.ref_id = cl_ord_id
    return OrderStatusRequest(
        cl_ord_id=cl_ord_id, symbol=r.text(55), side=r.enum(54, Side), order_id=r.optional_text(37)
    )


# --- execution reports and cancel rejects -------------------------------------------------------------------


def average_price(filled_cost: int, cum_qty: Quantity, price_scale: int, extra_decimals: int = 4) -> bytes:
    """AvgPx (6) text of ``filled_cost`` (sum of fill price x quantity, in ticks) over ``cum_qty``.

    An average is a fraction: it is rounded half-even to ``extra_decimals`` more decimals than the price scale.
    """
    if cum_qty == 0:
        return b"0"
    # In integers: the quotient in units of the last decimal kept, rounded half to even.
    numerator = filled_cost * 10**extra_decimals
    units, rest = divmod(abs(numerator), abs(cum_qty))
    twice = 2 * rest
    if twice > abs(cum_qty) or (twice == abs(cum_qty) and units & 1):
        units += 1
    text = format_ticks(units, price_scale + extra_decimals)
    # A negative average keeps its sign even when it rounds to zero, as a Decimal does.
    return b"-" + text if (numerator < 0) != (cum_qty < 0) else text


def encode_execution_report(  # noqa: C901 (one pass over a report, the hot path: no helper call per field)
    report: ExecutionReport,
    instrument: Instrument,
    *,
    filled_cost: int | None = None,
    cl_ord_id: str | None = None,
    orig_cl_ord_id: str | None = None,
    ord_rej_reason: OrdRejReason | int = OrdRejReason.OTHER,
) -> FixMessage:
    """ExecutionReport (8) of ``report``.

    AvgPx (6) is ``filled_cost / cum_qty`` when ``filled_cost`` (sum of fill price x quantity in ticks, as the
    order keeps it) is given, else 0. ``cl_ord_id``/``orig_cl_ord_id`` replace ClOrdID (11) / add OrigClOrdID
    (41) when the report answers a cancel or replace request made under its own ClOrdID. Commission (12, with
    CommType 3 absolute) carries the fee, negative for a rebate. LastLiquidityInd (851) is sent for maker (1)
    and taker (2) fills only. An empty OrderID goes out as ``NONE``. A trade cancel (150=H) carries ExecRefID
    (19), the busted fill's ExecID, and that fill's LastQty, LastPx and Commission; CumQty and AvgPx are the
    order's without it (give ``filled_cost`` after the bust).
    """
    exec_type = report.exec_type
    scale = instrument.price_scale
    # The body's wire bytes, written at once (the session sends them as they are): each value after its tag.
    parts = [b"37=", text_value(report.order_id or "NONE"), b"\x0111=", text_value(cl_ord_id or report.client_order_id)]
    add = parts.extend
    if orig_cl_ord_id:
        add((b"\x0141=", text_value(orig_cl_ord_id)))
    add((b"\x0117=", text_value(report.exec_id), b"\x01150=", _EXEC_TYPE_BYTES[exec_type]))
    add((b"\x0139=", _ORD_STATUS_BYTES[report.ord_status]))
    if exec_type is _REJECTED:
        add((b"\x01103=", b"%d" % int(ord_rej_reason)))
    if report.account:
        add((b"\x011=", text_value(report.account)))
    add((b"\x0155=", text_value(report.instrument), b"\x0154=", _SIDE_BYTES[report.side]))
    add((b"\x0138=", _int_value(report.quantity), b"\x0140=", _ORDER_TYPE_BYTES[report.order_type]))
    if report.price is not None:
        add((b"\x0144=", format_ticks(report.price, scale)))
    if report.last_qty or exec_type is _TRADE:
        add((b"\x0132=", _int_value(report.last_qty)))
        if exec_type is _TRADE_CANCEL:
            add((b"\x0119=", text_value(report.ref_exec_id)))
    if report.last_price is not None:
        add((b"\x0131=", format_ticks(report.last_price, scale)))
    add((b"\x01151=", _int_value(report.leaves_qty), b"\x0114=", _int_value(report.cum_qty)))
    avg = b"0" if filled_cost is None else average_price(filled_cost, report.cum_qty, scale)
    add((b"\x016=", avg, b"\x0160=", timestamp_value(report.ts_ns)))
    if report.fee != 0 or exec_type is _TRADE:
        add((b"\x0112=", money_value(report.fee), b"\x0113=3"))
    if report.reason:
        add((b"\x0158=", text_value(report.reason)))
    if report.liquidity is not _NO_LIQUIDITY:
        add((b"\x01851=", _LIQUIDITY_BYTES[report.liquidity]))
    if report.strategy_id:
        add((_STRATEGY_ID_TAG, text_value(report.strategy_id)))
    if report.venue:
        add((_EXEC_VENUE_TAG, text_value(report.venue)))
    parts.append(b"\x01")
    return FixMessage.of_body(b"8", b"".join(parts))


_STRATEGY_ID_TAG = b"\x01%d=" % STRATEGY_ID
_EXEC_VENUE_TAG = b"\x01%d=" % EXEC_VENUE


def _int_value(value: int) -> bytes:
    """:func:`~engine.fix.message.fix_value` of an integer field's value."""
    return b"%d" % value if type(value) is int else fix_value(value)


def decode_execution_report(message: FixMessage, instruments: Mapping[str, Instrument]) -> ExecutionReport:
    """The :class:`ExecutionReport` of an ExecutionReport (8) (the remote client's side).

    ClOrdID (11) becomes the client order id; OrderID ``NONE`` becomes empty; absent OrdType (40) is limit when
    a Price (44) is given; absent OrderQty (38) is CumQty + LeavesQty; absent Commission (12) is no fee. A trade
    cancel (150=H) must name the fill it busts in ExecRefID (19).
    """
    r = FieldReader(message)
    instrument = r.instrument(instruments, BusinessRejectReason.UNKNOWN_SECURITY)
    order_id = r.text(37)
    price = r.optional_price(44, instrument)
    cum_qty = r.quantity(14)
    leaves_qty = r.quantity(151)
    liquidity_value = message.get(851)
    exec_type = r.enum(150, ExecType)
    return ExecutionReport(
        exec_id=r.text(17),
        order_id="" if order_id == "NONE" else order_id,
        client_order_id=r.optional_text(11) or "",
        account=r.optional_text(1) or "",
        instrument=instrument.symbol,
        side=r.enum(54, Side),
        order_type=r.enum(40, OrderType, default=OrderType.MARKET if price is None else OrderType.LIMIT),
        exec_type=exec_type,
        ord_status=r.enum(39, OrdStatus),
        quantity=r.quantity(38) if message.get(38) else cum_qty + leaves_qty,
        price=price,
        cum_qty=cum_qty,
        leaves_qty=leaves_qty,
        ts_ns=r.time(60, default=0),
        last_qty=r.quantity(32) if message.get(32) else 0,
        last_price=r.optional_price(31, instrument),
        fee=r.money(12, default=0),
        liquidity=Liquidity(liquidity_value.decode()) if liquidity_value in (b"1", b"2") else Liquidity.NONE,
        reason=r.optional_text(58) or "",
        venue=r.optional_text(EXEC_VENUE) or "",
        strategy_id=r.optional_text(STRATEGY_ID),
        ref_exec_id=r.text(19) if exec_type is _TRADE_CANCEL else "",
    )


def encode_cancel_reject(
    reject: CancelReject,
    *,
    cl_ord_id: str | None = None,
    orig_cl_ord_id: str | None = None,
    ord_status: OrdStatus | None = None,
    reason: CxlRejReason | int | None = None,
) -> FixMessage:
    """OrderCancelReject (9) of ``reject``.

    OrigClOrdID (41) is the order's client order id (or ``orig_cl_ord_id``), ClOrdID (11) the request's (by
    default the same). OrdStatus (39) is the order's status after the reject: pass it; by default it is 8
    (rejected) for an unknown order and 0 (new) otherwise. CxlRejReason (102) defaults to 1 (unknown order) when
    the order is unknown, else 99 (other; the reason is in Text, 58).
    """
    unknown = not reject.order_id
    if reason is None:
        reason = CxlRejReason.UNKNOWN_ORDER if unknown else CxlRejReason.OTHER
    if ord_status is None:
        ord_status = OrdStatus.REJECTED if unknown else OrdStatus.NEW
    return _build(
        "9",
        [
            (37, text_value(reject.order_id or "NONE")),
            (11, text_value(cl_ord_id or reject.client_order_id)),
            (41, text_value(orig_cl_ord_id or reject.client_order_id)),
            (39, ord_status.value),
            (1, _opt_text(reject.account)),
            (60, timestamp_value(reject.ts_ns)),
            (434, "2" if reject.is_replace else "1"),
            (102, int(reason)),
            (58, _opt_text(reject.reason)),
        ],
    )


def decode_cancel_reject(message: FixMessage) -> CancelReject:
    """The :class:`CancelReject` of an OrderCancelReject (9): the order is named by OrigClOrdID (41)."""
    r = FieldReader(message)
    order_id = r.text(37)
    return CancelReject(
        client_order_id=r.text(41),
        order_id="" if order_id == "NONE" else order_id,
        account=r.optional_text(1) or "",
        ts_ns=r.time(60, default=0),
        reason=r.optional_text(58) or "",
        is_replace=r.raw(434) == b"2",
    )


# --- mass cancel --------------------------------------------------------------------------------------------


class MassCancelRequest(NamedTuple):
    """An OrderMassCancelRequest (q) as the engine's :class:`CancelAll` and the request's ClOrdID."""

    command: CancelAll
    cl_ord_id: str


def encode_mass_cancel(command: CancelAll, *, cl_ord_id: str) -> FixMessage:
    """OrderMassCancelRequest (q): type 1 (one security) when ``command`` names an instrument, else 7 (all)."""
    return _build(
        "q",
        [
            (11, text_value(cl_ord_id)),
            (530, "1" if command.instrument else "7"),
            (55, _opt_text(command.instrument)),
            (60, timestamp_value(command.ts_ns)),
            (1, _opt_text(command.account)),
            (STRATEGY_ID, _opt_text(command.strategy_id)),
        ],
    )


def decode_mass_cancel(message: FixMessage) -> MassCancelRequest:
    """The :class:`CancelAll` of an OrderMassCancelRequest (q).

    MassCancelRequestType (530) 1 cancels the orders in Symbol (55), 7 every order; Account (1) and StrategyID
    (5002) narrow it. Missing ClOrdID: BusinessMessageReject; other problems: a rejected OrderMassCancelReport.
    """
    business = FieldReader(message)
    cl_ord_id = business.text(11)
    r = FieldReader(message, answer=RejectAs.MASS_CANCEL, reason=MassCancelRejectReason.OTHER, ref_id=cl_ord_id)
    kind = r.raw(530)
    if kind not in (b"1", b"7"):
        raise r.error(530, f"MassCancelRequestType (530) {shown(kind)} is not supported: use 1 (security) or 7 (all)")
    symbol = r.text(55, MassCancelRejectReason.UNKNOWN_SECURITY) if kind == b"1" else None
    command = CancelAll(
        account=r.optional_text(1),
        instrument=symbol,
        strategy_id=r.optional_text(STRATEGY_ID),
        ts_ns=r.time(60, default=0),
    )
    return MassCancelRequest(command, cl_ord_id)


@dataclass(frozen=True, slots=True, kw_only=True)
class MassCancelReport:
    """An OrderMassCancelReport (r): whether the mass cancel was accepted and how many orders it affects."""

    report_id: str
    cl_ord_id: str
    request_type: str
    """MassCancelRequestType (530) of the request: ``1`` or ``7``."""
    accepted: bool
    affected: int = 0
    ts_ns: Nanos = 0
    text: str = ""
    reject_reason: MassCancelRejectReason | None = None


def encode_mass_cancel_report(report: MassCancelReport) -> FixMessage:
    """OrderMassCancelReport (r): MassCancelResponse (531) echoes the request type, or is 0 when rejected."""
    return _build(
        "r",
        [
            (11, text_value(report.cl_ord_id)),
            (37, text_value(report.report_id)),
            (530, report.request_type),
            (531, report.request_type if report.accepted else "0"),
            (532, None if report.reject_reason is None else int(report.reject_reason)),
            (533, report.affected),
            (60, timestamp_value(report.ts_ns)),
            (58, _opt_text(report.text)),
        ],
    )


def decode_mass_cancel_report(message: FixMessage) -> MassCancelReport:
    """The :class:`MassCancelReport` of an r message."""
    r = FieldReader(message)
    reject = message.get(532)
    return MassCancelReport(
        report_id=r.text(37),
        cl_ord_id=r.optional_text(11) or "",
        request_type=r.text(530),
        accepted=r.raw(531) != b"0",
        affected=r.integer(533, default=0),
        ts_ns=r.time(60, default=0),
        text=r.optional_text(58) or "",
        reject_reason=None if not reject else MassCancelRejectReason(r.integer(532)),
    )


# --- market data --------------------------------------------------------------------------------------------


class SubscriptionType(StrEnum):
    """SubscriptionRequestType (263)."""

    SNAPSHOT = "0"
    SUBSCRIBE = "1"
    """Snapshot, then updates."""
    UNSUBSCRIBE = "2"


class MDEntryType(StrEnum):
    """MDEntryType (269) values the engine publishes."""

    BID = "0"
    OFFER = "1"
    TRADE = "2"


class MDUpdateAction(StrEnum):
    """MDUpdateAction (279)."""

    NEW = "0"
    CHANGE = "1"
    DELETE = "2"


_ALL_ENTRY_TYPES = (MDEntryType.BID, MDEntryType.OFFER, MDEntryType.TRADE)


@dataclass(frozen=True, slots=True, kw_only=True)
class MarketDataRequest:
    """A MarketDataRequest (V): which symbols, which entry types, how deep (0: the full book)."""

    request_id: str
    subscription: SubscriptionType
    symbols: tuple[str, ...]
    entry_types: tuple[MDEntryType, ...] = _ALL_ENTRY_TYPES
    depth: int = 0


def encode_market_data_request(request: MarketDataRequest) -> FixMessage:
    """MarketDataRequest (V); a subscription asks for incremental updates (MDUpdateType 1)."""
    fields: list[tuple[int, FieldValue | None]] = [
        (262, text_value(request.request_id)),
        (263, request.subscription.value),
        (264, request.depth),
        (265, 1 if request.subscription is SubscriptionType.SUBSCRIBE else None),
        (267, len(request.entry_types)),
        *((269, entry.value) for entry in request.entry_types),
        (146, len(request.symbols)),
        *((55, text_value(symbol)) for symbol in request.symbols),
    ]
    return _build("V", fields)


def decode_market_data_request(message: FixMessage, instruments: Mapping[str, Instrument]) -> MarketDataRequest:
    """The :class:`MarketDataRequest` of a V message.

    Missing MDReqID or groups: BusinessMessageReject; unknown symbols, entry types other than bid, offer and
    trade, a negative depth or a full-refresh subscription (265=0): MarketDataRequestReject.
    """
    business = FieldReader(message)
    request_id = business.text(262)
    business.ref_id = request_id
    r = FieldReader(message, answer=RejectAs.MARKET_DATA, reason=MDReqRejReason.UNKNOWN_SYMBOL, ref_id=request_id)
    subscription = r.enum(263, SubscriptionType, MDReqRejReason.UNSUPPORTED_SUBSCRIPTION_REQUEST_TYPE)
    depth = r.integer(264, default=0)
    if depth < 0:
        raise r.error(264, f"MarketDepth (264) {depth} is negative", MDReqRejReason.UNSUPPORTED_MARKET_DEPTH)
    if subscription is SubscriptionType.SUBSCRIBE and message.get(265) not in (None, b"1"):
        raise r.error(265, "only incremental updates (265=1) are published", MDReqRejReason.UNSUPPORTED_MD_UPDATE_TYPE)
    types = business.entries(267, 269, frozenset({269}))
    symbols = business.entries(146, 55, frozenset({55}))
    if not types:
        raise business.error(267, "NoMDEntryTypes (267) must list at least one entry type", 5)
    if not symbols:
        raise business.error(146, "NoRelatedSym (146) must list at least one symbol", 5)
    entry_types = tuple(
        r.entry(entry, reason=MDReqRejReason.UNSUPPORTED_MD_ENTRY_TYPE).enum(269, MDEntryType) for entry in types
    )
    names = tuple(read_text(entry.raw(55)) for entry in symbols)
    for name in names:
        if name not in instruments:
            raise r.error(55, f"unknown symbol {name!r}")
    return MarketDataRequest(
        request_id=request_id, subscription=subscription, symbols=names, entry_types=entry_types, depth=depth
    )


def _entry_time(ts_ns: Nanos) -> tuple[tuple[int, bytes], tuple[int, bytes]]:
    """MDEntryDate (272) and MDEntryTime (273) of a time."""
    stamp = timestamp_value(ts_ns)
    return (272, stamp[:8]), (273, stamp[9:])


def _read_entry_time(r: FieldReader) -> Nanos | None:
    date, time = r.message.get(272), r.message.get(273)
    if not date or not time:
        return None
    try:
        return _parse_timestamp(date + b"-" + time)
    except ValueError:
        raise r.error(273, f"MDEntryDate/MDEntryTime {shown(date)} {shown(time)} is not a UTC date and time") from None


class L2Books:
    """The price levels of every symbol's book as a FIX peer knows them, and each book's top.

    A remote client loads a book from a snapshot (W) and applies each incremental refresh (X) to it, so that
    every :class:`BookUpdate` it decodes carries the right top of book. A server may keep one too, to tell a new
    level (279=0) from a changed one (279=1) when it encodes incremental refreshes.
    """

    __slots__ = ("_books",)

    def __init__(self) -> None:
        self._books: dict[str, tuple[dict[Price, Quantity], dict[Price, Quantity]]] = {}

    def load(self, book: BookUpdate) -> None:
        """Replaces the levels of ``book.instrument`` by those of a full-book update (a snapshot)."""
        bids: dict[Price, Quantity] = {}
        asks: dict[Price, Quantity] = {}
        for side, price, quantity in book.deltas.tolist():
            if quantity > 0:
                (bids if side == BID else asks)[price] = quantity
        self._books[book.instrument] = (bids, asks)

    def has_level(self, symbol: str, side: int, price: Price) -> bool:
        """Whether the book of ``symbol`` has a level at ``price`` on ``side`` (``BID`` or ``ASK``)."""
        book = self._books.get(symbol)
        return book is not None and price in book[side]

    def levels(self, symbol: str) -> tuple[dict[Price, Quantity], dict[Price, Quantity]]:
        """Copies of the bid and ask levels (price -> quantity) of ``symbol``."""
        bids, asks = self._books.get(symbol, ({}, {}))
        return dict(bids), dict(asks)

    def forget(self, symbol: str) -> None:
        """Drops the book of ``symbol`` (e.g. when its subscription ends)."""
        self._books.pop(symbol, None)

    def apply(
        self, symbol: str, ts_ns: Nanos, sequence: int, rows: Sequence[tuple[int, Price, Quantity]]
    ) -> BookUpdate:
        """Applies level changes ``(side, price, quantity; 0 removes)`` and returns them as a BookUpdate."""
        bids, asks = self._books.setdefault(symbol, ({}, {}))
        for side, price, quantity in rows:
            levels = bids if side == BID else asks
            if quantity > 0:
                levels[price] = quantity
            else:
                levels.pop(price, None)
        return _book_update(symbol, ts_ns, sequence, rows, bids, asks)


def _book_update(
    symbol: str,
    ts_ns: Nanos,
    sequence: int,
    rows: Sequence[tuple[int, Price, Quantity]],
    bids: Mapping[Price, Quantity],
    asks: Mapping[Price, Quantity],
) -> BookUpdate:
    deltas = np.array(rows, dtype=np.int64).reshape(-1, 3)
    deltas.flags.writeable = False
    best_bid = max(bids) if bids else None
    best_ask = min(asks) if asks else None
    return BookUpdate(
        instrument=symbol,
        ts_ns=ts_ns,
        sequence=sequence,
        deltas=deltas,
        best_bid=best_bid,
        best_bid_qty=0 if best_bid is None else bids[best_bid],
        best_ask=best_ask,
        best_ask_qty=0 if best_ask is None else asks[best_ask],
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class MarketDataSnapshot:
    """A MarketDataSnapshotFullRefresh (W): the full book and the last trade's price and quantity."""

    request_id: str | None
    book: BookUpdate
    last_price: Price | None = None
    last_qty: Quantity = 0


def encode_market_data_snapshot(
    book: BookUpdate,
    instrument: Instrument,
    *,
    request_id: str | None = None,
    last_price: Price | None = None,
    last_qty: Quantity = 0,
    books: L2Books | None = None,
) -> FixMessage:
    """MarketDataSnapshotFullRefresh (W) of a full-book ``book`` (deltas = every level) and the last trade.

    Every entry carries MDEntryDate/MDEntryTime (272/273) of the book's time; MDSeqNum (5004) is its sequence.
    Levels are written in the order of the deltas; a level of quantity 0 is left out. ``books``, when given,
    loads the book (see :class:`L2Books`).
    """
    if books is not None:
        books.load(book)
    when = _entry_time(book.ts_ns)
    entries: list[tuple[int, FieldValue | None]] = []
    for side, price, quantity in book.deltas.tolist():
        if quantity > 0:
            entry_type = MDEntryType.BID if side == BID else MDEntryType.OFFER
            entries += [(269, entry_type.value), (270, format_ticks(price, instrument.price_scale)), (271, quantity)]
            entries += when
    if last_price is not None:
        entries += [(269, MDEntryType.TRADE.value), (270, _price(last_price, instrument)), (271, last_qty), *when]
    count = sum(1 for tag, _ in entries if tag == 269)
    fields: list[tuple[int, FieldValue | None]] = [
        (262, _opt_text(request_id)),
        (55, text_value(book.instrument)),
        (MD_SEQ_NUM, book.sequence),
        (268, count),
        *entries,
    ]
    return _build("W", fields)


_W_MEMBERS = frozenset({269, 270, 271, 272, 273})


def decode_market_data_snapshot(
    message: FixMessage, instruments: Mapping[str, Instrument], books: L2Books | None = None
) -> MarketDataSnapshot:
    """The :class:`MarketDataSnapshot` of a W message; ``books``, when given, loads the book.

    The book's time is that of its entries (272/273), or SendingTime (52) when there are none (0 without).
    """
    r = FieldReader(message)
    instrument = r.instrument(instruments, BusinessRejectReason.UNKNOWN_SECURITY)
    rows: list[tuple[int, Price, Quantity]] = []
    bids: dict[Price, Quantity] = {}
    asks: dict[Price, Quantity] = {}
    last_price: Price | None = None
    last_qty: Quantity = 0
    ts_ns: Nanos | None = None
    for entry in r.entries(268, 269, _W_MEMBERS):
        e = r.entry(entry)
        kind = e.enum(269, MDEntryType)
        price = e.price(270, instrument)
        quantity = e.quantity(271)
        ts_ns = _read_entry_time(e) if ts_ns is None else ts_ns
        if kind is MDEntryType.TRADE:
            last_price, last_qty = price, quantity
            continue
        side = BID if kind is MDEntryType.BID else ASK
        rows.append((side, price, quantity))
        (bids if side == BID else asks)[price] = quantity
    if ts_ns is None:
        ts_ns = r.time(52, default=0)
    book = _book_update(instrument.symbol, ts_ns, r.integer(MD_SEQ_NUM, default=0), rows, bids, asks)
    if books is not None:
        books.load(book)
    return MarketDataSnapshot(request_id=r.optional_text(262), book=book, last_price=last_price, last_qty=last_qty)


def encode_market_data_incremental(
    events: Iterable[BookUpdate | TradeTick],
    instruments: Mapping[str, Instrument],
    *,
    request_id: str | None = None,
    books: L2Books | None = None,
) -> FixMessage:
    """MarketDataIncrementalRefresh (X) of book updates (their deltas) and trades, in order.

    A level of quantity 0 is a delete (279=2, without MDEntrySize); any other level is a change (279=1), or,
    when ``books`` tracks the levels the peer has, a new level (279=0) if it was not there. Each book entry
    carries MDSeqNum (5004), the update's sequence. A trade is a new entry (279=0, 269=2) with MDEntryID (278)
    the match id and AggressorSide (5006).
    """
    entries: list[tuple[int, FieldValue | None]] = []
    for event in events:
        instrument = instruments[event.instrument]
        symbol = text_value(event.instrument)
        when = _entry_time(event.ts_ns)
        if isinstance(event, TradeTick):
            entries += [
                (279, MDUpdateAction.NEW.value),
                (269, MDEntryType.TRADE.value),
                (278, b"%d" % event.match_id),
                (55, symbol),
                (270, format_ticks(event.price, instrument.price_scale)),
                (271, event.quantity),
                *when,
                (AGGRESSOR_SIDE, event.aggressor.value),
            ]
            continue
        rows = [(int(side), int(price), int(quantity)) for side, price, quantity in event.deltas.tolist()]
        for side, price, quantity in rows:
            if quantity == 0:
                action = MDUpdateAction.DELETE
            elif books is not None and not books.has_level(event.instrument, side, price):
                action = MDUpdateAction.NEW
            else:
                action = MDUpdateAction.CHANGE
            entries += [
                (279, action.value),
                (269, (MDEntryType.BID if side == BID else MDEntryType.OFFER).value),
                (55, symbol),
                (270, format_ticks(price, instrument.price_scale)),
                (271, quantity if quantity else None),
                *when,
                (MD_SEQ_NUM, event.sequence),
            ]
        if books is not None:
            books.apply(event.instrument, event.ts_ns, event.sequence, rows)
    count = sum(1 for tag, _ in entries if tag == 279)
    return _build("X", [(262, _opt_text(request_id)), (268, count), *entries])


_X_MEMBERS = frozenset({279, 269, 278, 55, 270, 271, 272, 273, MD_SEQ_NUM, AGGRESSOR_SIDE})


def decode_market_data_incremental(
    message: FixMessage, instruments: Mapping[str, Instrument], books: L2Books
) -> list[BookUpdate | TradeTick]:
    """The events of an X message, in order: one :class:`BookUpdate` per run of entries of one symbol and
    sequence, applied to ``books`` (which gives its top of book), and one :class:`TradeTick` per trade entry.

    New (0) and change (1) both set the level's quantity; delete (2) removes it.
    """
    r = FieldReader(message)
    out: list[BookUpdate | TradeTick] = []
    pending: tuple[str, int, Nanos] | None = None
    rows: list[tuple[int, Price, Quantity]] = []

    def flush() -> None:
        if pending is not None and rows:
            out.append(books.apply(pending[0], pending[2], pending[1], list(rows)))
        rows.clear()

    for entry in r.entries(268, 279, _X_MEMBERS):
        e = r.entry(entry)
        action = e.enum(279, MDUpdateAction)
        kind = e.enum(269, MDEntryType)
        instrument = e.instrument(instruments, BusinessRejectReason.UNKNOWN_SECURITY)
        price = e.price(270, instrument)
        ts_ns = _read_entry_time(e) or 0
        if kind is MDEntryType.TRADE:
            flush()
            pending = None
            out.append(
                TradeTick(
                    instrument=instrument.symbol,
                    ts_ns=ts_ns,
                    price=price,
                    quantity=e.quantity(271),
                    aggressor=e.enum(AGGRESSOR_SIDE, Side, default=Side.BUY),
                    match_id=e.integer(278, default=0),
                )
            )
            continue
        key = (instrument.symbol, e.integer(MD_SEQ_NUM, default=0), ts_ns)
        if key != pending:
            flush()
            pending = key
        quantity = 0 if action is MDUpdateAction.DELETE else e.quantity(271)
        rows.append((BID if kind is MDEntryType.BID else ASK, price, quantity))
    flush()
    return out


@dataclass(frozen=True, slots=True, kw_only=True)
class MarketDataReject:
    """A MarketDataRequestReject (Y)."""

    request_id: str
    reason: MDReqRejReason | None = None
    text: str = ""


def encode_market_data_reject(reject: MarketDataReject) -> FixMessage:
    """MarketDataRequestReject (Y) of ``reject``."""
    return _build(
        "Y",
        [
            (262, text_value(reject.request_id)),
            (281, None if reject.reason is None else reject.reason.value),
            (58, _opt_text(reject.text)),
        ],
    )


def decode_market_data_reject(message: FixMessage) -> MarketDataReject:
    """The :class:`MarketDataReject` of a Y message."""
    r = FieldReader(message)
    return MarketDataReject(
        request_id=r.text(262),
        reason=r.enum(281, MDReqRejReason) if message.get(281) else None,
        text=r.optional_text(58) or "",
    )


# --- security list ------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class SecurityListRequest:
    """A SecurityListRequest (x): every instrument (559=4), or one symbol (559=0)."""

    request_id: str
    symbol: str | None = None


def encode_security_list_request(request: SecurityListRequest) -> FixMessage:
    """SecurityListRequest (x) of ``request``."""
    return _build(
        "x",
        [
            (320, text_value(request.request_id)),
            (559, 4 if request.symbol is None else 0),
            (55, _opt_text(request.symbol)),
        ],
    )


def decode_security_list_request(message: FixMessage) -> SecurityListRequest:
    """The :class:`SecurityListRequest` of an x message; a request type other than 0 or 4 is answered with an
    empty SecurityList of result 1."""
    business = FieldReader(message)
    request_id = business.text(320)
    r = FieldReader(
        message, answer=RejectAs.SECURITY_LIST, reason=SecurityRequestResult.INVALID_OR_UNSUPPORTED, ref_id=request_id
    )
    kind = r.raw(559)
    if kind not in (b"0", b"4"):
        raise r.error(559, f"SecurityListRequestType (559) {shown(kind)} is not supported: use 4 (all) or 0 (symbol)")
    return SecurityListRequest(request_id=request_id, symbol=r.text(55) if kind == b"0" else None)


@dataclass(frozen=True, slots=True, kw_only=True)
class SecurityList:
    """A SecurityList (y): the instruments, with what it takes to rebuild each :class:`Instrument` exactly."""

    request_id: str
    response_id: str
    instruments: tuple[Instrument, ...]
    result: SecurityRequestResult = SecurityRequestResult.VALID


def encode_security_list(security_list: SecurityList) -> FixMessage:
    """SecurityList (y): each entry has Symbol (55), Currency (15), RoundLot (561, the lot size),
    MinPriceIncrement (5005, the tick size as a decimal) and PriceScale (5001)."""
    entries: list[tuple[int, FieldValue | None]] = []
    for instrument in security_list.instruments:
        entries += [
            (55, text_value(instrument.symbol)),
            (15, text_value(instrument.currency)),
            (561, instrument.lot_size),
            (MIN_PRICE_INCREMENT, format_ticks(instrument.tick_size, instrument.price_scale)),
            (PRICE_SCALE, instrument.price_scale),
        ]
    count = len(security_list.instruments)
    fields: list[tuple[int, FieldValue | None]] = [
        (320, text_value(security_list.request_id)),
        (322, text_value(security_list.response_id)),
        (560, int(security_list.result)),
        (393, count),
        (893, True),
        (146, count if count else None),
        *entries,
    ]
    return _build("y", fields)


_Y_MEMBERS = frozenset({55, 15, 561, MIN_PRICE_INCREMENT, PRICE_SCALE})


def decode_security_list(message: FixMessage) -> SecurityList:
    """The :class:`SecurityList` of a y message (instruments without PriceScale are read at scale 4)."""
    r = FieldReader(message)
    instruments: list[Instrument] = []
    for entry in r.entries(146, 55, _Y_MEMBERS):
        e = r.entry(entry)
        symbol = e.text(55)
        scale = e.integer(PRICE_SCALE, default=4)
        try:
            tick = parse_ticks(e.raw(MIN_PRICE_INCREMENT), scale)
            instruments.append(
                Instrument(
                    symbol=symbol,
                    tick_size=tick,
                    price_scale=scale,
                    lot_size=e.quantity(561),
                    currency=e.optional_text(15) or "USD",
                )
            )
        except ValueError as error:
            if isinstance(error, FixAppError):
                raise
            raise e.error(MIN_PRICE_INCREMENT, f"instrument {symbol!r}: {error}") from None
    return SecurityList(
        request_id=r.text(320),
        response_id=r.text(322),
        instruments=tuple(instruments),
        result=SecurityRequestResult(r.integer(560)),
    )


# --- positions ----------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class PositionRequest:
    """A RequestForPositions (AN) of positions (724=0) of one account, or of all (:data:`ALL_ACCOUNTS`)."""

    request_id: str
    account: str = ALL_ACCOUNTS
    subscription: SubscriptionType = SubscriptionType.SNAPSHOT
    ts_ns: Nanos = 0


def encode_position_request(request: PositionRequest) -> FixMessage:
    """RequestForPositions (AN). FIX 4.4 requires Parties, AccountType and ClearingBusinessDate: NoPartyIDs
    (453) is 0, AccountType (581) 1 and the business date that of the request's time."""
    return _build(
        "AN",
        [
            (710, text_value(request.request_id)),
            (724, 0),
            (263, request.subscription.value),
            (453, 0),
            (1, text_value(request.account)),
            (581, 1),
            (715, _business_day(request.ts_ns)),
            (60, timestamp_value(request.ts_ns)),
        ],
    )


def decode_position_request(message: FixMessage) -> PositionRequest:
    """The :class:`PositionRequest` of an AN message; PosReqType (724) other than 0 (positions), or a problem,
    is a BusinessMessageReject. Account absent is every account."""
    r = FieldReader(message)
    request_id = r.text(710)
    r.ref_id = request_id
    if r.raw(724) != b"0":
        raise r.error(724, "only PosReqType (724) 0 (positions) is supported")
    return PositionRequest(
        request_id=request_id,
        account=r.optional_text(1) or ALL_ACCOUNTS,
        subscription=r.enum(263, SubscriptionType, default=SubscriptionType.SNAPSHOT),
        ts_ns=r.time(60, default=0),
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class PositionReport:
    """A PositionReport (AP): one position (``update``), or none when ``result`` says why (e.g. none found)."""

    report_id: str
    update: PositionUpdate | None
    request_id: str | None = None
    total_reports: int | None = None
    result: PosReqResult = PosReqResult.VALID
    mark: Price | None = None
    """SettlPrice (730) as integer ticks; 0 when the engine has no mark."""


def _derived_mark(update: PositionUpdate, instrument: Instrument) -> Price:
    """The mark that gave ``update`` its unrealized P&L, when it is an integer price; else 0."""
    factor = MONEY_PER_PRICE_UNIT[instrument.price_scale]
    if update.quantity == 0 or update.unrealized % factor:
        return 0
    value = update.unrealized // factor + update.cost
    return value // update.quantity if value % update.quantity == 0 else 0


def encode_position_report(
    update: PositionUpdate,
    instrument: Instrument,
    *,
    report_id: str,
    request_id: str | None = None,
    total_reports: int | None = None,
    mark: Price | None = None,
) -> FixMessage:
    """PositionReport (AP) of ``update``.

    The net position is one NoPositions (702) entry of PosType ``TQ`` with LongQty (704) / ShortQty (705).
    SettlPrice (730) is the ``mark`` (by default the one that gave the unrealized P&L, or 0), SettlPriceType
    (731) 2 (theoretical), PriorSettlPrice (734) repeats it (no settlement history is kept). The position's
    cost, realized and unrealized P&L, fees and time are in the user-defined fields 5010-5014; unrealized P&L
    is also the one PositionAmountData entry (753: PosAmtType FMTM).
    """
    settle = format_ticks(_derived_mark(update, instrument) if mark is None else mark, instrument.price_scale)
    return _build(
        "AP",
        [
            (721, text_value(report_id)),
            (710, _opt_text(request_id)),
            (724, 0),
            (727, total_reports),
            (728, int(PosReqResult.VALID)),
            (715, _business_day(update.ts_ns)),
            (453, 0),
            (1, text_value(update.account)),
            (581, 1),
            (55, text_value(update.instrument)),
            (15, text_value(instrument.currency)),
            (730, settle),
            (731, 2),
            (734, settle),
            (702, 1),
            (703, "TQ"),
            (704, max(update.quantity, 0)),
            (705, max(-update.quantity, 0)),
            (753, 1),
            (707, "FMTM"),
            (708, money_value(update.unrealized)),
            (POS_COST, format_ticks(update.cost, instrument.price_scale)),
            (REALIZED_PNL, money_value(update.realized)),
            (UNREALIZED_PNL, money_value(update.unrealized)),
            (POS_FEES, money_value(update.fees)),
            (POS_TIME, timestamp_value(update.ts_ns)),
            (START_REALIZED_PNL, money_value(update.start_realized)),
            (START_FEES, money_value(update.start_fees)),
            (START_UNREALIZED_PNL, None if update.start_unrealized is None else money_value(update.start_unrealized)),
        ],
    )


def encode_no_positions(
    request: PositionRequest,
    *,
    report_id: str,
    result: PosReqResult = PosReqResult.NO_POSITIONS_FOUND,
    ts_ns: Nanos = 0,
    text: str = "",
) -> FixMessage:
    """PositionReport (AP) answering ``request`` with no position: PosReqResult (728) says why."""
    return _build(
        "AP",
        [
            (721, text_value(report_id)),
            (710, text_value(request.request_id)),
            (724, 0),
            (727, 0),
            (728, int(result)),
            (715, _business_day(ts_ns)),
            (453, 0),
            (1, text_value(request.account)),
            (581, 1),
            (730, 0),
            (731, 2),
            (734, 0),
            (702, 0),
            (753, 0),
            (58, _opt_text(text)),
        ],
    )


_POSITION_MEMBERS = frozenset({703, 704, 705, 706})


def _day_start(r: FieldReader, message: FixMessage) -> tuple[Money, Money, Money | None]:
    """Realized P&L, fees and unrealized P&L of the position when the trading day began (a report without them,
    from an engine that keeps no day: flat, so the day is all of it)."""
    if not message.get(START_REALIZED_PNL):
        return 0, 0, 0
    unrealized = r.money(START_UNREALIZED_PNL) if message.get(START_UNREALIZED_PNL) else None
    return r.money(START_REALIZED_PNL), r.money(START_FEES, default=0), unrealized


def decode_position_report(message: FixMessage, instruments: Mapping[str, Instrument]) -> PositionReport:
    """The :class:`PositionReport` of an AP message (``update`` is None unless PosReqResult (728) is 0)."""
    r = FieldReader(message)
    report_id = r.text(721)
    result = PosReqResult(r.integer(728))
    request_id = r.optional_text(710)
    total = r.integer(727) if message.get(727) else None
    if result is not PosReqResult.VALID:
        return PositionReport(
            report_id=report_id, update=None, request_id=request_id, total_reports=total, result=result
        )
    instrument = r.instrument(instruments, BusinessRejectReason.UNKNOWN_SECURITY)
    quantity = 0
    for entry in r.entries(702, 703, _POSITION_MEMBERS):
        e = r.entry(entry)
        long_qty = e.quantity(704) if entry.get(704) else 0
        short_qty = e.quantity(705) if entry.get(705) else 0
        quantity += long_qty - short_qty
    start_realized, start_fees, start_unrealized = _day_start(r, message)
    update = PositionUpdate(
        account=r.text(1),
        instrument=instrument.symbol,
        ts_ns=r.time(POS_TIME, default=0),
        quantity=quantity,
        cost=r.price(POS_COST, instrument) if message.get(POS_COST) else 0,
        realized=r.money(REALIZED_PNL, default=0),
        unrealized=r.money(UNREALIZED_PNL, default=0),
        fees=r.money(POS_FEES, default=0),
        start_realized=start_realized,
        start_fees=start_fees,
        start_unrealized=start_unrealized,
    )
    return PositionReport(
        report_id=report_id,
        update=update,
        request_id=request_id,
        total_reports=total,
        result=result,
        mark=r.price(730, instrument),
    )


# --- business message reject and the answer to a FixAppError ------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class BusinessReject:
    """A BusinessMessageReject (j)."""

    ref_msg_type: str
    reason: BusinessRejectReason
    text: str = ""
    ref_seq_num: int | None = None
    ref_id: str | None = None


def encode_business_reject(reject: BusinessReject) -> FixMessage:
    """BusinessMessageReject (j) of ``reject``."""
    return _build(
        "j",
        [
            (45, reject.ref_seq_num),
            (372, text_value(reject.ref_msg_type)),
            (379, _opt_text(reject.ref_id)),
            (380, int(reject.reason)),
            (58, _opt_text(reject.text)),
        ],
    )


def decode_business_reject(message: FixMessage) -> BusinessReject:
    """The :class:`BusinessReject` of a j message."""
    r = FieldReader(message)
    return BusinessReject(
        ref_msg_type=r.text(372),
        reason=BusinessRejectReason(r.integer(380)),
        text=r.optional_text(58) or "",
        ref_seq_num=r.integer(45) if message.get(45) else None,
        ref_id=r.optional_text(379),
    )


def _with_ref_tag(error: FixAppError) -> str:
    if error.ref_tag is None or f"({error.ref_tag})" in error.text:
        return error.text
    return f"{error.text} (tag {error.ref_tag})"


def encode_app_reject(
    error: FixAppError,
    *,
    ts_ns: Nanos,
    exec_id: str = "",
    ref_seq_num: int | None = None,
    order_id: str = "",
    ord_status: OrdStatus | None = None,
) -> FixMessage:
    """The answer :attr:`FixAppError.answer` calls for, built from the error and the offending request.

    ``exec_id`` is the ExecID (17) of an order reject; ``ref_seq_num`` the request's MsgSeqNum (RefSeqNum, 45,
    of a BusinessMessageReject); ``order_id``/``ord_status`` the order a refused cancel or replace is about, when
    the server knows it (OrderCancelReject carries ``NONE`` / 8 otherwise).
    """
    request = error.request
    stamp = timestamp_value(ts_ns)
    text = text_value(_with_ref_tag(error))
    if error.answer is RejectAs.BUSINESS:
        return encode_business_reject(
            BusinessReject(
                ref_msg_type=error.ref_msg_type,
                reason=BusinessRejectReason(int(error.reason)),
                text=_with_ref_tag(error),
                ref_seq_num=ref_seq_num,
                ref_id=error.ref_id,
            )
        )
    if error.answer is RejectAs.ORDER:
        quantity = request.get(38)
        if quantity is not None:
            try:
                parse_ticks(quantity, 0)
            except ValueError:
                quantity = None
        return _build(
            "8",
            [
                (37, text_value(order_id or "NONE")),
                (11, request.get(11)),
                (17, text_value(exec_id or "NONE")),
                (150, ExecType.REJECTED.value),
                (39, OrdStatus.REJECTED.value),
                (103, error.reason),
                (1, request.get(1)),
                (55, request.get(55)),
                (54, request.get(54)),
                (38, quantity),
                (151, 0),
                (14, 0),
                (6, 0),
                (60, stamp),
                (58, text),
            ],
        )
    if error.answer is RejectAs.CANCEL:
        return _build(
            "9",
            [
                (37, text_value(order_id or "NONE")),
                (11, request.get(11)),
                (41, request.get(41) or b"NONE"),
                (39, (ord_status or OrdStatus.REJECTED).value),
                (1, request.get(1)),
                (60, stamp),
                (434, "2" if request.msg_type == "G" else "1"),
                (102, error.reason),
                (58, text),
            ],
        )
    if error.answer is RejectAs.MASS_CANCEL:
        kind = request.get(530)
        return _build(
            "r",
            [
                (11, request.get(11)),
                (37, text_value(order_id or "NONE")),
                (530, kind if kind and kind in b"1234567" and len(kind) == 1 else b"7"),
                (531, "0"),
                (532, error.reason),
                (60, stamp),
                (58, text),
            ],
        )
    if error.answer is RejectAs.MARKET_DATA:
        return _build("Y", [(262, request.get(262)), (281, error.reason), (58, text)])
    request_id = request.get(320) or b"NONE"
    return _build("y", [(320, request_id), (322, request_id), (560, error.reason)])
