"""book_top's limits and flags, modelled exactly: its order table (one entry per XOR fold of a reference, shared by
the slots), its 8 price levels a side, and the sticky overflow and error flags of each slot.

The top of a slot whose flags are clear is the engine's (:class:`engine.itch.book.ItchBooks`): the chain model
takes it from there and uses :class:`BookTopModel` for what the engine has no notion of, the moment a slot is
flagged. The rules below are book_top's, step by step (see its header comment):

- A F: a zero price or size, or the reference already in its entry for this slot, is an error; another order in
  the entry is an overflow; else the order is stored and its level added to.
- E C X: unknown reference, zero shares or more than rest are an error; else the shares are taken.
- D: unknown reference is an error; else the order leaves.
- U: unknown original is an error (nothing changes); else the original leaves, then the new reference is added
  on its side as an add is (zero price or size, or the new reference already in its entry: error; another order
  there: overflow).
- A level add beyond 8 levels a side, or above 2**32-1 shares, is an overflow (the level is not changed); a level
  take of a price not held or of more than it holds is an error.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from book_streams import LEVELS, table_index

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

U32 = 2**32 - 1


@dataclass(frozen=True, slots=True)
class Entry:
    """An order in book_top's table."""

    ref: int
    slot: int
    sell: bool
    price: int
    shares: int


@dataclass(slots=True)
class BookTopModel:
    """book_top over ``locates`` (slot k tracks ``locates[k]``; a locate in two slots belongs to the lower)."""

    locates: list[int]
    table: dict[int, Entry] = field(default_factory=dict)
    levels: dict[tuple[int, bool], dict[int, int]] = field(default_factory=dict)
    overflow: list[bool] = field(default_factory=list)
    error: list[bool] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.overflow = [False] * len(self.locates)
        self.error = [False] * len(self.locates)

    def slot_of(self, locate: int) -> int | None:
        """The slot tracking ``locate``, or None."""
        return self.locates.index(locate) if locate in self.locates else None

    def flagged(self, slot: int) -> bool:
        """The slot's top is not to be trusted."""
        return self.overflow[slot] or self.error[slot]

    def apply(self, message: Message) -> int | None:
        """Apply one message; returns its slot (None for an untracked locate)."""
        slot = self.slot_of(message.stock_locate)
        if slot is None:
            return None
        match message:
            case AddOrder() | AddOrderMpid():
                self._add(slot, message.order_ref, message.side != "B", message.price, message.shares)
            case OrderExecuted() | OrderExecutedWithPrice():
                self._take(slot, message.order_ref, message.executed_shares)
            case OrderCancel():
                self._take(slot, message.order_ref, message.cancelled_shares)
            case OrderDelete():
                self._remove(slot, message.order_ref)
            case OrderReplace():
                old = self._remove(slot, message.original_order_ref)
                if old is not None:
                    self._add(slot, message.new_order_ref, old.sell, message.price, message.shares)
        return slot

    def _found(self, slot: int, ref: int) -> Entry | None:
        entry = self.table.get(table_index(ref))
        return entry if entry is not None and entry.slot == slot and entry.ref == ref else None

    def _add(self, slot: int, ref: int, sell: bool, price: int, shares: int) -> None:
        index = table_index(ref)
        if price == 0 or shares == 0 or self._found(slot, ref) is not None:
            self.error[slot] = True
        elif index in self.table:
            self.overflow[slot] = True
        else:
            self.table[index] = Entry(ref, slot, sell, price, shares)
            self._level_add(slot, sell, price, shares)

    def _take(self, slot: int, ref: int, shares: int) -> None:
        entry = self._found(slot, ref)
        if entry is None or shares == 0 or shares > entry.shares:
            self.error[slot] = True
            return
        if shares == entry.shares:
            del self.table[table_index(ref)]
        else:
            self.table[table_index(ref)] = replace(entry, shares=entry.shares - shares)
        self._level_take(slot, entry.sell, entry.price, shares)

    def _remove(self, slot: int, ref: int) -> Entry | None:
        entry = self._found(slot, ref)
        if entry is None:
            self.error[slot] = True
            return None
        del self.table[table_index(ref)]
        self._level_take(slot, entry.sell, entry.price, entry.shares)
        return entry

    def _level_add(self, slot: int, sell: bool, price: int, shares: int) -> None:
        side = self.levels.setdefault((slot, sell), {})
        if price in side:
            if side[price] + shares > U32:
                self.overflow[slot] = True
            else:
                side[price] += shares
        elif len(side) < LEVELS:
            side[price] = shares
        else:
            self.overflow[slot] = True

    def _level_take(self, slot: int, sell: bool, price: int, shares: int) -> None:
        side = self.levels.setdefault((slot, sell), {})
        if side.get(price, 0) < shares:
            self.error[slot] = True
        elif side[price] == shares:
            del side[price]
        else:
            side[price] -= shares

    def best(self, slot: int) -> tuple[tuple[int, int] | None, tuple[int, int] | None]:
        """The best bid and ask of the slot as (price, size), as book_top outputs them."""
        bids = self.levels.get((slot, False), {})
        asks = self.levels.get((slot, True), {})
        bid = max(bids.items()) if bids else None
        ask = min(asks.items()) if asks else None
        return bid, ask
