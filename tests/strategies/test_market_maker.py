"""The market maker: where it quotes, how skew and max inventory move its quotes, and how it moves them."""

from __future__ import annotations

from collections.abc import Mapping

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.enums import OrdStatus, Side
from core.instruments import Instrument
from core.numbers import NANOS_PER_MILLI
from core.params import ParamError, ParamValue
from engine.strategies.market_maker import MarketMaker

from .conftest import AckMode, RecordingContext

TICK = 100
BID = 1_000_000
ASK = 1_000_400  # four ticks wide, mid 1_000_200 on the grid


def start(
    instruments: tuple[Instrument, ...], acks: AckMode = "deferred", **params: ParamValue
) -> tuple[RecordingContext, MarketMaker]:
    ctx = RecordingContext(instruments, acks=acks)
    maker = MarketMaker(ctx, params)
    ctx.start(maker)
    return ctx, maker


def quotes(ctx: RecordingContext, symbol: str = "AAA") -> tuple[tuple[int | None, int] | None, ...]:
    """(price, open quantity) of the working bid and ask, None for a side without a quote."""
    found = []
    for side in (Side.BUY, Side.SELL):
        order = ctx.quote(symbol, side)
        found.append(None if order is None else (order.price, order.leaves_qty))
    return tuple(found)


def test_quotes_one_bid_and_one_ask_half_spread_from_the_mid(aaa: Instrument) -> None:
    ctx, _ = start((aaa,))
    ctx.book("AAA", BID, ASK)

    assert quotes(ctx) == ((1_000_100, 100), (1_000_300, 100))
    assert [(s.side, s.price, s.quantity) for s in ctx.submits] == [
        (Side.BUY, 1_000_100, 100),
        (Side.SELL, 1_000_300, 100),
    ]


def test_half_spread_zero_joins_the_touch_of_a_one_tick_market(aaa: Instrument) -> None:
    ctx, _ = start((aaa,), half_spread_ticks=0)
    ctx.book("AAA", BID, BID + TICK)

    assert quotes(ctx) == ((BID, 100), (BID + TICK, 100))


def test_a_mid_between_ticks_is_quoted_at_least_half_spread_away(aaa: Instrument) -> None:
    ctx, _ = start((aaa,), half_spread_ticks=2, quote_size=300)
    ctx.book("AAA", BID, BID + TICK)  # mid 1_000_050

    # 2 ticks from the mid is 999_850 / 1_000_250: rounded outwards to the grid.
    assert quotes(ctx) == ((999_800, 300), (1_000_300, 300))


def test_does_not_quote_without_both_sides_of_the_book(aaa: Instrument) -> None:
    ctx, _ = start((aaa,))
    ctx.book("AAA", BID, None)
    ctx.book("AAA", None, ASK)

    assert ctx.submits == []


def test_long_inventory_moves_both_quotes_down_with_a_replace(aaa: Instrument) -> None:
    ctx, maker = start((aaa,), max_inventory=200, skew_ticks=2)
    ctx.book("AAA", BID, ASK)
    bid = ctx.quote("AAA", Side.BUY)
    ask = ctx.quote("AAA", Side.SELL)
    assert bid is not None
    assert ask is not None

    ctx.fill(bid.client_order_id)  # long 100: half the max inventory, one tick of skew
    ctx.book("AAA", BID, ASK)

    assert maker.inventory("AAA") == 100
    assert quotes(ctx) == ((1_000_000, 100), (1_000_200, 100))
    assert ctx.quote("AAA", Side.SELL) is ask  # the same order, moved
    assert [(r.client_order_id, r.price) for r in ctx.replaces] == [(ask.client_order_id, 1_000_200)]
    assert ctx.cancels == []


def test_short_inventory_moves_both_quotes_up(aaa: Instrument) -> None:
    ctx, _ = start((aaa,), max_inventory=200, skew_ticks=2)
    ctx.book("AAA", BID, ASK)
    ask = ctx.quote("AAA", Side.SELL)
    assert ask is not None

    ctx.fill(ask.client_order_id)
    ctx.book("AAA", BID, ASK)

    assert quotes(ctx) == ((1_000_200, 100), (1_000_400, 100))


