"""The pairs trader: entries, exits and stops on the spread's z-score, with the right legs, sides and sizes."""

from __future__ import annotations

import math

import pytest

from core.enums import Side, TimeInForce
from core.instruments import Instrument
from core.numbers import NANOS_PER_SECOND
from core.params import ParamError, ParamValue
from engine.strategies.pairs import PairsTrader

from .conftest import AckMode, RecordingContext

TICK = 100
A0 = 1_000_000  # 100.00
B0 = 500_000  # 50.00
WINDOW = 50


def start(
    instruments: tuple[Instrument, ...], acks: AckMode = "deferred", **params: ParamValue
) -> tuple[RecordingContext, PairsTrader]:
    settings: dict[str, ParamValue] = {"window": WINDOW, "stop_z": 6.0, "sample_interval_ms": 1000}
    settings.update(params)
    ctx = RecordingContext(instruments, acks=acks)
    pairs = PairsTrader(ctx, settings)
    ctx.start(pairs)
    return ctx, pairs


def sample(ctx: RecordingContext, a_mid: int, b_mid: int = B0) -> None:
    """Both books two ticks wide around the given mids, then one sample interval."""
    ctx.book("AAA", a_mid - TICK, a_mid + TICK)
    ctx.book("BBB", b_mid - TICK, b_mid + TICK)
    ctx.advance(NANOS_PER_SECOND)


def warm_up(ctx: RecordingContext) -> None:
    """All but the last sample of the window: A one tick either side of 100.00, B still."""
    for i in range(WINDOW - 1):
        sample(ctx, A0 + (TICK if i % 2 else -TICK))


def orders(ctx: RecordingContext, since: int = 0) -> list[tuple[str, Side, int, int | None, TimeInForce]]:
    return [(s.instrument, s.side, s.quantity, s.price, s.time_in_force) for s in ctx.submits[since:]]


def fill_all(ctx: RecordingContext) -> None:
    for order in ctx.working():
        ctx.fill(order.client_order_id)


@pytest.fixture
def pair(aaa: Instrument, bbb: Instrument) -> tuple[Instrument, Instrument]:
    return aaa, bbb


def test_no_signal_and_no_order_until_the_window_is_full(pair: tuple[Instrument, Instrument]) -> None:
    ctx, pairs = start(pair)
    warm_up(ctx)

    assert pairs.samples == WINDOW - 1
    assert pairs.z is None
    assert ctx.submits == []


def test_a_rich_first_leg_is_sold_and_the_second_bought(pair: tuple[Instrument, Instrument]) -> None:
    ctx, pairs = start(pair)
    warm_up(ctx)
    sample(ctx, A0 + 6 * TICK)

    assert pairs.z is not None
    assert pairs.z > 2.0
    assert pairs.direction == -1
    # 100_000 gross split 1:1; 50_000 buys 499 AAA at 100.06 and 1000 BBB at 50.00; two ticks of slippage.
    assert orders(ctx) == [
        ("AAA", Side.SELL, 499, 1_000_500 - 2 * TICK, TimeInForce.IOC),
        ("BBB", Side.BUY, 1000, 500_100 + 2 * TICK, TimeInForce.IOC),
    ]


def test_a_cheap_first_leg_is_bought_and_the_second_sold(pair: tuple[Instrument, Instrument]) -> None:
    ctx, pairs = start(pair)
    warm_up(ctx)
    sample(ctx, A0 - 6 * TICK)

    assert pairs.direction == 1
    assert orders(ctx) == [
        ("AAA", Side.BUY, 500, 999_500 + 2 * TICK, TimeInForce.IOC),
        ("BBB", Side.SELL, 1000, 499_900 - 2 * TICK, TimeInForce.IOC),
    ]


def test_exits_both_legs_when_the_spread_comes_back(pair: tuple[Instrument, Instrument]) -> None:
    ctx, pairs = start(pair)
    warm_up(ctx)
    sample(ctx, A0 + 6 * TICK)
    fill_all(ctx)
    assert (pairs.position_a, pairs.position_b) == (-499, 1000)

    sample(ctx, A0)

    assert pairs.z is not None
    assert abs(pairs.z) < 0.5
    assert pairs.direction == 0
    assert orders(ctx, 2) == [
        ("AAA", Side.BUY, 499, A0 + TICK + 2 * TICK, TimeInForce.IOC),
        ("BBB", Side.SELL, 1000, B0 - TICK - 2 * TICK, TimeInForce.IOC),
    ]
    fill_all(ctx)
    assert (pairs.position_a, pairs.position_b) == (0, 0)
    sample(ctx, A0)
    assert len(ctx.submits) == 4


def test_holds_while_the_spread_stays_between_exit_and_stop(pair: tuple[Instrument, Instrument]) -> None:
    ctx, pairs = start(pair)
    warm_up(ctx)
    sample(ctx, A0 + 6 * TICK)
    fill_all(ctx)

    sample(ctx, A0 + 6 * TICK)

    assert pairs.z is not None
    assert 0.5 < pairs.z < 6.0
    assert pairs.direction == -1
    assert len(ctx.submits) == 2


