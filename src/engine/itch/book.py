"""Order-level (L3) books of ITCH 5.0 instruments, kept with :class:`core.book.OrderBook`.

Only the displayed book changes: Add Order (A, F), Order Executed (E), Executed With Price (C, which executes at
another price but removes the same shares), Order Cancel (X, partial), Order Delete (D) and Order Replace (U: the
new reference goes to the back of its level, same side). Other messages of a tracked locate leave the book as it
is. Two paths share the rules: :meth:`ItchBooks.apply` takes decoded messages one by one (live), and
:func:`book_ops` + :meth:`ItchBooks.replay` gather the fields of a whole file with numpy and run one tight loop.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from core.book import OrderBook
from core.enums import Side
from engine.itch.bulk import FramedFile
from engine.itch.messages import (
    AddOrder,
    AddOrderMpid,
    Message,
    OrderCancel,
    OrderDelete,
    OrderExecuted,
    OrderExecutedWithPrice,
    OrderReplace,
)

I64 = npt.NDArray[np.int64]

_A, _F, _E, _C, _X, _D, _U = (ord(letter) for letter in "AFECXDU")
_SHARES_FIELD = {"A": "shares", "F": "shares", "E": "executed_shares", "C": "executed_shares", "X": "cancelled_shares"}


class ItchBookError(ValueError):
    """A message that the book cannot apply (unknown or duplicate reference, over-execution)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class BookOps:
    """The selected messages of a file as parallel arrays, in file order.

    ``kind`` is the type byte; ``ref``, ``new_ref``, ``shares``, ``price`` and ``buy`` (1 buy, 0 sell) are
    filled for the book messages (for U, ``ref`` is the original reference) and 0 for the others.
    """

    index: I64
    kind: npt.NDArray[np.uint8]
    locate: I64
    timestamp: I64
    ref: npt.NDArray[np.uint64]
    new_ref: npt.NDArray[np.uint64]
    shares: I64
    price: I64
    buy: npt.NDArray[np.int8]

    def __len__(self) -> int:
        return int(self.index.size)


def book_ops(framed: FramedFile, locates: Iterable[int] | None = None) -> BookOps:
    """Gather the messages carrying one of ``locates`` (every message when None) with numpy."""
    all_locates = framed.locates()
    if locates is None:
        chosen = np.arange(len(framed), dtype=np.int64)
    else:
        chosen = np.flatnonzero(np.isin(all_locates, np.fromiter(locates, dtype=np.int64))).astype(np.int64)
    kind = framed.types[chosen]
    count = chosen.size
    ref = np.zeros(count, dtype=np.uint64)
    new_ref = np.zeros(count, dtype=np.uint64)
    shares = np.zeros(count, dtype=np.int64)
    price = np.zeros(count, dtype=np.int64)
    buy = np.zeros(count, dtype=np.int8)
    for letter in "AFECXDU":
        where = np.flatnonzero(kind == ord(letter))
        if where.size == 0:
            continue
        cols = framed.columns(letter, chosen[where])
        if letter == "U":
            ref[where] = cols["original_order_ref"]
            new_ref[where] = cols["new_order_ref"]
        else:
            ref[where] = cols["order_ref"]
        if letter in _SHARES_FIELD or letter == "U":
            shares[where] = cols[_SHARES_FIELD.get(letter, "shares")]
        if letter in "AFU":
            price[where] = cols["price"]
        if letter in "AF":
            buy[where] = cols["side"] == b"B"
    return BookOps(
        index=chosen,
        kind=kind,
        locate=all_locates[chosen],
        timestamp=framed.timestamps()[chosen],
        ref=ref,
        new_ref=new_ref,
        shares=shares,
        price=price,
        buy=buy,
    )


