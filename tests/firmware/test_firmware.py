"""The firmware blocks: cocotb simulations on Icarus against the engine's ITCH code, Verilator lint, Yosys size and
logic depth.

Skipped (with how to install them) when the HDL tools or cocotb are missing. The checks themselves live in
``firmware/tests/runner.py``.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

FIRMWARE_TESTS = Path(__file__).resolve().parents[2] / "firmware" / "tests"
sys.path.insert(0, str(FIRMWARE_TESTS))

import runner  # noqa: E402  (lives in firmware/tests, next to the testbenches)
from depth import Depth, logic_depth  # noqa: E402

from core.instruments import Instrument  # noqa: E402
from engine.fpga import BookFlags, BookSlot, FirmwareDriver, Reg, TriggerRule  # noqa: E402

_missing = runner.missing_tools()
if importlib.util.find_spec("cocotb") is None:
    _missing.append("cocotb")
needs_tools = pytest.mark.skipif(bool(_missing), reason=f"{', '.join(_missing)} missing: {runner.INSTALL_HINT}")


@pytest.mark.slow
@needs_tools
@pytest.mark.parametrize("block", runner.BLOCKS)
def test_block_matches_the_engine(block: str, tmp_path: Path) -> None:
    """Every testbench of the block passes: outputs bit for bit equal to the engine's, latency exact."""
    count, failures = runner.simulate(block, tmp_path)
    assert count > 0, f"no cocotb test of {block} ran"
    assert not failures, "\n".join(failures)


@needs_tools
@pytest.mark.parametrize("block", runner.BLOCKS)
def test_block_lints_clean(block: str) -> None:
    """``verilator --lint-only -Wall`` reports nothing."""
    assert runner.lint(block) == ""


@pytest.mark.slow
@needs_tools
def test_chain_trades_through_the_driver(tmp_path: Path) -> None:
    """The whole chain, configured by ``engine.fpga.FirmwareDriver`` through its registers: Enter Orders equal to
    the engine's encoding at the asserted tick-to-trade latency, the kill switch stops orders, counters add up."""
    count, failures = runner.simulate(runner.CHAIN, tmp_path)
    assert count > 0, "no cocotb test of the chain ran"
    assert not failures, "\n".join(failures)


@needs_tools
@pytest.mark.parametrize("top", ["regs", runner.CHAIN])
def test_chain_lints_clean(top: str) -> None:
    """``verilator --lint-only -Wall`` reports nothing on the register file and on the top with every block."""
    assert runner.lint(top) == ""


@pytest.fixture(scope="module")
def synthesis() -> dict[str, runner.Synthesis]:
    """Every block synthesized once (in parallel); the report is printed (``pytest -s`` shows it)."""
    results = runner.synth()
    for block, result in results.items():
        size, depth = result.size, result.depth
        print(
            f"{block}: {size.luts} LUTs, {size.ffs} FFs, {size.brams} BRAMs, {depth.levels} logic levels "
            f"({depth.start} -> {depth.end})"
        )
    return results


@pytest.mark.slow
@needs_tools
@pytest.mark.parametrize("block", runner.BLOCKS)
def test_block_fits_its_budget(block: str, synthesis: dict[str, runner.Synthesis]) -> None:
    """LUTs, flip-flops and block RAMs within 10% of firmware/budget.json, logic levels within it."""
    limits = runner.budget()
    assert set(limits) == set(runner.BLOCKS)
    assert runner.over_budget(block, synthesis[block], limits[block]) == []


def _netlist(cells: dict[str, tuple[str, dict[str, list[int]], dict[str, str]]]) -> dict[str, object]:
    """A Yosys JSON netlist of module ``top`` with input bit 2 and output bit 9, and these cells."""
    return {
        "modules": {
            "top": {
                "ports": {"a": {"direction": "input", "bits": [2]}, "y": {"direction": "output", "bits": [9]}},
                "cells": {
                    name: {"type": kind, "connections": connections, "port_directions": directions}
                    for name, (kind, connections, directions) in cells.items()
                },
                "netnames": {"a": {"bits": [2]}, "q": {"bits": [5]}, "y": {"bits": [9]}},
            }
        }
    }


def test_logic_depth_counts_logic_cells_between_registers() -> None:
    """LUT, carry and mux cells count a level each; a flip-flop ends one path and starts the next."""
    lut = {"I0": "input", "O": "output"}
    ff = {"D": "input", "C": "input", "Q": "output"}
    netlist = _netlist(
        {
            "l1": ("LUT2", {"I0": [2], "O": [3]}, lut),
            "c1": ("CARRY8", {"I0": [3], "O": [4]}, lut),
            "reg": ("FDRE", {"D": [4], "C": [1], "Q": [5]}, ff),
            "l2": ("LUT1", {"I0": [5], "O": [6]}, lut),
            "m1": ("MUXF7", {"I0": [6], "O": [9]}, lut),
        }
    )
    assert logic_depth(netlist, "top") == Depth(levels=2, start="a", end="q (FDRE)")
    netlist = _netlist({"l1": ("LUT6", {"I0": [2], "O": [9]}, lut)})
    assert logic_depth(netlist, "top") == Depth(levels=1, start="a", end="output y")


