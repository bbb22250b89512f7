"""A cycle-by-cycle bench for blocks whose input and output are single beats of named fields (s_valid/s_ready,
m_valid/m_ready), such as trigger and pretrade_risk.

Like :mod:`axis`, one loop does everything once per clock: it notes the handshakes of the edge that just passed
(values as they stood at the edge), then drives the next input beat and the output ready.
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


@dataclass(slots=True)
class FieldBench:
    """Drives ``s_<name>`` fields from queued dicts with idle cycles, and ``m_ready`` (``ready_name``) with
    backpressure.

    ``outputs`` names the ``m_<name>`` fields read on every output handshake. ``accepted`` holds the cycle of
    every input handshake, ``taken`` every output beat read, ``valid_since`` the cycle each output beat was first
    seen valid, ``taken_cycles`` the cycle of every output handshake. ``before_edge(bench)`` runs before each edge,
    after the inputs are driven (for side inputs).
    """

    dut: Any
    rng: random.Random
    outputs: tuple[str, ...]
    idle: float = 0.0
    stall: float = 0.0
    cycle: int = 0
    queue: deque[dict[str, int]] = field(default_factory=deque)
    accepted: list[int] = field(default_factory=list)
    taken: list[dict[str, int]] = field(default_factory=list)
    taken_cycles: list[int] = field(default_factory=list)
    valid_since: list[int] = field(default_factory=list)
    before_edge: Callable[[FieldBench], None] | None = None
    valid_name: str = "m_valid"
    ready_name: str = "m_ready"
    _current: dict[str, int] | None = None
    _ready: int = 1
    _waiting: bool = False

    async def start(self, config: dict[str, int], fields: tuple[str, ...]) -> None:
        """Drive the configuration ports and zero inputs, start the clock and hold reset for 3 cycles."""
        dut = self.dut
        cocotb.start_soon(Clock(dut.clk, PERIOD_NS, unit="ns").start())
        for name, value in config.items():
            getattr(dut, name).value = value
        for name in fields:
            getattr(dut, f"s_{name}").value = 0
        dut.rst.value = 1
        dut.s_valid.value = 0
        getattr(dut, self.ready_name).value = 0
        for _ in range(3):
            await RisingEdge(dut.clk)
        dut.rst.value = 0
        self.cycle = 0

    async def run(self, inputs: list[dict[str, int]], done: Callable[[], bool], drain: int = 8) -> None:
        """Send the inputs; step until every one is taken and ``done()``, then ``drain`` more cycles."""
        dut = self.dut
        self.queue.extend(inputs)
        limit = self.cycle + 200 + 40 * len(inputs)
        extra = drain
        self._drive()
        while True:
            await RisingEdge(dut.clk)
            self.cycle += 1
            if self._current is not None and int(dut.s_ready.value):
                self.accepted.append(self.cycle)
                self._current = None
            self._sample()
            if self._current is None and not self.queue and done():
                if extra == 0:
                    return
                extra -= 1
            assert self.cycle < limit, "no progress"
            self._drive()

    def _sample(self) -> None:
        dut = self.dut
        if not int(getattr(dut, self.valid_name).value):
            assert not self._waiting, "m_valid dropped before the beat was taken"
            return
        if not self._waiting:
            self.valid_since.append(self.cycle)
            self._waiting = True
        if self._ready:
            self.taken.append({name: int(getattr(dut, f"m_{name}").value) for name in self.outputs})
            self.taken_cycles.append(self.cycle)
            self._waiting = False

    def _drive(self) -> None:
        dut = self.dut
        if self._current is None:
            if not self.queue or self.rng.random() < self.idle:
                dut.s_valid.value = 0
            else:
                self._current = self.queue.popleft()
                for name, value in self._current.items():
                    getattr(dut, f"s_{name}").value = value
                dut.s_valid.value = 1
        self._ready = 0 if self.rng.random() < self.stall else 1
        getattr(dut, self.ready_name).value = self._ready
        if self.before_edge is not None:
            self.before_edge(self)
