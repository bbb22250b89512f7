"""ITCH order-book streams for the book_top testbench, and the top of book the engine keeps from them.

The golden side is the engine's own book: :class:`engine.itch.book.ItchBooks` (one :class:`core.book.OrderBook`
per locate) applies every message, and the expected top is its ``best_bid()``/``best_ask()``. What lives here is
only a stream generator (valid messages: no unknown reference, no over-execution) and the block's limits
(table index of a reference, levels per side) used to keep a stream within them or to predict the overflow flag.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from engine.itch.book import ItchBooks
from engine.itch.messages import (
    AddOrder,
    AddOrderMpid,
    Message,
    OrderCancel,
    OrderDelete,
    OrderExecuted,
    OrderExecutedWithPrice,
    OrderReplace,
    Trade,
)

TABLE_BITS = 11
"""book_top's order table has 2**TABLE_BITS entries."""
LEVELS = 8
"""Price levels book_top aggregates per side of a locate."""


def table_index(ref: int, bits: int = TABLE_BITS) -> int:
    """The table entry of an order reference: its 64 bits folded by XOR onto ``bits`` bits."""
    out = 0
    for bit in range(64):
        if ref >> bit & 1:
            out ^= 1 << (bit % bits)
    return out


def input_fields(message: Message) -> dict[str, int]:
    """The itch_parser output fields book_top reads, for one message (zero where the type has none)."""
    out = dict.fromkeys(("type", "bad_len", "locate", "order_ref", "new_ref", "side", "shares", "price"), 0)
    out["type"] = ord(message.TYPE)
    out["locate"] = message.stock_locate
    match message:
        case AddOrder() | AddOrderMpid() | Trade():
            out.update(order_ref=message.order_ref, side=ord(message.side), shares=message.shares, price=message.price)
        case OrderExecutedWithPrice():
            out.update(order_ref=message.order_ref, shares=message.executed_shares, price=message.execution_price)
        case OrderExecuted():
            out.update(order_ref=message.order_ref, shares=message.executed_shares)
        case OrderCancel():
            out.update(order_ref=message.order_ref, shares=message.cancelled_shares)
        case OrderDelete():
            out.update(order_ref=message.order_ref)
        case OrderReplace():
            out.update(
                order_ref=message.original_order_ref,
                new_ref=message.new_order_ref,
                shares=message.shares,
                price=message.price,
            )
    return out


@dataclass(frozen=True, slots=True)
class Top:
    """What book_top outputs after one message."""

    tracked: int = 0
    slot: int = 0
    bid_valid: int = 0
    bid_price: int = 0
    bid_size: int = 0
    ask_valid: int = 0
    ask_price: int = 0
    ask_size: int = 0
    overflow: int = 0
    error: int = 0


OUTPUTS = tuple(Top.__slots__)


class GoldenTops:
    """The engine's books of the configured locates, and the overflow flag the block's limits imply.

    ``overflow`` of a slot becomes (and stays) set once a side of its book holds more than :data:`LEVELS`
    levels. Table collisions are not predicted here: streams meant to be exact avoid them.
    """

    def __init__(self, locates: list[int]) -> None:
        self.locates = locates
        self.books = ItchBooks(locates)
        self.overflow = [0] * len(locates)
        self.most_levels = 0
        """The most levels a side of a configured book held after any message."""

    def apply(self, message: Message) -> Top:
        """Apply one message to the engine's books and return the output the block must give for it."""
        locate = message.stock_locate
        if locate not in self.locates:
            return Top()
        slot = self.locates.index(locate)
        self.books.apply(message)
        book = self.books.book(locate)
        depth = book.depth(LEVELS + 1)
        self.most_levels = max(self.most_levels, len(depth.bids), len(depth.asks))
        if len(depth.bids) > LEVELS or len(depth.asks) > LEVELS:
            self.overflow[slot] = 1
        bid, ask = book.best_bid(), book.best_ask()
        return Top(
            tracked=1,
            slot=slot,
            bid_valid=int(bid is not None),
            bid_price=0 if bid is None else bid[0],
            bid_size=0 if bid is None else bid[1],
            ask_valid=int(ask is not None),
            ask_price=0 if ask is None else ask[0],
            ask_size=0 if ask is None else ask[1],
            overflow=self.overflow[slot],
        )


