"""The background flow: reproducible, a live two-sided market at the documented rate, trading with the engine,
and stopping at the engine's events so that the venue reports them at their exact time."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from core.commands import SubmitOrder
from core.enums import ExecType, Side
from core.events import ExecutionReport, TradeTick
from engine.assembly import build_engine
from engine.backtest import SESSION_START_NS
from engine.clock import SimulatedScheduler
from engine.config import EngineConfig
from engine.plugins import PluginRegistry
from engine.sim.flow import BACKGROUND_ID_BASE, BackgroundFlow, FlowParams
from engine.sim.matching import BUY, E_OWNER, E_TS, EV_FILL, SELL, MatchingBook
from engine.sim.rng import derive_seed

SECOND = 1_000_000_000
MILLI = 1_000_000
TICK = 100

F64 = npt.NDArray[np.float64]


def run(seed: int, until_ns: int, steps: list[int] | None = None) -> tuple[MatchingBook, BackgroundFlow]:
    book = MatchingBook(TICK)
    flow = BackgroundFlow(book, FlowParams(), seed=seed, start_ns=0)
    for t in [*(steps or []), until_ns]:
        flow.run_until(t)
    return book, flow


def snapshot(book: MatchingBook, flow: BackgroundFlow) -> tuple[object, ...]:
    bids, asks = book.depth(100)
    return (
        bids.tolist(),
        asks.tolist(),
        book.event_rows.tolist(),
        book.counters(),
        book.resting_orders,
        flow.fundamental,
        flow.messages,
        flow.next_event_ns,
        sorted(book.drain_deltas().tolist()),
    )


def take(book: MatchingBook, flow: BackgroundFlow, ts: int, oid: int, side: int, qty: int) -> int:
    """An engine market order, and its impact on the fundamental for what it took, as the venue does it."""
    book.clear_events()
    book.market(ts, oid, 7, side, qty)
    fills = book.events[book.events["kind"] == EV_FILL]
    taken = int(fills["qty"].sum())
    flow.take_impact(ts, side, taken)
    return taken


def test_a_seed_gives_the_same_market_every_time() -> None:
    first = snapshot(*run(11, 2 * SECOND))
    assert snapshot(*run(11, 2 * SECOND)) == first
    assert snapshot(*run(12, 2 * SECOND)) != first


def test_splitting_time_into_steps_changes_nothing() -> None:
    whole = snapshot(*run(5, 3 * SECOND))
    rng = np.random.default_rng(0)
    cuts = sorted(rng.integers(0, 3 * SECOND, size=40).tolist())
    assert snapshot(*run(5, 3 * SECOND, steps=cuts)) == whole


def test_splitting_time_changes_nothing_with_the_market_factor_and_engine_impact() -> None:
    impacts = [(700 * MILLI, BUY, 5_000), (1_300 * MILLI, SELL, 1_200), (2_000 * MILLI, BUY, 40)]

    def market(cuts: list[int]) -> tuple[object, ...]:
        book = MatchingBook(TICK)
        flow = BackgroundFlow(book, FlowParams(market_correlation=0.8), seed=5, start_ns=0, market_seed=9)
        for t in sorted([*cuts, 3 * SECOND]):
            flow.run_until(t)
            for ts, side, qty in impacts:
                if ts == t:
                    take(book, flow, ts, 1_000 + ts, side, qty)
        return (*snapshot(book, flow), flow.market_factor, flow.factor_ticks)

    at_impacts = [ts for ts, _, _ in impacts]
    whole = market(at_impacts)
    rng = np.random.default_rng(1)
    on_the_grid = [k * 10 * MILLI for k in rng.integers(1, 300, size=20).tolist()]
    cuts = sorted({*rng.integers(0, 3 * SECOND, size=40).tolist(), *on_the_grid, *at_impacts})
    assert market(cuts) == whole
    assert whole[-2] != 0, "the factor moved"


def test_every_run_applies_what_is_due_before_its_end_even_in_small_steps_between_engine_orders() -> None:
    book = MatchingBook(TICK)
    flow = BackgroundFlow(book, FlowParams(market_correlation=0.8), seed=3, start_ns=0, market_seed=4)
    whole_book = MatchingBook(TICK)
    whole = BackgroundFlow(whole_book, FlowParams(market_correlation=0.8), seed=3, start_ns=0, market_seed=4)
    took = 0
    for k in range(1, 20_001):  # 20 us steps: most of them have nothing due
        t = k * 20_000
        flow.run_until(t)
        assert flow.next_event_ns >= t
        if k % 500 == 137:  # an engine order sweeps the book, and moves the fundamental for what it took
            side = BUY if k % 1_000 > 500 else SELL
            whole.run_until(t)
            take(whole_book, whole, t, k, side, 2_000)
            took += take(book, flow, t, k, side, 2_000) > 0
    for each in (flow, whole):
        each.run_until(20_000 * 20_000 + 1)
    assert took > 10
    assert snapshot(book, flow) == snapshot(whole_book, whole)


def test_instruments_do_not_disturb_each_other() -> None:
    alone = snapshot(*run(derive_seed(1, "AAA"), SECOND))
    book_a, book_b = MatchingBook(TICK), MatchingBook(TICK)
    flow_a = BackgroundFlow(book_a, FlowParams(), seed=derive_seed(1, "AAA"), start_ns=0)
    flow_b = BackgroundFlow(book_b, FlowParams(), seed=derive_seed(1, "BBB"), start_ns=0)
    for k in range(1, 11):
        flow_b.run_until(k * SECOND // 10)
        flow_a.run_until(k * SECOND // 10)
    assert snapshot(book_a, flow_a) == alone
    assert flow_b.fundamental != 0


def test_a_simulated_minute_is_two_sided_with_a_tight_spread_at_the_documented_rate() -> None:
    book = MatchingBook(TICK)
    flow = BackgroundFlow(book, FlowParams(), seed=2, start_ns=0)
    messages = flow.run_until(SECOND // 10)
    spreads, sizes = [], []
    for k in range(2, 601):
        messages += flow.run_until(k * SECOND // 10)
        bid, bid_qty, ask, ask_qty = book.top()
        assert bid is not None, "the bid side emptied"
        assert ask is not None, "the ask side emptied"
        assert 0 < bid < ask
        spreads.append((ask - bid) // TICK)
        sizes += [bid_qty, ask_qty]
    assert 5_000 <= messages / 60 <= 20_000
    assert np.mean(np.array(spreads) <= 3) >= 0.95
    assert 100 <= np.median(sizes) <= 10_000
    bids, asks = book.depth(5)
    assert len(bids) == len(asks) == 5
    assert abs((bids[0, 0] + asks[0, 0]) // 2 - flow.fundamental) <= 3 * TICK
    fills = book.events[book.events["kind"] == EV_FILL]
    assert len(fills) >= 60, "the crowd trades, about twice a second"
    assert fills["maker_oid"].min() >= BACKGROUND_ID_BASE


def test_background_takers_fill_engine_orders() -> None:
    book = MatchingBook(TICK)
    flow = BackgroundFlow(book, FlowParams(), seed=4, start_ns=0)
    flow.run_until(SECOND)
    bid, _, ask, _ = book.top()
    assert bid is not None
    assert ask is not None
    book.add(SECOND, 1, 7, BUY, bid, 300)
    book.add(SECOND, 2, 7, SELL, ask, 300)
    book.clear_events()
    flow.run_until(31 * SECOND)
    fills = book.events[book.events["kind"] == EV_FILL]
    ours = fills[fills["maker_owner"] == 7]
    assert set(ours["maker_oid"].tolist()) == {1, 2}
    assert set(ours[ours["maker_oid"] == 1]["price"].tolist()) == {bid}
    assert (ours["taker_owner"] == 0).all()


def test_an_engine_order_walks_the_background_book() -> None:
    book = MatchingBook(TICK)
    flow = BackgroundFlow(book, FlowParams(), seed=8, start_ns=0)
    flow.run_until(SECOND)
    _, asks = book.depth(10)
    wanted = int(asks[:3, 1].sum()) + 1
    book.clear_events()
    book.market(SECOND, 99, 7, BUY, wanted)
    fills = book.events[book.events["kind"] == EV_FILL]
    assert fills["price"].tolist() == sorted(fills["price"].tolist())
    assert len(set(fills["price"].tolist())) >= 4
    assert int(fills["qty"].sum()) == wanted
    best_ask = book.top()[2]
    assert best_ask is not None
    assert best_ask > asks[2, 0]


def test_an_engine_order_that_takes_liquidity_moves_the_fundamental_by_the_square_root_law() -> None:
    book = MatchingBook(TICK)
    flow = BackgroundFlow(book, FlowParams(), seed=8, start_ns=0)
    flow.run_until(SECOND)
    start = flow.fundamental
    # 0.3 tick for one lot of 100 shares, times the square root of the lots: 20,000 shares move 4.24 ticks.
    assert flow.take_impact(SECOND, BUY, 20_000) == 4
    assert flow.fundamental == start + 4 * TICK
    assert flow.next_event_ns == SECOND, "the next event is drawn again from the order's time"
    assert flow.take_impact(SECOND, SELL, 20_000) == -4, "the 0.24 carried over and the sale's 4.24 make 4"
    assert flow.fundamental == start
    moves = [flow.take_impact(SECOND, BUY, 100) for _ in range(10)]
    assert sum(moves) == 3, "ten orders of one lot move 3 ticks in all, not 0 for being small"
    assert set(moves) == {0, 1}
    assert flow.fundamental == start + 3 * TICK


def test_a_large_engine_buy_leaves_the_market_higher() -> None:
    def mids_after(buy: int, *, impact: bool = True) -> F64:
        book = MatchingBook(TICK)
        params = FlowParams(start_price=1_900_000, daily_volatility=0.002, noise_rate=0.05)
        flow = BackgroundFlow(book, params, seed=12, start_ns=0)
        flow.run_until(SECOND)
        if buy and impact:
            assert take(book, flow, SECOND, 1, BUY, buy) == buy
        elif buy:
            book.market(SECOND, 1, 7, BUY, buy)
        mids = []
        for k in range(2, 11):
            flow.run_until(k * SECOND)
            book.clear_events()
            bid, _, ask, _ = book.top()
            assert bid is not None
            assert ask is not None
            mids.append((bid + ask) / 2 / TICK)
        return np.array(mids)

    # 8,100 shares (81 lots, most of the offers in the book) move the fundamental 0.3 * sqrt(81) = 2.7 ticks.
    calm = mids_after(0)
    assert np.abs(mids_after(8_100, impact=False) - calm).mean() < 1, "without impact the market would revert"
    footprint = mids_after(8_100) - calm
    assert footprint.min() >= 2, "the mid stays higher for seconds"
    assert 2 <= footprint.mean() <= 4, "by about the 2.7 ticks of the square-root law"


def test_prices_stay_positive_near_zero() -> None:
    params = FlowParams(start_price=300, tick=100, daily_volatility=5.0)
    book = MatchingBook(100)
    flow = BackgroundFlow(book, params, seed=1, start_ns=0)
    flow.run_until(5 * SECOND)
    bids, asks = book.depth(100)
    assert bids[:, 0].min() > 0
    assert asks[:, 0].min() > 0
    assert flow.fundamental > 0


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"start_price": 150, "tick": 100}, "multiple of tick"),
        ({"zi_rate": -1.0}, "must not be negative"),
        ({"mm_offsets": ()}, "market maker"),
        ({"zi_cross_prob": 2.0}, "zi_cross_prob"),
        ({"lot": 0}, "lot"),
        ({"taker_excitation": 1.0}, "taker_excitation"),
        ({"zi_min_distance": 30}, "zi distances"),
        ({"mm_offsets": (0,) * 63}, "market makers"),
        ({"market_correlation": 1.5}, "market_correlation"),
    ],
)
def test_invalid_parameters_are_refused(changes: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        FlowParams(**changes)  # type: ignore[arg-type]


def test_flow_tick_must_sit_on_the_book_grid() -> None:
    with pytest.raises(ValueError, match="tick"):
        BackgroundFlow(MatchingBook(3), FlowParams(), seed=1, start_ns=0)


def quote_both_sides(book: MatchingBook, ts: int, owner: int = 7, size: int = 300) -> None:
    """Engine orders at the best bid and ask, and one more a tick behind each."""
    bid, _, ask, _ = book.top()
    assert bid is not None
    assert ask is not None
    for oid, side, price in ((1, BUY, bid), (2, SELL, ask), (3, BUY, bid - TICK), (4, SELL, ask + TICK)):
        book.add(ts, oid, owner, side, price, size)


def test_the_flow_stops_at_each_event_of_an_engine_order_at_its_time() -> None:
    book = MatchingBook(TICK)
    flow = BackgroundFlow(book, FlowParams(), seed=4, start_ns=0)
    flow.run_until(SECOND)
    quote_both_sides(book, SECOND)
    book.clear_events()
    stops = []
    while True:
        flow.run_until(60 * SECOND, stop_on_owned=True)
        if not flow.stopped:
            break
        rows = book.event_rows
        assert rows[-1, E_TS] == flow.now_ns, "the flow stopped right after the message, at its time"
        last_message = rows[rows[:, E_TS] == flow.now_ns]
        assert (last_message[:, E_OWNER] == 7).any(), "the message traded with an engine order"
        stops.append(flow.now_ns)
        book.clear_events()
    assert stops, "background takers traded with the engine's orders"
    assert stops == sorted(stops)
    assert all(SECOND < ts < 60 * SECOND for ts in stops)
    assert not (book.event_rows[:, E_OWNER] > 0).any()


def test_stopping_at_engine_events_does_not_change_the_market() -> None:
    def market(stop: bool) -> tuple[tuple[object, ...], int]:
        book = MatchingBook(TICK)
        flow = BackgroundFlow(book, FlowParams(), seed=6, start_ns=0)
        flow.run_until(SECOND)
        quote_both_sides(book, SECOND)
        events, stops = [], 0
        for k in range(2, 31):
            while True:
                flow.run_until(k * SECOND, stop_on_owned=stop)
                events += book.event_rows.tolist()
                book.clear_events()
                if not flow.stopped:
                    break
                stops += 1
        bids, asks = book.depth(50)
        return (bids.tolist(), asks.tolist(), events, book.counters(), flow.fundamental, flow.messages), stops

    stopping, stops = market(stop=True)
    assert stops > 0
    assert stopping == market(stop=False)[0]


def test_a_venue_reports_fills_at_the_time_they_happened(registry: PluginRegistry, config: EngineConfig) -> None:
    scheduler = SimulatedScheduler(SESSION_START_NS)
    engine = build_engine(config, registry, scheduler, symbols=["AAPL"], seed=3)
    reports: list[ExecutionReport] = []
    trades: list[TradeTick] = []
    engine.bus.subscribe(ExecutionReport, reports.append)
    engine.bus.subscribe(TradeTick, trades.append)
    engine.start()
    try:
        scheduler.run_until(SESSION_START_NS + 50 * MILLI)
        book = engine.last_book("AAPL")
        assert book is not None
        assert book.best_bid is not None
        assert book.best_ask is not None
        for client_id, side, price in (("b", Side.BUY, book.best_bid), ("s", Side.SELL, book.best_ask)):
            engine.submit(
                SubmitOrder(client_order_id=client_id, account="main", instrument="AAPL", side=side, quantity=500,
                            price=price)
            )  # fmt: skip
        scheduler.run_until(SESSION_START_NS + 60 * SECOND)
    finally:
        engine.stop()
    fills = [report for report in reports if report.exec_type is ExecType.TRADE]
    assert fills, "background takers traded with the resting orders"
    printed = {(trade.ts_ns, trade.price, trade.quantity) for trade in trades}
    for fill in fills:
        assert (fill.ts_ns, fill.last_price, fill.last_qty) in printed, "a fill carries the time of its trade"
    publication = 10 * MILLI
    assert any((fill.ts_ns - SESSION_START_NS) % publication for fill in fills), "not rounded to a publication"
    times = [report.ts_ns for report in reports]
    assert times == sorted(times)


SCENARIO = """
import json
from engine.sim.flow import BackgroundFlow, FlowParams
from engine.sim.matching import MatchingBook

