"""Busts in the journal: journaled with the fill they break, rebuilt by recovery (after a stop and after SIGKILL),
and a database of a release before busts opens as it is."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text

from core.enums import ExecType, OrdStatus, Side
from core.events import ExecutionReport
from core.orders import Order
from engine.clock import AsyncioScheduler
from engine.config import load_config
from engine.plugins import load_plugins
from engine.runtime import LiveRuntime
from engine.storage import Journal, open_database, recover
from engine.storage.models import JournalEntry, OrderRow

from . import VenueReports, new_order
from .test_recovery import INSTRUMENTS, LiveEngine


def bust(
    venue: VenueReports, fill: ExecutionReport, status: OrdStatus, *, quantity: int | None = None
) -> ExecutionReport:
    """The venue's trade cancel of ``fill``, the order then in ``status`` (and of ``quantity`` when given)."""
    venue.cum_qty -= fill.last_qty
    if quantity is not None:
        venue.quantity = quantity
    cancel = venue.report(ExecType.TRADE_CANCEL, status, last_price=fill.last_price, fee=fill.fee, reason="erroneous")
    return dataclasses.replace(cancel, last_qty=fill.last_qty, ref_exec_id=fill.exec_id)


def test_busts_are_journaled_and_recovery_takes_their_fills_out_of_orders_and_positions(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'engine.db'}"
    database = open_database(url)
    with Journal(database) as journal:
        live = LiveEngine(journal)
        buy = live.submit(new_order("O-1", quantity=300))
        sell = live.submit(new_order("O-2", side=Side.SELL, quantity=100, price=1_910_000))
        small = live.submit(new_order("O-3", quantity=10, price=1_900_500))
        for venue in (buy, sell, small):
            live.execute(venue.ack())
        opening = live.execute(buy.fill(100, price=1_900_000, fee=5))
        live.execute(sell.fill(100, fee=3))
        live.execute(buy.fill(50, price=1_900_300, fee=2))
        done = live.execute(small.fill(10, fee=1))
        live.execute(bust(buy, opening, OrdStatus.PARTIALLY_FILLED, quantity=200))  # an exchange's: 150 still open
        live.execute(bust(small, done, OrdStatus.FILLED))
    database.dispose()  # the process stops; only the database remains

    reopened = open_database(url)
    with Journal(reopened) as journal:
        state = recover(journal, INSTRUMENTS)
        busts = [item for item in journal.replay() if getattr(item, "exec_type", None) is ExecType.TRADE_CANCEL]
    with reopened.connect() as conn:
        rows = {row.order_id: row for row in conn.execute(select(OrderRow.__table__))}
    reopened.dispose()

    assert state.problems == ()
    assert state.orders == live.orders
    assert [(item.ref_exec_id, item.last_qty) for item in busts] == [(opening.exec_id, 100), (done.exec_id, 10)]
    o1, o3 = state.orders["O-1"], state.orders["O-3"]
    assert (o1.status, o1.quantity, o1.cum_qty, o1.leaves_qty, o1.filled_cost) == (
        OrdStatus.PARTIALLY_FILLED, 200, 50, 150, 50 * 1_900_300,
    )  # fmt: skip
    assert (o3.status, o3.quantity, o3.cum_qty, o3.leaves_qty, o3.filled_cost) == (OrdStatus.FILLED, 10, 0, 0, 0)
    assert {order_id: (row.status, row.quantity, row.cum_qty, row.leaves_qty, row.filled_cost)
            for order_id, row in rows.items()} == {
        order.order_id: (order.status.value, order.quantity, order.cum_qty, order.leaves_qty, order.filled_cost)
        for order in state.orders.values()
    }  # fmt: skip

    # What stands: the sale opened a short of 100 at 191.00 that O-1's 50 at 190.03 half closed.
    position = state.portfolio.position("main", "AAPL")
    assert (position.quantity, position.cost, position.fees, position.traded_qty) == (-50, -50 * 1_910_000, 5, 150)
    assert position.realized == (1_910_000 - 1_900_300) * 50 * 10**4
    assert state.portfolio.pnl("main") == live.portfolio.pnl("main")


def test_a_bust_of_a_fill_the_journal_never_had_is_a_problem_and_changes_nothing() -> None:
    database = open_database("sqlite://")
    with Journal(database) as journal:
        live = LiveEngine(journal)
        buy = live.submit(new_order("O-1"))
        live.execute(buy.ack())
        fill = live.execute(buy.fill(40, fee=2))
        stray = dataclasses.replace(bust(buy, fill, OrdStatus.NEW), exec_id="XO-1-9", ref_exec_id="nope")
        assert journal.record_execution(stray)  # journaled (it is what the venue said), refused when applied
        state = recover(journal, INSTRUMENTS)
    database.dispose()
    assert state.problems == (
        "exec XO-1-9 on order O-1: trade cancel of nope, not a fill of this order",
        "exec XO-1-9: no fill 'nope' in the position of main in AAPL",
    )
    assert state.orders["O-1"].cum_qty == 40
    assert state.portfolio.position("main", "AAPL").quantity == 40