@dataclass(slots=True)
class BookStream:
    """A generator of valid order-book messages for a few locates, prices drawn from ``prices_per_side``
    values a side (more than :data:`LEVELS` to overflow), new references on free table entries."""

    rng: random.Random
    locates: list[int]
    prices_per_side: int = LEVELS
    untracked_share: float = 0.15
    live: dict[int, tuple[int, str, int, int]] = field(default_factory=dict)
    """Resting orders: reference to (locate, side, price, shares)."""
    _used_refs: set[int] = field(default_factory=set)
    _taken: set[int] = field(default_factory=set)
    _clock: int = 0

    def messages(self, count: int) -> list[Message]:
        """``count`` messages."""
        return [self.next() for _ in range(count)]

    def next(self) -> Message:
        """One message: mostly book messages of the configured locates, some of other locates or types."""
        rng = self.rng
        self._clock += rng.randint(1, 1000)
        if rng.random() < self.untracked_share:
            locate = rng.choice([loc for loc in range(1, 40) if loc not in self.locates])
            return self._add(locate, rng.getrandbits(64), keep=False)
        locate = rng.choice(self.locates)
        if rng.random() < 0.03:
            side = rng.choice("BS")
            return Trade(
                stock_locate=locate,
                tracking_number=0,
                timestamp=self._clock,
                order_ref=rng.getrandbits(64),
                side=side,
                shares=100,
                stock="ABC",
                price=12345,
                match_number=rng.getrandbits(64),
            )
        mine = [ref for ref, order in self.live.items() if order[0] == locate]
        if not mine or rng.random() < (0.6 if len(mine) < 30 else 0.2):
            return self._add(locate, self._new_ref(), keep=True)
        return self._change(self.rng.choice(mine))

    def _price(self, locate: int, side: str) -> int:
        # Bids and asks overlap a little: the feed may show a crossed book, which the block must keep too.
        base = 100_000 + 1_000 * locate + (0 if side == "B" else self.prices_per_side - 2) * 100
        return base + 100 * self.rng.randrange(self.prices_per_side)

    def _new_ref(self) -> int:
        while True:
            ref = self.rng.getrandbits(64) or 1
            if ref not in self._used_refs and table_index(ref) not in self._taken:
                self._used_refs.add(ref)
                return ref

    def _add(self, locate: int, ref: int, *, keep: bool) -> Message:
        rng = self.rng
        side = rng.choice("BS")
        price = self._price(locate, side) if keep else rng.randint(1, 2**32 - 1)
        shares = rng.randint(1, 100_000)
        if keep:
            self._rest(ref, locate, side, price, shares)
        if rng.random() < 0.3:
            return AddOrderMpid(
                stock_locate=locate,
                tracking_number=0,
                timestamp=self._clock,
                order_ref=ref,
                side=side,
                shares=shares,
                stock="STOCK",
                price=price,
                attribution="MPID",
            )
        return AddOrder(
            stock_locate=locate,
            tracking_number=0,
            timestamp=self._clock,
            order_ref=ref,
            side=side,
            shares=shares,
            stock="STOCK",
            price=price,
        )

    def _rest(self, ref: int, locate: int, side: str, price: int, shares: int) -> None:
        self.live[ref] = (locate, side, price, shares)
        self._taken.add(table_index(ref))

    def _gone(self, ref: int) -> None:
        del self.live[ref]
        self._taken.discard(table_index(ref))

    def _change(self, ref: int) -> Message:
        rng = self.rng
        locate, side, price, shares = self.live[ref]
        roll = rng.random()
        if roll < 0.45:
            taken = shares if rng.random() < 0.4 else rng.randint(1, shares)
            if taken == shares:
                self._gone(ref)
            else:
                self.live[ref] = (locate, side, price, shares - taken)
            match rng.randrange(3):
                case 0:
                    return OrderExecuted(
                        stock_locate=locate,
                        tracking_number=0,
                        timestamp=self._clock,
                        order_ref=ref,
                        executed_shares=taken,
                        match_number=rng.getrandbits(64),
                    )
                case 1:
                    return OrderExecutedWithPrice(
                        stock_locate=locate,
                        tracking_number=0,
                        timestamp=self._clock,
                        order_ref=ref,
                        executed_shares=taken,
                        match_number=rng.getrandbits(64),
                        printable="Y",
                        execution_price=rng.randint(1, 2**32 - 1),
                    )
                case _:
                    return OrderCancel(
                        stock_locate=locate,
                        tracking_number=0,
                        timestamp=self._clock,
                        order_ref=ref,
                        cancelled_shares=taken,
                    )
        if roll < 0.7:
            self._gone(ref)
            return OrderDelete(stock_locate=locate, tracking_number=0, timestamp=self._clock, order_ref=ref)
        self._gone(ref)
        new_ref = ref if rng.random() < 0.1 else self._new_ref()
        new_price, new_shares = self._price(locate, side), rng.randint(1, 100_000)
        self._rest(new_ref, locate, side, new_price, new_shares)
        return OrderReplace(
            stock_locate=locate,
            tracking_number=0,
            timestamp=self._clock,
            original_order_ref=ref,
            new_order_ref=new_ref,
            shares=new_shares,
            price=new_price,
        )
