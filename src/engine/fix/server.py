"""The engine's FIX 4.4 server: an acceptor on asyncio that runs one :class:`~engine.fix.session.Session` per
connection, with the engine behind it (:mod:`engine.fix.engine_app`).

A connection's bytes are held until its first message is complete: its CompIDs choose the session settings
(:class:`~engine.fix.sessions_config.SessionDirectory`) and its credentials are checked in a worker thread (the
password hash costs tens of milliseconds and must not stall the engine). Then the session is built and given
everything received so far.

Writes never block the event loop: each connection's transport buffers what the session sends. Above the
high-water mark the session's market data is conflated (see :class:`~engine.fix.engine_app.ClientBridge`); a
connection whose buffer passes the hard limit, or that stays above the high-water mark for too long, is logged
out with the reason and closed. Sequence numbers and sent messages persist in the engine's database
(:class:`~engine.fix.store.SqlSessionStore`), one store per session key for the life of the server.

The FIX session day follows the engine's trading day. Sent messages older than ``resend_retention_days`` are
deleted at start and at every roll, so the store does not grow without end; a resend of them is a GapFill.
Sessions declared with ``reset_at_roll`` are logged out at the roll, and their first Logon in a trading day
later than the one their sequence numbers began in starts both sequences again at 1.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import ssl
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from sqlalchemy import Engine as Database

from core.numbers import NANOS_PER_MILLI, NANOS_PER_SECOND, Nanos
from engine.config import DEFAULT_RESEND_RETENTION_DAYS, FixSessionSettings
from engine.fix.codec import FixParser
from engine.fix.engine_app import ClientBridge, EngineApp, server_dictionary
from engine.fix.message import FixMessage
from engine.fix.session import Session, SessionConfig, SessionState
from engine.fix.sessions_config import Grant, SessionDirectory, UsersSource, is_loopback
from engine.fix.store import SqlSessionStore, forget_sent_before, session_key
from engine.runtime import LiveRuntime

log = logging.getLogger(__name__)

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 9878


@dataclass(frozen=True, slots=True, kw_only=True)
class ServerLimits:
    """How much the server lets one connection take. Sizes in bytes, times as named."""

    high_water_bytes: int = 256 * 1024
    """Transport buffer above which the connection's market data is conflated."""
    low_water_bytes: int = 64 * 1024
    """Transport buffer below which conflated market data is sent again."""
    hard_limit_bytes: int = 8 * 1024 * 1024
    """Transport buffer above which the connection is logged out and closed."""
    max_behind_ms: int = 30_000
    """Longest time a connection may stay above the high-water mark before it is logged out."""
    socket_send_buffer: int | None = None
    """SO_SNDBUF of accepted sockets (None: the system's)."""
    max_message_bytes: int = 64 * 1024
    """Largest inbound message."""
    max_messages_per_second: int = 50_000
    """Inbound message rate limit of a session."""
    logon_timeout_s: int = 10
    """How long a connection may stay without a Logon."""
    logout_timeout_s: int = 10
    """How long a session waits for the counterparty's Logout."""
    shutdown_grace_ms: int = 3_000
    """How long :meth:`FixServer.stop` waits for the Logout answers before closing what is left."""
    tick_ms: int = 200
    """Period of the timer that drives heartbeats, timeouts and the slow-connection checks."""

    def __post_init__(self) -> None:
        if not 0 < self.low_water_bytes <= self.high_water_bytes < self.hard_limit_bytes:
            raise ValueError("expected 0 < low_water_bytes <= high_water_bytes < hard_limit_bytes")
        if min(self.max_behind_ms, self.tick_ms, self.shutdown_grace_ms) <= 0:
            raise ValueError("max_behind_ms, tick_ms and shutdown_grace_ms must be positive")

    def session_config(self) -> SessionConfig:
        """The session settings these limits give (CompIDs and per-session settings are set per Logon)."""
        return SessionConfig(
            sender_comp_id="ENGINE",
            max_message_bytes=self.max_message_bytes,
            max_messages_per_second=self.max_messages_per_second,
            logon_timeout_s=self.logon_timeout_s,
            logout_timeout_s=self.logout_timeout_s,
        )