class ItchBooks:
    """One :class:`core.book.OrderBook` per tracked stock locate (every non-zero locate seen, when ``locates`` is
    None: locate 0 marks system-wide messages).

    With ``strict`` (the default) a message about an unknown order reference raises :class:`ItchBookError`;
    without it such messages (orders added before the input began) are skipped and counted in
    :attr:`unknown_refs`. Other inconsistencies (a duplicate reference, executing more than rests) always raise.
    """

    __slots__ = ("_books", "_track_all", "strict", "unknown_refs")

    def __init__(self, locates: Iterable[int] | None = None, *, strict: bool = True) -> None:
        self._track_all = locates is None
        self._books: dict[int, OrderBook] = {} if locates is None else {loc: OrderBook() for loc in locates}
        self.strict = strict
        self.unknown_refs = 0

    @property
    def books(self) -> dict[int, OrderBook]:
        """The books by stock locate."""
        return self._books

    def book(self, locate: int) -> OrderBook:
        """The book of ``locate`` (created empty when every locate is tracked); ``KeyError`` if untracked."""
        book = self._books.get(locate)
        if book is None:
            if not self._track_all:
                raise KeyError(f"stock locate {locate} is not tracked")
            book = self._books[locate] = OrderBook()
        return book

    def tracks(self, locate: int) -> bool:
        """True when messages of ``locate`` update a book here."""
        return locate in self._books or (self._track_all and locate != 0)

    def apply(self, message: Message) -> bool:
        """Apply one decoded message; True when it carries a tracked locate (whether or not it changes a book)."""
        locate = message.stock_locate
        if not self.tracks(locate):
            return False
        book = self.book(locate)
        match message:
            case AddOrder() | AddOrderMpid():
                op = (_A, message.order_ref, 0, message.shares, message.price, message.side == "B")
            case OrderExecuted() | OrderExecutedWithPrice():
                op = (_E, message.order_ref, 0, message.executed_shares, 0, False)
            case OrderCancel():
                op = (_X, message.order_ref, 0, message.cancelled_shares, 0, False)
            case OrderDelete():
                op = (_D, message.order_ref, 0, 0, 0, False)
            case OrderReplace():
                op = (_U, message.original_order_ref, message.new_order_ref, message.shares, message.price, False)
            case _:
                return True
        self._apply(book, *op)
        return True

    def replay(self, ops: BookOps, on_message: Callable[[int, OrderBook], None] | None = None) -> None:
        """Apply gathered messages in order; ``on_message(i, book)`` runs after message ``i`` of ``ops`` when
        given. Messages of untracked locates are skipped."""
        rows = zip(
            ops.kind.tolist(),
            ops.locate.tolist(),
            ops.ref.tolist(),
            ops.new_ref.tolist(),
            ops.shares.tolist(),
            ops.price.tolist(),
            ops.buy.tolist(),
            strict=True,
        )
        books, track_all, apply = self._books, self._track_all, self._apply
        for i, (kind, locate, ref, new_ref, shares, price, buy) in enumerate(rows):
            book = books.get(locate)
            if book is None:
                if not track_all or locate == 0:
                    continue
                book = self.book(locate)
            if kind == _C:
                kind = _E
            elif kind == _F:
                kind = _A
            try:
                apply(book, kind, ref, new_ref, shares, price, buy)
            except ItchBookError as error:
                raise ItchBookError(f"message {int(ops.index[i])}: {error}") from None
            if on_message is not None:
                on_message(i, book)

    def _apply(self, book: OrderBook, kind: int, ref: int, new_ref: int, shares: int, price: int, buy: bool) -> None:
        try:
            if kind == _A:
                book.add(ref, Side.BUY if buy else Side.SELL, price, shares)
            elif kind == _E:
                book.execute(ref, shares)
            elif kind == _X:
                book.cancel(ref, shares)
            elif kind == _D:
                book.delete(ref)
            elif kind == _U:
                book.replace(ref, new_ref, price, shares)
        except KeyError as error:
            if self.strict:
                raise ItchBookError(f"{chr(kind)}: {error.args[0]}") from None
            self.unknown_refs += 1
        except ValueError as error:
            raise ItchBookError(f"{chr(kind)}: {error}") from None
