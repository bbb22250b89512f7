"""MoldUDP64: packets of sequenced ITCH messages over UDP, their sequencing, gaps and retransmission requests.

A packet is a 20-byte header, ``session`` (10 ASCII bytes), ``sequence`` (uint64, the sequence number of its first
message) and ``count`` (uint16), followed by ``count`` blocks of ``[length: uint16 BE][message]``. A count of 0 is
a heartbeat and 0xFFFF marks the end of the session; both carry the next sequence number the server will send.
A retransmission request sent to the re-request server is ``session + sequence + count`` (20 bytes).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import Final

from engine.itch.errors import ItchDecodeError

HEADER: Final = struct.Struct(">10sQH")
"""The 20-byte header of a packet, and the layout of a retransmission request."""
HEARTBEAT_COUNT: Final = 0
END_OF_SESSION_COUNT: Final = 0xFFFF
SESSION_SIZE: Final = 10


@dataclass(frozen=True, slots=True, kw_only=True)
class MoldPacket:
    """One MoldUDP64 packet: ``messages`` hold the raw ITCH messages, the first numbered ``sequence``."""

    session: str
    sequence: int
    count: int
    messages: tuple[bytes, ...] = ()

    @property
    def is_heartbeat(self) -> bool:
        """True for a heartbeat (no messages; ``sequence`` is the next one to come)."""
        return self.count == HEARTBEAT_COUNT

    @property
    def is_end_of_session(self) -> bool:
        """True for the end-of-session mark (``sequence`` is one past the last message)."""
        return self.count == END_OF_SESSION_COUNT

    @property
    def next_sequence(self) -> int:
        """The sequence number expected after this packet."""
        return self.sequence + len(self.messages)


@dataclass(frozen=True, slots=True, kw_only=True)
class RetransmitRequest:
    """A request for ``count`` messages from ``sequence`` on, of ``session``."""

    session: str
    sequence: int
    count: int

    def encode(self) -> bytes:
        """The 20 bytes sent to the re-request server."""
        return HEADER.pack(_session_bytes(self.session), self.sequence, self.count)

    @classmethod
    def decode(cls, data: bytes) -> RetransmitRequest:
        """Parse a 20-byte request."""
        if len(data) != HEADER.size:
            raise ItchDecodeError(f"retransmission request of {len(data)} bytes, expected 20", offset=0)
        session, sequence, count = HEADER.unpack(data)
        return cls(session=_session_str(session, 0), sequence=sequence, count=count)


def _session_bytes(session: str) -> bytes:
    raw = session.encode("ascii")
    if len(raw) > SESSION_SIZE:
        raise ValueError(f"session {session!r} is longer than {SESSION_SIZE} bytes")
    return raw.ljust(SESSION_SIZE, b" ")


def _session_str(raw: bytes, offset: int) -> str:
    try:
        return raw.rstrip(b" ").decode("ascii")
    except UnicodeDecodeError:
        raise ItchDecodeError("session is not ASCII", offset=offset) from None


def parse_packet(data: bytes | bytearray | memoryview) -> MoldPacket:
    """Parse one packet; ``ItchDecodeError`` names the byte offset of a truncated header or message block."""
    view = memoryview(data)
    if len(view) < HEADER.size:
        raise ItchDecodeError(f"truncated MoldUDP64 header: {len(view)} of {HEADER.size} bytes", offset=0)
    session_raw, sequence, count = HEADER.unpack_from(view)
    session = _session_str(session_raw, 0)
    if count in (HEARTBEAT_COUNT, END_OF_SESSION_COUNT):
        return MoldPacket(session=session, sequence=sequence, count=count)
    messages: list[bytes] = []
    pos = HEADER.size
    for _ in range(count):
        if len(view) - pos < 2:
            raise ItchDecodeError("truncated message block length", offset=pos)
        length = view[pos] << 8 | view[pos + 1]
        if len(view) - pos - 2 < length:
            raise ItchDecodeError(f"truncated message block of {length} bytes", offset=pos)
        messages.append(bytes(view[pos + 2 : pos + 2 + length]))
        pos += 2 + length
    if pos != len(view):
        raise ItchDecodeError(f"{len(view) - pos} bytes after the last of {count} message blocks", offset=pos)
    return MoldPacket(session=session, sequence=sequence, count=count, messages=tuple(messages))


def build_packet(session: str, sequence: int, messages: list[bytes] | tuple[bytes, ...]) -> bytes:
    """A packet carrying ``messages`` (raw ITCH messages), the first numbered ``sequence``."""
    if not messages:
        raise ValueError("a data packet carries at least one message (use build_heartbeat)")
    if len(messages) >= END_OF_SESSION_COUNT:
        raise ValueError(f"a packet carries at most {END_OF_SESSION_COUNT - 1} messages")
    parts = [HEADER.pack(_session_bytes(session), sequence, len(messages))]
    for message in messages:
        if len(message) > 0xFFFF:
            raise ValueError(f"a message block holds at most 65535 bytes, got {len(message)}")
        parts.append(len(message).to_bytes(2, "big"))
        parts.append(message)
    return b"".join(parts)


def build_heartbeat(session: str, next_sequence: int) -> bytes:
    """A heartbeat announcing ``next_sequence``."""
    return HEADER.pack(_session_bytes(session), next_sequence, HEARTBEAT_COUNT)


def build_end_of_session(session: str, next_sequence: int) -> bytes:
    """The end-of-session mark; ``next_sequence`` is one past the session's last message."""
    return HEADER.pack(_session_bytes(session), next_sequence, END_OF_SESSION_COUNT)