def test_stops_quoting_the_side_that_adds_at_max_inventory(aaa: Instrument) -> None:
    ctx, maker = start((aaa,), max_inventory=200, skew_ticks=2)
    for _ in range(2):
        ctx.book("AAA", BID, ASK)
        bid = ctx.quote("AAA", Side.BUY)
        assert bid is not None
        ctx.fill(bid.client_order_id)
    ctx.book("AAA", BID, ASK)

    assert maker.inventory("AAA") == 200
    bid_price_ask = quotes(ctx)
    assert bid_price_ask[0] is None  # no bid at max inventory
    assert bid_price_ask[1] == (1_000_100, 100)  # full skew: two ticks down, still selling
    for _ in range(5):
        ctx.book("AAA", BID + TICK, ASK + TICK)
    assert ctx.quote("AAA", Side.BUY) is None


def test_bid_size_is_cut_so_a_fill_cannot_pass_max_inventory(aaa: Instrument) -> None:
    ctx, _ = start((aaa,), max_inventory=150, skew_ticks=0)
    ctx.book("AAA", BID, ASK)
    bid = ctx.quote("AAA", Side.BUY)
    assert bid is not None

    ctx.fill(bid.client_order_id)
    ctx.book("AAA", BID, ASK)

    assert quotes(ctx) == ((1_000_100, 50), (1_000_300, 100))


def test_a_partly_filled_bid_is_not_topped_up_beyond_max_inventory(aaa: Instrument) -> None:
    ctx, _ = start((aaa,), max_inventory=150, skew_ticks=0)
    ctx.book("AAA", BID, ASK)
    bid = ctx.quote("AAA", Side.BUY)
    assert bid is not None

    ctx.fill(bid.client_order_id, 80)
    ctx.book("AAA", BID, ASK)
    assert quotes(ctx)[0] == (1_000_100, 20)

    ctx.fill(bid.client_order_id, 20)
    ctx.book("AAA", BID, ASK)
    assert quotes(ctx)[0] == (1_000_100, 50)


def test_the_working_bid_shrinks_when_inventory_grows_elsewhere(aaa: Instrument) -> None:
    ctx, _ = start((aaa,), max_inventory=150, skew_ticks=0)
    ctx.book("AAA", BID, ASK)
    bid = ctx.quote("AAA", Side.BUY)
    assert bid is not None

    ctx.portfolio.apply_fill(ctx.account, "AAA", Side.BUY, 100, BID, 0)  # another desk on the same account
    ctx.book("AAA", BID, ASK)

    assert [(r.client_order_id, r.quantity, r.price) for r in ctx.replaces] == [(bid.client_order_id, 50, None)]
    assert quotes(ctx)[0] == (1_000_100, 50)


def test_never_bids_at_or_above_the_best_ask(aaa: Instrument) -> None:
    ctx, _ = start((aaa,), max_inventory=100, skew_ticks=3)
    ctx.book("AAA", BID, BID + TICK)
    ask = ctx.quote("AAA", Side.SELL)
    assert ask is not None

    ctx.fill(ask.client_order_id)  # short at max: three ticks up would cross the ask
    ctx.book("AAA", BID, BID + TICK)

    assert quotes(ctx) == ((BID, 100), None)


def test_a_quote_the_market_moved_through_is_moved_whatever_requote_ticks(aaa: Instrument) -> None:
    ctx, _ = start((aaa,), requote_ticks=10)
    ctx.book("AAA", BID, ASK)

    ctx.book("AAA", 999_000, 1_000_100)  # the best ask is now at our bid

    assert [r.price for r in ctx.replaces] == [999_400]
    assert quotes(ctx) == ((999_400, 100), (1_000_300, 100))


def test_requotes_only_when_the_price_moves_by_requote_ticks(aaa: Instrument) -> None:
    ctx, _ = start((aaa,), half_spread_ticks=3, requote_ticks=3)
    ctx.book("AAA", BID, ASK)
    first = quotes(ctx)
    assert first == ((999_900, 100), (1_000_500, 100))

    ctx.book("AAA", BID + 2 * TICK, ASK + 2 * TICK)
    assert quotes(ctx) == first
    assert ctx.replaces == []

    ctx.book("AAA", BID + 3 * TICK, ASK + 3 * TICK)
    assert quotes(ctx) == ((1_000_200, 100), (1_000_800, 100))
    assert len(ctx.replaces) == 2
    assert len(ctx.submits) == 2
    assert ctx.cancels == []


