"""The market factor: the instruments of a run move together as configured (SPY and QQQ closely, AAPL and MSFT
moderately), each at its configured volatility, and each instrument's market is the same whichever others are
simulated beside it."""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
import pytest

from engine.assembly import build_engine
from engine.backtest import SESSION_START_NS
from engine.clock import SimulatedScheduler
from engine.config import EngineConfig
from engine.plugins import PluginRegistry
from engine.sim.exchange import SimulatedExchange, flow_params
from engine.sim.flow import FACTOR_STEP_NS, BackgroundFlow, FlowParams
from engine.sim.matching import MatchingBook

SECOND = 1_000_000_000
TICK = 100

F64 = npt.NDArray[np.float64]


def configured(config: EngineConfig, symbol: str) -> FlowParams:
    """The background-flow parameters the venue gives ``symbol`` in the default configuration."""
    entry = next(entry for entry in config.instruments if entry.instrument.symbol == symbol)
    return flow_params(entry.instrument, {"start_price": entry.start_price, **entry.sim})


def mid_ticks(book: MatchingBook) -> float:
    bid, _, ask, _ = book.top()
    assert bid is not None, "the bid side emptied"
    assert ask is not None, "the ask side emptied"
    return (bid + ask) / 2 / TICK


def record_mids(flows: list[BackgroundFlow], seconds: int, every_s: int) -> F64:
    """Mids in ticks of each flow's book (one column each) every ``every_s`` simulated seconds, for ``seconds``
    after the first ``every_s``."""
    rows = []
    for k in range(1, seconds // every_s + 2):
        for flow in flows:
            flow.run_until(k * every_s * SECOND)
            flow.book.clear_events()
        rows.append([mid_ticks(flow.book) for flow in flows])
    return np.array(rows)


def correlation(returns: F64, i: int, j: int) -> float:
    return float(np.corrcoef(returns[:, i], returns[:, j])[0, 1])


def test_configured_correlations_of_the_default_instruments(config: EngineConfig) -> None:
    spy, qqq, aapl, msft = (configured(config, symbol) for symbol in ("SPY", "QQQ", "AAPL", "MSFT"))
    assert spy.market_correlation * qqq.market_correlation == pytest.approx(0.9, abs=0.02)
    assert 0.5 <= aapl.market_correlation * spy.market_correlation <= 0.6
    assert 0.5 <= msft.market_correlation * spy.market_correlation <= 0.6
    for params in (spy, qqq, aapl, msft):
        assert params.fundamental_rate > 0, "the takers' impact leaves room for the instrument's own news"


def default_flows(config: EngineConfig, symbols: tuple[str, ...], market_seed: int) -> list[BackgroundFlow]:
    """The default instruments' background flows, as the venue would run them in one run (own seeds apart)."""
    return [
        BackgroundFlow(
            MatchingBook(TICK), configured(config, symbol), seed=101 * k, start_ns=0, market_seed=market_seed
        )
        for k, symbol in enumerate(symbols, start=1)
    ]


def check_volatility(returns: F64, horizon_s: int, flows: list[BackgroundFlow], rel: float) -> None:
    for column, flow in enumerate(flows):
        realised = returns[:, column].std() / math.sqrt(horizon_s)
        assert realised == pytest.approx(math.sqrt(flow.params.variance_rate), rel=rel), flow.params


def test_spy_qqq_and_aapl_move_together_at_their_own_volatility(config: EngineConfig) -> None:
    flows = default_flows(config, ("SPY", "QQQ", "AAPL"), market_seed=21)
    returns = np.diff(record_mids(flows, seconds=300, every_s=5), axis=0)
    assert 0.8 <= correlation(returns, 0, 1) <= 0.97, "SPY and QQQ: about 0.9"
    assert 0.25 <= correlation(returns, 0, 2) <= 0.85, "AAPL and SPY: about 0.57"
    check_volatility(returns, 5, flows, rel=0.3)


@pytest.mark.slow
def test_an_hour_of_one_minute_returns_has_the_configured_correlations(config: EngineConfig) -> None:
    flows = default_flows(config, ("SPY", "QQQ", "AAPL"), market_seed=3)
    mids = record_mids(flows, seconds=3600, every_s=10)
    minute = np.diff(mids[::6], axis=0)
    assert len(minute) == 60
    assert 0.83 <= correlation(minute, 0, 1) <= 0.96, "SPY and QQQ: about 0.9"
    assert 0.3 <= correlation(minute, 0, 2) <= 0.8, "AAPL and SPY: about 0.57"
    check_volatility(minute, 60, flows, rel=0.25)
    ten_seconds = np.diff(mids, axis=0)
    assert 0.85 <= correlation(ten_seconds, 0, 1) <= 0.94
    assert 0.42 <= correlation(ten_seconds, 0, 2) <= 0.7
    check_volatility(ten_seconds, 10, flows, rel=0.15)


def test_a_negative_correlation_moves_against_the_market() -> None:
    base = {"start_price": 1_900_000, "daily_volatility": 0.02}
    flows = [
        BackgroundFlow(MatchingBook(TICK), FlowParams(**base, market_correlation=rho), seed=seed, start_ns=0)  # type: ignore[arg-type]
        for rho, seed in ((0.9, 1), (-0.9, 2), (0.0, 3))
    ]
    returns = np.diff(record_mids(flows, seconds=180, every_s=3), axis=0)
    assert correlation(returns, 0, 1) <= -0.6, "about -0.8"
    assert abs(correlation(returns, 0, 2)) <= 0.35, "no factor, no correlation"


def test_every_flow_regenerates_the_same_market_factor(config: EngineConfig) -> None:
    def factor_path(params: FlowParams, seed: int, market_seed: int) -> list[tuple[int, int]]:
        flow = BackgroundFlow(MatchingBook(TICK), params, seed=seed, start_ns=0, market_seed=market_seed)
        path = []
        for k in range(1, 41):
            flow.run_until(k * SECOND // 4)
            flow.book.clear_events()
            path.append((flow.market_factor, flow.factor_ticks))
        return path

    spy, aapl = configured(config, "SPY"), configured(config, "AAPL")
    spy_path = factor_path(spy, seed=1, market_seed=5)
    aapl_path = factor_path(aapl, seed=2, market_seed=5)
    assert [walk for walk, _ in spy_path] == [walk for walk, _ in aapl_path], "one market factor for the run"
    assert len({walk for walk, _ in spy_path}) > 5
    for params, path in ((spy, spy_path), (aapl, aapl_path)):
        for walk, ticks in path:
            assert abs(params.factor_scale * walk - ticks) < 1, "the fundamental carries the factor to within a tick"
    other_run = factor_path(spy, seed=1, market_seed=6)
    assert [walk for walk, _ in other_run] != [walk for walk, _ in spy_path]
    independent = factor_path(FlowParams(), seed=1, market_seed=5)
    assert independent[-1] == (0, 0), "an instrument without weight on the factor does not draw it"


def test_the_factor_steps_on_a_fixed_grid() -> None:
    params = FlowParams(market_correlation=0.8)
    flow = BackgroundFlow(MatchingBook(TICK), params, seed=1, start_ns=0)
    flow.run_until(FACTOR_STEP_NS)
    assert abs(flow.market_factor) == 0, "a step is due at the grid time, not before"
    flow.run_until(FACTOR_STEP_NS + 1)
    assert abs(flow.market_factor) == 1
    flow.run_until(100 * FACTOR_STEP_NS + 1)
    assert abs(flow.market_factor) % 2 == 0, "100 steps of +1 or -1 end on an even number"


def spy_book(config: EngineConfig, registry: PluginRegistry, symbols: list[str], seconds: int) -> tuple[object, ...]:
    scheduler = SimulatedScheduler(SESSION_START_NS)
    engine = build_engine(config, registry, scheduler, symbols=symbols, seed=11)
    engine.start()
    try:
        scheduler.run_until(SESSION_START_NS + seconds * SECOND)
        venue = engine.venues["sim"]
        assert isinstance(venue, SimulatedExchange)
        book = venue.book("SPY")
        bids, asks = book.depth(100)
        return bids.tolist(), asks.tolist(), book.counters(), book.resting_orders
    finally:
        engine.stop()


def test_an_instrument_has_the_same_market_alone_or_with_others(config: EngineConfig, registry: PluginRegistry) -> None:
    alone = spy_book(config, registry, ["SPY"], seconds=20)
    assert spy_book(config, registry, ["QQQ", "SPY", "AAPL"], seconds=20) == alone
    assert spy_book(config, registry, ["SPY", "MSFT"], seconds=20) == alone
