"""cocotb tests of book_top.v: the top of book after every message equals the engine's ``ItchBooks``; the
overflow and error flags rise exactly when the block's limits are exceeded or the feed is inconsistent."""

from __future__ import annotations

import os
import random

import cocotb
from book_streams import LEVELS, OUTPUTS, TABLE_BITS, BookStream, GoldenTops, Top, input_fields, table_index
from cocotb.triggers import ClockCycles
from fields_bench import FieldBench

from engine.itch.messages import AddOrder, Message, OrderDelete, OrderExecuted, OrderReplace

SEED = int(os.environ.get("FIRMWARE_SEED", "20260101"))
RANDOM_MESSAGES = int(os.environ.get("FIRMWARE_MESSAGES", "4000"))
LOCATES = [7, 3, 300, 65535]
"""The configured locates, slot 0 to 3."""
LATENCY = 6
"""Cycles from an input handshake to its output beat being valid, for every message."""
BOOK_TYPES = "AFECXDU"
"""The types that change a book: taken only when no message was taken the cycle before."""


def spacing(message: Message) -> int:
    """Cycles between the previous message's handshake and this one's at full rate."""
    return 2 if message.TYPE in BOOK_TYPES else 1


INPUTS = ("type", "bad_len", "locate", "order_ref", "new_ref", "side", "shares", "price")
CONFIG = {
    "cfg_locates": sum(loc << (16 * slot) for slot, loc in enumerate(LOCATES)),
    "cfg_enable": 0b1111,
    "s_tag": 0,
}


async def run_messages(dut, messages: list[Message], *, idle: float, stall: float, seed: int) -> FieldBench:
    """Reset, wait for the table to be cleared, send the messages; checks every output's latency (exactly while the
    output is always ready)."""
    bench = FieldBench(dut, random.Random(seed), (*OUTPUTS, "tag"), idle=idle, stall=stall)
    await bench.start(CONFIG, INPUTS)
    await ClockCycles(dut.clk, (1 << TABLE_BITS) + 2)
    assert int(dut.s_ready.value) == 1, "table not cleared"
    inputs = [{**input_fields(message), "tag": index} for index, message in enumerate(messages)]
    await bench.run(inputs, lambda: len(bench.taken) == len(messages))
    assert len(bench.taken) == len(messages)
    assert [beat.pop("tag") for beat in bench.taken] == list(range(len(messages))), "tags not carried in order"
    want = [cycle + LATENCY for cycle in bench.accepted]
    if stall == 0.0:
        assert bench.valid_since == want, "output latency is not exact"
    else:  # a beat waits behind the ones not yet taken
        assert all(got >= least for got, least in zip(bench.valid_since, want, strict=True))
    return bench


def tops(bench: FieldBench) -> list[Top]:
    """The output beats read."""
    return [Top(**beat) for beat in bench.taken]


def compare(outputs: list[Top], expected: list[Top], messages: list[Message]) -> None:
    """Every output equals the engine's top; once a slot overflows only that flag is compared (orders beyond the
    limits are unknown to the block, so the error flag may follow)."""
    for index, (got, want) in enumerate(zip(outputs, expected, strict=True)):
        if want.overflow:
            got = Top(tracked=got.tracked, slot=got.slot, overflow=got.overflow)
            want = Top(tracked=want.tracked, slot=want.slot, overflow=want.overflow)
        assert got == want, f"message {index} ({messages[index]}): got {got}, want {want}"


async def run_stream(dut, seed: int, count: int, *, prices_per_side: int, idle: float, stall: float) -> list[Top]:
    """A seeded random stream through the block and the engine; returns the expected outputs after checking."""
    rng = random.Random(seed)
    messages = BookStream(rng, LOCATES, prices_per_side=prices_per_side).messages(count)
    golden = GoldenTops(LOCATES)
    expected = [golden.apply(message) for message in messages]
    bench = await run_messages(dut, messages, idle=idle, stall=stall, seed=seed + 1)
    compare(tops(bench), expected, messages)
    if prices_per_side <= LEVELS:
        assert golden.most_levels == LEVELS, "the stream never filled a side's levels"
    return expected


