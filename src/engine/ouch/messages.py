"""OUCH 4.2 messages: one frozen dataclass per message type, fields declared in wire order with their width.

Inbound messages go from the firm to the exchange (Enter, Replace, Cancel, Modify), outbound messages from the
exchange to the firm; every outbound message starts with an 8-byte timestamp (nanoseconds since midnight). The
``Annotated`` markers give each field's wire width, and :mod:`engine.ouch.codec` derives its ``struct`` layouts from
them, so the classes are the single source of the layouts. Integers are unsigned big-endian; prices are uint32 with
4 implied decimals; alpha fields are ASCII, left-justified and space padded on the wire and stripped of that
padding here. One-letter codes (side, display, reasons) are kept as the letter.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, ClassVar, Final

from engine.wire import Alpha, UInt

U4 = Annotated[int, UInt(4)]
U8 = Annotated[int, UInt(8)]
Price = Annotated[int, UInt(4)]
"""A price with 4 implied decimals (uint32)."""
Char = Annotated[str, Alpha(1)]
Token = Annotated[str, Alpha(14)]
"""An order token: up to 14 ASCII characters, day-unique per OUCH account."""
Stock = Annotated[str, Alpha(8)]
Firm = Annotated[str, Alpha(4)]

TOKEN_SIZE: Final = 14
STOCK_SIZE: Final = 8
PRICE_MAX: Final = 0xFFFF_FFFF
MARKET_PRICE: Final = 0x7FFF_FFFF
"""The special price (214,748.3647) that marks a market order."""
TIF_IOC: Final = 0
"""Time in force 0: immediate or cancel."""
TIF_MARKET_HOURS: Final = 99_998
"""Time in force: live until the end of the market hours (a day order)."""
TIF_SYSTEM_HOURS: Final = 99_999
"""Time in force: live until the end of the system hours."""

SIDES: Final = frozenset({"B", "S", "T", "E"})
"""Buy, sell, sell short, sell short exempt."""

CANCEL_REASONS: Final = {
    "U": "user requested cancel",
    "I": "immediate or cancel order",
    "T": "timeout",
    "S": "supervisory",
    "D": "regulatory restriction",
    "Q": "self-match prevention",
    "Z": "system cancel",
    "C": "cross canceled",
    "K": "market collars",
    "H": "halted",
    "X": "open protection",
    "E": "closed",
}
"""Cancel reason codes of the Canceled and AIQ Canceled messages."""

REJECT_REASONS: Final = {
    "T": "test mode",
    "H": "halted",
    "Z": "shares exceed the configured safety threshold",
    "S": "invalid stock",
    "D": "invalid display type",
    "C": "exchange closed",
    "L": "firm not authorized for clearing",
    "M": "outside of permitted times for clearing destination",
    "R": "not allowed in this type of cross",
    "X": "invalid price",
    "N": "invalid minimum quantity",
    "Y": "no shares found for routing",
    "O": "other",
}
"""Reject reason codes of the Rejected message."""

BROKEN_REASONS: Final = {"E": "erroneous", "C": "consent", "S": "supervisory", "X": "external"}
"""Reason codes of the Broken Trade and Trade Correction messages."""


# --- inbound ------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class EnterOrder:
    """O: a new order. ``price`` is :data:`MARKET_PRICE` for a market order; ``time_in_force`` in seconds (0 IOC)."""

    TYPE: ClassVar[str] = "O"
    order_token: Token
    side: Char
    shares: U4
    stock: Stock
    price: Price
    time_in_force: U4
    firm: Firm
    display: Char
    capacity: Char
    intermarket_sweep: Char
    minimum_quantity: U4
    cross_type: Char
    customer_type: Char


@dataclass(frozen=True, slots=True, kw_only=True)
class ReplaceOrder:
    """U: replace an order by a new one with a new token; ``shares`` is the replacement's open quantity."""

    TYPE: ClassVar[str] = "U"
    existing_order_token: Token
    replacement_order_token: Token
    shares: U4
    price: Price
    time_in_force: U4
    display: Char
    intermarket_sweep: Char
    minimum_quantity: U4


@dataclass(frozen=True, slots=True, kw_only=True)
class CancelOrder:
    """X: reduce an order to ``shares`` open shares (0 cancels it)."""

    TYPE: ClassVar[str] = "X"
    order_token: Token
    shares: U4


@dataclass(frozen=True, slots=True, kw_only=True)
class ModifyOrder:
    """M: change an order's side (between sell flavours) and/or reduce it to ``shares``."""

    TYPE: ClassVar[str] = "M"
    order_token: Token
    side: Char
    shares: U4


InboundMessage = EnterOrder | ReplaceOrder | CancelOrder | ModifyOrder
INBOUND_TYPES: Final[tuple[type[InboundMessage], ...]] = (EnterOrder, ReplaceOrder, CancelOrder, ModifyOrder)


# --- outbound -----------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class SystemEvent:
    """S: start of day ('S') or end of day ('E')."""

    TYPE: ClassVar[str] = "S"
    timestamp: U8
    event_code: Char


