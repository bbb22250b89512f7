"""Run the benchmarks: all of them, or one by name, printing figures (``--json`` for one JSON object each)."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable

BENCHMARKS = ("matching", "backtest", "tick-to-order", "itch", "ouch", "fix", "desktop")


def _runner(name: str) -> Callable[[list[str]], int]:
    if name == "matching":
        from bench.matching import main as matching

        return matching
    if name == "backtest":
        from bench.backtest import main as backtest

        return backtest
    if name == "itch":
        from bench.itch import main as itch

        return itch
    if name == "ouch":
        from bench.ouch import main as ouch

        return ouch
    if name == "fix":
        from bench.fix import main as fix

        return fix
    if name == "desktop":
        from bench.desktop import main as desktop

        return desktop
    from bench.tick_to_order import main as tick_to_order

    return tick_to_order


def main(argv: list[str]) -> int:
    if argv and argv[0] in BENCHMARKS:
        return _runner(argv[0])(argv[1:])
    if argv and not argv[0].startswith("-"):
        print(f"unknown benchmark {argv[0]!r}; choose from {', '.join(BENCHMARKS)}", file=sys.stderr)
        return 2
    as_json = "--json" in argv
    if as_json:
        print(json.dumps({"benchmarks": list(BENCHMARKS)}))
    for name in BENCHMARKS:
        if not as_json:
            print(f"== {name}")
        code = _runner(name)(list(argv))
        if code:
            return code
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
