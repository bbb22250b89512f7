"""The order-level book and the price-level book it feeds through L2 deltas."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from core.book import BookOrder, DepthSnapshot, L2Book, OrderBook
from core.enums import Side
from core.events import ASK, BID, BookUpdate

BUY, SELL = Side.BUY, Side.SELL


def refs_at(book: OrderBook, side: Side, price: int) -> list[int]:
    return [order.order_ref for order in book.orders_at(side, price)]


def deltas(book: OrderBook) -> list[tuple[int, int, int]]:
    return [(side, price, qty) for side, price, qty in book.drain_deltas().tolist()]


@pytest.fixture
def book() -> OrderBook:
    """Bids 100 x 10 (refs 1, 2) and 99 x 7 (ref 3), asks 101 x 4 (ref 4) and 103 x 9 (ref 5), drained."""
    b = OrderBook()
    b.add(1, BUY, 100, 6)
    b.add(2, BUY, 100, 4)
    b.add(3, BUY, 99, 7)
    b.add(4, SELL, 101, 4)
    b.add(5, SELL, 103, 9)
    b.drain_deltas()
    return b


def test_an_empty_book() -> None:
    b = OrderBook()
    assert b.best_bid() is None
    assert b.best_ask() is None
    assert b.depth() == DepthSnapshot(bids=(), asks=())
    assert b.orders_at(BUY, 100) == ()
    assert len(b) == 0
    assert b.drain_deltas().shape == (0, 3)


def test_top_and_depth(book: OrderBook) -> None:
    assert book.best_bid() == (100, 10)
    assert book.best_ask() == (101, 4)
    assert book.depth() == DepthSnapshot(bids=((100, 10, 2), (99, 7, 1)), asks=((101, 4, 1), (103, 9, 1)))
    assert book.depth(1) == DepthSnapshot(bids=((100, 10, 2),), asks=((101, 4, 1),))
    assert book.depth(0) == DepthSnapshot(bids=(), asks=())
    assert book.depth(1).price_levels() == (((100, 10),), ((101, 4),))
    assert len(book) == 5
    assert 3 in book
    assert 42 not in book


def test_depth_orders_levels_best_first_whatever_the_arrival_order() -> None:
    b = OrderBook()
    for ref, price in enumerate([50, 70, 60, 40, 65], start=1):
        b.add(ref, BUY, price, ref)
        b.add(100 + ref, SELL, price + 100, ref)
    assert [p for p, _, _ in b.depth(10).bids] == [70, 65, 60, 50, 40]
    assert [p for p, _, _ in b.depth(10).asks] == [140, 150, 160, 165, 170]
    assert [p for p, _, _ in b.depth(3).asks] == [140, 150, 160]
    with pytest.raises(ValueError, match="levels must not be negative"):
        b.depth(-1)


def test_fifo_within_a_level(book: OrderBook) -> None:
    book.add(6, BUY, 100, 1)
    assert refs_at(book, BUY, 100) == [1, 2, 6]
    assert book.execute(1, 2) == 4  # a partial execution keeps the order first in line
    assert refs_at(book, BUY, 100) == [1, 2, 6]
    assert book.cancel(2, 1) == 3  # so does a partial cancel
    assert refs_at(book, BUY, 100) == [1, 2, 6]
    book.replace(1, 7, 100, 4)  # a replace goes to the back, even at the same price
    assert refs_at(book, BUY, 100) == [2, 6, 7]
    assert book.orders_at(BUY, 100) == (
        BookOrder(order_ref=2, side=BUY, price=100, quantity=3),
        BookOrder(order_ref=6, side=BUY, price=100, quantity=1),
        BookOrder(order_ref=7, side=BUY, price=100, quantity=4),
    )


def test_executions_remove_orders_and_levels(book: OrderBook) -> None:
    assert book.execute(4, 4) == 0
    assert 4 not in book
    assert book.best_ask() == (103, 9)
    assert book.execute(1, 6) == 0
    assert book.best_bid() == (100, 4)
    assert book.get(2) == BookOrder(order_ref=2, side=BUY, price=100, quantity=4)
    assert deltas(book) == [(ASK, 101, 0), (BID, 100, 4)]


def test_cancel_and_delete(book: OrderBook) -> None:
    assert book.cancel(5, 5) == 4
    assert book.best_ask() == (101, 4)
    assert book.depth().asks == ((101, 4, 1), (103, 4, 1))
    assert book.cancel(5, 4) == 0
    assert book.delete(3) == BookOrder(order_ref=3, side=BUY, price=99, quantity=7)
    assert book.depth() == DepthSnapshot(bids=((100, 10, 2),), asks=((101, 4, 1),))
    assert deltas(book) == [(ASK, 103, 0), (BID, 99, 0)]


def test_replace_moves_the_order_and_keeps_its_side(book: OrderBook) -> None:
    book.replace(4, 40, 102, 6)
    assert 4 not in book
    assert book.get(40) == BookOrder(order_ref=40, side=SELL, price=102, quantity=6)
    assert book.depth().asks == ((102, 6, 1), (103, 9, 1))
    book.replace(40, 40, 103, 1)  # the same reference may be reused
    assert refs_at(book, SELL, 103) == [5, 40]
    assert deltas(book) == [(ASK, 101, 0), (ASK, 103, 10)]


def test_a_crossed_feed_is_kept_as_said(book: OrderBook) -> None:
    book.add(9, BUY, 102, 1)
    assert book.best_bid() == (102, 1)
    assert book.best_ask() == (101, 4)


def test_unknown_references_raise_key_error(book: OrderBook) -> None:
    snapshot = book.depth()
    for call in (
        lambda: book.execute(42, 1),
        lambda: book.cancel(42, 1),
        lambda: book.delete(42),
        lambda: book.replace(42, 43, 100, 1),
        lambda: book.get(42),
    ):
        with pytest.raises(KeyError, match="order 42 is not in the book"):
            call()
    assert book.depth() == snapshot
    assert deltas(book) == []


@pytest.mark.parametrize(
    ("action", "message"),
    [
        (lambda b: b.add(1, BUY, 100, 1), "order 1 is already in the book"),
        (lambda b: b.replace(4, 5, 101, 1), "order 5 is already in the book"),
        (lambda b: b.add(9, BUY, 0, 1), "price must be positive"),
        (lambda b: b.add(9, SELL, -5, 1), "price must be positive"),
        (lambda b: b.add(9, BUY, 100, 0), "quantity must be positive"),
        (lambda b: b.replace(4, 9, 101, 0), "quantity must be positive"),
        (lambda b: b.replace(4, 9, 0, 3), "price must be positive"),
        (lambda b: b.execute(1, 0), "quantity to execute must be positive"),
        (lambda b: b.cancel(1, -1), "quantity to cancel must be positive"),
        (lambda b: b.execute(1, 7), "cannot execute 7 of order 1: only 6 rests"),
        (lambda b: b.cancel(4, 5), "cannot cancel 5 of order 4: only 4 rests"),
        (lambda b: b.add(9, "1", 100, 1), "side must be Side.BUY or Side.SELL"),
    ],
)
def test_bad_messages_raise_value_error_and_change_nothing(
    book: OrderBook, action: Callable[[OrderBook], object], message: str
) -> None:
    snapshot = book.depth()
    fifo = refs_at(book, BUY, 100)
    with pytest.raises(ValueError, match=message):
        action(book)
    assert book.depth() == snapshot
    assert refs_at(book, BUY, 100) == fifo
    assert deltas(book) == []


def test_deltas_are_one_row_per_level_with_the_latest_quantity() -> None:
    b = OrderBook()
    b.add(1, BUY, 100, 5)
    b.add(2, BUY, 100, 3)
    b.add(3, SELL, 105, 2)
    b.execute(1, 2)
    b.add(4, BUY, 98, 1)
    assert deltas(b) == [(BID, 100, 6), (ASK, 105, 2), (BID, 98, 1)]
    assert deltas(b) == []  # drained


def test_deltas_report_gone_levels_and_leave_out_changes_that_cancel() -> None:
    b = OrderBook()
    b.add(1, BUY, 100, 5)
    b.drain_deltas()
    b.add(2, SELL, 110, 1)
    b.delete(2)  # appeared and vanished between two drains: nothing to say
    b.execute(1, 5)
    b.add(3, BUY, 100, 5)  # back to the quantity last published
    b.add(4, BUY, 99, 2)
    b.delete(4)
    assert deltas(b) == []
    b.delete(3)
    assert deltas(b) == [(BID, 100, 0)]


def test_drained_deltas_fit_a_book_update() -> None:
    b = OrderBook()
    b.add(1, BUY, 1_000_000, 5)
    b.add(2, SELL, 1_000_100, 7)
    drained = b.drain_deltas()
    assert drained.dtype == np.int64
    assert drained.shape == (2, 3)
    assert not drained.flags.writeable
    bid, ask = b.best_bid(), b.best_ask()
    assert bid is not None
    assert ask is not None
    update = BookUpdate(
        instrument="AAPL",
        ts_ns=1,
        sequence=1,
        deltas=drained,
        best_bid=bid[0],
        best_bid_qty=bid[1],
        best_ask=ask[0],
        best_ask_qty=ask[1],
    )
    assert update.mid_x2 == 2_000_100
    mirror = L2Book()
    mirror.apply_deltas(update.deltas)
    assert mirror.depth().price_levels() == b.depth().price_levels()


def test_clear_reports_every_level_gone(book: OrderBook) -> None:
    book.clear()
    assert len(book) == 0
    assert book.depth() == DepthSnapshot(bids=(), asks=())
    assert sorted(deltas(book)) == [(BID, 99, 0), (BID, 100, 0), (ASK, 101, 0), (ASK, 103, 0)]
    book.add(1, BUY, 100, 1)  # references are free again
    assert book.best_bid() == (100, 1)


# --- L2Book --------------------------------------------------------------------------------------------


def rows(*items: tuple[int, int, int]) -> np.ndarray:
    return np.array(items, dtype=np.int64).reshape(len(items), 3)


def test_l2_book_applies_deltas() -> None:
    l2 = L2Book()
    assert l2.best_bid() is None
    assert l2.best_ask() is None
    l2.apply_deltas(rows((BID, 100, 10), (BID, 99, 7), (ASK, 101, 4), (ASK, 103, 9)))
    assert l2.best_bid() == (100, 10)
    assert l2.best_ask() == (101, 4)
    assert l2.depth() == DepthSnapshot(bids=((100, 10, 0), (99, 7, 0)), asks=((101, 4, 0), (103, 9, 0)))
    l2.apply_deltas(rows((BID, 100, 0), (ASK, 101, 2), (ASK, 102, 0)))  # 102 was never there: harmless
    assert l2.depth(1) == DepthSnapshot(bids=((99, 7, 0),), asks=((101, 2, 0),))
    l2.apply_deltas(rows((BID, 98, 1), (BID, 98, 3)))  # a later row wins
    assert l2.depth().bids == ((99, 7, 0), (98, 3, 0))
    l2.apply_deltas(rows())
    assert l2.best_bid() == (99, 7)


def test_l2_book_set_level_and_clear() -> None:
    l2 = L2Book()
    l2.set_level(BUY, 100, 5)
    l2.set_level(SELL, 101, 2)
    l2.set_level(BUY, 100, 0)
    assert l2.best_bid() is None
    assert l2.best_ask() == (101, 2)
    with pytest.raises(ValueError, match="quantity must not be negative"):
        l2.set_level(SELL, 101, -1)
    with pytest.raises(ValueError, match="price must be positive"):
        l2.set_level(SELL, 0, 1)
    l2.clear()
    assert l2.depth() == DepthSnapshot(bids=(), asks=())


@pytest.mark.parametrize(
    ("array", "message"),
    [
        (np.array([[0, 100, 1.5]]), "integer array"),
        (np.array([0, 100, 1], dtype=np.int64), r"shape \(n, 3\)"),
        (np.zeros((1, 4), dtype=np.int64), r"shape \(n, 3\)"),
        (rows((BID, 100, 1), (2, 100, 1)), "sides must be 0 \\(bid\\) or 1 \\(ask\\)"),
        (rows((BID, 100, 1), (ASK, 0, 1)), "prices must be positive"),
        (rows((BID, 100, 1), (ASK, 101, -1)), "quantities must not be negative"),
    ],
)
def test_l2_book_refuses_a_bad_array_whole(array: np.ndarray, message: str) -> None:
    l2 = L2Book()
    l2.apply_deltas(rows((BID, 90, 1)))
    with pytest.raises(ValueError, match=message):
        l2.apply_deltas(array)
    assert l2.depth() == DepthSnapshot(bids=((90, 1, 0),), asks=())