@dataclass(frozen=True, slots=True, kw_only=True)
class Accepted:
    """A: an order was accepted; ``order_state`` is 'L' (live) or 'D' (dead)."""

    TYPE: ClassVar[str] = "A"
    timestamp: U8
    order_token: Token
    side: Char
    shares: U4
    stock: Stock
    price: Price
    time_in_force: U4
    firm: Firm
    display: Char
    order_reference_number: U8
    capacity: Char
    intermarket_sweep: Char
    minimum_quantity: U4
    cross_type: Char
    order_state: Char
    bbo_weight_indicator: Char


@dataclass(frozen=True, slots=True, kw_only=True)
class Replaced:
    """U: an order was replaced; the new order is ``replacement_order_token``, the old one is gone."""

    TYPE: ClassVar[str] = "U"
    timestamp: U8
    replacement_order_token: Token
    side: Char
    shares: U4
    stock: Stock
    price: Price
    time_in_force: U4
    firm: Firm
    display: Char
    order_reference_number: U8
    capacity: Char
    intermarket_sweep: Char
    minimum_quantity: U4
    cross_type: Char
    order_state: Char
    previous_order_token: Token
    bbo_weight_indicator: Char


@dataclass(frozen=True, slots=True, kw_only=True)
class Canceled:
    """C: ``decrement_shares`` of an order were canceled (see :data:`CANCEL_REASONS`)."""

    TYPE: ClassVar[str] = "C"
    timestamp: U8
    order_token: Token
    decrement_shares: U4
    reason: Char


@dataclass(frozen=True, slots=True, kw_only=True)
class AiqCanceled:
    """D: shares canceled by anti-internalization (self-match prevention), with what was prevented."""

    TYPE: ClassVar[str] = "D"
    timestamp: U8
    order_token: Token
    decrement_shares: U4
    reason: Char
    quantity_prevented_from_trading: U4
    execution_price: Price
    liquidity_flag: Char


@dataclass(frozen=True, slots=True, kw_only=True)
class Executed:
    """E: part or all of an order executed; ``liquidity_flag`` 'A' added, 'R' removed liquidity."""

    TYPE: ClassVar[str] = "E"
    timestamp: U8
    order_token: Token
    executed_shares: U4
    execution_price: Price
    liquidity_flag: Char
    match_number: U8


@dataclass(frozen=True, slots=True, kw_only=True)
class BrokenTrade:
    """B: an execution was broken (see :data:`BROKEN_REASONS`)."""

    TYPE: ClassVar[str] = "B"
    timestamp: U8
    order_token: Token
    match_number: U8
    reason: Char


@dataclass(frozen=True, slots=True, kw_only=True)
class ExecutedWithReferencePrice:
    """G: an execution that carries a reference price (e.g. for trade-through exempt executions)."""

    TYPE: ClassVar[str] = "G"
    timestamp: U8
    order_token: Token
    executed_shares: U4
    execution_price: Price
    liquidity_flag: Char
    match_number: U8
    reference_price: Price
    reference_price_type: Char


@dataclass(frozen=True, slots=True, kw_only=True)
class TradeCorrection:
    """F: an execution was corrected to the shares and price given."""

    TYPE: ClassVar[str] = "F"
    timestamp: U8
    order_token: Token
    executed_shares: U4
    execution_price: Price
    liquidity_flag: Char
    match_number: U8
    reason: Char


@dataclass(frozen=True, slots=True, kw_only=True)
class Rejected:
    """J: an Enter Order was rejected (see :data:`REJECT_REASONS`)."""

    TYPE: ClassVar[str] = "J"
    timestamp: U8
    order_token: Token
    reason: Char


@dataclass(frozen=True, slots=True, kw_only=True)
class CancelPending:
    """P: a cancel was received but cannot be carried out at once (it will be when possible)."""

    TYPE: ClassVar[str] = "P"
    timestamp: U8
    order_token: Token


@dataclass(frozen=True, slots=True, kw_only=True)
class CancelReject:
    """I: a cancel (or replace) request for the order could not be carried out."""

    TYPE: ClassVar[str] = "I"
    timestamp: U8
    order_token: Token


@dataclass(frozen=True, slots=True, kw_only=True)
class PriorityUpdate:
    """T: an order's price or display changed (and with it its priority)."""

    TYPE: ClassVar[str] = "T"
    timestamp: U8
    order_token: Token
    price: Price
    display: Char
    order_reference_number: U8


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderModified:
    """M: an order's side and/or open shares changed after a Modify Order."""

    TYPE: ClassVar[str] = "M"
    timestamp: U8
    order_token: Token
    side: Char
    shares: U4


OutboundMessage = (
    SystemEvent
    | Accepted
    | Replaced
    | Canceled
    | AiqCanceled
    | Executed
    | BrokenTrade
    | ExecutedWithReferencePrice
    | TradeCorrection
    | Rejected
    | CancelPending
    | CancelReject
    | PriorityUpdate
    | OrderModified
)
OUTBOUND_TYPES: Final[tuple[type[OutboundMessage], ...]] = (
    SystemEvent,
    Accepted,
    Replaced,
    Canceled,
    AiqCanceled,
    Executed,
    BrokenTrade,
    ExecutedWithReferencePrice,
    TradeCorrection,
    Rejected,
    CancelPending,
    CancelReject,
    PriorityUpdate,
    OrderModified,
)

Message = InboundMessage | OutboundMessage
