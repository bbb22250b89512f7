"""The FIX order state machine and Order.apply: fills, pending cancel/replace and refused requests."""

from __future__ import annotations

import copy
import itertools

import pytest

from core.commands import SubmitOrder
from core.enums import ExecType, OrdStatus, Side, TimeInForce
from core.events import ExecutionReport
from core.orders import TERMINAL, TRANSITIONS, WORKING, IllegalTransition, Order, check_transition

S = OrdStatus
LEGAL = [(a, b) for a, targets in TRANSITIONS.items() for b in sorted(targets, key=lambda s: s.name)]
ILLEGAL = [(a, b) for a, b in itertools.product(S, S) if b not in TRANSITIONS[a]]


def new_order(quantity: int = 100, price: int | None = 1_000_000) -> Order:
    request = SubmitOrder(
        client_order_id="c1",
        account="acc",
        instrument="AAPL",
        side=Side.BUY,
        quantity=quantity,
        price=price,
        time_in_force=TimeInForce.GTC,
        strategy_id="mm-1",
    )
    return Order.from_request(request, order_id="o1", ts_ns=10)


def report(
    order: Order,
    exec_type: ExecType,
    ord_status: OrdStatus,
    *,
    quantity: int | None = None,
    price: int | None = None,
    last_qty: int = 0,
    last_price: int | None = None,
    ts_ns: int = 20,
    reason: str = "",
) -> ExecutionReport:
    """A venue's report about ``order``; quantity and price default to the order's own."""
    return ExecutionReport(
        exec_id=f"e{ts_ns}",
        order_id=order.order_id,
        client_order_id=order.client_order_id,
        account=order.account,
        instrument=order.instrument,
        side=order.side,
        order_type=order.order_type,
        exec_type=exec_type,
        ord_status=ord_status,
        quantity=order.quantity if quantity is None else quantity,
        price=order.price if price is None else price,
        cum_qty=0,
        leaves_qty=0,
        ts_ns=ts_ns,
        last_qty=last_qty,
        last_price=last_price,
        reason=reason,
        venue="SIM",
    )


def fill(order: Order, qty: int, price: int, status: OrdStatus = S.PARTIALLY_FILLED, ts_ns: int = 30) -> None:
    order.apply(report(order, ExecType.TRADE, status, last_qty=qty, last_price=price, ts_ns=ts_ns))


def acked(quantity: int = 100) -> Order:
    order = new_order(quantity)
    order.apply(report(order, ExecType.NEW, S.NEW))
    return order


# --- the transition table -------------------------------------------------------------------------


def test_the_table_covers_every_status() -> None:
    assert set(TRANSITIONS) == set(S)
    assert {S.FILLED, S.CANCELED, S.REJECTED, S.EXPIRED} == TERMINAL
    assert WORKING.isdisjoint(TERMINAL)


@pytest.mark.parametrize(("current", "new"), LEGAL, ids=[f"{a.name}->{b.name}" for a, b in LEGAL])
def test_legal_transitions_pass(current: OrdStatus, new: OrdStatus) -> None:
    check_transition(current, new)


@pytest.mark.parametrize(("current", "new"), ILLEGAL, ids=[f"{a.name}->{b.name}" for a, b in ILLEGAL])
def test_illegal_transitions_raise(current: OrdStatus, new: OrdStatus) -> None:
    with pytest.raises(IllegalTransition, match=f"illegal order transition {current.name} -> {new.name}"):
        check_transition(current, new)


@pytest.mark.parametrize(
    ("current", "new"),
    [
        (S.NEW, S.NEW),
        (S.NEW, S.PENDING_NEW),
        (S.NEW, S.REJECTED),
        (S.PENDING_NEW, S.PENDING_REPLACE),
        (S.PENDING_CANCEL, S.PENDING_REPLACE),
        (S.PARTIALLY_FILLED, S.NEW),
        (S.FILLED, S.PARTIALLY_FILLED),
        (S.CANCELED, S.NEW),
        (S.REJECTED, S.NEW),
        (S.EXPIRED, S.CANCELED),
    ],
)
def test_well_known_illegal_moves(current: OrdStatus, new: OrdStatus) -> None:
    assert (current, new) in ILLEGAL


@pytest.mark.parametrize("terminal", [status for status in S if status in TERMINAL])
def test_terminal_statuses_never_leave(terminal: OrdStatus) -> None:
    assert TRANSITIONS[terminal] == frozenset()
    for target in S:
        with pytest.raises(IllegalTransition):
            check_transition(terminal, target)


