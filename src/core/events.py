"""Events: what happened, published on the engine's bus to strategies, panels and FIX sessions. Immutable."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import numpy.typing as npt

from core.enums import ExecType, Liquidity, OrderType, OrdStatus, Side
from core.numbers import Money, Nanos, Price, Quantity

BID = 0
ASK = 1


@dataclass(frozen=True, slots=True, kw_only=True)
class BookUpdate:
    """L2 changes of one instrument's book over one publication interval, and the top of book after them.

    ``deltas`` is a read-only ``int64`` array of shape ``(n, 3)``: ``side`` (``BID`` 0 / ``ASK`` 1), ``price``
    and the level's new total quantity (0: the level is gone). Each level appears at most once per update.
    ``message_count`` is the number of exchange messages the update summarises.
    """

    instrument: str
    ts_ns: Nanos
    sequence: int
    deltas: npt.NDArray[np.int64]
    best_bid: Price | None
    best_bid_qty: Quantity
    best_ask: Price | None
    best_ask_qty: Quantity
    message_count: int = 0

    @property
    def mid_x2(self) -> Price | None:
        """Twice the mid price (an integer), or None when a side is empty."""
        if self.best_bid is None or self.best_ask is None:
            return None
        return self.best_bid + self.best_ask


@dataclass(frozen=True, slots=True, kw_only=True)
class TradeTick:
    """A trade printed on the market."""

    instrument: str
    ts_ns: Nanos
    price: Price
    quantity: Quantity
    aggressor: Side
    match_id: int


class OrderAction(StrEnum):
    """Order-level (L3) book actions, named as ITCH does."""

    ADD = "A"
    EXECUTE = "E"
    CANCEL = "X"
    DELETE = "D"
    REPLACE = "U"


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderBookAction:
    """One order-level change of a venue's own book: an order added, executed, reduced, deleted or replaced."""

    instrument: str
    ts_ns: Nanos
    action: OrderAction
    order_ref: int
    side: Side
    price: Price
    quantity: Quantity


@dataclass(frozen=True, slots=True, kw_only=True)
class ExecutionReport:
    """A change of one order's state, as FIX's ExecutionReport (35=8) reports it.

    ``quantity`` is the order quantity after the event, ``last_qty``/``last_price`` describe the fill of a
    ``TRADE`` report, ``fee`` is the fee of that fill (negative for a rebate), ``reason`` explains rejects and
    cancels (FIX Text, 58). A ``TRADE_CANCEL`` report (a bust) names the fill it breaks in ``ref_exec_id`` (FIX
    ExecRefID, 19) and describes that fill in ``last_qty``/``last_price``/``fee``; its ``cum_qty`` is the order's
    without it. Every other report leaves ``ref_exec_id`` empty.
    """

    exec_id: str
    order_id: str
    client_order_id: str
    account: str
    instrument: str
    side: Side
    order_type: OrderType
    exec_type: ExecType
    ord_status: OrdStatus
    quantity: Quantity
    price: Price | None
    cum_qty: Quantity
    leaves_qty: Quantity
    ts_ns: Nanos
    last_qty: Quantity = 0
    last_price: Price | None = None
    fee: Money = 0
    liquidity: Liquidity = Liquidity.NONE
    reason: str = ""
    venue: str = ""
    strategy_id: str | None = None
    ref_exec_id: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class CancelReject:
    """A cancel or replace request that could not be carried out (FIX OrderCancelReject, 35=9).

    ``order_id`` is empty when the client order id was unknown; the order, if any, keeps its state.
    """

    client_order_id: str
    order_id: str
    account: str
    ts_ns: Nanos
    reason: str
    is_replace: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class PositionUpdate:
    """A position after a fill or a mark change, or as the trading day begins. ``cost`` is the signed sum of
    price x quantity still open.

    ``start_realized``, ``start_fees`` and ``start_unrealized`` are where the position stood when the trading day
    began (zero: it began the day flat); the day's P&L is what changed since. ``start_unrealized`` is None while
    the open P&L of the start is not known (no mark yet at the roll): the day's open P&L then counts from the
    first mark."""

    account: str
    instrument: str
    ts_ns: Nanos
    quantity: Quantity
    cost: int
    realized: Money
    unrealized: Money
    fees: Money
    start_realized: Money = 0
    start_fees: Money = 0
    start_unrealized: Money | None = 0


class RiskEventKind(StrEnum):
    REJECT = "reject"
    BREACH = "breach"
    KILL_SWITCH = "kill_switch"
    RELEASE = "release"
    LIMITS = "limits"
    """Risk limits of an account changed while the engine runs (``check`` names the changed checks)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class RiskEvent:
    """A risk decision worth auditing: a rejected order, a breached limit, the kill switch, a change of limits."""

    ts_ns: Nanos
    kind: RiskEventKind
    check: str
    reason: str
    account: str | None = None
    instrument: str | None = None
    client_order_id: str | None = None


class EngineState(StrEnum):
    STARTING = "starting"
    RUNNING = "running"
    STOPPING = "stopping"
    STOPPED = "stopped"


@dataclass(frozen=True, slots=True, kw_only=True)
class EngineStatus:
    """The engine's lifecycle and notable conditions (a plugin disabled, a venue down)."""

    ts_ns: Nanos
    state: EngineState
    message: str = ""


Event = (
    BookUpdate
    | TradeTick
    | OrderBookAction
    | ExecutionReport
    | CancelReject
    | PositionUpdate
    | RiskEvent
    | EngineStatus
)
