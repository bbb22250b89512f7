"""The simulated market looks like a liquid large-cap: what a trader or a quant would check first.

The background flow of the engine's default AAPL (190.00, one-cent ticks) is recorded once for a quarter of an
hour, sampled every 10 ms; the tests read that tape: message rate, trade rate and size, bursts, spread, depth,
volatility, and how trades and resting quotes fare afterwards (adverse selection). Through the venue, a large
engine order moves the market for good, as in real markets. A slow test runs the built-in market maker for half an
hour and checks it does not earn a steady fortune.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pytest

from core.commands import SubmitOrder
from core.enums import OrderType, Side
from engine.assembly import build_engine
from engine.backtest import SESSION_START_NS
from engine.clock import SimulatedScheduler
from engine.config import AccountConfig, EngineConfig, InstrumentConfig
from engine.metrics import max_drawdown, sharpe_ratio
from engine.plugins import PluginRegistry
from engine.sim.flow import BackgroundFlow, FlowParams
from engine.sim.matching import BUY, E_OWNER, E_PRICE, E_QTY, E_SIDE, E_TS, EV_FILL, SELL, MatchingBook
from engine.strategy_host import StrategyHost

PRICE = 1_900_000
TICK = 100
SECOND = 1_000_000_000
STEP = 10_000_000
STEPS_PER_SECOND = SECOND // STEP
DURATION_S = 900
ENGINE = 7

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True, kw_only=True)
class Tape:
    """What the market did, sampled at the end of every 10 ms step (prices in ticks)."""

    params: FlowParams
    messages: int
    mids: F64
    spreads: I64
    fundamentals: F64
    best_sizes: I64
    depth: F64
    """Mean quantity of the three best levels of each side, best first."""
    fills: I64
    """One row per fill: ``ts, aggressor side, price, qty, maker owner``."""

    def mid_at(self, ts: I64 | int) -> F64:
        """The mid at the end of the step that contains ``ts``."""
        return self.mids[np.minimum(np.asarray(ts) // STEP, len(self.mids) - 1)]

    def mid_before(self, ts: I64) -> F64:
        """The mid at the end of the step before the one that contains ``ts``."""
        return self.mids[np.maximum(ts // STEP - 1, 0)]


def record(seconds: int, seed: int, *, engine_quotes: bool = False) -> Tape:
    """Run the default flow of a 190.00 stock; with ``engine_quotes``, keep 100-share engine orders at the best
    bid and ask (moved there at every step, re-sent when filled)."""
    params = FlowParams(start_price=PRICE)
    book = MatchingBook(TICK)
    flow = BackgroundFlow(book, params, seed=seed, start_ns=0)
    steps = seconds * STEPS_PER_SECOND
    mids, funds = np.empty(steps), np.empty(steps)
    spreads, best = np.empty(steps, dtype=np.int64), np.empty((steps, 2), dtype=np.int64)
    depth_sum, depth_n = np.zeros(6), 0
    fills: list[I64] = []
    messages = 0
    next_oid = 1
    for k in range(steps):
        messages += flow.run_until((k + 1) * STEP)
        rows = book.event_rows
        done = rows[rows[:, 0] == EV_FILL]
        if len(done):
            fills.append(done[:, [E_TS, E_SIDE, E_PRICE, E_QTY, E_OWNER]].copy())
        book.clear_events()
        bid, bid_qty, ask, ask_qty = book.top()
        assert bid is not None, "the bid side emptied"
        assert ask is not None, "the ask side emptied"
        mids[k], spreads[k], funds[k] = (bid + ask) / 2 / TICK, (ask - bid) // TICK, flow.fundamental / TICK
        best[k] = bid_qty, ask_qty
        if k % 10 == 0:
            bids, asks = book.depth(3)
            if len(bids) == len(asks) == 3:
                depth_sum += np.concatenate([bids[:, 1], asks[:, 1]])
                depth_n += 1
        if engine_quotes:
            next_oid = requote(book, (k + 1) * STEP, next_oid)
    return Tape(
        params=params,
        messages=messages,
        mids=mids,
        spreads=spreads,
        fundamentals=funds,
        best_sizes=best,
        depth=depth_sum / depth_n,
        fills=np.concatenate(fills) if fills else np.zeros((0, 5), dtype=np.int64),
    )


def requote(book: MatchingBook, ts: int, next_oid: int) -> int:
    """Move the engine's bid and ask (ids 1 and 2 of the current pair) to the best prices."""
    bid, _, ask, _ = book.top()
    for side, price in ((BUY, bid), (SELL, ask)):
        assert price is not None
        oid = next_oid + side
        resting = book.order(oid)
        if resting is None:
            continue
        if resting[1] != price:
            book.cancel(ts, oid)
    if book.order(next_oid) is None or book.order(next_oid + 1) is None:
        book.cancel(ts, next_oid)
        book.cancel(ts, next_oid + 1)
        next_oid += 2
        book.add(ts, next_oid, ENGINE, BUY, bid, 100)
        book.add(ts, next_oid + 1, ENGINE, SELL, ask, 100)
    return next_oid


