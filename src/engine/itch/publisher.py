"""The simulator's book published as an ITCH 5.0 feed: MoldUDP64 packets over UDP to a loopback address.

Two parts:

* :class:`ItchTranslator` turns the event rows of an :class:`engine.sim.matching.MatchingBook` (``E_*``
  columns, ``EV_ADD``/``EV_FILL``/``EV_CANCEL``/``EV_REPLACE``) into ITCH messages of one stock locate: Add Order
  (A), Order Executed (E), Order Cancel (X), Order Delete (D) and Order Replace (U). It gives each resting order
  its own ITCH order reference, as the exchange would.
* :class:`ItchUdpPublisher` packs messages into MoldUDP64 packets with sequence numbers and sends them with an
  asyncio datagram transport, with heartbeats while idle and an end-of-session mark at close.
  :class:`engine.itch.udp.MoldUdpSender` does the same without an event loop (the simulated exchange's).

Both send to a loopback address only, unless told ``allow_remote`` (a multicast group of a lab network, say).

Mapping of the kernel's events: a rest is an A; a fill is an E on the resting (maker) order; a cancel of a resting
order is a D (orders that never rested are not in the ITCH book and produce nothing); a replace that keeps its
place is an X of the reduced quantity; one that moves is a U with a new reference and what is left of it. When
the moved order trades on arrival, its fills (E on their makers) come first and the U (or a D, when nothing is
left) after them, so the U always carries the quantity that rests.

The book's prices are published as they are (ITCH prices have 4 decimals) and its times as nanoseconds since
midnight UTC. Fills against orders whose rest was not recorded (anonymous orders of a book made without
``record_anonymous``) cannot be published and are counted in :attr:`ItchTranslator.unknown_makers`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import cast

import numpy as np
import numpy.typing as npt

from core.numbers import NANOS_PER_SECOND, Nanos
from engine.itch.messages import (
    AddOrder,
    Message,
    OrderCancel,
    OrderDelete,
    OrderExecuted,
    OrderReplace,
    StockDirectory,
)
from engine.itch.moldudp64 import build_end_of_session, build_heartbeat, build_packet
from engine.itch.udp import (
    DEFAULT_MAX_PACKET,
    MAX_MESSAGES_PER_PACKET,
    check_address,
    check_packing,
    packet_batches,
)
from engine.sim.matching import (
    BUY,
    E_AUX,
    E_KIND,
    E_LEAVES,
    E_LEAVES2,
    E_OID,
    E_OID2,
    E_PRICE,
    E_QTY,
    E_SIDE,
    E_TS,
    EV_ADD,
    EV_CANCEL,
    EV_FILL,
    EV_REPLACE,
    REASON_STP,
    MatchingBook,
)

NANOS_PER_DAY = 86_400 * NANOS_PER_SECOND


@dataclass(slots=True)
class _Resting:
    ref: int
    side: str
    price: int
    leaves: int


@dataclass(slots=True)
class _Crossing:
    """A replaced order trading on arrival: where it will rest, if anything is left."""

    oid: int
    side: str
    price: int
    left: int
    ts: int


class ItchTranslator:
    """Turns a matching book's event rows into the ITCH messages of one stock locate (see the module notes).

    It remembers the book's resting orders between calls, so every event of the book must pass through it, in
    order, and each call must hold whole operations (as :attr:`MatchingBook.event_rows` does between clears).
    """

    def __init__(self, *, locate: int, stock: str, first_ref: int = 1) -> None:
        if not 0 < locate <= 0xFFFF:
            raise ValueError(f"stock locate must be within 1..65535, got {locate}")
        self.locate = locate
        self.stock = stock
        self._next_ref = first_ref
        self._resting: dict[int, _Resting] = {}
        self.unknown_makers = 0

    def directory(self, ts_ns: Nanos) -> StockDirectory:
        """The Stock Directory message announcing the locate's symbol (send it first)."""
        return StockDirectory(
            stock_locate=self.locate,
            tracking_number=0,
            timestamp=ts_ns % NANOS_PER_DAY,
            stock=self.stock,
            market_category="Q",
            financial_status="N",
            round_lot_size=100,
            round_lots_only="N",
            issue_classification="C",
            issue_subtype="Z",
            authenticity="T",
            short_sale_threshold="N",
            ipo_flag="N",
            luld_tier="1",
            etp_flag="N",
            etp_leverage_factor=0,
            inverse_indicator="N",
        )

    def translate(self, rows: npt.NDArray[np.int64]) -> list[Message]:
        """The ITCH messages of ``rows`` (an ``(n, 12)`` array as :attr:`MatchingBook.event_rows` gives)."""
        out: list[Message] = []
        crossing: _Crossing | None = None
        for row in np.asarray(rows, dtype=np.int64).tolist():
            kind, oid = row[E_KIND], row[E_OID]
            if crossing is not None and not _belongs(row, crossing.oid):
                self._settle(crossing, out)
                crossing = None
            if kind == EV_ADD:
                self._add(oid, _side(row[E_SIDE]), row[E_PRICE], row[E_QTY], row[E_TS], out)
            elif kind == EV_FILL:
                self._fill(row, out)
                if crossing is not None and row[E_OID2] == crossing.oid:
                    crossing.left = row[E_LEAVES2]
            elif kind == EV_CANCEL:
                if crossing is not None and oid == crossing.oid:
                    crossing.left = 0
                self._delete(oid, row[E_TS], out)
            elif kind == EV_REPLACE:
                crossing = self._replace(row, out)
        if crossing is not None:
            self._settle(crossing, out)
        return out

    # --- one event ------------------------------------------------------------------------------------------

    def _stamp(self, ts: int) -> tuple[int, int, int]:
        return self.locate, 0, ts % NANOS_PER_DAY

    def _new_ref(self) -> int:
        ref = self._next_ref
        self._next_ref += 1
        return ref

    def _add(self, oid: int, side: str, price: int, qty: int, ts: int, out: list[Message]) -> None:
        ref = self._new_ref()
        self._resting[oid] = _Resting(ref=ref, side=side, price=price, leaves=qty)
        locate, tracking, stamp = self._stamp(ts)
        out.append(
            AddOrder(
                stock_locate=locate,
                tracking_number=tracking,
                timestamp=stamp,
                order_ref=ref,
                side=side,
                shares=qty,
                stock=self.stock,
                price=price,
            )
        )

    def _fill(self, row: list[int], out: list[Message]) -> None:
        maker = self._resting.get(row[E_OID])
        if maker is None:
            self.unknown_makers += 1
            return
        locate, tracking, stamp = self._stamp(row[E_TS])
        out.append(
            OrderExecuted(
                stock_locate=locate,
                tracking_number=tracking,
                timestamp=stamp,
                order_ref=maker.ref,
                executed_shares=row[E_QTY],
                match_number=row[E_AUX],
            )
        )
        maker.leaves = row[E_LEAVES]
        if maker.leaves == 0:
            del self._resting[row[E_OID]]

    def _delete(self, oid: int, ts: int, out: list[Message]) -> None:
        order = self._resting.pop(oid, None)
        if order is None:
            return  # an order that never rested (IOC, FOK, market, stopped on arrival)
        locate, tracking, stamp = self._stamp(ts)
        out.append(OrderDelete(stock_locate=locate, tracking_number=tracking, timestamp=stamp, order_ref=order.ref))

    def _replace(self, row: list[int], out: list[Message]) -> _Crossing | None:
        oid, price, qty, ts = row[E_OID], row[E_PRICE], row[E_QTY], row[E_TS]
        order = self._resting.get(oid)
        if order is None:
            return None
        locate, tracking, stamp = self._stamp(ts)
        if row[E_AUX] == 1:  # kept its place: at most a reduction
            if qty < order.leaves:
                out.append(
                    OrderCancel(
                        stock_locate=locate,
                        tracking_number=tracking,
                        timestamp=stamp,
                        order_ref=order.ref,
                        cancelled_shares=order.leaves - qty,
                    )
                )
                order.leaves = qty
            return None
        # Whether the moved order trades on arrival shows only in the rows that follow: settle it then.
        return _Crossing(oid=oid, side=order.side, price=price, left=qty, ts=ts)

    def _settle(self, crossing: _Crossing, out: list[Message]) -> None:
        order = self._resting.get(crossing.oid)
        if order is None:
            return
        locate, tracking, stamp = self._stamp(crossing.ts)
        if crossing.left == 0:
            self._delete(crossing.oid, crossing.ts, out)
            return
        new_ref = self._new_ref()
        out.append(
            OrderReplace(
                stock_locate=locate,
                tracking_number=tracking,
                timestamp=stamp,
                original_order_ref=order.ref,
                new_order_ref=new_ref,
                shares=crossing.left,
                price=crossing.price,
            )
        )
        self._resting[crossing.oid] = _Resting(ref=new_ref, side=order.side, price=crossing.price, leaves=crossing.left)


