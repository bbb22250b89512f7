"""Many messages and slow readers: nothing lost for a client that keeps up, and a client that stops reading
cannot hold the engine back (its market data is conflated, then it is logged out)."""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path

import pytest

from core.events import ExecutionReport
from engine.fix.server import ServerLimits
from engine.plugins import PluginRegistry
from tests.fix.test_server_harness import (
    FixClient,
    Running,
    make_users,
    now_stamp,
    open_config,
    order,
    price_text,
    run,
    serving,
)

ORDERS = 2_000


@pytest.fixture(scope="module")
def users_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_users(
        tmp_path_factory.mktemp("users") / "users.toml",
        {"alice": {"accounts": ["main"]}, "slow": {"accounts": ["main"], "read_only": True}},
    )


async def _market(running: Running) -> tuple[int, int]:
    for _ in range(100):
        book = running.runtime.market.snapshot("AAPL")
        if book.best_bid is not None and book.best_ask is not None:
            return book.best_bid, book.best_ask
        await asyncio.sleep(0.05)
    raise AssertionError("no AAPL book")


def _engine_reports(running: Running, user: str) -> list[ExecutionReport]:
    published: list[ExecutionReport] = []
    running.runtime.engine.bus.subscribe(
        ExecutionReport, lambda r: published.append(r) if r.client_order_id.startswith(f"{user}:") else None
    )
    return published


def test_a_burst_of_orders_gets_one_acknowledgement_each_and_every_execution_report(
    registry: PluginRegistry, tmp_path: Path, users_file: Path
) -> None:
    async def scenario() -> None:
        async with serving(registry, tmp_path, users_file, config=open_config(risk={})) as running:
            published = _engine_reports(running, "alice")
            client = FixClient("alice")
            await client.connect(running.host, running.port)
            await client.logon()
            bid, ask = await _market(running)
            burst = bytearray()
            for index in range(ORDERS):
                if index % 10 == 0:  # some take liquidity and fill, the rest rest away from the market
                    body = order(f"L-{index}", side="2", qty=1)
                else:
                    side, price = ("1", bid - 500) if index % 2 else ("2", ask + 500)
                    body = order(f"L-{index}", side=side, qty=1, price=price_text(price))
                burst += client.frame("D", body)
            await client.write(bytes(burst))
            expected = {f"L-{index}".encode() for index in range(ORDERS)}

            def every_report_delivered(received: list[object]) -> bool:
                acked = {m.get(11) for m in client.messages("8") if m.get(150) in (b"0", b"8")}
                delivered = [m.get(17) for m in client.messages("8")]
                return acked >= expected and delivered == [r.exec_id.encode() for r in published]

            await client.collect(every_report_delivered, within=30)
            await client.quiet(0.2)
            # Resting orders may fill while the line is quiet: their reports must arrive too.
            await client.collect(every_report_delivered, within=10)
            reports = client.messages("8")
            acks = [m.get(11) for m in reports if m.get(150) in (b"0", b"8")]
            assert sorted(acks) == sorted(expected)  # exactly one acknowledgement per order
            assert [m.get(17) for m in reports] == [r.exec_id.encode() for r in published]  # none lost, in order
            assert any(m.get(150) == b"F" for m in reports)
            assert not client.invalid

    run(scenario(), timeout=90)


def test_a_client_that_stops_reading_is_conflated_then_logged_out_while_another_trades(
    registry: PluginRegistry, tmp_path: Path, users_file: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="engine.fix.server")
    limits = ServerLimits(
        high_water_bytes=16 * 1024, low_water_bytes=4 * 1024, max_behind_ms=1_500, socket_send_buffer=8 * 1024,
        shutdown_grace_ms=300,
    )  # fmt: skip

    async def scenario() -> None:
        async with serving(registry, tmp_path, users_file, limits=limits) as running:
            published = _engine_reports(running, "alice")
            slow = FixClient("slow")
            await slow.connect(running.host, running.port, rcvbuf=4096)
            assert (await slow.logon()).msg_type == "A"
            symbols = "|".join(f"55={s}" for s in ("AAPL", "MSFT", "SPY", "QQQ"))
            await slow.send("V", f"262=ALL|263=1|264=0|265=1|267=3|269=0|269=1|269=2|146=4|{symbols}")
            # From here on the slow client reads nothing.
            fast = FixClient("alice")
            await fast.connect(running.host, running.port)
            await fast.logon()
            bid, _ = await _market(running)
            slow_bridge = next(b for b in running.server.app.bridges if b.user == "slow")
            deadline = time.monotonic() + 15
            index = 0
            while any(s.key == "FIX.4.4:ENGINE->slow" for s in running.server.sessions):
                assert time.monotonic() < deadline, "the slow client was never logged out"
                await fast.send("D", order(f"T-{index}", qty=1, price=price_text(bid - 300)))
                index += 1
                await fast.quiet(0.05)
            assert slow_bridge.conflated_updates > 0
            await fast.send("q", f"11=ALL|530=7|60={now_stamp()}")
            await fast.expect(lambda m: m.msg_type == "r")
            await fast.collect(lambda got: len(fast.messages("8")) >= len(published), within=10)
            assert [m.get(17) for m in fast.messages("8")] == [r.exec_id.encode() for r in published]
            assert {m.get(11) for m in fast.messages("8") if m.get(150) == b"0"} == {
                f"T-{i}".encode() for i in range(index)
            }
            await slow.wait_closed(within=10)
            logout = slow.messages("5")
            assert not logout or b"behind" in (logout[-1].get(58) or b"")  # unless dropped with the connection
            assert any("not reading" in record.getMessage() for record in caplog.records)
            assert not fast.invalid

    run(scenario(), timeout=90)
