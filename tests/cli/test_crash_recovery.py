"""Order and execution state survives a killed engine: SIGKILL mid-trading, restart, nothing lost or doubled."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import time
from collections import Counter

import pytest
from sqlalchemy import create_engine

from core.enums import ExecType
from engine.config import load_config
from engine.storage.journal import Journal, recover
from tests.cli.conftest import cli_env, engine_command, run_engine

pytestmark = pytest.mark.slow

FILLS_BEFORE_KILL = 15
DEADLINE_S = 90


def test_sigkill_mid_trading_then_restart_finds_every_acknowledged_order_and_fill(db_url: str) -> None:
    process = subprocess.Popen(
        engine_command("--db", db_url, "sim", "--executions", "jsonl", "--seconds", "120",
                       "--param", "half_spread_ticks=1"),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=cli_env(),
    )  # fmt: skip
    printed: list[dict[str, object]] = []
    started = time.monotonic()
    try:
        assert process.stdout is not None
        for line in process.stdout:
            if line.startswith("{"):
                printed.append(json.loads(line))
            if sum(1 for r in printed if r["exec_type"] == "TRADE") >= FILLS_BEFORE_KILL:
                break
            if time.monotonic() - started > DEADLINE_S:
                break
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL
    fills = [r for r in printed if r["exec_type"] == "TRADE"]
    acked = {r["order_id"] for r in printed if r["exec_type"] == "NEW"}
    assert len(fills) >= FILLS_BEFORE_KILL, f"only {len(fills)} fills before the deadline"

    instruments = load_config(None).instrument_map()
    journal = Journal(create_engine(db_url))
    journaled = [entry.exec_id for entry in journal.replay() if hasattr(entry, "exec_id")]
    assert not [exec_id for exec_id, n in Counter(journaled).items() if n > 1], "an execution was journaled twice"
    assert {str(r["exec_id"]) for r in printed} <= set(journaled), "an acknowledged execution was lost"
    state = recover(journal, instruments)
    assert acked <= set(state.orders), "an acknowledged order was lost"
    for order in state.orders.values():
        assert order.cum_qty == sum(qty for _, _, qty in order.fills)
    recovered_fills = sum(len(order.fills) for order in state.orders.values())
    assert recovered_fills >= len(fills)
    position = sum(p.quantity for p in state.portfolio.positions())
    journal.close()

    restarted = run_engine("--db", db_url, "sim", "--seconds", "1", "--executions", "jsonl", timeout=120)
    assert restarted.returncode == 0, restarted.stderr
    first = restarted.stdout.splitlines()[0]
    match = re.match(r"recovered (\d+) orders and (\d+) fills from the journal", first)
    assert match is not None, first
    assert int(match.group(1)) == len(state.orders)
    assert int(match.group(2)) == recovered_fills
    expired = [json.loads(line) for line in restarted.stdout.splitlines() if line.startswith("{")]
    assert all(r["exec_type"] != ExecType.TRADE.name or r["order_id"] not in state.orders for r in expired)

    after = recover(Journal(create_engine(db_url)), instruments)
    assert all(order.is_terminal for order in after.orders.values() if order.order_id in state.orders)
    assert sum(len(o.fills) for o in after.orders.values() if o.order_id in state.orders) == recovered_fills
    assert position == sum(
        p.quantity for p in recover(journal_for(db_url), instruments).portfolio.positions()
    ) - session_fills_qty(restarted.stdout)


def journal_for(db_url: str) -> Journal:
    return Journal(create_engine(db_url))


def session_fills_qty(stdout: str) -> int:
    """Signed quantity the restarted session itself traded (its own fills, not the recovered ones)."""
    total = 0
    for line in stdout.splitlines():
        if line.startswith("{"):
            record = json.loads(line)
            if record["exec_type"] == "TRADE":
                total += int(record["last_qty"]) * (1 if record["side"] == "BUY" else -1)
    return total
