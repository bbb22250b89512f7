"""The built-in strategies in real backtests on the simulated exchange."""

from __future__ import annotations

from core.numbers import NANOS_PER_SECOND
from engine.backtest import BacktestRequest, run_backtest
from engine.config import EngineConfig
from engine.plugins import PluginRegistry


def test_twap_buys_exactly_its_parent_quantity_within_its_horizon(
    config: EngineConfig, registry: PluginRegistry
) -> None:
    request = BacktestRequest(
        strategy="twap",
        instruments=("MSFT",),
        params={"side": "buy", "quantity": "3000", "duration_s": "60", "slices": "12"},
        duration_ns=90 * NANOS_PER_SECOND,
    )
    result = run_backtest(request, config, registry)
    assert result.metrics.trades > 0
    assert result.positions == {"MSFT": 3000}


def test_market_maker_backtest_is_reproducible(config: EngineConfig, registry: PluginRegistry) -> None:
    request = BacktestRequest(strategy="market-maker", instruments=("AAPL",), duration_ns=20 * NANOS_PER_SECOND)
    first, second = run_backtest(request, config, registry), run_backtest(request, config, registry)
    assert first.metrics == second.metrics
    assert first.equity == second.equity
    assert first.events == second.events > 0
