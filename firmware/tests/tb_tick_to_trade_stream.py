"""cocotb test of tick_to_trade.v against the whole-chain model (``chain_model``) on a seeded random stream.

The stream hits everything the model knows: books moving across the trigger's limits on both sides, book_top's
overflow and error flags (faults on the other tracked books all along, on the watched one near the end, which
stops its orders), and every risk check the firmware runs but the kill switch, the order rate among them with a
window that ends within the run. The firmware must send the model's Enter Orders byte for byte and in order, and
its counters and book flags must equal the model's.
"""

from __future__ import annotations

import random
from dataclasses import asdict
from itertools import pairwise

import cocotb
from axil import AxiLiteBus
from axis import Beat, Bench, to_beats
from chain_bench import CLOCK_PERIOD_PS, STAMPED_LATENCY, Output, cleared, reset
from chain_model import ChainConfig, ChainModel, configure, random_feed
from cocotb.task import bridge
from latency_cases import HEADER

from core.enums import Side
from core.instruments import Instrument
from engine.fpga.driver import BookFlags, BookSlot, FirmwareCounters, FirmwareDriver, OrderEntry, TriggerRule
from engine.itch.moldudp64 import parse_packet

SEED = 4
"""Seed of the random stream (chosen so that it shows every case the test asserts)."""
MESSAGES = 600
FAULTS = 0.03
"""Share of the messages that are faults for book_top."""
LOCATES = (13, 21, 7, 30)
BASE = 100_000 + 1_000 * LOCATES[0]
"""The watched book's lowest bid price in the stream (``book_streams.BookStream``: bids at base + 0..700, asks
at base + 600..1300, a step of 100)."""
CONFIG = ChainConfig(
    slots=tuple(
        BookSlot(instrument=Instrument(symbol=symbol), locate=locate)
        for symbol, locate in zip(("AAPL", "MSFT", "IBM", "QQQ"), LOCATES, strict=True)
    ),
    rule=TriggerRule(symbol="AAPL", quantity=100, buy_at_or_below=BASE + 700, sell_at_or_above=BASE + 700),
    entry=OrderEntry(token_prefix="RND4", firm="FRM2", time_in_force=30, display="N", minimum_quantity=7),
    risk={
        "max_order_quantity": {"limit": 1_000},
        "price_band": {"max_ticks": 1},  # 100 price units from the reference: an ask of base + 600 is beyond
        "max_position": {"limit": 500},  # with 200 held: 3 buys, 7 sells of 100
        "order_rate": {"max_orders": 3, "window_ms": 1},  # 1000 cycles of the 1 MHz test clock
    },
    positions={"AAPL": 200},
    references={"AAPL": BASE + 760},
    clock_period_ps=CLOCK_PERIOD_PS,
)


def message_ends(packets: list[list[Beat]], accepted: list[tuple[int, Beat]], raws: list[bytes]) -> list[list[int]]:
    """For every packet, the cycle the input beat holding each message block's last byte was taken."""
    cycles = {id(beat): cycle for cycle, beat in accepted}
    out = []
    for beats, raw in zip(packets, raws, strict=True):
        end = HEADER
        ends = []
        for message in parse_packet(raw).messages:
            end += 2 + len(message)
            ends.append(cycles[id(beats[(end - 1) // 8])])
        out.append(ends)
    return out


@cocotb.test()
async def random_stream_matches_the_chain_model(dut):
    """A seeded random stream (A F E C X D U P over 4 tracked locates and untracked ones, gaps, duplicate packets,
    heartbeats, faults for book_top), idle input cycles and output backpressure: the chain sends exactly the Enter
    Orders of the engine-built model, byte for byte and in order, and its counters and book flags equal the
    model's."""
    rng = random.Random(SEED)
    watched = LOCATES[0]
    feed = random_feed(rng, list(LOCATES), MESSAGES, thin=watched, faults=FAULTS, late=(watched,),
                       late_from=MESSAGES * 4 // 5)  # fmt: skip

    bench = Bench(dut, random.Random(SEED), idle=0.2, stall=0.3)
    driver = FirmwareDriver(AxiLiteBus(await reset(dut, bench)))
    assert await bridge(configure)(driver, CONFIG) == ()
    await cleared(dut)
    packets = [to_beats(raw) for raw in feed.packets]
    for idle, beats in zip(feed.idle_before, packets, strict=True):
        if idle:
            bench.pause(idle)
        bench.send(beats)
    output = Output()

    def quiet() -> bool:
        return bench.idle_input and bench.cycle - bench.accepted[-1][0] > 400

    await bench.run(output.on_cycle, quiet, limit=bench.cycle + 40 * sum(len(raw) for raw in feed.packets))

    model = ChainModel(CONFIG)
    for raw, ends in zip(feed.packets, message_ends(packets, bench.accepted, feed.packets), strict=True):
        model.packet(raw, ends)

    dut._log.info("model: %s, %s", model.counts(), model.flags())
    # The stream does what it is for: the top crosses the limits back and forth, both sides trade, the band,
    # position and rate checks each veto orders, both flags rise on other books and the watched one ends flagged.
    flips = sum(1 for before, after in pairwise(model.triggered) if before != after)
    assert flips >= 3
    vetoes = {name for request in model.requests for name in request.vetoes}
    assert vetoes == {"price_band", "max_position", "order_rate"}
    accepted = [request for request in model.requests if not request.vetoes]
    assert {request.side for request in accepted} == {Side.BUY, Side.SELL}
    flags = model.flags()
    assert flags.overflow - {"AAPL"}
    assert flags.error - {"AAPL"}
    assert "AAPL" in flags.overflow | flags.error

    assert output.current == b"", "an Enter Order was cut short"
    assert len(output.messages) == len(model.orders)
    for number, (got, want) in enumerate(zip(output.messages, model.orders, strict=True), start=1):
        assert got == want, f"order {number}"

    counters = await bridge(driver.counters)()
    counts = model.counts()
    assert counters.last_latency_cycles >= STAMPED_LATENCY
    assert counters == FirmwareCounters(**asdict(counts), last_latency_cycles=counters.last_latency_cycles)
    book_flags = await bridge(driver.book_flags)()
    assert book_flags == BookFlags(overflow=flags.overflow, error=flags.error)
