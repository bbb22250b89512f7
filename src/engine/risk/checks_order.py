"""Built-in checks that judge an order on its own: size, value, price band and restricted instruments."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from core.commands import ReplaceOrder, SubmitOrder
from core.contracts import RiskCheck, RiskCheckSpec, RiskView
from core.enums import OrderType
from core.orders import Order
from core.params import Param, ParamError, ParamValue
from engine.risk.common import limit_param, positive_int, positive_money, ticks_text
from engine.text import decimal_text, money_text, price_text


class MaxOrderQuantity(RiskCheck):
    """Vetoes an order whose quantity exceeds ``limit``; on a replace, the new total quantity is judged."""

    name = "max_order_quantity"
    __slots__ = ("_limit",)

    def __init__(self, params: Mapping[str, ParamValue]) -> None:
        self._limit = positive_int(params, "limit", owner=self.name)

    def check_order(self, request: SubmitOrder, view: RiskView) -> str | None:
        """Veto when the order quantity is above the limit."""
        if request.quantity > self._limit:
            return f"max_order_quantity: {request.quantity} exceeds limit {self._limit}"
        return None

    def check_replace(self, order: Order, request: ReplaceOrder, view: RiskView) -> str | None:
        """Veto when the order's new total quantity is above the limit."""
        quantity = order.quantity if request.quantity is None else request.quantity
        if quantity > self._limit:
            return f"max_order_quantity: {quantity} exceeds limit {self._limit}"
        return None


class MaxOrderNotional(RiskCheck):
    """Vetoes an order worth more than ``limit`` (currency): a limit order at its price, a market order at the
    reference price. A market order with no reference price cannot be valued and is vetoed (fail closed)."""

    name = "max_order_notional"
    __slots__ = ("_limit",)

    def __init__(self, params: Mapping[str, ParamValue]) -> None:
        self._limit = positive_money(params, "limit", owner=self.name)

    def check_order(self, request: SubmitOrder, view: RiskView) -> str | None:
        """Veto when price x quantity is above the limit."""
        price = request.price if request.price is not None else view.reference_price(request.instrument)
        if price is None:
            return f"max_order_notional: no reference price to value a market order in {request.instrument}"
        instrument = view.instrument(request.instrument)
        assert instrument is not None, "validated before the checks run"
        value = instrument.notional(price, request.quantity)
        if value > self._limit:
            return f"max_order_notional: {money_text(value)} exceeds limit {money_text(self._limit)}"
        return None


class PriceBand(RiskCheck):
    """Fat-finger check: vetoes a limit order priced too far from the reference price (mid, else last trade).

    The band is ``max_ticks`` ticks and/or ``max_percent`` percent of the reference (0 turns a side off; at
    least one is required); a price exactly on the band edge passes. Market orders are not judged. When no
    reference exists yet, the order passes unless ``require_reference`` is set.
    """

    name = "price_band"
    __slots__ = ("_max_ticks", "_percent", "_percent_den", "_percent_num", "_require")

    def __init__(self, params: Mapping[str, ParamValue]) -> None:
        max_ticks, percent = int(params["max_ticks"]), Decimal(str(params["max_percent"]))
        if not max_ticks and not percent:
            raise ParamError("price_band: set max_ticks and/or max_percent (both are 0)")
        self._max_ticks = max_ticks
        self._percent = percent
        # distance / reference > percent / 100  <=>  distance * 100 * den > num * reference, in integers.
        self._percent_num, self._percent_den = percent.as_integer_ratio()
        self._require = bool(params["require_reference"])

    def check_order(self, request: SubmitOrder, view: RiskView) -> str | None:
        """Veto a limit order outside the band around the reference price."""
        price = request.price
        if request.order_type is not OrderType.LIMIT or price is None:
            return None
        reference = view.reference_price(request.instrument)
        if reference is None:
            return f"price_band: no reference price for {request.instrument}" if self._require else None
        distance = abs(price - reference)
        instrument = view.instrument(request.instrument)
        assert instrument is not None, "validated before the checks run"
        if self._max_ticks and distance > self._max_ticks * instrument.tick_size:
            return (
                f"price_band: price {price_text(instrument, price)} is {ticks_text(instrument, distance)} "
                f"ticks from reference {price_text(instrument, reference)}, beyond {self._max_ticks} ticks"
            )
        if self._percent and distance * 100 * self._percent_den > self._percent_num * abs(reference):
            away = decimal_text(round(Decimal(distance * 100) / abs(reference), 4)) if reference else "inf"
            return (
                f"price_band: price {price_text(instrument, price)} is {away}% "
                f"from reference {price_text(instrument, reference)}, beyond {decimal_text(self._percent)}%"
            )
        return None


class RestrictedInstruments(RiskCheck):
    """Vetoes every order in a restricted instrument.

    ``symbols`` is one comma-separated text (parameters are scalars, so a config file, the command line and a
    desktop form all give it the same way); spaces around symbols are ignored, matching is exact.
    """

    name = "restricted_instruments"
    __slots__ = ("_symbols",)

    def __init__(self, params: Mapping[str, ParamValue]) -> None:
        self._symbols = parse_symbols(str(params["symbols"]))

    def check_order(self, request: SubmitOrder, view: RiskView) -> str | None:
        """Veto an order in one of the restricted symbols."""
        if request.instrument in self._symbols:
            return f"restricted_instruments: {request.instrument} is restricted"
        return None


def parse_symbols(text: str) -> frozenset[str]:
    """The symbols of a comma-separated list, stripped, empty entries dropped."""
    return frozenset(symbol for symbol in (part.strip() for part in text.split(",")) if symbol)


MAX_ORDER_QUANTITY = RiskCheckSpec(
    name=MaxOrderQuantity.name,
    factory=MaxOrderQuantity,
    params=(limit_param(int, "largest quantity of one order (required)"),),
    description="Rejects an order larger than the limit quantity.",
)

MAX_ORDER_NOTIONAL = RiskCheckSpec(
    name=MaxOrderNotional.name,
    factory=MaxOrderNotional,
    params=(limit_param(Decimal, "largest value of one order, in currency (required)"),),
    description="Rejects an order worth more than the limit (market orders valued at the reference price).",
)

PRICE_BAND = RiskCheckSpec(
    name=PriceBand.name,
    factory=PriceBand,
    params=(
        Param(name="max_ticks", type=int, default=0, minimum=0, description="band in ticks (0: off)"),
        Param(
            name="max_percent",
            type=Decimal,
            default=Decimal(0),
            minimum=Decimal(0),
            description="band in percent of the reference price (0: off)",
        ),
        Param(
            name="require_reference",
            type=bool,
            default=False,
            description="reject limit orders while no reference price exists",
        ),
    ),
    description="Fat-finger check: rejects limit orders priced too far from the reference price.",
)

RESTRICTED_INSTRUMENTS = RiskCheckSpec(
    name=RestrictedInstruments.name,
    factory=RestrictedInstruments,
    params=(Param(name="symbols", type=str, default="", description="comma-separated restricted symbols"),),
    description="Rejects every order in the listed instruments.",
)
