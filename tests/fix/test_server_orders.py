"""Orders through the FIX server: new, cancel, replace, mass cancel, status, rejects, duplicates and resends.

What the client sees is checked as a FIX user would: its own ClOrdIDs on every report, the request's ClOrdID and
OrigClOrdID on the answers to cancels and replaces, and the engine's own view of the orders.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from core.enums import OrdStatus
from engine.plugins import PluginRegistry
from tests.fix.test_server_harness import FixClient, Running, make_users, now_stamp, order, price_text, run, serving


@pytest.fixture(scope="module")
def users_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_users(tmp_path_factory.mktemp("users") / "users.toml", {"alice": {"accounts": ["main"]}})


async def _logged_on(running: Running) -> FixClient:
    client = FixClient("alice")
    await client.connect(running.host, running.port)
    assert (await client.logon()).msg_type == "A"
    return client


async def _bid(running: Running) -> int:
    """The engine's best bid of AAPL, once the simulated market has one."""
    for _ in range(100):
        bid = running.runtime.market.snapshot("AAPL").best_bid
        if bid is not None:
            return bid
        await __import__("asyncio").sleep(0.05)
    raise AssertionError("no AAPL book")


def _report(cl_ord_id: str, exec_type: str) -> object:
    return lambda m: m.msg_type == "8" and m.get(11) == cl_ord_id.encode() and m.get(150) == exec_type.encode()


def test_a_marketable_order_is_acknowledged_then_filled_under_the_clients_clordid(
    registry: PluginRegistry, tmp_path: Path, users_file: Path
) -> None:
    async def scenario() -> None:
        async with serving(registry, tmp_path, users_file) as running:
            client = await _logged_on(running)
            await _bid(running)
            await client.send("D", order("BUY-1", qty=10))
            new = await client.expect(_report("BUY-1", "0"))  # type: ignore[arg-type]
            assert (new.get(39), new.get(1), new.get(55), new.get(54)) == (b"0", b"main", b"AAPL", b"1")
            await client.collect(lambda got: any(m.get(11) == b"BUY-1" and m.get(39) == b"2" for m in got))
            fills = [m for m in client.messages("8") if m.get(150) == b"F"]
            assert sum(m.get_int(32) for m in fills) == 10
            assert all(m.get(11) == b"BUY-1" and m.get(13) == b"3" for m in fills)
            engine_order = running.runtime.engine.orders.by_client_id("alice:BUY-1")
            assert engine_order is not None
            assert engine_order.status is OrdStatus.FILLED
            assert not client.invalid

    run(scenario())


def test_cancel_replace_chain_answers_with_the_requests_ids(
    registry: PluginRegistry, tmp_path: Path, users_file: Path
) -> None:
    async def scenario() -> None:
        async with serving(registry, tmp_path, users_file) as running:
            client = await _logged_on(running)
            bid = await _bid(running)
            low = price_text(bid - 200)
            await client.send("D", order("R-1", price=low, qty=5))
            await client.expect(_report("R-1", "0"))  # type: ignore[arg-type]
            lower = price_text(bid - 300)
            await client.send("G", f"41=R-1|11=R-2|55=AAPL|54=1|60={now_stamp()}|38=7|40=2|44={lower}")
            replaced = await client.expect(_report("R-2", "5"))  # type: ignore[arg-type]
            assert (replaced.get(41), replaced.get_int(38), replaced.get_decimal(44)) == (b"R-1", 7, Decimal(lower))
            await client.send("F", f"41=R-2|11=R-3|55=AAPL|54=1|60={now_stamp()}")
            canceled = await client.expect(_report("R-3", "4"))  # type: ignore[arg-type]
            assert (canceled.get(41), canceled.get(39)) == (b"R-2", b"4")
            await client.send("F", f"41=R-1|11=R-4|55=AAPL|54=1|60={now_stamp()}")
            too_late = await client.expect(lambda m: m.msg_type == "9")
            assert (too_late.get(11), too_late.get(41), too_late.get(39), too_late.get(434)) == (
                b"R-4", b"R-1", b"4", b"1",
            )  # fmt: skip
            await client.send("F", f"41=NOPE|11=R-5|55=AAPL|54=1|60={now_stamp()}")
            unknown = await client.expect(lambda m: m.msg_type == "9" and m.get(11) == b"R-5")
            assert (unknown.get(37), unknown.get(102)) == (b"NONE", b"1")
            assert not client.invalid

    run(scenario())