@cocotb.test()
async def random_book_within_limits(dut):
    """Thousands of seeded A F E C X D U (and P, and other locates) messages within the limits, idle input and
    output backpressure: after every message the top of its locate equals the engine's, and no flag rises."""
    expected = await run_stream(dut, SEED, RANDOM_MESSAGES, prices_per_side=8, idle=0.2, stall=0.3)
    assert not any(top.overflow or top.error for top in expected)
    assert sum(top.tracked for top in expected) > RANDOM_MESSAGES // 2


@cocotb.test()
async def full_rate(dut):
    """Input always valid, output always ready: a message every cycle, one that changes a book (of any locate)
    two cycles after the previous one; every output exactly LATENCY cycles after its input."""
    rng = random.Random(SEED + 2)
    messages = BookStream(rng, LOCATES).messages(600)
    golden = GoldenTops(LOCATES)
    expected = [golden.apply(message) for message in messages]
    bench = await run_messages(dut, messages, idle=0.0, stall=0.0, seed=SEED)
    compare(tops(bench), expected, messages)
    gaps = [later - earlier for earlier, later in zip(bench.accepted, bench.accepted[1:], strict=False)]
    assert gaps == [spacing(message) for message in messages[1:]]


@cocotb.test()
async def too_many_levels_set_overflow(dut):
    """Nine prices a side: the overflow flag of a locate rises exactly with the message that makes its engine
    book hold a ninth level on a side, and stays; before that the top is exact."""
    expected = await run_stream(dut, SEED + 3, 1500, prices_per_side=9, idle=0.1, stall=0.2)
    flagged = {top.slot for top in expected if top.overflow}
    assert flagged == {0, 1, 2, 3}
    assert int(dut.flags_overflow.value) == 0b1111
    assert sum(1 for top in expected if top.tracked and not top.overflow) > 100


def _colliding(ref: int) -> int:
    """Another reference on the same table entry."""
    other = ref ^ (1 << TABLE_BITS) ^ 1
    assert table_index(other) == table_index(ref)
    return other


@cocotb.test()
async def collisions_and_unknown_orders_are_flagged(dut):
    """An add whose table entry is taken by another locate's order sets overflow on its own locate only; an
    unknown reference sets error; the other locates keep exact tops."""
    head = {"tracking_number": 0, "timestamp": 1}
    ref = 0x1234_5678_9ABC_DEF0
    messages: list[Message] = [
        AddOrder(stock_locate=7, order_ref=ref, side="B", shares=100, stock="A", price=5000, **head),
        AddOrder(stock_locate=3, order_ref=_colliding(ref), side="S", shares=50, stock="B", price=6000, **head),
        AddOrder(stock_locate=300, order_ref=42, side="S", shares=10, stock="C", price=7000, **head),
        OrderExecuted(stock_locate=65535, order_ref=99, executed_shares=1, match_number=1, **head),
        OrderReplace(stock_locate=300, original_order_ref=42, new_order_ref=ref, shares=20, price=6900, **head),
        OrderExecuted(stock_locate=7, order_ref=ref, executed_shares=60, match_number=2, **head),
        OrderDelete(stock_locate=7, order_ref=ref, **head),
    ]
    bench = await run_messages(dut, messages, idle=0.0, stall=0.0, seed=SEED)
    # Flags make the top untrustworthy: only they are compared where set.
    outputs = [
        Top(tracked=o.tracked, slot=o.slot, overflow=o.overflow, error=o.error) if o.overflow or o.error else o
        for o in tops(bench)
    ]
    assert outputs == [
        Top(tracked=1, slot=0, bid_valid=1, bid_price=5000, bid_size=100),
        Top(tracked=1, slot=1, overflow=1),
        Top(tracked=1, slot=2, ask_valid=1, ask_price=7000, ask_size=10),
        Top(tracked=1, slot=3, error=1),
        Top(tracked=1, slot=2, overflow=1),
        Top(tracked=1, slot=0, bid_valid=1, bid_price=5000, bid_size=40),
        Top(tracked=1, slot=0),
    ]
    assert (int(dut.flags_overflow.value), int(dut.flags_error.value)) == (0b0110, 0b1000)
