"""The simulated exchange's books published as an ITCH 5.0 feed over MoldUDP64, while the exchange runs.

Each instrument gets a stock locate (1, 2, ... in the exchange's instrument order) announced by a Stock Directory
message after a System Event "O" (start of messages). Every event of its matching book, background traders' and
engine orders alike, goes out as it is processed (:class:`engine.itch.publisher.ItchTranslator`), so a receiver
that applies the feed holds the exchange's book. At stop a System Event "C" (end of messages) and the MoldUDP64
end-of-session mark close the session.
"""

from __future__ import annotations

import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from core.clock import Scheduler
from core.contracts import SettingError
from core.instruments import Instrument
from core.numbers import NANOS_PER_SECOND, Nanos
from core.settings import SettingsReader
from engine.itch.messages import SystemEvent
from engine.itch.moldudp64 import SESSION_SIZE
from engine.itch.publisher import NANOS_PER_DAY, ItchTranslator
from engine.itch.udp import MAX_MESSAGES_PER_PACKET, MoldUdpSender, check_address

ITCH_PRICE_SCALE = 4
"""ITCH 5.0 prices have 4 implied decimals: only instruments on that scale can be published as they are."""
ITCH_STOCK_SIZE = 8
_SESSION_CHARS = frozenset(string.ascii_letters + string.digits)
_KEYS = ("host", "port", "session", "max_messages_per_packet", "heartbeat_ns", "allow_remote")


@dataclass(frozen=True, slots=True, kw_only=True)
class ItchFeedSettings:
    """Where and how the exchange publishes its ITCH feed.

    ``session`` None names the MoldUDP64 session after the exchange's start time (epoch seconds, 10 digits), so
    two runs never reuse a session name; ``max_messages_per_packet`` None packs as many as fit in a datagram of
    1400 bytes; ``heartbeat_ns`` 0 sends no heartbeats. A non-loopback ``host`` (a multicast group) needs
    ``allow_remote``.
    """

    host: str
    port: int
    session: str | None = None
    max_messages_per_packet: int | None = None
    heartbeat_ns: Nanos = NANOS_PER_SECOND
    allow_remote: bool = False

    def __post_init__(self) -> None:
        check_address(self.host, allow_remote=self.allow_remote)
        if not 0 < self.port <= 0xFFFF:
            raise ValueError(f"port must be within 1..65535, got {self.port}")
        if self.session is not None and not session_name_ok(self.session):
            raise ValueError(f"session must be 1 to {SESSION_SIZE} ASCII letters or digits, got {self.session!r}")
        count = self.max_messages_per_packet
        if count is not None and not 0 < count <= MAX_MESSAGES_PER_PACKET:
            raise ValueError(f"max_messages_per_packet must be within 1..{MAX_MESSAGES_PER_PACKET}, got {count}")
        if self.heartbeat_ns < 0:
            raise ValueError(f"heartbeat_ns must not be negative, got {self.heartbeat_ns}")

    @classmethod
    def from_mapping(cls, settings: Mapping[str, Any], path: str = "itch") -> ItchFeedSettings:
        """The settings of the exchange's ``itch`` table (keys as the fields); :class:`SettingError` names a bad
        one under ``path``."""
        read = SettingsReader(settings, _KEYS, owner="the ITCH feed", path=path)
        try:
            return cls(
                host=read.text("host", what="an IP address"),
                port=read.integer("port", minimum=1, maximum=0xFFFF, what="a UDP port"),
                session=read.text("session", None, what="a MoldUDP64 session name"),
                max_messages_per_packet=read.integer(
                    "max_messages_per_packet", None, minimum=1, maximum=MAX_MESSAGES_PER_PACKET
                ),
                heartbeat_ns=read.integer("heartbeat_ns", NANOS_PER_SECOND, minimum=0),
                allow_remote=read.boolean("allow_remote", False),
            )
        except ValueError as error:
            if isinstance(error, SettingError):
                raise
            raise SettingError(path, str(error)) from None


def session_name_ok(session: str) -> bool:
    """True for a name a MoldUDP64 session may carry here: 1 to 10 ASCII letters or digits."""
    return 0 < len(session) <= SESSION_SIZE and set(session) <= _SESSION_CHARS


def check_publishable(instrument: Instrument) -> str | None:
    """Why ``instrument`` cannot be published on an ITCH 5.0 feed as it is, or None."""
    if instrument.price_scale != ITCH_PRICE_SCALE:
        return f"ITCH 5.0 prices have 4 decimals; {instrument.symbol}'s price scale is {instrument.price_scale}"
    if len(instrument.symbol) > ITCH_STOCK_SIZE or not instrument.symbol.isascii():
        return f"an ITCH stock symbol is at most 8 ASCII characters, not {instrument.symbol!r}"
    return None


class ItchFeed:
    """The ITCH feed of a set of books, one stock locate each (see the module docstring)."""

    def __init__(self, settings: ItchFeedSettings, instruments: Sequence[Instrument]) -> None:
        problems = [problem for problem in map(check_publishable, instruments) if problem is not None]
        if problems:
            raise ValueError("; ".join(problems))
        self.settings = settings
        self._translators = {
            instrument.symbol: ItchTranslator(locate=locate, stock=instrument.symbol)
            for locate, instrument in enumerate(instruments, start=1)
        }
        self.sender: MoldUdpSender | None = None

    def start(self, scheduler: Scheduler) -> None:
        """Open the session and announce the instruments."""
        now = scheduler.now_ns()
        settings = self.settings
        sender = MoldUdpSender(
            session=settings.session or str(now // NANOS_PER_SECOND)[-SESSION_SIZE:],
            host=settings.host,
            port=settings.port,
            heartbeat_ns=settings.heartbeat_ns,
            max_messages=settings.max_messages_per_packet or MAX_MESSAGES_PER_PACKET,
            allow_remote=settings.allow_remote,
        )
        sender.open(scheduler)
        self.sender = sender
        directory = [translator.directory(now) for translator in self._translators.values()]
        sender.send([_system_event("O", now), *directory])

    def publish(self, symbol: str, rows: npt.NDArray[np.int64]) -> None:
        """Send the ITCH messages of ``rows``, the book events of ``symbol`` just processed (in order)."""
        if self.sender is not None:
            self.sender.send(self._translators[symbol].translate(rows))

    def stop(self, now: Nanos) -> None:
        """Send the end of messages and the end of the session, and close the socket."""
        sender, self.sender = self.sender, None
        if sender is not None:
            sender.send([_system_event("C", now)])
            sender.close()


def _system_event(code: str, ts_ns: Nanos) -> SystemEvent:
    return SystemEvent(stock_locate=0, tracking_number=0, timestamp=ts_ns % NANOS_PER_DAY, event_code=code)
