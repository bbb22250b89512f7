"""Peer backtesters on synthetic data, for the backtest benchmark: NautilusTrader and backtrader.

Each peer runs an EMA-cross strategy in its own backtest engine over a data set built from a fixed seed, and the
figure is its events per second, median of several timed runs (building the data set is not timed). A peer's
"event" is its unit of input data, not ours:

- NautilusTrader: one quote tick (a random walk of bid/ask on AUD/USD at about ten quotes a second), fed to its
  ``BacktestEngine`` with the ``EMACross`` example strategy it ships, on one-minute mid bars aggregated from the
  quotes inside the engine; its simulated exchange fills the strategy's market orders against the quotes.
- backtrader: one one-second OHLCV bar (a random walk of closes), loaded by a ``Cerebro`` through a plain in-memory
  feed, with a fast/slow EMA crossover strategy whose market orders its broker fills on the next bar.

The peers are optional: install them with ``uv sync --group bench-peers``. A peer that cannot be imported is
skipped with a line saying so.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import numpy as np
import numpy.typing as npt

INSTALL_HINT = "uv sync --group bench-peers"
DEFAULT_SEED = 20_260_105
DEFAULT_RUNS = 3
DEFAULT_BUDGET_S = 60.0
NAUTILUS_QUOTES = 1_000_000
BACKTRADER_BARS = 200_000
SESSION_START_S = 1_767_623_400  # 2026-01-05 14:30 UTC, as our own backtests

I64Array = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True, kw_only=True)
class PeerResult:
    """One peer's figure: ``events`` of ``unit`` processed in ``seconds`` (the median of ``runs`` timed runs)."""

    name: str
    version: str
    unit: str
    events: int
    seconds: float
    runs: int
    orders: int

    @property
    def events_per_s(self) -> float:
        """Events per second of wall time (median run)."""
        return self.events / self.seconds if self.seconds > 0 else 0.0


class PeerMissing(Exception):
    """A peer library is not installed (or does not import)."""


def _require(module: str) -> str:
    """Import ``module``'s package and return its installed version; raises :class:`PeerMissing` if it fails."""
    try:
        importlib.import_module(module)
    except ImportError as exc:
        raise PeerMissing(str(exc)) from exc
    try:
        return importlib.metadata.version(module)
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def _module(name: str) -> Any:
    """A peer's module (untyped to us)."""
    return importlib.import_module(name)


def _timed_runs(run_once: Callable[[], tuple[float, int]], runs: int, budget_s: float) -> tuple[float, int, int]:
    """Call ``run_once`` (returning seconds and orders) up to ``runs`` times, stopping early when another run would
    overrun ``budget_s`` of wall time; returns the median seconds, the orders of the last run and the runs done."""
    started = time.perf_counter()
    timings: list[float] = []
    orders = 0
    for _ in range(max(runs, 1)):
        seconds, orders = run_once()
        timings.append(seconds)
        if time.perf_counter() - started + seconds > budget_s:
            break
    return statistics.median(timings), orders, len(timings)


# --- NautilusTrader: quote ticks ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class QuoteData:
    """Quotes of one instrument: bid and ask in integer ticks, sizes in units, times in nanoseconds."""

    bid: I64Array
    ask: I64Array
    bid_size: I64Array
    ask_size: I64Array
    ts_ns: I64Array


def build_quotes(n: int = NAUTILUS_QUOTES, seed: int = DEFAULT_SEED, start_price: int = 70_000) -> QuoteData:
    """``n`` quotes: a random walk of the mid (half the quotes move it a tick), a spread of one to three ticks,
    sizes of 0.1M to 2M, about ten quotes a second with jitter, times strictly increasing."""
    rng = np.random.default_rng(seed)
    mid = start_price + np.cumsum(rng.choice(np.array([-1, 0, 0, 1], dtype=np.int64), n))
    spread = rng.integers(1, 4, n, dtype=np.int64)
    bid = mid - spread // 2
    ask = bid + spread
    lots = rng.integers(1, 21, (2, n), dtype=np.int64) * 100_000
    start = SESSION_START_S * 1_000_000_000
    ts = start + np.arange(n, dtype=np.int64) * 100_000_000 + rng.integers(0, 50_000_000, n, dtype=np.int64)
    return QuoteData(bid=bid, ask=ask, bid_size=lots[0], ask_size=lots[1], ts_ns=ts)


