"""The FIX server's session level over real sockets: who may log on, and what a logged-on session gets.

Each test starts the engine and its server on the test's event loop (127.0.0.1, port 0) and talks to it with
byte-exact frames from a raw client.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.config import FixSessionSettings
from engine.fix.session import SessionState
from engine.plugins import PluginRegistry
from tests.fix.test_server_harness import FixClient, make_users, now_stamp, run, serving


@pytest.fixture(scope="module")
def users_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("users") / "users.toml"
    return make_users(path, {"alice": {"accounts": ["main"]}, "bob": {"accounts": ["*"]}})


def test_a_user_logs_on_and_off_and_the_engine_answers_in_sequence(
    registry: PluginRegistry, tmp_path: Path, users_file: Path
) -> None:
    async def scenario() -> None:
        async with serving(registry, tmp_path, users_file) as running:
            client = FixClient("alice")
            await client.connect(running.host, running.port)
            answer = await client.logon()
            assert answer.msg_type == "A"
            assert (answer.get_str(49), answer.get_str(56), answer.get_int(34)) == ("ENGINE", "alice", 1)
            assert answer.get(108) == b"30"
            assert [session.key for session in running.server.sessions] == ["FIX.4.4:ENGINE->alice"]
            await client.send("1", "112=PING")
            heartbeat = await client.expect(lambda m: m.msg_type == "0")
            assert (heartbeat.get(112), heartbeat.get_int(34)) == (b"PING", 2)
            await client.send("5")
            await client.expect(lambda m: m.msg_type == "5")
            assert await client.wait_closed()
            assert not client.invalid

    run(scenario())


@pytest.mark.parametrize(
    ("sender", "password", "target", "why"),
    [
        ("alice", "wrong", "ENGINE", b"unknown user or wrong password"),
        ("mallory", "s3cret-pass", "ENGINE", b"unknown user or wrong password"),
        ("alice", "s3cret-pass", "EXCHANGE", b"wrong TargetCompID 'EXCHANGE'"),
    ],
    ids=["wrong password", "unknown user", "wrong CompID"],
)
def test_a_logon_that_does_not_hold_is_refused_with_a_logout_and_the_connection_closed(
    registry: PluginRegistry, tmp_path: Path, users_file: Path, sender: str, password: str, target: str, why: bytes
) -> None:
    async def scenario() -> None:
        async with serving(registry, tmp_path, users_file) as running:
            client = FixClient(sender, target)
            await client.connect(running.host, running.port)
            answer = await client.logon(password)
            assert answer.msg_type == "5"
            assert why in (answer.get(58) or b"")
            assert answer.get_int(34) == 1
            assert await client.wait_closed()
            assert running.server.sessions == ()

    run(scenario())


def test_a_second_logon_for_a_live_session_is_refused_and_the_first_carries_on(
    registry: PluginRegistry, tmp_path: Path, users_file: Path
) -> None:
    async def scenario() -> None:
        async with serving(registry, tmp_path, users_file) as running:
            first = FixClient("alice")
            await first.connect(running.host, running.port)
            assert (await first.logon()).msg_type == "A"
            second = FixClient("alice")
            await second.connect(running.host, running.port)
            answer = await second.logon()
            assert answer.msg_type == "5"
            assert b"already logged on" in (answer.get(58) or b"")
            assert await second.wait_closed()
            await first.send("1", "112=STILL")
            assert (await first.expect(lambda m: m.msg_type == "0")).get(112) == b"STILL"

    run(scenario())


def test_garbled_bytes_are_dropped_without_using_a_sequence_number(
    registry: PluginRegistry, tmp_path: Path, users_file: Path
) -> None:
    async def scenario() -> None:
        async with serving(registry, tmp_path, users_file) as running:
            client = FixClient("alice")
            await client.connect(running.host, running.port)
            await client.logon()
            garbled = bytearray(client.frame("1", "112=LOST", seq=2))
            garbled[-2] = ord("0") if garbled[-2] != ord("0") else ord("1")  # a wrong CheckSum
            await client.write(bytes(garbled))
            await client.send("1", "112=KEPT", seq=2)
            heartbeat = await client.expect(lambda m: m.msg_type == "0")
            assert heartbeat.get(112) == b"KEPT"
            assert not [m for m in client.received if m.msg_type in ("2", "3", "5")]

    run(scenario())


def test_an_unsupported_application_message_gets_a_business_reject(
    registry: PluginRegistry, tmp_path: Path, users_file: Path
) -> None:
    async def scenario() -> None:
        async with serving(registry, tmp_path, users_file) as running:
            client = FixClient("alice")
            await client.connect(running.host, running.port)
            await client.logon()
            await client.send("R", f"131=Q1|146=1|55=AAPL|60={now_stamp()}")  # QuoteRequest
            reject = await client.expect(lambda m: m.msg_type == "j")
            assert (reject.get(372), reject.get(380), reject.get(45)) == (b"R", b"3", b"2")
            assert not client.invalid

    run(scenario())


def test_declared_sessions_accept_only_their_compids_and_an_open_one_needs_no_password(
    registry: PluginRegistry, tmp_path: Path, users_file: Path
) -> None:
    sessions = (
        FixSessionSettings(sender_comp_id="ENG", target_comp_id="DESK1", auth="none", accounts=("main",)),
        FixSessionSettings(sender_comp_id="ENG", target_comp_id="alice"),
    )

    async def scenario() -> None:
        async with serving(registry, tmp_path, users_file, sessions=sessions) as running:
            desk = FixClient("DESK1", "ENG")
            await desk.connect(running.host, running.port)
            assert (await desk.logon(None)).msg_type == "A"
            alice = FixClient("alice", "ENGINE")
            await alice.connect(running.host, running.port)
            refused = await alice.logon()
            assert refused.msg_type == "5"
            assert b"TargetCompID" in (refused.get(58) or b"")
            alice = FixClient("alice", "ENG")
            await alice.connect(running.host, running.port)
            assert (await alice.logon()).msg_type == "A"
            stranger = FixClient("bob", "ENG")
            await stranger.connect(running.host, running.port)
            assert (await stranger.logon()).msg_type == "5"
            keys = sorted(session.key or "" for session in running.server.sessions)
            assert keys == ["FIX.4.4:ENG->DESK1", "FIX.4.4:ENG->alice"]
            assert all(session.state is SessionState.LOGGED_ON for session in running.server.sessions)

    run(scenario())


def test_serve_refuses_to_start_without_users_or_with_an_open_session_on_the_network(
    tmp_path: Path, users_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from engine.cli import main

    db = f"sqlite:///{tmp_path / 'engine.db'}"
    missing = tmp_path / "nobody.toml"
    assert main(["--db", db, "serve", "--listen", "127.0.0.1:0", "--users", str(missing)]) == 2
    assert "no such users file" in capsys.readouterr().err
    config = tmp_path / "engine.toml"
    config.write_text('[[fix.sessions]]\ntarget_comp_id = "DESK1"\nauth = "none"\n')
    command = ["--config", str(config), "--db", db, "serve", "--listen", "0.0.0.0:0", "--users", str(users_file)]
    assert main(command) == 2
    assert "loopback" in capsys.readouterr().err
    assert main(["--db", db, "serve", "--listen", "nowhere"]) == 2
    assert "HOST:PORT" in capsys.readouterr().err
    assert main(["--db", db, "serve", "--listen", "127.0.0.1:0", "--busy-poll-us", "-5"]) == 2
    assert "--busy-poll-us must be 0 (off) or positive" in capsys.readouterr().err


def test_fix_sessions_are_read_from_the_engine_configuration(tmp_path: Path) -> None:
    from engine.config import ConfigError, dump_config, load_config

    path = tmp_path / "engine.toml"
    path.write_text(
        "[fix]\nresend_retention_days = 2\n\n"
        '[[fix.sessions]]\ntarget_comp_id = "alice"\nreset_on_logon = true\naccounts = ["main"]\n'
        "cancel_on_disconnect = false\n\n"
        '[[fix.sessions]]\nsender_comp_id = "ENG2"\ntarget_comp_id = "DESK"\nauth = "none"\n'
        "sending_time_tolerance_s = 30\nreset_at_roll = true\n"
    )
    config = load_config(path)
    first, second = config.fix.sessions
    assert (first.sender_comp_id, first.target_comp_id, first.reset_on_logon, first.auth) == (
        "ENGINE", "alice", True, "password",
    )  # fmt: skip
    assert (first.accounts, first.cancel_on_disconnect, first.sending_time_tolerance_s) == (("main",), False, 120)
    assert (second.sender_comp_id, second.auth, second.accounts, second.cancel_on_disconnect) == (
        "ENG2", "none", None, None,
    )  # fmt: skip
    assert (config.fix.resend_retention_days, first.reset_at_roll, second.reset_at_roll) == (2, False, True)
    again = tmp_path / "again.toml"
    again.write_text(dump_config(config))
    assert load_config(again).fix == config.fix

    for text, key in [
        ('[[fix.sessions]]\ntarget_comp_id = "a"\nauth = "magic"\n', "fix.sessions[0].auth"),
        ('[[fix.sessions]]\nsender_comp_id = "E"\n', "fix.sessions[0].target_comp_id"),
        ('[[fix.sessions]]\ntarget_comp_id = "a:b"\n', "fix.sessions[0].target_comp_id"),
        ('[[fix.sessions]]\ntarget_comp_id = "a"\nreset_on_logon = "yes"\n', "fix.sessions[0].reset_on_logon"),
        ('[[fix.sessions]]\ntarget_comp_id = "a"\nheartbeat = 30\n', "fix.sessions[0].heartbeat"),
        ('[[fix.sessions]]\ntarget_comp_id = "a"\nreset_at_roll = 1\n', "fix.sessions[0].reset_at_roll"),
        ("[fix]\nresend_retention_days = 0\n", "fix.resend_retention_days"),
        ('[[fix.sessions]]\ntarget_comp_id = "a"\n[[fix.sessions]]\ntarget_comp_id = "a"\n', "fix.sessions[1]"),
    ]:
        path.write_text(text)
        with pytest.raises(ConfigError) as raised:
            load_config(path)
        assert str(raised.value).startswith(f"{path}: {key}")
