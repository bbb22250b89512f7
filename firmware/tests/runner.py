"""Runs the firmware checks: cocotb simulations on Icarus, Verilator lint and Yosys size and logic-depth reports.

Used by the pytest entry points in ``tests/firmware/``; also a small command line::

    uv run python firmware/tests/runner.py sim moldudp64_framer
    uv run python firmware/tests/runner.py lint itch_parser
    uv run python firmware/tests/runner.py synth itch_parser
    uv run python firmware/tests/runner.py sim tick_to_trade
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

if __package__ in (None, ""):  # run as a script or imported from tests/firmware: the testbench helpers are beside
    sys.path.insert(0, str(Path(__file__).resolve().parent))

from depth import Depth, logic_depth

FIRMWARE = Path(__file__).resolve().parent.parent
RTL = FIRMWARE / "rtl"
TESTS = FIRMWARE / "tests"
BUDGET = FIRMWARE / "budget.json"
BLOCKS = ("moldudp64_framer", "itch_parser", "book_top", "trigger", "pretrade_risk", "ouch_enter")
"""The blocks, each ``rtl/<block>.v`` with its testbench ``tests/tb_<block>.py``."""
CHAIN = "tick_to_trade"
"""The whole chain (``rtl/tick_to_trade.v``, testbench ``tests/tb_tick_to_trade.py``): every block, the register
file and the top; it has no size budget of its own."""
CHAIN_SOURCES = (*BLOCKS, "regs", CHAIN)
CHAIN_TESTS = ("tb_tick_to_trade", "tb_tick_to_trade_stream", "tb_tick_to_trade_axil")
"""The chain's testbench modules."""
CHAIN_PARAMETERS = {"CLOCK_PERIOD_PS": 1_000_000}
"""The chain is simulated as a 1 MHz design: its order-rate window of whole milliseconds is then a thousand cycles
a millisecond, short enough to end within a run (``chain_bench.CLOCK_PERIOD_PS``)."""
TOOLS = ("iverilog", "verilator", "yosys")
INSTALL_HINT = (
    "install the HDL tools (Debian/Ubuntu: `apt-get install -y iverilog verilator yosys`) "
    "and cocotb (`uv sync --group firmware`)"
)
SYNTH_FAMILY = "xcup"
"""Yosys ``synth_xilinx`` family: UltraScale+."""
TOLERANCE = 0.10
"""How far above its budget a block's size may go."""


def missing_tools() -> list[str]:
    """The HDL tools not on PATH."""
    return [tool for tool in TOOLS if shutil.which(tool) is None]


def sources(block: str) -> list[Path]:
    """The Verilog files of ``block``: its own, or every file of the chain for :data:`CHAIN`."""
    return [RTL / f"{name}.v" for name in (CHAIN_SOURCES if block == CHAIN else (block,))]


def simulate(block: str, build_dir: Path, testcase: str | None = None) -> tuple[int, list[str]]:
    """Build ``block`` with Icarus and run its cocotb testbench; returns ``(tests run, failure messages)``."""
    from cocotb_tools.runner import get_runner

    if str(TESTS) not in sys.path:
        sys.path.insert(0, str(TESTS))  # the simulator's Python gets the runner's sys.path
    runner = get_runner("icarus")
    runner.build(
        sources=sources(block),
        hdl_toplevel=block,
        build_dir=build_dir,
        build_args=["-g2005"],
        parameters=CHAIN_PARAMETERS if block == CHAIN else {},
        timescale=("1ns", "1ps"),
        always=True,
    )
    results = build_dir / "results.xml"
    try:
        runner.test(
            test_module=list(CHAIN_TESTS) if block == CHAIN else f"tb_{block}",
            hdl_toplevel=block,
            build_dir=build_dir,
            test_dir=build_dir,
            testcase=testcase,
            results_xml=str(results),
        )
    except SystemExit as stop:  # the cocotb runner exits when a test fails; the report below says which
        if not results.exists():
            return 0, [f"simulation of {block} stopped ({stop.code}) without results"]
    return _results(results)


def _results(path: Path) -> tuple[int, list[str]]:
    cases = ET.parse(path).getroot().iter("testcase")
    count = 0
    failures = []
    for case in cases:
        count += 1
        for failure in (*case.iter("failure"), *case.iter("error")):
            failures.append(f"{case.get('name')}: {failure.get('message', '')}")
    return count, failures


def lint(block: str) -> str:
    """Verilator's ``--lint-only -Wall`` output for ``block`` (empty when clean)."""
    done = subprocess.run(
        ["verilator", "--lint-only", "-Wall", "--top-module", block, *map(str, sources(block))],
        capture_output=True,
        text=True,
        check=False,
    )
    return (done.stdout + done.stderr).strip()


@dataclass(frozen=True, slots=True, kw_only=True)
class Size:
    """A block's size after synthesis: LUTs (all LUT1..LUT6), flip-flops and block RAMs."""

    luts: int
    ffs: int
    brams: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Synthesis:
    """A block's size and logic depth after synthesis."""

    size: Size
    depth: Depth


