"""The firmware blocks: cocotb simulations on Icarus against the engine's ITCH code, Verilator lint, Yosys size.

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

from core.instruments import Instrument  # noqa: E402
from engine.fpga import BookSlot, FirmwareDriver, Reg, TriggerRule  # noqa: E402

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
def sizes() -> dict[str, runner.Size]:
    """Every block synthesized once (in parallel)."""
    return runner.synth()


@pytest.mark.slow
@needs_tools
@pytest.mark.parametrize("block", runner.BLOCKS)
def test_block_fits_its_budget(block: str, sizes: dict[str, runner.Size]) -> None:
    """LUTs, flip-flops and block RAMs within 10% of firmware/budget.json."""
    limits = runner.budget()
    assert set(limits) == set(runner.BLOCKS)
    assert runner.over_budget(block, sizes[block], limits[block]) == []


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
