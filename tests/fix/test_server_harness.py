"""What the FIX server tests share: a users file, a server on the test's event loop, and a raw FIX client.

The client writes byte-exact frames and validates every message it receives against the server's dictionary,
so a test also checks that the server only sends what a FIX engine using that dictionary accepts.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import time
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from core.book import L2Book
from core.events import BookUpdate
from engine.clock import AsyncioScheduler
from engine.config import AccountConfig, EngineConfig, FixSessionSettings
from engine.fix.codec import FixParser, encode
from engine.fix.engine_app import server_dictionary
from engine.fix.message import Field, FixMessage, format_utc_timestamp
from engine.fix.server import FixServer, ServerLimits
from engine.fix.users import add_user
from engine.plugins import PluginRegistry
from engine.runtime import LiveRuntime
from engine.storage.db import open_database

T = TypeVar("T")
PASSWORD = "s3cret-pass"
WAIT_S = 5.0


def run(coroutine: Coroutine[Any, Any, T], timeout: float = 60) -> T:
    """Runs a test scenario on a fresh event loop, bounded by ``timeout`` seconds."""
    return asyncio.run(asyncio.wait_for(coroutine, timeout))


def make_users(path: Path, users: dict[str, dict[str, Any]]) -> Path:
    """A users file with ``users`` (name -> add_user options), all with :data:`PASSWORD`."""
    for name, options in users.items():
        add_user(path, name, PASSWORD, **options)
    return path


def open_config(*, accounts: Sequence[str] = ("main",), risk: dict[str, Any] | None = None) -> EngineConfig:
    """The default instruments with ``accounts``; ``risk`` None keeps the default limits, {} has none."""
    if risk is None:
        return EngineConfig(accounts=tuple(AccountConfig(name=name) for name in accounts))
    return EngineConfig(accounts=tuple(AccountConfig(name=name, risk=risk) for name in accounts))


@dataclass
class Running:
    """A started runtime and FIX server on this loop."""

    runtime: LiveRuntime
    server: FixServer
    host: str
    port: int


@contextlib.asynccontextmanager
async def serving(
    registry: PluginRegistry,
    tmp_path: Path,
    users: Path | None,
    *,
    config: EngineConfig | None = None,
    sessions: Sequence[FixSessionSettings] = (),
    limits: ServerLimits | None = None,
    tls: ssl.SSLContext | None = None,
    symbols: Sequence[str] | None = None,
) -> AsyncIterator[Running]:
    """A runtime on the simulated exchange and its FIX server on 127.0.0.1, port 0; both stopped afterwards."""
    url = f"sqlite:///{tmp_path / 'engine.db'}"
    runtime = LiveRuntime(
        config or open_config(), registry, AsyncioScheduler(), db_url=url, seed=5, symbols=symbols,
        commit_loop=asyncio.get_running_loop(),
    )  # fmt: skip
    runtime.open()
    server = FixServer(
        runtime, database=open_database(url), users_path=users, sessions=sessions, host="127.0.0.1", port=0,
        tls=tls, limits=limits or ServerLimits(shutdown_grace_ms=300),
        resend_retention_days=runtime.config.fix.resend_retention_days,
    )  # fmt: skip
    runtime.start()
    host, port = await server.start()
    try:
        yield Running(runtime, server, host, port)
    finally:
        await server.stop()
        runtime.stop()


def fields(text: str) -> list[Field]:
    """``"35=0|34=2"`` as fields."""
    if not text:
        return []
    return [(int(tag), value.encode()) for tag, _, value in (part.partition("=") for part in text.split("|"))]


def now_stamp() -> str:
    return format_utc_timestamp(time.time_ns()).decode()


class FixClient:
    """A raw FIX 4.4 initiator over a real socket: frames are written as given, replies parsed and validated."""

    def __init__(self, sender: str, target: str = "ENGINE") -> None:
        self.sender = sender
        self.target = target
        self.seq = 1
        self.received: list[FixMessage] = []
        self.invalid: list[tuple[FixMessage, str]] = []
        self._parser = FixParser(data_lengths=server_dictionary().data_lengths)
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._read = 0
        self.closed = False

    async def connect(self, host: str, port: int, *, tls: ssl.SSLContext | None = None, rcvbuf: int = 0) -> None:
        """Opens the connection (``rcvbuf``: a small receive buffer, for a client that falls behind)."""
        if rcvbuf:
            import socket

            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
            sock.setblocking(False)
            await asyncio.get_running_loop().sock_connect(sock, (host, port))
            self._reader, self._writer = await asyncio.open_connection(sock=sock)
        else:
            self._reader, self._writer = await asyncio.open_connection(
                host, port, ssl=tls, server_hostname="localhost" if tls else None
            )

    def frame(self, msg_type: str, body: str = "", *, seq: int | None = None, header: str = "") -> bytes:
        """A frame from this client; takes the next sequence number unless ``seq`` is given."""
        if seq is None:
            seq = self.seq
            self.seq += 1
        text = f"35={msg_type}|49={self.sender}|56={self.target}|34={seq}|52={now_stamp()}"
        text += f"|{header}" if header else ""
        text += f"|{body}" if body else ""
        return encode(fields(text))

    async def send(self, msg_type: str, body: str = "", **kwargs: Any) -> None:
        await self.write(self.frame(msg_type, body, **kwargs))

    async def write(self, data: bytes) -> None:
        assert self._writer is not None
        self._writer.write(data)
        await self._writer.drain()

    async def logon(self, password: str | None = PASSWORD, *, user: str | None = None, extra: str = "") -> FixMessage:
        """Sends a Logon and returns the answer (a Logon, or the Logout refusing it)."""
        body = "98=0|108=30"
        if user is not None or password is not None:
            body += f"|553={user or self.sender}"
        if password is not None:
            body += f"|554={password}"
        await self.send("A", body + (f"|{extra}" if extra else ""))
        return await self.expect(lambda m: m.msg_type in ("A", "5"))

    async def pump(self, within: float) -> bool:
        """Reads what arrives within ``within`` seconds; False when the connection is closed."""
        assert self._reader is not None
        try:
            data = await asyncio.wait_for(self._reader.read(1 << 16), within)
        except TimeoutError:
            return True
        except (ConnectionError, OSError):
            data = b""
        if not data:
            self.closed = True
            return False
        for message in self._parser.feed(data):
            problem = server_dictionary().validate(message)
            if problem is not None:
                self.invalid.append((message, problem.text))
            self.received.append(message)
        return True

    async def expect(self, predicate: Callable[[FixMessage], bool], within: float = WAIT_S) -> FixMessage:
        """The first message not looked at before that matches; raises TimeoutError after ``within`` s."""
        deadline = time.monotonic() + within
        while True:
            while self._read < len(self.received):
                message = self.received[self._read]
                self._read += 1
                if predicate(message):
                    return message
            left = deadline - time.monotonic()
            if left <= 0 or self.closed:
                raise TimeoutError(f"{self.sender}: nothing matching within {within} s; got {self.received[-5:]}")
            await self.pump(min(left, 0.5))

    async def collect(self, done: Callable[[list[FixMessage]], bool], within: float = WAIT_S) -> list[FixMessage]:
        """Reads until ``done(received)`` holds; raises TimeoutError after ``within`` s."""
        deadline = time.monotonic() + within
        while not done(self.received):
            left = deadline - time.monotonic()
            if left <= 0 or self.closed:
                raise TimeoutError(f"{self.sender}: condition not met within {within} s")
            await self.pump(min(left, 0.5))
        return self.received

    async def quiet(self, seconds: float) -> None:
        """Reads whatever arrives for ``seconds``."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and not self.closed:
            await self.pump(deadline - time.monotonic())

    async def wait_closed(self, within: float = WAIT_S) -> bool:
        deadline = time.monotonic() + within
        while not self.closed and time.monotonic() < deadline:
            await self.pump(min(0.5, deadline - time.monotonic()))
        return self.closed

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._writer.wait_closed(), 2)

    def messages(self, msg_type: str) -> list[FixMessage]:
        return [message for message in self.received if message.msg_type == msg_type]


def order(cl_ord_id: str, *, side: str = "1", qty: int = 10, price: str | None = None, symbol: str = "AAPL",
          account: str | None = None, tif: str = "0") -> str:  # fmt: skip
    """A NewOrderSingle body: limit when ``price`` is given, else market."""
    text = f"11={cl_ord_id}" + (f"|1={account}" if account else "") + f"|55={symbol}|54={side}|60={now_stamp()}"
    text += f"|38={qty}|40={'2' if price else '1'}" + (f"|44={price}" if price else "") + f"|59={tif}"
    return text


def price_text(ticks: int, scale: int = 4) -> str:
    whole, frac = divmod(ticks, 10**scale)
    return f"{whole}.{frac:0{scale}d}"


def levels(book: BookUpdate, depth: int = 1_000) -> tuple[tuple[tuple[int, int], ...], tuple[tuple[int, int], ...]]:
    """The (price, quantity) levels of a full-book update, best first per side."""
    import numpy as np

    l2 = L2Book()
    l2.apply_deltas(np.asarray(book.deltas))
    return l2.depth(depth).price_levels()