def run_nautilus(
    quotes: QuoteData | None = None, *, runs: int = DEFAULT_RUNS, budget_s: float = DEFAULT_BUDGET_S
) -> PeerResult:
    """NautilusTrader's ``EMACross`` example (fast 10, slow 20 one-minute mid bars) on ``quotes``; each timed run
    is ``BacktestEngine.run`` on a fresh engine (loading the quotes into the engine is not timed)."""
    version = _require("nautilus_trader")
    providers = _module("nautilus_trader.test_kit.providers")
    venue = _module("nautilus_trader.model.identifiers").Venue("SIM")
    data = quotes if quotes is not None else build_quotes()
    instrument = providers.TestInstrumentProvider.default_fx_ccy("AUD/USD", venue)
    scale = 10**instrument.price_precision
    # The peer builds its ticks from doubles; the values are exact at its 5-decimal precision.
    ticks = _module("nautilus_trader.model.data").QuoteTick.from_raw_arrays_to_list(
        instrument.id,
        instrument.price_precision,
        instrument.size_precision,
        data.bid / scale,
        data.ask / scale,
        data.bid_size.astype(np.float64),
        data.ask_size.astype(np.float64),
        data.ts_ns.astype(np.uint64),
        data.ts_ns.astype(np.uint64),
    )

    def run_once() -> tuple[float, int]:
        engine = _nautilus_engine(instrument, ticks)
        try:
            began = time.perf_counter()
            engine.run()
            seconds = time.perf_counter() - began
            return seconds, int(engine.get_result().total_orders)
        finally:
            engine.dispose()

    seconds, orders, done = _timed_runs(run_once, runs, budget_s)
    return PeerResult(
        name="nautilus_trader",
        version=version,
        unit="quote ticks",
        events=len(ticks),
        seconds=seconds,
        runs=done,
        orders=orders,
    )


def _nautilus_engine(instrument: Any, ticks: list[Any]) -> Any:
    """A backtest engine with one simulated FX venue, the instrument, the quotes and the ``EMACross`` strategy."""
    backtest_config = _module("nautilus_trader.backtest.config")
    config = _module("nautilus_trader.config")
    ema_cross = _module("nautilus_trader.examples.strategies.ema_cross")
    usd = _module("nautilus_trader.model.currencies").USD
    enums = _module("nautilus_trader.model.enums")
    trader = _module("nautilus_trader.model.identifiers").TraderId("BENCH-001")
    engine = _module("nautilus_trader.backtest.engine").BacktestEngine(
        backtest_config.BacktestEngineConfig(trader_id=trader, logging=config.LoggingConfig(log_level="ERROR"))
    )
    engine.add_venue(
        venue=instrument.id.venue,
        oms_type=enums.OmsType.HEDGING,
        account_type=enums.AccountType.MARGIN,
        base_currency=usd,
        starting_balances=[_module("nautilus_trader.model.objects").Money(10_000_000, usd)],
    )
    engine.add_instrument(instrument)
    engine.add_data(ticks)
    bar_type = _module("nautilus_trader.model.data").BarType.from_str(f"{instrument.id}-1-MINUTE-MID-INTERNAL")
    strategy_config = ema_cross.EMACrossConfig(
        instrument_id=instrument.id,
        bar_type=bar_type,
        trade_size=Decimal(1_000_000),
        fast_ema_period=10,
        slow_ema_period=20,
        request_bars=False,  # no historical catalog in a synthetic run
        subscribe_trade_ticks=False,  # quotes only
    )
    engine.add_strategy(ema_cross.EMACross(config=strategy_config))
    return engine


# --- backtrader: bars --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class BarData:
    """One-second OHLCV bars: prices in integer cents, volumes in shares, bar start times in whole seconds."""

    open: I64Array
    high: I64Array
    low: I64Array
    close: I64Array
    volume: I64Array
    ts_s: I64Array


def build_bars(n: int = BACKTRADER_BARS, seed: int = DEFAULT_SEED, start_price: int = 10_000) -> BarData:
    """``n`` consecutive one-second bars: closes a random walk in cents, each bar opening at the previous close,
    highs and lows a few cents beyond, volumes in round lots."""
    rng = np.random.default_rng(seed)
    close = start_price + np.cumsum(rng.choice(np.array([-2, -1, 0, 0, 1, 2], dtype=np.int64), n))
    open_ = np.concatenate((np.array([start_price], dtype=np.int64), close[:-1]))
    high = np.maximum(open_, close) + rng.integers(0, 3, n, dtype=np.int64)
    low = np.minimum(open_, close) - rng.integers(0, 3, n, dtype=np.int64)
    volume = rng.integers(1, 50, n, dtype=np.int64) * 100
    ts = SESSION_START_S + np.arange(n, dtype=np.int64)
    return BarData(open=open_, high=high, low=low, close=close, volume=volume, ts_s=ts)


