"""cocotb tests of tick_to_trade.v, the whole chain, configured and read back through ``engine.fpga``.

MoldUDP64 packets built with the engine's ITCH encoder go in; every Enter Order that comes out must equal
``engine.ouch.codec.encode`` of the order the trigger rule asks for, exactly ``LATENCY`` cycles after the input beat
holding the last byte of the triggering message (more, exactly, where a block is documented to take longer). The
register file is driven by :class:`FirmwareDriver` over a :class:`SimBus`, so the driver runs for real against the
RTL.
"""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass, field
from itertools import pairwise
from typing import Any

import cocotb
from axis import Beat, Bench, from_beat, to_beats
from chain_model import ChainConfig, ChainModel, configure, random_feed
from cocotb.task import bridge, resume
from cocotb.triggers import ClockCycles, FallingEdge

from core.enums import Side
from core.instruments import Instrument
from engine.fpga.driver import BookSlot, FirmwareCounters, FirmwareDriver, OrderEntry, TriggerRule
from engine.itch.encode import encode_message
from engine.itch.messages import AddOrder, Message, OrderDelete, OrderExecuted, OrderReplace
from engine.itch.moldudp64 import build_packet
from engine.ouch.codec import encode
from engine.ouch.messages import EnterOrder

LATENCY = 8
"""Cycles from the input beat with the triggering message's last byte to the first Enter Order beat: framer 1,
itch_parser 1, book_top 3 (tracked locate), trigger 1, pretrade_risk 1, ouch_enter 1."""
REPLACE_LATENCY = LATENCY + 2
"""book_top takes 5 cycles, not 3, for a Replace (U): it reads the old order, then checks the new reference."""
BEHIND_LATENCY = LATENCY + 1
"""Within a packet the framer works slower than line rate (a cycle per length prefix and header half): the second
36-byte message of a packet leaves it 2 cycles, not 1, after the beat holding its last byte."""
STAMPED_LATENCY = LATENCY - 1
"""What LAST_LATENCY reads: its stamp is taken when the parser gets the message, after the framer's cycle."""
CLEAR_CYCLES = 2048 + 16
"""book_top clears its order table after reset."""
GAP = 60
"""Idle cycles between packets: each packet's orders leave before the next packet comes."""
SESSION = "TICK2TRADE"

AAPL = Instrument(symbol="AAPL")
MSFT = Instrument(symbol="MSFT")
SLOTS = (BookSlot(instrument=AAPL, locate=13), BookSlot(instrument=MSFT, locate=21))
UNTRACKED = 99
LIMIT = 1_500_000
RULE = TriggerRule(symbol="AAPL", quantity=100, buy_at_or_below=LIMIT)
ENTRY = OrderEntry(token_prefix="TT01", firm="FIRM")
RISK = {
    "max_order_quantity": {"limit": 1_000},
    "price_band": {"max_ticks": 50},
    "max_position": {"limit": 10_000},
    "order_rate": {"max_orders": 50, "window_ms": 1_000},
    "max_order_notional": {"limit": "1000000"},
}


class SimBus:
    """A :class:`engine.fpga.driver.RegisterBus` over the top's register port, for code in a bridged thread."""

    def __init__(self, dut: Any) -> None:
        self._dut = dut

    def read(self, addr: int) -> int:
        """Present ``addr`` for one cycle and return the registered read data."""
        return resume(self._read)(addr)

    def write(self, addr: int, value: int) -> None:
        """Write ``value`` at ``addr`` in one cycle."""
        resume(self._write)(addr, value)

    async def _write(self, addr: int, value: int) -> None:
        dut = self._dut
        await FallingEdge(dut.clk)
        dut.reg_addr.value = addr
        dut.reg_wdata.value = value
        dut.reg_we.value = 1
        await FallingEdge(dut.clk)
        dut.reg_we.value = 0

    async def _read(self, addr: int) -> int:
        dut = self._dut
        await FallingEdge(dut.clk)
        dut.reg_addr.value = addr
        dut.reg_we.value = 0
        await FallingEdge(dut.clk)  # the rising edge in between registered reg_rdata
        return int(dut.reg_rdata.value)


def add(ref: int, side: str, shares: int, price: int, locate: int = 13) -> AddOrder:
    """An Add Order of ``locate`` (AAPL's by default)."""
    return AddOrder(
        stock_locate=locate, tracking_number=0, timestamp=ref, order_ref=ref, side=side, shares=shares, stock="X",
        price=price,
    )  # fmt: skip


