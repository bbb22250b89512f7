"""ITCH benchmark: decode a synthetic ITCH 5.0 file in bulk and packet by packet, and build its L3 books.

Usage: ``python -m bench itch [--messages N] [--runs N] [--seed S] [--book-messages N] [--live-messages N]
[--save FILE] [--json]``.

The file is generated from a fixed seed: a system event and one Stock Directory message per symbol, then the
lives of many orders over eight symbols (add, often a partial cancel, sometimes a partial execution, then a
delete, a full execution or a replace whose new order is later deleted), with non-displayed trades (P)
sprinkled in, and an end-of-day system event. Figures (the median of ``--runs`` timed runs after a warm-up):

- ``scan``: the boundary + type pass alone (compiled sequential scan), messages/s;
- ``bulk``: the scan plus gathering every message type's fields as numpy columns, messages/s and MB/s;
- ``live``: MoldUDP64 packets (up to 1,400 bytes) parsed and each message decoded into its dataclass;
- ``book``: L3 books of every symbol built from the file's first ``--book-messages`` messages with
  :class:`core.book.OrderBook` (numpy gathering of the fields, then one loop).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import numpy.typing as npt

from engine.itch.book import ItchBooks, book_ops
from engine.itch.bulk import FramedFile, scan_boundaries
from engine.itch.decode import decode_message
from engine.itch.encode import encode_message, frame_records
from engine.itch.messages import StockDirectory, SystemEvent, wire_dtype
from engine.itch.moldudp64 import build_packet, parse_packet

DEFAULT_MESSAGES = 3_000_000
DEFAULT_SEED = 20_240_601
SYMBOLS = ("AAPL", "MSFT", "NVDA", "AMZN", "GOOGL", "META", "TSLA", "ZVZZT")
OPEN_NS = 34_200 * 1_000_000_000
CLOSE_NS = 57_600 * 1_000_000_000
MESSAGES_PER_ORDER = 2.67
"""About how many messages one order's life produces with the mix below (to size the file)."""
PACKET_BYTES = 1_400

U8 = npt.NDArray[np.uint8]
I64 = npt.NDArray[np.int64]


def _directory(locate: int, symbol: str) -> bytes:
    return encode_message(
        StockDirectory(
            stock_locate=locate, tracking_number=0, timestamp=OPEN_NS - 1_000_000 + locate, stock=symbol,
            market_category="Q", financial_status="N", round_lot_size=100, round_lots_only="N",
            issue_classification="C", issue_subtype="Z", authenticity="P", short_sale_threshold="N", ipo_flag="N",
            luld_tier="1", etp_flag="N", etp_leverage_factor=0, inverse_indicator="N",
        )
    )  # fmt: skip


class _Events:
    """Events of the synthetic day as parallel lists of arrays, merged and sorted by time at the end."""

    def __init__(self) -> None:
        self.parts: dict[str, list[I64]] = {key: [] for key in ("time", "kind", "order", "ref", "aux")}

    def add(self, time_ns: I64, kind: str, order: I64, ref: I64, aux: I64 | np.int64) -> None:
        size = time_ns.size
        self.parts["time"].append(time_ns)
        self.parts["kind"].append(np.full(size, ord(kind), dtype=np.int64))
        self.parts["order"].append(order)
        self.parts["ref"].append(ref)
        self.parts["aux"].append(np.broadcast_to(aux, size).astype(np.int64))

    def sorted(self) -> dict[str, I64]:
        merged = {key: np.concatenate(values) for key, values in self.parts.items()}
        order = np.argsort(merged["time"], kind="stable")
        return {key: values[order] for key, values in merged.items()}


