"""Commands: what a strategy, a desktop or a FIX session asks the engine to do. Immutable and typed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from core.enums import OrderType, Side, TimeInForce
from core.numbers import Nanos, Price, Quantity


class SubmitOrder(NamedTuple):
    """A request for a new order. ``client_order_id`` must be unique per engine; a duplicate is rejected.

    ``price`` is required for limit orders and must be ``None`` for market orders. Build it with keywords.
    (A typed named tuple rather than a frozen dataclass: it is built on every order of every strategy, on the
    tick-to-order path, and costs a third as much to construct.)
    """

    client_order_id: str
    account: str
    instrument: str
    side: Side
    quantity: Quantity
    order_type: OrderType = OrderType.LIMIT
    price: Price | None = None
    time_in_force: TimeInForce = TimeInForce.DAY
    strategy_id: str | None = None
    ts_ns: Nanos = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class CancelOrder:
    """A request to cancel the working order known by ``client_order_id``."""

    client_order_id: str
    account: str
    ts_ns: Nanos = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class ReplaceOrder:
    """A request to change price and/or quantity of a working order; ``None`` keeps the current value.

    ``quantity`` is the new total order quantity (as FIX OrderQty on a cancel/replace), not the remainder.
    """

    client_order_id: str
    account: str
    quantity: Quantity | None = None
    price: Price | None = None
    ts_ns: Nanos = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class CancelAll:
    """Cancel every working order, narrowed to an account, an instrument and/or a strategy when given."""

    account: str | None = None
    instrument: str | None = None
    strategy_id: str | None = None
    ts_ns: Nanos = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class KillSwitch:
    """Engage (cancel everything, block new orders) or release the kill switch, with a reason for the audit."""

    engaged: bool
    reason: str
    account: str | None = None
    ts_ns: Nanos = 0


Command = SubmitOrder | CancelOrder | ReplaceOrder | CancelAll | KillSwitch