@dataclass(frozen=True, slots=True, kw_only=True)
class Gap:
    """Messages ``first`` to ``first + count - 1`` are missing."""

    first: int
    count: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Delivery:
    """What one packet brought: the messages now deliverable in sequence order, ``(sequence, message)``; the
    gap still open after it (if any) with the request that asks for it; whether the session has ended."""

    messages: tuple[tuple[int, bytes], ...]
    gap: Gap | None = None
    request: RetransmitRequest | None = None
    end_of_session: bool = False


@dataclass(slots=True)
class MoldSequencer:
    """Puts the packets of one session back in sequence.

    Messages before the next expected number are duplicates and ignored. With ``hold_gaps`` (live, where the
    missing messages can be requested), messages after a gap are held until the gap is filled, and every
    delivery reports the open gap and its retransmission request (a heartbeat announcing a higher number than
    expected opens a gap too). Without it (replaying a capture, where nothing can be requested), a gap is
    reported once, recorded in ``gaps_skipped`` and skipped. ``max_request`` caps the count of a request.
    The first packet fixes the session and, unless ``expected`` is given, the first expected number; a packet
    of another session raises ``ValueError``.
    """

    hold_gaps: bool = True
    max_request: int = 0xFFFE
    session: str | None = None
    expected: int | None = None
    ended: bool = False
    gaps_skipped: list[Gap] = field(default_factory=list)
    _held: dict[int, bytes] = field(default_factory=dict)
    _announced: int = 0
    _end_at: int | None = None

    def accept(self, packet: MoldPacket) -> Delivery:
        """Take one packet in and return what is now deliverable."""
        if self.session is None:
            self.session = packet.session
        elif packet.session != self.session:
            raise ValueError(f"packet of session {packet.session!r} on session {self.session!r}")
        if self.expected is None:
            self.expected = packet.sequence
        if packet.is_end_of_session:
            self._end_at = packet.sequence
        self._announced = max(self._announced, packet.next_sequence)
        if self.hold_gaps:
            out, gap = self._accept_holding(packet, self.expected)
        else:
            out, gap = self._accept_skipping(packet, self.expected)
        self.ended = self._end_at is not None and self.expected >= self._end_at
        request = None
        if gap is not None and self.hold_gaps:
            request = RetransmitRequest(
                session=self.session, sequence=gap.first, count=min(gap.count, self.max_request)
            )
        return Delivery(messages=tuple(out), gap=gap, request=request, end_of_session=self.ended)

    def _accept_holding(self, packet: MoldPacket, expected: int) -> tuple[list[tuple[int, bytes]], Gap | None]:
        held = self._held
        for number, message in enumerate(packet.messages, packet.sequence):
            if number >= expected:
                held.setdefault(number, message)
        out: list[tuple[int, bytes]] = []
        while expected in held:
            out.append((expected, held.pop(expected)))
            expected += 1
        self.expected = expected
        if expected >= self._announced:
            return out, None
        end = min(held) if held else self._announced
        return out, Gap(first=expected, count=end - expected)

    def _accept_skipping(self, packet: MoldPacket, expected: int) -> tuple[list[tuple[int, bytes]], Gap | None]:
        gap = None
        if packet.sequence > expected:
            gap = Gap(first=expected, count=packet.sequence - expected)
            self.gaps_skipped.append(gap)
            expected = packet.sequence
        out = [
            (number, message) for number, message in enumerate(packet.messages, packet.sequence) if number >= expected
        ]
        self.expected = max(expected, packet.next_sequence)
        return out, gap
