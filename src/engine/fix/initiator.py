"""The FIX 4.4 session layer, initiator side, and the asyncio connection that carries it.

:class:`InitiatorSession` is the protocol state of the side that connects: it sends the Logon (Username and
Password, HeartBtInt, ResetSeqNumFlag when configured) and checks the acceptor's answer; from the Logon exchange on
it is an acceptor :class:`~engine.fix.session.Session` (heartbeats, test requests, resend requests and gap fills,
rejects, the logout handshake), with the sequence numbers in a :class:`~engine.fix.store.SessionStore`.

:class:`FixInitiator` runs one such session over TCP (optionally TLS) on the running asyncio loop: it connects,
logs on, feeds the session what it reads, drives its timers, and hands every application message to a callback.
One :class:`FixInitiator` serves one connection after another (a reconnect is a new :meth:`FixInitiator.connect`);
the store keeps the sequence numbers between them.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from core.numbers import NANOS_PER_SECOND, Nanos
from engine.fix.dictionary import FixDictionary
from engine.fix.message import Field, FixMessage
from engine.fix.session import Application, Session, SessionConfig, SessionError, SessionState
from engine.fix.store import SessionStore

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True, kw_only=True)
class InitiatorConfig(SessionConfig):
    """A :class:`SessionConfig` for the side that connects: the counterparty's CompID is required, and the Logon
    carries ``heartbeat_s`` (HeartBtInt, 108) and, when given, ``username`` (553) and ``password`` (554).

    ``reset_on_logon`` sends ResetSeqNumFlag (141=Y) with sequence number 1 on every Logon (both sides start
    again; what either side missed while disconnected is not resent).
    """

    heartbeat_s: int = 30
    """HeartBtInt (108) asked for in the Logon (0: no heartbeats)."""
    username: str | None = None
    """Username (553) of the Logon."""
    password: str | None = field(default=None, repr=False)
    """Password (554) of the Logon (never shown in a repr or a log)."""

    def __post_init__(self) -> None:
        super(InitiatorConfig, self).__post_init__()
        if not self.target_comp_id:
            raise ValueError("an initiator needs the counterparty's CompID (target_comp_id)")
        if self.heartbeat_s < 0:
            raise ValueError(f"heartbeat_s must not be negative, got {self.heartbeat_s}")


class InitiatorSession(Session):
    """One FIX 4.4 initiator session over one connection.

    Built like an acceptor :class:`Session` but with its one ``store`` (the session key is known from the
    configuration). The transport calls :meth:`start` once connected: it sends the Logon. The answer must be a
    Logon from the configured counterparty (a Logout is a refusal: the session ends with its Text as the reason);
    a Logon whose MsgSeqNum is above the expected one is accepted and followed by a ResendRequest, one below it
    logs out. ``on_heartbeat(test_req_id)`` hears every Heartbeat that answers a TestRequest (see
    :meth:`test_request`). The logon timeout (``logon_timeout_s``) counts from :meth:`start`.
    """

    def __init__(
        self,
        config: InitiatorConfig,
        *,
        send: Callable[[bytes], None],
        close: Callable[[str], None],
        store: SessionStore,
        application: Application,
        clock: Callable[[], Nanos] = time.time_ns,
        dictionary: FixDictionary | None = None,
        on_heartbeat: Callable[[bytes], None] | None = None,
    ) -> None:
        super().__init__(
            config,
            send=send,
            close=close,
            store_for=lambda _key: store,
            application=application,
            clock=clock,
            dictionary=dictionary,
        )
        self._initiator_config = config
        self._on_heartbeat = on_heartbeat
        self._username = config.username

    @property
    def initiator_config(self) -> InitiatorConfig:
        """The configuration the session was built with."""
        return self._initiator_config

    def start(self) -> None:
        """Sends the Logon (resetting both sequences first when ``reset_on_logon``); call once, when connected."""
        if self.state is not SessionState.AWAITING_LOGON or self.store is not None:
            raise SessionError(f"{self}: the Logon was already sent")
        config = self._initiator_config
        key = self.key
        assert key is not None  # the target CompID is configured
        store = self._store = self._store_for(key)
        if config.reset_on_logon:
            store.reset()
        self._connected_at = self._clock()
        body: list[Field] = [(98, b"0"), (108, b"%d" % config.heartbeat_s)]
        if config.reset_on_logon:
            body.append((141, b"Y"))
        if config.username:
            body.append((553, config.username.encode("utf-8")))
        if config.password:
            body.append((554, config.password.encode("utf-8")))
        self._transmit(b"A", body)

    def test_request(self, request_id: bytes) -> None:
        """Sends a TestRequest (35=1) with TestReqID ``request_id``; the Heartbeat answering it reaches
        ``on_heartbeat``. Raises :class:`SessionError` unless logged on."""
        if self.state is not SessionState.LOGGED_ON:
            raise SessionError(f"{self}: not logged on")
        self._transmit(b"1", [(112, request_id)])

    def __repr__(self) -> str:
        return f"InitiatorSession({self.sender_comp_id}->{self.target_comp_id}, {self.state.value})"

    # --- the acceptor's answer to our Logon ---------------------------------------------------------------------

    def _on_logon(self, message: FixMessage, now: Nanos) -> None:
        if self._store is None:
            self._end("the counterparty spoke before our Logon", graceful=False)
            return
        msg_type = message.msg_type
        if msg_type == "5":
            text = message.get(58)
            self._end("Logon refused" + (f": {text.decode('utf-8', 'replace')}" if text else ""), graceful=False)
            return
        if msg_type != "A":
            self._end(f"answer to the Logon is MsgType {msg_type!r}, not a Logon", graceful=False)
            return
        if message.get(8) != self._begin:
            self._end(f"Logon answer with BeginString {message.get(8)!r}", graceful=False)
            return
        problem = self._logon_problem(message, now)
        if problem is not None:
            self._logout_now(f"invalid Logon answer: {problem}")
            return
        store = self._require_store()
        if message.get(141) == b"Y" and not self._initiator_config.reset_on_logon:
            # The acceptor restarted its sequence: its Logon is number 1 from now on.
            log.warning("%r: the counterparty reset its sequence numbers on Logon", self)
            store.set_next_target_seq(1)
        seq = message.get_int(34)
        expected = store.next_target_seq
        if seq < expected:
            self._logout_now(f"MsgSeqNum too low, expecting {expected} but received {seq}")
            return
        self._state = SessionState.LOGGED_ON
        self._heartbeat_ns = self._initiator_config.heartbeat_s * NANOS_PER_SECOND
        self._last_received = now
        self._logged_on(message, seq, expected)

    def _process(self, message: FixMessage, seq: int) -> None:
        super()._process(message, seq)
        if self._on_heartbeat is not None and message.msg_type == "0":
            request_id = message.get(112)
            if request_id:
                self._on_heartbeat(request_id)


def client_ssl_context(ca_file: str | None = None) -> ssl.SSLContext:
    """A TLS client context that checks the server's certificate and host name against ``ca_file`` (a PEM
    bundle), or against the system's trusted authorities when None."""
    return ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=ca_file)