def generate(messages: int, seed: int = DEFAULT_SEED) -> U8:
    """A framed ITCH 5.0 file of about ``messages`` messages (vectorised; a few seconds for millions)."""
    rng = np.random.default_rng(seed)
    orders = max(1, int(messages / MESSAGES_PER_ORDER))
    locate = rng.integers(1, len(SYMBOLS) + 1, orders)
    mid = 1_000_000 + 250_000 * locate
    buy = rng.random(orders) < 0.5
    offset = rng.integers(1, 21, orders) * 100
    price = np.where(buy, mid - offset, mid + offset)
    shares = rng.integers(1, 11, orders) * 100
    ref = np.arange(1, orders + 1, dtype=np.int64)
    t = np.sort(rng.integers(OPEN_NS, CLOSE_NS, orders))
    zeros = np.zeros(orders, dtype=np.int64)
    events = _Events()
    events.add(t, "A", np.arange(orders), ref, zeros)

    def later(base: I64) -> I64:
        return base + 1 + rng.exponential(2e8, base.size).astype(np.int64)

    left = shares.copy()
    t_x = later(t)
    cancel = (rng.random(orders) < 0.3) & (left >= 200)
    events.add(t_x[cancel], "X", np.flatnonzero(cancel), ref[cancel], np.int64(100))
    left[cancel] -= 100
    t_e = later(t_x)
    execute = (rng.random(orders) < 0.25) & (left >= 200)
    events.add(t_e[execute], "E", np.flatnonzero(execute), ref[execute], np.int64(100))
    left[execute] -= 100
    t_end = later(t_e)
    fate = rng.random(orders)
    replace, filled = fate < 0.15, (fate >= 0.15) & (fate < 0.30)
    deleted = fate >= 0.30
    events.add(t_end[filled], "E", np.flatnonzero(filled), ref[filled], left[filled])
    events.add(t_end[deleted], "D", np.flatnonzero(deleted), ref[deleted], zeros[deleted])
    new_ref = orders + 1 + np.arange(int(replace.sum()), dtype=np.int64)
    events.add(t_end[replace], "U", np.flatnonzero(replace), ref[replace], new_ref)
    events.add(later(t_end[replace]), "D", np.flatnonzero(replace), new_ref, zeros[replace])
    trades = max(1, orders // 30)
    trade_at = rng.integers(OPEN_NS, CLOSE_NS, trades)
    events.add(trade_at, "P", rng.integers(0, orders, trades), np.zeros(trades, dtype=np.int64), np.int64(0))
    ev = events.sorted()
    return _frame(ev, locate, buy, price, shares, rng)


def _records(ev: dict[str, I64], letter: str, locate: I64) -> tuple[npt.NDArray[np.void], I64, I64]:
    where = ev["kind"] == ord(letter)
    order = ev["order"][where]
    recs = np.zeros(int(where.sum()), dtype=wire_dtype(letter))
    stamp = ev["time"][where]
    recs["stock_locate"] = locate[order]
    recs["timestamp_hi"] = stamp >> 32
    recs["timestamp_lo"] = stamp & 0xFFFFFFFF
    return recs, order, where


def _frame(
    ev: dict[str, I64], locate: I64, buy: npt.NDArray[np.bool_], price: I64, shares: I64, rng: np.random.Generator
) -> U8:
    stock = np.array([symbol.encode().ljust(8) for symbol in SYMBOLS], dtype="S8")
    side = np.where(buy, b"B", b"S")
    records: dict[str, npt.NDArray[np.void]] = {}
    recs, order, where = _records(ev, "A", locate)
    recs["order_ref"], recs["side"], recs["shares"] = ev["ref"][where], side[order], shares[order]
    recs["stock"], recs["price"] = stock[locate[order] - 1], price[order]
    records["A"] = recs
    recs, _, where = _records(ev, "E", locate)
    recs["order_ref"], recs["executed_shares"] = ev["ref"][where], ev["aux"][where]
    recs["match_number"] = np.arange(1, recs.size + 1)
    records["E"] = recs
    recs, _, where = _records(ev, "X", locate)
    recs["order_ref"], recs["cancelled_shares"] = ev["ref"][where], ev["aux"][where]
    records["X"] = recs
    recs, _, where = _records(ev, "D", locate)
    recs["order_ref"] = ev["ref"][where]
    records["D"] = recs
    recs, order, where = _records(ev, "U", locate)
    recs["original_order_ref"], recs["new_order_ref"] = ev["ref"][where], ev["aux"][where]
    recs["shares"] = shares[order]
    recs["price"] = price[order] + np.where(buy[order], -100, 100) * rng.integers(0, 3, order.size)
    records["U"] = recs
    recs, order, where = _records(ev, "P", locate)
    recs["side"], recs["shares"], recs["stock"] = side[order], 100, stock[locate[order] - 1]
    recs["price"], recs["match_number"] = price[order], 10_000_000_000 + np.arange(recs.size)
    records["P"] = recs
    records["R"] = np.frombuffer(
        b"".join(_directory(i + 1, symbol) for i, symbol in enumerate(SYMBOLS)), dtype=wire_dtype("R")
    )
    records["S"] = np.frombuffer(
        b"".join(
            encode_message(SystemEvent(stock_locate=0, tracking_number=0, timestamp=stamp, event_code=code))
            for stamp, code in ((OPEN_NS - 2_000_000, "O"), (CLOSE_NS + 1, "C"))
        ),
        dtype=wire_dtype("S"),
    )
    order_bytes = np.concatenate([[ord("S")], np.full(len(SYMBOLS), ord("R")), ev["kind"], [ord("S")]]).astype(np.uint8)
    return frame_records(order_bytes, records)


def _packets(framed: FramedFile, count: int) -> list[bytes]:
    """The first ``count`` messages as MoldUDP64 packets of up to ``PACKET_BYTES`` bytes."""
    buf, offsets = framed.buffer, framed.offsets
    packets: list[bytes] = []
    batch: list[bytes] = []
    size, sequence = 20, 1
    for i in range(min(count, len(framed))):
        start = int(offsets[i])
        message = buf[start : start + (int(buf[start - 2]) << 8 | int(buf[start - 1]))].tobytes()
        if size + 2 + len(message) > PACKET_BYTES:
            packets.append(build_packet("BENCH00001", sequence, batch))
            sequence += len(batch)
            batch, size = [], 20
        batch.append(message)
        size += 2 + len(message)
    if batch:
        packets.append(build_packet("BENCH00001", sequence, batch))
    return packets


def _median_seconds(job: Callable[[], object], runs: int) -> float:
    job()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        job()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _decode_packets(packets: list[bytes]) -> int:
    count = 0
    for wire in packets:
        for message in parse_packet(wire).messages:
            decode_message(message)
            count += 1
    return count


def _bulk(buf: U8) -> FramedFile:
    framed = FramedFile(buf)
    for letter in framed.type_counts():
        framed.columns(letter)
    return framed


def measure(messages: int, seed: int, runs: int, book_messages: int, live_messages: int) -> dict[str, object]:
    """Generate the file and time every stage; returns the figures."""
    started = time.perf_counter()
    buf = generate(messages, seed)
    generated_s = time.perf_counter() - started
    framed = FramedFile(buf)
    count, megabytes = len(framed), buf.size / 1e6
    scan_s = _median_seconds(lambda: scan_boundaries(buf), runs)
    bulk_s = _median_seconds(lambda: _bulk(buf), runs)
    packets = _packets(framed, live_messages)
    live_count = _decode_packets(packets)
    live_s = _median_seconds(lambda: _decode_packets(packets), runs)
    book_count = min(book_messages, count)
    prefix = FramedFile(buf[: _end_of(framed, book_count)])
    book_s = _median_seconds(lambda: ItchBooks().replay(book_ops(prefix)), runs)
    return {
        "benchmark": "itch",
        "messages": count,
        "megabytes": round(megabytes, 1),
        "by_type": framed.type_counts(),
        "generate_s": round(generated_s, 2),
        "scan_msgs_per_s": round(count / scan_s),
        "scan_mb_per_s": round(megabytes / scan_s),
        "bulk_msgs_per_s": round(count / bulk_s),
        "bulk_mb_per_s": round(megabytes / bulk_s),
        "live_messages": live_count,
        "live_packets": len(packets),
        "live_msgs_per_s": round(live_count / live_s),
        "book_messages": book_count,
        "book_msgs_per_s": round(book_count / book_s),
        "runs": runs,
    }


def _end_of(framed: FramedFile, count: int) -> int:
    """Byte length of the first ``count`` messages with their length prefixes."""
    if count >= len(framed):
        return framed.nbytes
    return int(framed.offsets[count]) - 2


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench itch")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--messages", type=int, default=DEFAULT_MESSAGES, help="size of the synthetic file")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--book-messages", type=int, default=1_000_000, help="messages fed to the L3 books")
    parser.add_argument("--live-messages", type=int, default=300_000, help="messages decoded packet by packet")
    parser.add_argument("--save", type=Path, help="also write the synthetic file here")
    args = parser.parse_args(argv)
    figures = measure(args.messages, args.seed, args.runs, args.book_messages, args.live_messages)
    if args.save:
        generate(args.messages, args.seed).tofile(args.save)
    if args.json:
        print(json.dumps(figures))
        return 0
    print(f"ITCH 5.0 synthetic file: {figures['messages']:,} messages, {figures['megabytes']} MB")
    print(f"  boundary+type scan : {figures['scan_msgs_per_s']:>13,} msgs/s  {figures['scan_mb_per_s']:>6,} MB/s")
    print(f"  bulk decode (numpy): {figures['bulk_msgs_per_s']:>13,} msgs/s  {figures['bulk_mb_per_s']:>6,} MB/s")
    print(f"  live per-packet    : {figures['live_msgs_per_s']:>13,} msgs/s  ({figures['live_packets']:,} packets)")
    print(f"  L3 book build      : {figures['book_msgs_per_s']:>13,} msgs/s  ({figures['book_messages']:,} messages)")
    return 0


if __name__ == "__main__":
    import sys

    raise SystemExit(main(sys.argv[1:]))
