"""ITCH 5.0 messages: one frozen dataclass per message type, and the wire layout derived from it.

Every message starts with the same 11 bytes: type (1), stock locate (2), tracking number (2) and a 6-byte
timestamp (nanoseconds since midnight). The fields that follow are declared on each class in wire order with
``Annotated`` markers giving their wire width; :data:`LAYOUTS` is built from those declarations, so the classes,
the ``struct`` codecs of :mod:`engine.itch.decode` and :mod:`engine.itch.encode`, and the numpy dtypes all share one
source. All integers are unsigned big-endian; prices are integers with 4 implied decimals (8 for the MWCB levels
of ``V``); alpha fields are ASCII, left-justified and space padded on the wire and stripped of that padding here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, ClassVar, Final

import numpy as np

from engine.wire import Alpha, FieldLayout, Timestamp, UInt, wire_fields

U1 = Annotated[int, UInt(1)]
U2 = Annotated[int, UInt(2)]
U4 = Annotated[int, UInt(4)]
U8 = Annotated[int, UInt(8)]
Price4 = Annotated[int, UInt(4)]
"""A price with 4 implied decimals (uint32)."""
Price8 = Annotated[int, UInt(8)]
"""A price with 8 implied decimals (uint64), used by the MWCB decline levels."""
Char = Annotated[str, Alpha(1)]
Mpid = Annotated[str, Alpha(4)]
Stock = Annotated[str, Alpha(8)]
Nanos6 = Annotated[int, Timestamp()]

HEADER_SIZE: Final = 11
"""Bytes of the common prefix: type, stock locate, tracking number, timestamp."""
TIMESTAMP_MAX: Final = (1 << 48) - 1
"""Largest value the 6-byte timestamp holds."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Message:
    """The fields every ITCH 5.0 message carries; ``TYPE`` is the message type letter of a concrete class."""

    TYPE: ClassVar[str] = ""
    stock_locate: U2
    tracking_number: U2
    timestamp: Nanos6


@dataclass(frozen=True, slots=True, kw_only=True)
class SystemEvent(Message):
    """S: a system event (``event_code`` O, S, Q, M, E or C); stock locate 0."""

    TYPE: ClassVar[str] = "S"
    event_code: Char


@dataclass(frozen=True, slots=True, kw_only=True)
class StockDirectory(Message):
    """R: one security of the day and the stock locate that names it in every later message."""

    TYPE: ClassVar[str] = "R"
    stock: Stock
    market_category: Char
    financial_status: Char
    round_lot_size: U4
    round_lots_only: Char
    issue_classification: Char
    issue_subtype: Annotated[str, Alpha(2)]
    authenticity: Char
    short_sale_threshold: Char
    ipo_flag: Char
    luld_tier: Char
    etp_flag: Char
    etp_leverage_factor: U4
    inverse_indicator: Char


@dataclass(frozen=True, slots=True, kw_only=True)
class StockTradingAction(Message):
    """H: the trading state of a security (halted, paused, quotation only, trading)."""

    TYPE: ClassVar[str] = "H"
    stock: Stock
    trading_state: Char
    reserved: Char
    reason: Annotated[str, Alpha(4)]


@dataclass(frozen=True, slots=True, kw_only=True)
class RegSho(Message):
    """Y: Reg SHO short sale price test restriction."""

    TYPE: ClassVar[str] = "Y"
    stock: Stock
    reg_sho_action: Char


@dataclass(frozen=True, slots=True, kw_only=True)
class MarketParticipantPosition(Message):
    """L: a market participant's status in one security."""

    TYPE: ClassVar[str] = "L"
    mpid: Mpid
    stock: Stock
    primary_market_maker: Char
    market_maker_mode: Char
    participant_state: Char


@dataclass(frozen=True, slots=True, kw_only=True)
class MwcbDeclineLevel(Message):
    """V: market-wide circuit breaker decline levels (prices with 8 implied decimals)."""

    TYPE: ClassVar[str] = "V"
    level1: Price8
    level2: Price8
    level3: Price8


@dataclass(frozen=True, slots=True, kw_only=True)
class MwcbStatus(Message):
    """W: a market-wide circuit breaker level was breached."""

    TYPE: ClassVar[str] = "W"
    breached_level: Char


@dataclass(frozen=True, slots=True, kw_only=True)
class IpoQuotingPeriod(Message):
    """K: anticipated quotation release time of an IPO (seconds since midnight)."""

    TYPE: ClassVar[str] = "K"
    stock: Stock
    release_time: U4
    release_qualifier: Char
    ipo_price: Price4


@dataclass(frozen=True, slots=True, kw_only=True)
class LuldAuctionCollar(Message):
    """J: limit up-limit down auction collar."""

    TYPE: ClassVar[str] = "J"
    stock: Stock
    reference_price: Price4
    upper_price: Price4
    lower_price: Price4
    extension: U4


@dataclass(frozen=True, slots=True, kw_only=True)
class OperationalHalt(Message):
    """h: operational halt of a security on one market."""

    TYPE: ClassVar[str] = "h"
    stock: Stock
    market_code: Char
    halt_action: Char


@dataclass(frozen=True, slots=True, kw_only=True)
class AddOrder(Message):
    """A: a new displayed order, without attribution. ``side`` is ``"B"`` (buy) or ``"S"`` (sell)."""

    TYPE: ClassVar[str] = "A"
    order_ref: U8
    side: Char
    shares: U4
    stock: Stock
    price: Price4


