"""``workstation-engine serve`` and ``users add`` as separate processes: a server killed with SIGKILL continues its
sequence numbers after a restart and resends what it sent; TLS; a clean stop on SIGTERM."""

from __future__ import annotations

import asyncio
import re
import shutil
import signal
import ssl
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.fix.users import UsersFile
from engine.plugins import PluginRegistry
from tests.cli.conftest import cli_env, engine_command
from tests.fix.test_server_harness import PASSWORD, FixClient, make_users, order, run, serving

pytestmark = pytest.mark.slow

START_TIMEOUT_S = 60


def _users_add(path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        engine_command("users", "add", *args, "--users", str(path)),
        input=f"{PASSWORD}\n", capture_output=True, text=True, timeout=60, env=cli_env(), check=False,
    )  # fmt: skip


class _Server:
    """A ``serve`` process and the port it printed."""

    def __init__(self, *args: str) -> None:
        self.process = subprocess.Popen(
            engine_command(*args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=cli_env()
        )
        self.lines: list[str] = []
        deadline = time.monotonic() + START_TIMEOUT_S
        assert self.process.stdout is not None
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            if not line:
                break
            self.lines.append(line)
            match = re.match(r"listening on 127\.0\.0\.1:(\d+)", line)
            if match:
                self.port = int(match.group(1))
                return
        self.process.kill()
        raise AssertionError(
            f"the server did not start: {self.lines} {self.process.stderr.read() if self.process.stderr else ''}"
        )

    def stop(self, signum: int) -> tuple[int, str]:
        self.process.send_signal(signum)
        out, _ = self.process.communicate(timeout=30)
        return self.process.returncode, "".join(self.lines) + out


@pytest.fixture
def kill_on_exit() -> Iterator[list[_Server]]:
    servers: list[_Server] = []
    yield servers
    for server in servers:
        if server.process.poll() is None:
            server.process.kill()
            server.process.wait(timeout=30)


def test_a_killed_server_continues_its_sequence_numbers_and_resends_what_it_sent(
    tmp_path: Path, kill_on_exit: list[_Server]
) -> None:
    users = tmp_path / "users.toml"
    added = _users_add(users, "alice", "--account", "main", "--no-cancel-on-disconnect")
    assert added.returncode == 0, added.stderr
    assert PASSWORD not in added.stdout
    user = UsersFile.load(users).get("alice")
    assert user is not None
    assert user.accounts == ("main",)
    assert not user.cancel_on_disconnect
    serve = ("--db", f"sqlite:///{tmp_path / 'engine.db'}", "serve", "--listen", "127.0.0.1:0", "--users", str(users))

    first = _Server(*serve)
    kill_on_exit.append(first)

    async def before_the_crash() -> tuple[int, list[bytes]]:
        client = FixClient("alice")
        await client.connect("127.0.0.1", first.port)
        assert (await client.logon()).msg_type == "A"
        await asyncio.sleep(0.3)  # the simulated market opens
        await client.send("D", order("K-1", qty=3))
        await client.collect(lambda got: any(m.get(11) == b"K-1" and m.get(39) == b"2" for m in got), within=10)
        reports = client.messages("8")
        return client.seq, [m.get(17) or b"" for m in reports]

    next_seq, sent_exec_ids = run(before_the_crash())
    last_seq = 1 + len(sent_exec_ids)
    first.process.send_signal(signal.SIGKILL)
    first.process.wait(timeout=30)

    second = _Server(*serve)
    kill_on_exit.append(second)

    async def after_the_restart() -> None:
        client = FixClient("alice")
        client.seq = next_seq
        await client.connect("127.0.0.1", second.port)
        answer = await client.logon()
        assert (answer.msg_type, answer.get_int(34)) == ("A", last_seq + 1)
        await client.send("2", "7=1|16=0")
        await client.collect(lambda got: any(m.msg_type == "4" and m.get_int(36) == last_seq + 2 for m in got))
        resent = [m for m in client.received if m.msg_type in ("8", "4")]
        assert [m.get(17) for m in resent if m.msg_type == "8"] == sent_exec_ids
        assert all(m.get(43) == b"Y" and m.get(122) for m in resent)
        gap_fills = [(m.get_int(34), m.get_int(36)) for m in resent if m.msg_type == "4"]
        assert gap_fills == [(1, 2), (last_seq + 1, last_seq + 2)]
        await client.send("5")
        await client.expect(lambda m: m.msg_type == "5")

    run(after_the_restart())
    code, output = second.stop(signal.SIGTERM)
    assert code == 0, output
    assert "recovered 1 orders" in output
    assert "stopped" in output


def test_a_client_logs_on_over_tls(registry: PluginRegistry, tmp_path: Path) -> None:
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("the openssl command-line tool is needed to make a test certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
         "-days", "1", "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    users = make_users(tmp_path / "users.toml", {"alice": {"accounts": ["main"]}})
    from engine.fix.server import tls_context

    client_context = ssl.create_default_context(cafile=str(cert))

    async def scenario() -> None:
        async with serving(registry, tmp_path, users, tls=tls_context(cert, key)) as running:
            client = FixClient("alice")
            await client.connect(running.host, running.port, tls=client_context)
            assert (await client.logon()).msg_type == "A"
            await client.send("1", "112=SECURE")
            assert (await client.expect(lambda m: m.msg_type == "0")).get(112) == b"SECURE"
            plain = FixClient("alice")
            await plain.connect(running.host, running.port)
            await plain.send("A", "98=0|108=30|553=alice|554=x")
            assert await plain.wait_closed()
            assert plain.received == []

    run(scenario())


def test_a_server_that_busy_polls_acknowledges_orders_and_stops_cleanly(
    tmp_path: Path, kill_on_exit: list[_Server]
) -> None:
    users = make_users(tmp_path / "users.toml", {"alice": {"accounts": ["main"]}})
    db = f"sqlite:///{tmp_path / 'engine.db'}"
    server = _Server("--db", db, "serve", "--listen", "127.0.0.1:0", "--users", str(users), "--busy-poll-us", "500")
    kill_on_exit.append(server)

    async def trade() -> None:
        client = FixClient("alice")
        await client.connect("127.0.0.1", server.port)
        assert (await client.logon()).msg_type == "A"
        await client.send("D", order("P-1", qty=2, price="185.00"))
        ack = await client.expect(lambda m: m.msg_type == "8" and m.get(11) == b"P-1")
        assert ack.get(150) == b"0", ack.get(58)
        await client.send("5")
        await client.expect(lambda m: m.msg_type == "5")

    run(trade())
    code, output = server.stop(signal.SIGTERM)
    assert code == 0, output
    assert "stopped" in output
