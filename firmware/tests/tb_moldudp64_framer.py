"""cocotb tests of moldudp64_framer.v against the engine's MoldUDP64 parser and sequencer (replay mode)."""

from __future__ import annotations

import os
import random
from dataclasses import dataclass, field
from itertools import pairwise

import cocotb
from axis import Bench, from_beat, to_beats
from itch_streams import (
    PacketStatus,
    Session,
    extreme_messages,
    golden_session,
    random_messages,
    random_session,
)

from engine.itch.moldudp64 import build_end_of_session, build_heartbeat, build_packet, parse_packet

SESSION = "NASDAQ0001"
SEED = int(os.environ.get("FIRMWARE_SEED", "20260101"))
RANDOM_MESSAGES = int(os.environ.get("FIRMWARE_MESSAGES", "4000"))


@dataclass(slots=True)
class Seen:
    """What came out of the framer: messages with their sequence numbers, packet statuses, error pulses."""

    messages: list[tuple[int, bytes]] = field(default_factory=list)
    first_beat_cycles: list[int] = field(default_factory=list)
    last_beat_cycles: list[int] = field(default_factory=list)
    statuses: list[PacketStatus] = field(default_factory=list)
    status_cycles: list[int] = field(default_factory=list)
    errors: int = 0
    _parts: list[bytes] = field(default_factory=list)
    _seq: int | None = None

    def sample(self, bench: Bench) -> None:
        dut = bench.dut
        if int(dut.m_tvalid.value) and bench.out_ready:
            last = bool(int(dut.m_tlast.value))
            keep = int(dut.m_tkeep.value)
            assert last or keep in (0x00FF, 0xFFFF), "a beat before the last is not one or two whole words"
            seq = int(dut.m_seq.value)
            if not self._parts:
                self._seq = seq
                self.first_beat_cycles.append(bench.cycle)
            assert seq == self._seq, "m_seq changed within a message"
            self._parts.append(from_beat(int(dut.m_tdata.value), keep, lanes=16))
            if last:
                self.messages.append((seq, b"".join(self._parts)))
                self.last_beat_cycles.append(bench.cycle)
                self._parts = []
        if int(dut.stat_valid.value):
            sequence = int(dut.stat_seq.value)
            expected = int(dut.stat_expected.value)
            gap = bool(int(dut.stat_gap.value))
            self.status_cycles.append(bench.cycle)
            self.statuses.append(
                PacketStatus(
                    sequence=sequence,
                    count=int(dut.stat_count.value),
                    expected=expected,
                    gap=gap,
                    gap_count=sequence - expected if gap else 0,
                    heartbeat=bool(int(dut.stat_heartbeat.value)),
                    end_session=bool(int(dut.stat_end_session.value)),
                )
            )
        self.errors += int(dut.err_malformed.value)


