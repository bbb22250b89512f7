"""The ``itch`` command: ``itch stats FILE [--json] [--pcap]`` and ``itch book FILE --symbol SYM --levels N
--out book.csv [--pcap]``.

FILE is in NASDAQ's historical framing (``[length: uint16 BE][message]`` repeated); with ``--pcap`` it is a
libpcap capture of MoldUDP64 packets (optionally only those sent to ``--port``).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from engine.itch.book import ItchBookError
from engine.itch.bulk import FramedFile
from engine.itch.depth import write_depth_csv
from engine.itch.errors import ItchDecodeError
from engine.itch.sources import load
from engine.itch.stats import compute_stats

EXIT_INPUT = 1
EXIT_USAGE = 2


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    """Add the ``itch`` command (with ``stats`` and ``book``) to an ``add_subparsers()`` object; returns it."""
    itch = subparsers.add_parser("itch", help="inspect ITCH 5.0 files and captures", description=__doc__)
    commands = itch.add_subparsers(dest="itch_command", required=True)

    stats = commands.add_parser("stats", help="message counts in total, per type and per symbol")
    _input_options(stats)
    stats.add_argument("--json", action="store_true", help="print one JSON object")

    book = commands.add_parser("book", help="order book depth after every message of one symbol, as CSV")
    _input_options(book)
    book.add_argument("--symbol", required=True, help="symbol as in the stock directory, e.g. AAPL")
    book.add_argument("--levels", type=int, default=5, help="price levels per side (default 5)")
    book.add_argument("--out", required=True, help="CSV file to write ('-' for standard output)")
    book.add_argument(
        "--lenient", action="store_true", help="skip messages about orders not seen (input starting mid-session)"
    )
    return itch


def _input_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", type=Path, metavar="FILE", help="ITCH file, or a capture with --pcap")
    parser.add_argument("--pcap", action="store_true", help="FILE is a libpcap capture of MoldUDP64 packets")
    parser.add_argument("--port", type=int, help="with --pcap: only UDP datagrams to this port")


def run(args: argparse.Namespace) -> int:
    """Run a parsed ``itch`` command; returns the exit code (1 bad input, 2 bad usage)."""
    try:
        framed = load(args.file, pcap=args.pcap, port=args.port)
        if args.itch_command == "stats":
            stats = compute_stats(framed)
            print(stats.to_json() if args.json else stats.to_text())
            return 0
        return _book(args, framed)
    except (ItchDecodeError, ItchBookError, OSError) as error:
        print(f"error: {args.file}: {error}", file=sys.stderr)
        return EXIT_INPUT


def _book(args: argparse.Namespace, framed: FramedFile) -> int:
    if args.levels < 1:
        print(f"error: --levels must be at least 1, got {args.levels}", file=sys.stderr)
        return EXIT_USAGE
    locates = [locate for locate, symbol in framed.directory().items() if symbol == args.symbol]
    if not locates:
        print(f"error: {args.symbol!r} is not in the stock directory of {args.file}", file=sys.stderr)
        return EXIT_USAGE
    if args.out == "-":
        write_depth_csv(framed, locates[0], args.levels, sys.stdout, strict=not args.lenient)
        return 0
    with open(args.out, "w", newline="", encoding="ascii") as out:
        write_depth_csv(framed, locates[0], args.levels, out, strict=not args.lenient)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``itch ...`` on its own (``python -m engine.itch.cli stats FILE``)."""
    parser = argparse.ArgumentParser(prog="itch")
    add_parser(parser.add_subparsers(dest="command", required=True))
    return run(parser.parse_args(["itch", *(sys.argv[1:] if argv is None else argv)]))


if __name__ == "__main__":
    raise SystemExit(main())
