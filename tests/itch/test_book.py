"""Order-level books from ITCH: the live and the bulk path agree with a naive reference."""

from __future__ import annotations

import pytest

from core.enums import Side
from engine.itch.book import ItchBookError, ItchBooks, book_ops
from engine.itch.bulk import FramedFile
from engine.itch.encode import encode_framed
from engine.itch.messages import AddOrder, AddOrderMpid, OrderDelete, OrderExecuted, OrderReplace
from tests.itch.reference import depth_rows
from tests.itch.scenario import SYMBOLS, session


def _depth_as_rows(books: ItchBooks, locate: int, levels: int) -> list[str]:
    snapshot = books.book(locate).depth(levels)
    cells: list[str] = []
    for level in range(levels):
        for side in (snapshot.asks, snapshot.bids):
            cells += [str(side[level][0]), str(side[level][1])] if level < len(side) else ["", ""]
    return cells


def _replayed_rows(framed: FramedFile, locate: int, levels: int) -> list[list[str]]:
    books = ItchBooks([locate])
    ops = book_ops(framed, [locate])
    rows: list[list[str]] = []

    def row(i: int, _book: object) -> None:
        rows.append([str(ops.index[i]), str(ops.timestamp[i]), *_depth_as_rows(books, locate, levels)])

    books.replay(ops, row)
    return rows


def test_live_and_bulk_paths_match_the_reference_after_every_message() -> None:
    messages = session(seed=11, count=800)
    framed = FramedFile(encode_framed(messages))
    for locate in SYMBOLS:
        expected = depth_rows(messages, locate, 3)
        live = ItchBooks([locate])
        live_rows = []
        for index, message in enumerate(messages):
            if live.apply(message):
                live_rows.append([str(index), str(message.timestamp), *_depth_as_rows(live, locate, 3)])
        assert live_rows == expected
        bulk_rows = _replayed_rows(framed, locate, 3)
        assert bulk_rows == expected


def test_replay_of_all_locates_builds_every_book() -> None:
    messages = session(seed=5, count=400)
    books = ItchBooks()
    books.replay(book_ops(FramedFile(encode_framed(messages))))
    live = ItchBooks()
    for message in messages:
        live.apply(message)
    assert set(books.books) == set(live.books) >= set(SYMBOLS)
    for locate, book in books.books.items():
        assert book.depth(50) == live.book(locate).depth(50)


def _add(ref: int, side: str, price: int, shares: int, *, mpid: bool = False) -> AddOrder | AddOrderMpid:
    head = {"stock_locate": 1, "tracking_number": 0, "timestamp": ref}
    body = {"order_ref": ref, "side": side, "shares": shares, "stock": "AAPL", "price": price}
    if mpid:
        return AddOrderMpid(**head, **body, attribution="MPID")  # type: ignore[arg-type]
    return AddOrder(**head, **body)  # type: ignore[arg-type]


def test_replace_goes_to_the_back_of_the_level_with_the_same_side() -> None:
    books = ItchBooks([1])
    for message in (_add(1, "S", 1_000_100, 100), _add(2, "S", 1_000_100, 200, mpid=True)):
        books.apply(message)
    books.apply(
        OrderReplace(stock_locate=1, tracking_number=0, timestamp=3, original_order_ref=1, new_order_ref=9,
                     shares=300, price=1_000_100)
    )  # fmt: skip
    queue = books.book(1).orders_at(Side.SELL, 1_000_100)
    assert [(o.order_ref, o.quantity) for o in queue] == [(2, 200), (9, 300)]


def test_untracked_locates_are_ignored() -> None:
    books = ItchBooks([2])
    assert not books.apply(_add(1, "B", 100, 100))
    assert books.books[2].depth(1).bids == ()


def test_unknown_reference_is_an_error_unless_lenient() -> None:
    execute = OrderExecuted(stock_locate=1, tracking_number=0, timestamp=1, order_ref=404, executed_shares=1,
                            match_number=1)  # fmt: skip
    with pytest.raises(ItchBookError, match="404"):
        ItchBooks([1]).apply(execute)
    lenient = ItchBooks([1], strict=False)
    lenient.apply(execute)
    lenient.apply(OrderDelete(stock_locate=1, tracking_number=0, timestamp=2, order_ref=405))
    assert lenient.unknown_refs == 2


def test_bulk_errors_name_the_message_index() -> None:
    messages = [_add(1, "B", 100, 100), _add(1, "B", 100, 100)]
    framed = FramedFile(encode_framed(messages))
    with pytest.raises(ItchBookError, match=r"message 1: .*already in the book"):
        ItchBooks([1]).replay(book_ops(framed, [1]))
