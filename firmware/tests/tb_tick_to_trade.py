"""cocotb tests of tick_to_trade.v, the whole chain, configured and read back through ``engine.fpga``.

MoldUDP64 packets built with the engine's ITCH encoder go in; every Enter Order that comes out must equal
``engine.ouch.codec.encode`` of the order the trigger rule asks for, exactly ``LATENCY`` cycles after the input beat
holding the last byte of the triggering message. The register file is driven by :class:`FirmwareDriver` over an
:class:`axil.AxiLiteBus` (the testbench's AXI4-Lite master on the chain's port), so the driver runs for real
against the RTL.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import cocotb
from axil import AxiLiteBus
from axis import Beat, Bench, to_beats
from chain_bench import GAP, LATENCY, SESSION, STAMPED_LATENCY, Output, cleared, reset
from chain_model import ChainConfig, ChainModel
from cocotb.task import bridge
from latency_cases import latency_cases

from core.instruments import Instrument
from engine.config import RiskParam
from engine.fpga.driver import FIRMWARE_CHECKS, BookSlot, FirmwareCounters, FirmwareDriver, OrderEntry, TriggerRule
from engine.itch.encode import encode_message
from engine.itch.messages import AddOrder, Message, OrderDelete, OrderExecuted, OrderReplace
from engine.itch.moldudp64 import build_packet
from engine.ouch.codec import encode
from engine.ouch.messages import EnterOrder

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


def add(ref: int, side: str, shares: int, price: int, locate: int = 13) -> AddOrder:
    """An Add Order of ``locate`` (AAPL's by default)."""
    return AddOrder(
        stock_locate=locate, tracking_number=0, timestamp=ref, order_ref=ref, side=side, shares=shares, stock="X",
        price=price,
    )  # fmt: skip


@dataclass(slots=True, kw_only=True)
class Packet:
    """A packet, the index of its triggering message (None when it triggers nothing) and the expected price."""

    messages: list[Message]
    trigger: int | None = None
    price: int | None = None
    beats: list[Beat] = field(default_factory=list)

    def build(self, sequence: int) -> None:
        """Encode the packet with its first message numbered ``sequence``."""
        self.beats = to_beats(build_packet(SESSION, sequence, [encode_message(m) for m in self.messages]))

    def trigger_beat(self) -> Beat:
        """The beat holding the last byte of the triggering message."""
        assert self.trigger is not None
        end = 20 + sum(2 + len(encode_message(m)) for m in self.messages[: self.trigger + 1])
        return self.beats[(end - 1) // 8]


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


async def start(dut: Any, risk: Mapping[str, Mapping[str, RiskParam]] = RISK) -> tuple[Bench, FirmwareDriver]:
    """Reset, configure the chain through the driver (with the account's ``risk`` table) and wait until book_top
    is ready."""
    bench = Bench(dut, random.Random(0))
    driver = FirmwareDriver(AxiLiteBus(await reset(dut, bench)))

    def configure() -> tuple[str, ...]:
        assert driver.kill_switch_engaged(), "the kill switch is engaged after reset"
        driver.configure_books(SLOTS)
        driver.set_trigger(RULE)
        driver.set_order_entry(ENTRY)
        return driver.configure_risk(risk, references={"AAPL": LIMIT})

    not_enforced = await bridge(configure)()
    assert not_enforced == tuple(name for name in risk if name not in FIRMWARE_CHECKS)
    await cleared(dut)
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
            trigger=1, price=LIMIT - 200,
        ),
        Packet(messages=[delete, add(6, "B", 10, 10_000, msft)], trigger=0, price=LIMIT),
        Packet(messages=[execute], trigger=0, price=LIMIT),
        Packet(messages=[replace], trigger=0, price=LIMIT - 50),
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
    message's last byte; the kill switch set through the registers stops orders; the counters add up."""
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
    assert latencies == [LATENCY] * len(triggering)

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


LATENCY_RISK: dict[str, dict[str, RiskParam]] = {"max_order_quantity": {"limit": 1_000}}
"""Risk limits of the latency table: none that the table's orders reach."""


@cocotb.test()
async def latency_is_the_same_for_every_trigger(dut):
    """The table of ``latency_cases``: a trigger by every type that moves the top (A F E C X D U), its last byte
    at every lane, first in its packet, behind other messages, last of 40 at line rate, with idle cycles inside
    its packet, in a packet right behind another, after a long idle spell: each sends the engine model's Enter
    Order exactly LATENCY cycles after the input beat holding the triggering message's last byte."""
    bench, _ = await start(dut, LATENCY_RISK)
    cases = latency_cases(SLOTS[0].locate, SLOTS[1].locate, UNTRACKED, LIMIT, SESSION)
    model = ChainModel(ChainConfig(slots=SLOTS, rule=RULE, entry=ENTRY, risk=LATENCY_RISK))
    for case in cases:
        requests = model.packet(case.raw)
        want = [case.trigger_sequence] if case.trigger >= 0 else []
        assert [request.sequence for request in requests] == want, case.label
        if case.idle_before:
            bench.pause(case.idle_before)
        for index, beat in enumerate(case.beats):
            if case.idle_inside and index:
                bench.pause(case.idle_inside)
            bench.send([beat])
    output = Output()

    def quiet() -> bool:
        return bench.idle_input and bench.cycle - bench.accepted[-1][0] > GAP

    await bench.run(output.on_cycle, quiet, limit=bench.cycle + 100 * len(cases) + 2000)

    assert output.messages == model.orders
    triggering = [case for case in cases if case.trigger >= 0]
    cycles = {id(beat): cycle for cycle, beat in bench.accepted}
    latencies = [first - cycles[id(case.trigger_beat())] for first, case in zip(output.firsts, triggering, strict=True)]
    for case, latency in zip(triggering, latencies, strict=True):
        dut._log.info("%2d cycles  %s", latency, case.label)
    assert {case.label[0] for case in triggering} == set("AFECXDU")
    assert {case.trigger_end() % 8 for case in triggering} == set(range(8))
    assert latencies == [LATENCY] * len(triggering)


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