def start_synth(block: str, report: Path, netlist: Path) -> subprocess.Popen[str]:
    """Start Yosys ``synth_xilinx`` on ``block``, its ``stat`` going to ``report`` and the mapped netlist (JSON) to
    ``netlist``; the chain is flattened, so that its paths are followed across blocks."""
    files = " ".join(map(str, sources(block)))
    flatten = " -flatten" if block == CHAIN else ""
    script = (
        f"read_verilog {files}; synth_xilinx -family {SYNTH_FAMILY} -top {block} -noiopad{flatten}; "
        f"tee -q -o {report} stat; write_json {netlist}"
    )
    return subprocess.Popen(["yosys", "-q", "-p", script], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def parse_stat(text: str) -> Size:
    """LUT, flip-flop and block RAM counts of a Yosys ``stat`` report of Xilinx cells (of the whole design when
    the report is hierarchical: its per-module sections are not counted again)."""
    hierarchy = "=== design hierarchy ==="
    if hierarchy in text:
        text = text.split(hierarchy, 1)[1]
    cells: dict[str, int] = {}
    for name, count in re.findall(r"^\s+([A-Z][A-Z0-9_]*)\s+(\d+)\s*$", text, flags=re.MULTILINE):
        cells[name] = cells.get(name, 0) + int(count)
    luts = sum(count for name, count in cells.items() if re.fullmatch(r"LUT[1-6]", name))
    ffs = sum(count for name, count in cells.items() if re.fullmatch(r"FD[A-Z]*", name))
    brams = sum(count for name, count in cells.items() if name.startswith("RAMB"))
    return Size(luts=luts, ffs=ffs, brams=brams)


def synth(blocks: tuple[str, ...] = BLOCKS) -> dict[str, Synthesis]:
    """Synthesize the blocks in parallel and return their sizes and logic depths."""
    with tempfile.TemporaryDirectory() as tmp:
        reports = {block: Path(tmp) / f"{block}.stat" for block in blocks}
        netlists = {block: Path(tmp) / f"{block}.json" for block in blocks}
        procs = {block: start_synth(block, reports[block], netlists[block]) for block in blocks}
        out = {}
        for block, proc in procs.items():
            output, _ = proc.communicate()
            if proc.returncode != 0:
                raise RuntimeError(f"yosys failed on {block}:\n{output}")
            out[block] = Synthesis(
                size=parse_stat(reports[block].read_text()),
                depth=logic_depth(json.loads(netlists[block].read_text()), block),
            )
        return out


@dataclass(frozen=True, slots=True, kw_only=True)
class Budget:
    """A block's budget: size (checked with :data:`TOLERANCE`) and logic levels (checked exactly)."""

    size: Size
    max_logic_levels: int


def budget() -> dict[str, Budget]:
    """The budget of every block (``budget.json``)."""
    raw = json.loads(BUDGET.read_text())
    return {
        block: Budget(
            size=Size(luts=limits["luts"], ffs=limits["ffs"], brams=limits["brams"]),
            max_logic_levels=limits["max_logic_levels"],
        )
        for block, limits in raw["blocks"].items()
    }


def over_budget(block: str, result: Synthesis, limit: Budget) -> list[str]:
    """What exceeds the budget: a size more than :data:`TOLERANCE` above it, logic levels above it at all."""
    problems = []
    for name in ("luts", "ffs", "brams"):
        have, allowed = getattr(result.size, name), getattr(limit.size, name)
        if have > allowed * (1 + TOLERANCE):
            problems.append(f"{block}: {have} {name} against a budget of {allowed} (+{TOLERANCE:.0%})")
    if result.depth.levels > limit.max_logic_levels:
        problems.append(
            f"{block}: {result.depth.levels} logic levels against a budget of {limit.max_logic_levels} "
            f"({result.depth.start} -> {result.depth.end})"
        )
    return problems


def main(argv: list[str]) -> int:
    """Command line entry: ``sim|lint|synth [block]``."""
    if len(argv) < 1 or argv[0] not in ("sim", "lint", "synth"):
        print(__doc__)
        return 2
    blocks = tuple(argv[1:]) or BLOCKS
    status = 0
    if argv[0] == "synth":
        for block, result in synth(blocks).items():
            size, depth = result.size, result.depth
            print(f"{block}: {size.luts} LUTs, {size.ffs} FFs, {size.brams} BRAMs, {depth.levels} logic levels")
            print(f"  deepest path: {depth.start} -> {depth.end}")
        return 0
    for block in blocks:
        if argv[0] == "lint":
            report = lint(block)
            print(f"{block}: {report or 'clean'}")
            status |= bool(report)
        else:
            with tempfile.TemporaryDirectory() as tmp:
                count, failures = simulate(block, Path(tmp))
            print(f"{block}: {count} tests, {len(failures)} failed")
            for failure in failures:
                print("  " + failure)
            status |= bool(failures) or count == 0
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