def test_mass_cancel_and_order_status(registry: PluginRegistry, tmp_path: Path, users_file: Path) -> None:
    async def scenario() -> None:
        async with serving(registry, tmp_path, users_file) as running:
            client = await _logged_on(running)
            bid = await _bid(running)
            for index in range(3):
                await client.send("D", order(f"M-{index}", price=price_text(bid - 100 * (index + 2)), qty=1))
            for index in range(3):
                await client.expect(_report(f"M-{index}", "0"))  # type: ignore[arg-type]
            await client.send("H", "11=M-1|55=AAPL|54=1")
            status = await client.expect(_report("M-1", "I"))  # type: ignore[arg-type]
            assert (status.get(39), status.get_int(151)) == (b"0", 1)
            await client.send("q", f"11=MC-1|530=7|60={now_stamp()}")
            report = await client.expect(lambda m: m.msg_type == "r")
            assert (report.get(11), report.get(531), report.get_int(533)) == (b"MC-1", b"7", 3)
            for index in range(3):
                await client.expect(lambda m, i=index: m.get(11) == f"M-{i}".encode() and m.get(39) == b"4")
            await client.send("H", "11=NOPE|55=AAPL|54=1")
            reject = await client.expect(lambda m: m.msg_type == "j")
            assert (reject.get(380), reject.get(379)) == (b"1", b"NOPE")
            assert not client.invalid

    run(scenario())


def test_refused_orders_come_back_as_rejected_execution_reports(
    registry: PluginRegistry, tmp_path: Path, users_file: Path
) -> None:
    async def scenario() -> None:
        async with serving(registry, tmp_path, users_file) as running:
            client = await _logged_on(running)
            bid = await _bid(running)
            await client.send("D", order("BIG", qty=20_000, price=price_text(bid)))
            risk = await client.expect(_report("BIG", "8"))  # type: ignore[arg-type]
            assert risk.get(39) == b"8"
            assert b"20000" in (risk.get(58) or b"")
            assert b"10000" in (risk.get(58) or b"")
            await client.send("D", order("ODD", price="187.123"))
            invalid = await client.expect(_report("ODD", "8"))  # type: ignore[arg-type]
            assert (invalid.get(37), invalid.get(103)) == (b"NONE", b"99")
            await client.send("D", order("ZZZ", symbol="NOPE"))
            unknown = await client.expect(_report("ZZZ", "8"))  # type: ignore[arg-type]
            assert unknown.get(103) == b"1"
            await client.send("D", order("BIG", qty=1, price=price_text(bid - 500)))
            duplicate = await client.expect(lambda m: m.get(11) == b"BIG" and m.get(103) == b"6")
            assert duplicate.get(39) == b"8"
            assert len(running.runtime.engine.orders) == 1
            assert not client.invalid

    run(scenario())


def test_a_resent_order_after_a_reconnection_does_not_make_a_second_order(
    registry: PluginRegistry, tmp_path: Path, users_file: Path
) -> None:
    async def scenario() -> None:
        async with serving(registry, tmp_path, users_file) as running:
            client = await _logged_on(running)
            bid = await _bid(running)
            body = order("ONCE", price=price_text(bid - 300), qty=2)
            await client.send("D", body)
            await client.expect(_report("ONCE", "0"))  # type: ignore[arg-type]
            await client.send("D", body, header="97=Y")
            status = await client.expect(lambda m: m.get(11) == b"ONCE" and m.get(150) in (b"I", b"8"))
            assert (status.get(150), status.get(39)) == (b"I", b"0")
            assert [o.client_order_id for o in running.runtime.engine.orders] == ["alice:ONCE"]
            assert not client.invalid

    run(scenario())