def _side(side: int) -> str:
    return "B" if side == BUY else "S"


def _belongs(row: list[int], oid: int) -> bool:
    """True when ``row`` is part of the replace of ``oid``: its fills as taker, and self-trade cancels."""
    if row[E_KIND] == EV_FILL:
        return bool(row[E_OID2] == oid)
    return bool(row[E_KIND] == EV_CANCEL and row[E_AUX] == REASON_STP)


class _SenderProtocol(asyncio.DatagramProtocol):
    """Keeps the transport and counts send errors (a closed receiving port shows up here on loopback)."""

    def __init__(self) -> None:
        self.transport: asyncio.DatagramTransport | None = None
        self.errors = 0
        self.closed = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # Not every loop's datagram transport subclasses DatagramTransport, though all offer its methods.
        self.transport = cast(asyncio.DatagramTransport, transport)

    def error_received(self, exc: Exception) -> None:
        self.errors += 1

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.closed.done():
            self.closed.set_result(None)


class ItchUdpPublisher:
    """Sends ITCH messages in MoldUDP64 packets of one session to ``host:port`` (a loopback address).

    Messages are numbered from ``first_sequence`` on; :meth:`send` packs as many as fit in ``max_packet``
    bytes (and ``max_messages`` blocks) per datagram. While nothing is sent for ``heartbeat_ns``, a heartbeat
    announces the next sequence number (0 turns heartbeats off). :meth:`close` sends the end-of-session mark.
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
        check_address(host, allow_remote=allow_remote)
        check_packing(max_packet, max_messages)
        build_heartbeat(session, first_sequence)  # checks the session name early
        self.session = session
        self.address = (host, port)
        self.max_packet = max_packet
        self.max_messages = max_messages
        self.heartbeat_ns = heartbeat_ns
        self._next = first_sequence
        self._protocol: _SenderProtocol | None = None
        self._beat: asyncio.TimerHandle | None = None
        self._sent_since_beat = False
        self.packets_sent = 0

    @property
    def next_sequence(self) -> int:
        """The sequence number of the next message sent."""
        return self._next

    @property
    def send_errors(self) -> int:
        """Datagrams the operating system reported as undeliverable."""
        return 0 if self._protocol is None else self._protocol.errors

    async def start(self) -> None:
        """Open the UDP socket (and start the heartbeats)."""
        if self._protocol is not None:
            raise RuntimeError("publisher already started")
        loop = asyncio.get_running_loop()
        _, self._protocol = await loop.create_datagram_endpoint(_SenderProtocol, remote_addr=self.address)
        self._arm_heartbeat()

    def send(self, messages: Sequence[Message]) -> int:
        """Encode, number and send ``messages``; returns the number of packets sent."""
        transport = self._transport()
        return sum(
            self._send_packet(transport, batch)
            for batch in packet_batches(messages, self.max_packet, self.max_messages)
        )

    def publish_book(self, book: MatchingBook, translator: ItchTranslator) -> int:
        """Send the ITCH messages of the book's recorded events and clear them; returns the packets sent."""
        messages = translator.translate(book.event_rows)
        book.clear_events()
        return self.send(messages)

    def send_heartbeat(self) -> None:
        """Send a heartbeat announcing :attr:`next_sequence` now."""
        self._transport().sendto(build_heartbeat(self.session, self._next))
        self.packets_sent += 1

    async def close(self, *, end_session: bool = True) -> None:
        """Stop the heartbeats, send the end-of-session mark (unless told not to) and close the socket."""
        if self._beat is not None:
            self._beat.cancel()
            self._beat = None
        protocol, self._protocol = self._protocol, None
        if protocol is None or protocol.transport is None:
            return
        if end_session:
            protocol.transport.sendto(build_end_of_session(self.session, self._next))
            self.packets_sent += 1
        protocol.transport.close()
        await protocol.closed

    def _transport(self) -> asyncio.DatagramTransport:
        if self._protocol is None or self._protocol.transport is None:
            raise RuntimeError("publisher is not started")
        return self._protocol.transport

    def _send_packet(self, transport: asyncio.DatagramTransport, batch: list[bytes]) -> int:
        transport.sendto(build_packet(self.session, self._next, batch))
        self._next += len(batch)
        self.packets_sent += 1
        self._sent_since_beat = True
        return 1

    def _arm_heartbeat(self) -> None:
        if self.heartbeat_ns > 0:
            delay = self.heartbeat_ns / NANOS_PER_SECOND  # asyncio timers take seconds
            self._beat = asyncio.get_running_loop().call_later(delay, self._on_heartbeat_timer)

    def _on_heartbeat_timer(self) -> None:
        if self._protocol is None:
            return
        if not self._sent_since_beat:
            self.send_heartbeat()
        self._sent_since_beat = False
        self._arm_heartbeat()
