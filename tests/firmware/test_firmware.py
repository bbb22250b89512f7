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
