"""Random feed messages: the order book agrees with a naive model, and L2Books fed its deltas mirror it."""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from core.book import BookOrder, L2Book, OrderBook
from core.enums import Side

PRICES = st.integers(min_value=1, max_value=12)  # few prices, so levels are shared, emptied and crossed
QUANTITIES = st.integers(min_value=1, max_value=20)
ALL = 100  # more levels than can exist


@dataclass
class ModelOrder:
    side: Side
    price: int
    qty: int
    arrival: int


class BookMessages(RuleBasedStateMachine):
    """ITCH-like messages sent to two identical books, checked against a list-based model.

    One book's deltas are drained after every message into an L2Book; the other's only now and then (so many
    changes coalesce) into a second L2Book. Both L2Books must show the order book's levels.
    """

    def __init__(self) -> None:
        super().__init__()
        self.book = OrderBook()
        self.twin = OrderBook()
        self.coalesced = L2Book()  # fed by self.book's drains, checked after each drain
        self.stepwise = L2Book()  # fed by self.twin's drains after every message
        self.model: dict[int, ModelOrder] = {}
        self.arrivals = 0
        self.next_ref = 1

    def _arrive(self) -> int:
        self.arrivals += 1
        return self.arrivals

    def _new_ref(self) -> int:
        self.next_ref += 1
        return self.next_ref - 1

    def _existing(self, data: st.DataObject) -> int:
        return data.draw(st.sampled_from(sorted(self.model)), label="ref")

    # --- messages ------------------------------------------------------------------------------------------

    @rule(side=st.sampled_from(Side), price=PRICES, qty=QUANTITIES)
    def add(self, side: Side, price: int, qty: int) -> None:
        ref = self._new_ref()
        for book in (self.book, self.twin):
            book.add(ref, side, price, qty)
        self.model[ref] = ModelOrder(side, price, qty, self._arrive())

    @precondition(lambda self: bool(self.model))
    @rule(data=st.data(), cancel=st.booleans())
    def reduce(self, data: st.DataObject, cancel: bool) -> None:
        ref = self._existing(data)
        held = self.model[ref].qty
        qty = data.draw(st.integers(min_value=1, max_value=held), label="qty")
        for book in (self.book, self.twin):
            remaining = book.cancel(ref, qty) if cancel else book.execute(ref, qty)
            assert remaining == held - qty
        if held > qty:
            self.model[ref].qty = held - qty
        else:
            del self.model[ref]

    @precondition(lambda self: bool(self.model))
    @rule(data=st.data())
    def delete(self, data: st.DataObject) -> None:
        ref = self._existing(data)
        gone = self.model.pop(ref)
        expected = BookOrder(order_ref=ref, side=gone.side, price=gone.price, quantity=gone.qty)
        for book in (self.book, self.twin):
            assert book.delete(ref) == expected

    @precondition(lambda self: bool(self.model))
    @rule(data=st.data(), price=PRICES, qty=QUANTITIES, reuse=st.booleans())
    def replace(self, data: st.DataObject, price: int, qty: int, reuse: bool) -> None:
        old = self._existing(data)
        new = old if reuse else self._new_ref()
        for book in (self.book, self.twin):
            book.replace(old, new, price, qty)
        side = self.model.pop(old).side
        self.model[new] = ModelOrder(side, price, qty, self._arrive())

    @rule()
    def drain(self) -> None:
        self.coalesced.apply_deltas(self.book.drain_deltas())
        assert self.coalesced.depth(ALL).price_levels() == self.book.depth(ALL).price_levels()
        assert self.coalesced.best_bid() == self.book.best_bid()
        assert self.coalesced.best_ask() == self.book.best_ask()

    # --- invariants ----------------------------------------------------------------------------------------

    @invariant()
    def stepwise_mirror_matches(self) -> None:
        self.stepwise.apply_deltas(self.twin.drain_deltas())
        assert self.stepwise.depth(ALL).price_levels() == self.twin.depth(ALL).price_levels()
        assert self.twin.depth(ALL) == self.book.depth(ALL)

    @invariant()
    def agrees_with_the_model(self) -> None:
        queues: dict[tuple[Side, int], list[tuple[int, int, int]]] = {}
        for ref, order in self.model.items():
            queues.setdefault((order.side, order.price), []).append((order.arrival, ref, order.qty))

        def levels(side: Side) -> list[tuple[int, int, int]]:
            found = [(price, queue) for (s, price), queue in queues.items() if s is side]
            return sorted((price, sum(qty for _, _, qty in queue), len(queue)) for price, queue in found)

        bids, asks = levels(Side.BUY), levels(Side.SELL)
        depth = self.book.depth(ALL)
        assert depth.bids == tuple(reversed(bids))
        assert depth.asks == tuple(asks)
        assert self.book.depth(3).bids == tuple(reversed(bids))[:3]
        assert self.book.best_bid() == ((bids[-1][0], bids[-1][1]) if bids else None)
        assert self.book.best_ask() == ((asks[0][0], asks[0][1]) if asks else None)
        assert len(self.book) == len(self.model)
        for (side, price), queue in queues.items():
            fifo = [(ref, qty) for _, ref, qty in sorted(queue)]
            resting = self.book.orders_at(side, price)
            assert [(order.order_ref, order.quantity) for order in resting] == fifo
            assert all((order.side, order.price) == (side, price) for order in resting)


TestBookMessages = BookMessages.TestCase
TestBookMessages.settings = settings(max_examples=150, stateful_step_count=40, deadline=None)