class LogonError(ConnectionError):
    """The connection was made but the session did not log on (refused, timed out, or the link dropped)."""


MessageHandler = Callable[[FixMessage], None]
"""Receives each application message of the session, in sequence (on the loop's thread)."""
DisconnectHandler = Callable[[str], None]
"""Told why a logged-on session ended (graceful logout or lost connection)."""


class FixInitiator:
    """Connects an :class:`InitiatorSession` over TCP (TLS with ``ssl_context``) on the running asyncio loop.

    ``on_message`` receives every application message (an exception there logs the session out, so a handler
    should catch its own errors); ``on_disconnect(reason)`` is called once per logged-on connection when it ends.
    Heartbeats and test requests run on the loop; reads and writes are not thread-safe (use the loop's thread).
    """

    def __init__(
        self,
        config: InitiatorConfig,
        store: SessionStore,
        *,
        on_message: MessageHandler,
        on_disconnect: DisconnectHandler | None = None,
        dictionary: FixDictionary | None = None,
        clock: Callable[[], Nanos] = time.time_ns,
    ) -> None:
        self.config = config
        self.store = store
        self._on_message = on_message
        self._on_disconnect = on_disconnect
        self._dictionary = dictionary
        self._clock = clock
        self._session: InitiatorSession | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._timer: asyncio.TimerHandle | None = None
        self._logon: asyncio.Future[None] | None = None
        self._closed: asyncio.Future[str] | None = None
        self._pings: dict[bytes, asyncio.Future[None]] = {}
        self._ping_ids = itertools.count(1)
        self.last_reason = ""
        """Why the last connection ended (or could not log on)."""

    @property
    def session(self) -> InitiatorSession | None:
        """The session of the current (or last) connection."""
        return self._session

    @property
    def logged_on(self) -> bool:
        """True while the session is logged on."""
        return self._session is not None and self._session.state is SessionState.LOGGED_ON

    async def connect(
        self,
        host: str,
        port: int,
        *,
        ssl_context: ssl.SSLContext | None = None,
        timeout_s: float = 10.0,
    ) -> None:
        """Connects and logs on; returns once the acceptor's Logon arrived.

        Raises :class:`LogonError` when the Logon is refused or not answered, ``OSError``/``TimeoutError`` when
        the connection cannot be made within ``timeout_s``.
        """
        if self._session is not None and self._session.state is not SessionState.ENDED:
            raise SessionError("already connected")
        loop = asyncio.get_running_loop()
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(host, port, ssl=ssl_context, server_hostname=host if ssl_context else None),
            timeout_s,
        )
        self._writer = writer
        self._logon = loop.create_future()
        self._closed = loop.create_future()
        session = self._session = InitiatorSession(
            self.config,
            send=self._write,
            close=self._ended,
            store=self.store,
            application=_Bridge(self),
            clock=self._clock,
            dictionary=self._dictionary,
            on_heartbeat=self._heard,
        )
        self._tasks = [loop.create_task(self._read(reader, session))]
        self._schedule_tick(loop, session)
        session.start()
        try:
            await asyncio.wait_for(asyncio.shield(self._logon), timeout_s)
        except TimeoutError:
            session.connection_lost(f"no Logon answer within {timeout_s} s")
            await self._finish_tasks()
            raise LogonError(self.last_reason) from None
        except LogonError:
            await self._finish_tasks()
            raise

    def send(self, message: FixMessage, *, resendable: bool = True) -> int:
        """Sends an application message; returns its MsgSeqNum. Raises :class:`SessionError` when not logged on
        (a message is never queued for a connection that does not exist yet)."""
        session = self._session
        if session is None or session.state is not SessionState.LOGGED_ON:
            raise SessionError("not logged on to the FIX counterparty")
        return session.send_app(message, resendable=resendable)

    async def ping(self, timeout_s: float = 5.0) -> Nanos:
        """One TestRequest/Heartbeat round trip, in nanoseconds; raises ``TimeoutError`` or :class:`SessionError`."""
        session = self._session
        if session is None or session.state is not SessionState.LOGGED_ON:
            raise SessionError("not logged on to the FIX counterparty")
        request_id = b"PING-%d" % next(self._ping_ids)
        answered: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pings[request_id] = answered
        started = time.perf_counter_ns()
        try:
            session.test_request(request_id)
            await asyncio.wait_for(answered, timeout_s)
        finally:
            self._pings.pop(request_id, None)
        return time.perf_counter_ns() - started

    async def logout(self, reason: str = "logout", timeout_s: float = 5.0) -> None:
        """Logs out with ``reason`` as the Logout's Text (waiting up to ``timeout_s`` for the acceptor's Logout)
        and closes the connection."""
        reason = reason or "logout"
        session = self._session
        if session is None:
            return
        if session.state is SessionState.LOGGED_ON:
            session.logout(reason)
        elif session.state is not SessionState.ENDED:
            session.connection_lost(reason or "closed")
        closed = self._closed
        if closed is not None and not closed.done():
            try:
                await asyncio.wait_for(asyncio.shield(closed), timeout_s)
            except TimeoutError:
                session.connection_lost("no Logout answer")
        await self._finish_tasks()

    async def abort(self, reason: str = "closed") -> None:
        """Drops the connection without a Logout (e.g. to test recovery)."""
        session = self._session
        if session is not None:
            session.connection_lost(reason)
        await self._finish_tasks()

    async def wait_closed(self) -> str:
        """Waits for the current connection to end; returns why."""
        if self._closed is None:
            return self.last_reason
        return await asyncio.shield(self._closed)

    # --- transport ---------------------------------------------------------------------------------------------

    def _write(self, data: bytes) -> None:
        writer = self._writer
        if writer is not None and not writer.is_closing():
            writer.write(data)

    async def _read(self, reader: asyncio.StreamReader, session: InitiatorSession) -> None:
        while session.state is not SessionState.ENDED:
            try:
                data = await reader.read(65_536)
            except (OSError, ssl.SSLError) as error:
                session.connection_lost(str(error) or type(error).__name__)
                return
            if not data:
                session.connection_lost("closed by the counterparty")
                return
            session.feed(data)

    def _schedule_tick(self, loop: asyncio.AbstractEventLoop, session: InitiatorSession) -> None:
        """Drives the session's timers: at its next deadline, and at least every second."""
        if session.state is SessionState.ENDED:
            self._timer = None
            return
        deadline = session.next_deadline
        delay = 1.0 if deadline is None else (deadline - self._clock()) / NANOS_PER_SECOND
        self._timer = loop.call_later(min(1.0, max(0.01, delay)), self._tick, loop, session)

    def _tick(self, loop: asyncio.AbstractEventLoop, session: InitiatorSession) -> None:
        session.on_timer()
        self._schedule_tick(loop, session)

    def _heard(self, request_id: bytes) -> None:
        answered = self._pings.get(request_id)
        if answered is not None and not answered.done():
            answered.set_result(None)

    def _ended(self, reason: str) -> None:
        """The session's ``close``: called once when it ends, for whatever reason."""
        self.last_reason = reason
        writer = self._writer
        if writer is not None:
            writer.close()
        for answered in self._pings.values():
            if not answered.done():
                answered.set_exception(SessionError(f"connection ended: {reason}"))
        logon = self._logon
        if logon is not None and not logon.done():
            logon.set_exception(LogonError(reason))
            logon.exception()  # retrieved here: connect() may already have given up on it
        closed = self._closed
        if closed is not None and not closed.done():
            closed.set_result(reason)

    def _logged_on(self) -> None:
        logon = self._logon
        if logon is not None and not logon.done():
            logon.set_result(None)

    def _logged_out(self, reason: str) -> None:
        if self._on_disconnect is not None:
            self._on_disconnect(reason)

    async def _finish_tasks(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        current = asyncio.current_task()
        tasks = [task for task in self._tasks if task is not current]
        for task in tasks:
            task.cancel()
        for task in tasks:
            try:
                await task
            except asyncio.CancelledError:
                pass
            except Exception:
                log.exception("the connection's reader failed")
        writer = self._writer
        if writer is not None:
            writer.close()
            with contextlib.suppress(OSError, ssl.SSLError, TimeoutError):
                await asyncio.wait_for(writer.wait_closed(), 2.0)


class _Bridge:
    """The session's :class:`Application`: logon, logout and messages go to the :class:`FixInitiator`."""

    __slots__ = ("_owner",)

    def __init__(self, owner: FixInitiator) -> None:
        self._owner = owner

    def on_logon(self, session: Session) -> None:
        self._owner._logged_on()

    def on_logout(self, session: Session, reason: str, graceful: bool) -> None:
        self._owner._logged_out(reason)

    def on_app_message(self, session: Session, message: FixMessage) -> None:
        self._owner._on_message(message)