def test_illegal_transition_is_a_value_error() -> None:
    assert issubclass(IllegalTransition, ValueError)


# --- Order.apply ----------------------------------------------------------------------------------


def test_a_new_order_is_pending_new_with_its_request_fields() -> None:
    order = new_order()
    assert order.status is S.PENDING_NEW
    assert (order.quantity, order.price, order.leaves_qty, order.cum_qty) == (100, 1_000_000, 100, 0)
    assert (order.time_in_force, order.strategy_id, order.created_ns) == (TimeInForce.GTC, "mm-1", 10)
    assert order.average_price_x() is None
    assert not order.is_working
    assert not order.is_terminal


def test_ack_then_partial_fills_then_full_fill() -> None:
    order = acked()
    assert order.status is S.NEW
    assert order.is_working
    assert order.venue == "SIM"

    fill(order, 30, 1_000_000, ts_ns=30)
    fill(order, 20, 1_000_300, ts_ns=31)
    assert order.status is S.PARTIALLY_FILLED
    assert (order.cum_qty, order.leaves_qty) == (50, 50)
    assert order.fills == [(30, 1_000_000, 30), (31, 1_000_300, 20)]
    # (30 x 100.0000 + 20 x 100.0300) / 50 = 100.0120
    assert order.average_price_x() == 1_000_120
    assert order.average_price_x(10) == 10_001_200
    assert order.updated_ns == 31

    fill(order, 50, 1_000_100, S.FILLED, ts_ns=32)
    assert order.status is S.FILLED
    assert order.is_terminal
    assert not order.is_working
    assert (order.cum_qty, order.leaves_qty) == (100, 0)


def test_average_price_rounds_down() -> None:
    order = acked(3)
    fill(order, 1, 10)
    fill(order, 1, 10)
    fill(order, 1, 11, S.FILLED)
    assert order.average_price_x() == 10  # 31 / 3
    assert order.average_price_x(100) == 1033


def test_overfill_is_refused_and_changes_nothing() -> None:
    order = acked()
    fill(order, 60, 1_000_000)
    before = copy.deepcopy(order)
    with pytest.raises(IllegalTransition, match="overfill"):
        fill(order, 41, 1_000_000, S.FILLED)
    assert order == before


@pytest.mark.parametrize(("last_qty", "last_price"), [(0, 1_000_000), (-5, 1_000_000), (10, None)])
def test_a_trade_without_quantity_or_price_is_refused(last_qty: int, last_price: int | None) -> None:
    order = acked()
    before = copy.deepcopy(order)
    trade = report(order, ExecType.TRADE, S.PARTIALLY_FILLED, last_qty=last_qty, last_price=last_price)
    with pytest.raises(IllegalTransition, match="positive last_qty and a last_price"):
        order.apply(trade)
    assert order == before


def test_an_illegal_report_leaves_the_order_unchanged() -> None:
    order = acked()
    fill(order, 100, 1_000_000, S.FILLED)
    before = copy.deepcopy(order)
    for status in S:
        with pytest.raises(IllegalTransition):
            order.apply(report(order, ExecType.ORDER_STATUS, status, ts_ns=99, reason="late"))
    assert order == before


def test_reject_of_a_new_order_keeps_the_reason() -> None:
    order = new_order()
    order.apply(report(order, ExecType.REJECTED, S.REJECTED, reason="unknown symbol"))
    assert order.status is S.REJECTED
    assert order.reason == "unknown symbol"
    assert order.leaves_qty == 0


def test_cancel_request_and_ack() -> None:
    order = acked()
    fill(order, 40, 1_000_000)
    order.mark_pending(S.PENDING_CANCEL, 40)
    assert order.status is S.PENDING_CANCEL
    assert order.status_before_pending is S.PARTIALLY_FILLED
    assert order.is_working
    order.apply(report(order, ExecType.CANCELED, S.CANCELED, ts_ns=41))
    assert order.status is S.CANCELED
    assert order.status_before_pending is None
    assert (order.cum_qty, order.leaves_qty) == (40, 0)


def test_replace_request_and_ack_change_price_and_quantity() -> None:
    order = acked()
    fill(order, 30, 1_000_000)
    order.mark_pending(S.PENDING_REPLACE, 40)
    order.apply(report(order, ExecType.REPLACED, S.REPLACED, quantity=200, price=990_000, ts_ns=41))
    assert order.status is S.REPLACED
    assert order.is_working
    assert (order.quantity, order.price, order.cum_qty, order.leaves_qty) == (200, 990_000, 30, 170)
    fill(order, 170, 990_000, S.FILLED)
    assert order.status is S.FILLED