def test_stops_out_and_waits_for_the_spread_to_calm_before_entering_again(
    pair: tuple[Instrument, Instrument],
) -> None:
    ctx, pairs = start(pair)
    warm_up(ctx)
    sample(ctx, A0 + 6 * TICK)
    fill_all(ctx)

    sample(ctx, A0 + 40 * TICK)  # the spread runs away: z beyond stop_z
    assert pairs.z is not None
    assert pairs.z >= 6.0
    assert pairs.direction == 0
    assert [(i, s) for i, s, *_ in orders(ctx, 2)] == [("AAA", Side.BUY), ("BBB", Side.SELL)]
    fill_all(ctx)
    assert (pairs.position_a, pairs.position_b) == (0, 0)

    sample(ctx, A0 + 20 * TICK)  # rich again, but the strategy is not re-armed yet
    assert pairs.z > 2.0
    assert len(ctx.submits) == 4

    sample(ctx, A0)  # calm: re-armed
    sample(ctx, A0 + 25 * TICK)
    assert pairs.z > 2.0
    assert pairs.direction == -1
    assert [(i, s) for i, s, *_ in orders(ctx, 4)] == [("AAA", Side.SELL), ("BBB", Side.BUY)]


def test_waits_for_orders_in_flight_then_completes_a_leg(pair: tuple[Instrument, Instrument]) -> None:
    ctx, pairs = start(pair)
    warm_up(ctx)
    sample(ctx, A0 + 6 * TICK)
    sell_a, buy_b = (order.client_order_id for order in ctx.working())
    ctx.fill(sell_a, 200)

    sample(ctx, A0 + 6 * TICK)
    assert pairs.orders_in_flight == 2
    assert len(ctx.submits) == 2

    ctx.expire(sell_a)  # the rest of the IOC is cancelled
    ctx.fill(buy_b)
    sample(ctx, A0 + 6 * TICK)

    assert (pairs.position_a, pairs.position_b) == (-200, 1000)
    assert orders(ctx, 2) == [("AAA", Side.SELL, 299, 1_000_500 - 2 * TICK, TimeInForce.IOC)]


def test_orders_rejected_inside_submit_do_not_block_the_strategy(pair: tuple[Instrument, Instrument]) -> None:
    ctx, pairs = start(pair, acks="inline")
    warm_up(ctx)
    ctx.refuse_submits = "risk: notional limit"
    sample(ctx, A0 + 6 * TICK)
    assert len(ctx.submits) == 2
    assert pairs.orders_in_flight == 0

    ctx.refuse_submits = None
    sample(ctx, A0 + 6 * TICK)

    assert [(i, s) for i, s, *_ in orders(ctx, 2)] == [("AAA", Side.SELL), ("BBB", Side.BUY)]


def test_positions_held_at_start_are_left_alone(pair: tuple[Instrument, Instrument]) -> None:
    ctx = RecordingContext(pair)
    ctx.portfolio.apply_fill(ctx.account, "AAA", Side.BUY, 700, A0, 0)
    pairs = PairsTrader(ctx, {"window": WINDOW, "stop_z": 6.0})
    ctx.start(pairs)
    warm_up(ctx)
    sample(ctx, A0)

    assert pairs.position_a == 0
    assert ctx.submits == []


def test_least_squares_hedge_ratio_sizes_the_legs(pair: tuple[Instrument, Instrument]) -> None:
    ctx, pairs = start(pair, hedge="ols", notional=90_000)
    # A moves as B squared: log A = c + 2 log B, so the hedge ratio is 2.
    for i in range(WINDOW - 1):
        b_mid = round(B0 * (1 + 0.1 * math.sin(i / 4)), -2)
        a_mid = round(A0 * (b_mid / B0) ** 2, -2) + (TICK if i % 2 else -TICK)
        sample(ctx, int(a_mid), int(b_mid))
    sample(ctx, A0 + 6 * TICK, B0)

    assert pairs.hedge_ratio is not None
    assert pairs.hedge_ratio == pytest.approx(2.0, abs=0.01)
    assert pairs.direction == -1
    # 90_000 split 1 : 2, valued at the mids: 30_000 of AAA at 100.06 and 60_000 of BBB at 50.00.
    assert [(s.instrument, s.side, s.quantity) for s in ctx.submits] == [
        ("AAA", Side.SELL, 299),
        ("BBB", Side.BUY, 1200),
    ]


def test_least_squares_gives_no_signal_when_the_second_leg_does_not_move(
    pair: tuple[Instrument, Instrument],
) -> None:
    ctx, pairs = start(pair, hedge="ols")
    warm_up(ctx)
    sample(ctx, A0 + 6 * TICK)

    assert pairs.z is None
    assert ctx.submits == []


def test_trades_exactly_two_instruments(aaa: Instrument) -> None:
    with pytest.raises(ValueError, match="exactly two"):
        PairsTrader(RecordingContext((aaa,)), {})


def test_thresholds_must_be_ordered(pair: tuple[Instrument, Instrument]) -> None:
    with pytest.raises(ParamError, match="exit_z < entry_z < stop_z"):
        PairsTrader(RecordingContext(pair), {"entry_z": 2.0, "exit_z": 2.5})
