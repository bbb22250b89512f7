"""Built-in checks that judge an order against the account: position, exposure, daily loss and order rate."""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from decimal import Decimal

from core.commands import ReplaceOrder, SubmitOrder
from core.contracts import Breach, RiskCheck, RiskCheckSpec, RiskView
from core.enums import Side
from core.numbers import NANOS_PER_MILLI, Quantity
from core.orders import Order
from core.params import Param, ParamValue
from engine.risk.common import limit_param, positive_int, positive_money
from engine.text import money_text


def working_quantity(view: RiskView, account: str, symbol: str, side: Side, exclude: str | None) -> Quantity:
    """Open quantity of the account's working orders in ``symbol`` on ``side`` (leaving out ``exclude``)."""
    total = 0
    for order in view.working_orders(account):
        # Fields, not the leaves_qty property: this loop is on every order's path and the orders are working.
        if order.instrument == symbol and order.side is side and order.client_order_id != exclude:
            total += order.quantity - order.cum_qty
    return total


def _replaced_quantity(order: Order, request: ReplaceOrder) -> Quantity:
    """What a replace leaves open: the new total quantity less what is already filled."""
    return (order.quantity if request.quantity is None else request.quantity) - order.cum_qty


class MaxPosition(RiskCheck):
    """Vetoes an order that could take the position in its instrument beyond ``limit`` (long or short).

    The projection assumes the order and every working order on the same side fill completely. An order that
    only reduces the projection (without crossing flat) always passes, so a position already beyond the limit
    can be reduced.
    """

    name = "max_position"
    __slots__ = ("_limit",)

    def __init__(self, params: Mapping[str, ParamValue]) -> None:
        self._limit = positive_int(params, "limit", owner=self.name)

    def check_order(self, request: SubmitOrder, view: RiskView) -> str | None:
        """Veto when held + working + this order, on its side, is beyond the limit."""
        return self._judge(request.account, request.instrument, request.side, request.quantity, view, None)

    def check_replace(self, order: Order, request: ReplaceOrder, view: RiskView) -> str | None:
        """As a new order of what the replace leaves open; the order's current remainder is not counted."""
        quantity = _replaced_quantity(order, request)
        return self._judge(order.account, order.instrument, order.side, quantity, view, order.client_order_id)

    def _judge(
        self, account: str, symbol: str, side: Side, quantity: Quantity, view: RiskView, exclude: str | None
    ) -> str | None:
        held = view.position(account, symbol).quantity
        working = working_quantity(view, account, symbol, side, exclude)
        sign = 1 if side is Side.BUY else -1
        before = held + sign * working
        after = before + sign * quantity
        reduces_only = after * before > 0 and abs(after) < abs(before)
        if abs(after) > self._limit and not reduces_only:
            return (
                f"max_position: {symbol} could reach {after} "
                f"(held {held}, working {working}, order {quantity}), beyond limit {self._limit}"
            )
        return None


class MaxGrossExposure(RiskCheck):
    """Vetoes an order that would raise the account's gross exposure above ``limit`` (currency).

    The exposure the order adds is the growth of its instrument's absolute position, valued at the limit price
    (or the reference price for a market order; with none, the market order is vetoed). Working orders are not
    counted (``max_position`` bounds them per instrument). An order that does not add exposure always passes.
    """

    name = "max_gross_exposure"
    __slots__ = ("_limit",)

    def __init__(self, params: Mapping[str, ParamValue]) -> None:
        self._limit = positive_money(params, "limit", owner=self.name)

    def check_order(self, request: SubmitOrder, view: RiskView) -> str | None:
        """Veto when gross exposure plus what the order adds is above the limit."""
        symbol = request.instrument
        price = request.price if request.price is not None else view.reference_price(symbol)
        if price is None:
            return f"max_gross_exposure: no reference price to value a market order in {symbol}"
        instrument = view.instrument(symbol)
        assert instrument is not None, "validated before the checks run"
        held = view.position(request.account, symbol).quantity
        after = held + (request.quantity if request.side is Side.BUY else -request.quantity)
        growth = abs(after) - abs(held)
        if growth <= 0:
            return None
        total = view.gross_exposure(request.account) + instrument.notional(price, growth)
        if total > self._limit:
            limit = money_text(self._limit)
            return f"max_gross_exposure: {money_text(total)} after the order exceeds limit {limit}"
        return None


