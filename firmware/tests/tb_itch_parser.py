"""cocotb tests of itch_parser.v against the engine's ITCH decoder, message for message and field for field."""

from __future__ import annotations

import os
import random
from dataclasses import replace

import cocotb
import pytest
from axis import Bench, to_words
from itch_streams import BOOK_TYPES, decoded, extreme_messages, random_messages

from engine.itch.errors import ItchDecodeError
from engine.itch.messages import (
    AddOrder,
    AddOrderMpid,
    Message,
    OrderCancel,
    OrderDelete,
    OrderExecuted,
    OrderExecutedWithPrice,
    OrderReplace,
    Trade,
)

SEED = int(os.environ.get("FIRMWARE_SEED", "20260101"))
RANDOM_MESSAGES = int(os.environ.get("FIRMWARE_MESSAGES", "4000"))
LATENCY = 1
"""Cycles from the handshake of a message's last beat to its output beat being valid."""

OUTPUTS = [
    "seq",
    "type",
    "known",
    "bad_len",
    "length",
    "locate",
    "tracking",
    "timestamp",
    "order_ref",
    "new_ref",
    "side",
    "shares",
    "price",
    "match",
    "printable",
    "stock",
    "attribution",
]


def _alpha(value: str, size: int) -> int:
    return int.from_bytes(value.encode("ascii").ljust(size, b" "), "big")


def _body(message: Message) -> dict[str, int]:
    """The type-specific outputs of one decoded message (the fields a type lacks stay zero)."""
    match message:
        case AddOrder() | AddOrderMpid() | Trade():
            out = {
                "order_ref": message.order_ref,
                "side": _alpha(message.side, 1),
                "shares": message.shares,
                "price": message.price,
                "stock": _alpha(message.stock, 8),
            }
            if isinstance(message, AddOrderMpid):
                out["attribution"] = _alpha(message.attribution, 4)
            if isinstance(message, Trade):
                out["match"] = message.match_number
            return out
        case OrderExecutedWithPrice():
            return {
                "order_ref": message.order_ref,
                "shares": message.executed_shares,
                "match": message.match_number,
                "printable": _alpha(message.printable, 1),
                "price": message.execution_price,
            }
        case OrderExecuted():
            return {"order_ref": message.order_ref, "shares": message.executed_shares, "match": message.match_number}
        case OrderCancel():
            return {"order_ref": message.order_ref, "shares": message.cancelled_shares}
        case OrderDelete():
            return {"order_ref": message.order_ref}
        case OrderReplace():
            return {
                "order_ref": message.original_order_ref,
                "new_ref": message.new_order_ref,
                "shares": message.shares,
                "price": message.price,
            }
    return {}


def expected_outputs(raw: bytes, seq: int) -> dict[str, int]:
    """What the parser must output for one well-formed message, from the engine's decoding of it."""
    message = decoded(raw)
    out = dict.fromkeys(OUTPUTS, 0)
    out.update(
        seq=seq,
        type=raw[0],
        known=int(message.TYPE in BOOK_TYPES),
        length=len(raw),
        locate=message.stock_locate,
        tracking=message.tracking_number,
        timestamp=message.timestamp,
    )
    out.update(_body(message))
    return out


