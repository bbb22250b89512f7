"""Where ITCH input comes from: a file in the historical framing, or MoldUDP64 packets in a libpcap capture.

Both end up as a :class:`engine.itch.bulk.FramedFile`: the messages of a capture are taken in capture order, put
in sequence per MoldUDP64 session (duplicates dropped, gaps skipped and reported) and re-framed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from engine.itch.bulk import FramedFile
from engine.itch.encode import frame
from engine.itch.moldudp64 import Gap, MoldSequencer, parse_packet
from engine.itch.pcap import read_udp


@dataclass(frozen=True, slots=True, kw_only=True)
class CaptureFeed:
    """The ITCH messages of a capture, framed, with what was seen on the way."""

    framed: bytes
    packets: int
    messages: int
    gaps: tuple[tuple[str, Gap], ...]


def capture_messages(path: str | Path, port: int | None = None) -> CaptureFeed:
    """The messages of every MoldUDP64 packet of a capture (to ``port``, when given), framed in delivery order."""
    sequencers: dict[str, MoldSequencer] = {}
    parts: list[bytes] = []
    packets = 0
    for datagram in read_udp(path, port):
        packet = parse_packet(datagram.payload)
        packets += 1
        sequencer = sequencers.setdefault(packet.session, MoldSequencer(hold_gaps=False))
        for _, message in sequencer.accept(packet).messages:
            parts.append(frame(message))
    gaps = tuple((session, gap) for session, seq in sequencers.items() for gap in seq.gaps_skipped)
    return CaptureFeed(framed=b"".join(parts), packets=packets, messages=len(parts), gaps=gaps)


def load(path: str | Path, *, pcap: bool = False, port: int | None = None) -> FramedFile:
    """Index an ITCH file (historical framing), or the MoldUDP64 messages of a capture when ``pcap``."""
    if pcap:
        return FramedFile(capture_messages(path, port).framed)
    return FramedFile.from_path(path)
