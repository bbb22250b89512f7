"""An order driven through random venue events: the state machine's invariants hold at every step."""

from __future__ import annotations

import copy
from collections.abc import Callable

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from core.enums import ExecType, OrderType, OrdStatus, Side, TimeInForce
from core.events import ExecutionReport
from core.orders import TERMINAL, TRANSITIONS, IllegalTransition, Order

S = OrdStatus
PENDING = (S.PENDING_CANCEL, S.PENDING_REPLACE)


class OrderLifecycle(RuleBasedStateMachine):
    """Venue events (legal or not) applied to one order, checked against a small model of what should happen.

    Legality comes from the ``TRANSITIONS`` table (checked entry by entry in test_orders) plus the quantity
    rules: a fill must not exceed the open quantity. A legal event must apply, an illegal one must raise
    ``IllegalTransition`` and leave the order exactly as it was.
    """

    def __init__(self) -> None:
        super().__init__()
        self.order = Order(
            order_id="o1",
            client_order_id="c1",
            account="acc",
            instrument="AAPL",
            side=Side.SELL,
            order_type=OrderType.LIMIT,
            quantity=100,
            price=1_000,
            time_in_force=TimeInForce.DAY,
            strategy_id=None,
            created_ns=0,
        )
        self.clock = 0
        # The model: what the order should look like.
        self.status = S.PENDING_NEW
        self.cum = 0
        self.quantity = 100
        self.price: int | None = 1_000
        self.saved: OrdStatus | None = None

    # --- helpers ----------------------------------------------------------------------------------

    @property
    def open_qty(self) -> int:
        return self.quantity - self.cum

    def _report(
        self,
        exec_type: ExecType,
        status: OrdStatus,
        *,
        quantity: int | None = None,
        price: int | None = None,
        last_qty: int = 0,
        last_price: int | None = None,
    ) -> ExecutionReport:
        self.clock += 1
        return ExecutionReport(
            exec_id=f"e{self.clock}",
            order_id="o1",
            client_order_id="c1",
            account="acc",
            instrument="AAPL",
            side=Side.SELL,
            order_type=OrderType.LIMIT,
            exec_type=exec_type,
            ord_status=status,
            quantity=self.quantity if quantity is None else quantity,
            price=self.price if price is None else price,
            cum_qty=0,
            leaves_qty=0,
            ts_ns=self.clock,
            last_qty=last_qty,
            last_price=last_price,
        )

    def _attempt(self, action: Callable[[], object], legal: bool) -> bool:
        before = copy.deepcopy(self.order)
        if legal:
            action()
            return True
        with pytest.raises(IllegalTransition):
            action()
        assert self.order == before
        return False

    def _move(self, status: OrdStatus) -> None:
        if status in PENDING:
            if self.status not in PENDING:
                self.saved = self.status
        else:
            self.saved = None
        self.status = status

    def _apply_status(self, exec_type: ExecType, status: OrdStatus) -> None:
        report = self._report(exec_type, status)
        if self._attempt(lambda: self.order.apply(report), status in TRANSITIONS[self.status]):
            self._move(status)

    def _request(self, status: OrdStatus) -> None:
        self.clock += 1
        ts = self.clock
        if self._attempt(lambda: self.order.mark_pending(status, ts), status in TRANSITIONS[self.status]):
            self._move(status)

    # --- venue events -----------------------------------------------------------------------------

    @rule()
    def ack(self) -> None:
        self._apply_status(ExecType.NEW, S.NEW)

    @precondition(lambda self: self.open_qty >= 2)
    @rule(data=st.data())
    def partial_fill(self, data: st.DataObject) -> None:
        qty = data.draw(st.integers(min_value=1, max_value=self.open_qty - 1), label="qty")
        price = data.draw(st.integers(min_value=1, max_value=2_000), label="price")
        statuses = [self.status, S.PARTIALLY_FILLED] if self.status in PENDING else [S.PARTIALLY_FILLED]
        status = data.draw(st.sampled_from(statuses), label="status")
        report = self._report(ExecType.TRADE, status, last_qty=qty, last_price=price)
        if self._attempt(lambda: self.order.apply(report), status in TRANSITIONS[self.status]):
            self.cum += qty
            self._move(status)

    @precondition(lambda self: self.open_qty >= 1)
    @rule(price=st.integers(min_value=1, max_value=2_000))
    def full_fill(self, price: int) -> None:
        qty = self.open_qty
        report = self._report(ExecType.TRADE, S.FILLED, last_qty=qty, last_price=price)
        if self._attempt(lambda: self.order.apply(report), S.FILLED in TRANSITIONS[self.status]):
            self.cum += qty
            self._move(S.FILLED)

    @rule(extra=st.integers(min_value=1, max_value=50))
    def overfill(self, extra: int) -> None:
        report = self._report(ExecType.TRADE, S.FILLED, last_qty=self.open_qty + extra, last_price=1_000)
        self._attempt(lambda: self.order.apply(report), legal=False)

    @rule()
    def cancel_request(self) -> None:
        self._request(S.PENDING_CANCEL)

    @rule()
    def cancel_ack(self) -> None:
        self._apply_status(ExecType.CANCELED, S.CANCELED)

    @rule()
    def replace_request(self) -> None:
        self._request(S.PENDING_REPLACE)

    @rule(data=st.data())
    def replace_ack(self, data: st.DataObject) -> None:
        quantity = data.draw(st.integers(min_value=self.cum + 1, max_value=self.cum + 200), label="quantity")
        price = data.draw(st.integers(min_value=1, max_value=2_000), label="price")
        report = self._report(ExecType.REPLACED, S.REPLACED, quantity=quantity, price=price)
        if self._attempt(lambda: self.order.apply(report), S.REPLACED in TRANSITIONS[self.status]):
            self.quantity, self.price = quantity, price
            self._move(S.REPLACED)

    @rule()
    def request_refused(self) -> None:
        """A cancel or replace reject: back to the status held before the request (PartiallyFilled when
        fills arrived in the meantime)."""
        self.clock += 1
        ts = self.clock
        saved = self.saved
        if saved in (S.NEW, S.REPLACED) and self.order.cum_qty > 0:
            saved = S.PARTIALLY_FILLED
        legal = saved is not None and saved in TRANSITIONS[self.status]
        if self._attempt(lambda: self.order.restore_after_reject(ts, "refused"), legal):
            assert saved is not None
            self.status, self.saved = saved, None

    @rule()
    def expire(self) -> None:
        self._apply_status(ExecType.EXPIRED, S.EXPIRED)

    @rule()
    def reject(self) -> None:
        self._apply_status(ExecType.REJECTED, S.REJECTED)

    @precondition(lambda self: self.status in TERMINAL)
    @rule()
    def terminal_accepts_nothing(self) -> None:
        for status in S:
            report = self._report(ExecType.ORDER_STATUS, status)
            self._attempt(lambda r=report: self.order.apply(r), legal=False)  # type: ignore[misc]
        ts = self.clock
        for pending in PENDING:
            self._attempt(lambda p=pending: self.order.mark_pending(p, ts), legal=False)  # type: ignore[misc]
        self._attempt(lambda: self.order.restore_after_reject(self.clock, "late"), legal=False)

    # --- invariants -------------------------------------------------------------------------------

    @invariant()
    def matches_the_model(self) -> None:
        order = self.order
        assert order.status is self.status
        assert (order.cum_qty, order.quantity, order.price) == (self.cum, self.quantity, self.price)
        assert order.status_before_pending is self.saved

    @invariant()
    def quantities_are_consistent(self) -> None:
        order = self.order
        assert 0 <= order.cum_qty <= order.quantity
        assert order.leaves_qty == (0 if order.status in TERMINAL else order.quantity - order.cum_qty)
        assert order.is_terminal == (order.status in TERMINAL)
        assert sum(qty for _, _, qty in order.fills) == order.cum_qty
        assert sum(price * qty for _, price, qty in order.fills) == order.filled_cost


TestOrderLifecycle = OrderLifecycle.TestCase
TestOrderLifecycle.settings = settings(max_examples=200, stateful_step_count=30, deadline=None)