class DailyLoss(RiskCheck):
    """Stops trading for the day once the loss (realized plus unrealized minus fees) reaches ``limit``.

    The breach latches: a loss that later recovers below the limit does not resume trading; the next trading
    day does (:meth:`start_day`). While breached every order is vetoed, except, with ``allow_reducing``, one
    that only reduces the position (opposite side, and with the same-side working orders no larger than the
    position). :meth:`monitor` reports the breach, asking to flatten when ``flatten`` is set.
    """

    name = "daily_loss"
    __slots__ = ("_allow_reducing", "_breach", "_flatten", "_limit")

    def __init__(self, params: Mapping[str, ParamValue]) -> None:
        self._limit = positive_money(params, "limit", owner=self.name)
        self._flatten = bool(params["flatten"])
        self._allow_reducing = bool(params["allow_reducing"])
        self._breach: str | None = None

    def check_order(self, request: SubmitOrder, view: RiskView) -> str | None:
        """Veto while the loss is at or past the limit."""
        return self._judge(request.account, request.instrument, request.side, request.quantity, view, None)

    def check_replace(self, order: Order, request: ReplaceOrder, view: RiskView) -> str | None:
        """As a new order of what the replace leaves open; the order's current remainder is not counted."""
        quantity = _replaced_quantity(order, request)
        return self._judge(order.account, order.instrument, order.side, quantity, view, order.client_order_id)

    def monitor(self, account: str, view: RiskView) -> Breach | None:
        """The breach (with the ``flatten`` wish) once the loss has reached the limit today."""
        reason = self._breached(account, view)
        return None if reason is None else Breach(reason, flatten=self._flatten)

    def start_day(self) -> None:
        """A new day: the breach of the day that ended no longer holds."""
        self._breach = None

    def _breached(self, account: str, view: RiskView) -> str | None:
        if self._breach is None:
            loss = -view.pnl(account).net
            if loss >= self._limit:
                self._breach = self._reason(loss)
        return self._breach

    def _judge(
        self, account: str, symbol: str, side: Side, quantity: Quantity, view: RiskView, exclude: str | None
    ) -> str | None:
        reason = self._breached(account, view)
        if reason is None:
            return None
        if self._allow_reducing:
            held = view.position(account, symbol).quantity
            opposite = held < 0 if side is Side.BUY else held > 0
            if opposite and quantity + working_quantity(view, account, symbol, side, exclude) <= abs(held):
                return None
        return reason

    def _reason(self, loss: int) -> str:
        return f"daily_loss: loss {money_text(loss)} is at or past limit {money_text(self._limit)}"


class OrderRate(RiskCheck):
    """Vetoes a new order once ``max_orders`` orders were accepted within the last ``window_ms`` (rolling).

    Rejects, never queues. Only orders that passed every check count (through :meth:`on_accepted`), timed by
    the view's clock. Replaces are neither counted nor throttled; cancels never reach risk checks.
    """

    name = "order_rate"
    __slots__ = ("_accepted", "_limit", "_window_ms", "_window_ns")

    def __init__(self, params: Mapping[str, ParamValue]) -> None:
        self._limit = positive_int(params, "max_orders", owner=self.name)
        self._window_ms = positive_int(params, "window_ms", owner=self.name)
        self._window_ns = self._window_ms * NANOS_PER_MILLI
        # Acceptance times still in the window, oldest first (pruned as the window rolls). Never more than the
        # largest limit in force during the window, so a live change can hand them on (carry_over) exactly.
        self._accepted: deque[int] = deque()

    def check_order(self, request: SubmitOrder, view: RiskView) -> str | None:
        """Veto when the window already holds ``max_orders`` accepted orders."""
        accepted = self._accepted
        horizon = view.now_ns() - self._window_ns
        while accepted and accepted[0] <= horizon:
            accepted.popleft()
        if len(accepted) < self._limit:
            return None
        return f"order_rate: {self._limit} orders in the last {self._window_ms} ms, limit {self._limit}"

    def check_replace(self, order: Order, request: ReplaceOrder, view: RiskView) -> str | None:
        """Replaces are not throttled."""
        return None

    def on_accepted(self, request: SubmitOrder, view: RiskView) -> None:
        """Count an order that leaves for the venue."""
        self._accepted.append(view.now_ns())

    def carry_over(self, previous: RiskCheck) -> None:
        """The orders the replaced throttle counted stay in the window."""
        if isinstance(previous, OrderRate):
            self._accepted.extend(previous._accepted)


MAX_POSITION = RiskCheckSpec(
    name=MaxPosition.name,
    factory=MaxPosition,
    params=(limit_param(int, "largest absolute position per instrument, with working orders (required)"),),
    description="Rejects an order that could take a position beyond the limit, counting working orders.",
)

MAX_GROSS_EXPOSURE = RiskCheckSpec(
    name=MaxGrossExposure.name,
    factory=MaxGrossExposure,
    params=(limit_param(Decimal, "largest gross exposure of the account, in currency (required)"),),
    description="Rejects an order that would raise the account's gross exposure above the limit.",
)

DAILY_LOSS = RiskCheckSpec(
    name=DailyLoss.name,
    factory=DailyLoss,
    params=(
        limit_param(Decimal, "largest loss of the day, in currency, fees included (required)"),
        Param(name="flatten", type=bool, default=False, description="ask to close every position on breach"),
        Param(
            name="allow_reducing",
            type=bool,
            default=False,
            description="let orders that only reduce a position through while breached",
        ),
    ),
    description="Stops new orders once the day's loss reaches the limit; may ask to flatten.",
)

ORDER_RATE = RiskCheckSpec(
    name=OrderRate.name,
    factory=OrderRate,
    params=(
        Param(name="max_orders", type=int, default=0, minimum=0, description="orders per window (required)"),
        Param(name="window_ms", type=int, default=1000, minimum=1, description="rolling window, in ms"),
    ),
    description="Rejects new orders beyond max_orders within a rolling window.",
)
