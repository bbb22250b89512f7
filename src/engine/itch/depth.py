"""Depth of one instrument's book after every message that carries its stock locate, as CSV rows."""

from __future__ import annotations

import csv
from typing import TextIO

from core.book import OrderBook
from engine.itch.book import ItchBooks, book_ops
from engine.itch.bulk import FramedFile


def depth_header(levels: int) -> list[str]:
    """``msg_index, timestamp_ns`` then ``ask_price_i, ask_size_i, bid_price_i, bid_size_i`` for i = 1..levels."""
    header = ["msg_index", "timestamp_ns"]
    for level in range(1, levels + 1):
        header += [f"ask_price_{level}", f"ask_size_{level}", f"bid_price_{level}", f"bid_size_{level}"]
    return header


def depth_cells(book: OrderBook, levels: int) -> list[str]:
    """The ``levels`` best levels of both sides as CSV cells; a missing level is two empty cells per side."""
    snapshot = book.depth(levels)
    cells: list[str] = []
    for level in range(levels):
        for side in (snapshot.asks, snapshot.bids):
            if level < len(side):
                price, qty, _ = side[level]
                cells += [str(price), str(qty)]
            else:
                cells += ["", ""]
    return cells


def write_depth_csv(framed: FramedFile, locate: int, levels: int, out: TextIO, *, strict: bool = True) -> int:
    """Write the header and one row after every message of ``locate``; returns the number of rows."""
    if levels < 1:
        raise ValueError(f"levels must be at least 1, got {levels}")
    ops = book_ops(framed, [locate])
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(depth_header(levels))
    index, stamps = ops.index.tolist(), ops.timestamp.tolist()

    def row(i: int, book: OrderBook) -> None:
        writer.writerow([index[i], stamps[i], *depth_cells(book, levels)])

    ItchBooks([locate], strict=strict).replay(ops, row)
    return len(ops)
