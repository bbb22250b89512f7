"""An AXI4-Lite master for cocotb testbenches, and an :class:`engine.fpga.driver.RegisterBus` over it.

The master drives the ``s_axi_*`` ports of a slave: AW and W each raise their valid after a delay of their own (so
either may arrive first), each holds it until its handshake; B and R are taken with ready raised. Signals are
driven just after a falling edge and sampled there: a handshake happens at the rising edge that follows a falling
edge where valid and ready are both high (the slave's ready comes from its registers).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import cocotb
from cocotb.task import resume
from cocotb.triggers import FallingEdge, RisingEdge

OKAY = 0b00
SLVERR = 0b10


class AxiLiteError(RuntimeError):
    """The slave answered SLVERR."""


@dataclass(slots=True)
class AxiLiteMaster:
    """Drives the AXI4-Lite slave ports ``s_axi_*`` of ``dut``; one transaction at a time."""

    dut: Any

    def idle(self) -> None:
        """Every valid low, every ready low (call before reset)."""
        dut = self.dut
        for name in ("awaddr", "awvalid", "wdata", "wstrb", "wvalid", "bready", "araddr", "arvalid", "rready"):
            getattr(dut, f"s_axi_{name}").value = 0

    async def write(self, addr: int, value: int, strobe: int = 0xF, *, aw_delay: int = 0, w_delay: int = 0) -> int:
        """Write ``value`` at ``addr`` with byte ``strobe``, AW after ``aw_delay`` cycles and W after ``w_delay``;
        returns the B response."""
        dut = self.dut
        aw = cocotb.start_soon(self._handshake("aw", {"awaddr": addr}, aw_delay))
        w = cocotb.start_soon(self._handshake("w", {"wdata": value, "wstrb": strobe}, w_delay))
        await aw
        await w
        dut.s_axi_bready.value = 1
        while not int(dut.s_axi_bvalid.value):
            await FallingEdge(dut.clk)
        response = int(dut.s_axi_bresp.value)
        await RisingEdge(dut.clk)
        await FallingEdge(dut.clk)
        dut.s_axi_bready.value = 0
        return response

    async def read(self, addr: int) -> tuple[int, int]:
        """Read ``addr``; returns the data and the R response."""
        dut = self.dut
        await self._handshake("ar", {"araddr": addr}, 0)
        dut.s_axi_rready.value = 1
        while not int(dut.s_axi_rvalid.value):
            await FallingEdge(dut.clk)
        data, response = int(dut.s_axi_rdata.value), int(dut.s_axi_rresp.value)
        await RisingEdge(dut.clk)
        await FallingEdge(dut.clk)
        dut.s_axi_rready.value = 0
        return data, response

    async def _handshake(self, channel: str, fields: dict[str, int], delay: int) -> None:
        dut = self.dut
        await FallingEdge(dut.clk)
        for _ in range(delay):
            await FallingEdge(dut.clk)
        for name, value in fields.items():
            getattr(dut, f"s_axi_{name}").value = value
        valid = getattr(dut, f"s_axi_{channel}valid")
        ready = getattr(dut, f"s_axi_{channel}ready")
        valid.value = 1
        while not int(ready.value):
            await FallingEdge(dut.clk)
        await RisingEdge(dut.clk)
        await FallingEdge(dut.clk)
        valid.value = 0


class AxiLiteBus:
    """A :class:`engine.fpga.driver.RegisterBus` over an :class:`AxiLiteMaster`, for code in a bridged thread;
    a SLVERR response raises :class:`AxiLiteError`."""

    def __init__(self, master: AxiLiteMaster) -> None:
        self._master = master

    def read(self, addr: int) -> int:
        """The register at ``addr``."""
        data, response = resume(self._master.read)(addr)
        if response != OKAY:
            raise AxiLiteError(f"read of {addr:#04x}: response {response:#04b}")
        return data

    def write(self, addr: int, value: int) -> None:
        """Write all four bytes of the register at ``addr``."""
        response = resume(self._master.write)(addr, value)
        if response != OKAY:
            raise AxiLiteError(f"write of {addr:#04x}: response {response:#04b}")
