"""SoupBinTCP 3.0: framing, packet types, and an asyncio client and server.

Every packet is ``[length: uint16 BE, counting what follows][type: 1 byte][payload]``. The server delivers a
stream of sequenced messages (``S``) per user, numbered from 1 for the session; a client logs in asking for the
next sequence number it needs and the server replays from there (it keeps the session's messages in memory), so
nothing is lost across reconnections. Client messages (``U``) are not sequenced. Each side sends a heartbeat after
``heartbeat_s`` of silence on its side and drops the peer after ``timeout_s`` of silence on the peer's side.

Packets: server to client ``A`` login accepted (session 10, sequence 20 ASCII numeric), ``J`` login rejected
(reason ``A`` not authorized / ``S`` session not available), ``S`` sequenced data, ``H`` server heartbeat, ``Z`` end
of session, ``+`` debug; client to server ``L`` login request (username 6, password 10, requested session 10,
requested sequence 20), ``U`` unsequenced data, ``R`` client heartbeat, ``O`` logout request.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import struct
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar, Final, Protocol

log = logging.getLogger(__name__)

# Packet types.
DEBUG: Final = ord("+")
LOGIN_ACCEPTED: Final = ord("A")
LOGIN_REJECTED: Final = ord("J")
SEQUENCED: Final = ord("S")
SERVER_HEARTBEAT: Final = ord("H")
END_OF_SESSION: Final = ord("Z")
LOGIN_REQUEST: Final = ord("L")
UNSEQUENCED: Final = ord("U")
CLIENT_HEARTBEAT: Final = ord("R")
LOGOUT_REQUEST: Final = ord("O")

SERVER_TYPES: Final = frozenset({DEBUG, LOGIN_ACCEPTED, LOGIN_REJECTED, SEQUENCED, SERVER_HEARTBEAT, END_OF_SESSION})
CLIENT_TYPES: Final = frozenset({DEBUG, LOGIN_REQUEST, UNSEQUENCED, CLIENT_HEARTBEAT, LOGOUT_REQUEST})

REJECT_NOT_AUTHORIZED: Final = "A"
REJECT_SESSION_UNAVAILABLE: Final = "S"

MAX_PACKET: Final = 0xFFFF
_LENGTH = struct.Struct(">H")
_READ_CHUNK = 65_536


class SoupBinError(ValueError):
    """A packet that breaks SoupBinTCP: a bad length, an unknown type, a malformed login, a wrong order."""


class LoginRejected(ConnectionError):
    """The server refused the login; ``reason`` is ``A`` (not authorized) or ``S`` (session not available)."""

    def __init__(self, reason: str) -> None:
        meaning = {"A": "not authorized", "S": "session not available"}.get(reason, "unknown reason")
        super().__init__(f"login rejected: {reason!r} ({meaning})")
        self.reason = reason


def packet(kind: int, payload: bytes = b"") -> bytes:
    """One framed packet of type ``kind`` (one of the constants above)."""
    if len(payload) + 1 > MAX_PACKET:
        raise SoupBinError(f"payload of {len(payload)} bytes does not fit a SoupBinTCP packet")
    return _LENGTH.pack(len(payload) + 1) + bytes((kind,)) + payload


def _alpha(text: str, size: int, name: str) -> bytes:
    raw = text.encode("ascii")
    if len(raw) > size:
        raise SoupBinError(f"{name} {text!r} is longer than {size} characters")
    return raw.ljust(size, b" ")


def _session(name: str) -> bytes:
    """A session id: alpha 10, left padded with spaces (all blanks: the current session)."""
    return _alpha(name, 10, "session").strip().rjust(10)


def _numeric(value: int, size: int, name: str) -> bytes:
    if value < 0 or len(str(value)) > size:
        raise SoupBinError(f"{name} {value} does not fit {size} digits")
    return str(value).rjust(size).encode("ascii")


def _parse_numeric(raw: bytes, name: str) -> int:
    text = raw.decode("ascii", "replace").strip()
    if not text:
        return 0
    if not text.isdigit():
        raise SoupBinError(f"{name} {raw!r} is not a decimal number")
    return int(text)


@dataclass(frozen=True, slots=True, kw_only=True)
class LoginRequest:
    """``L``: log in as ``username``; an empty ``session`` means the current one, ``sequence`` 0 the next new."""

    username: str
    password: str
    session: str = ""
    sequence: int = 1

    SIZE: ClassVar[int] = 46

    def encode(self) -> bytes:
        """The framed packet."""
        body = (
            _alpha(self.username, 6, "username")
            + _alpha(self.password, 10, "password")
            + _session(self.session)
            + _numeric(self.sequence, 20, "requested sequence number")
        )
        return packet(LOGIN_REQUEST, body)

    @classmethod
    def decode(cls, payload: bytes) -> LoginRequest:
        """The login request in a packet's payload; raises :class:`SoupBinError` when malformed."""
        if len(payload) != cls.SIZE:
            raise SoupBinError(f"login request payload is {len(payload)} bytes, expected {cls.SIZE}")
        try:
            text = payload[:26].decode("ascii")
        except UnicodeDecodeError:
            raise SoupBinError("login request credentials are not ASCII") from None
        return cls(
            username=text[:6].strip(),
            password=text[6:16].strip(),
            session=text[16:26].strip(),
            sequence=_parse_numeric(payload[26:46], "requested sequence number"),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class LoginAccepted:
    """``A``: logged in to ``session``; the next sequenced message will be number ``sequence``."""

    session: str
    sequence: int

    SIZE: ClassVar[int] = 30

    def encode(self) -> bytes:
        """The framed packet."""
        return packet(LOGIN_ACCEPTED, _session(self.session) + _numeric(self.sequence, 20, "sequence"))

    @classmethod
    def decode(cls, payload: bytes) -> LoginAccepted:
        """The login acceptance in a packet's payload; raises :class:`SoupBinError` when malformed."""
        if len(payload) != cls.SIZE:
            raise SoupBinError(f"login accepted payload is {len(payload)} bytes, expected {cls.SIZE}")
        session = payload[:10].decode("ascii", "replace").strip()
        return cls(session=session, sequence=_parse_numeric(payload[10:30], "sequence number"))


class PacketReader:
    """Cuts a byte stream into packets, whatever the TCP reads' boundaries.

    ``allowed`` is the set of packet types the peer may send; anything else is a :class:`SoupBinError` giving
    the packet's byte offset in the stream. The packets before a bad one are returned first; the error is raised
    by the next call.
    """

    def __init__(self, allowed: frozenset[int]) -> None:
        self._allowed = allowed
        self._buffer = bytearray()
        self._offset = 0
        self._error: SoupBinError | None = None

    def feed(self, data: bytes) -> list[tuple[int, bytes]]:
        """The complete packets (type, payload) that ``data`` completes, in order."""
        if self._error is not None:
            raise self._error
        buffer = self._buffer
        buffer += data
        packets: list[tuple[int, bytes]] = []
        start = 0
        end = len(buffer)
        while end - start >= 2:
            (length,) = _LENGTH.unpack_from(buffer, start)
            if length == 0:
                self._error = SoupBinError(f"packet of length 0 (no type) at stream offset {self._offset + start}")
                break
            if end - start - 2 < length:
                break
            kind = buffer[start + 2]
            if kind not in self._allowed:
                shown = chr(kind) if 32 <= kind < 127 else f"0x{kind:02x}"
                self._error = SoupBinError(f"unexpected packet type {shown!r} at stream offset {self._offset + start}")
                break
            packets.append((kind, bytes(buffer[start + 3 : start + 2 + length])))
            start += 2 + length
        del buffer[:start]
        self._offset += start
        if self._error is not None and not packets:
            raise self._error
        return packets

    @property
    def failed(self) -> bool:
        """True when the stream holds a bad packet (the next :meth:`feed` raises)."""
        return self._error is not None

    @property
    def pending(self) -> int:
        """Bytes received that do not yet make a whole packet."""
        return len(self._buffer)


class _Link:
    """One TCP connection seen packet by packet, with the time of the last packet sent."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, allowed: frozenset[int]) -> None:
        self.reader = reader
        self.writer = writer
        self.packets = PacketReader(allowed)
        self.queue: deque[tuple[int, bytes]] = deque()
        self.loop = asyncio.get_running_loop()
        self.last_sent = self.loop.time()
        self.closed = False

    async def next(self, timeout_s: float) -> tuple[int, bytes] | None:
        """The next packet, or None at the end of the stream; TimeoutError after ``timeout_s`` of silence."""
        while not self.queue:
            if self.packets.failed:
                self.packets.feed(b"")
            data = await asyncio.wait_for(self.reader.read(_READ_CHUNK), timeout_s)
            if not data:
                return None
            self.queue.extend(self.packets.feed(data))
        return self.queue.popleft()

    def send(self, data: bytes) -> None:
        if self.closed:
            return
        self.writer.write(data)
        self.last_sent = self.loop.time()

    async def heartbeats(self, kind: int, interval_s: float) -> None:
        """Send a heartbeat packet whenever ``interval_s`` passed without sending anything."""
        beat = packet(kind)
        while not self.closed:
            wait = self.last_sent + interval_s - self.loop.time()
            if wait <= 0:
                self.send(beat)
                wait = interval_s
            await asyncio.sleep(wait)

    async def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self.writer.close()
        with contextlib.suppress(ConnectionError, OSError):
            await self.writer.wait_closed()


# --------------------------------------------------------------------------------------------------------------
# Client
# --------------------------------------------------------------------------------------------------------------


class SoupBinClient:
    """A SoupBinTCP client: logs in, receives the sequenced stream, sends unsequenced messages, heartbeats.

    ``on_message(sequence, payload)`` receives each sequenced message once, in order, across reconnections:
    :meth:`connect` asks for :attr:`next_sequence` (and the session of the first login) each time.
    ``on_closed(reason)`` is told when a logged-in connection ends for any reason but :meth:`close`.
    ``on_heartbeat()`` is told of each server heartbeat after login: the server had nothing more to send, so
    every message it held for this client (a replay after login included) has arrived.
    """

    def __init__(
        self,
        *,
        host: str,
        port: int,
        username: str,
        password: str,
        on_message: Callable[[int, bytes], None],
        on_closed: Callable[[str], None] | None = None,
        on_heartbeat: Callable[[], None] | None = None,
        heartbeat_s: float = 1.0,
        timeout_s: float = 15.0,
    ) -> None:
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.on_message = on_message
        self.on_closed = on_closed
        self.on_heartbeat = on_heartbeat
        self.heartbeat_s = heartbeat_s
        self.timeout_s = timeout_s
        self.session = ""
        self.next_sequence = 1
        self.last_debug = ""
        self._link: _Link | None = None
        self._tasks: list[asyncio.Task[None]] = []

    @property
    def connected(self) -> bool:
        """True while logged in."""
        return self._link is not None and not self._link.closed

    async def connect(self, *, sequence: int | None = None) -> LoginAccepted:
        """Connect and log in, asking for ``sequence`` (default :attr:`next_sequence`); raises
        :class:`LoginRejected`, :class:`SoupBinError`, ``OSError`` or ``TimeoutError`` on failure."""
        if self.connected:
            raise SoupBinError("already connected")
        reader, writer = await asyncio.wait_for(asyncio.open_connection(self.host, self.port), self.timeout_s)
        link = _Link(reader, writer, SERVER_TYPES)
        wanted = self.next_sequence if sequence is None else sequence
        try:
            link.send(LoginRequest(username=self.username, password=self.password, session=self.session,
                                   sequence=wanted).encode())  # fmt: skip
            answer = await link.next(self.timeout_s)
            while answer is not None and answer[0] in (SERVER_HEARTBEAT, DEBUG):
                answer = await link.next(self.timeout_s)
            if answer is None:
                raise SoupBinError("the server closed the connection during login")
            kind, payload = answer
            if kind == LOGIN_REJECTED:
                raise LoginRejected(payload[:1].decode("ascii", "replace"))
            if kind != LOGIN_ACCEPTED:
                raise SoupBinError(f"expected a login answer, got packet type {chr(kind)!r}")
            accepted = LoginAccepted.decode(payload)
        except BaseException:
            await link.close()
            raise
        self.session = accepted.session
        self.next_sequence = accepted.sequence
        self._link = link
        self._tasks = [
            asyncio.create_task(self._receive(link)),
            asyncio.create_task(link.heartbeats(CLIENT_HEARTBEAT, self.heartbeat_s)),
        ]
        return accepted

    def send(self, payload: bytes) -> None:
        """Send one unsequenced message; raises ConnectionError when not logged in."""
        link = self._link
        if link is None or link.closed:
            raise ConnectionError("not logged in")
        link.send(packet(UNSEQUENCED, payload))

    async def logout(self) -> None:
        """Send a logout request and close the connection."""
        link = self._link
        if link is not None and not link.closed:
            link.send(packet(LOGOUT_REQUEST))
        await self.close()

    async def close(self) -> None:
        """Close the connection without telling ``on_closed``."""
        link, self._link = self._link, None
        current = asyncio.current_task()
        for task in self._tasks:
            if task is not current:
                task.cancel()
        self._tasks = []
        if link is not None:
            await link.close()

    def _handle(self, kind: int, payload: bytes) -> bool:
        """Handle one packet from the server; False at the end of the session."""
        if kind == SEQUENCED:
            sequence = self.next_sequence
            self.next_sequence += 1
            self.on_message(sequence, payload)
        elif kind == END_OF_SESSION:
            return False
        elif kind == DEBUG:
            self.last_debug = payload.decode("ascii", "replace")
        elif kind == SERVER_HEARTBEAT:
            if self.on_heartbeat is not None:
                self.on_heartbeat()
        else:
            raise SoupBinError(f"unexpected packet type {chr(kind)!r} after login")
        return True

    async def _receive(self, link: _Link) -> None:
        reason = "connection closed by the server"
        try:
            while True:
                item = await link.next(self.timeout_s)
                if item is None:
                    break
                if not self._handle(*item):
                    reason = "end of session"
                    break
        except TimeoutError:
            reason = f"no data from the server for {self.timeout_s} s"
        except (SoupBinError, ConnectionError, OSError) as error:
            reason = str(error)
        if self.last_debug:
            reason += f" ({self.last_debug})"
        if self._link is link:
            await self.close()
            if self.on_closed is not None:
                self.on_closed(reason)


# --------------------------------------------------------------------------------------------------------------
# Server
# --------------------------------------------------------------------------------------------------------------


class ServerApplication(Protocol):
    """What a :class:`SoupBinServer` serves: authentication and the handling of client messages."""

    def authenticate(self, username: str, password: str) -> bool:
        """True when ``username`` may log in with ``password``."""
        ...

    def on_message(self, username: str, payload: bytes) -> None:
        """An unsequenced message from ``username``; raise ``ValueError`` on bad input to log the client out."""
        ...


@dataclass(slots=True)
class _Stream:
    """One user's sequenced messages of the session (message n at index n - 1) and its live connections."""

    messages: list[bytes]
    links: set[_Link]


class SoupBinServer:
    """A SoupBinTCP server of one session: each user has its own sequenced stream, kept for replay.

    A client that breaks the protocol, or whose message the application refuses (``ValueError``), is sent a
    debug packet with the reason and disconnected; other clients go on.
    """

    def __init__(
        self,
        application: ServerApplication,
        *,
        session: str = "1",
        heartbeat_s: float = 1.0,
        timeout_s: float = 15.0,
    ) -> None:
        if not 0 < len(session) <= 10 or not session.isascii():
            raise ValueError(f"session {session!r} must be 1 to 10 ASCII characters")
        self.application = application
        self.session = session
        self.heartbeat_s = heartbeat_s
        self.timeout_s = timeout_s
        self.logouts: list[tuple[str, str]] = []
        """(username, reason) of every ended connection, oldest first."""
        self._streams: dict[str, _Stream] = {}
        self._server: asyncio.Server | None = None
        self._links: set[_Link] = set()
        self._handlers: set[asyncio.Task[object]] = set()

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> int:
        """Listen on ``host:port`` (0: any free port); returns the port."""
        self._server = await asyncio.start_server(self._serve, host, port)
        return int(self._server.sockets[0].getsockname()[1])

    def send(self, username: str, payload: bytes) -> int:
        """Append a message to ``username``'s sequenced stream and deliver it to its live connections;
        returns its sequence number."""
        stream = self._stream(username)
        stream.messages.append(payload)
        framed = packet(SEQUENCED, payload)
        for link in stream.links:
            link.send(framed)
        return len(stream.messages)

    def sequence(self, username: str) -> int:
        """The number of the next sequenced message of ``username``."""
        return len(self._stream(username).messages) + 1

    def logged_in(self, username: str) -> int:
        """How many connections ``username`` has logged in."""
        return len(self._stream(username).links)

    async def disconnect(self, username: str) -> None:
        """Close every connection of ``username`` (its stream is kept: it may log in again and catch up)."""
        for link in list(self._stream(username).links):
            await link.close()

    async def end_session(self) -> None:
        """Send End of Session to every client and disconnect them."""
        for link in list(self._links):
            link.send(packet(END_OF_SESSION))
            await link.close()

    async def close(self) -> None:
        """Stop listening and disconnect every client."""
        if self._server is not None:
            self._server.close()
        for link in list(self._links):
            await link.close()
        if self._handlers:
            _, stuck = await asyncio.wait(set(self._handlers), timeout=self.timeout_s)
            for task in stuck:
                task.cancel()
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None

    def _stream(self, username: str) -> _Stream:
        stream = self._streams.get(username)
        if stream is None:
            stream = self._streams[username] = _Stream([], set())
        return stream

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        link = _Link(reader, writer, CLIENT_TYPES)
        self._links.add(link)
        handler = asyncio.current_task()
        if handler is not None:
            self._handlers.add(handler)
        username = ""
        reason = "connection closed by the client"
        beats: asyncio.Task[None] | None = None
        try:
            username = await self._login(link)
            if username:
                beats = asyncio.create_task(link.heartbeats(SERVER_HEARTBEAT, self.heartbeat_s))
                reason = await self._session(link, username)
            else:
                reason = "login refused"
        except TimeoutError:
            reason = f"no data from the client for {self.timeout_s} s"
        except (SoupBinError, ValueError) as error:
            reason = f"bad input: {error}"
            link.send(packet(DEBUG, reason.encode("ascii", "replace")[: MAX_PACKET - 1]))
            log.warning("SoupBinTCP client %s logged out: %s", username or "(not logged in)", reason)
        except (ConnectionError, OSError) as error:
            reason = f"connection lost: {error}"
        except Exception as error:  # one client's failure never stops the server
            reason = f"internal error: {type(error).__name__}: {error}"
            log.exception("SoupBinTCP client %s dropped", username)
        finally:
            if beats is not None:
                beats.cancel()
            if username:
                self._stream(username).links.discard(link)
                self.logouts.append((username, reason))
            self._links.discard(link)
            await link.close()
            if handler is not None:
                self._handlers.discard(handler)

    async def _login(self, link: _Link) -> str:
        """Answer the login request; the user name when accepted, "" when rejected."""
        item = await link.next(self.timeout_s)
        if item is None:
            return ""
        kind, payload = item
        if kind != LOGIN_REQUEST:
            raise SoupBinError(f"expected a login request, got packet type {chr(kind)!r}")
        request = LoginRequest.decode(payload)
        if not self.application.authenticate(request.username, request.password):
            link.send(packet(LOGIN_REJECTED, REJECT_NOT_AUTHORIZED.encode()))
            return ""
        if request.session and request.session != self.session:
            link.send(packet(LOGIN_REJECTED, REJECT_SESSION_UNAVAILABLE.encode()))
            return ""
        stream = self._stream(request.username)
        first = len(stream.messages) + 1 if request.sequence == 0 else min(request.sequence, len(stream.messages) + 1)
        link.send(LoginAccepted(session=self.session, sequence=first).encode())
        for message in stream.messages[first - 1 :]:
            link.send(packet(SEQUENCED, message))
        stream.links.add(link)
        return request.username

    async def _session(self, link: _Link, username: str) -> str:
        """Serve a logged-in client until it logs out or the connection ends; returns why it ended."""
        while True:
            item = await link.next(self.timeout_s)
            if item is None:
                return "connection closed by the client"
            kind, payload = item
            if kind == UNSEQUENCED:
                self.application.on_message(username, payload)
            elif kind == LOGOUT_REQUEST:
                return "logout requested"
            elif kind == LOGIN_REQUEST:
                raise SoupBinError("login request on a logged-in connection")
            # Client heartbeats and debug packets only show that the client is alive.