def test_a_fill_overtakes_a_pending_cancel() -> None:
    order = acked()
    order.mark_pending(S.PENDING_CANCEL, 40)
    fill(order, 100, 1_000_000, S.FILLED)
    assert order.status is S.FILLED
    with pytest.raises(IllegalTransition, match="no pending request"):
        order.restore_after_reject(50, "too late to cancel")
    assert order.status is S.FILLED


def test_fills_while_pending_keep_the_pending_status() -> None:
    order = acked()
    order.mark_pending(S.PENDING_REPLACE, 40)
    fill(order, 10, 1_000_000, S.PENDING_REPLACE)
    assert order.status is S.PENDING_REPLACE
    assert order.cum_qty == 10
    assert order.status_before_pending is S.NEW


@pytest.mark.parametrize("pending", [S.PENDING_CANCEL, S.PENDING_REPLACE])
def test_restore_after_reject_returns_to_the_status_before_the_request(pending: OrdStatus) -> None:
    order = acked()
    fill(order, 25, 1_000_000)
    order.mark_pending(pending, 40)
    order.restore_after_reject(41, "price out of band")
    assert order.status is S.PARTIALLY_FILLED
    assert order.status_before_pending is None
    assert (order.reason, order.updated_ns) == ("price out of band", 41)
    assert (order.quantity, order.price, order.cum_qty) == (100, 1_000_000, 25)


def test_cancel_over_a_pending_replace_restores_the_original_status() -> None:
    order = acked()
    order.mark_pending(S.PENDING_REPLACE, 40)
    order.mark_pending(S.PENDING_CANCEL, 41)
    assert order.status_before_pending is S.NEW
    order.restore_after_reject(42, "refused")
    assert order.status is S.NEW


def test_restore_without_a_pending_request_raises() -> None:
    order = acked()
    before = copy.deepcopy(order)
    with pytest.raises(IllegalTransition, match="no pending request"):
        order.restore_after_reject(50, "nothing to refuse")
    assert order == before


@pytest.mark.parametrize("pending", [S.PENDING_CANCEL, S.PENDING_REPLACE])
def test_no_request_on_a_terminal_order(pending: OrdStatus) -> None:
    order = acked()
    order.apply(report(order, ExecType.CANCELED, S.CANCELED))
    before = copy.deepcopy(order)
    with pytest.raises(IllegalTransition):
        order.mark_pending(pending, 60)
    assert order == before


def test_expire() -> None:
    order = acked()
    fill(order, 10, 1_000_000)
    order.apply(report(order, ExecType.EXPIRED, S.EXPIRED))
    assert order.status is S.EXPIRED
    assert order.is_terminal
    assert order.leaves_qty == 0


# --- defects of core.orders, kept visible ---------------------------------------------------------


def test_restore_after_fills_while_pending_reports_partially_filled() -> None:
    order = acked()
    order.mark_pending(S.PENDING_CANCEL, 40)
    fill(order, 30, 1_000_000, S.PENDING_CANCEL)
    order.restore_after_reject(42, "too late to cancel")
    assert order.status is S.PARTIALLY_FILLED


def test_refused_cancel_of_a_pending_new_order_restores_it() -> None:
    order = new_order()
    order.mark_pending(S.PENDING_CANCEL, 11)
    order.restore_after_reject(12, "unknown order")
    assert order.status is S.PENDING_NEW


def test_replace_below_the_filled_quantity_is_refused() -> None:
    order = acked()
    fill(order, 60, 1_000_000)
    order.mark_pending(S.PENDING_REPLACE, 40)
    before = copy.deepcopy(order)
    with pytest.raises(IllegalTransition):
        order.apply(report(order, ExecType.REPLACED, S.REPLACED, quantity=40))
    assert order == before


def test_a_completing_fill_reported_as_partial_is_refused() -> None:
    order = acked()
    with pytest.raises(IllegalTransition):
        fill(order, 100, 1_000_000, S.PARTIALLY_FILLED)


def test_a_partial_fill_reported_as_filled_is_refused() -> None:
    order = acked()
    with pytest.raises(IllegalTransition):
        fill(order, 10, 1_000_000, S.FILLED)
