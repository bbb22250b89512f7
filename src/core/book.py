"""Order books kept from what a market-data feed says: order level (L3) and price level (L2).

These books do not match orders (the simulator's matching engine does); they mirror a venue's book for
strategies, the desktop ladder and feed handlers.

- :class:`OrderBook` keeps every order (ITCH semantics: add, execute, cancel, delete, replace). Each price
  level is a FIFO queue of orders. Every mutation records the level it changed, and
  :meth:`OrderBook.drain_deltas` hands them out as L2 deltas shaped as :attr:`core.events.BookUpdate.deltas`.
- :class:`L2Book` keeps only the total quantity per price level and is fed those deltas.

Sides: the public methods take and return :class:`core.enums.Side` (``BUY`` is the bid side, ``SELL`` the ask
side). Numpy delta arrays use the integers :data:`core.events.BID` (0) and :data:`core.events.ASK` (1).

Prices of each side are kept in a sorted list searched with :mod:`bisect`: a new level costs O(log n)
comparisons plus a memory move of the list tail, which is short because the best price sits at the end (the
level most often created and removed is the cheapest to touch). Orders, levels and deltas live in dicts: O(1).
"""

from __future__ import annotations

from bisect import bisect_left, insort
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from core.enums import Side
from core.events import ASK, BID
from core.numbers import Price, Quantity

_SIDES = (Side.BUY, Side.SELL)
"""Side of each delta side index (``BID`` 0, ``ASK`` 1)."""

DepthLevel = tuple[Price, Quantity, int]
"""One level of a depth snapshot: ``(price, quantity, order_count)``."""


