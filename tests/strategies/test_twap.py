"""The TWAP: slice sizes and prices over time, catching up when behind, never overfilling, finishing."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.enums import OrderType, OrdStatus, Side, TimeInForce
from core.instruments import Instrument
from core.numbers import NANOS_PER_MILLI, NANOS_PER_SECOND, Price, Quantity
from core.params import ParamError, ParamValue
from engine.strategies.twap import Twap

from .conftest import AckMode, RecordingContext

TICK = 100
BID = 1_000_000
ASK = 1_000_100
SLICE = 2 * NANOS_PER_SECOND  # 10 s in 5 slices


def start(
    instrument: Instrument, *, acks: AckMode = "deferred", book: bool = True, **params: ParamValue
) -> tuple[RecordingContext, Twap]:
    settings: dict[str, ParamValue] = {"side": "buy", "quantity": 1000, "duration_s": 10.0, "slices": 5}
    settings.update(params)
    ctx = RecordingContext((instrument,), acks=acks)
    if book:
        ctx.book("AAA", BID, ASK)
    twap = Twap(ctx, settings)
    ctx.start(twap)
    return ctx, twap


def child(ctx: RecordingContext) -> tuple[str, Quantity, Price | None]:
    """(id, open quantity, price) of the one working child."""
    working = ctx.working("AAA")
    assert len(working) == 1
    order = working[0]
    return order.client_order_id, order.leaves_qty, order.price


def test_the_first_slice_joins_the_best_bid_at_start(aaa: Instrument) -> None:
    ctx, twap = start(aaa)

    [submit] = ctx.submits
    assert (submit.side, submit.quantity, submit.price) == (Side.BUY, 200, BID)
    assert (submit.order_type, submit.time_in_force) == (OrderType.LIMIT, TimeInForce.DAY)
    assert (twap.filled, twap.remaining, twap.working) == (0, 1000, 200)


def test_on_schedule_every_slice_sends_its_share_at_the_touch(aaa: Instrument) -> None:
    ctx, twap = start(aaa)
    for n in range(5):
        order_id, _, _ = child(ctx)
        ctx.fill(order_id)
        assert twap.filled == 200 * (n + 1)
        ctx.book("AAA", BID + n * TICK, ASK + n * TICK)
        ctx.advance(SLICE)

    assert [(s.quantity, s.price) for s in ctx.submits] == [(200, BID + n * TICK) for n in (0, 0, 1, 2, 3)]
    assert ctx.replaces == []
    assert twap.done
    assert twap.remaining == 0
    ctx.advance(10 * SLICE)
    assert len(ctx.submits) == 5
    assert ctx.working() == []


def test_an_unfilled_child_is_moved_across_the_spread_with_the_missed_quantity(aaa: Instrument) -> None:
    ctx, _ = start(aaa)
    order_id, _, _ = child(ctx)

    ctx.advance(SLICE)

    assert [(r.client_order_id, r.quantity, r.price) for r in ctx.replaces] == [(order_id, 400, ASK + TICK)]
    assert child(ctx) == (order_id, 400, ASK + TICK)
    assert ctx.cancels == []
    assert len(ctx.submits) == 1


def test_a_partly_filled_child_is_replaced_with_its_total_quantity(aaa: Instrument) -> None:
    ctx, twap = start(aaa)
    order_id, _, _ = child(ctx)
    ctx.fill(order_id, 50)

    ctx.advance(SLICE)

    # 50 filled: 350 more are due by the end of the second slice, so the child's total becomes 400.
    assert [(r.quantity, r.price) for r in ctx.replaces] == [(400, ASK + TICK)]
    assert child(ctx) == (order_id, 350, ASK + TICK)
    assert (twap.filled, twap.remaining) == (50, 950)


def test_aggression_ticks_sets_how_far_it_crosses(aaa: Instrument) -> None:
    ctx, _ = start(aaa, aggression_ticks=0)
    ctx.advance(SLICE)
    assert ctx.replaces[-1].price == ASK


def test_a_sell_joins_the_best_ask_and_crosses_down_when_behind(aaa: Instrument) -> None:
    ctx, _ = start(aaa, side="sell", aggression_ticks=2)
    assert [(s.side, s.quantity, s.price) for s in ctx.submits] == [(Side.SELL, 200, ASK)]

    ctx.advance(SLICE)
    assert child(ctx)[1:] == (400, BID - 2 * TICK)


def test_catches_up_after_the_last_slice_and_finishes_exactly(aaa: Instrument) -> None:
    ctx, twap = start(aaa)
    for _ in range(4):
        ctx.advance(SLICE)
    order_id, open_qty, price = child(ctx)
    assert (open_qty, price) == (1000, ASK + TICK)  # the last slice asks for everything

    ctx.fill(order_id, 600)
    ctx.book("AAA", BID + TICK, ASK + TICK)
    ctx.advance(SLICE)  # the schedule is over: cross for what is left
    assert child(ctx) == (order_id, 400, ASK + 2 * TICK)
    ctx.fill(order_id)

    assert twap.done
    assert twap.filled == 1000
    assert any(line.startswith("done") for line in ctx.logs)
    ctx.advance(5 * SLICE)
    assert len(ctx.submits) == 1
    assert ctx.working() == []


def test_a_busted_fill_no_longer_counts_and_its_quantity_is_worked_again(aaa: Instrument) -> None:
    ctx, twap = start(aaa)
    for _ in range(4):
        ctx.advance(SLICE)
    order_id, _, _ = child(ctx)
    ctx.fill(order_id, 600)
    ctx.fill(order_id)
    assert twap.done

    ctx.bust(ctx.last_fill_id)  # the venue breaks the last 400: the child stays filled (600)
    assert not twap.done
    assert (twap.filled, twap.filled_cost) == (600, 600 * (ASK + TICK))
    assert any("busted: 600 of 1000 now filled" in line for line in ctx.logs)
    ctx.advance(SLICE)  # the schedule is over: cross for the 400 again
    order_id, open_qty, _ = child(ctx)
    assert open_qty == 400
    ctx.fill(order_id)
    assert twap.done
    assert twap.filled == 1000


def test_without_a_market_the_schedule_starts_with_the_first_book(aaa: Instrument) -> None:
    ctx, twap = start(aaa, book=False)
    assert ctx.submits == []
    ctx.advance(25 * NANOS_PER_MILLI)
    assert ctx.submits == []
    assert twap.start_ns is None

    ctx.book("AAA", BID, ASK)
    ctx.advance(5 * NANOS_PER_MILLI)
    assert twap.start_ns == ctx.now
    assert [(s.quantity, s.price) for s in ctx.submits] == [(200, BID)]

    ctx.advance(SLICE - NANOS_PER_MILLI)
    assert ctx.replaces == []
    ctx.advance(NANOS_PER_MILLI)
    assert [r.quantity for r in ctx.replaces] == [400]


def test_slices_are_whole_lots_and_the_last_takes_the_rest(aaa: Instrument) -> None:
    lots = Instrument(symbol="AAA", tick_size=100, lot_size=100)
    ctx, twap = start(lots, slices=3)
    for _ in range(3):
        order_id, _, _ = child(ctx)
        ctx.fill(order_id)
        ctx.advance(10 * NANOS_PER_SECOND // 3 + 1)

    assert [s.quantity for s in ctx.submits] == [300, 300, 400]
    assert twap.done


def test_a_quantity_in_part_lots_is_refused() -> None:
    lots = Instrument(symbol="AAA", lot_size=100)
    with pytest.raises(ParamError, match="whole number of lots"):
        Twap(RecordingContext((lots,)), {"quantity": 1050})


class FillingContext(RecordingContext):
    """A venue that fills every new order completely before ``submit`` even returns."""

    def submit(self, *args: object, **kwargs: object) -> str:
        client_order_id = super().submit(*args, **kwargs)  # type: ignore[arg-type]
        self.fill(client_order_id)
        return client_order_id


def test_fills_reported_inside_submit_are_counted_once(aaa: Instrument) -> None:
    ctx = FillingContext((aaa,), acks="inline")
    ctx.book("AAA", BID, ASK)
    twap = Twap(ctx, {"side": "buy", "quantity": 1000, "duration_s": 10.0, "slices": 5})
    ctx.start(twap)
    assert twap.filled == 200
    assert twap.working == 0

    ctx.advance(SLICE)
    assert twap.filled == 400
    assert [s.quantity for s in ctx.submits] == [200, 200]


def open_quantity(ctx: RecordingContext) -> Quantity:
    return sum(order.quantity - order.cum_qty for order in ctx.working())


@settings(max_examples=80, deadline=None)
@given(
    side=st.sampled_from(["buy", "sell"]),
    acks=st.sampled_from(["deferred", "inline"]),
    quantity=st.integers(1, 40).map(lambda lots: lots * 10),
    slices=st.integers(1, 7),
    steps=st.lists(
        st.one_of(
            st.tuples(st.just("advance"), st.integers(1, 3000)),
            st.tuples(st.just("fill"), st.integers(1, 100)),
            st.tuples(st.just("move"), st.integers(-3, 3)),
        ),
        max_size=40,
    ),
)
def test_never_overfills_and_always_finishes(
    side: str, acks: AckMode, quantity: int, slices: int, steps: list[tuple[str, int]]
) -> None:
    instrument = Instrument(symbol="AAA", tick_size=100, lot_size=10)
    ctx, twap = start(instrument, acks=acks, side=side, quantity=quantity, slices=slices, duration_s=6.0)
    bid = BID
    for action, amount in steps:
        if action == "advance":
            ctx.advance(amount * NANOS_PER_MILLI)
        elif action == "move":
            bid += amount * TICK
            ctx.book("AAA", bid, bid + TICK)
        else:
            for order in ctx.working("AAA"):
                if order.status is not OrdStatus.PENDING_NEW:
                    open_qty = order.quantity - order.cum_qty
                    ctx.fill(order.client_order_id, max(10, open_qty * amount // 100 // 10 * 10))
        assert len(ctx.working()) <= 1
        assert twap.filled + open_quantity(ctx) <= quantity
        assert twap.filled == sum(order.cum_qty for order in ctx.orders.values())

    for _ in range(slices + 3):
        ctx.advance(6 * NANOS_PER_SECOND // slices)
        for order in ctx.working("AAA"):
            ctx.fill(order.client_order_id)
        if twap.done:
            break
    assert twap.done
    assert twap.filled == quantity
    assert ctx.working() == []
    submitted = len(ctx.submits)
    ctx.advance(10 * NANOS_PER_SECOND)
    assert len(ctx.submits) == submitted
