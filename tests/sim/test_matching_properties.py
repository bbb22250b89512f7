"""Random operation sequences against a tiny, obviously correct reference book written here, plus invariants."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from engine.sim.matching import (
    BUY,
    EV_ADD,
    EV_CANCEL,
    EV_FILL,
    EV_REPLACE,
    REASON_FOK,
    REASON_IOC,
    REASON_NO_LIQUIDITY,
    REASON_REPLACE_ZERO,
    REASON_STP,
    REASON_USER,
    SELL,
    TIF_DAY,
    TIF_FOK,
    TIF_IOC,
    MatchingBook,
)

TICK = 5
Event = tuple[int, ...]


@dataclass
class Resting:
    oid: int
    owner: int
    side: int
    price: int
    qty: int
    seq: int


@dataclass
class ReferenceBook:
    """Price-time priority by brute force: every step sorts the whole book."""

    stp_mode: int
    orders: dict[int, Resting] = field(default_factory=dict)
    seq: int = 0
    match_id: int = 0
    events: list[Event] = field(default_factory=list)

    def _queue(self, side: int) -> list[Resting]:
        """Resting orders of the side an incoming ``side`` order trades against, in priority order."""
        other = [o for o in self.orders.values() if o.side != side]
        if side == BUY:
            return sorted(other, key=lambda o: (o.price, o.seq))
        return sorted(other, key=lambda o: (-o.price, o.seq))

    @staticmethod
    def _crosses(side: int, limit: int | None, price: int) -> bool:
        return limit is None or (price <= limit if side == BUY else price >= limit)

    def _stp(self, owner: int) -> int:
        return self.stp_mode if owner > 0 else 0

    def _available(self, owner: int, side: int, limit: int) -> int:
        total = 0
        for maker in self._queue(side):
            if not self._crosses(side, limit, maker.price):
                break
            if self._stp(owner) and maker.owner == owner:
                if self._stp(owner) == 1:
                    break
                continue
            total += maker.qty
        return total

    def _match(self, ts: int, oid: int, owner: int, side: int, limit: int | None, qty: int) -> tuple[int, bool]:
        for maker in self._queue(side):
            if qty == 0 or not self._crosses(side, limit, maker.price):
                break
            if self._stp(owner) and maker.owner == owner:
                if self._stp(owner) == 1:
                    return qty, True
                del self.orders[maker.oid]
                m = maker
                self.events.append((EV_CANCEL, ts, m.oid, m.owner, m.side, m.price, m.qty, 0, 0, 0, 0, REASON_STP))
                continue
            fill = min(qty, maker.qty)
            qty -= fill
            maker.qty -= fill
            self.match_id += 1
            m = maker
            self.events.append(
                (EV_FILL, ts, m.oid, m.owner, side, m.price, fill, m.qty, oid, owner, qty, self.match_id)
            )
            if maker.qty == 0:
                del self.orders[maker.oid]
        return qty, False

    def _rest(self, ts: int, oid: int, owner: int, side: int, price: int, qty: int) -> None:
        self.seq += 1
        self.orders[oid] = Resting(oid, owner, side, price, qty, self.seq)

    def add(self, ts: int, oid: int, owner: int, side: int, price: int, qty: int, tif: int) -> None:
        if tif == TIF_FOK and self._available(owner, side, price) < qty:
            self.events.append((EV_CANCEL, ts, oid, owner, side, price, qty, 0, 0, 0, 0, REASON_FOK))
            return
        left, stopped = self._match(ts, oid, owner, side, price, qty)
        if left and tif == TIF_DAY and not stopped:
            self._rest(ts, oid, owner, side, price, left)
            self.events.append((EV_ADD, ts, oid, owner, side, price, left, left, 0, 0, 0, 0))
        elif left:
            reason = REASON_STP if stopped else REASON_IOC
            self.events.append((EV_CANCEL, ts, oid, owner, side, price, left, 0, 0, 0, 0, reason))

    def market(self, ts: int, oid: int, owner: int, side: int, qty: int) -> None:
        left, stopped = self._match(ts, oid, owner, side, None, qty)
        if left:
            reason = REASON_STP if stopped else REASON_NO_LIQUIDITY
            self.events.append((EV_CANCEL, ts, oid, owner, side, 0, left, 0, 0, 0, 0, reason))

    def cancel(self, ts: int, oid: int) -> int:
        order = self.orders.pop(oid, None)
        if order is None:
            return 0
        o = order
        self.events.append((EV_CANCEL, ts, oid, o.owner, o.side, o.price, o.qty, 0, 0, 0, 0, REASON_USER))
        return order.qty

    def replace(self, ts: int, oid: int, price: int, qty: int) -> bool:
        order = self.orders.get(oid)
        if order is None:
            return False
        o = order
        if qty <= 0:
            del self.orders[oid]
            self.events.append((EV_CANCEL, ts, oid, o.owner, o.side, o.price, o.qty, 0, 0, 0, 0, REASON_REPLACE_ZERO))
            return True
        if price == o.price and qty <= o.qty:
            o.qty = qty
            self.events.append((EV_REPLACE, ts, oid, o.owner, o.side, price, qty, qty, 0, 0, 0, 1))
            return True
        del self.orders[oid]
        self.events.append((EV_REPLACE, ts, oid, o.owner, o.side, price, qty, qty, 0, 0, 0, 0))
        left, stopped = self._match(ts, oid, o.owner, o.side, price, qty)
        if left and not stopped:
            self._rest(ts, oid, o.owner, o.side, price, left)
        elif left:
            self.events.append((EV_CANCEL, ts, oid, o.owner, o.side, price, left, 0, 0, 0, 0, REASON_STP))
        return True

    def depth(self) -> tuple[list[list[int]], list[list[int]]]:
        sides: list[dict[int, int]] = [{}, {}]
        for o in self.orders.values():
            sides[o.side][o.price] = sides[o.side].get(o.price, 0) + o.qty
        bids = [[p, q] for p, q in sorted(sides[BUY].items(), reverse=True)]
        asks = [[p, q] for p, q in sorted(sides[SELL].items())]
        return bids, asks


prices = st.integers(90, 110).map(lambda p: p * TICK)
owners = st.sampled_from([0, 0, 1, 2])
sides = st.sampled_from([BUY, SELL])
quantities = st.integers(1, 12)
ops = st.one_of(
    st.tuples(st.just("add"), sides, prices, quantities, st.sampled_from([TIF_DAY, TIF_DAY, TIF_IOC, TIF_FOK]), owners),
    st.tuples(st.just("market"), sides, quantities, owners),
    st.tuples(st.just("cancel"), st.integers(0, 10_000)),
    st.tuples(st.just("replace"), st.integers(0, 10_000), prices, st.integers(-1, 12)),
)


@settings(max_examples=150, deadline=None)
@given(stp_mode=st.sampled_from([0, 1, 2]), steps=st.lists(ops, max_size=80))
def test_kernel_matches_the_reference_and_keeps_its_invariants(stp_mode: int, steps: list[tuple[Any, ...]]) -> None:
    book = MatchingBook(TICK, stp_mode=stp_mode, record_anonymous=True, initial_levels=64, initial_orders=16)
    ref = ReferenceBook(stp_mode)
    used: list[int] = []
    entered = 0
    limits: dict[int, int | None] = {}
    seen = 0
    for ts, step in enumerate(steps):
        oid = 100 + ts
        if step[0] == "add":
            _, side, price, qty, tif, owner = step
            book.add(ts, oid, owner, side, price, qty, tif)
            ref.add(ts, oid, owner, side, price, qty, tif)
            entered += qty
            limits[oid] = price
            used.append(oid)
        elif step[0] == "market":
            _, side, qty, owner = step
            book.market(ts, oid, owner, side, qty)
            ref.market(ts, oid, owner, side, qty)
            entered += qty
            limits[oid] = None
        elif step[0] == "cancel":
            target = used[step[1] % len(used)] if used else 7
            assert book.cancel(ts, target) == ref.cancel(ts, target)
        else:
            _, pick, price, qty = step
            target = used[pick % len(used)] if used else 7
            before = book.order(target)
            assert book.replace(ts, target, price, qty) == ref.replace(ts, target, price, qty)
            if before is not None and qty > 0:
                entered += qty - before[2]
                limits[target] = price
        bid, _, ask, _ = book.top()
        assert bid is None or ask is None or bid < ask, "the book was left crossed"
        # Every fill is at or better than the aggressor's limit.
        new = book.events[seen:]
        seen = len(book.events)
        for row in new[new["kind"] == EV_FILL]:
            limit = limits[int(row["taker_oid"])]
            if limit is not None:
                assert row["price"] <= limit if row["side"] == BUY else row["price"] >= limit

    events = [tuple(row) for row in book.event_rows.tolist()]
    assert events == ref.events
    bids, asks = book.depth(100)
    assert (bids.tolist(), asks.tolist()) == ref.depth()
    assert book.resting_orders == len(ref.orders)
    for oid, order in ref.orders.items():
        assert book.order(oid) == (order.side, order.price, order.qty, order.owner)

    # Quantity is conserved: what was entered (replaces count their change) was filled (once for each side),
    # cancelled, or is still resting.
    rows = book.events
    filled = int(rows[rows["kind"] == EV_FILL]["qty"].sum())
    cancelled = int(rows[rows["kind"] == EV_CANCEL]["qty"].sum())
    resting = int(bids[:, 1].sum() + asks[:, 1].sum())
    assert entered == 2 * filled + cancelled + resting
