"""What the chain's testbenches share: the figures they assert, the Enter Order reader, the reset that starts
the clock and the AXI4-Lite master, and the clock period the chain is built with for them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from axil import AxiLiteMaster
from axis import Bench, from_beat
from cocotb.triggers import ClockCycles

LATENCY = 12
"""Cycles from the input beat with the triggering message's last byte to the first Enter Order beat, for every
trigger: framer 1, itch_parser 1, book_top 6, trigger 1, pretrade_risk 2, ouch_enter 1."""
STAMPED_LATENCY = LATENCY - 1
"""What LAST_LATENCY reads: its stamp is taken when the parser gets the message, after the framer's cycle."""
CLEAR_CYCLES = 2048 + 16
"""book_top clears its order table after reset."""
CLOCK_PERIOD_PS = 1_000_000
"""The chain's CLOCK_PERIOD_PS in these testbenches (runner.py builds it so): a 1 MHz clock, so that an order-rate
window of a millisecond is 1000 cycles and ends within a run."""
GAP = 60
"""Idle cycles between packets: each packet's orders leave before the next packet comes."""
SESSION = "TICK2TRADE"


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


async def reset(dut: Any, bench: Bench) -> AxiLiteMaster:
    """Idle the register port, start the clock and reset (with ``bench``); returns the port's master."""
    master = AxiLiteMaster(dut)
    master.idle()
    await bench.start()
    return master


async def cleared(dut: Any) -> None:
    """Wait until book_top has cleared its order table after reset."""
    await ClockCycles(dut.clk, CLEAR_CYCLES)