@pytest.fixture(scope="module")
def tape() -> Tape:
    return record(DURATION_S, seed=5)


def background(tape: Tape) -> I64:
    return tape.fills[tape.fills[:, 4] == 0]


def test_message_rate_is_a_few_thousand_a_second(tape: Tape) -> None:
    assert 5_000 <= tape.messages / DURATION_S <= 15_000


def test_one_to_three_trades_a_second_of_a_few_hundred_shares(tape: Tape) -> None:
    trades = tape.fills
    assert 1.0 <= len(trades) / DURATION_S <= 3.0
    assert 200 <= trades[:, 3].mean() <= 500
    shares_per_hour = trades[:, 3].sum() / DURATION_S * 3600
    assert 1_000_000 <= shares_per_hour <= 10_000_000


def test_trades_come_in_bursts(tape: Tape) -> None:
    per_second = np.bincount(tape.fills[:, 0] // SECOND, minlength=DURATION_S)
    mean = per_second.mean()
    assert per_second.var() / mean >= 3, "far more clustered than a Poisson stream"
    assert per_second.max() >= 5 * mean
    assert np.mean(per_second == 0) >= 0.2, "and quiet seconds in between"


def test_spread_is_mostly_one_tick_with_wider_moments(tape: Tape) -> None:
    spreads = tape.spreads
    assert spreads.min() >= 1
    assert np.mean(spreads == 1) >= 0.85
    assert 0.005 <= np.mean(spreads >= 2) <= 0.15
    assert np.mean(spreads > 3) <= 0.005


def test_top_levels_hold_hundreds_to_thousands_of_shares(tape: Tape) -> None:
    assert 200 <= np.median(tape.best_sizes) <= 3_000
    assert np.percentile(tape.best_sizes, 5) >= 100
    assert ((tape.depth >= 200) & (tape.depth <= 5_000)).all(), tape.depth


def test_mid_follows_the_fundamental_with_the_configured_volatility(tape: Tape) -> None:
    assert np.abs(tape.mids - tape.fundamentals).mean() <= 0.5
    target = tape.params.daily_volatility * PRICE / TICK / math.sqrt(6.5 * 3600)
    for horizon in (1, 10):
        sampled = tape.mids[:: horizon * STEPS_PER_SECOND]
        realised = np.diff(sampled).std() / math.sqrt(horizon)
        assert target / 1.3 <= realised <= target * 1.3, (horizon, realised, target)


def test_a_background_trade_is_followed_by_a_move_its_way(tape: Tape) -> None:
    trades = background(tape)
    trades = trades[trades[:, 0] < (DURATION_S - 1) * SECOND]
    direction = np.where(trades[:, 1] == BUY, 1.0, -1.0)
    move = (tape.mid_at(trades[:, 0] + SECOND) - tape.mid_before(trades[:, 0])) * direction
    assert move.mean() >= 0.25, "takers are informed on average: the mid moves their way, against the makers"


def test_quotes_kept_at_the_touch_are_picked_off() -> None:
    quoted = record(300, seed=9, engine_quotes=True)
    ours = quoted.fills[quoted.fills[:, 4] == ENGINE]
    ours = ours[ours[:, 0] < 299 * SECOND]
    assert len(ours) >= 100, "quotes at the touch trade"
    bought = np.where(ours[:, 1] == SELL, 1.0, -1.0)  # a taker's sell hit our bid
    after = quoted.mid_at(ours[:, 0] + SECOND)
    before = quoted.mid_before(ours[:, 0])
    assert ((after - before) * bought).mean() <= -0.5, "the mid moves against a quote once it is hit"
    edge = ((after - ours[:, 2] / TICK) * bought).mean()
    assert edge < 0, "a second later, the half-spread earned is more than given back"


def calm_mids_after(config: EngineConfig, registry: PluginRegistry, seed: int, buy: int) -> F64:
    """The published mid in ticks every second from 2 s to 10 s of a calm AAPL (a tenth of its volatility and of
    its noise takers), after a market buy of ``buy`` shares at 1 s (none if 0) by an account without limits."""
    aapl = next(entry for entry in config.instruments if entry.instrument.symbol == "AAPL")
    calm = InstrumentConfig(
        instrument=aapl.instrument, start_price=aapl.start_price, sim={"daily_volatility": 0.002, "noise_rate": 0.05}
    )
    unlimited = EngineConfig(
        instruments=(calm,),
        accounts=(AccountConfig(name="main", risk={}),),
        simulator=config.simulator,
        source="<test>",
    )
    scheduler = SimulatedScheduler(SESSION_START_NS)
    engine = build_engine(unlimited, registry, scheduler, symbols=["AAPL"], seed=seed)
    engine.start()
    mids = []
    try:
        scheduler.run_until(SESSION_START_NS + SECOND)
        if buy:
            engine.submit(
                SubmitOrder(client_order_id="big", account="main", instrument="AAPL", side=Side.BUY, quantity=buy,
                            order_type=OrderType.MARKET)
            )  # fmt: skip
        for k in range(2, 11):
            scheduler.run_until(SESSION_START_NS + k * SECOND)
            book = engine.last_book("AAPL")
            assert book is not None
            assert book.mid_x2 is not None
            mids.append(book.mid_x2 / 2 / TICK)
        assert engine.filled_qty == buy
    finally:
        engine.stop()
    return np.array(mids)


def test_a_large_engine_buy_leaves_a_lasting_footprint(config: EngineConfig, registry: PluginRegistry) -> None:
    # 8,100 shares (81 lots, most of the offers in the book) move the fundamental 0.3 * sqrt(81) = 2.7 ticks. Two
    # runs of one seed differ by the order (and what follows from it) alone.
    footprints = [
        calm_mids_after(config, registry, seed, 8_100) - calm_mids_after(config, registry, seed, 0)
        for seed in (1, 2, 3)
    ]
    assert 2 <= np.mean(footprints) <= 4, footprints
    assert all(footprint[-3:].mean() >= 1.5 for footprint in footprints), "still there 8 to 10 seconds later"


@pytest.mark.slow
def test_the_built_in_market_maker_earns_no_steady_fortune(config: EngineConfig, registry: PluginRegistry) -> None:
    scheduler = SimulatedScheduler(SESSION_START_NS)
    engine = build_engine(config, registry, scheduler, symbols=["AAPL"], seed=7)
    spec = registry.strategies["market-maker"]
    host = StrategyHost(engine, spec, strategy_id="mm", account="main", instruments=("AAPL",), params={})
    equity = []
    engine.start()
    host.start()
    for second in range(1, 1801):
        scheduler.run_until(SESSION_START_NS + second * SECOND)
        equity.append(engine.portfolio.pnl("main").net)
    host.stop("finished")
    engine.stop()
    instrument = engine.instrument("AAPL")
    assert instrument is not None
    shares = engine.filled_qty
    assert shares >= 10_000, "the market maker trades"
    money_per_tick_share = instrument.notional(instrument.tick_size, 1)
    per_share = equity[-1] / shares / money_per_tick_share
    assert -1.0 <= per_share <= 1.0, f"P&L per share traded: {per_share:.2f} ticks"
    assert max_drawdown(equity) > 0
    assert abs(sharpe_ratio(equity, 1.0)) < 200, "not thousands"
