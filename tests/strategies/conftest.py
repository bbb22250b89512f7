"""A strategy context for unit tests: it records what a strategy asks, plays the venue when the test says so,
keeps a real portfolio and drives the strategy's timer on a simulated clock.

Like the engine, it refuses (here: fails the test) a replace or cancel of an order that is unknown, finished or
not yet acknowledged, and orders off the tick grid or in part lots.
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Callable, Sequence
from typing import Literal

import numpy as np
import pytest

from core.commands import ReplaceOrder, SubmitOrder
from core.contracts import Strategy, TopOfBook
from core.enums import ExecType, OrderType, OrdStatus, Side, TimeInForce
from core.events import BookUpdate, CancelReject, ExecutionReport
from core.instruments import Instrument
from core.numbers import NANOS_PER_SECOND, Nanos, Price, Quantity
from core.orders import Order
from core.portfolio import Portfolio, Position

AckMode = Literal["deferred", "inline", "manual"]
"""When the venue acknowledges requests: after the strategy's callback returns, inside the call, or never
(the test acknowledges with :meth:`RecordingContext.ack` and friends)."""

START_NS: Nanos = 1_700_000_000 * NANOS_PER_SECOND

EMPTY_DELTAS = np.zeros((0, 3), dtype=np.int64)
EMPTY_DELTAS.setflags(write=False)


class RecordingContext:
    """A :class:`core.contracts.StrategyContext` that records requests and plays a well-behaved venue."""

    def __init__(
        self,
        instruments: Sequence[Instrument],
        *,
        account: str = "ACC-1",
        strategy_id: str = "strat-1",
        start_ns: Nanos = START_NS,
        acks: AckMode = "deferred",
    ) -> None:
        self._instruments = tuple(instruments)
        self._by_symbol = {instrument.symbol: instrument for instrument in instruments}
        self._account = account
        self._strategy_id = strategy_id
        self.now: Nanos = start_ns
        self.acks: AckMode = acks
        self.refuse_submits: str | None = None
        """When set, new orders are rejected with this reason inside ``submit`` (as the engine's risk checks do)."""
        self.portfolio = Portfolio(self._by_symbol)
        self.orders: dict[str, Order] = {}
        self.submits: list[SubmitOrder] = []
        self.cancels: list[str] = []
        self.replaces: list[ReplaceOrder] = []
        self.cancel_alls: list[str | None] = []
        self.logs: list[str] = []
        self.timer_interval: Nanos | None = None
        self._next_timer: Nanos | None = None
        self.strategy: Strategy | None = None
        self._tops: dict[str, TopOfBook] = {}
        self._pending_replaces: dict[str, deque[ReplaceOrder]] = {}
        self._queue: deque[Callable[[], None]] = deque()
        self._ids = itertools.count(1)
        self._exec_ids = itertools.count(1)
        self._fills: dict[str, tuple[Order, Quantity, Price]] = {}
        self.last_fill_id = ""
        """The exec id of the latest fill (for :meth:`bust`)."""
        self._sequence = itertools.count(1)

    # --- StrategyContext ---------------------------------------------------------------------------------------

    @property
    def strategy_id(self) -> str:
        return self._strategy_id

    @property
    def account(self) -> str:
        return self._account

    @property
    def instruments(self) -> tuple[Instrument, ...]:
        return self._instruments

    def now_ns(self) -> Nanos:
        return self.now

    def submit(
        self,
        instrument: str,
        side: Side,
        quantity: Quantity,
        price: Price | None = None,
        *,
        order_type: OrderType = OrderType.LIMIT,
        time_in_force: TimeInForce = TimeInForce.DAY,
    ) -> str:
        spec = self._by_symbol[instrument]
        _check_quantity(spec, quantity)
        if order_type is OrderType.LIMIT:
            _check_price(spec, price)
        client_order_id = f"{self._strategy_id}-{next(self._ids)}"
        request = SubmitOrder(
            client_order_id=client_order_id,
            account=self._account,
            instrument=instrument,
            side=side,
            quantity=quantity,
            order_type=order_type,
            price=price,
            time_in_force=time_in_force,
            strategy_id=self._strategy_id,
            ts_ns=self.now,
        )
        self.submits.append(request)
        self.orders[client_order_id] = Order.from_request(request, order_id=f"V{client_order_id}", ts_ns=self.now)
        if self.refuse_submits is not None:
            self.reject(client_order_id, self.refuse_submits)
        else:
            self._venue(lambda: self.ack(client_order_id))
        return client_order_id

    def cancel(self, client_order_id: str) -> None:
        order = self._changeable(client_order_id)
        self.cancels.append(client_order_id)
        if order.status is OrdStatus.PENDING_CANCEL:
            return
        order.mark_pending(OrdStatus.PENDING_CANCEL, self.now)
        self._venue(lambda: self.confirm_cancel(client_order_id))

    def replace(self, client_order_id: str, *, quantity: Quantity | None = None, price: Price | None = None) -> None:
        order = self._changeable(client_order_id)
        spec = self._by_symbol[order.instrument]
        assert quantity is not None or price is not None, "a replace that changes nothing"
        if quantity is not None:
            _check_quantity(spec, quantity)
            assert quantity > order.cum_qty, f"new quantity {quantity} is not above the filled {order.cum_qty}"
        if price is not None:
            _check_price(spec, price)
        request = ReplaceOrder(
            client_order_id=client_order_id, account=self._account, quantity=quantity, price=price, ts_ns=self.now
        )
        self.replaces.append(request)
        self._pending_replaces.setdefault(client_order_id, deque()).append(request)
        order.mark_pending(OrdStatus.PENDING_REPLACE, self.now)
        self._venue(lambda: self.confirm_replace(client_order_id))

    def cancel_all(self, instrument: str | None = None) -> None:
        self.cancel_alls.append(instrument)
        for order in self.open_orders(instrument):
            if order.status not in (OrdStatus.PENDING_NEW, OrdStatus.PENDING_CANCEL):
                self.cancel(order.client_order_id)

    def top(self, instrument: str) -> TopOfBook | None:
        return self._tops.get(instrument)

    def position(self, instrument: str) -> Position:
        return self.portfolio.position(self._account, instrument)

    def open_orders(self, instrument: str | None = None) -> list[Order]:
        return [
            order
            for order in self.orders.values()
            if not order.is_terminal and (instrument is None or order.instrument == instrument)
        ]

    def set_timer(self, interval_ns: Nanos) -> None:
        assert interval_ns > 0
        self.timer_interval = interval_ns
        self._next_timer = self.now + interval_ns

    def log(self, message: str) -> None:
        self.logs.append(message)

    # --- driving the strategy ----------------------------------------------------------------------------------

    def start(self, strategy: Strategy) -> Strategy:
        """Attach ``strategy`` and call its ``on_start``."""
        self.strategy = strategy
        strategy.on_start()
        self.flush()
        return strategy

    def book(
        self, symbol: str, bid: Price | None, ask: Price | None, *, bid_qty: Quantity = 1000, ask_qty: Quantity = 1000
    ) -> BookUpdate:
        """Publish a top of book for ``symbol`` (to the strategy's ``on_book``) and mark the portfolio."""
        update = BookUpdate(
            instrument=symbol,
            ts_ns=self.now,
            sequence=next(self._sequence),
            deltas=EMPTY_DELTAS,
            best_bid=bid,
            best_bid_qty=bid_qty if bid is not None else 0,
            best_ask=ask,
            best_ask_qty=ask_qty if ask is not None else 0,
            message_count=1,
        )
        self._tops[symbol] = TopOfBook(
            update.best_bid, update.best_bid_qty, update.best_ask, update.best_ask_qty, self.now
        )
        if update.mid_x2 is not None:
            self.portfolio.set_mark(symbol, update.mid_x2 // 2)
        if self.strategy is not None:
            self.strategy.on_book(update)
            self.flush()
        return update

    def advance(self, delta_ns: Nanos) -> None:
        """Move the clock forward, firing the strategy's timer at each due time on the way."""
        end = self.now + delta_ns
        while self._next_timer is not None and self._next_timer <= end:
            assert self.timer_interval is not None
            self.now = self._next_timer
            self._next_timer += self.timer_interval
            if self.strategy is not None:
                self.strategy.on_timer(self.now)
                self.flush()
        self.now = end

    def flush(self) -> None:
        """Deliver the venue's deferred answers (which may lead to more)."""
        while self._queue:
            self._queue.popleft()()

    # --- playing the venue -------------------------------------------------------------------------------------

    def ack(self, client_order_id: str) -> None:
        """Acknowledge a new order."""
        order = self.orders[client_order_id]
        if order.status is OrdStatus.PENDING_NEW:
            self._emit(order, ExecType.NEW, OrdStatus.NEW)

    def fill(self, client_order_id: str, quantity: Quantity | None = None, price: Price | None = None) -> None:
        """Fill ``quantity`` (default: all that is open) at ``price`` (default: the order's)."""
        order = self.orders[client_order_id]
        assert not order.is_terminal, f"{client_order_id} is {order.status.name}"
        quantity = order.quantity - order.cum_qty if quantity is None else quantity
        price = order.price if price is None else price
        assert price is not None
        assert 0 < quantity <= order.quantity - order.cum_qty
        status = OrdStatus.FILLED if order.cum_qty + quantity == order.quantity else OrdStatus.PARTIALLY_FILLED
        self._emit(order, ExecType.TRADE, status, last_qty=quantity, last_price=price)

    def bust(self, exec_id: str) -> None:
        """The venue breaks the fill ``exec_id``, as an exchange does: a done order stays done, a live one keeps
        its open quantity."""
        order, quantity, price = self._fills.pop(exec_id)
        cum = order.cum_qty - quantity
        if order.is_terminal:
            status, total = order.status, order.quantity
        else:
            status, total = OrdStatus.PARTIALLY_FILLED if cum else OrdStatus.NEW, order.quantity - quantity
        self._emit(
            order, ExecType.TRADE_CANCEL, status, quantity=total, last_qty=quantity, last_price=price,
            ref_exec_id=exec_id,
        )  # fmt: skip

    def expire(self, client_order_id: str) -> None:
        """End what is left of an order (an immediate-or-cancel remainder)."""
        order = self.orders[client_order_id]
        if not order.is_terminal:
            self._emit(order, ExecType.CANCELED, OrdStatus.CANCELED)

    def reject(self, client_order_id: str, reason: str = "rejected") -> None:
        """Reject a new order."""
        order = self.orders[client_order_id]
        self._emit(order, ExecType.REJECTED, OrdStatus.REJECTED, reason=reason)

    def confirm_cancel(self, client_order_id: str) -> None:
        order = self.orders[client_order_id]
        if order.status is OrdStatus.PENDING_CANCEL:
            self._emit(order, ExecType.CANCELED, OrdStatus.CANCELED)

    def confirm_replace(self, client_order_id: str) -> None:
        """Carry out the oldest replace request of the order."""
        requests = self._pending_replaces.get(client_order_id)
        order = self.orders[client_order_id]
        if not requests:
            return
        request = requests.popleft()
        if order.is_terminal:
            return
        quantity = order.quantity if request.quantity is None else request.quantity
        price = order.price if request.price is None else request.price
        status = OrdStatus.PARTIALLY_FILLED if order.cum_qty else OrdStatus.NEW
        self._emit(order, ExecType.REPLACED, status, quantity=quantity, price=price)

    def refuse_replace(self, client_order_id: str, reason: str = "refused", *, tell: bool = True) -> None:
        """Refuse the oldest replace request: the order goes back to where it was and, when ``tell`` is set and
        the strategy has an ``on_cancel_reject``, the strategy is told."""
        requests = self._pending_replaces[client_order_id]
        requests.popleft()
        order = self.orders[client_order_id]
        if order.status is OrdStatus.PENDING_REPLACE and not requests:
            order.restore_after_reject(self.now, reason)
        reject = CancelReject(
            client_order_id=client_order_id,
            order_id=order.order_id,
            account=self._account,
            ts_ns=self.now,
            reason=reason,
            is_replace=True,
        )
        handler = getattr(self.strategy, "on_cancel_reject", None)
        if tell and handler is not None:
            handler(reject)

    # --- views for assertions ----------------------------------------------------------------------------------

    def working(self, symbol: str | None = None, side: Side | None = None) -> list[Order]:
        """Orders not finished, narrowed by instrument and side."""
        return [order for order in self.open_orders(symbol) if side is None or order.side is side]

    def quote(self, symbol: str, side: Side) -> Order | None:
        """The one working order of ``side`` on ``symbol`` (fails if there are several)."""
        found = self.working(symbol, side)
        assert len(found) <= 1, f"several {side.name} orders working on {symbol}: {found}"
        return found[0] if found else None

    # --- internals ---------------------------------------------------------------------------------------------

    def _venue(self, action: Callable[[], None]) -> None:
        if self.acks == "inline":
            action()
        elif self.acks == "deferred":
            self._queue.append(action)

    def _changeable(self, client_order_id: str) -> Order:
        order = self.orders.get(client_order_id)
        assert order is not None, f"unknown order {client_order_id}"
        assert not order.is_terminal, f"order {client_order_id} is {order.status.name}"
        assert order.status is not OrdStatus.PENDING_NEW, f"order {client_order_id} is not acknowledged yet"
        return order

    def _emit(
        self,
        order: Order,
        exec_type: ExecType,
        status: OrdStatus,
        *,
        quantity: Quantity | None = None,
        price: Price | None = None,
        last_qty: Quantity = 0,
        last_price: Price | None = None,
        reason: str = "",
        ref_exec_id: str = "",
    ) -> None:
        quantity = order.quantity if quantity is None else quantity
        price = order.price if price is None else price
        cum_qty = order.cum_qty + (-last_qty if exec_type is ExecType.TRADE_CANCEL else last_qty)
        terminal = status in (OrdStatus.FILLED, OrdStatus.CANCELED, OrdStatus.REJECTED, OrdStatus.EXPIRED)
        exec_id = f"E{next(self._exec_ids)}"
        report = ExecutionReport(
            exec_id=exec_id,
            order_id=order.order_id,
            client_order_id=order.client_order_id,
            account=order.account,
            instrument=order.instrument,
            side=order.side,
            order_type=order.order_type,
            exec_type=exec_type,
            ord_status=status,
            quantity=quantity,
            price=price,
            cum_qty=cum_qty,
            leaves_qty=0 if terminal else quantity - cum_qty,
            ts_ns=self.now,
            last_qty=last_qty,
            last_price=last_price,
            reason=reason,
            strategy_id=order.strategy_id,
            ref_exec_id=ref_exec_id,
        )
        order.apply(report)
        if exec_type is ExecType.TRADE:
            assert last_price is not None
            self.portfolio.apply_fill(self._account, order.instrument, order.side, last_qty, last_price, 0, exec_id)
            self._fills[exec_id] = (order, last_qty, last_price)
            self.last_fill_id = exec_id
        elif exec_type is ExecType.TRADE_CANCEL:
            self.portfolio.bust_fill(self._account, order.instrument, ref_exec_id)
        if self.strategy is not None:
            self.strategy.on_execution(report)


@pytest.fixture
def aaa() -> Instrument:
    """A stock quoted in 1e-4 dollars with a one-cent tick (100 price units)."""
    return Instrument(symbol="AAA", tick_size=100, price_scale=4)


@pytest.fixture
def bbb() -> Instrument:
    """A second stock on the same grid."""
    return Instrument(symbol="BBB", tick_size=100, price_scale=4)


def _check_quantity(instrument: Instrument, quantity: object) -> None:
    if not isinstance(quantity, int) or not instrument.is_whole_lots(quantity):
        raise AssertionError(f"quantity {quantity!r} is not a whole number of lots of {instrument.symbol}")


def _check_price(instrument: Instrument, price: object) -> None:
    if not isinstance(price, int) or price <= 0 or not instrument.is_on_tick(price):
        raise AssertionError(f"price {price!r} is not a positive integer on the tick grid of {instrument.symbol}")