def test_logic_levels_above_the_budget_fail() -> None:
    """One level above max_logic_levels is a failure; the size tolerance does not apply to depth."""
    limit = runner.Budget(size=runner.Size(luts=100, ffs=100, brams=0), max_logic_levels=6)
    size = runner.Size(luts=100, ffs=100, brams=0)
    within = runner.Synthesis(size=size, depth=Depth(levels=6, start="a", end="b"))
    above = runner.Synthesis(size=size, depth=Depth(levels=7, start="a", end="b"))
    assert runner.over_budget("x", within, limit) == []
    assert runner.over_budget("x", above, limit) == ["x: 7 logic levels against a budget of 6 (a -> b)"]


def test_size_report_is_parsed() -> None:
    """The stat parser counts every LUT width, every flip-flop kind and the block RAMs."""
    text = """
   Number of cells:                 12
     FDRE                            5
     FDSE                            1
     LUT2                            3
     LUT6                            2
     MUXF7                           4
     RAMB36E2                        1
"""
    assert runner.parse_stat(text) == runner.Size(luts=5, ffs=6, brams=1)


def test_hierarchical_size_report_is_counted_once() -> None:
    """A report of a design with submodules is counted from its design hierarchy totals only."""
    text = """
=== child ===
   Number of cells:                  2
     LUT2                            2
=== top ===
   Number of cells:                  2
     FDRE                            1
     child                           1
=== design hierarchy ===
   top                               1
     child                           1
   Number of cells:                  3
     FDRE                            1
     LUT2                            2
"""
    assert runner.parse_stat(text) == runner.Size(luts=2, ffs=1, brams=0)


class _Registers:
    """A register bus over a dict: what the driver wrote, by address."""

    def __init__(self) -> None:
        self.values: dict[int, int] = {}

    def read(self, addr: int) -> int:
        return self.values.get(addr, 0)

    def write(self, addr: int, value: int) -> None:
        assert 0 <= value < 2**32
        self.values[addr] = value


def test_driver_converts_account_limits_to_registers() -> None:
    """Risk limits in the engine's units become register values: band in price units (narrowest of ticks and
    percent), rate window in cycles, rate held at 16, signed positions, checks the firmware lacks named back."""
    bus = _Registers()
    driver = FirmwareDriver(bus, clock_hz=250_000_000)
    aapl, other = Instrument(symbol="AAPL"), Instrument(symbol="B")
    driver.configure_books([BookSlot(instrument=aapl, locate=5), BookSlot(instrument=other, locate=9)])
    limits = {
        "kill_switch": {"engaged": True},
        "max_order_quantity": {"limit": 500},
        "price_band": {"max_ticks": 20, "max_percent": "0.1"},
        "order_rate": {"max_orders": 50, "window_ms": 2},
        "daily_loss": {"limit": "50000"},
    }
    skipped = driver.configure_risk(limits, positions={"B": -300}, references={"AAPL": 1_234_567})
    assert skipped == ("daily_loss",)
    values = bus.values
    assert values[Reg.MAX_SHARES] == 500
    assert values[Reg.MAX_POSITION] == 2**32 - 1  # max_position not configured: off
    assert values[Reg.BAND] == 1_234  # 0.1% of 1_234_567 is 1234.567 < 20 ticks of 100
    assert (values[Reg.REF_VALID], values[Reg.REF_PRICE]) == (0b01, 1_234_567)
    assert (values[Reg.RATE_MAX], values[Reg.RATE_WINDOW]) == (16, 500_000)
    assert (values[Reg.HELD], values[Reg.HELD + 4]) == (0, 2**32 - 300)
    assert values[Reg.LOCATE + 4] == 9
    assert values[Reg.BOOK_ENABLE] == 0b11
    assert values[Reg.STOCK] == int.from_bytes(b"AAPL", "big")
    assert values[Reg.STOCK + 4] == int.from_bytes(b"    ", "big")
    assert driver.kill_switch_engaged()
    with pytest.raises(ValueError, match="require_reference"):
        driver.configure_risk({"price_band": {"max_ticks": 5, "require_reference": True}})
    rule = TriggerRule(symbol="MSFT", quantity=1, buy_at_or_below=1)
    with pytest.raises(ValueError, match="not tracked"):
        driver.set_trigger(rule)


def test_driver_times_the_rate_window_by_the_firmware_clock() -> None:
    """Without clock_hz the rate window is converted with the period the firmware reports (picoseconds), and a
    firmware reporting none is refused; the book flags are read back by symbol."""
    bus = _Registers()
    driver = FirmwareDriver(bus)
    with pytest.raises(ValueError, match="no clock period"):
        driver.configure_risk({"order_rate": {"max_orders": 5, "window_ms": 1}})
    bus.values[Reg.CLOCK_PERIOD] = 4_000  # 250 MHz
    driver.configure_risk({"order_rate": {"max_orders": 5, "window_ms": 3}})
    assert (bus.values[Reg.RATE_MAX], bus.values[Reg.RATE_WINDOW]) == (5, 750_000)
    bus.values[Reg.CLOCK_PERIOD] = 1_000_000  # 1 MHz
    assert driver.window_cycles(3) == 3_000
    driver.configure_books([BookSlot(instrument=Instrument(symbol=s), locate=n) for n, s in enumerate("ABCD")])
    bus.values[Reg.BOOK_FLAGS] = 0b0100_0011
    assert driver.book_flags() == BookFlags(overflow=frozenset({"A", "B"}), error=frozenset({"C"}))
