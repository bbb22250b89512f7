"""Writing ITCH messages as a MoldUDP64 capture, the way a feed arrives on the wire."""

from __future__ import annotations

import random
from pathlib import Path

from engine.itch.encode import encode_message
from engine.itch.messages import Message
from engine.itch.moldudp64 import build_end_of_session, build_heartbeat, build_packet
from engine.itch.pcap import UdpDatagram, write_pcap

SESSION = "20240601AB"
PORT = 26400


def datagram(payload: bytes, timestamp_ns: int, port: int = PORT) -> UdpDatagram:
    return UdpDatagram(
        timestamp_ns=timestamp_ns, src="10.0.0.1", dst="233.54.12.111", src_port=50000, dst_port=port, payload=payload
    )


def write_capture(path: Path, messages: list[Message], *, seed: int = 1, duplicates: bool = True) -> int:
    """Write ``messages`` in packets of 1 to 8, with heartbeats, repeated packets (as an A/B feed arbitration
    would see) and a final end of session; returns the number of packets."""
    rng = random.Random(seed)
    raw = [encode_message(m) for m in messages]
    payloads: list[bytes] = []
    sequence = 1
    while sequence <= len(raw):
        size = rng.randint(1, 8)
        batch = raw[sequence - 1 : sequence - 1 + size]
        payloads.append(build_packet(SESSION, sequence, batch))
        if duplicates and rng.random() < 0.2:
            payloads.append(payloads[-1])
        sequence += len(batch)
        if rng.random() < 0.1:
            payloads.append(build_heartbeat(SESSION, sequence))
    payloads.append(build_end_of_session(SESSION, sequence))
    with open(path, "wb") as stream:
        write_pcap(stream, (datagram(p, 1_700_000_000_000_000_000 + i * 1000) for i, p in enumerate(payloads)))
    return len(payloads)
