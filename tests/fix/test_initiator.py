"""The FIX initiator against the engine's acceptor session, over real loopback sockets (and TLS)."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import ssl
import subprocess
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from engine.fix.codec import FixParser
from engine.fix.initiator import FixInitiator, InitiatorConfig, LogonError, client_ssl_context
from engine.fix.message import FixMessage
from engine.fix.session import Session, SessionConfig, SessionError, SessionState
from engine.fix.store import MemoryStore, SessionStore

RUN_S = 15.0
PASSWORD = "secret"


def news(headline: str) -> FixMessage:
    """A News (35=B) message: a small standard application message either side may send."""
    return FixMessage.build("B", [(148, headline), (33, 1), (58, headline)])


def headlines(messages: list[FixMessage]) -> list[str]:
    return [message.get_str(148) for message in messages if message.msg_type == "B"]


class Acceptor:
    """Engine acceptor sessions on a loopback port: one :class:`Session` per connection, stores kept per key.

    Records the application messages it receives and every frame that arrives (admin ones included).
    """

    def __init__(self, *, ssl_context: ssl.SSLContext | None = None, heartbeat_check: bool = True) -> None:
        self.config = SessionConfig(sender_comp_id="ENGINE", target_comp_id="alice")
        self.stores: dict[str, MemoryStore] = {}
        self.sessions: list[Session] = []
        self.received: list[FixMessage] = []
        self.frames: list[FixMessage] = []
        self.logouts: list[tuple[str, bool]] = []
        self.ssl_context = ssl_context
        self.answer_logon = True
        self.port = 0
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0, ssl=self.ssl_context)
        self.port = int(self._server.sockets[0].getsockname()[1])
        return self.port

    async def close(self) -> None:
        assert self._server is not None
        self._server.close()
        for session in self.sessions:
            session.connection_lost("acceptor closed")
        for task in list(self._tasks):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self._server.wait_closed()

    @property
    def session(self) -> Session:
        return self.sessions[-1]

    def store(self, key: str) -> SessionStore:
        return self.stores.setdefault(key, MemoryStore())

    def _authenticate(self, username: str | None, password: str | None, sender: str, target: str) -> str | None:
        return None if (username, password) == ("alice", PASSWORD) else "wrong user name or password"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        session = Session(
            self.config, send=writer.write, close=lambda reason: writer.close(), store_for=self.store,
            application=self, authenticate=self._authenticate,
        )  # fmt: skip
        self.sessions.append(session)
        parser = FixParser()
        ticker = asyncio.create_task(self._tick(session))
        try:
            while session.state is not SessionState.ENDED:
                try:
                    data = await reader.read(65_536)
                except OSError as error:
                    session.connection_lost(str(error))
                    break
                if not data:
                    session.connection_lost("closed by the initiator")
                    break
                self.frames += parser.feed(data)
                if self.answer_logon:
                    session.feed(data)
        finally:
            ticker.cancel()
            self._tasks.discard(task)

    async def _tick(self, session: Session) -> None:
        while session.state is not SessionState.ENDED:
            await asyncio.sleep(0.05)
            session.on_timer()

    # Application
    def on_logon(self, session: Session) -> None:
        pass

    def on_logout(self, session: Session, reason: str, graceful: bool) -> None:
        self.logouts.append((reason, graceful))

    def on_app_message(self, session: Session, message: FixMessage) -> None:
        self.received.append(message)
        if message.get_str(148).startswith("echo"):
            session.send_app(news("re: " + message.get_str(148)))


class Initiator:
    """A :class:`FixInitiator` logging on as alice, with what it received."""

    def __init__(self, port: int, **overrides: object) -> None:
        settings: dict[str, object] = {
            "sender_comp_id": "alice", "target_comp_id": "ENGINE", "username": "alice", "password": PASSWORD,
            "heartbeat_s": 30,
        }  # fmt: skip
        settings.update(overrides)
        self.port = port
        self.store = MemoryStore()
        self.messages: list[FixMessage] = []
        self.disconnects: list[str] = []
        self.fix = FixInitiator(
            InitiatorConfig(**settings),  # type: ignore[arg-type]
            self.store,
            on_message=self.messages.append,
            on_disconnect=self.disconnects.append,
        )

    async def connect(self, **kwargs: object) -> None:
        await self.fix.connect("127.0.0.1", self.port, **kwargs)  # type: ignore[arg-type]


async def eventually(condition: Callable[[], bool], timeout_s: float = 5.0) -> None:
    for _ in range(int(timeout_s / 0.01)):
        if condition():
            return
        await asyncio.sleep(0.01)
    assert condition(), f"not true within {timeout_s} s"


def run(scenario: Callable[[Acceptor], Awaitable[None]], acceptor: Acceptor | None = None) -> None:
    async def main() -> None:
        server = acceptor or Acceptor()
        await server.start()
        try:
            await scenario(server)
        finally:
            await server.close()

    asyncio.run(asyncio.wait_for(main(), RUN_S))


async def started(acceptor: Acceptor, **overrides: object) -> Initiator:
    initiator = Initiator(acceptor.port, **overrides)
    await initiator.connect()
    return initiator


def test_logon_messages_both_ways_and_a_graceful_logout() -> None:
    async def scenario(acceptor: Acceptor) -> None:
        initiator = await started(acceptor)
        assert initiator.fix.logged_on
        logon = acceptor.frames[0]
        assert (logon.msg_type, logon.get_str(553), logon.get_str(554), logon.get_str(108)) == (
            "A",
            "alice",
            PASSWORD,
            "30",
        )
        assert acceptor.session.username == "alice"
        assert "secret" not in repr(initiator.fix.config)
        initiator.fix.send(news("echo 1"))
        initiator.fix.send(news("echo 2"))
        await eventually(lambda: len(initiator.messages) == 2)
        assert headlines(acceptor.received) == ["echo 1", "echo 2"]
        assert headlines(initiator.messages) == ["re: echo 1", "re: echo 2"]
        await initiator.fix.logout("done for the day")
        assert acceptor.logouts == [("counterparty logged out: done for the day", True)]
        assert initiator.disconnects == ["done for the day"]
        assert not initiator.fix.logged_on
        # Logon, two messages, Logout: the next number is 5 on both sides of each direction.
        assert (initiator.store.next_sender_seq, initiator.store.next_target_seq) == (5, 5)
        assert (acceptor.stores["FIX.4.4:ENGINE->alice"].next_target_seq,) == (5,)
        with pytest.raises(SessionError):
            initiator.fix.send(news("too late"))

    run(scenario)


def test_a_refused_logon_raises_with_the_acceptors_reason() -> None:
    async def scenario(acceptor: Acceptor) -> None:
        with pytest.raises(LogonError, match="wrong user name or password"):
            await started(acceptor, password="guess")
        assert acceptor.received == []

    run(scenario)


def test_an_unanswered_logon_gives_up_after_the_timeout() -> None:
    async def scenario(acceptor: Acceptor) -> None:
        acceptor.answer_logon = False
        initiator = Initiator(acceptor.port)
        with pytest.raises(LogonError, match="no Logon answer"):
            await initiator.fix.connect("127.0.0.1", acceptor.port, timeout_s=0.3)
        assert initiator.disconnects == []  # never logged on

    run(scenario)


def test_a_test_request_is_answered_and_ping_measures_a_round_trip() -> None:
    async def scenario(acceptor: Acceptor) -> None:
        initiator = await started(acceptor)
        round_trip = await initiator.fix.ping()
        assert round_trip > 0
        # The acceptor hears nothing for longer than the heartbeat interval: it sends a TestRequest, which the
        # initiator answers with a Heartbeat carrying its TestReqID.
        session = acceptor.session
        next_deadline = session.next_deadline
        assert next_deadline is not None
        session.on_timer(next_deadline + 40 * 1_000_000_000)
        await eventually(lambda: any(frame.msg_type == "0" and frame.get(112) == b"TEST1" for frame in acceptor.frames))
        assert session.state is SessionState.LOGGED_ON
        await initiator.fix.logout()

    run(scenario)


def test_heartbeats_keep_an_idle_session_alive() -> None:
    async def scenario(acceptor: Acceptor) -> None:
        initiator = await started(acceptor, heartbeat_s=1)
        await eventually(lambda: any(frame.msg_type == "0" and 112 not in frame for frame in acceptor.frames))
        assert initiator.fix.logged_on
        assert acceptor.session.state is SessionState.LOGGED_ON
        await initiator.fix.logout()

    run(scenario)


def test_messages_missed_while_disconnected_are_resent_on_the_next_logon() -> None:
    async def scenario(acceptor: Acceptor) -> None:
        initiator = await started(acceptor)
        await initiator.fix.logout()
        # While the initiator is away the acceptor's application keeps sending: kept for a resend.
        acceptor.session.send_app(news("while away 1"))
        acceptor.session.send_app(news("while away 2"))
        await initiator.connect()
        await eventually(lambda: len(initiator.messages) == 2)
        assert headlines(initiator.messages) == ["while away 1", "while away 2"]
        assert all(message.get(43) == b"Y" for message in initiator.messages)
        initiator.fix.send(news("echo after"))
        await eventually(lambda: len(initiator.messages) == 3)
        await initiator.fix.logout()

    run(scenario)


def test_the_initiator_resends_what_the_acceptor_lost() -> None:
    async def scenario(acceptor: Acceptor) -> None:
        initiator = await started(acceptor)
        initiator.fix.send(news("first"))
        initiator.fix.send(news("second"))
        await eventually(lambda: len(acceptor.received) == 2)
        await initiator.fix.logout()
        # The acceptor lost the last messages it had received (restored from an older backup, say).
        acceptor.stores["FIX.4.4:ENGINE->alice"].set_next_target_seq(2)
        acceptor.received.clear()
        await initiator.connect()
        await eventually(lambda: len(acceptor.received) == 2)
        assert headlines(acceptor.received) == ["first", "second"]
        assert all(message.get(43) == b"Y" for message in acceptor.received)
        # The admin messages in the range (the old Logout) came back as a gap fill.
        assert any(frame.msg_type == "4" and frame.get(123) == b"Y" for frame in acceptor.frames)
        await initiator.fix.logout()

    run(scenario)


def test_reset_on_logon_restarts_both_sequences() -> None:
    async def scenario(acceptor: Acceptor) -> None:
        initiator = await started(acceptor, reset_on_logon=True)
        initiator.fix.send(news("one"))
        await initiator.fix.logout()
        assert initiator.store.next_sender_seq == 4
        await initiator.connect()
        logon = acceptor.frames[-1]
        assert (logon.msg_type, logon.get(34), logon.get(141)) == ("A", b"1", b"Y")
        assert (initiator.store.next_sender_seq, initiator.store.next_target_seq) == (2, 2)
        await initiator.fix.logout()

    run(scenario)


def test_a_lost_connection_is_reported_once() -> None:
    async def scenario(acceptor: Acceptor) -> None:
        initiator = await started(acceptor)
        acceptor.session.connection_lost("pulled the plug")
        reason = await asyncio.wait_for(initiator.fix.wait_closed(), 5.0)
        assert reason == "connection lost: closed by the counterparty"
        assert initiator.disconnects == [reason]
        assert not initiator.fix.logged_on
        with pytest.raises(SessionError):
            await initiator.fix.ping()
        await initiator.fix.abort()

    run(scenario)


def certificate(directory: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and its key, made with openssl (the test is skipped without it)."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl is needed to make a test certificate")
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [
            openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
            "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
        ],
        check=True, capture_output=True, timeout=30,
    )  # fmt: skip
    return cert, key


def test_tls_with_the_servers_ca_file(tmp_path: Path) -> None:
    cert, key = certificate(tmp_path)
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(cert, key)

    async def scenario(acceptor: Acceptor) -> None:
        port = acceptor.port
        initiator = Initiator(port)
        await initiator.connect(ssl_context=client_ssl_context(str(cert)))
        initiator.fix.send(news("echo over TLS"))
        await eventually(lambda: len(initiator.messages) == 1)
        await initiator.fix.logout()
        # Without the CA file, the server's certificate is not trusted.
        stranger = Initiator(port)
        with pytest.raises(ssl.SSLError):
            await stranger.connect(ssl_context=client_ssl_context(None))

    run(scenario, Acceptor(ssl_context=server_context))