def test_a_database_of_a_release_before_busts_opens_and_keeps_its_journal(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    database = open_database(url)
    with Journal(database) as journal:
        live = LiveEngine(journal)
        buy = live.submit(new_order("O-1"))
        live.execute(buy.ack())
        fill = live.execute(buy.fill(40))
    with database.begin() as conn:  # as the first release made it
        conn.execute(text("ALTER TABLE journal DROP COLUMN ref_exec_id"))
    database.dispose()

    database = open_database(url)
    with Journal(database) as journal:
        assert [getattr(item, "ref_exec_id", "") for item in journal.replay()] == ["", "", ""]
        journal.record_execution(bust(buy, fill, OrdStatus.NEW))
        state = recover(journal, INSTRUMENTS)
    with database.connect() as conn:
        refs = conn.execute(select(JournalEntry.ref_exec_id).order_by(JournalEntry.seq)).scalars().all()
    database.dispose()
    assert refs == ["", "", "", fill.exec_id]
    assert state.problems == ()
    assert (state.orders["O-1"].status, state.orders["O-1"].cum_qty) == (OrdStatus.NEW, 0)
    assert state.portfolio.position("main", "AAPL").quantity == 0


# A serving engine (the commit group and its write log, as `serve` runs on the simulated exchange) that sweeps the
# offers, has its first fill busted, prints what it then holds and is killed.
ENGINE = """
import asyncio, dataclasses, json, sys
from core.commands import SubmitOrder
from core.enums import ExecType, Side, TimeInForce
from core.orders import report_for
from engine.clock import AsyncioScheduler
from engine.config import load_config
from engine.plugins import load_plugins
from engine.runtime import LiveRuntime

async def main():
    loop = asyncio.get_running_loop()
    runtime = LiveRuntime(load_config(None), load_plugins(builtins=True, entry_points=False), AsyncioScheduler(loop),
                          db_url=sys.argv[1], seed=5, commit_loop=loop)
    runtime.open()
    runtime.start()
    engine = runtime.engine
    while (book := engine.last_book("AAPL")) is None or book.best_ask is None:
        await asyncio.sleep(0.01)
    tick = engine.instruments["AAPL"].tick_size
    order = engine.submit(SubmitOrder(client_order_id="sweep", account="main", instrument="AAPL", side=Side.BUY,
                                      quantity=2_000, price=book.best_ask + 20 * tick, time_in_force=TimeInForce.IOC))
    while not order.is_terminal:
        await asyncio.sleep(0.01)
    exec_id, (_, price, quantity) = order.fill_exec_ids[0], order.fills[0]
    bust = report_for(order, exec_id="BUST-1", exec_type=ExecType.TRADE_CANCEL, ord_status=order.status,
                      ts_ns=engine.now_ns(), cum_qty=order.cum_qty - quantity, last_qty=quantity, last_price=price)
    engine.on_execution(dataclasses.replace(bust, ref_exec_id=exec_id))
    runtime.journal.flush()
    position = engine.position("main", "AAPL")
    print(json.dumps({
        "fills": len(order.fills) + 1, "status": order.status.value, "cum_qty": order.cum_qty,
        "filled_cost": order.filled_cost, "fill_exec_ids": order.fill_exec_ids,
        "position": [position.quantity, position.cost, position.realized, position.fees, position.traded_qty],
    }), flush=True)
    await asyncio.sleep(3600)

asyncio.run(main())
"""


@pytest.mark.slow
@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_a_bust_survives_a_killed_engine(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'engine.db'}"
    engine = subprocess.Popen(
        [sys.executable, "-c", ENGINE, url], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert engine.stdout is not None
    try:
        line = engine.stdout.readline()
    finally:
        os.kill(engine.pid, signal.SIGKILL)
        _, errors = engine.communicate()
    assert engine.returncode == -signal.SIGKILL
    assert line, errors
    held: dict[str, Any] = json.loads(line)
    assert held["fills"] >= 2, "the sweep filled at several prices, one of them busted"

    async def restart() -> tuple[Order, list[int]]:
        loop = asyncio.get_running_loop()
        runtime = LiveRuntime(
            load_config(None), load_plugins(builtins=True, entry_points=False), AsyncioScheduler(loop), db_url=url,
            commit_loop=loop,
        )  # fmt: skip
        recovered = runtime.open()
        assert recovered.problems == ()
        order = runtime.engine.orders.by_client_id("sweep")
        assert order is not None
        position = runtime.engine.position("main", "AAPL")
        assert runtime.commit_group is not None
        runtime.commit_group.close()
        return order, [position.quantity, position.cost, position.realized, position.fees, position.traded_qty]

    order, position = asyncio.run(restart())
    assert (order.status.value, order.cum_qty, order.filled_cost) == (
        held["status"],
        held["cum_qty"],
        held["filled_cost"],
    )
    assert order.fill_exec_ids == held["fill_exec_ids"]
    assert position == held["position"]
