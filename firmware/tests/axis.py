"""A cycle-by-cycle bench for blocks with one 64-bit valid/ready input stream (tdata, tkeep, tlast).

One coroutine does everything once per clock: it notes the handshakes of the edge that just passed (reading
values as they stood at the edge), then drives the next input beat and the output ready. Doing it in one place
keeps the cycle numbers exact and the simulation fast.
"""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import RisingEdge

PERIOD_NS = 4


@dataclass(frozen=True, slots=True)
class Beat:
    """One input beat; ``side`` holds extra input signals driven with it (name to value)."""

    data: int
    keep: int
    last: bool
    side: tuple[tuple[str, int], ...] = ()


def to_beats(payload: bytes, side: tuple[tuple[str, int], ...] = ()) -> list[Beat]:
    """Split a payload into beats, stream byte k of a beat in lane k; tkeep is partial only on the last."""
    if not payload:
        raise ValueError("empty payload")
    beats = []
    for start in range(0, len(payload), 8):
        chunk = payload[start : start + 8]
        last = start + 8 >= len(payload)
        beats.append(Beat(int.from_bytes(chunk, "little"), (1 << len(chunk)) - 1, last, side))
    return beats


def to_words(payload: bytes, rng: random.Random) -> list[Beat]:
    """Split a message into beats of the framer's output: one or two 8-byte words each (chosen at random), the
    last holding the last 1 to 16 bytes; stream byte k of a beat in lane k."""
    if not payload:
        raise ValueError("empty payload")
    beats = []
    start = 0
    while start < len(payload):
        size = 16 if len(payload) - start <= 16 else rng.choice((8, 16))
        chunk = payload[start : start + size]
        start += size
        beats.append(Beat(int.from_bytes(chunk, "little"), (1 << len(chunk)) - 1, start >= len(payload)))
    return beats


def from_beat(data: int, keep: int, lanes: int = 8) -> bytes:
    """The bytes of one output beat of ``lanes`` byte lanes, after checking that tkeep is contiguous from lane 0
    and the lanes it leaves out are zero."""
    count = keep.bit_length()
    assert keep == (1 << count) - 1, f"tkeep {keep:#06x} is not contiguous from lane 0"
    assert count <= lanes
    raw = data.to_bytes(lanes, "little")
    assert not any(raw[count:]), "bytes outside tkeep are not zero"
    return raw[:count]


@dataclass(slots=True)
class Bench:
    """Drives ``s_*`` from queued beats with idle cycles and ``m_tready`` (or ``m_ready``) with backpressure.

    ``on_cycle(bench)`` runs once per edge after the input handshake is noted: it reads the outputs. ``cycle``
    counts edges since :meth:`start`; ``accepted`` records ``(cycle, beat)`` of every input handshake.
    """

    dut: Any
    rng: random.Random
    idle: float = 0.0
    stall: float = 0.0
    ready_name: str = "m_tready"
    cycle: int = 0
    queue: deque[Beat | int] = field(default_factory=deque)
    accepted: list[tuple[int, Beat]] = field(default_factory=list)
    _current: Beat | None = None
    _ready: int = 1

    async def start(self) -> None:
        """Start the clock and hold reset for 3 cycles."""
        dut = self.dut
        cocotb.start_soon(Clock(dut.clk, PERIOD_NS, unit="ns").start())
        dut.rst.value = 1
        dut.s_tvalid.value = 0
        dut.s_tdata.value = 0
        dut.s_tkeep.value = 0
        dut.s_tlast.value = 0
        getattr(dut, self.ready_name).value = 0
        for _ in range(3):
            await RisingEdge(dut.clk)
        dut.rst.value = 0
        self._drive_ready()
        self.cycle = 0

    def send(self, beats: list[Beat]) -> None:
        """Queue beats for the input."""
        self.queue.extend(beats)

    def pause(self, cycles: int) -> None:
        """Queue ``cycles`` idle cycles on the input."""
        self.queue.append(cycles)

    async def run(self, on_cycle: Callable[[Bench], None], done: Callable[[], bool], limit: int) -> None:
        """Step the clock until ``done()`` (checked after every edge); fail after ``limit`` cycles."""
        dut = self.dut
        self._drive_input()
        while True:
            await RisingEdge(dut.clk)
            self.cycle += 1
            if self._current is not None and int(dut.s_tready.value):
                self.accepted.append((self.cycle, self._current))
                self._current = None
            on_cycle(self)
            if done():
                return
            assert self.cycle < limit, f"no progress after {limit} cycles"
            self._drive_input()
            self._drive_ready()

    @property
    def out_ready(self) -> int:
        """The output ready as it stood at the edge just passed."""
        return self._ready

    def _drive_input(self) -> None:
        dut = self.dut
        if self._current is None:
            while self.queue and isinstance(self.queue[0], int):
                pause = self.queue.popleft()
                assert isinstance(pause, int)
                if pause > 1:
                    self.queue.appendleft(pause - 1)
                dut.s_tvalid.value = 0
                return
            if not self.queue or self.rng.random() < self.idle:
                dut.s_tvalid.value = 0
                return
            beat = self.queue.popleft()
            assert isinstance(beat, Beat)
            self._current = beat
            dut.s_tdata.value = beat.data
            dut.s_tkeep.value = beat.keep
            dut.s_tlast.value = int(beat.last)
            for name, value in beat.side:
                getattr(dut, name).value = value
        dut.s_tvalid.value = 1

    def _drive_ready(self) -> None:
        self._ready = 0 if self.rng.random() < self.stall else 1
        getattr(self.dut, self.ready_name).value = self._ready

    @property
    def idle_input(self) -> bool:
        """True when every queued beat has been taken."""
        return self._current is None and not any(isinstance(item, Beat) for item in self.queue)