async def run_session(dut, session: Session, *, idle: float, stall: float, gap_cycles: int = 0) -> tuple[Bench, Seen]:
    """Send the packets, collect everything, and compare with the golden session."""
    bench = Bench(dut, random.Random(SEED), idle=idle, stall=stall)
    await bench.start()
    for packet in session.packets:
        bench.send(to_beats(packet))
        if gap_cycles:
            bench.pause(bench.rng.randint(0, gap_cycles))
    seen = Seen()
    expected = [(seq, message) for seq, message in session.messages if message]
    budget = 200 + 40 * sum(len(packet) // 8 + 4 for packet in session.packets)

    def done() -> bool:
        return bench.idle_input and len(seen.statuses) == len(session.packets) and len(seen.messages) >= len(expected)

    await bench.run(seen.sample, done, budget)
    for _ in range(8):  # nothing more may come out
        await bench.run(seen.sample, lambda: True, budget + 16)
    assert len(seen.messages) == len(expected)
    for index, (got, want) in enumerate(zip(seen.messages, expected, strict=True)):
        assert got == want, f"message {index}: got {got!r}, want {want!r}"
    for index, (got_status, want_status) in enumerate(zip(seen.statuses, session.statuses, strict=True)):
        assert got_status == want_status, f"packet {index}: got {got_status}, want {want_status}"
    assert seen.errors == 0
    return bench, seen


def end_cycles(bench: Bench, session: Session) -> list[int]:
    """For every message the framer must output, the cycle its input beat holding the message's last byte was
    taken (blocks matched in order by sequence number: duplicates are skipped)."""
    taken = [cycle for cycle, _ in bench.accepted]
    blocks: list[tuple[int, int]] = []  # (sequence, index of the input beat holding the block's last byte)
    first_beat = 0
    for raw in session.packets:
        packet = parse_packet(raw)
        end = 20
        for index, message in enumerate(packet.messages):
            end += 2 + len(message)
            if message:
                blocks.append((packet.sequence + index, first_beat + (end - 1) // 8))
        first_beat += (len(raw) + 7) // 8
    out = []
    position = 0
    for sequence, _ in (item for item in session.messages if item[1]):
        while blocks[position][0] != sequence:
            position += 1
        out.append(taken[blocks[position][1]])
        position += 1
    return out


@cocotb.test()
async def random_stream_with_idle_and_backpressure(dut):
    """Several thousand seeded random messages: gaps, duplicates, heartbeats, idle input, random ready."""
    session = random_session(random.Random(SEED), RANDOM_MESSAGES, SESSION)
    assert len(session.messages) >= RANDOM_MESSAGES * 0.9
    await run_session(dut, session, idle=0.2, stall=0.3, gap_cycles=3)


@cocotb.test()
async def back_to_back_at_full_rate(dut):
    """No idle cycles and ready always high: packets follow one another beat after beat."""
    session = random_session(random.Random(SEED + 1), 1000, SESSION)
    bench, seen = await run_session(dut, session, idle=0.0, stall=0.0)
    in_beats = sum(len(to_beats(packet)) for packet in session.packets)
    dut._log.info("full rate: %d input beats in %d cycles", in_beats, bench.cycle)
    # Every message's last beat leaves the cycle after the input beat holding its last byte, wherever it sits.
    assert seen.last_beat_cycles == [cycle + 1 for cycle in end_cycles(bench, session)]
    # One input beat a cycle inside a packet.
    inside = [later[0] - earlier[0] for earlier, later in pairwise(bench.accepted) if not earlier[1].last]
    assert set(inside) == {1}


@cocotb.test()
async def constant_latency_with_idle_input(dut):
    """Idle input cycles between and inside packets, output ready: every message's last beat leaves exactly one
    cycle after the input beat holding its last byte."""
    session = random_session(random.Random(SEED + 2), 600, SESSION)
    bench, seen = await run_session(dut, session, idle=0.3, stall=0.0, gap_cycles=3)
    assert seen.last_beat_cycles == [cycle + 1 for cycle in end_cycles(bench, session)]


@cocotb.test()
async def edge_cases(dut):
    """Maximum field values, a long and an empty block, many messages split across beats, heartbeats that open
    a gap, duplicates, and the end of the session."""
    extremes = extreme_messages()
    long_block = bytes(range(256)) * 4 + b"\x01\x02\x03"
    packets = [
        build_packet(SESSION, 1, extremes),
        build_packet(SESSION, 1 + len(extremes), [long_block, b"", b"Z"]),
        build_heartbeat(SESSION, 100),  # gap: 27..99 missing
        build_packet(SESSION, 100, [extremes[0]] * 50),
        build_packet(SESSION, 120, [extremes[1]] * 40),  # overlaps: 120..149 are duplicates
        build_packet(SESSION, (1 << 64) - 200, [extremes[2]]),
        build_packet(SESSION, 5, [extremes[3]]),  # entirely duplicate
        build_end_of_session(SESSION, (1 << 64) - 199),
        build_packet(SESSION, (1 << 64) - 199, [extremes[4]]),
    ]
    for stall, idle in ((0.0, 0.0), (0.5, 0.5), (0.9, 0.0)):
        await run_session(dut, golden_session(packets), idle=idle, stall=stall, gap_cycles=2)


@cocotb.test()
async def latency(dut):
    """Cycle counts from an idle block, ready high: a packet of one 36-byte message (58 bytes, 8 beats)."""
    message = random_messages(random.Random(SEED), 40)
    add = next(raw for raw in message if raw[:1] == b"A")
    packet = build_packet(SESSION, 7, [add])
    bench, seen = await run_session(dut, golden_session([packet]), idle=0.0, stall=0.0)
    cycles = [cycle for cycle, _ in bench.accepted]
    first = cycles[0]
    assert cycles == list(range(first, first + 8)), "one input beat a cycle"
    # Message bytes 0..7 are packet bytes 22..29, the last in input beat 3: its output beat is taken the next
    # cycle, with the length prefix. The message's last byte is in input beat 7: its output beat (tlast) is
    # taken the next cycle.
    assert seen.first_beat_cycles == [cycles[3] + 1]
    assert seen.last_beat_cycles == [cycles[7] + 1]
    # The count ends the header in input beat 2; stat_valid is high in the cycle after the next one.
    assert seen.status_cycles == [cycles[2] + 2]


@cocotb.test()
async def malformed_packets_are_cut_and_reported(dut):
    """A packet shorter than its count says is cut (the message closed with tlast) and reported; bytes after
    the last block are dropped and reported; the next packet is framed normally."""
    add = extreme_messages()[10]
    whole = build_packet(SESSION, 1, [add, add])
    short = whole[: len(whole) - 5]
    trailing = build_packet(SESSION, 3, [add]) + b"\xee" * 11
    good = build_packet(SESSION, 4, [add])
    bench = Bench(dut, random.Random(SEED))
    await bench.start()
    for packet in (short, trailing, good):
        bench.send(to_beats(packet))
    seen = Seen()
    errors: list[int] = []

    def sample(b: Bench) -> None:
        seen.sample(b)
        if int(dut.err_malformed.value):
            errors.append(b.cycle)

    await bench.run(sample, lambda: bench.idle_input and len(seen.messages) == 4, 500)
    for _ in range(8):
        await bench.run(sample, lambda: True, 600)
    assert [seq for seq, _ in seen.messages] == [1, 2, 3, 4]
    assert seen.messages[0][1] == add
    assert seen.messages[1][1] == add[:-5]
    assert seen.messages[2][1] == add
    assert seen.messages[3][1] == add
    assert len(errors) == 2
    assert [status.sequence for status in seen.statuses] == [1, 3, 4]
