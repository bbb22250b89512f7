"""Trade busts (ExecType H): an order and a portfolio lose the busted fill exactly, and refuse what is not one."""

from __future__ import annotations

import copy
import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.commands import SubmitOrder
from core.enums import ExecType, OrdStatus, Side, TimeInForce
from core.events import ExecutionReport
from core.instruments import Instrument
from core.orders import IllegalTransition, Order, report_for
from core.portfolio import Portfolio

S = OrdStatus
AAPL = Instrument(symbol="AAPL")


def acked(quantity: int = 100) -> Order:
    request = SubmitOrder(
        client_order_id="c1", account="acc", instrument="AAPL", side=Side.BUY, quantity=quantity, price=1_000_000,
        time_in_force=TimeInForce.GTC,
    )  # fmt: skip
    order = Order.from_request(request, order_id="o1", ts_ns=10)
    order.apply(report_for(order, exec_id="ack", exec_type=ExecType.NEW, ord_status=S.NEW, ts_ns=11, venue="V"))
    return order


def fill(order: Order, exec_id: str, quantity: int, price: int) -> None:
    cum = order.cum_qty + quantity
    status = S.FILLED if cum == order.quantity else S.PARTIALLY_FILLED
    order.apply(
        report_for(
            order, exec_id=exec_id, exec_type=ExecType.TRADE, ord_status=status, ts_ns=20, cum_qty=cum,
            last_qty=quantity, last_price=price,
        )
    )  # fmt: skip


def bust(
    order: Order,
    ref: str,
    quantity: int,
    price: int,
    status: OrdStatus,
    *,
    order_qty: int | None = None,
) -> ExecutionReport:
    """The venue's trade cancel of fill ``ref`` (``quantity`` at ``price``), the order then in ``status``."""
    report = report_for(
        order, exec_id=f"bust-{ref}", exec_type=ExecType.TRADE_CANCEL, ord_status=status, ts_ns=30,
        quantity=order_qty, price=order.price, cum_qty=order.cum_qty - quantity, last_qty=quantity, last_price=price,
        reason="erroneous",
    )  # fmt: skip
    return dataclasses.replace(report, ref_exec_id=ref)


# --- the order -----------------------------------------------------------------------------------------------


def test_a_bust_of_a_working_order_takes_its_fill_out_and_the_venue_says_what_stays_open() -> None:
    order = acked()
    fill(order, "f1", 30, 1_000_000)
    fill(order, "f2", 20, 1_000_300)

    # An exchange does not work the busted shares again: the order quantity drops by them, leaves stay 50.
    order.apply(bust(order, "f1", 30, 1_000_000, S.PARTIALLY_FILLED, order_qty=70))
    assert (order.status, order.quantity, order.cum_qty, order.leaves_qty) == (S.PARTIALLY_FILLED, 70, 20, 50)
    assert order.filled_cost == 20 * 1_000_300
    assert order.average_price_x() == 1_000_300
    assert order.fills == [(20, 1_000_300, 20)]
    assert order.fill_exec_ids == ["f2"]
    assert (order.updated_ns, order.reason) == (30, "erroneous")

    # FIX's rule (a broker that works it again): the order quantity stays, leaves go up by the busted 20.
    order.apply(bust(order, "f2", 20, 1_000_300, S.NEW))
    assert (order.status, order.quantity, order.cum_qty, order.leaves_qty) == (S.NEW, 70, 0, 70)
    assert (order.filled_cost, order.fills, order.average_price_x()) == (0, [], None)


@pytest.mark.parametrize("done", [S.FILLED, S.CANCELED])
def test_a_done_order_stays_done_and_gets_no_leaves_back(done: OrdStatus) -> None:
    order = acked()
    fill(order, "f1", 40, 1_000_000)
    if done is S.FILLED:
        fill(order, "f2", 60, 1_000_100)
    else:
        order.apply(report_for(order, exec_id="x", exec_type=ExecType.CANCELED, ord_status=S.CANCELED, ts_ns=21))

    order.apply(bust(order, "f1", 40, 1_000_000, done))
    assert order.status is done
    assert order.is_terminal
    left = 60 if done is S.FILLED else 0
    assert (order.quantity, order.cum_qty, order.leaves_qty) == (100, left, 0)
    assert order.filled_cost == left * 1_000_100


def test_a_done_order_is_not_reopened_by_a_bust() -> None:
    order = acked()
    fill(order, "f1", 100, 1_000_000)
    before = copy.deepcopy(order)
    with pytest.raises(IllegalTransition, match="cannot move FILLED to PARTIALLY_FILLED"):
        order.apply(bust(order, "f1", 100, 1_000_000, S.PARTIALLY_FILLED))
    assert order == before


def test_a_pending_cancel_stays_pending_and_a_refused_cancel_finds_the_order_unfilled() -> None:
    order = acked()
    fill(order, "f1", 30, 1_000_000)
    order.mark_pending(S.PENDING_CANCEL, 25)

    order.apply(bust(order, "f1", 30, 1_000_000, S.PENDING_CANCEL))
    assert (order.status, order.cum_qty, order.leaves_qty) == (S.PENDING_CANCEL, 0, 100)
    order.restore_after_reject(40, "too late")
    assert order.status is S.NEW


