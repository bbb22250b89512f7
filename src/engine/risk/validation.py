"""Basic order validation that always runs before the configurable checks (and cannot be switched off)."""

from __future__ import annotations

from core.commands import ReplaceOrder, SubmitOrder
from core.contracts import RiskView
from core.enums import OrderType
from core.instruments import Instrument
from core.numbers import Price, Quantity
from core.orders import Order
from engine.text import price_text


def validate_request(request: SubmitOrder, view: RiskView) -> str | None:
    """None when ``request`` is a well-formed order, else the reason it is not.

    Refused: an instrument the engine does not know, a quantity that is not a positive whole number of lots,
    a limit order without a price or with one that is not positive or off the tick grid, a market order with a
    price.
    """
    instrument = view.instrument(request.instrument)
    if instrument is None:
        return f"unknown instrument {request.instrument}"
    # The common case (a whole, positive quantity and a positive limit price on the grid) without extra calls.
    quantity, price = request.quantity, request.price
    if (
        quantity > 0
        and not quantity % instrument.lot_size
        and price is not None
        and price > 0
        and not price % instrument.tick_size
        and request.order_type is OrderType.LIMIT
    ):
        return None
    return _quantity_problem(instrument, quantity) or _price_problem(instrument, request.order_type, price)


def validate_replace(order: Order, request: ReplaceOrder, view: RiskView) -> str | None:
    """None when ``request`` may change ``order``, else the reason it may not.

    The new total quantity follows the same rules as a new order's and must exceed what is already filled; a
    new price follows the rules of the order's type.
    """
    instrument = view.instrument(order.instrument)
    if instrument is None:
        return f"unknown instrument {order.instrument}"
    if request.quantity is not None:
        problem = _quantity_problem(instrument, request.quantity)
        if problem is not None:
            return problem
        if request.quantity <= order.cum_qty:
            return f"new quantity {request.quantity} does not exceed the filled quantity {order.cum_qty}"
    if request.price is None:
        return None
    return _price_problem(instrument, order.order_type, request.price)


def _quantity_problem(instrument: Instrument, quantity: Quantity) -> str | None:
    if quantity <= 0:
        return f"quantity must be positive, got {quantity}"
    if quantity % instrument.lot_size:
        return f"quantity {quantity} is not a whole number of lots of {instrument.lot_size}"
    return None


def _price_problem(instrument: Instrument, order_type: OrderType, price: Price | None) -> str | None:
    if order_type is OrderType.MARKET:
        return None if price is None else "a market order must not carry a price"
    if price is None:
        return "a limit order needs a price"
    if price <= 0:
        return f"limit price must be positive, got {price_text(instrument, price)}"
    if price % instrument.tick_size:
        tick = price_text(instrument, instrument.tick_size)
        return f"limit price {price_text(instrument, price)} is off the tick grid (tick {tick})"
    return None
