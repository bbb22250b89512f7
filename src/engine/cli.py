"""``workstation-engine``: the headless engine on the command line (sim, serve, backtest, plugins, users)."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence

from core.numbers import NANOS_PER_SECOND
from core.params import ParamError, parse_assignments
from engine.assembly import AssemblyError
from engine.backtest import SESSION_START_NS, BacktestRequest, BacktestResult, run_backtest
from engine.config import ConfigError, EngineConfig, load_config
from engine.itch import cli as itch
from engine.plugins import PluginRegistry, format_plugins, load_plugins, plugins_as_json
from engine.serve import ServeError, add_serve_parsers, run_serve, run_users
from engine.storage.db import open_database
from engine.storage.runs import BacktestRunRecord, RunStore
from engine.text import money_cents, money_text

EXIT_USAGE = 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="workstation-engine", description=__doc__)
    parser.add_argument("--config", metavar="FILE", help="engine configuration (TOML); defaults need none")
    parser.add_argument("--db", metavar="URL", help="SQLAlchemy database URL (default: SQLite in the data dir)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log engine events to stderr")
    commands = parser.add_subparsers(dest="command", required=True)

    sim = commands.add_parser("sim", help="run the engine live on the simulated exchange with a strategy")
    sim.add_argument("--seconds", type=float, help="stop after this many seconds (default: until Ctrl-C)")
    _strategy_options(sim, default_strategy="market-maker")
    sim.add_argument("--seed", type=int, help="simulator seed (default: the configuration's)")
    sim.add_argument(
        "--executions", choices=("none", "jsonl"), default="none", help="also print each journaled execution"
    )
    sim.add_argument("--refresh", type=float, default=1.0, help="status refresh interval in seconds")

    backtest = commands.add_parser("backtest", help="run a strategy on the simulated exchange, simulated clock")
    _strategy_options(backtest, default_strategy=None)
    backtest.add_argument("--seed", type=int, default=7)
    backtest.add_argument("--duration", type=float, default=3600.0, help="simulated seconds (default 3600)")
    backtest.add_argument("--json", action="store_true", help="print one JSON object")

    plugins = commands.add_parser("plugins", help="list every plugin found, loaded or failed")
    plugins.add_argument("--json", action="store_true")

    itch.add_parser(commands)
    add_serve_parsers(commands)
    return parser


def _strategy_options(parser: argparse.ArgumentParser, *, default_strategy: str | None) -> None:
    parser.add_argument(
        "--strategy", default=default_strategy, required=default_strategy is None, help="strategy plugin name"
    )
    parser.add_argument("--instrument", action="append", default=[], metavar="SYM", help="repeat for several")
    parser.add_argument("--param", action="append", default=[], metavar="KEY=VALUE", help="strategy parameter")
    parser.add_argument("--account", default="main")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the process exit code."""
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    try:
        if args.command == "plugins":
            return _plugins(args)
        if args.command == "itch":
            return itch.run(args)
        if args.command == "users":
            return run_users(args)
        config = load_config(args.config)
        registry = load_plugins()
        if args.command == "backtest":
            return _backtest(args, config, registry)
        if args.command == "serve":
            return run_serve(args, config, registry)
        from engine.live import run_live

        return run_live(args, config, registry)
    except (ConfigError, AssemblyError, ParamError, LookupError, ServeError) as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USAGE


def _plugins(args: argparse.Namespace) -> int:
    registry = load_plugins()
    if args.json:
        print(json.dumps(plugins_as_json(registry), indent=2))
    else:
        print(format_plugins(registry))
    return 0


def _backtest(args: argparse.Namespace, config: EngineConfig, registry: PluginRegistry) -> int:
    if args.duration <= 0:
        raise ParamError("--duration must be positive")
    request = BacktestRequest(
        strategy=args.strategy,
        params=parse_assignments(args.param),
        instruments=tuple(args.instrument),
        seed=args.seed,
        duration_ns=int(args.duration * NANOS_PER_SECOND),
        account=args.account,
    )
    result = run_backtest(request, config, registry)
    run_id = RunStore(open_database(args.db or config.database_url)).save(backtest_record(result))
    summary = backtest_summary(result, run_id)
    if args.json:
        print(json.dumps(summary))
    else:
        print(format_backtest(result, summary))
    return 0


def backtest_summary(result: BacktestResult, run_id: str) -> dict[str, object]:
    """The JSON summary of a run: money as exact decimal strings in the account currency."""
    metrics = result.metrics
    return {
        "pnl": money_text(metrics.pnl),
        "fees": money_text(metrics.fees),
        "sharpe": metrics.sharpe,
        "max_drawdown": money_text(metrics.max_drawdown),
        "trades": metrics.trades,
        "fill_ratio": metrics.fill_ratio,
        "events": result.events,
        "events_per_s": round(result.events_per_s),
        "run_id": run_id,
    }


def format_backtest(result: BacktestResult, summary: dict[str, object]) -> str:
    """The human-readable summary of a run."""
    request, metrics = result.request, result.metrics
    params = ", ".join(f"{key}={value}" for key, value in result.params.items())
    lines = [
        f"backtest  {request.strategy} on {', '.join(result.instruments)}  seed {request.seed}  "
        f"{request.duration_ns / NANOS_PER_SECOND:g} s simulated",
        f"params    {params or '(defaults)'}",
        f"P&L       {money_cents(metrics.pnl)}  (fees {money_cents(metrics.fees)})",
        f"Sharpe    {summary['sharpe']}    max drawdown {money_cents(metrics.max_drawdown)}",
        f"trades    {summary['trades']}    fill ratio {summary['fill_ratio']}    orders {result.orders}",
        "position  " + "  ".join(f"{symbol} {quantity:+d}" for symbol, quantity in result.positions.items()),
        f"events    {summary['events']}  in {result.wall_seconds:.2f} s  ({summary['events_per_s']:,} events/s)",
        f"run id    {summary['run_id']}",
    ]
    return "\n".join(lines)


def backtest_record(result: BacktestResult) -> BacktestRunRecord:
    """The database record of a finished run (its id is given when it is saved)."""
    summary = backtest_summary(result, "")
    del summary["run_id"]
    interval = int(result.equity_interval_s * NANOS_PER_SECOND)
    request = result.request
    return BacktestRunRecord(
        strategy=request.strategy,
        instruments=result.instruments,
        params={
            key: value if isinstance(value, int | float | str | bool) else str(value)
            for key, value in result.params.items()
        },
        seed=request.seed,
        duration_ns=request.duration_ns,
        settings={"account": request.account, "completed": result.completed},
        metrics={key: value if isinstance(value, str | int) else str(value) for key, value in summary.items()},
        events=result.events,
        equity=tuple((SESSION_START_NS + (index + 1) * interval, value) for index, value in enumerate(result.equity)),
    )


if __name__ == "__main__":
    raise SystemExit(main())
