"""A small libpcap capture reader (UDP payloads of Ethernet/IPv4 frames) and a writer for tests and tools.

Reads classic libpcap files (not pcapng) of either byte order, with microsecond or nanosecond timestamps and the
Ethernet link type, skipping VLAN tags. Frames that are not IPv4/UDP, and IPv4 fragments, are skipped (counted in
:attr:`PcapReader.skipped`); a truncated record or header raises :class:`engine.itch.errors.ItchDecodeError`.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Final

from engine.itch.errors import ItchDecodeError

MAGIC_MICROS: Final = 0xA1B2C3D4
MAGIC_NANOS: Final = 0xA1B23C4D
LINKTYPE_ETHERNET: Final = 1
_GLOBAL = struct.Struct("IHHiIII")
_RECORD = struct.Struct("IIII")
_ETHER_IPV4: Final = 0x0800
_VLAN_TAGS: Final = (0x8100, 0x88A8)
_UDP: Final = 17


@dataclass(frozen=True, slots=True, kw_only=True)
class UdpDatagram:
    """The UDP payload of one captured frame, with its capture time (ns since the epoch) and addresses."""

    timestamp_ns: int
    src: str
    dst: str
    src_port: int
    dst_port: int
    payload: bytes


def _ipv4(raw: bytes) -> str:
    return ".".join(str(part) for part in raw)


def udp_payload(frame: bytes, timestamp_ns: int = 0) -> UdpDatagram | None:
    """The UDP datagram of one Ethernet frame, or None when it is not (unfragmented) IPv4/UDP."""
    if len(frame) < 14:
        return None
    pos = 12
    ethertype = int.from_bytes(frame[pos : pos + 2], "big")
    while ethertype in _VLAN_TAGS and len(frame) >= pos + 6:
        pos += 4
        ethertype = int.from_bytes(frame[pos : pos + 2], "big")
    pos += 2
    if ethertype != _ETHER_IPV4 or len(frame) < pos + 20 or frame[pos] >> 4 != 4:
        return None
    header_len = (frame[pos] & 0x0F) * 4
    total_len = int.from_bytes(frame[pos + 2 : pos + 4], "big")
    fragment = int.from_bytes(frame[pos + 6 : pos + 8], "big")
    if frame[pos + 9] != _UDP or fragment & 0x3FFF or header_len < 20 or len(frame) < pos + total_len:
        return None
    udp = pos + header_len
    if total_len < header_len + 8:
        return None
    udp_len = int.from_bytes(frame[udp + 4 : udp + 6], "big")
    if udp_len < 8 or udp + udp_len > pos + total_len:
        return None
    return UdpDatagram(
        timestamp_ns=timestamp_ns,
        src=_ipv4(frame[pos + 12 : pos + 16]),
        dst=_ipv4(frame[pos + 16 : pos + 20]),
        src_port=int.from_bytes(frame[udp : udp + 2], "big"),
        dst_port=int.from_bytes(frame[udp + 2 : udp + 4], "big"),
        payload=bytes(frame[udp + 8 : udp + udp_len]),
    )


class PcapReader:
    """Iterates the UDP datagrams of a capture file, in capture order."""

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream
        self.skipped = 0
        header = stream.read(_GLOBAL.size)
        if len(header) < _GLOBAL.size:
            raise ItchDecodeError("truncated pcap global header", offset=0)
        magic = int.from_bytes(header[:4], "little")
        swapped = int.from_bytes(header[:4], "big")
        if magic in (MAGIC_MICROS, MAGIC_NANOS):
            self._order = "<"
        elif swapped in (MAGIC_MICROS, MAGIC_NANOS):
            self._order, magic = ">", swapped
        else:
            raise ItchDecodeError(f"not a libpcap file (magic 0x{magic:08x})", offset=0)
        self._sub_second = 1 if magic == MAGIC_NANOS else 1000
        *_, linktype = struct.unpack(self._order + _GLOBAL.format, header)
        if linktype & 0xFFFF != LINKTYPE_ETHERNET:
            raise ItchDecodeError(f"unsupported pcap link type {linktype} (only Ethernet)", offset=20)
        self._record = struct.Struct(self._order + _RECORD.format)
        self._offset = _GLOBAL.size

    def __iter__(self) -> Iterator[UdpDatagram]:
        while True:
            header = self._stream.read(self._record.size)
            if not header:
                return
            if len(header) < self._record.size:
                raise ItchDecodeError("truncated pcap record header", offset=self._offset)
            seconds, fraction, captured, _ = self._record.unpack(header)
            frame = self._stream.read(captured)
            if len(frame) < captured:
                raise ItchDecodeError(f"truncated pcap record: {len(frame)} of {captured} bytes", offset=self._offset)
            self._offset += self._record.size + captured
            datagram = udp_payload(frame, seconds * 1_000_000_000 + fraction * self._sub_second)
            if datagram is None:
                self.skipped += 1
                continue
            yield datagram


def read_udp(path: str | Path, port: int | None = None) -> list[UdpDatagram]:
    """Every UDP datagram of a capture file (to ``port`` only, when given), in capture order."""
    with open(path, "rb") as stream:
        return [dgram for dgram in PcapReader(stream) if port is None or dgram.dst_port == port]


def _checksum(header: bytes) -> int:
    total = sum(int.from_bytes(header[i : i + 2], "big") for i in range(0, len(header), 2))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def build_frame(datagram: UdpDatagram) -> bytes:
    """An Ethernet/IPv4/UDP frame carrying ``datagram`` (IPv4 header checksum set, UDP checksum 0)."""
    udp_len = 8 + len(datagram.payload)
    udp = struct.pack(">HHHH", datagram.src_port, datagram.dst_port, udp_len, 0) + datagram.payload
    src = bytes(int(part) for part in datagram.src.split("."))
    dst = bytes(int(part) for part in datagram.dst.split("."))
    ip = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + udp_len, 0, 0x4000, 64, _UDP, 0, src, dst)
    ip = ip[:10] + _checksum(ip).to_bytes(2, "big") + ip[12:]
    ether = bytes.fromhex("01005e000001") + bytes.fromhex("020000000001") + _ETHER_IPV4.to_bytes(2, "big")
    return ether + ip + udp


def write_pcap(stream: BinaryIO, datagrams: Iterable[UdpDatagram]) -> None:
    """Write a nanosecond-resolution little-endian libpcap file of the datagrams as Ethernet frames."""
    stream.write(struct.pack("<" + _GLOBAL.format, MAGIC_NANOS, 2, 4, 0, 0, 65535, LINKTYPE_ETHERNET))
    for datagram in datagrams:
        frame = build_frame(datagram)
        seconds, nanos = divmod(datagram.timestamp_ns, 1_000_000_000)
        stream.write(struct.pack("<" + _RECORD.format, seconds, nanos, len(frame), len(frame)))
        stream.write(frame)
