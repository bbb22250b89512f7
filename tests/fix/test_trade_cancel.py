"""Trade busts over FIX: ExecutionReport 150=H with ExecRefID (19), from the engine's server to a remote client and
to another engine routing through the FIX venue, on real loopback sockets.

The busts come from where they come in production: a venue reports a trade cancel to the serving engine (the
engine is the venue's listener), which journals it, corrects its order and position and sends it on.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from core.enums import ExecType, Liquidity, OrdStatus, Side, TimeInForce
from core.events import ExecutionReport, PositionUpdate
from core.orders import report_for
from engine.client.embedded import EmbeddedClient
from engine.config import EngineConfig
from engine.engine import Engine
from engine.fix import app_codec as ac
from engine.fix.dictionary import fix44
from engine.fix.message import FixMessage
from engine.plugins import PluginRegistry
from tests.fix.test_app_codec import AAPL, INSTRUMENTS, report, valid
from tests.fix.test_fix_venue import linked
from tests.fix.test_remote_client import Events, eventually, order, run, serving

BUST = report(
    exec_id="E-9", exec_type=ExecType.TRADE_CANCEL, ord_status=OrdStatus.PARTIALLY_FILLED, cum_qty=50,
    leaves_qty=100, last_qty=100, last_price=1_872_500, fee=-1_500, reason="trade broken (erroneous)",
    ref_exec_id="E-3",
)  # fmt: skip
"""An order of 150 filled 100 at 187.25 (E-3), then 50 at 187.26; the first fill is busted."""


def test_a_trade_cancel_carries_the_busted_fill_and_the_orders_new_totals() -> None:
    message = valid(ac.encode_execution_report(BUST, AAPL, filled_cost=1_872_600 * 50))
    assert (message.get(150), message.get(19), message.get(39)) == (b"H", b"E-3", b"1")
    assert (message.get(32), message.get(31), message.get(12)) == (b"100", b"187.25", b"-0.000015")
    assert (message.get(14), message.get(151), message.get(6)) == (b"50", b"100", b"187.26")
    valid(ac.encode_execution_report(BUST, AAPL), fix44())  # the standard FIX 4.4 dictionary takes it too
    assert ac.decode_execution_report(message, INSTRUMENTS) == BUST


def test_only_a_trade_cancel_has_an_exec_ref_id_and_it_must() -> None:
    fill = dataclasses.replace(BUST, exec_type=ExecType.TRADE, ref_exec_id="", liquidity=Liquidity.MAKER)
    assert 19 not in valid(ac.encode_execution_report(fill, AAPL))
    wired = valid(ac.encode_execution_report(BUST, AAPL))
    without = FixMessage([(tag, value) for tag, value in wired.fields if tag != 19])
    with pytest.raises(ac.FixAppError, match="ExecRefID"):
        ac.decode_execution_report(without, INSTRUMENTS)


def bust_of(engine: Engine, fill: ExecutionReport, *, ts_ns: int) -> ExecutionReport:
    """The venue's trade cancel of ``fill`` (the engine's exec id of it), the order done before and after."""
    order = engine.orders.get(fill.order_id)
    assert order is not None
    cancel = report_for(
        order, exec_id=f"BUST-{fill.exec_id}", exec_type=ExecType.TRADE_CANCEL, ord_status=order.status,
        ts_ns=ts_ns, cum_qty=order.cum_qty - fill.last_qty, last_qty=fill.last_qty, last_price=fill.last_price,
        fee=fill.fee, reason="trade broken (erroneous)",
    )  # fmt: skip
    return dataclasses.replace(cancel, ref_exec_id=fill.exec_id)


def test_a_remote_client_gets_the_bust_and_its_order_and_position_follow(
    registry: PluginRegistry, config: EngineConfig, tmp_path: Path
) -> None:
    async def scenario() -> None:
        async with serving(registry, config, tmp_path) as served:
            client = served.client()
            events = Events(client)
            await client.connect()
            ask = (await client.book_snapshot("AAPL")).best_ask
            assert ask is not None
            buy = order(client, Side.BUY, 7, ask + 10_000, time_in_force=TimeInForce.IOC)
            await client.submit(buy)
            await eventually(lambda: events.status(buy.client_order_id) is OrdStatus.FILLED)
            await eventually(lambda: any(p.quantity == 7 for p in events.of(PositionUpdate)))
            fills = [r for r in events.reports(buy.client_order_id) if r.exec_type is ExecType.TRADE]
            busted = fills[-1]
            assert busted.last_price is not None

            engine = served.runtime.engine
            engine.on_execution(bust_of(engine, busted, ts_ns=engine.now_ns()))
            await eventually(lambda: events.reports(buy.client_order_id)[-1].exec_type is ExecType.TRADE_CANCEL)
            got = events.reports(buy.client_order_id)[-1]
            assert (got.ref_exec_id, got.last_qty, got.last_price) == (
                busted.exec_id,
                busted.last_qty,
                busted.last_price,
            )
            assert (got.ord_status, got.cum_qty, got.leaves_qty, got.quantity) == (
                OrdStatus.FILLED,
                7 - busted.last_qty,
                0,
                7,
            )
            assert got.reason == "trade broken (erroneous)"
            left = 7 - busted.last_qty
            await eventually(lambda: events.of(PositionUpdate)[-1].quantity == left)
            assert events.of(PositionUpdate)[-1].cost == engine.position("main", "AAPL").cost
            assert engine.position("main", "AAPL").quantity == left
            [status] = await client.orders()
            assert (status.ord_status, status.cum_qty, status.leaves_qty) == (OrdStatus.FILLED, left, 0)
            # A desktop loading the day after the bust (a reload, a reconnection) gets the bust with the fills.
            snapshot = await client.executions()
            assert [r.exec_id for r in snapshot if r.exec_type is ExecType.TRADE] == [r.exec_id for r in fills]
            [cancel] = [r for r in snapshot if r.exec_type is ExecType.TRADE_CANCEL]
            assert cancel.ref_exec_id == busted.exec_id
            assert snapshot[-1] is cancel
            local = await EmbeddedClient(served.runtime).executions()
            assert [r.ref_exec_id for r in local if r.exec_type is ExecType.TRADE_CANCEL] == [busted.exec_id]
            await client.close()

    run(scenario())


def test_an_engine_routing_through_the_fix_venue_takes_the_bust_of_its_fill(
    registry: PluginRegistry, tmp_path: Path
) -> None:
    async def scenario() -> None:
        async with linked(registry, tmp_path) as link:
            taker, local_fills = await link.take(5)
            remote_order = link.remote_order(taker)
            assert remote_order is not None
            remote = link.remote.engine
            remote_fill = next(
                r
                for r in link.remote.journal.replay()  # type: ignore[union-attr]
                if isinstance(r, ExecutionReport) and r.exec_type is ExecType.TRADE
                and r.order_id == remote_order.order_id
            )  # fmt: skip

            remote.on_execution(bust_of(remote, remote_fill, ts_ns=remote.now_ns()))
            await eventually(lambda: link.of(taker)[-1].exec_type is ExecType.TRADE_CANCEL)
            got = link.of(taker)[-1]
            assert got.ref_exec_id == f"FIX-{remote_fill.exec_id}"
            assert got.ref_exec_id in {fill.exec_id for fill in local_fills}
            assert (got.ord_status, got.last_qty) == (OrdStatus.FILLED, remote_fill.last_qty)
            local = link.engine.orders.by_client_id(taker)
            assert local is not None
            assert (local.status, local.cum_qty, local.leaves_qty) == (OrdStatus.FILLED, 5 - remote_fill.last_qty, 0)
            left = 5 - remote_fill.last_qty
            assert link.engine.position("main", "AAPL").quantity == left
            assert remote.position("main", "AAPL").quantity == left
            assert link.engine.position("main", "AAPL").cost == remote.position("main", "AAPL").cost

    run(scenario())
