"""TradingSessionStatusRequest (g) and TradingSessionStatus (h): a client learns the engine's trading day and its
next roll, and a subscriber hears of every roll. Real server and client on loopback; the roll is the engine's own
``Engine.start_day``."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from engine.config import EngineConfig
from engine.fix.message import FixMessage, parse_utc_timestamp
from engine.fix.trading_session import decode_trading_session_status, encode_trading_session_status
from engine.plugins import PluginRegistry
from tests.fix.test_remote_client import eventually
from tests.fix.test_remote_client import serving as remote_serving
from tests.fix.test_server_harness import FixClient, make_users, run, serving


def test_a_snapshot_a_subscription_its_roll_updates_and_the_refusals(registry: PluginRegistry, tmp_path: Path) -> None:
    users = make_users(tmp_path / "users.toml", {"alice": {"accounts": ["main"]}})

    async def scenario() -> None:
        async with serving(registry, tmp_path, users) as running:
            engine = running.runtime.engine
            calendar = engine.calendar
            assert engine.trading_day is not None
            assert calendar is not None
            client = FixClient("alice")
            await client.connect(running.host, running.port)
            await client.logon()

            await client.send("g", "335=S1|263=0")
            snapshot = await client.expect(lambda m: m.msg_type == "h")
            assert snapshot.get(335) == b"S1"
            assert snapshot.get(336) == f"{engine.trading_day:%Y%m%d}".encode()
            assert (snapshot.get(325), snapshot.get(340)) == (b"N", b"2")
            rolls_at = parse_utc_timestamp(snapshot.get(345) or b"")
            assert rolls_at == calendar.next_roll_ns(engine.scheduler.now_ns()) // 1_000_000 * 1_000_000

            await client.send("g", "335=S2|263=1")
            await client.expect(lambda m: m.msg_type == "h" and m.get(335) == b"S2")
            next_day = engine.trading_day + dt.timedelta(days=1)
            engine.start_day(next_day)
            news = await client.expect(lambda m: m.msg_type == "h" and m.get(325) == b"Y")
            assert news.get(335) is None
            assert decode_trading_session_status(news)[0] == next_day

            await client.send("g", "335=S3|263=2")
            await client.send("g", "335=S4|263=7")
            refused = await client.expect(lambda m: m.msg_type == "3")
            assert (refused.get(372), refused.get(371), refused.get(373)) == (b"g", b"263", b"5")
            engine.start_day(next_day + dt.timedelta(days=1))
            await client.send("g", "335=S5|263=0")
            last = await client.expect(lambda m: m.msg_type == "h" and m.get(335) == b"S5")
            after_unsubscribing = client.received[client.received.index(news) + 1 :]
            assert not any(m.msg_type == "h" and m.get(325) == b"Y" for m in after_unsubscribing)
            assert client.invalid == []
            assert decode_trading_session_status(last)[0] == next_day + dt.timedelta(days=1)

    run(scenario())


def test_the_status_round_trips_and_a_session_id_that_is_no_date_is_refused() -> None:
    day = dt.date(2026, 11, 23)
    rolls_at = 1_795_471_200_000_000_000
    answer = encode_trading_session_status(day, rolls_at, request_id="R", unsolicited=False)
    assert decode_trading_session_status(answer) == (day, rolls_at)
    news = encode_trading_session_status(day, None, request_id=None, unsolicited=True)
    assert decode_trading_session_status(news) == (day, None)
    broken = FixMessage([(tag, b"DAY" if tag == 336 else value) for tag, value in answer.fields])
    with pytest.raises(ValueError, match=r"TradingSessionID \(336\) b'DAY' is not a trading day"):
        decode_trading_session_status(broken)


def test_the_remote_client_knows_the_trading_day_and_follows_the_roll(
    registry: PluginRegistry, config: EngineConfig, tmp_path: Path
) -> None:
    async def scenario() -> None:
        async with remote_serving(registry, config, tmp_path) as served:
            engine = served.runtime.engine
            assert engine.trading_day is not None
            assert engine.calendar is not None
            client = served.client()
            info = await client.connect()
            assert info.trading_day is not None
            assert info.trading_day.day == engine.trading_day
            expected_roll = engine.calendar.next_roll_ns(engine.scheduler.now_ns())
            assert info.trading_day.rolls_at_ns == expected_roll // 1_000_000 * 1_000_000  # FIX carries ms
            next_day = engine.trading_day + dt.timedelta(days=1)
            engine.start_day(next_day)

            def rolled() -> bool:
                return client.info.trading_day is not None and client.info.trading_day.day == next_day

            await eventually(rolled)
            await client.close()

    run(scenario())
