"""Durability: what the journal acknowledged survives the process being killed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from core.enums import ExecType
from engine.storage import Journal, open_database
from engine.storage.models import JournalEntry

# Journals fills of one huge order for ever, printing each exec id once record_execution has returned.
WRITER = """
import sys
from core.commands import SubmitOrder
from core.enums import ExecType, Liquidity, OrderType, OrdStatus, Side
from core.events import ExecutionReport
from core.orders import Order
from engine.storage import Journal, open_database

journal = Journal(open_database(sys.argv[1]))
request = SubmitOrder(client_order_id="c-1", account="main", instrument="AAPL", side=Side.BUY,
                      quantity=10**12, price=1_900_000)
journal.record_order(Order.from_request(request, order_id="O-1", ts_ns=1))
print("ready", flush=True)
n = 0
while True:
    n += 1
    report = ExecutionReport(
        exec_id=f"X-{n}", order_id="O-1", client_order_id="c-1", account="main", instrument="AAPL",
        side=Side.BUY, order_type=OrderType.LIMIT, exec_type=ExecType.TRADE,
        ord_status=OrdStatus.PARTIALLY_FILLED, quantity=10**12, price=1_900_000, cum_qty=n,
        leaves_qty=10**12 - n, ts_ns=1 + n, last_qty=1, last_price=1_900_000, liquidity=Liquidity.MAKER,
    )
    if journal.record_execution(report):
        print(report.exec_id, flush=True)
"""

LINES_BEFORE_KILL = 200


@pytest.mark.slow
@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_every_acknowledged_report_survives_a_killed_process(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'engine.db'}"
    open_database(url).dispose()  # schema first, so the writer starts journaling at once
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, url], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert writer.stdout is not None
    printed: list[str] = []
    try:
        assert writer.stdout.readline().strip() == "ready", writer.stderr.read() if writer.stderr else ""
        while len(printed) < LINES_BEFORE_KILL:
            line = writer.stdout.readline()
            assert line, f"the writer stopped early: {writer.stderr.read() if writer.stderr else ''}"
            printed.append(line.strip())
    finally:
        os.kill(writer.pid, signal.SIGKILL)
        rest, _ = writer.communicate()
    assert writer.returncode == -signal.SIGKILL
    printed += rest.split()  # acknowledged before the kill, still in the pipe

    database = open_database(url)
    with database.connect() as conn:
        counts = dict(
            conn.execute(
                select(JournalEntry.exec_id, func.count())
                .where(JournalEntry.kind == "exec")
                .group_by(JournalEntry.exec_id)
            ).all()
        )
    with Journal(database) as journal:
        replayed = [item for item in journal.replay() if getattr(item, "exec_type", None) is ExecType.TRADE]
    database.dispose()

    assert len(printed) >= LINES_BEFORE_KILL
    missing = [exec_id for exec_id in printed if exec_id not in counts]
    assert missing == []
    assert set(counts.values()) == {1}
    # Nothing is acknowledged out of order or lost in between: the journal is a gapless prefix.
    assert [report.exec_id for report in replayed] == [f"X-{n}" for n in range(1, len(replayed) + 1)]
