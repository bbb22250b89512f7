"""The libpcap reader: UDP payloads out of Ethernet/IPv4 frames, other frames skipped, bad files reported."""

from __future__ import annotations

import io
import struct
from pathlib import Path

import pytest

from engine.itch.errors import ItchDecodeError
from engine.itch.moldudp64 import Gap, build_packet
from engine.itch.pcap import PcapReader, UdpDatagram, build_frame, read_udp, udp_payload, write_pcap
from engine.itch.sources import capture_messages
from tests.itch.capture import PORT, datagram, write_capture
from tests.itch.scenario import session


def test_written_datagrams_read_back(tmp_path: Path) -> None:
    sent = [datagram(b"hello", 1_700_000_000_123_456_789), datagram(b"", 5, port=9), datagram(b"x" * 1400, 6)]
    path = tmp_path / "cap.pcap"
    with open(path, "wb") as stream:
        write_pcap(stream, sent)
    assert read_udp(path) == sent
    assert read_udp(path, port=PORT) == [sent[0], sent[2]]


def test_ipv4_header_checksum_is_valid() -> None:
    frame = build_frame(datagram(b"abc", 0))
    header = frame[14:34]
    total = sum(int.from_bytes(header[i : i + 2], "big") for i in range(0, 20, 2))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    assert total == 0xFFFF


def test_vlan_tagged_frame_is_read() -> None:
    frame = build_frame(datagram(b"tagged", 0))
    tagged = frame[:12] + b"\x81\x00\x00\x64" + frame[12:]
    parsed = udp_payload(tagged)
    assert parsed is not None
    assert parsed.payload == b"tagged"


def _microsecond_big_endian_pcap(frames: list[bytes]) -> bytes:
    out = struct.pack(">IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)
    for i, frame in enumerate(frames):
        out += struct.pack(">IIII", 1000 + i, 250, len(frame), len(frame)) + frame
    return out


def test_big_endian_microsecond_file_and_non_udp_frames_skipped() -> None:
    arp = bytes(12) + b"\x08\x06" + bytes(28)
    data = _microsecond_big_endian_pcap([arp, build_frame(datagram(b"payload", 0))])
    reader = PcapReader(io.BytesIO(data))
    got = list(reader)
    assert [(d.payload, d.timestamp_ns) for d in got] == [(b"payload", 1001 * 1_000_000_000 + 250_000)]
    assert reader.skipped == 1


def test_not_a_pcap_and_truncated_records_are_reported() -> None:
    with pytest.raises(ItchDecodeError, match="not a libpcap file"):
        PcapReader(io.BytesIO(b"\x0a\x0d\x0d\x0a" + bytes(20)))
    data = _microsecond_big_endian_pcap([build_frame(datagram(b"abc", 0))])
    with pytest.raises(ItchDecodeError, match=r"truncated pcap record: .* at byte offset 24"):
        list(PcapReader(io.BytesIO(data[:-1])))
    with pytest.raises(ItchDecodeError, match="truncated pcap record header at byte offset 24"):
        list(PcapReader(io.BytesIO(data[:30])))


def test_capture_messages_drop_duplicates_and_keep_order(tmp_path: Path) -> None:
    messages = session(count=300)
    path = tmp_path / "feed.pcap"
    packets = write_capture(path, messages)
    feed = capture_messages(path)
    assert feed.packets == packets
    assert feed.messages == len(messages)
    assert feed.gaps == ()


def test_capture_gaps_are_reported_and_skipped(tmp_path: Path) -> None:
    path = tmp_path / "gap.pcap"
    payloads = [build_packet("S", 1, [b"a"]), build_packet("S", 3, [b"c"])]
    with open(path, "wb") as stream:
        write_pcap(stream, [datagram(p, 0) for p in payloads])
    feed = capture_messages(path)
    assert feed.framed == b"\x00\x01a\x00\x01c"
    assert feed.gaps == (("S", Gap(first=2, count=1)),)


def test_datagram_fields() -> None:
    parsed = udp_payload(build_frame(datagram(b"z", 0)), 77)
    assert parsed == UdpDatagram(
        timestamp_ns=77, src="10.0.0.1", dst="233.54.12.111", src_port=50000, dst_port=PORT, payload=b"z"
    )
