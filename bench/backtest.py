"""Backtest throughput: events/s of a full backtest (simulated exchange, market maker, risk, order manager,
portfolio), median of several runs; optionally NautilusTrader and backtrader side by side when installed."""

from __future__ import annotations

import argparse
import json
import statistics

from core.numbers import NANOS_PER_SECOND
from engine.backtest import BacktestRequest, run_backtest
from engine.config import load_config
from engine.plugins import load_plugins


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench backtest")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--duration", type=float, default=600.0, help="simulated seconds per run")
    parser.add_argument("--strategy", default="market-maker")
    parser.add_argument("--instrument", action="append", default=[])
    args = parser.parse_args(argv)
    config = load_config(None)
    registry = load_plugins(entry_points=False)
    request = BacktestRequest(
        strategy=args.strategy,
        instruments=tuple(args.instrument) or ("AAPL",),
        seed=7,
        duration_ns=int(args.duration * NANOS_PER_SECOND),
    )
    run_backtest(BacktestRequest(strategy=args.strategy, instruments=request.instruments, duration_ns=NANOS_PER_SECOND),
                 config, registry)  # warm-up: JIT compilation and caches
    results = [run_backtest(request, config, registry) for _ in range(args.runs)]
    rates = [result.events_per_s for result in results]
    figures = {
        "benchmark": "backtest",
        "strategy": args.strategy,
        "instruments": list(request.instruments),
        "simulated_seconds": args.duration,
        "events": results[0].events,
        "fills": results[0].metrics.trades,
        "seconds": round(statistics.median(result.wall_seconds for result in results), 3),
        "events_per_s": round(statistics.median(rates)),
    }
    if args.json:
        print(json.dumps(figures))
    else:
        print(
            f"backtest {args.strategy} on {', '.join(request.instruments)}: {figures['events']:,} events, "
            f"{figures['fills']} fills in {figures['seconds']} s -> {figures['events_per_s']:,} events/s "
            f"(median of {args.runs})"
        )
    return 0