@dataclass(slots=True, kw_only=True)
class Packet:
    """A packet, the index of its triggering message (None when it triggers nothing), the expected price and the
    expected latency of the order."""

    messages: list[Message]
    trigger: int | None = None
    price: int | None = None
    latency: int = LATENCY
    beats: list[Beat] = field(default_factory=list)

    def build(self, sequence: int) -> None:
        """Encode the packet with its first message numbered ``sequence``."""
        self.beats = to_beats(build_packet(SESSION, sequence, [encode_message(m) for m in self.messages]))

    def trigger_beat(self) -> Beat:
        """The beat holding the last byte of the triggering message."""
        assert self.trigger is not None
        end = 20 + sum(2 + len(encode_message(m)) for m in self.messages[: self.trigger + 1])
        return self.beats[(end - 1) // 8]


@dataclass(slots=True)
class Output:
    """Enter Orders read off m_t*, with the cycle each one's first beat was taken."""

    messages: list[bytes] = field(default_factory=list)
    firsts: list[int] = field(default_factory=list)
    current: bytes = b""

    def on_cycle(self, bench: Bench) -> None:
        """Note an output beat taken at the edge just passed."""
        dut = bench.dut
        if not (int(dut.m_tvalid.value) and bench.out_ready):
            return
        if not self.current:
            self.firsts.append(bench.cycle)
        self.current += from_beat(int(dut.m_tdata.value), int(dut.m_tkeep.value))
        if int(dut.m_tlast.value):
            self.messages.append(self.current)
            self.current = b""


def expected_order(number: int, price: int) -> bytes:
    """The engine's encoding of the ``number``-th order the rule sends, at ``price``."""
    return encode(
        EnterOrder(
            order_token=f"{ENTRY.token_prefix}{number:010d}",
            side="B",
            shares=RULE.quantity,
            stock="AAPL",
            price=price,
            time_in_force=ENTRY.time_in_force,
            firm=ENTRY.firm,
            display=ENTRY.display,
            capacity=ENTRY.capacity,
            intermarket_sweep=ENTRY.intermarket_sweep,
            minimum_quantity=ENTRY.minimum_quantity,
            cross_type=ENTRY.cross_type,
            customer_type=ENTRY.customer_type,
        )
    )


async def send(bench: Bench, packets: list[Packet], output: Output) -> None:
    """Send the packets with idle cycles between them and run until the chain is quiet."""
    for packet in packets:
        bench.send(packet.beats)
        bench.pause(GAP)

    def quiet() -> bool:
        return bench.idle_input and bench.cycle - bench.accepted[-1][0] > GAP

    await bench.run(output.on_cycle, quiet, limit=bench.cycle + 200 * len(packets) + 1000)


async def start(dut: Any) -> tuple[Bench, FirmwareDriver]:
    """Reset, configure the chain through the driver and wait until book_top is ready."""
    dut.reg_addr.value = 0
    dut.reg_wdata.value = 0
    dut.reg_we.value = 0
    bench = Bench(dut, random.Random(0))
    await bench.start()
    driver = FirmwareDriver(SimBus(dut))

    def configure() -> tuple[str, ...]:
        assert driver.kill_switch_engaged(), "the kill switch is engaged after reset"
        driver.configure_books(SLOTS)
        driver.set_trigger(RULE)
        driver.set_order_entry(ENTRY)
        return driver.configure_risk(RISK, references={"AAPL": LIMIT})

    not_enforced = await bridge(configure)()
    assert not_enforced == ("max_order_notional",)
    await ClockCycles(dut.clk, CLEAR_CYCLES)
    return bench, driver


def scenario() -> tuple[list[Packet], int]:
    """Packets with triggers by every kind of book change (A, D, E, U) and at different places in their packets,
    and one gap; with the sequence number that follows them."""
    aapl = SLOTS[0].locate
    msft = SLOTS[1].locate
    delete = OrderDelete(stock_locate=aapl, tracking_number=0, timestamp=1, order_ref=5)
    execute = OrderExecuted(
        stock_locate=aapl, tracking_number=0, timestamp=2, order_ref=4, executed_shares=50, match_number=1
    )
    replace = OrderReplace(
        stock_locate=aapl, tracking_number=0, timestamp=3, original_order_ref=4, new_order_ref=10, shares=150,
        price=LIMIT - 50,
    )  # fmt: skip
    packets = [
        Packet(messages=[add(1, "S", 300, LIMIT + 600), add(2, "B", 200, LIMIT - 1_000), add(3, "S", 5, LIMIT, msft)]),
        Packet(messages=[add(4, "S", 200, LIMIT)], trigger=0, price=LIMIT),
        Packet(
            messages=[add(9, "B", 100, LIMIT, UNTRACKED), add(5, "S", 50, LIMIT - 200)],
            trigger=1, price=LIMIT - 200, latency=BEHIND_LATENCY,
        ),
        Packet(messages=[delete, add(6, "B", 10, 10_000, msft)], trigger=0, price=LIMIT),
        Packet(messages=[execute], trigger=0, price=LIMIT),
        Packet(messages=[replace], trigger=0, price=LIMIT - 50, latency=REPLACE_LATENCY),
        Packet(messages=[add(11, "S", 10, LIMIT - 100), add(12, "B", 10, 10_000, msft)], trigger=0, price=LIMIT - 100),
        Packet(messages=[add(13, "B", 10, 10_000, UNTRACKED)]),
        Packet(messages=[add(14, "S", 10, LIMIT - 100)], trigger=0, price=LIMIT - 100),
    ]  # fmt: skip
    sequence = 1
    for index, packet in enumerate(packets):
        if index == 3:
            sequence += 2  # two messages missing: a gap
        packet.build(sequence)
        sequence += len(packet.messages)
    return packets, sequence


@cocotb.test()
async def orders_match_the_engine_at_a_fixed_latency(dut):
    """Every triggering update sends one Enter Order equal to the engine's encoding, LATENCY cycles after its
    message's last byte (for every trigger first in its packet; a Replace and a message the framer is behind on
    take their exact longer latencies); the kill switch set through the registers stops orders; the counters
    add up."""
    bench, driver = await start(dut)
    packets, sequence = scenario()
    output = Output()
    await send(bench, packets, output)

    triggering = [packet for packet in packets if packet.trigger is not None]
    assert len(output.messages) == len(triggering)
    for number, (got, packet) in enumerate(zip(output.messages, triggering, strict=True), start=1):
        assert packet.price is not None
        assert got == expected_order(number, packet.price), f"order {number}"
    cycles = {id(beat): cycle for cycle, beat in bench.accepted}
    latencies = [first - cycles[id(p.trigger_beat())] for first, p in zip(output.firsts, triggering, strict=True)]
    assert latencies == [packet.latency for packet in triggering]
    steady = [latency for latency, p in zip(latencies, triggering, strict=True) if p.latency == LATENCY]
    assert len(steady) >= 4

    # Kill switch on: the next triggering update is judged and rejected, nothing leaves.
    await bridge(driver.set_kill_switch)(True)
    killed = Packet(messages=[add(7, "S", 10, LIMIT - 100)], trigger=0, price=LIMIT - 100)
    killed.build(sequence)
    await send(bench, [killed], output)
    assert len(output.messages) == len(triggering)

    counters = await bridge(driver.counters)()
    assert counters == FirmwareCounters(
        packets=len(packets) + 1,
        gaps=1,
        malformed=0,
        messages=sum(len(p.messages) for p in packets) + 1,
        order_requests=len(triggering) + 1,
        orders_rejected=1,
        orders_sent=len(triggering),
        last_latency_cycles=STAMPED_LATENCY,
    )
    assert await bridge(driver.kill_switch_engaged)()


@cocotb.test()
async def released_kill_switch_and_cleared_counters(dut):
    """After the kill switch is released orders flow again; clearing the counters zeroes them, keeping the
    configuration."""
    bench, driver = await start(dut)
    await bridge(driver.set_kill_switch)(True)
    packets = scenario()[0][:2]
    output = Output()
    await send(bench, packets, output)
    assert output.messages == []
    await bridge(driver.clear_counters)()
    assert await bridge(driver.counters)() == FirmwareCounters(
        packets=0, gaps=0, malformed=0, messages=0, order_requests=0, orders_rejected=0, orders_sent=0,
        last_latency_cycles=0,
    )  # fmt: skip
    assert await bridge(driver.kill_switch_engaged)()

    await bridge(driver.set_kill_switch)(False)
    again = Packet(messages=[add(8, "S", 10, LIMIT - 300)], trigger=0, price=LIMIT - 300)
    again.build(5)
    await send(bench, [again], output)
    assert output.messages == [expected_order(1, LIMIT - 300)]
    counters = await bridge(driver.counters)()
    assert (counters.orders_sent, counters.order_requests, counters.last_latency_cycles) == (1, 1, STAMPED_LATENCY)


RANDOM_SEED = 4
"""Seed of the random stream (chosen so that every risk check but the kill switch vetoes some orders)."""
RANDOM_MESSAGES = 400
RANDOM_LOCATES = (13, 21, 7, 30)
RANDOM_BASE = 100_000 + 1_000 * RANDOM_LOCATES[0]
"""The watched book's lowest bid price in the stream (``book_streams.BookStream``: bids at base + 0..700, asks
at base + 600..1300, a step of 100)."""
RANDOM_CONFIG = ChainConfig(
    slots=tuple(
        BookSlot(instrument=Instrument(symbol=symbol), locate=locate)
        for symbol, locate in zip(("AAPL", "MSFT", "IBM", "QQQ"), RANDOM_LOCATES, strict=True)
    ),
    rule=TriggerRule(
        symbol="AAPL", quantity=100, buy_at_or_below=RANDOM_BASE + 700, sell_at_or_above=RANDOM_BASE + 700
    ),
    entry=OrderEntry(token_prefix="RND4", firm="FRM2", time_in_force=30, display="N", minimum_quantity=7),
    risk={
        "max_order_quantity": {"limit": 1_000},
        "price_band": {"max_ticks": 1},  # 100 price units from the reference: an ask of base + 600 is beyond
        "max_position": {"limit": 1_000},  # with 200 held: 8 buys, 12 sells of 100
        "order_rate": {"max_orders": 16, "window_ms": 8_000},  # 2e9 cycles: an acceptance never ages out
    },
    positions={"AAPL": 200},
    references={"AAPL": RANDOM_BASE + 760},
)


@cocotb.test()
async def random_stream_matches_the_chain_model(dut):
    """A seeded random stream (A F E C X D U P over 4 tracked locates and untracked ones, gaps, duplicate packets,
    heartbeats), idle input cycles and output backpressure: the chain sends exactly the Enter Orders of the
    engine-built model, byte for byte and in order, and its counters equal the model's counts."""
    rng = random.Random(RANDOM_SEED)
    feed = random_feed(rng, list(RANDOM_LOCATES), RANDOM_MESSAGES, thin=RANDOM_LOCATES[0])
    model = ChainModel(RANDOM_CONFIG)
    for raw in feed.packets:
        model.packet(raw)

    # The stream does what it is for: the top crosses the limits back and forth, both sides trade, and the
    # band, position and rate checks each veto orders.
    flips = sum(1 for before, after in pairwise(model.triggered) if before != after)
    assert flips >= 3
    vetoes = {name for request in model.requests for name in request.vetoes}
    assert vetoes == {"price_band", "max_position", "order_rate"}
    accepted = [request for request in model.requests if not request.vetoes]
    assert {request.side for request in accepted} == {Side.BUY, Side.SELL}

    dut.reg_addr.value = 0
    dut.reg_wdata.value = 0
    dut.reg_we.value = 0
    bench = Bench(dut, random.Random(RANDOM_SEED), idle=0.2, stall=0.3)
    await bench.start()
    driver = FirmwareDriver(SimBus(dut), clock_hz=RANDOM_CONFIG.clock_hz)
    assert await bridge(configure)(driver, RANDOM_CONFIG) == ()
    await ClockCycles(dut.clk, CLEAR_CYCLES)

    for idle, raw in zip(feed.idle_before, feed.packets, strict=True):
        if idle:
            bench.pause(idle)
        bench.send(to_beats(raw))
    output = Output()

    def quiet() -> bool:
        return bench.idle_input and bench.cycle - bench.accepted[-1][0] > 400

    await bench.run(output.on_cycle, quiet, limit=bench.cycle + 40 * sum(len(raw) for raw in feed.packets))

    assert output.current == b"", "an Enter Order was cut short"
    assert len(output.messages) == len(model.orders)
    for number, (got, want) in enumerate(zip(output.messages, model.orders, strict=True), start=1):
        assert got == want, f"order {number}"

    counters = await bridge(driver.counters)()
    counts = model.counts()
    assert counters.last_latency_cycles >= STAMPED_LATENCY
    assert counters == FirmwareCounters(**asdict(counts), last_latency_cycles=counters.last_latency_cycles)
