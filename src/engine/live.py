"""``workstation-engine sim``: the engine live on the simulated exchange, wall-clock paced, with a status view.

State survives a crash: orders and executions are journaled before they are published, and a restart rebuilds
the order manager and the positions from the journal. Orders that were working at a venue that has since
restarted (the simulated exchange keeps no state across processes) are expired with a journaled report.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import sys
import time
from collections import deque
from typing import TextIO

from core.events import ExecutionReport, RiskEvent
from core.params import parse_assignments
from engine.clock import AsyncioScheduler
from engine.config import EngineConfig
from engine.gc_tuning import tune_for_live_trading
from engine.plugins import PluginRegistry
from engine.runtime import LiveRuntime
from engine.status import render_status
from engine.text import money_cents


def run_live(args: argparse.Namespace, config: EngineConfig, registry: PluginRegistry) -> int:
    """Run until Ctrl-C or ``--seconds``; returns the exit code."""
    return asyncio.run(_run(args, config, registry))


async def _run(args: argparse.Namespace, config: EngineConfig, registry: PluginRegistry) -> int:
    spec = registry.strategies.get(args.strategy)
    if spec is None:
        raise LookupError(f"no strategy named {args.strategy!r}; available: {', '.join(registry.strategies)}")
    symbols = args.instrument or [entry.instrument.symbol for entry in config.instruments]
    if spec.max_instruments is not None:
        symbols = symbols[: spec.max_instruments]
    scheduler = AsyncioScheduler()
    runtime = LiveRuntime(config, registry, scheduler, db_url=args.db, seed=args.seed, symbols=symbols)
    recovered = runtime.open()
    engine = runtime.engine
    out = sys.stdout
    print(f"recovered {recovered.orders} orders and {recovered.fills} fills from the journal", file=out, flush=True)
    for problem in recovered.problems:
        print(f"recovery problem: {problem}", file=sys.stderr)
    risk_log: deque[str] = deque(maxlen=5)
    engine.bus.subscribe(RiskEvent, lambda event: risk_log.append(f"{event.kind.value} {event.check}: {event.reason}"))
    if args.executions == "jsonl":
        engine.bus.subscribe(ExecutionReport, lambda report: _print_execution(report, out))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    tune_for_live_trading()
    runtime.start()
    runtime.start_strategy(
        args.strategy, account=args.account, instruments=symbols, params=parse_assignments(args.param),
        strategy_id=args.strategy,
    )  # fmt: skip
    started = time.monotonic()
    try:
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=args.refresh)
            if args.executions == "none":
                _show(render_status(engine, runtime.strategy_states()[0], list(risk_log)), out)
            if args.seconds is not None and time.monotonic() - started >= args.seconds:
                break
    finally:
        runtime.stop()
    pnl = engine.portfolio.pnl(args.account)
    print(
        f"stopped: {len(engine.orders)} orders, {engine.fills} fills this session, "
        f"P&L {money_cents(pnl.net)} (fees {money_cents(pnl.fees)})",
        file=out,
        flush=True,
    )
    return 0


def _print_execution(report: ExecutionReport, out: TextIO) -> None:
    record = {
        "exec_id": report.exec_id,
        "order_id": report.order_id,
        "client_order_id": report.client_order_id,
        "exec_type": report.exec_type.name,
        "ord_status": report.ord_status.name,
        "instrument": report.instrument,
        "side": report.side.name,
        "last_qty": report.last_qty,
        "last_price": report.last_price,
        "cum_qty": report.cum_qty,
        "ts_ns": report.ts_ns,
    }
    print(json.dumps(record), file=out, flush=True)


def _show(text: str, out: TextIO) -> None:
    if out.isatty():
        out.write("\x1b[H\x1b[2J" + text + "\n")
    else:
        out.write(text + "\n\n")
    out.flush()