@dataclass(frozen=True, slots=True, kw_only=True)
class AddOrderMpid(Message):
    """F: a new displayed order attributed to a market participant."""

    TYPE: ClassVar[str] = "F"
    order_ref: U8
    side: Char
    shares: U4
    stock: Stock
    price: Price4
    attribution: Mpid


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderExecuted(Message):
    """E: part or all of a resting order executed at its own price."""

    TYPE: ClassVar[str] = "E"
    order_ref: U8
    executed_shares: U4
    match_number: U8


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderExecutedWithPrice(Message):
    """C: part or all of a resting order executed at a price other than its own."""

    TYPE: ClassVar[str] = "C"
    order_ref: U8
    executed_shares: U4
    match_number: U8
    printable: Char
    execution_price: Price4


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderCancel(Message):
    """X: part of a resting order cancelled; it keeps its place."""

    TYPE: ClassVar[str] = "X"
    order_ref: U8
    cancelled_shares: U4


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderDelete(Message):
    """D: a resting order removed."""

    TYPE: ClassVar[str] = "D"
    order_ref: U8


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderReplace(Message):
    """U: an order replaced by a new one (same side), which goes to the back of its price level."""

    TYPE: ClassVar[str] = "U"
    original_order_ref: U8
    new_order_ref: U8
    shares: U4
    price: Price4


@dataclass(frozen=True, slots=True, kw_only=True)
class Trade(Message):
    """P: an execution against a non-displayed order; the displayed book does not change."""

    TYPE: ClassVar[str] = "P"
    order_ref: U8
    side: Char
    shares: U4
    stock: Stock
    price: Price4
    match_number: U8


@dataclass(frozen=True, slots=True, kw_only=True)
class CrossTrade(Message):
    """Q: the bulk print of a cross (opening, closing, IPO, halt)."""

    TYPE: ClassVar[str] = "Q"
    shares: U8
    stock: Stock
    cross_price: Price4
    match_number: U8
    cross_type: Char


@dataclass(frozen=True, slots=True, kw_only=True)
class BrokenTrade(Message):
    """B: an execution was broken."""

    TYPE: ClassVar[str] = "B"
    match_number: U8


@dataclass(frozen=True, slots=True, kw_only=True)
class Noii(Message):
    """I: net order imbalance indicator of an upcoming cross."""

    TYPE: ClassVar[str] = "I"
    paired_shares: U8
    imbalance_shares: U8
    imbalance_direction: Char
    stock: Stock
    far_price: Price4
    near_price: Price4
    current_reference_price: Price4
    cross_type: Char
    price_variation: Char


@dataclass(frozen=True, slots=True, kw_only=True)
class RetailInterest(Message):
    """N: retail price improvement indicator."""

    TYPE: ClassVar[str] = "N"
    stock: Stock
    interest_flag: Char


@dataclass(frozen=True, slots=True, kw_only=True)
class DirectListingPriceDiscovery(Message):
    """O: direct listing with capital raise price discovery."""

    TYPE: ClassVar[str] = "O"
    stock: Stock
    open_eligibility: Char
    minimum_price: Price4
    maximum_price: Price4
    near_execution_price: Price4
    near_execution_time: U8
    lower_price_collar: Price4
    upper_price_collar: Price4


@dataclass(frozen=True, slots=True)
class Layout:
    """The wire layout of one message type (``letter``): its class, total length and fields after the type byte."""

    letter: str
    cls: type[Message]
    length: int
    fields: tuple[FieldLayout, ...]


def _layout(cls: type[Message]) -> Layout:
    fields, length = wire_fields(cls)
    return Layout(cls.TYPE, cls, length, fields)


MESSAGE_CLASSES: Final[tuple[type[Message], ...]] = (
    SystemEvent,
    StockDirectory,
    StockTradingAction,
    RegSho,
    MarketParticipantPosition,
    MwcbDeclineLevel,
    MwcbStatus,
    IpoQuotingPeriod,
    LuldAuctionCollar,
    OperationalHalt,
    AddOrder,
    AddOrderMpid,
    OrderExecuted,
    OrderExecutedWithPrice,
    OrderCancel,
    OrderDelete,
    OrderReplace,
    Trade,
    CrossTrade,
    BrokenTrade,
    Noii,
    RetailInterest,
    DirectListingPriceDiscovery,
)

LAYOUTS: Final[dict[str, Layout]] = {cls.TYPE: _layout(cls) for cls in MESSAGE_CLASSES}
"""The layout of every ITCH 5.0 message type, by type letter."""

MESSAGE_LENGTHS: Final[dict[str, int]] = {letter: layout.length for letter, layout in LAYOUTS.items()}
"""Total length in bytes (type byte included) of every message type."""


def wire_dtype(message_type: str) -> np.dtype[np.void]:
    """The numpy structured dtype of one message type exactly as on the wire (big-endian, packed).

    The type byte is the field ``type``; the timestamp is split into ``timestamp_hi`` (upper 2 bytes) and
    ``timestamp_lo`` (lower 4 bytes) because numpy has no 6-byte integer; alpha fields are ``S<n>`` bytes.
    """
    layout = LAYOUTS[message_type]
    spec: list[tuple[str, str]] = [("type", "S1")]
    for field in layout.fields:
        kind = field.kind
        if isinstance(kind, Timestamp):
            spec += [(f"{field.name}_hi", ">u2"), (f"{field.name}_lo", ">u4")]
        elif isinstance(kind, UInt):
            spec.append((field.name, f">u{kind.size}"))
        else:
            spec.append((field.name, f"S{kind.size}"))
    dtype = np.dtype(spec)
    assert dtype.itemsize == layout.length, message_type
    return dtype
