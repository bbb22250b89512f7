"""Who may do and see what through the FIX server, and what happens to orders when a session drops."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from core.enums import OrdStatus
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


@pytest.fixture(scope="module")
def users_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_users(
        tmp_path_factory.mktemp("users") / "users.toml",
        {
            "alice": {"accounts": ["main"]},
            "carol": {"accounts": ["main", "X"]},
            "dave": {"accounts": ["X"]},
            "viewer": {"accounts": ["*"], "read_only": True},
            "keeper": {"accounts": ["main"], "cancel_on_disconnect": False},
        },
    )


async def _client(running: Running, name: str) -> FixClient:
    client = FixClient(name)
    await client.connect(running.host, running.port)
    assert (await client.logon()).msg_type == "A"
    return client


async def _market(running: Running) -> tuple[int, int]:
    for _ in range(100):
        book = running.runtime.market.snapshot("AAPL")
        if book.best_bid is not None and book.best_ask is not None:
            return book.best_bid, book.best_ask
        await asyncio.sleep(0.05)
    raise AssertionError("no AAPL book")


def test_a_read_only_user_cannot_trade_but_gets_market_data(
    registry: PluginRegistry, tmp_path: Path, users_file: Path
) -> None:
    async def scenario() -> None:
        async with serving(registry, tmp_path, users_file) as running:
            viewer = await _client(running, "viewer")
            await viewer.send("D", order("V-1"))
            reject = await viewer.expect(lambda m: m.msg_type == "j")
            assert (reject.get(380), reject.get(379), reject.get(372)) == (b"6", b"V-1", b"D")
            await viewer.send("q", f"11=V-2|530=7|60={now_stamp()}")
            assert (await viewer.expect(lambda m: m.msg_type == "j")).get(380) == b"6"
            await viewer.send("V", "262=MD-1|263=0|264=0|267=2|269=0|269=1|146=1|55=AAPL")
            snapshot = await viewer.expect(lambda m: m.msg_type == "W")
            assert (snapshot.get(262), snapshot.get(55)) == (b"MD-1", b"AAPL")
            assert len(running.runtime.engine.orders) == 0
            assert not viewer.invalid

    run(scenario())


def test_a_user_limited_to_one_account_cannot_trade_another(
    registry: PluginRegistry, tmp_path: Path, users_file: Path
) -> None:
    async def scenario() -> None:
        async with serving(registry, tmp_path, users_file, config=open_config(accounts=("main", "X"))) as running:
            dave = await _client(running, "dave")
            await dave.send("D", order("D-1", account="main"))
            reject = await dave.expect(lambda m: m.msg_type == "j")
            assert (reject.get(380), reject.get(379)) == (b"6", b"D-1")
            bid, _ = await _market(running)
            await dave.send("D", order("D-2", price=price_text(bid - 300)))  # no Account: the user's default, X
            new = await dave.expect(lambda m: m.msg_type == "8" and m.get(11) == b"D-2")
            assert (new.get(150), new.get(1)) == (b"0", b"X")
            assert not dave.invalid

    run(scenario())


def test_sessions_see_the_fills_of_the_accounts_they_may_see_and_no_others(
    registry: PluginRegistry, tmp_path: Path, users_file: Path
) -> None:
    async def scenario() -> None:
        async with serving(registry, tmp_path, users_file, config=open_config(accounts=("main", "X"))) as running:
            alice = await _client(running, "alice")
            carol = await _client(running, "carol")
            dave = await _client(running, "dave")
            await _market(running)
            await alice.send("D", order("A-1", qty=5))
            await alice.collect(lambda got: any(m.get(11) == b"A-1" and m.get(39) == b"2" for m in got))
            await carol.collect(lambda got: any(m.get(11) == b"alice:A-1" and m.get(39) == b"2" for m in got))
            alice_ids = {m.get(17) for m in alice.messages("8")}
            carol_ids = {m.get(17) for m in carol.messages("8") if m.get(11) == b"alice:A-1"}
            assert alice_ids == carol_ids
            await carol.send("D", order("C-1", qty=3))
            await carol.collect(lambda got: any(m.get(11) == b"C-1" and m.get(39) == b"2" for m in got))
            await alice.collect(lambda got: any(m.get(11) == b"carol:C-1" and m.get(39) == b"2" for m in got))
            await dave.quiet(0.3)
            assert dave.messages("8") == []
            for client in (alice, carol, dave):
                assert not client.invalid

    run(scenario())


def test_a_dropped_session_has_its_working_day_orders_cancelled(
    registry: PluginRegistry, tmp_path: Path, users_file: Path
) -> None:
    async def scenario() -> None:
        async with serving(registry, tmp_path, users_file) as running:
            orders = running.runtime.engine.orders
            bid, _ = await _market(running)
            dropped = await _client(running, "alice")
            await dropped.send("D", order("DAY-1", price=price_text(bid - 300)))
            await dropped.send("D", order("GTC-1", price=price_text(bid - 300), tif="1"))
            await dropped.expect(lambda m: m.get(11) == b"GTC-1" and m.get(150) == b"0")
            polite = await _client(running, "carol")
            await polite.send("D", order("DAY-2", price=price_text(bid - 300)))
            await polite.expect(lambda m: m.get(11) == b"DAY-2" and m.get(150) == b"0")
            kept = await _client(running, "keeper")
            await kept.send("D", order("DAY-3", price=price_text(bid - 300)))
            await kept.expect(lambda m: m.get(11) == b"DAY-3" and m.get(150) == b"0")

            await dropped.close()  # no Logout
            await kept.close()  # no Logout either, but this user keeps orders
            await polite.send("5")
            await polite.expect(lambda m: m.msg_type == "5")
            for _ in range(100):
                day = orders.by_client_id("alice:DAY-1")
                if day is not None and day.status is OrdStatus.CANCELED:
                    break
                await asyncio.sleep(0.02)

            def status(client_order_id: str) -> OrdStatus:
                found = orders.by_client_id(client_order_id)
                assert found is not None
                return found.status

            assert status("alice:DAY-1") is OrdStatus.CANCELED
            assert status("alice:GTC-1") is OrdStatus.NEW
            assert status("carol:DAY-2") is OrdStatus.NEW
            assert status("keeper:DAY-3") is OrdStatus.NEW

    run(scenario())


def test_reports_made_while_a_session_is_away_reach_it_on_its_next_logon(
    registry: PluginRegistry, tmp_path: Path, users_file: Path
) -> None:
    async def scenario() -> None:
        async with serving(registry, tmp_path, users_file) as running:
            bid, _ = await _market(running)
            away = await _client(running, "keeper")
            await away.send("D", order("AWAY-1", price=price_text(bid - 3000)))
            await away.expect(lambda m: m.get(11) == b"AWAY-1" and m.get(150) == b"0")
            last_seen = max(message.get_int(34) for message in away.received)
            next_seq = away.seq
            await away.close()  # no Logout: the order stays (this user keeps orders)

            other = await _client(running, "carol")  # same account: may cancel it
            await other.send("F", f"11=C-1|41=keeper:AWAY-1|55=AAPL|54=1|60={now_stamp()}|38=1")
            await other.expect(lambda m: m.get(150) == b"4")

            back = FixClient("keeper")
            back.seq = next_seq
            await back.connect(running.host, running.port)
            answer = await back.logon()
            assert answer.msg_type == "A"
            assert answer.get_int(34) > last_seen + 1  # the cancel was stored under the numbers in between
            await back.send("2", f"7={last_seen + 1}|16=0")
            resent = await back.expect(lambda m: m.msg_type == "8" and m.get(150) == b"4")
            assert (resent.get(11), resent.get(43), resent.get(39)) == (b"AWAY-1", b"Y", b"4")
            assert back.invalid == []

    run(scenario())
