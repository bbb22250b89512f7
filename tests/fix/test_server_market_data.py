"""Market data, reference data, positions, engine control and order status recovery through the FIX server."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from core.commands import KillSwitch
from engine.fix.app_codec import L2Books, decode_market_data_incremental, decode_market_data_snapshot
from engine.fix.message import FixMessage
from engine.plugins import PluginRegistry
from tests.fix.test_server_harness import (
    FixClient,
    Running,
    levels,
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
            "carol": {"accounts": ["main"]},
            "dave": {"accounts": ["side"]},
            "viewer": {"accounts": ["*"], "read_only": True},
        },
    )


async def _client(running: Running, name: str = "alice") -> FixClient:
    client = FixClient(name)
    await client.connect(running.host, running.port)
    assert (await client.logon()).msg_type == "A"
    return client


async def _book_ready(running: Running, symbol: str = "AAPL") -> None:
    for _ in range(100):
        book = running.runtime.market.snapshot(symbol)
        if book.best_bid is not None and book.best_ask is not None:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"no {symbol} book")


def test_a_snapshot_is_the_engines_book(registry: PluginRegistry, tmp_path: Path, users_file: Path) -> None:
    async def scenario() -> None:
        async with serving(registry, tmp_path, users_file) as running:
            client = await _client(running)
            await _book_ready(running, "MSFT")
            running.runtime.engine.stop()  # the market stands still: the snapshot must equal the book exactly
            await client.send("V", "262=S-1|263=0|264=0|267=3|269=0|269=1|269=2|146=1|55=MSFT")
            message = await client.expect(lambda m: m.msg_type == "W")
            snapshot = decode_market_data_snapshot(message, running.runtime.engine.instruments)
            engine_book = running.runtime.market.snapshot("MSFT")
            assert levels(snapshot.book) == levels(engine_book)
            assert snapshot.book.sequence == engine_book.sequence
            assert (snapshot.last_price, snapshot.last_qty) == running.runtime.market.last_trade("MSFT")
            assert not client.invalid

    run(scenario())


def test_a_subscription_keeps_a_client_book_equal_to_the_engines(
    registry: PluginRegistry, tmp_path: Path, users_file: Path
) -> None:
    async def scenario() -> None:
        async with serving(registry, tmp_path, users_file) as running:
            client = await _client(running)
            await _book_ready(running)
            instruments = running.runtime.engine.instruments
            books = L2Books()
            await client.send("V", "262=SUB|263=1|264=0|265=1|267=3|269=0|269=1|269=2|146=2|55=AAPL|55=SPY")
            await client.quiet(0.8)
            running.runtime.engine.stop()
            await client.quiet(0.3)
            increments = 0
            for message in client.received:
                if message.msg_type == "W":
                    decode_market_data_snapshot(message, instruments, books)
                elif message.msg_type == "X":
                    increments += 1
                    decode_market_data_incremental(message, instruments, books)
            assert increments > 5
            for symbol in ("AAPL", "SPY"):
                bids, asks = books.levels(symbol)
                client_levels = (
                    tuple(sorted(bids.items(), reverse=True)),
                    tuple(sorted(asks.items())),
                )
                assert client_levels == levels(running.runtime.market.snapshot(symbol))
            await client.send("V", "262=SUB|263=2|264=0|267=1|269=0|146=1|55=AAPL")
            await client.send("V", "262=SUB|263=2|264=0|267=1|269=0|146=1|55=AAPL")
            unknown = await client.expect(lambda m: m.msg_type == "j")
            assert (unknown.get(380), unknown.get(379)) == (b"1", b"SUB")
            await client.send("V", "262=BAD|263=1|264=0|267=1|269=0|146=1|55=NOPE")
            refused = await client.expect(lambda m: m.msg_type == "Y")
            assert (refused.get(262), refused.get(281)) == (b"BAD", b"0")
            assert not client.invalid

    run(scenario())


def test_reference_data_positions_and_the_order_status_recovery(
    registry: PluginRegistry, tmp_path: Path, users_file: Path
) -> None:
    async def scenario() -> None:
        async with serving(registry, tmp_path, users_file) as running:
            client = await _client(running)
            await _book_ready(running)
            await client.send("x", "320=SL-1|559=4")
            listing = await client.expect(lambda m: m.msg_type == "y")
            assert (listing.get(560), listing.values(55)) == (b"0", [b"AAPL", b"MSFT", b"SPY", b"QQQ"])
            await client.send("AN", f"710=P-0|724=0|263=0|453=0|1=main|581=1|715=20240601|60={now_stamp()}")
            none = await client.expect(lambda m: m.msg_type == "AP")
            assert (none.get(710), none.get(728)) == (b"P-0", b"2")
            await client.send("D", order("F-1", qty=4))
            await client.collect(lambda got: any(m.get(11) == b"F-1" and m.get(39) == b"2" for m in got))
            bid = running.runtime.market.snapshot("AAPL").best_bid
            assert bid is not None
            await client.send("D", order("W-1", qty=2, price=price_text(bid - 300)))
            await client.expect(lambda m: m.get(11) == b"W-1" and m.get(150) == b"0")
            await client.send("AN", f"710=P-1|724=0|263=0|453=0|1=*|581=1|715=20240601|60={now_stamp()}")
            position = await client.expect(lambda m: m.msg_type == "AP" and m.get(710) == b"P-1")
            assert (position.get(1), position.get(55), position.get_int(704), position.get(728)) == (
                b"main", b"AAPL", 4, b"0",
            )  # fmt: skip

            viewer = await _client(running, "viewer")
            await viewer.send("AF", "584=ALL|585=7")
            last = await viewer.expect(lambda m: m.msg_type == "8" and m.get(912) == b"Y")
            replies = [m for m in viewer.messages("8") if m.get(584) == b"ALL"]
            assert replies[-1] is last
            fills = [m for m in replies if m.get(150) == b"F"]
            statuses = [m for m in replies if m.get(150) == b"I"]
            assert all(m.get(97) == b"Y" for m in fills)
            assert sum(m.get_int(32) for m in fills) == 4
            assert [(m.get(11), m.get(39)) for m in statuses] == [(b"alice:F-1", b"2"), (b"alice:W-1", b"0")]
            assert {m.get_int(911) for m in replies} == {len(replies)}
            own = {m.get(17) for m in client.messages("8") if m.get(150) == b"F"}
            assert {m.get(17) for m in fills} == own
            for who in (client, viewer):
                assert not who.invalid

    run(scenario())


def test_strategies_risk_limits_and_the_kill_switch_over_fix(
    registry: PluginRegistry, tmp_path: Path, users_file: Path
) -> None:
    async def scenario() -> None:
        async with serving(registry, tmp_path, users_file, config=open_config()) as running:
            client = await _client(running)
            viewer = await _client(running, "viewer")
            await client.send("UA", "5100=L-1")
            listing = await client.expect(lambda m: m.msg_type == "UB")
            assert b"market-maker" in listing.values(5102)
            start = f"5100=S-1|5102=market-maker|5002=mm-fix|1=main|5130=1|55=AAPL|60={now_stamp()}"
            await client.send("UC", start)
            status = await client.expect(lambda m: m.msg_type == "UE")
            assert (status.get(5100), status.get(5002), status.get(5121)) == (b"S-1", b"mm-fix", b"Y")
            told = await viewer.expect(lambda m: m.msg_type == "UE")
            assert (told.get(5100), told.get(5002)) == (None, b"mm-fix")
            await client.send("UD", f"5100=S-2|5002=mm-fix|60={now_stamp()}")
            stopped = await client.expect(lambda m: m.msg_type == "UE" and m.get(5100) == b"S-2")
            assert stopped.get(5121) == b"N"
            await viewer.send("UD", f"5100=S-3|5002=mm-fix|60={now_stamp()}")
            assert (await viewer.expect(lambda m: m.msg_type == "j")).get(380) == b"6"
            await client.send("UD", f"5100=S-4|5002=no-such|60={now_stamp()}")
            unknown = await client.expect(lambda m: m.msg_type == "j" and m.get(379) == b"S-4")
            assert unknown.get(58) == b"no strategy instance 'no-such'"

            await client.send("UF", "5100=R-1")
            report = await client.expect(lambda m: m.msg_type == "UG")
            assert b"max_order_quantity" in report.values(5151)
            await client.send("UH", "5100=R-2|5150=1|1=main|5151=max_order_quantity|5107=limit|5108=int|5109=5")
            changed = await client.expect(lambda m: m.msg_type == "UG" and m.get(5100) == b"R-2")
            assert running.runtime.engine.risk.limits("main")["max_order_quantity"] == {"limit": 5}
            assert b"5" in changed.values(5109)

            await client.send("UI", "5100=K-1|5160=Y|1=main|58=test stop")
            engaged = await client.expect(lambda m: m.msg_type == "UJ")
            assert (engaged.get(5100), engaged.get(5160), engaged.get(58)) == (b"K-1", b"Y", b"test stop")
            assert running.runtime.engine.risk.kill_switch_engaged("main")
            await client.send("D", order("K-ORDER", qty=1))
            blocked = await client.expect(lambda m: m.get(11) == b"K-ORDER")
            assert blocked.get(39) == b"8"
            await client.send("UI", "5100=K-2|5160=N|1=main")
            released = await client.expect(lambda m: m.msg_type == "UJ" and m.get(5100) == b"K-2")
            assert released.get(5160) == b"N"
            await client.send("UI", "5100=K-3|5160=Y")
            assert (await client.expect(lambda m: m.msg_type == "j")).get(380) == b"6"
            for who in (client, viewer):
                assert not who.invalid

    run(scenario())


def test_every_session_that_may_see_a_kill_switch_hears_of_it(
    registry: PluginRegistry, tmp_path: Path, users_file: Path
) -> None:
    def unsolicited(message: FixMessage) -> bool:
        return message.msg_type == "UJ" and 5100 not in message

    async def scenario() -> None:
        config = open_config(accounts=("main", "side"))
        async with serving(registry, tmp_path, users_file, config=config) as running:
            alice, viewer, dave = (
                await _client(running),
                await _client(running, "viewer"),
                await _client(running, "dave"),
            )
            await alice.send("UI", "5100=K-1|5160=Y|1=main|58=desk stop")
            assert (await alice.expect(lambda m: m.msg_type == "UJ")).get(5100) == b"K-1"
            told = await viewer.expect(unsolicited)
            assert (told.get(5160), told.get(1), told.get(58)) == (b"Y", b"main", b"desk stop")

            # A session that logs on later is told of the switch at once; one of another account is not.
            carol = await _client(running, "carol")
            at_logon = await carol.expect(unsolicited)
            assert (at_logon.get(5160), at_logon.get(1), at_logon.get(58)) == (b"Y", b"main", b"desk stop")

            await alice.send("UI", "5100=K-2|5160=N|1=main")
            for who in (viewer, carol):
                released = await who.expect(unsolicited)
                assert (released.get(5160), released.get(1)) == (b"N", b"main")

            # The global switch, engaged by the engine itself, reaches everyone.
            now = running.runtime.scheduler.now_ns()
            running.runtime.engine.kill_switch(KillSwitch(engaged=True, reason="market halt", ts_ns=now))
            for who in (alice, viewer, carol, dave):
                halted = await who.expect(unsolicited)
                assert (halted.get(5160), halted.get(1), halted.get(58)) == (b"Y", None, b"market halt")
            await asyncio.sleep(0.2)
            assert [m for m in alice.messages("UJ") if 5100 not in m and m.get(1) == b"main"] == []  # only answers
            assert [m for m in dave.messages("UJ") if m.get(1) == b"main"] == []  # not his account
            for who in (alice, viewer, carol, dave):
                assert not who.invalid

    run(scenario())
