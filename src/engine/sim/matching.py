"""A price-time-priority limit order book with matching, for the simulated venue and the benchmarks.

The work is done by compiled functions (:mod:`engine.sim._kernel`) over a few numpy arrays, so other compiled
code (the background flow, the benchmark's replay loop) drives the same book without Python in between.
:class:`MatchingBook` wraps those arrays for Python callers: it grows them when the kernel asks for room and
exposes the book's events, L2 changes and queries.

Conventions: sides are ``BUY`` (0) and ``SELL`` (1); prices are integers on the book's tick grid, quantities
positive integers, times integer nanoseconds. Owner 0 is the anonymous background crowd; an owner above 0 is an
engine account or client and is subject to self-trade prevention (``stp_mode``):
``STP_NONE`` (0) trades with itself, ``STP_CANCEL_INCOMING`` (1, default) cancels the rest of the incoming order,
``STP_CANCEL_RESTING`` (2) cancels the resting order and goes on matching.

Events (:attr:`MatchingBook.events`, a structured array with ``EVENT_DTYPE``), by ``kind``:

* ``EV_ADD``     an order rests: ``oid owner side price qty`` (``leaves`` = ``qty``);
* ``EV_FILL``    one match: ``maker_oid maker_owner taker_oid taker_owner price qty maker_leaves taker_leaves
  match_id`` and ``side`` = the aggressor's side. The trade is at the resting order's price;
* ``EV_CANCEL``  ``oid owner side price qty`` (quantity removed), ``leaves`` 0 and a ``reason``
  (``REASON_*``). Market orders report price 0;
* ``EV_REPLACE`` ``oid owner side price qty`` (the new price and leaves) and ``kept_priority`` (1/0). A replace
  that crosses is followed by its fills (the order is the taker) and, if it was stopped by self-trade
  prevention, a cancel; an order that keeps resting is not reported again with an ``EV_ADD``.

Every event carries ``ts``, the time passed to the operation. With ``record_anonymous=False`` (default) the
ADD/CANCEL/REPLACE events of owner-0 orders are not recorded; fills always are.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import numpy.typing as npt

from engine.sim._idmap import map_find, map_rehash, new_map
from engine.sim._kernel import op_add, op_cancel, op_market, op_replace
from engine.sim._ladder import next_above, next_below, rebuild_bitmap
from engine.sim._layout import (
    ASK_NONE,
    BUY,
    E_AUX,
    E_COLS,
    E_KIND,
    E_LEAVES,
    E_LEAVES2,
    E_OID,
    E_OID2,
    E_OWNER,
    E_OWNER2,
    E_PRICE,
    E_QTY,
    E_SIDE,
    E_TS,
    ERR_DUPLICATE,
    ERR_OFF_TICK,
    ERR_QTY,
    ERR_SIDE,
    ERR_TIF,
    EV_ADD,
    EV_CANCEL,
    EV_FILL,
    EV_REPLACE,
    L_COLS,
    L_HEAD,
    L_QTY,
    L_TAIL,
    NEED_EVENTS,
    NEED_LADDER,
    NEED_MAP,
    NEED_SLOTS,
    O_COLS,
    O_LEAVES,
    O_NEXT,
    O_OWNER,
    O_PRICE,
    O_SIDE,
    REASON_FOK,
    REASON_IOC,
    REASON_NO_LIQUIDITY,
    REASON_REPLACE_ZERO,
    REASON_STP,
    REASON_USER,
    REC_ALL,
    REC_NONE,
    REC_OWNED,
    S_BASE,
    S_BEST_ASK,
    S_BEST_BID,
    S_CANCELS,
    S_FILLED_QTY,
    S_FILLS,
    S_FREE,
    S_MATCH_ID,
    S_NEED,
    S_NEV,
    S_NLEV,
    S_NTOUCH,
    S_REC,
    S_RESTING,
    S_SIZE,
    S_STP,
    S_TICK,
    SELL,
    STP_CANCEL_INCOMING,
    STP_CANCEL_RESTING,
    STP_NONE,
    TIF_DAY,
    TIF_FOK,
    TIF_IOC,
)
from engine.sim._views import depth, drain_marks

__all__ = [
    "BUY",
    "EVENT_DTYPE",
    "EV_ADD",
    "EV_CANCEL",
    "EV_FILL",
    "EV_REPLACE",
    "E_AUX",
    "E_KIND",
    "E_LEAVES",
    "E_LEAVES2",
    "E_OID",
    "E_OID2",
    "E_OWNER",
    "E_OWNER2",
    "E_PRICE",
    "E_QTY",
    "E_SIDE",
    "E_TS",
    "MAX_LEVELS",
    "REASON_FOK",
    "REASON_IOC",
    "REASON_NO_LIQUIDITY",
    "REASON_REPLACE_ZERO",
    "REASON_STP",
    "REASON_USER",
    "SELL",
    "STP_CANCEL_INCOMING",
    "STP_CANCEL_RESTING",
    "STP_NONE",
    "TIF_DAY",
    "TIF_FOK",
    "TIF_IOC",
    "BookArrays",
    "MatchingBook",
]

I64Array = npt.NDArray[np.int64]
BookArrays = tuple[I64Array, I64Array, I64Array, I64Array, I64Array, I64Array, I64Array]
"""``(st, orders, levels, bitmap, touched, idmap, events)``: the arguments every kernel operation starts with."""

MAX_LEVELS: Final = 1 << 22
"""Most price levels the ladder may span (from the lowest to the highest resting price, with slack)."""

_FIELDS = ("kind", "ts", "oid", "owner", "side", "price", "qty", "leaves", "oid2", "owner2", "leaves2", "aux")
_ALIASES = {
    "maker_oid": "oid",
    "maker_owner": "owner",
    "maker_leaves": "leaves",
    "taker_oid": "oid2",
    "taker_owner": "owner2",
    "taker_leaves": "leaves2",
    "match_id": "aux",
    "reason": "aux",
    "kept_priority": "aux",
}
EVENT_DTYPE: Final = np.dtype(
    {
        "names": [*_FIELDS, *_ALIASES],
        "formats": ["<i8"] * (len(_FIELDS) + len(_ALIASES)),
        "offsets": [8 * i for i in range(len(_FIELDS))] + [8 * _FIELDS.index(v) for v in _ALIASES.values()],
        "itemsize": 8 * E_COLS,
    }
)
"""Structured dtype of :attr:`MatchingBook.events`; the role names (``maker_oid``, ``match_id``, ``reason``...)
are aliases of the generic columns, as listed in the module documentation."""

_ERRORS = {
    ERR_DUPLICATE: "order id is already resting",
    ERR_OFF_TICK: "price is not on the tick grid",
    ERR_QTY: "quantity must be positive",
    ERR_SIDE: "side must be BUY (0) or SELL (1)",
    ERR_TIF: "unknown time in force",
}


def _pow2_at_least(n: int, minimum: int) -> int:
    size = minimum
    while size < n:
        size *= 2
    return size


class MatchingBook:
    """One instrument's limit order book with price-time priority matching.

    ``tick`` is the price increment (prices must be multiples of it); ``stp_mode`` selects self-trade prevention
    for owners above 0; ``record_anonymous`` also records ADD/CANCEL/REPLACE of owner-0 orders;
    ``record_events=False`` records nothing at all (fills are then only counted, for benchmarks).
    ``initial_levels`` and ``initial_orders`` size the arrays, which grow on demand.
    """

    __slots__ = ("_bitmap", "_events", "_idmap", "_levels", "_orders", "_st", "_touched")

    def __init__(
        self,
        tick: int = 1,
        *,
        stp_mode: int = STP_CANCEL_INCOMING,
        record_anonymous: bool = False,
        record_events: bool = True,
        initial_levels: int = 4096,
        initial_orders: int = 1 << 16,
    ) -> None:
        if tick <= 0:
            raise ValueError(f"tick must be positive, got {tick}")
        if stp_mode not in (STP_NONE, STP_CANCEL_INCOMING, STP_CANCEL_RESTING):
            raise ValueError(f"unknown self-trade prevention mode {stp_mode}")
        nlev = _pow2_at_least(initial_levels, 64)
        if nlev > MAX_LEVELS:
            raise ValueError(f"initial_levels must be at most {MAX_LEVELS}")
        n_orders = max(initial_orders, 16)
        st = np.zeros(S_SIZE, dtype=np.int64)
        st[S_TICK] = tick
        st[S_NLEV] = nlev
        st[S_BEST_BID] = -1
        st[S_BEST_ASK] = ASK_NONE
        st[S_STP] = stp_mode
        st[S_REC] = (REC_ALL if record_anonymous else REC_OWNED) if record_events else REC_NONE
        self._st = st
        self._orders = self._new_slots(n_orders, 0)
        self._levels = self._new_levels(nlev)
        self._bitmap = np.zeros(nlev // 64, dtype=np.int64)
        self._touched = np.zeros(nlev, dtype=np.int64)
        self._idmap = new_map(_pow2_at_least(2 * n_orders, 64))
        self._events = np.zeros((1024, E_COLS), dtype=np.int64)

    # --- operations ---------------------------------------------------------------------------------------------

    def add(self, ts: int, oid: int, owner: int, side: int, price: int, qty: int, tif: int = TIF_DAY) -> None:
        """Enter a limit order: it trades what crosses, then rests (``TIF_DAY``), or drops the rest (``TIF_IOC``),
        or trades in full or not at all (``TIF_FOK``). Raises ``ValueError`` on an invalid order (off-tick price,
        quantity <= 0, a resting order's id that is already resting)."""
        while True:
            status = op_add(
                self._st, self._orders, self._levels, self._bitmap, self._touched, self._idmap, self._events,
                ts, oid, owner, side, price, qty, tif,
            )  # fmt: skip
            if status >= 0:
                return
            self.resolve(status)

    def market(self, ts: int, oid: int, owner: int, side: int, qty: int) -> None:
        """Enter a market order: it trades at any price what the other side offers; the rest is cancelled."""
        while True:
            status = op_market(
                self._st, self._orders, self._levels, self._bitmap, self._touched, self._idmap, self._events,
                ts, oid, owner, side, qty,
            )  # fmt: skip
            if status >= 0:
                return
            self.resolve(status)

    def cancel(self, ts: int, oid: int) -> int:
        """Cancel a resting order; returns the quantity removed, 0 when the id is unknown or finished."""
        while True:
            status = op_cancel(
                self._st, self._orders, self._levels, self._bitmap, self._touched, self._idmap, self._events,
                ts, oid,
            )  # fmt: skip
            if status >= 0:
                return int(status)
            self.resolve(status)

    def replace(self, ts: int, oid: int, new_price: int, new_qty: int) -> bool:
        """Change a resting order's price and leaves quantity (``new_qty`` is the new total left open).

        Priority is kept when the price is unchanged and the quantity does not grow, otherwise the order moves
        to the back of its new level; a crossing new price trades at once. ``new_qty <= 0`` cancels the order.
        Returns False when the id is unknown or finished.
        """
        while True:
            status = op_replace(
                self._st, self._orders, self._levels, self._bitmap, self._touched, self._idmap, self._events,
                ts, oid, new_price, new_qty,
            )  # fmt: skip
            if status >= 0:
                return status == 1
            self.resolve(status)

    # --- queries ------------------------------------------------------------------------------------------------

    def top(self) -> tuple[int | None, int, int | None, int]:
        """``(bid, bid_qty, ask, ask_qty)``; an empty side gives ``(None, 0)``."""
        tick, base, _, best_bid, best_ask = self._st[:5].tolist()
        levels = self._levels
        if best_bid >= 0:
            bid: int | None = (best_bid + base) * tick
            bid_qty = int(levels[best_bid, L_QTY])
        else:
            bid, bid_qty = None, 0
        if best_ask != ASK_NONE:
            ask: int | None = (best_ask + base) * tick
            ask_qty = int(levels[best_ask, L_QTY])
        else:
            ask, ask_qty = None, 0
        return bid, bid_qty, ask, ask_qty

    def depth(self, n: int) -> tuple[I64Array, I64Array]:
        """Up to ``n`` levels per side: ``(bids, asks)``, each ``(k, 2)`` of ``[price, qty]``, best first."""
        bids, asks = depth(self._st, self._levels, self._bitmap, n)
        return bids, asks

    def order(self, oid: int) -> tuple[int, int, int, int] | None:
        """``(side, price, leaves, owner)`` of a resting order, or None."""
        slot = map_find(self._idmap, oid)
        if slot < 0:
            return None
        row = self._orders[slot]
        return int(row[O_SIDE]), int(row[O_PRICE]), int(row[O_LEAVES]), int(row[O_OWNER])

    @property
    def resting_orders(self) -> int:
        """Number of orders resting in the book."""
        return int(self._st[S_RESTING])

    @property
    def tick(self) -> int:
        """The price increment."""
        return int(self._st[S_TICK])

    def counters(self) -> dict[str, int]:
        """Totals since creation: ``fills`` (matches), ``filled_qty``, ``cancels`` (successful by id),
        ``match_id`` (last match id given)."""
        st = self._st
        return {
            "fills": int(st[S_FILLS]),
            "filled_qty": int(st[S_FILLED_QTY]),
            "cancels": int(st[S_CANCELS]),
            "match_id": int(st[S_MATCH_ID]),
        }

    # --- outputs ------------------------------------------------------------------------------------------------

    @property
    def events(self) -> npt.NDArray[np.void]:
        """Events since the last :meth:`clear_events`, as a structured array (``EVENT_DTYPE``).

        It is a view of the book's buffer: valid until the next operation or clear; copy it to keep it. The role
        names are aliases, so ``.tolist()`` repeats those columns; :attr:`event_rows` is the plain form.
        """
        return self._events[: int(self._st[S_NEV])].view(EVENT_DTYPE)[:, 0]

    @property
    def event_rows(self) -> I64Array:
        """The same events as a plain ``(n, 12)`` int64 view; columns ``E_KIND``, ``E_TS``, ``E_OID`` ...
        ``E_AUX`` in ``EVENT_DTYPE`` order."""
        count: int = self._st.item(S_NEV)
        return self._events[:count]

    @property
    def event_count(self) -> int:
        """Number of events since the last :meth:`clear_events`."""
        count: int = self._st.item(S_NEV)
        return count

    def clear_events(self) -> None:
        """Forget the recorded events (the buffer is reused)."""
        self._st[S_NEV] = 0

    def drain_deltas(self) -> I64Array:
        """L2 changes since the last drain: ``(n, 3)`` int64 rows ``[side, price, new level qty]``, each
        (side, level) once, 0 for a level that is gone. Clears the marks."""
        out = drain_marks(self._st, self._orders, self._levels, self._touched)
        return out

    # --- for compiled callers -----------------------------------------------------------------------------------

    @property
    def arrays(self) -> BookArrays:
        """The kernel arrays, to pass to compiled code that calls the kernel operations directly.

        They change identity when the book grows: fetch them again after :meth:`resolve`.
        """
        return self._st, self._orders, self._levels, self._bitmap, self._touched, self._idmap, self._events

    def resolve(self, status: int) -> None:
        """Act on a negative kernel status: grow what it asks for, or raise ``ValueError`` for an invalid order."""
        if status == NEED_LADDER:
            self._grow_ladder(int(self._st[S_NEED]))
        elif status == NEED_SLOTS:
            self._grow_slots()
        elif status == NEED_MAP:
            self._grow_map()
        elif status == NEED_EVENTS:
            self._grow_events(int(self._st[S_NEED]))
        else:
            raise ValueError(_ERRORS.get(status, f"matching kernel status {status}"))

    # --- growth -------------------------------------------------------------------------------------------------

    @staticmethod
    def _new_slots(n: int, start: int) -> I64Array:
        orders = np.zeros((n, O_COLS), dtype=np.int64)
        orders[:, O_NEXT] = np.arange(start + 1, start + n + 1)
        orders[-1, O_NEXT] = -1
        return orders

    @staticmethod
    def _new_levels(n: int) -> I64Array:
        levels = np.zeros((n, L_COLS), dtype=np.int64)
        levels[:, L_HEAD] = -1
        levels[:, L_TAIL] = -1
        return levels

    def _grow_ladder(self, price: int) -> None:
        """Move and, if needed, enlarge the ladder so that ``price``, every resting level and every level with a
        pending L2 mark fit, with free room around them."""
        st = self._st
        tick, base, nlev = int(st[S_TICK]), int(st[S_BASE]), int(st[S_NLEV])
        lo = hi = price // tick
        lowest = next_above(self._bitmap, -1, nlev)
        if lowest >= 0:
            lo = min(lo, lowest + base)
            hi = max(hi, next_below(self._bitmap, nlev) + base)
        ntouch = int(st[S_NTOUCH])
        if ntouch:
            marked = self._touched[:ntouch]
            lo = min(lo, int(marked.min()) + base)
            hi = max(hi, int(marked.max()) + base)
        span = hi - lo + 1
        size = _pow2_at_least(2 * span, nlev)
        if size > MAX_LEVELS:
            raise ValueError(f"price {price} is too far from the book: the ladder would need {size} levels")
        new_base = lo - (size - span) // 2
        shift = base - new_base
        levels = self._new_levels(size)
        src_lo, src_hi = max(lo - base, 0), min(hi - base, nlev - 1)
        if src_lo <= src_hi:
            levels[src_lo + shift : src_hi + shift + 1] = self._levels[src_lo : src_hi + 1]
        touched = np.zeros(size, dtype=np.int64)
        touched[:ntouch] = self._touched[:ntouch] + shift
        bitmap = np.zeros(size // 64, dtype=np.int64)
        rebuild_bitmap(levels, bitmap)
        if st[S_BEST_BID] >= 0:
            st[S_BEST_BID] += shift
        if st[S_BEST_ASK] != ASK_NONE:
            st[S_BEST_ASK] += shift
        st[S_BASE] = new_base
        st[S_NLEV] = size
        self._levels, self._touched, self._bitmap = levels, touched, bitmap

    def _grow_slots(self) -> None:
        old = self._orders
        n = old.shape[0]
        self._orders = np.concatenate([old, self._new_slots(n, n)])
        self._st[S_FREE] = n

    def _grow_map(self) -> None:
        table = new_map(2 * self._idmap.shape[0])
        map_rehash(self._idmap, table)
        self._idmap = table

    def _grow_events(self, need: int) -> None:
        old = self._events
        events = np.zeros((_pow2_at_least(need, 2 * old.shape[0]), E_COLS), dtype=np.int64)
        count = int(self._st[S_NEV])
        events[:count] = old[:count]
        self._events = events