async def run_messages(
    dut, messages: list[tuple[int, bytes]], *, idle: float, stall: float, pauses: int = 0
) -> tuple[list[dict[str, int]], Bench]:
    """Send ``(seq, raw)`` messages, check the latency of each output and return the outputs in order."""
    bench = Bench(dut, random.Random(SEED), idle=idle, stall=stall, ready_name="m_ready")
    dut.s_seq.value = 0
    await bench.start()
    for seq, raw in messages:
        beats = to_words(raw, bench.rng)
        beats[-1] = replace(beats[-1], side=(("s_seq", seq),))
        bench.send(beats)
        if pauses:
            bench.pause(bench.rng.randint(0, pauses))
    outputs: list[dict[str, int]] = []
    valid_since: list[int] = []
    state = {"waiting": False}

    def sample(b: Bench) -> None:
        if not int(dut.m_valid.value):
            state["waiting"] = False
            return
        if not state["waiting"]:
            valid_since.append(b.cycle)
            state["waiting"] = True
        if b.out_ready:
            outputs.append({name: int(getattr(dut, f"m_{name}").value) for name in OUTPUTS})
            state["waiting"] = False

    await bench.run(sample, lambda: len(outputs) == len(messages), 100 + 30 * len(messages) * 8)
    for _ in range(6):
        await bench.run(sample, lambda: True, 10**9)
    assert len(outputs) == len(messages)
    last_beats = [cycle for cycle, beat in bench.accepted if beat.last]
    assert valid_since == [cycle + LATENCY for cycle in last_beats], "output latency is not exactly 1 cycle"
    return outputs, bench


def check(outputs: list[dict[str, int]], messages: list[tuple[int, bytes]]) -> None:
    """Compare every field of every output with the engine's decoding."""
    for index, (got, (seq, raw)) in enumerate(zip(outputs, messages, strict=True)):
        want = expected_outputs(raw, seq)
        assert got == want, f"message {index} ({chr(raw[0])!r}): " + ", ".join(
            f"{name} got {got[name]:#x} want {want[name]:#x}" for name in OUTPUTS if got[name] != want[name]
        )


def numbered(rng: random.Random, raws: list[bytes]) -> list[tuple[int, bytes]]:
    """Give messages random 64-bit sequence numbers."""
    return [(rng.getrandbits(64), raw) for raw in raws]


@cocotb.test()
async def random_messages_with_idle_and_backpressure(dut):
    """Several thousand seeded random messages of every type, idle input cycles and random output ready."""
    rng = random.Random(SEED)
    messages = numbered(rng, random_messages(rng, RANDOM_MESSAGES))
    outputs, _ = await run_messages(dut, messages, idle=0.2, stall=0.3, pauses=2)
    check(outputs, messages)


@cocotb.test()
async def full_rate(dut):
    """No idle cycles, ready always high: one beat taken every cycle, every output one cycle after its end."""
    rng = random.Random(SEED + 1)
    messages = numbered(rng, random_messages(rng, 500))
    outputs, bench = await run_messages(dut, messages, idle=0.0, stall=0.0)
    check(outputs, messages)
    cycles = [cycle for cycle, _ in bench.accepted]
    assert cycles == list(range(cycles[0], cycles[0] + len(cycles)))


@cocotb.test()
async def maximum_field_values(dut):
    """Every type with all-ones integers and full alpha fields, under heavy backpressure."""
    messages = [(2**64 - 1, raw) for raw in extreme_messages()]
    outputs, _ = await run_messages(dut, messages, idle=0.0, stall=0.8)
    check(outputs, messages)


@cocotb.test()
async def wrong_lengths_are_flagged(dut):
    """A decoded type with a length other than ITCH's is flagged (the engine's decoder rejects it too); other
    types are passed on as ignored whatever their length."""
    extremes = {raw[:1]: raw for raw in extreme_messages()}
    cases = [extremes[b"A"][:30], extremes[b"E"] + b"\x00\x00", extremes[b"D"][:12], extremes[b"S"] + b"\x00"]
    for raw in cases[:3]:
        with pytest.raises(ItchDecodeError):
            decoded(raw)
    outputs, _ = await run_messages(dut, [(i, raw) for i, raw in enumerate(cases)], idle=0.0, stall=0.0)
    assert [(o["type"], o["known"], o["bad_len"], o["length"]) for o in outputs] == [
        (ord("A"), 1, 1, 30),
        (ord("E"), 1, 1, 33),
        (ord("D"), 1, 1, 12),
        (ord("S"), 0, 0, 13),
    ]
