"""MoldUDP64 over UDP without an event loop: packing messages into packets, and a non-blocking sender.

:func:`packet_batches` groups encoded ITCH messages as they fit in packets; :class:`MoldUdpSender` sends them
from a plain non-blocking socket with its heartbeats on a :class:`core.clock.Scheduler`, for a venue that
publishes from its own callbacks (the simulated exchange). It sends to a loopback address only, unless told
``allow_remote`` (a multicast group of a lab network, say).
"""

from __future__ import annotations

import functools
import ipaddress
import operator
import socket
from collections.abc import Callable, Iterator, Sequence

from core.clock import Scheduler, TimerHandle
from core.numbers import NANOS_PER_SECOND, Nanos
from engine.itch._wire import CODECS
from engine.itch.messages import Message
from engine.itch.moldudp64 import END_OF_SESSION_COUNT, HEADER, build_end_of_session, build_heartbeat, build_packet

DEFAULT_MAX_PACKET = 1400
"""Largest datagram sent (bytes): MoldUDP64 header and message blocks, below a common Ethernet MTU."""
MAX_MESSAGES_PER_PACKET = END_OF_SESSION_COUNT - 1
"""Most message blocks one MoldUDP64 packet can carry (the count field's largest data value)."""


def check_address(host: str, *, allow_remote: bool = False) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    """``host`` as an IP address; ValueError when it is not one, or not a loopback one without ``allow_remote``."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        raise ValueError(f"expected an IP address, got {host!r}") from None
    if not address.is_loopback and not allow_remote:
        raise ValueError(f"the simulator publishes to a loopback address only (unless allowed remote), got {host}")
    return address


def check_packing(max_packet: int, max_messages: int) -> None:
    """ValueError unless packets of ``max_packet`` bytes and ``max_messages`` blocks can carry ITCH messages."""
    if max_packet < HEADER.size + 2 + 64:
        raise ValueError(f"max_packet of {max_packet} bytes cannot hold an ITCH message")
    if not 0 < max_messages <= MAX_MESSAGES_PER_PACKET:
        raise ValueError(f"max_messages must be within 1..{MAX_MESSAGES_PER_PACKET}, got {max_messages}")


@functools.cache
def _packer(letter: str) -> Callable[[Message], bytes]:
    codec = CODECS[letter]
    head = letter.encode("ascii")
    fields = operator.attrgetter("stock_locate", "tracking_number", "timestamp", *codec.body_names)
    alpha = tuple((3 + slot, codec.body_sizes[slot]) for slot in codec.alpha_slots)
    pack = codec.struct.pack

    def encode(message: Message) -> bytes:
        values = list(fields(message))
        for index, size in alpha:
            values[index] = values[index].encode("ascii").ljust(size, b" ")
        timestamp = values[2]
        return pack(head, values[0], values[1], timestamp >> 32, timestamp & 0xFFFFFFFF, *values[3:])

    return encode


def encode_trusted(message: Message) -> bytes:
    """The wire bytes of a message whose fields are known to fit (a publisher's own): what
    :func:`engine.itch.encode.encode_message` gives, without checking each field first (a third of the time)."""
    return _packer(message.TYPE)(message)


def packet_batches(messages: Sequence[Message], max_packet: int, max_messages: int) -> Iterator[list[bytes]]:
    """The encoded messages, grouped as they fit in packets of ``max_packet`` bytes and ``max_messages`` blocks."""
    limit = max_packet - HEADER.size
    batch: list[bytes] = []
    size = 0
    for message in messages:
        raw = encode_trusted(message)
        if batch and (size + 2 + len(raw) > limit or len(batch) == max_messages):
            yield batch
            batch, size = [], 0
        batch.append(raw)
        size += 2 + len(raw)
    if batch:
        yield batch


class MoldUdpSender:
    """Sends ITCH messages in MoldUDP64 packets of one session to ``host:port`` from a non-blocking UDP socket.

    It needs no event loop: :meth:`open` takes the scheduler its heartbeats run on (the exchange's, simulated or
    live). A datagram the operating system refuses (no
    receiver on a loopback port, a full buffer) is counted in :attr:`send_errors` and its messages are lost, as on
    any UDP feed: the receiver sees the gap. Sending never raises once open.
    """

    def __init__(
        self,
        *,
        session: str,
        port: int,
        host: str = "127.0.0.1",
        first_sequence: int = 1,
        heartbeat_ns: Nanos = NANOS_PER_SECOND,
        max_packet: int = DEFAULT_MAX_PACKET,
        max_messages: int = MAX_MESSAGES_PER_PACKET,
        allow_remote: bool = False,
    ) -> None:
        address = check_address(host, allow_remote=allow_remote)
        check_packing(max_packet, max_messages)
        build_heartbeat(session, first_sequence)  # checks the session name early
        self.session = session
        self.address = (host, port)
        self._family = socket.AF_INET6 if address.version == 6 else socket.AF_INET
        self.max_packet = max_packet
        self.max_messages = max_messages
        self.heartbeat_ns = heartbeat_ns
        self._next = first_sequence
        self._socket: socket.socket | None = None
        self._scheduler: Scheduler | None = None
        self._beat: TimerHandle | None = None
        self._sent_since_beat = False
        self.packets_sent = 0
        self.send_errors = 0

    @property
    def next_sequence(self) -> int:
        """The sequence number of the next message sent."""
        return self._next

    def open(self, scheduler: Scheduler) -> None:
        """Open the socket and start the heartbeats on ``scheduler``."""
        if self._socket is not None:
            raise RuntimeError("sender already open")
        sock = socket.socket(self._family, socket.SOCK_DGRAM)
        sock.setblocking(False)
        sock.connect(self.address)  # a connected socket hears of an unreachable port (ICMP) on its next send
        self._socket = sock
        self._scheduler = scheduler
        self._arm_heartbeat()

    def send(self, messages: Sequence[Message]) -> int:
        """Encode, number and send ``messages``; returns the number of packets sent."""
        if self._socket is None:
            raise RuntimeError("sender is not open")
        packets = 0
        for batch in packet_batches(messages, self.max_packet, self.max_messages):
            self._datagram(build_packet(self.session, self._next, batch))
            self._next += len(batch)
            packets += 1
        self._sent_since_beat = self._sent_since_beat or packets > 0
        return packets

    def send_heartbeat(self) -> None:
        """Send a heartbeat announcing :attr:`next_sequence` now."""
        if self._socket is None:
            raise RuntimeError("sender is not open")
        self._datagram(build_heartbeat(self.session, self._next))

    def close(self, *, end_session: bool = True) -> None:
        """Stop the heartbeats, send the end-of-session mark (unless told not to) and close the socket."""
        if self._beat is not None:
            self._beat.cancel()
            self._beat = None
        if self._socket is None:
            return
        if end_session:
            self._datagram(build_end_of_session(self.session, self._next))
        self._socket.close()
        self._socket = None

    def _datagram(self, data: bytes) -> None:
        assert self._socket is not None
        try:
            self._socket.send(data)
        except OSError:
            self.send_errors += 1
        else:
            self.packets_sent += 1

    def _arm_heartbeat(self) -> None:
        if self.heartbeat_ns > 0 and self._scheduler is not None:
            self._beat = self._scheduler.call_later(self.heartbeat_ns, self._on_heartbeat_timer)

    def _on_heartbeat_timer(self) -> None:
        if self._socket is None:
            return
        if not self._sent_since_beat:
            self.send_heartbeat()
        self._sent_since_beat = False
        self._arm_heartbeat()