def run_backtrader(
    bars: BarData | None = None, *, runs: int = DEFAULT_RUNS, budget_s: float = DEFAULT_BUDGET_S
) -> PeerResult:
    """backtrader's ``Cerebro`` with a fast/slow EMA (10/20) crossover strategy on ``bars``; each timed run is
    ``Cerebro.run`` (its feed loading, indicators, strategy and broker)."""
    version = _require("backtrader")
    bt = _module("backtrader")
    data = bars if bars is not None else build_bars()
    # backtrader keeps prices and times as floats (times as days since year 1); convert once, outside the timing.
    epoch = bt.date2num(datetime(1970, 1, 1))
    days = (epoch + data.ts_s / 86_400.0).tolist()
    prices = [(array / 100).tolist() for array in (data.open, data.high, data.low, data.close)]
    rows = list(zip(days, *prices, data.volume.astype(np.float64).tolist(), strict=True))
    feed_class, strategy_class = _backtrader_classes()

    def run_once() -> tuple[float, int]:
        cerebro = bt.Cerebro(stdstats=False)
        cerebro.adddata(feed_class(rows=rows, timeframe=bt.TimeFrame.Seconds))
        cerebro.addstrategy(strategy_class)
        cerebro.broker.setcash(10_000_000.0)
        began = time.perf_counter()
        strategy = cerebro.run()[0]
        return time.perf_counter() - began, int(strategy.orders)

    seconds, orders, done = _timed_runs(run_once, runs, budget_s)
    return PeerResult(
        name="backtrader", version=version, unit="bars", events=len(rows), seconds=seconds, runs=done, orders=orders
    )


def _backtrader_classes() -> tuple[type[Any], type[Any]]:
    """The in-memory feed and the EMA-cross strategy (defined here: backtrader is imported only when installed)."""
    bt = _module("backtrader")
    feed_base: Any = bt.feed.DataBase
    strategy_base: Any = bt.Strategy

    class RowsFeed(feed_base):  # type: ignore[misc]
        """Bars from a list of ``(datetime, open, high, low, close, volume)`` rows."""

        params = (("rows", ()),)

        def start(self) -> None:
            super().start()
            self._next_row = iter(self.p.rows).__next__

        def _load(self) -> bool:
            try:
                row = self._next_row()
            except StopIteration:
                return False
            lines = self.lines
            lines.datetime[0], lines.open[0], lines.high[0], lines.low[0], lines.close[0], lines.volume[0] = row
            lines.openinterest[0] = 0.0
            return True

    class EmaCross(strategy_base):  # type: ignore[misc]
        """Long 100 when the fast EMA crosses above the slow one, short 100 when it crosses below."""

        params = (("fast", 10), ("slow", 20), ("size", 100))

        def __init__(self) -> None:
            self.cross = bt.ind.CrossOver(bt.ind.EMA(period=self.p.fast), bt.ind.EMA(period=self.p.slow))
            self.orders = 0

        def next(self) -> None:
            if self.cross[0] > 0 and self.position.size <= 0:
                self.order_target_size(target=self.p.size)
                self.orders += 1
            elif self.cross[0] < 0 and self.position.size >= 0:
                self.order_target_size(target=-self.p.size)
                self.orders += 1

    return RowsFeed, EmaCross


# --- all peers ---------------------------------------------------------------------------------------------------

PEERS: dict[str, Callable[..., PeerResult]] = {
    "nautilus_trader": run_nautilus,
    "backtrader": run_backtrader,
}


def run_peers(
    names: Sequence[str] | None = None,
    *,
    runs: int = DEFAULT_RUNS,
    budget_s: float = DEFAULT_BUDGET_S,
    skipped: Callable[[str], None] = print,
) -> dict[str, PeerResult]:
    """Run each named peer (all by default) on its default data set; a peer that does not import is left out and
    ``skipped`` is called with a line saying how to install it."""
    results: dict[str, PeerResult] = {}
    for name in names if names is not None else tuple(PEERS):
        try:
            results[name] = PEERS[name](runs=runs, budget_s=budget_s)
        except PeerMissing as exc:
            skipped(f"{name}: skipped, not importable ({exc}); install the peers with `{INSTALL_HINT}`")
    return results
