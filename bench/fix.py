"""FIX codec benchmark: parse and encode rates of a ~165-byte NewOrderSingle, ours against ``simplefix``.

Usage: ``python -m bench fix [--messages N] [--runs N] [--json]``. Figures are the median of ``--runs`` timed runs
(messages per second). ``parse`` feeds one frame at a time to :class:`engine.fix.codec.FixParser` (framing,
BodyLength and CheckSum checks, field split); ``encode`` writes a frame from its field list. ``simplefix`` is
measured when importable (``uv pip install simplefix==1.0.17``), else skipped with a note.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable

from engine.fix.codec import FixParser, encode

NEW_ORDER_SINGLE: list[tuple[int, bytes]] = [
    (35, b"D"), (49, b"CLIENT1"), (56, b"EXCHANGE"), (34, b"1234"), (52, b"20240601-13:30:00.123"),
    (11, b"ORD-0000012"), (21, b"1"), (55, b"AAPL"), (54, b"1"), (60, b"20240601-13:30:00.123"),
    (38, b"100"), (40, b"2"), (44, b"187.25"), (59, b"0"),
]  # fmt: skip


def _rate(run: Callable[[int], None], count: int, runs: int) -> float:
    run(max(1, count // 10))
    rates = []
    for _ in range(runs):
        start = time.perf_counter()
        run(count)
        rates.append(count / (time.perf_counter() - start))
    return statistics.median(rates)


def _ours(frame: bytes) -> tuple[Callable[[int], None], Callable[[int], None]]:
    parser = FixParser()

    def parse(count: int) -> None:
        feed = parser.feed
        for _ in range(count):
            feed(frame)

    def write(count: int) -> None:
        for _ in range(count):
            encode(NEW_ORDER_SINGLE)

    return parse, write


def _simplefix(frame: bytes) -> tuple[Callable[[int], None], Callable[[int], None]] | None:
    try:
        import simplefix  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        return None
    parser = simplefix.FixParser()

    def parse(count: int) -> None:
        for _ in range(count):
            parser.append_buffer(frame)
            parser.get_message()

    def write(count: int) -> None:
        for _ in range(count):
            message = simplefix.FixMessage()
            message.append_pair(8, b"FIX.4.4", header=True)
            for tag, value in NEW_ORDER_SINGLE:
                message.append_pair(tag, value, header=tag in (35, 49, 56, 34, 52))
            message.encode()

    return parse, write


def main(argv: list[str]) -> int:
    """Run the benchmark and print its figures (one JSON object with ``--json``)."""
    parser = argparse.ArgumentParser(prog="bench fix", description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=200_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    frame = encode(NEW_ORDER_SINGLE)
    assert len(FixParser().feed(frame)) == 1
    results: dict[str, object] = {"benchmark": "fix", "message_bytes": len(frame), "messages": args.messages}
    parse, write = _ours(frame)
    results["ours_parse_per_s"] = round(_rate(parse, args.messages, args.runs))
    results["ours_encode_per_s"] = round(_rate(write, args.messages, args.runs))
    peer = _simplefix(frame)
    if peer is None:
        results["simplefix"] = "not installed: uv pip install simplefix==1.0.17 (or uv run --with simplefix ...)"
    else:
        count = max(1, args.messages // 10)
        results["simplefix_parse_per_s"] = round(_rate(peer[0], count, args.runs))
        results["simplefix_encode_per_s"] = round(_rate(peer[1], count, args.runs))
    if args.json:
        print(json.dumps(results))
    else:
        for key, value in results.items():
            print(f"{key:>24}: {value:,}" if isinstance(value, int) else f"{key:>24}: {value}")
    return 0