def test_never_crosses_its_own_quotes_when_the_market_jumps(aaa: Instrument) -> None:
    ctx, _ = start((aaa,), acks="manual")
    ctx.book("AAA", BID, ASK)
    for order in ctx.working("AAA"):
        ctx.ack(order.client_order_id)
    bid = ctx.quote("AAA", Side.BUY)
    ask = ctx.quote("AAA", Side.SELL)
    assert bid is not None
    assert ask is not None

    ctx.book("AAA", BID + 4 * TICK, ASK + 4 * TICK)  # the new bid would be above the ask still working

    moves = [(r.client_order_id, r.price) for r in ctx.replaces]
    assert moves == [(ask.client_order_id, 1_000_700), (bid.client_order_id, 1_000_200)]  # the ask goes first
    ctx.confirm_replace(ask.client_order_id)
    ctx.confirm_replace(bid.client_order_id)
    ctx.book("AAA", BID + 4 * TICK, ASK + 4 * TICK)
    assert ctx.replaces[-1].client_order_id == bid.client_order_id
    assert ctx.replaces[-1].price == 1_000_500


def test_a_requote_after_a_partial_fill_restores_the_quote_size(aaa: Instrument) -> None:
    ctx, _ = start((aaa,), skew_ticks=0)
    ctx.book("AAA", BID, ASK)
    bid = ctx.quote("AAA", Side.BUY)
    assert bid is not None

    ctx.fill(bid.client_order_id, 30)
    ctx.book("AAA", BID + TICK, ASK + TICK)

    [replace] = [r for r in ctx.replaces if r.client_order_id == bid.client_order_id]
    assert replace.quantity == 130  # total quantity: 30 filled and 100 open
    assert quotes(ctx)[0] == (1_000_200, 100)


def test_does_not_chase_its_own_quotes_at_the_top_of_the_book(aaa: Instrument) -> None:
    ctx, _ = start((aaa,), max_inventory=200, skew_ticks=2)
    ctx.book("AAA", BID, BID + 10 * TICK)  # wide market: our quotes become the top of the book
    assert quotes(ctx) == ((1_000_400, 100), (1_000_600, 100))
    bid = ctx.quote("AAA", Side.BUY)
    assert bid is not None
    ctx.fill(bid.client_order_id)

    ctx.book("AAA", BID, 1_000_600, ask_qty=100)  # our ask alone at the top
    expected = ((1_000_300, 100), (1_000_500, 100))
    assert quotes(ctx) == expected
    for _ in range(3):
        ctx.book("AAA", 1_000_300, 1_000_500, bid_qty=100, ask_qty=100)
    assert quotes(ctx) == expected
    assert len(ctx.replaces) == 1


def test_instruments_are_quoted_independently(aaa: Instrument, bbb: Instrument) -> None:
    ctx, maker = start((aaa, bbb), max_inventory=200)
    ctx.book("AAA", BID, ASK)
    ctx.book("BBB", 500_000, 500_200)
    bid = ctx.quote("AAA", Side.BUY)
    assert bid is not None

    ctx.fill(bid.client_order_id)
    ctx.book("AAA", BID, ASK)
    ctx.book("BBB", 500_000, 500_200)

    assert maker.inventory("BBB") == 0
    assert quotes(ctx, "AAA") == ((1_000_000, 100), (1_000_200, 100))
    assert quotes(ctx, "BBB") == ((500_000, 100), (500_200, 100))


def test_acknowledgements_inside_submit_are_not_lost(aaa: Instrument) -> None:
    ctx, _ = start((aaa,), acks="inline")
    ctx.book("AAA", BID, ASK)
    ctx.book("AAA", BID + TICK, ASK + TICK)

    assert len(ctx.submits) == 2
    assert len(ctx.replaces) == 2
    assert quotes(ctx) == ((1_000_200, 100), (1_000_400, 100))


def test_a_rejected_quote_is_sent_again_later(aaa: Instrument) -> None:
    ctx, _ = start((aaa,))
    ctx.refuse_submits = "risk: too many orders"  # rejected inside submit, before its id is returned
    ctx.book("AAA", BID, ASK)
    assert ctx.working("AAA") == []

    ctx.refuse_submits = None
    ctx.book("AAA", BID, ASK)

    assert quotes(ctx) == ((1_000_100, 100), (1_000_300, 100))
    assert ctx.replaces == []


def test_waits_for_the_acknowledgement_before_moving_a_quote(aaa: Instrument) -> None:
    ctx, _ = start((aaa,), acks="manual")
    ctx.book("AAA", BID, ASK)
    ctx.book("AAA", BID + TICK, ASK + TICK)
    assert ctx.replaces == []

    for order in ctx.working("AAA"):
        ctx.ack(order.client_order_id)
    ctx.book("AAA", BID + TICK, ASK + TICK)
    assert sorted(r.price for r in ctx.replaces if r.price is not None) == [1_000_200, 1_000_400]


