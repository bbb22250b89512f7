"""Backtests: the same strategy code on the simulated exchange under a simulated clock, as fast as it goes.

A run is reproducible bit for bit from its request (strategy, parameters, instruments, seed, duration and the
configuration): only the wall-clock timings and the stored run id differ between two runs.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from core.enums import ExecType
from core.events import ExecutionReport
from core.numbers import NANOS_PER_SECOND, Money, Nanos, datetime_to_nanos
from engine.assembly import build_engine
from engine.clock import SimulatedScheduler
from engine.config import SIM_VENUE, EngineConfig
from engine.metrics import RunMetrics, compute_metrics
from engine.plugins import PluginRegistry
from engine.strategy_host import StrategyHost

SESSION_START_NS = datetime_to_nanos(datetime(2026, 1, 5, 14, 30, tzinfo=UTC))
"""Simulated runs start at a fixed market open so that a seed alone decides the run."""

EQUITY_SAMPLE_NS = NANOS_PER_SECOND
MAX_EQUITY_POINTS = 4000


@dataclass(frozen=True, slots=True, kw_only=True)
class BacktestRequest:
    """What to run: a strategy with parameters on instruments, a seed and a simulated duration."""

    strategy: str
    params: Mapping[str, Any] = field(default_factory=dict)
    instruments: tuple[str, ...] = ()
    seed: int = 7
    duration_ns: Nanos = 3600 * NANOS_PER_SECOND
    account: str = "main"


@dataclass(frozen=True, slots=True, kw_only=True)
class BacktestResult:
    """A finished run: metrics, activity counts, the equity curve and the resolved parameters."""

    request: BacktestRequest
    instruments: tuple[str, ...]
    params: Mapping[str, Any]
    metrics: RunMetrics
    events: int
    wall_seconds: float
    equity: tuple[Money, ...]
    equity_interval_s: float
    orders: int
    completed: bool
    positions: Mapping[str, int]
    """Final quantity per instrument of the run's account."""
    fills: tuple[ExecutionReport, ...] = ()
    """The trade reports of the run's account, in the order they happened."""

    @property
    def equity_times(self) -> tuple[Nanos, ...]:
        """Simulated time of each equity sample (the first is taken one interval after the start)."""
        interval = round(self.equity_interval_s * NANOS_PER_SECOND)
        return tuple(SESSION_START_NS + (index + 1) * interval for index in range(len(self.equity)))

    @property
    def events_per_s(self) -> float:
        return self.events / self.wall_seconds if self.wall_seconds > 0 else 0.0


def run_backtest(
    request: BacktestRequest,
    config: EngineConfig,
    registry: PluginRegistry,
    *,
    progress: Callable[[float], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> BacktestResult:
    """Run ``request`` to the end (or until ``should_stop`` says so) and return its result.

    ``progress`` is called with the fraction of simulated time done, about a hundred times per run.
    """
    spec = registry.strategies.get(request.strategy)
    if spec is None:
        raise LookupError(f"no strategy named {request.strategy!r}; available: {', '.join(registry.strategies)}")
    scheduler = SimulatedScheduler(SESSION_START_NS)
    symbols = request.instruments or _default_instruments(config, spec.min_instruments)
    engine = build_engine(config, registry, scheduler, venue=SIM_VENUE, symbols=symbols, seed=request.seed)
    host = StrategyHost(
        engine,
        spec,
        strategy_id=request.strategy,
        account=request.account,
        instruments=tuple(symbols),
        params=request.params,
    )
    fills: list[ExecutionReport] = []

    def record_fill(report: ExecutionReport) -> None:
        if report.exec_type is ExecType.TRADE and report.account == request.account:
            fills.append(report)

    engine.bus.subscribe(ExecutionReport, record_fill)
    equity: list[Money] = []
    interval = max(EQUITY_SAMPLE_NS, request.duration_ns // MAX_EQUITY_POINTS)
    interval -= interval % EQUITY_SAMPLE_NS

    def sample() -> None:
        equity.append(engine.portfolio.pnl(request.account).net)
        scheduler.call_later(interval, sample)

    started = time.perf_counter()
    engine.start()
    host.start()
    scheduler.call_later(interval, sample)
    end = SESSION_START_NS + request.duration_ns
    chunks = 100
    completed = True
    for index in range(1, chunks + 1):
        scheduler.run_until(SESSION_START_NS + request.duration_ns * index // chunks)
        if progress is not None:
            progress(index / chunks)
        if should_stop is not None and should_stop():
            completed = scheduler.now_ns() >= end
            break
    host.stop("finished")
    engine.stop()
    wall = time.perf_counter() - started
    pnl = engine.portfolio.pnl(request.account)
    metrics = compute_metrics(
        equity=equity,
        sample_interval_s=interval / NANOS_PER_SECOND,
        pnl=pnl.net,
        fees=pnl.fees,
        trades=engine.fills,
        filled_qty=engine.filled_qty,
        submitted_qty=engine.submitted_qty,
    )
    events = sum(int(getattr(venue, "messages_processed", 0)) for venue in engine.venues.values())
    return BacktestResult(
        request=request,
        instruments=tuple(symbols),
        params=dict(host.resolved_params),
        metrics=metrics,
        events=events,
        wall_seconds=wall,
        equity=tuple(equity),
        equity_interval_s=interval / NANOS_PER_SECOND,
        orders=len(engine.orders),
        completed=completed,
        positions={symbol: engine.position(request.account, symbol).quantity for symbol in symbols},
        fills=tuple(fills),
    )


def _default_instruments(config: EngineConfig, count: int) -> Sequence[str]:
    return [entry.instrument.symbol for entry in config.instruments[: max(count, 1)]]