@dataclass(frozen=True, slots=True, kw_only=True)
class DepthSnapshot:
    """The best levels of both sides, best first, each as ``(price, quantity, order_count)``.

    ``order_count`` is the number of resting orders of the level; an :class:`L2Book` does not know it and
    reports 0. :meth:`price_levels` drops it, for comparing an L3 book with an L2 one.
    """

    bids: tuple[DepthLevel, ...]
    asks: tuple[DepthLevel, ...]

    def price_levels(self) -> tuple[tuple[tuple[Price, Quantity], ...], tuple[tuple[Price, Quantity], ...]]:
        """``(bids, asks)`` as ``(price, quantity)`` pairs, best first, without the order counts."""
        return (
            tuple((price, qty) for price, qty, _ in self.bids),
            tuple((price, qty) for price, qty, _ in self.asks),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class BookOrder:
    """A snapshot of one resting order of an :class:`OrderBook`."""

    order_ref: int
    side: Side
    price: Price
    quantity: Quantity


def _side_index(side: Side) -> int:
    # Identity checks: Side is a str enum, so "1" == Side.BUY would otherwise slip through as a side.
    if side is Side.BUY:
        return BID
    if side is Side.SELL:
        return ASK
    raise ValueError(f"side must be Side.BUY or Side.SELL, got {side!r}")


def _check_positive(price: Price, quantity: Quantity) -> None:
    if price <= 0:
        raise ValueError(f"price must be positive, got {price}")
    if quantity <= 0:
        raise ValueError(f"quantity must be positive, got {quantity}")


def _check_levels(levels: int) -> None:
    if levels < 0:
        raise ValueError(f"levels must not be negative, got {levels}")


class _Ladder:
    """The sorted prices of one side, best last, so that the best level is read and removed at the end."""

    __slots__ = ("_keys", "_sign")

    def __init__(self, side: int) -> None:
        # Keys ascend towards the best price: bids by price, asks by negated price.
        self._sign = 1 if side == BID else -1
        self._keys: list[int] = []

    def __len__(self) -> int:
        return len(self._keys)

    def insert(self, price: Price) -> None:
        insort(self._keys, self._sign * price)

    def remove(self, price: Price) -> None:
        key = self._sign * price
        keys = self._keys
        if keys[-1] == key:
            keys.pop()
        else:
            del keys[bisect_left(keys, key)]

    def best(self) -> Price | None:
        return self._sign * self._keys[-1] if self._keys else None

    def best_first(self, levels: int) -> list[Price]:
        """Up to ``levels`` prices, best first."""
        if levels <= 0:
            return []
        sign = self._sign
        return [sign * key for key in reversed(self._keys[-levels:])]

    def clear(self) -> None:
        self._keys.clear()


class _Level:
    """One price level of an :class:`OrderBook`: its orders in arrival order and their total quantity."""

    __slots__ = ("orders", "price", "qty", "side")

    def __init__(self, side: int, price: Price) -> None:
        self.side = side
        self.price = price
        self.qty: Quantity = 0
        self.orders: dict[int, Quantity] = {}


class _PriceLevels:
    """Top-of-book and depth queries shared by the L3 and L2 books, over one sorted ladder per side.

    A subclass keeps ``_ladders`` and says what one level holds through :meth:`_level`.
    """

    __slots__ = ()
    _ladders: tuple[_Ladder, _Ladder]

    def _level(self, side: int, price: Price) -> tuple[Quantity, int]:
        """(total quantity, order count) of the level at ``price`` on ``side``; the level exists."""
        raise NotImplementedError

    def best_bid(self) -> tuple[Price, Quantity] | None:
        """``(price, total quantity)`` of the best bid level, or None when there are no bids."""
        return self._best(BID)

    def best_ask(self) -> tuple[Price, Quantity] | None:
        """``(price, total quantity)`` of the best ask level, or None when there are no asks."""
        return self._best(ASK)

    def depth(self, levels: int = 10) -> DepthSnapshot:
        """The ``levels`` best levels of each side, best first, with their order counts (0 in an L2 book)."""
        _check_levels(levels)
        return DepthSnapshot(bids=self._side_depth(BID, levels), asks=self._side_depth(ASK, levels))

    def _best(self, side: int) -> tuple[Price, Quantity] | None:
        price = self._ladders[side].best()
        return None if price is None else (price, self._level(side, price)[0])

    def _side_depth(self, side: int, levels: int) -> tuple[DepthLevel, ...]:
        return tuple((price, *self._level(side, price)) for price in self._ladders[side].best_first(levels))


class OrderBook(_PriceLevels):
    """An order-level (L3) book of one instrument, updated with ITCH-style order messages.

    Each price level is a FIFO queue of orders: an order keeps its place when it is partly executed or
    cancelled and goes to the back when it is replaced. The book may be crossed if the feed says so; it never
    matches. Errors leave the book unchanged: an unknown reference raises ``KeyError``, a reference already in
    the book, a non-positive price or quantity, or a reduction larger than the order raises ``ValueError``.
    """

    __slots__ = ("_before", "_deltas", "_ladders", "_levels", "_orders")

    def __init__(self) -> None:
        self._levels: tuple[dict[Price, _Level], dict[Price, _Level]] = ({}, {})
        self._ladders = (_Ladder(BID), _Ladder(ASK))
        self._orders: dict[int, _Level] = {}
        self._deltas: dict[tuple[int, Price], Quantity] = {}
        self._before: dict[tuple[int, Price], Quantity] = {}

    def __len__(self) -> int:
        """Number of resting orders."""
        return len(self._orders)

    def __contains__(self, order_ref: object) -> bool:
        """True when an order with this reference rests in the book."""
        return order_ref in self._orders

    # --- order messages ------------------------------------------------------------------------------------

    def add(self, order_ref: int, side: Side, price: Price, qty: Quantity) -> None:
        """Add an order at the back of its price level's queue."""
        index = _side_index(side)
        if order_ref in self._orders:
            raise ValueError(f"order {order_ref} is already in the book")
        _check_positive(price, qty)
        self._insert(order_ref, index, price, qty)

    def execute(self, order_ref: int, qty: Quantity) -> Quantity:
        """Execute ``qty`` of an order; it keeps its place, and leaves the book at 0. Returns what remains."""
        return self._reduce(order_ref, qty, "execute")

    def cancel(self, order_ref: int, qty: Quantity) -> Quantity:
        """Cancel ``qty`` of an order (a partial cancel keeps its place). Returns what remains."""
        return self._reduce(order_ref, qty, "cancel")

    def delete(self, order_ref: int) -> BookOrder:
        """Remove an order whatever its quantity; returns it as it rested."""
        level = self._level_of(order_ref)
        removed = BookOrder(
            order_ref=order_ref, side=_SIDES[level.side], price=level.price, quantity=level.orders[order_ref]
        )
        self._remove(order_ref, level)
        return removed

    def replace(self, old_ref: int, new_ref: int, price: Price, qty: Quantity) -> None:
        """Replace an order by a new one on the same side, at the back of ``price``'s queue (as ITCH does).

        ``new_ref`` may equal ``old_ref``; otherwise it must not be in the book.
        """
        level = self._level_of(old_ref)
        if new_ref != old_ref and new_ref in self._orders:
            raise ValueError(f"order {new_ref} is already in the book")
        _check_positive(price, qty)
        side = level.side
        self._remove(old_ref, level)
        self._insert(new_ref, side, price, qty)

    def clear(self) -> None:
        """Remove every order (a feed reset); every level is recorded as gone in the deltas."""
        for levels, ladder in zip(self._levels, self._ladders, strict=True):
            for level in levels.values():
                self._record(level.side, level.price, level.qty, 0)
            levels.clear()
            ladder.clear()
        self._orders.clear()

    # --- queries -------------------------------------------------------------------------------------------

    def get(self, order_ref: int) -> BookOrder:
        """The resting order with this reference; ``KeyError`` when there is none."""
        level = self._level_of(order_ref)
        return BookOrder(
            order_ref=order_ref, side=_SIDES[level.side], price=level.price, quantity=level.orders[order_ref]
        )

    def orders_at(self, side: Side, price: Price) -> tuple[BookOrder, ...]:
        """The orders resting at ``price`` on ``side``, first in line first (empty when there is no level)."""
        index = _side_index(side)
        level = self._levels[index].get(price)
        if level is None:
            return ()
        queue = level.orders.items()
        return tuple(BookOrder(order_ref=ref, side=side, price=price, quantity=qty) for ref, qty in queue)

    def drain_deltas(self) -> npt.NDArray[np.int64]:
        """The L2 changes since the last drain, and forget them.

        Returns a read-only ``int64`` array of shape ``(n, 3)``: side (``BID``/``ASK``), price, the level's
        new total quantity (0: the level is gone), one row per level in the order levels were first touched.
        Changes that cancel out (a level back at the quantity it had at the last drain) are left out.
        """
        before = self._before
        rows = [(*level, qty) for level, qty in self._deltas.items() if qty != before[level]]
        self._deltas.clear()
        before.clear()
        deltas = np.array(rows, dtype=np.int64).reshape(len(rows), 3)
        deltas.flags.writeable = False
        return deltas

    # --- internals -----------------------------------------------------------------------------------------

    def _level_of(self, order_ref: int) -> _Level:
        level = self._orders.get(order_ref)
        if level is None:
            raise KeyError(f"order {order_ref} is not in the book")
        return level

    def _insert(self, order_ref: int, side: int, price: Price, qty: Quantity) -> None:
        levels = self._levels[side]
        level = levels.get(price)
        if level is None:
            level = levels[price] = _Level(side, price)
            self._ladders[side].insert(price)
        before = level.qty
        level.qty = before + qty
        level.orders[order_ref] = qty
        self._orders[order_ref] = level
        self._record(side, price, before, level.qty)

    def _reduce(self, order_ref: int, qty: Quantity, verb: str) -> Quantity:
        level = self._level_of(order_ref)
        held = level.orders[order_ref]
        if qty <= 0:
            raise ValueError(f"quantity to {verb} must be positive, got {qty}")
        if qty > held:
            raise ValueError(f"cannot {verb} {qty} of order {order_ref}: only {held} rests")
        remaining = held - qty
        if remaining == 0:
            self._remove(order_ref, level)
            return 0
        before = level.qty
        level.qty = before - qty
        level.orders[order_ref] = remaining  # assigning an existing key keeps the order's place in line
        self._record(level.side, level.price, before, level.qty)
        return remaining

    def _remove(self, order_ref: int, level: _Level) -> None:
        before = level.qty
        level.qty = before - level.orders.pop(order_ref)
        del self._orders[order_ref]
        if not level.orders:
            del self._levels[level.side][level.price]
            self._ladders[level.side].remove(level.price)
        self._record(level.side, level.price, before, level.qty)

    def _record(self, side: int, price: Price, before: Quantity, after: Quantity) -> None:
        key = (side, price)
        if key not in self._deltas:
            self._before[key] = before
        self._deltas[key] = after

    def _level(self, side: int, price: Price) -> tuple[Quantity, int]:
        level = self._levels[side][price]
        return level.qty, len(level.orders)


class L2Book(_PriceLevels):
    """A price-level (L2) book of one instrument, kept from the deltas of :class:`core.events.BookUpdate`.

    It offers the same top-of-book and depth queries as :class:`OrderBook`; depth levels carry an order count
    of 0 because L2 data does not have it.
    """

    __slots__ = ("_ladders", "_levels")

    def __init__(self) -> None:
        self._levels: tuple[dict[Price, Quantity], dict[Price, Quantity]] = ({}, {})
        self._ladders = (_Ladder(BID), _Ladder(ASK))

    def apply_deltas(self, deltas: npt.NDArray[np.integer]) -> None:
        """Apply rows of ``(side, price, new level quantity)``; quantity 0 removes the level.

        The whole array is checked first (integer dtype, shape ``(n, 3)``, side ``BID``/``ASK``, positive
        price, non-negative quantity): on a bad array ``ValueError`` is raised and the book is unchanged.
        Removing a level that is not there is harmless. Rows apply in order, so a later row for the same level
        wins.
        """
        array = np.asarray(deltas)
        if array.dtype.kind not in "iu":
            raise ValueError(f"deltas must be an integer array, got dtype {array.dtype}")
        if array.ndim != 2 or array.shape[1] != 3:
            raise ValueError(f"deltas must have shape (n, 3), got {array.shape}")
        if len(array) == 0:
            return
        sides, prices, quantities = array[:, 0], array[:, 1], array[:, 2]
        if not np.isin(sides, (BID, ASK)).all():
            raise ValueError(f"delta sides must be {BID} (bid) or {ASK} (ask)")
        if (prices <= 0).any():
            raise ValueError("delta prices must be positive")
        if (quantities < 0).any():
            raise ValueError("delta quantities must not be negative")
        for side, price, qty in array.tolist():
            self._set(side, price, qty)

    def set_level(self, side: Side, price: Price, qty: Quantity) -> None:
        """Set one level's total quantity (0 removes it), e.g. from a snapshot."""
        index = _side_index(side)
        if price <= 0:
            raise ValueError(f"price must be positive, got {price}")
        if qty < 0:
            raise ValueError(f"quantity must not be negative, got {qty}")
        self._set(index, price, qty)

    def clear(self) -> None:
        """Remove every level (before applying a fresh snapshot)."""
        for levels, ladder in zip(self._levels, self._ladders, strict=True):
            levels.clear()
            ladder.clear()

    def _set(self, side: int, price: Price, qty: Quantity) -> None:
        levels = self._levels[side]
        if qty == 0:
            if levels.pop(price, None) is not None:
                self._ladders[side].remove(price)
            return
        if price not in levels:
            self._ladders[side].insert(price)
        levels[price] = qty

    def _level(self, side: int, price: Price) -> tuple[Quantity, int]:
        return self._levels[side][price], 0
