"""The table of tick-to-trade latency cases of the chain: each case is one MoldUDP64 packet with exactly one
message of the watched locate, which makes one order; the chain must send every one of them the same number of
cycles after the input beat holding that message's last byte.

A resting ask at the limit keeps the buy rule true, so every update of the watched book triggers an order at its
best ask: the cases cover every type that moves the top (A F E C X D U), at every alignment of the message's last
byte in the 8-byte input beats (0 to 7 untracked 21-byte Deletes before it), and the places a message can take in
a stream: first in its packet, behind a 36-byte message, last of a long packet at line rate, with idle input
cycles inside its packet, in a packet sent right behind another, after a long idle spell.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from axis import Beat, to_beats

from engine.itch.encode import encode_message
from engine.itch.messages import (
    AddOrder,
    AddOrderMpid,
    Message,
    OrderCancel,
    OrderDelete,
    OrderExecuted,
    OrderExecutedWithPrice,
    OrderReplace,
)
from engine.itch.moldudp64 import build_packet

HEADER = 20
"""Bytes of a MoldUDP64 header; each message block has a 2-byte length prefix."""


@dataclass(slots=True, kw_only=True)
class Case:
    """One packet: ``messages[trigger]`` is its only message of the watched locate. ``idle_before`` input cycles
    are left idle before it (at least enough for the previous order to leave), ``idle_inside`` between its
    beats."""

    label: str
    messages: list[Message]
    trigger: int
    idle_before: int = 60
    idle_inside: int = 0
    sequence: int = 0
    raw: bytes = b""
    beats: list[Beat] = field(default_factory=list)

    def build(self, session: str, sequence: int) -> None:
        """Encode the packet with its first message numbered ``sequence``."""
        self.sequence = sequence
        self.raw = build_packet(session, sequence, [encode_message(m) for m in self.messages])
        self.beats = to_beats(self.raw)

    @property
    def trigger_sequence(self) -> int:
        """The MoldUDP64 sequence number of the triggering message."""
        return self.sequence + self.trigger

    def trigger_end(self) -> int:
        """The packet byte offset just past the triggering message."""
        return HEADER + sum(2 + len(encode_message(m)) for m in self.messages[: self.trigger + 1])

    def trigger_beat(self) -> Beat:
        """The input beat holding the last byte of the triggering message."""
        return self.beats[(self.trigger_end() - 1) // 8]


def latency_cases(watched: int, other: int, untracked: int, limit: int, session: str) -> list[Case]:
    """The cases, in sending order, numbered from sequence 1; ``watched`` is the locate of the trigger rule's
    instrument (buy at an ask at or below ``limit``), ``other`` another tracked locate."""
    head = {"tracking_number": 0, "timestamp": 1}

    def add(ref: int, price: int, locate: int = watched, side: str = "S") -> AddOrder:
        return AddOrder(stock_locate=locate, order_ref=ref, side=side, shares=100, stock="X", price=price, **head)

    def pad(count: int) -> list[Message]:
        return [OrderDelete(stock_locate=untracked, order_ref=9000 + n, **head) for n in range(count)]

    cases = [Case(label="A, first in its packet (the resting ask)", messages=[add(1, limit)], trigger=0)]
    for k in range(8):
        r, f, u = 100 + 10 * k, 101 + 10 * k, 102 + 10 * k
        triggers: list[tuple[str, Message]] = [
            ("A", add(r, limit - 100 - k)),
            ("F", AddOrderMpid(stock_locate=watched, order_ref=f, side="S", shares=100, stock="X",
                               price=limit - 100 - k, attribution="MPID", **head)),
            ("E", OrderExecuted(stock_locate=watched, order_ref=r, executed_shares=10, match_number=k, **head)),
            ("C", OrderExecutedWithPrice(stock_locate=watched, order_ref=f, executed_shares=10, match_number=k,
                                         printable="Y", execution_price=limit - 7, **head)),
            ("X", OrderCancel(stock_locate=watched, order_ref=r, cancelled_shares=10, **head)),
            ("U", OrderReplace(stock_locate=watched, original_order_ref=f, new_order_ref=u, shares=50,
                               price=limit - 200 - k, **head)),
            ("D", OrderDelete(stock_locate=watched, order_ref=u, **head)),
            ("D", OrderDelete(stock_locate=watched, order_ref=r, **head)),
        ]  # fmt: skip
        for kind, message in triggers:
            lane = (HEADER + 21 * k + 2 + len(encode_message(message)) - 1) % 8
            label = f"{kind}, after {k} messages, last byte in lane {lane}"
            cases.append(Case(label=label, messages=[*pad(k), message], trigger=k))
    cases += [
        Case(label="A, behind a 36-byte message", messages=[add(500, 10_000, untracked, "B"), add(501, limit - 1)],
             trigger=1),
        Case(label="D, behind a 36-byte message of a tracked book", messages=[add(502, 10_000, other, "B"),
             OrderDelete(stock_locate=watched, order_ref=501, **head)], trigger=1),
        Case(label="A, last of 40 messages at line rate", messages=[*pad(39), add(503, limit - 2)], trigger=39),
        Case(label="U, with 2 idle cycles between its packet's beats", messages=[*pad(3), OrderReplace(
             stock_locate=watched, original_order_ref=503, new_order_ref=504, shares=10, price=limit - 3, **head)],
             trigger=3, idle_inside=2),
        Case(label="(no trigger) a packet of 6 messages", messages=pad(6), trigger=-1),
        Case(label="D, in a packet right behind another", messages=[OrderDelete(stock_locate=watched, order_ref=504,
             **head)], trigger=0, idle_before=0),
        Case(label="A, after 500 idle cycles", messages=[add(505, limit - 4)], trigger=0, idle_before=500),
        Case(label="X, first of 8 messages", messages=[OrderCancel(stock_locate=watched, order_ref=505,
             cancelled_shares=1, **head), *pad(7)], trigger=0),
    ]  # fmt: skip
    sequence = 1
    for case in cases:
        case.build(session, sequence)
        sequence += len(case.messages)
    return cases