def test_a_refused_replace_is_tried_again(aaa: Instrument) -> None:
    ctx, _ = start((aaa,), acks="manual")
    ctx.book("AAA", BID, ASK)
    for order in ctx.working("AAA"):
        ctx.ack(order.client_order_id)
    ctx.book("AAA", BID + TICK, ASK + TICK)
    bid = ctx.quote("AAA", Side.BUY)
    assert bid is not None

    ctx.refuse_replace(bid.client_order_id)
    ctx.book("AAA", BID + TICK, ASK + TICK)

    assert [r.client_order_id for r in ctx.replaces].count(bid.client_order_id) == 2


def test_a_replace_never_confirmed_is_tried_again_after_the_timeout(aaa: Instrument) -> None:
    ctx, _ = start((aaa,), acks="manual", confirm_timeout_ms=50)
    ctx.book("AAA", BID, ASK)
    for order in ctx.working("AAA"):
        ctx.ack(order.client_order_id)
    ctx.book("AAA", BID + TICK, ASK + TICK)
    bid = ctx.quote("AAA", Side.BUY)
    assert bid is not None
    ctx.refuse_replace(bid.client_order_id, tell=False)

    ctx.advance(49 * NANOS_PER_MILLI)
    ctx.book("AAA", BID + TICK, ASK + TICK)
    assert len(ctx.replaces) == 2
    ctx.advance(NANOS_PER_MILLI)
    ctx.book("AAA", BID + TICK, ASK + TICK)
    assert [r.client_order_id for r in ctx.replaces].count(bid.client_order_id) == 2


def test_inventory_counts_from_the_position_held_at_start(aaa: Instrument) -> None:
    ctx = RecordingContext((aaa,))
    ctx.portfolio.apply_fill(ctx.account, "AAA", Side.BUY, 5000, BID, 0)
    maker = MarketMaker(ctx, {"max_inventory": 200})
    ctx.start(maker)
    ctx.book("AAA", BID, ASK)

    assert maker.inventory("AAA") == 0
    assert quotes(ctx) == ((1_000_100, 100), (1_000_300, 100))


def test_params_are_checked() -> None:
    ctx = RecordingContext((Instrument(symbol="AAA"),))
    with pytest.raises(ParamError, match="half_spread_ticks"):
        MarketMaker(ctx, {"half_spread_ticks": -1})
    with pytest.raises(ParamError, match="unknown"):
        MarketMaker(ctx, {"spread": 1})


@settings(max_examples=60, deadline=None)
@given(
    params=st.fixed_dictionaries(
        {
            "half_spread_ticks": st.integers(1, 4),
            "quote_size": st.integers(1, 5).map(lambda lots: lots * 10),
            "max_inventory": st.integers(10, 120),
            "skew_ticks": st.integers(0, 8),
            "requote_ticks": st.integers(1, 3),
        }
    ),
    steps=st.lists(
        st.tuples(st.integers(-3, 3), st.integers(1, 4), st.sampled_from(["none", "bid", "ask", "part"])),
        min_size=1,
        max_size=40,
    ),
    acks=st.sampled_from(["deferred", "inline"]),
)
def test_quotes_never_cross_and_inventory_stays_within_bounds(
    params: Mapping[str, ParamValue], steps: list[tuple[int, int, str]], acks: AckMode
) -> None:
    instrument = Instrument(symbol="AAA", tick_size=100, lot_size=10)
    ctx, maker = start((instrument,), acks=acks, **params)
    limit = int(params["max_inventory"])
    bid = BID
    for move, width, fill in steps:
        bid += move * TICK
        ask = bid + width * TICK
        ctx.book("AAA", bid, ask)
        for order in ctx.working("AAA"):
            assert order.status is not OrdStatus.PENDING_NEW
            assert order.price is not None
            if order.side is Side.BUY:
                assert order.price < ask
            else:
                assert order.price > bid
        working = {order.side: order for order in ctx.working("AAA")}
        assert len(working) == len(ctx.working("AAA"))
        if Side.BUY in working and Side.SELL in working:
            assert (working[Side.BUY].price or 0) < (working[Side.SELL].price or 0)
        target = {"bid": Side.BUY, "ask": Side.SELL, "part": Side.BUY}.get(fill)
        if target is not None and target in working:
            order = working[target]
            quantity = 10 if fill == "part" and order.leaves_qty > 10 else None
            ctx.fill(order.client_order_id, quantity)
        assert -limit <= maker.inventory("AAA") <= limit