@pytest.mark.parametrize(
    ("ref", "quantity", "price", "status", "error"),
    [
        ("nope", 30, 1_000_000, S.PARTIALLY_FILLED, "trade cancel of nope, not a fill of this order"),
        ("", 30, 1_000_000, S.PARTIALLY_FILLED, "trade cancel of no execution, not a fill of this order"),
        ("ack", 30, 1_000_000, S.PARTIALLY_FILLED, "trade cancel of ack, not a fill of this order"),
        ("f1", 51, 1_000_000, S.PARTIALLY_FILLED, "trade cancel of 51 would take the filled 50 below 0"),
        ("f1", 20, 1_000_000, S.PARTIALLY_FILLED, "does not match fill f1 of 30 at 1000000"),
        ("f1", 30, 1_000_100, S.PARTIALLY_FILLED, "does not match fill f1 of 30 at 1000000"),
        ("f1", 30, 1_000_000, S.NEW, "leaving 20 filled cannot move PARTIALLY_FILLED to NEW"),
        ("f1", 30, 1_000_000, S.CANCELED, "leaving 20 filled cannot move PARTIALLY_FILLED to CANCELED"),
    ],
)
def test_a_bust_that_names_no_fill_of_the_order_or_misdescribes_it_is_refused_and_changes_nothing(
    ref: str, quantity: int, price: int, status: OrdStatus, error: str
) -> None:
    order = acked()
    fill(order, "f1", 30, 1_000_000)
    fill(order, "f2", 20, 1_000_300)
    before = copy.deepcopy(order)
    with pytest.raises(IllegalTransition, match=error):
        order.apply(bust(order, ref, quantity, price, status))
    assert order == before


def test_a_fill_is_busted_once() -> None:
    order = acked()
    fill(order, "f1", 30, 1_000_000)
    order.apply(bust(order, "f1", 30, 1_000_000, S.NEW))
    before = copy.deepcopy(order)
    with pytest.raises(IllegalTransition, match="not a fill of this order"):
        order.apply(bust(order, "f1", 30, 1_000_000, S.NEW))
    assert order == before


def test_a_bust_cannot_leave_fills_above_the_order_quantity() -> None:
    order = acked()
    fill(order, "f1", 30, 1_000_000)
    fill(order, "f2", 20, 1_000_300)
    with pytest.raises(IllegalTransition, match="cannot make the quantity 10"):
        order.apply(bust(order, "f1", 30, 1_000_000, S.PARTIALLY_FILLED, order_qty=10))


# --- the portfolio -------------------------------------------------------------------------------------------


def booked(fills: list[tuple[str, Side, int, int, int]]) -> Portfolio:
    portfolio = Portfolio({"AAPL": AAPL})
    for exec_id, side, quantity, price, fee in fills:
        portfolio.apply_fill("acc", "AAPL", side, quantity, price, fee, exec_id)
    return portfolio


def state(portfolio: Portfolio) -> tuple[object, ...]:
    position = portfolio.position("acc", "AAPL")
    return (
        position.quantity, position.cost, position.average_price(), position.realized, position.fees,
        position.traded_qty, portfolio.pnl("acc"), portfolio.pnl("acc", "AAPL"), portfolio.gross_exposure("acc"),
        portfolio.day_pnl("acc"),
    )  # fmt: skip


OPEN = ("open", Side.BUY, 10, 1_000_003, 7)
CLOSE_PART = ("close", Side.SELL, 4, 1_100_001, 5)
AFTER = ("after", Side.SELL, 9, 990_007, 3)


def test_busting_the_partial_close_between_an_open_and_a_flip_is_as_if_it_never_happened() -> None:
    portfolio = booked([OPEN, CLOSE_PART, AFTER])
    portfolio.set_mark("AAPL", 1_000_500)
    assert portfolio.position("acc", "AAPL").quantity == -3  # the last sell closed the 6 left and went short
    # Without the partial close, the last sell closes 9 of the 10 bought, at their average cost.
    position = portfolio.bust_fill("acc", "AAPL", "close")
    never = booked([OPEN, AFTER])
    never.set_mark("AAPL", 1_000_500)
    assert state(portfolio) == state(never)
    assert (position.quantity, position.cost, position.traded_qty) == (1, 1_000_003, 19)
    assert position.realized == (9 * 990_007 - 9 * 1_000_003) * 10**4  # money units of 1e-8 per price unit 1e-4
    assert position.fees == 10
    assert [booked[0] for booked in position.fills] == ["open", "after"]


def test_a_bust_of_an_unknown_fill_is_refused_and_changes_nothing() -> None:
    portfolio = booked([OPEN, CLOSE_PART])
    portfolio.set_mark("AAPL", 1_000_500)
    before = state(portfolio)
    for exec_id in ("nope", ""):
        with pytest.raises(KeyError, match="no fill"):
            portfolio.bust_fill("acc", "AAPL", exec_id)
    with pytest.raises(KeyError, match="no position in MSFT"):
        portfolio.bust_fill("acc", "MSFT", "open")
    assert state(portfolio) == before


FILLS = st.lists(
    st.tuples(
        st.sampled_from(Side),
        st.integers(min_value=1, max_value=50),
        st.integers(min_value=900_000, max_value=1_100_000),
        st.integers(min_value=-5, max_value=9),
    ),
    min_size=1,
    max_size=12,
)


@settings(max_examples=200, deadline=None)
@given(FILLS, st.data())
def test_any_bust_leaves_the_portfolio_as_if_the_fill_had_never_been_booked(
    fills: list[tuple[Side, int, int, int]], data: st.DataObject
) -> None:
    named = [(f"e{index}", *fill) for index, fill in enumerate(fills)]
    busted = data.draw(st.integers(min_value=0, max_value=len(named) - 1))
    portfolio = booked(named)
    portfolio.set_mark("AAPL", 1_000_001)
    portfolio.bust_fill("acc", "AAPL", named[busted][0])
    never = booked(named[:busted] + named[busted + 1 :])
    never.set_mark("AAPL", 1_000_001)
    assert state(portfolio) == state(never)
