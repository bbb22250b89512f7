"""Logic depth of a mapped Xilinx netlist: the longest chain of logic cells between registers, a timing proxy.

The netlist is Yosys ``write_json`` after ``synth_xilinx``. A path starts at a module input, a constant or the
output of a sequential cell (flip-flop, block RAM) and ends at a module output or the input of a sequential cell;
every logic cell on it counts one level, as a Vivado timing report counts them: a LUT, a wide-function multiplexer
(MUXF7/8/9), a carry block (CARRY8, eight bits of an adder or comparator) and a distributed-RAM read (RAM32M16 and
the like, a LUT used as memory). Yosys's own ``ltp -noff`` is no help here: it does not know the mapped flip-flops
(FDRE and the like) as flip-flops and follows paths through them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

LOGIC = re.compile(r"LUT[1-6]|MUXF[789]|CARRY[48]|RAM\d+(M|X1[DS])\w*")
"""Cell types that are one level of logic; every other cell type bounds paths."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Depth:
    """The deepest path: its logic levels and the nets it starts and ends on."""

    levels: int
    start: str
    end: str


def logic_depth(netlist: dict[str, Any], top: str) -> Depth:
    """The longest path of module ``top`` of a Yosys JSON netlist, in logic levels."""
    module = netlist["modules"][top]
    names = _bit_names(module)
    drivers: dict[int, str] = {}
    logic: dict[str, list[int]] = {}
    ends: dict[int, str] = {}  # a path's last bit, and what it enters: a register (by its output) or an output
    for name, cell in module["cells"].items():
        inputs, outputs = _split(cell)
        if LOGIC.fullmatch(cell["type"]):
            logic[name] = inputs
            drivers.update(dict.fromkeys(outputs, name))
        else:
            label = names.get(outputs[0], name) if outputs else name
            ends.update((bit, f"{label} ({cell['type']})") for bit in inputs)
    for port, info in module["ports"].items():
        if info["direction"] != "input":
            ends.update((bit, f"output {port}") for bit in info["bits"] if isinstance(bit, int))
    levels = _levels(logic, drivers)

    def level(bit: int) -> int:
        cell = drivers.get(bit)
        return 0 if cell is None else levels[cell][0]

    end = max(ends, key=level, default=None)
    if end is None or level(end) == 0:
        return Depth(levels=0, start="", end="")
    bit = end
    while (cell := drivers.get(bit)) is not None and (previous := levels[cell][1]) is not None:
        bit = previous
    return Depth(levels=level(end), start=names.get(bit, str(bit)), end=ends[end])


def _levels(logic: dict[str, list[int]], drivers: dict[int, str]) -> dict[str, tuple[int, int | None]]:
    """For every logic cell, the levels at its output and its deepest input bit (None without one)."""
    levels: dict[str, tuple[int, int | None]] = {}

    def level(bit: int) -> int:
        cell = drivers.get(bit)
        return 0 if cell is None else levels[cell][0]

    # Depth-first, each cell after the cells driving its inputs (the logic has no loops).
    for root in logic:
        stack = [(root, False)]
        while stack:
            name, expanded = stack.pop()
            if name in levels:
                continue
            inputs = logic[name]
            if expanded:
                deepest = max(inputs, key=level, default=None)
                levels[name] = ((0 if deepest is None else level(deepest)) + 1, deepest)
                continue
            stack.append((name, True))
            stack.extend((drivers[bit], False) for bit in inputs if bit in drivers and drivers[bit] not in levels)
    return levels


def _split(cell: dict[str, Any]) -> tuple[list[int], list[int]]:
    """The cell's input and output bits (constants left out)."""
    inputs: list[int] = []
    outputs: list[int] = []
    for port, bits in cell["connections"].items():
        wires = [bit for bit in bits if isinstance(bit, int)]
        (outputs if cell["port_directions"].get(port) == "output" else inputs).extend(wires)
    return inputs, outputs


def _bit_names(module: dict[str, Any]) -> dict[int, str]:
    """A readable name for every bit: its net's name and index, the names Yosys did not make up first."""
    names: dict[int, str] = {}
    for name, net in sorted(module["netnames"].items(), key=lambda item: item[1].get("hide_name", 0), reverse=True):
        bits = net["bits"]
        for index, bit in enumerate(bits):
            if isinstance(bit, int):
                names[bit] = name if len(bits) == 1 else f"{name}[{index}]"
    return names
