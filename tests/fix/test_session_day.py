"""The FIX session day follows the engine's trading day: sent messages past the resend retention are deleted at the
roll (a resend of them is a GapFill), and a session declared with ``reset_at_roll`` is logged out at the roll and
starts again at 1 on its next Logon. The roll is the engine's own (``Engine.start_day``, as its roll timer calls
it); the server and the client are real, on loopback."""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import replace
from pathlib import Path

from sqlalchemy import func, select, update

from engine.client.protocol import ConnectionEvent, ConnectionState
from engine.client.remote import RemoteClient, RemoteEndpoint
from engine.config import FixConfig, FixSessionSettings
from engine.fix.store import MESSAGES
from engine.plugins import PluginRegistry
from engine.storage.db import open_database
from tests.fix.test_server_harness import PASSWORD, FixClient, make_users, open_config, order, run, serving

DAY_NS = 86_400 * 1_000_000_000


def _kept_messages(tmp_path: Path) -> int:
    with open_database(f"sqlite:///{tmp_path / 'engine.db'}").connect() as conn:
        return int(conn.execute(select(func.count()).select_from(MESSAGES)).scalar_one())


def _age_kept_messages(tmp_path: Path, days: int) -> None:
    """Makes every kept message look sent ``days`` days earlier (a server that has run that long)."""
    with open_database(f"sqlite:///{tmp_path / 'engine.db'}").begin() as conn:
        conn.execute(update(MESSAGES).values(sent_ns=MESSAGES.c.sent_ns - days * DAY_NS))


def test_sent_messages_past_the_retention_are_deleted_at_the_roll_and_resent_as_a_gap_fill(
    registry: PluginRegistry, tmp_path: Path
) -> None:
    users = make_users(tmp_path / "users.toml", {"alice": {"accounts": ["main"]}})
    config = replace(open_config(), fix=FixConfig(resend_retention_days=3))

    async def scenario() -> None:
        async with serving(registry, tmp_path, users, config=config) as running:
            client = FixClient("alice")
            await client.connect(running.host, running.port)
            assert (await client.logon()).msg_type == "A"
            await client.send("D", order("OLD-1", price="185.00"))
            old = await client.expect(lambda m: m.msg_type == "8" and m.get(11) == b"OLD-1")
            running.runtime.commit_group.sync()
            assert _kept_messages(tmp_path) >= 1
            _age_kept_messages(tmp_path, 4)  # older than the 3 days kept
            await client.send("D", order("NEW-1", price="185.00"))
            new = await client.expect(lambda m: m.msg_type == "8" and m.get(11) == b"NEW-1")
            engine = running.runtime.engine
            engine.start_day(engine.trading_day + dt.timedelta(days=1))
            await client.send("2", f"7=1|16={new.get_int(34)}")
            resent = await client.collect(lambda got: any(m.get(43) == b"Y" and m.get(11) == b"NEW-1" for m in got))
            possdup = [m for m in resent if m.get(43) == b"Y"]
            assert [m.msg_type for m in possdup] == ["4", "8"]
            gap_fill, report = possdup
            assert (gap_fill.get_int(34), gap_fill.get(123), gap_fill.get_int(36)) == (1, b"Y", new.get_int(34))
            assert report.get(17) == new.get(17)
            assert old.get_int(34) < new.get_int(34)
            assert not any(m.get(11) == b"OLD-1" for m in possdup)

    run(scenario())


def test_a_daily_session_is_logged_out_at_the_roll_and_starts_again_at_1(
    registry: PluginRegistry, tmp_path: Path
) -> None:
    daily = FixSessionSettings(target_comp_id="DESK", auth="none", reset_at_roll=True)
    lasting = FixSessionSettings(target_comp_id="ALGO", auth="none")

    async def scenario() -> None:
        async with serving(registry, tmp_path, None, sessions=[daily, lasting]) as running:
            desk, algo = FixClient("DESK"), FixClient("ALGO")
            for client in (desk, algo):
                await client.connect(running.host, running.port)
                assert (await client.logon(None)).msg_type == "A"
                await client.send("1", "112=BEFORE")
                await client.expect(lambda m: m.msg_type == "0")
            engine = running.runtime.engine
            engine.start_day(engine.trading_day + dt.timedelta(days=1))
            logout = await desk.expect(lambda m: m.msg_type == "5")
            assert b"end of the FIX session day" in (logout.get(58) or b"")
            await desk.send("5")
            assert await desk.wait_closed()
            await algo.send("1", "112=AFTER")
            assert (await algo.expect(lambda m: m.msg_type == "0")).get_int(34) == 3  # the other session goes on

            again = FixClient("DESK")
            await again.connect(running.host, running.port)
            answer = await again.logon(None)
            assert (answer.msg_type, answer.get_int(34)) == ("A", 1)
            await again.send("1", "112=NEXT-DAY")
            assert (await again.expect(lambda m: m.msg_type == "0")).get_int(34) == 2

    run(scenario())


def test_the_desktops_client_logs_on_again_after_the_roll_of_a_daily_session(
    registry: PluginRegistry, tmp_path: Path
) -> None:
    users = make_users(tmp_path / "users.toml", {"alice": {"accounts": ["main"]}})
    daily = FixSessionSettings(target_comp_id="alice", reset_at_roll=True)

    async def scenario() -> None:
        async with serving(registry, tmp_path, users, sessions=[daily]) as running:
            client = RemoteClient(
                RemoteEndpoint(user="alice", host=running.host, port=running.port), PASSWORD, reconnect_min_s=0.05
            )
            states: list[ConnectionState] = []
            client.subscribe(lambda event: states.append(event.state) if isinstance(event, ConnectionEvent) else None)
            await client.connect()
            try:
                engine = running.runtime.engine
                engine.start_day(engine.trading_day + dt.timedelta(days=1))
                for _ in range(500):
                    if states[-2:] == [ConnectionState.DISCONNECTED, ConnectionState.CONNECTED]:
                        break
                    await asyncio.sleep(0.01)
                assert states[-2:] == [ConnectionState.DISCONNECTED, ConnectionState.CONNECTED]
                (session,) = running.server.sessions
                assert session.key == "FIX.4.4:ENGINE->alice"
                assert [o.client_order_id for o in await client.orders()] == []  # answered on the new session
            finally:
                await client.close()

    run(scenario())
