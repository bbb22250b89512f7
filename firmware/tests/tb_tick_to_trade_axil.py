"""cocotb tests of the chain's AXI4-Lite register port (regs.v through tick_to_trade.v), driven by the
testbench's master (``axil.AxiLiteMaster``): write and read back, byte strobes, AW and W in either order or
together, SLVERR for unmapped addresses and read-only registers, and the clock period the chain was built with."""

from __future__ import annotations

import random

import cocotb
from axil import OKAY, SLVERR
from axis import Bench
from chain_bench import CLOCK_PERIOD_PS, reset

from engine.fpga.driver import Reg

UNMAPPED = (0x7C, 0xA0, 0xBC, 0xE8, 0xFC)
"""Addresses where no register is."""


@cocotb.test()
async def writes_reads_strobes_and_responses(dut):
    """Every response and value a user of the port would check."""
    master = await reset(dut, Bench(dut, random.Random(0)))

    assert await master.read(Reg.VERSION) == (0x5454_0002, OKAY)
    assert await master.read(Reg.CLOCK_PERIOD) == (CLOCK_PERIOD_PS, OKAY)
    assert await master.read(Reg.CONTROL) == (1, OKAY), "the kill switch is engaged after reset"
    assert await master.read(Reg.RATE_MAX) == (16, OKAY)

    # Whole words, with AW and W together, AW first or W first by a few cycles.
    assert await master.write(Reg.BUY_LIMIT, 0x1122_3344) == OKAY
    assert await master.write(Reg.SELL_LIMIT, 0x5566_7788, aw_delay=0, w_delay=3) == OKAY
    assert await master.write(Reg.SHARES, 0x99AA_BBCC, aw_delay=4, w_delay=0) == OKAY
    assert await master.read(Reg.BUY_LIMIT) == (0x1122_3344, OKAY)
    assert await master.read(Reg.SELL_LIMIT) == (0x5566_7788, OKAY)
    assert await master.read(Reg.SHARES) == (0x99AA_BBCC, OKAY)

    # Byte strobes: only the bytes whose strobe is high change.
    assert await master.write(Reg.BUY_LIMIT, 0xAABB_CCDD, strobe=0b0101) == OKAY
    assert await master.read(Reg.BUY_LIMIT) == (0x11BB_33DD, OKAY)
    assert await master.write(Reg.BUY_LIMIT, 0xEE00_0000, strobe=0b1000, w_delay=2) == OKAY
    assert await master.read(Reg.BUY_LIMIT) == (0xEEBB_33DD, OKAY)
    assert await master.write(Reg.BUY_LIMIT, 0, strobe=0) == OKAY
    assert await master.read(Reg.BUY_LIMIT) == (0xEEBB_33DD, OKAY)
    # A narrow field keeps its width; a locate's high strobes write nothing there.
    assert await master.write(Reg.LOCATE + 4, 0xFFFF_1234, strobe=0b1101) == OKAY
    assert await master.read(Reg.LOCATE + 4) == (0x0034, OKAY)

    # The two low address bits pick a byte lane, not a register.
    assert await master.read(Reg.SHARES + 3) == (0x99AA_BBCC, OKAY)

    # Unmapped: SLVERR, reads 0, writes nothing. Read-only registers: SLVERR on write, value kept.
    for addr in UNMAPPED:
        assert await master.read(addr) == (0, SLVERR), hex(addr)
        assert await master.write(addr, 0xFFFF_FFFF) == SLVERR, hex(addr)
    for addr in (Reg.VERSION, Reg.PACKETS, Reg.LATENCY, Reg.CLOCK_PERIOD, Reg.BOOK_FLAGS):
        before = await master.read(addr)
        assert await master.write(addr, 0x1234_5678, w_delay=1) == SLVERR, hex(addr)
        assert await master.read(addr) == before, hex(addr)

    # CONTROL bit 31 clears the counters only when its byte is strobed; the rest of CONTROL is written.
    assert await master.write(Reg.CONTROL, 0x8000_0002, strobe=0b0001) == OKAY
    assert await master.read(Reg.CONTROL) == (0b010, OKAY)
    assert await master.write(Reg.RATE_MAX, 40) == OKAY
    assert await master.read(Reg.RATE_MAX) == (16, OKAY), "above 16 is stored as 16"
