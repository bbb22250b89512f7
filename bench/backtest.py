"""Backtest throughput: events/s of a full backtest (simulated exchange, market maker, risk, order manager,
portfolio), median of several runs; NautilusTrader and backtrader side by side when installed, with our ratio to
each (see :mod:`bench.peers_backtest` for what a peer's event is)."""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from typing import Any

from bench.peers_backtest import DEFAULT_RUNS, INSTALL_HINT, PEERS, PeerResult, run_peers
from core.numbers import NANOS_PER_SECOND
from engine.backtest import BacktestRequest, run_backtest
from engine.config import load_config
from engine.plugins import load_plugins

OUR_EVENT = "exchange messages processed by the simulator, strategy, risk, order manager and portfolio in the loop"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench backtest")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--runs", type=int, default=3, help="timed runs of our backtest (median reported)")
    parser.add_argument("--duration", type=float, default=600.0, help="simulated seconds per run")
    parser.add_argument("--strategy", default="market-maker")
    parser.add_argument("--instrument", action="append", default=[])
    parser.add_argument("--no-peers", action="store_true", help="skip the peer backtesters even if installed")
    parser.add_argument("--peer-runs", type=int, default=DEFAULT_RUNS, help="timed runs of each peer (median)")
    return parser


def _ours(args: argparse.Namespace) -> dict[str, Any]:
    config = load_config(None)
    registry = load_plugins(entry_points=False)
    request = BacktestRequest(
        strategy=args.strategy,
        instruments=tuple(args.instrument) or ("AAPL",),
        seed=7,
        duration_ns=int(args.duration * NANOS_PER_SECOND),
    )
    run_backtest(
        BacktestRequest(strategy=args.strategy, instruments=request.instruments, duration_ns=NANOS_PER_SECOND),
        config,
        registry,
    )  # warm-up: JIT compilation and caches
    results = [run_backtest(request, config, registry) for _ in range(args.runs)]
    return {
        "benchmark": "backtest",
        "strategy": args.strategy,
        "instruments": list(request.instruments),
        "simulated_seconds": args.duration,
        "events": results[0].events,
        "fills": results[0].metrics.trades,
        "seconds": round(statistics.median(result.wall_seconds for result in results), 3),
        "events_per_s": round(statistics.median(result.events_per_s for result in results)),
    }


def _peer_line(peer: PeerResult, ours: float) -> str:
    return (
        f"  {peer.name} {peer.version}: {peer.events:,} {peer.unit}, {peer.orders:,} orders in {peer.seconds:.3f} s "
        f"-> {round(peer.events_per_s):,} {peer.unit}/s (median of {peer.runs}); ours {ours / peer.events_per_s:.1f}x"
    )


def _add_peers(figures: dict[str, Any], args: argparse.Namespace) -> None:
    """Run each peer in turn, printing its line (text mode) and adding its figures and our ratio to ``figures``."""
    ours = figures["events_per_s"]
    rates: dict[str, int] = {}
    ratios: dict[str, float] = {}
    details: dict[str, dict[str, Any]] = {}
    skipped: list[str] = []

    def skip(line: str) -> None:
        print(f"  {line}", file=sys.stderr if args.json else sys.stdout, flush=True)

    for name in PEERS:
        found = run_peers([name], runs=args.peer_runs, skipped=skip)
        peer = found.get(name)
        if peer is None:
            skipped.append(name)
            continue
        rates[name] = round(peer.events_per_s)
        ratios[name] = round(ours / peer.events_per_s, 2)
        details[name] = {
            "version": peer.version,
            "event": peer.unit,
            "events": peer.events,
            "orders": peer.orders,
            "seconds": round(peer.seconds, 3),
            "runs": peer.runs,
        }
        if not args.json:
            if len(rates) == 1:
                print(f"  (ours: {OUR_EVENT}; peers: their input quote ticks or bars)")
            print(_peer_line(peer, ours), flush=True)
    figures.update(peers=rates, ratios=ratios, peer_details=details)
    if skipped:
        figures.update(peers_skipped=skipped, peers_install=INSTALL_HINT)


def main(argv: list[str]) -> int:
    """Run the benchmark (and the installed peers unless ``--no-peers``); returns the process exit code."""
    args = _parser().parse_args(argv)
    if args.runs < 1 or args.peer_runs < 1:
        raise SystemExit("--runs and --peer-runs must be at least 1")
    figures = _ours(args)
    if not args.json:
        print(
            f"backtest {args.strategy} on {', '.join(figures['instruments'])}: {figures['events']:,} events, "
            f"{figures['fills']} fills in {figures['seconds']} s -> {figures['events_per_s']:,} events/s "
            f"(median of {args.runs})",
            flush=True,
        )
    if not args.no_peers:
        _add_peers(figures, args)
    if args.json:
        print(json.dumps(figures))
    return 0