def tls_context(cert: Path | str, key: Path | str, client_ca: Path | str | None = None) -> ssl.SSLContext:
    """A server TLS context (TLS 1.2 or later) with ``cert``/``key``; with ``client_ca``, clients must present a
    certificate signed by it."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(str(cert), str(key))
    if client_ca is not None:
        context.verify_mode = ssl.CERT_REQUIRED
        context.load_verify_locations(str(client_ca))
    return context


class FixServer:
    """A FIX 4.4 acceptor in front of ``runtime``'s engine (opened; started or not).

    ``users_path`` is the users file (read again when it changes), ``sessions`` the declared sessions (none:
    every user of the users file, see :mod:`engine.fix.sessions_config`), ``database`` where sequence numbers and
    sent messages are kept, ``resend_retention_days`` how long sent messages are kept for resends. Raises
    :class:`ValueError` for a session with ``auth = "none"`` on an address that is not loopback, and
    :class:`~engine.fix.users.UsersFileError` when the users file is needed but missing.
    """

    def __init__(
        self,
        runtime: LiveRuntime,
        *,
        database: Database,
        users_path: Path | None,
        sessions: Sequence[FixSessionSettings] = (),
        host: str = DEFAULT_HOST,
        port: int = DEFAULT_PORT,
        tls: ssl.SSLContext | None = None,
        limits: ServerLimits | None = None,
        resend_retention_days: int = DEFAULT_RESEND_RETENTION_DAYS,
    ) -> None:
        if resend_retention_days < 1:
            raise ValueError(f"resend_retention_days must be at least 1, got {resend_retention_days}")
        self.runtime = runtime
        self._retention_ns = resend_retention_days * 86_400 * NANOS_PER_SECOND
        self._daily = frozenset(session_key(s.sender_comp_id, s.target_comp_id) for s in sessions if s.reset_at_roll)
        """The keys of the sessions that start again at 1 every trading day."""
        self.limits = limits or ServerLimits()
        self.directory = SessionDirectory(
            sessions, UsersSource(users_path), loopback=is_loopback(host), base=self.limits.session_config()
        )
        self.dictionary = server_dictionary()
        self._database = database
        self._host = host
        self._port = port
        self._tls = tls
        self._stores: dict[str, SqlSessionStore] = {}
        self._live: dict[str, Session] = {}
        self._connections: set[_Connection] = set()
        self._server: asyncio.Server | None = None
        self._ticker: asyncio.TimerHandle | None = None
        self._app: EngineApp | None = None
        self.address: tuple[str, int] | None = None
        """Host and port listened on, once started (the real port when 0 was asked)."""

    @property
    def app(self) -> EngineApp:
        """The engine side, once started."""
        if self._app is None:
            raise RuntimeError("the FIX server is not started")
        return self._app

    @property
    def tls(self) -> bool:
        """Whether connections use TLS."""
        return self._tls is not None

    @property
    def sessions(self) -> tuple[Session, ...]:
        """The sessions logged on now."""
        return tuple(s for s in self._live.values() if s.state is SessionState.LOGGED_ON)

    async def start(self) -> tuple[str, int]:
        """Starts listening; returns the host and port (the real one when port 0 was asked)."""
        loop = asyncio.get_running_loop()
        self._forget_old_messages()
        self.runtime.engine.day_listeners.append(self._on_trading_day)
        self._app = EngineApp(self.runtime)
        self._server = await loop.create_server(
            lambda: _Connection(self), self._host, self._port, ssl=self._tls, reuse_address=True
        )
        bound = self._server.sockets[0].getsockname()
        self.address = (str(bound[0]), int(bound[1]))
        self._ticker = loop.call_later(self.limits.tick_ms / 1000, self._tick)
        log.info("FIX server listening on %s:%d%s", *self.address, " (TLS)" if self._tls else "")
        return self.address

    async def stop(self, reason: str = "server shutting down") -> None:
        """Stops accepting, logs every session out (waiting up to the shutdown grace for the answers), closes
        what is left and releases the stores."""
        if self._server is not None:
            self._server.close()
        for connection in list(self._connections):
            connection.logout(reason)
        deadline = time.monotonic() + self.limits.shutdown_grace_ms / 1000
        while self._connections and time.monotonic() < deadline:
            if all(connection.ended for connection in self._connections):
                break
            await asyncio.sleep(0.02)
        for connection in list(self._connections):
            connection.drop(reason)
        if self._ticker is not None:
            self._ticker.cancel()
            self._ticker = None
        with contextlib.suppress(ValueError):
            self.runtime.engine.day_listeners.remove(self._on_trading_day)
        if self._app is not None:
            self._app.close()
        for store in self._stores.values():
            store.close()
        self._stores.clear()
        if self._server is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._server.wait_closed(), timeout=1)
            self._server = None

    # --- what sessions use ------------------------------------------------------------------------------------

    def store_for(self, key: str) -> SqlSessionStore:
        """The store of a session key: one per key for the life of the server."""
        store = self._stores.get(key)
        if store is None:
            store = self._stores[key] = SqlSessionStore(self._database, key, group=self.runtime.commit_group)
        engine = self.runtime.engine
        if (
            key in self._daily
            and engine.calendar is not None
            and engine.trading_day is not None
            and engine.calendar.day_of(store.created_ns) < engine.trading_day
        ):
            log.info("FIX session %s: a new trading day, sequence numbers start again at 1", key)
            store.reset()
        return store

    def admit(self, session: Session) -> str | None:
        """Registers ``session`` as the live one of its key, or says why not (one is logged on already)."""
        key = session.key
        if key is None:
            return "no session key"
        current = self._live.get(key)
        if current is not None and current is not session and current.state is not SessionState.ENDED:
            return f"session {key} is already logged on"
        self._live[key] = session
        return None

    def release(self, session: Session) -> None:
        """Forgets ``session`` as the live one of its key."""
        key = session.key
        if key is not None and self._live.get(key) is session:
            del self._live[key]

    def _on_trading_day(self, day: date, _starts: object) -> None:
        """The trading day rolled: old sent messages are deleted and the daily sessions logged out (their next
        Logon starts at 1)."""
        self._forget_old_messages()
        for key in sorted(self._daily):
            session = self._live.get(key)
            if session is not None and session.state is SessionState.LOGGED_ON:
                session.logout(f"end of the FIX session day: trading day {day} begins, sequence numbers start at 1")

    def _forget_old_messages(self) -> None:
        group = self.runtime.commit_group
        if group is not None:
            group.sync()  # the messages still on their way to the database are older than what is deleted
        try:
            deleted = forget_sent_before(self._database, time.time_ns() - self._retention_ns)
        except Exception:  # a failed clean-up must not stop the server: it is tried again at every roll
            log.exception("the FIX messages older than the resend retention could not be deleted")
            return
        if deleted:
            log.info("deleted %d sent FIX messages older than the resend retention", deleted)

    def _add(self, connection: _Connection) -> None:
        self._connections.add(connection)

    def _remove(self, connection: _Connection) -> None:
        self._connections.discard(connection)

    def _tick(self) -> None:
        loop = asyncio.get_running_loop()
        self._ticker = loop.call_later(self.limits.tick_ms / 1000, self._tick)
        now = time.time_ns()
        for connection in list(self._connections):
            try:
                connection.on_timer(now)
            except Exception:
                log.exception("%r: timer failed", connection)
                connection.drop("internal error")


class _Connection(asyncio.Protocol):
    """One accepted connection: the pre-Logon buffering, then its session and bridge."""

    def __init__(self, server: FixServer) -> None:
        self.server = server
        self.transport: asyncio.Transport | None = None
        self.session: Session | None = None
        self.bridge: ClientBridge | None = None
        self._pending = bytearray()
        self._peek = FixParser(data_lengths=server.dictionary.data_lengths, max_body_length=1 << 30)
        self._authenticating = False
        self._connected_at = time.time_ns()
        self._behind_since: Nanos | None = None
        self._closing = False
        self._peer = "?"

    def __repr__(self) -> str:
        return f"_Connection({self._peer}, {self.session!r})"

    @property
    def ended(self) -> bool:
        """Whether the session is over (or never started)."""
        return self.session is None or self.session.state is SessionState.ENDED

    # --- asyncio.Protocol -------------------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        limits = self.server.limits
        transport.set_write_buffer_limits(high=limits.high_water_bytes, low=limits.low_water_bytes)
        sock = transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                if limits.socket_send_buffer is not None:
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, limits.socket_send_buffer)
        peer = transport.get_extra_info("peername")
        self._peer = f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) else str(peer)
        self.server._add(self)

    def data_received(self, data: bytes) -> None:
        session = self.session
        if session is not None:
            session.feed(data)
            return
        self._pending += data
        limits = self.server.limits
        if self._authenticating:
            if len(self._pending) > limits.hard_limit_bytes:
                self.drop("too much data while the Logon is checked")
            return
        messages = self._peek.feed(data)
        if self._peek.garbled_count:
            self.drop("garbled data before Logon")
        elif messages:
            self._begin(messages[0])
        elif len(self._pending) > limits.max_message_bytes:
            self.drop("message larger than the limit before Logon")

    def connection_lost(self, exc: Exception | None) -> None:
        self.server._remove(self)
        if self.session is not None:
            self.session.connection_lost(str(exc) if exc else "closed by the counterparty")

    def pause_writing(self) -> None:
        self._behind_since = time.time_ns()
        if self.bridge is not None:
            self.bridge.set_congested(True)

    def resume_writing(self) -> None:
        self._behind_since = None
        if self.bridge is not None:
            self.bridge.set_congested(False)

    # --- Logon ------------------------------------------------------------------------------------------------

    def _begin(self, first: FixMessage) -> None:
        """The first message is here: choose the session settings, then check the credentials off the loop."""
        client = first.get_str(49) if first.get(49) else ""
        engine = first.get_str(56) if first.get(56) else ""
        config = self.server.directory.config_for(client, engine)
        if first.msg_type != "A" or not client or not engine:
            self._start(config, Grant(None, "not a Logon"))
            return
        username = first.get(553)
        password = first.get(554)
        self._authenticating = True
        loop = asyncio.get_running_loop()
        future = loop.run_in_executor(
            None,
            self.server.directory.authenticate,
            client,
            engine,
            None if username is None else username.decode("latin-1"),
            None if password is None else password.decode("latin-1"),
        )
        future.add_done_callback(lambda done: self._authenticated(config, done))

    def _authenticated(self, config: SessionConfig, done: asyncio.Future[Grant]) -> None:
        self._authenticating = False
        if self.transport is None or self.transport.is_closing():
            return
        try:
            grant = done.result()
        except Exception as error:
            log.exception("%r: authentication failed", self)
            grant = Grant(None, f"authentication failed: {type(error).__name__}")
        self._start(config, grant)

    def _start(self, config: SessionConfig, grant: Grant) -> None:
        server = self.server
        permissions = grant.permissions
        problem = grant.problem or ("not authenticated" if permissions is None else None)
        if permissions is not None:
            self.bridge = server.app.bridge(permissions)
        application = self.bridge if self.bridge is not None else _Refused()
        self.session = Session(
            config,
            send=self._write,
            close=self._closed,
            store_for=server.store_for,
            application=application,
            authenticate=lambda username, password, sender, target: problem,
            admit=server.admit,
            dictionary=server.dictionary,
        )
        pending = bytes(self._pending)
        self._pending.clear()
        self.session.feed(pending)

    # --- output and ending ------------------------------------------------------------------------------------

    def _write(self, frame: bytes) -> None:
        transport = self.transport
        if transport is None or transport.is_closing():
            return
        transport.write(frame)
        if transport.get_write_buffer_size() > self.server.limits.hard_limit_bytes and not self._closing:
            self._closing = True
            size = transport.get_write_buffer_size()
            asyncio.get_running_loop().call_soon(self.evict, f"send buffer of {size} bytes above the limit")

    def evict(self, reason: str) -> None:
        """Logs the session out with ``reason`` and closes the connection without waiting for the answer."""
        session = self.session
        if session is None:
            self.drop(reason)
            return
        log.warning("%r: logged out: %s", self, reason)
        session.logout(reason)
        session.connection_lost(f"logged out: {reason}")

    def logout(self, reason: str) -> None:
        """Starts the Logout handshake (a connection not logged on yet is closed)."""
        if self.session is None:
            self.drop(reason)
        else:
            self.session.logout(reason)

    def drop(self, reason: str) -> None:
        """Ends the session as if the connection was lost and closes the connection at once."""
        if self.session is not None:
            self.session.connection_lost(reason)
        if self.transport is not None:
            self.transport.abort()

    def _closed(self, reason: str) -> None:
        """The session is over: forget it and close the connection (at once if nothing drains)."""
        session = self.session
        if session is not None:
            self.server.release(session)
        transport = self.transport
        if transport is None or transport.is_closing():
            return
        transport.close()
        grace = self.server.limits.shutdown_grace_ms / 1000
        asyncio.get_running_loop().call_later(grace, transport.abort)

    def on_timer(self, now: Nanos) -> None:
        """Drives the session's timers; ends a connection that never logs on or stays behind for too long."""
        session = self.session
        limits = self.server.limits
        if session is None:
            if now - self._connected_at > limits.logon_timeout_s * NANOS_PER_SECOND and not self._authenticating:
                self.drop(f"no Logon within {limits.logon_timeout_s} s")
            return
        session.on_timer()
        behind = self._behind_since
        if behind is not None and now - behind > limits.max_behind_ms * NANOS_PER_MILLI and not self._closing:
            self._closing = True
            self.evict(f"not reading: more than {limits.max_behind_ms} ms behind")


class _Refused:
    """The application of a session whose Logon is refused (it never receives anything)."""

    def on_logon(self, session: Session) -> None:
        raise RuntimeError("a refused session cannot log on")

    def on_logout(self, session: Session, reason: str, graceful: bool) -> None:
        """Nothing to do."""

    def on_app_message(self, session: Session, message: FixMessage) -> None:
        raise RuntimeError("a refused session receives no application message")
