"""Streams for the firmware testbenches, built with the engine's own ITCH encoder and MoldUDP64 packet builder.

Everything here is the golden side: messages come from :func:`engine.itch.encode.encode_message`, packets from
:mod:`engine.itch.moldudp64`, and what a block must output is what :func:`engine.itch.decode.decode_message` and
:class:`engine.itch.moldudp64.MoldSequencer` make of the same bytes.
"""

from __future__ import annotations

import random
import string
from dataclasses import dataclass

from engine.itch.decode import decode_message
from engine.itch.encode import encode_message
from engine.itch.messages import LAYOUTS, Message
from engine.itch.moldudp64 import (
    MoldSequencer,
    build_end_of_session,
    build_heartbeat,
    build_packet,
    parse_packet,
)
from engine.wire import Alpha, Timestamp, UInt

BOOK_TYPES = "AFECXDUP"
"""The types the parser decodes."""

_ALPHABET = string.ascii_uppercase + string.digits


def random_message(rng: random.Random, letter: str, extreme: bool = False) -> Message:
    """A message of type ``letter`` with random field values (all-ones integers when ``extreme``)."""
    layout = LAYOUTS[letter]
    values: dict[str, object] = {}
    for field in layout.fields:
        kind = field.kind
        if isinstance(kind, Timestamp | UInt):
            top = (1 << (8 * kind.size)) - 1
            values[field.name] = top if extreme else rng.choice((0, 1, top, rng.randint(0, top)))
        elif isinstance(kind, Alpha):
            if field.name == "side":
                values[field.name] = rng.choice("BS")
            else:
                size = kind.size if extreme else rng.randint(0, kind.size)
                values[field.name] = "".join(rng.choice(_ALPHABET) for _ in range(size))
    return layout.cls(**values)  # type: ignore[arg-type]


def random_messages(rng: random.Random, count: int, book_share: float = 0.8) -> list[bytes]:
    """``count`` encoded messages, ``book_share`` of them of the decoded types, the rest of any other type."""
    others = [letter for letter in LAYOUTS if letter not in BOOK_TYPES]
    out = []
    for _ in range(count):
        letter = rng.choice(BOOK_TYPES) if rng.random() < book_share else rng.choice(others)
        out.append(encode_message(random_message(rng, letter, extreme=rng.random() < 0.02)))
    return out


def extreme_messages() -> list[bytes]:
    """One message of every type with every integer field at its maximum and every alpha field full."""
    rng = random.Random(0)
    return [encode_message(random_message(rng, letter, extreme=True)) for letter in LAYOUTS]


@dataclass(frozen=True, slots=True, kw_only=True)
class PacketStatus:
    """What the framer must report for one packet (``gap_count`` 0 when there is no gap)."""

    sequence: int
    count: int
    expected: int
    gap: bool
    gap_count: int
    heartbeat: bool
    end_session: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class Session:
    """A run of packets and what the framer must make of it."""

    packets: list[bytes]
    messages: list[tuple[int, bytes]]
    statuses: list[PacketStatus]


def golden_session(packets: list[bytes]) -> Session:
    """Run the packets through the engine's parser and sequencer (replay mode: gaps skipped, not held)."""
    sequencer = MoldSequencer(hold_gaps=False)
    messages: list[tuple[int, bytes]] = []
    statuses = []
    for raw in packets:
        packet = parse_packet(raw)
        expected = packet.sequence if sequencer.expected is None else sequencer.expected
        delivery = sequencer.accept(packet)
        gap = delivery.gap
        if gap is not None:
            assert gap.first == expected
        statuses.append(
            PacketStatus(
                sequence=packet.sequence,
                count=packet.count,
                expected=expected,
                gap=gap is not None,
                gap_count=0 if gap is None else gap.count,
                heartbeat=packet.is_heartbeat,
                end_session=delivery.end_of_session,
            )
        )
        messages.extend(delivery.messages)
    return Session(packets=packets, messages=messages, statuses=statuses)


def random_session(rng: random.Random, messages: int, session: str = "TESTSESS01") -> Session:
    """Packets of 1 to 8 messages with sequence gaps, duplicate (re-sent) packets and heartbeats, closed by an
    end-of-session packet."""
    pool = random_messages(rng, messages)
    packets: list[bytes] = []
    sent: list[bytes] = []
    sequence = rng.randint(1, 1 << 40)
    pos = 0
    while pos < len(pool):
        roll = rng.random()
        if roll < 0.05:
            packets.append(build_heartbeat(session, sequence))
            continue
        if roll < 0.10 and sent:
            packets.append(rng.choice(sent[-4:]))
            continue
        if roll < 0.15:
            sequence += rng.randint(1, 5)
        size = min(rng.randint(1, 8), len(pool) - pos)
        packet = build_packet(session, sequence, pool[pos : pos + size])
        packets.append(packet)
        sent.append(packet)
        sequence += size
        pos += size
    packets.append(build_end_of_session(session, sequence))
    return golden_session(packets)


def decoded(raw: bytes) -> Message:
    """The engine's decoding of one message."""
    return decode_message(raw, 0, len(raw))