def scenario():
    book = MatchingBook(100)
    params = FlowParams(start_price=1_900_000, market_correlation=0.7)
    flow = BackgroundFlow(book, params, seed=3, start_ns=0, market_seed=4)
    book.add(0, 1, 7, 0, 1_899_900, 300)
    stops = 0
    for k in range(1, 31):
        while True:
            flow.run_until(k * 100_000_000, stop_on_owned=True)
            if not flow.stopped:
                break
            stops += 1
        if k % 10 == 0:
            book.market(k * 100_000_000, 10 + k, 7, k % 20 // 10, 3_000)
            flow.take_impact(k * 100_000_000, k % 20 // 10, 3_000)
    bids, asks = book.depth(10)
    return [bids.tolist(), asks.tolist(), book.counters(), flow.fundamental, flow.messages, flow.next_event_ns,
            list(flow.taker_orders), stops, flow.market_factor, flow.factor_ticks]

if __name__ == "__main__":
    print(json.dumps(scenario()))
"""


@pytest.mark.slow
def test_same_market_with_the_jit_disabled() -> None:
    namespace: dict[str, object] = {"__name__": "scenario"}
    exec(SCENARIO, namespace)
    compiled = json.loads(json.dumps(namespace["scenario"]()))  # type: ignore[operator]
    env = {**os.environ, "NUMBA_DISABLE_JIT": "1"}
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, "-c", SCENARIO], env=env, cwd=root, capture_output=True, text=True, check=True, timeout=300
    )
    assert json.loads(done.stdout) == compiled
