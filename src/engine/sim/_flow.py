"""The compiled background-trader loop: it draws the crowd's events and applies them to the book's arrays.

One event at a time, a merged Poisson process picks who acts: the latent fundamental takes a half-tick step
(market makers then requote), a zero-intelligence trader sends a limit order or cancels one of its resting
orders, a market maker refreshes its quotes, or a momentum or noise taker sends a market order. Each resulting
exchange message is first written to the *pending* fields of the flow state and then applied; when the book must
grow, the loop returns the kernel's status with the message still pending, and the next call applies it. So the
sequence of messages depends only on the seed and the book, never on where the caller split time.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from engine.sim._idmap import map_find
from engine.sim._jit import ensure_fresh_cache, jit
from engine.sim._kernel import op_add, op_cancel, op_market, op_replace
from engine.sim._layout import (
    ASK_NONE,
    BUY,
    O_LEAVES,
    O_PRICE,
    OK,
    S_BASE,
    S_BEST_ASK,
    S_BEST_BID,
    S_TICK,
    SELL,
    TIF_DAY,
)
from engine.sim.rng import below, exponential, geometric, uniform

I64Array = npt.NDArray[np.int64]
F64Array = npt.NDArray[np.float64]
U64Array = npt.NDArray[np.uint64]

ensure_fresh_cache(__file__)

# --- fst: flow state -------------------------------------------------------------------------------------------
F_NOW = 0  # time of the event being handled
F_NEXT = 1  # time of the next event
F_FUND2 = 2  # fundamental in half ticks
F_NEXT_OID = 3
F_POOL_N = 4
F_EMA = 5  # momentum traders' memory of the mid, in units of 1/16 of (bid + ask)
F_MESSAGES = 6
F_CURSOR = 7  # next market-maker quote to check ...
F_CURSOR_END = 8  # ... and the end of the run of quotes being checked
F_P_KIND = 9  # pending message: P_* (0: none)
F_P_OID = 10
F_P_SIDE = 11
F_P_PRICE = 12
F_P_QTY = 13
F_P_TRACK = 14  # 1: a zero-intelligence order, remember it in the pool if it rests
F_SIZE = 16

P_ADD = 1
P_CANCEL = 2
P_REPLACE = 3
P_MARKET = 4

# --- ipar: integer parameters ----------------------------------------------------------------------------------
I_TICK = 0
I_LOT = 1
I_ZI_MAX_DISTANCE = 2
I_ZI_MAX_LOTS = 3
I_MM_LEVELS = 4
I_MM_SIZE_LOTS = 5
I_TAKER_MAX_LOTS = 6
I_MOMENTUM_SHIFT = 7
I_MIN_FUND2 = 8
I_SIZE = 10

# --- fpar: rates per second and probabilities ------------------------------------------------------------------
R_FUND = 0
R_ZI = 1
R_ZI_CANCEL = 2  # per resting zero-intelligence order
R_MM = 3
R_MOMENTUM = 4
R_NOISE = 5
R_ZI_GEOMETRIC_P = 6
R_ZI_CROSS = 7
R_SIZE = 8

NANOS = 1_000_000_000.0


@jit
def _apply(
    st: I64Array,
    orders: I64Array,
    levels: I64Array,
    bitmap: I64Array,
    touched: I64Array,
    idmap: I64Array,
    events: I64Array,
    fst: I64Array,
) -> int:
    """Send the pending message to the book; returns the kernel status (negative: grow the book, call again)."""
    kind = fst[F_P_KIND]
    ts = fst[F_NOW]
    oid = fst[F_P_OID]
    if kind == P_ADD:
        return op_add(
            st, orders, levels, bitmap, touched, idmap, events, ts, oid, 0, fst[F_P_SIDE], fst[F_P_PRICE],
            fst[F_P_QTY], TIF_DAY,
        )  # fmt: skip
    if kind == P_CANCEL:
        return min(op_cancel(st, orders, levels, bitmap, touched, idmap, events, ts, oid), OK)
    if kind == P_REPLACE:
        status = op_replace(st, orders, levels, bitmap, touched, idmap, events, ts, oid, fst[F_P_PRICE], fst[F_P_QTY])
        return min(status, OK)
    return op_market(st, orders, levels, bitmap, touched, idmap, events, ts, oid, 0, fst[F_P_SIDE], fst[F_P_QTY])


@jit
def _pend(fst: I64Array, kind: int, oid: int, side: int, price: int, qty: int, track: int) -> None:
    fst[F_P_KIND] = kind
    fst[F_P_OID] = oid
    fst[F_P_SIDE] = side
    fst[F_P_PRICE] = price
    fst[F_P_QTY] = qty
    fst[F_P_TRACK] = track


@jit
def _new_oid(fst: I64Array) -> int:
    oid = fst[F_NEXT_OID]
    fst[F_NEXT_OID] = oid + 1
    return int(oid)


@jit
def _requote(
    orders: I64Array, idmap: I64Array, fst: I64Array, ipar: I64Array, mm_offsets: I64Array, quotes: I64Array, q: int
) -> None:
    """Check market-maker quote ``q`` against the fundamental; pend an add or a replace if it is off."""
    levels = ipar[I_MM_LEVELS]
    maker = q // (2 * levels)
    level = (q // 2) % levels
    side = q % 2
    fund2 = fst[F_FUND2]
    offset = mm_offsets[maker] + level
    ticks = (fund2 - 1) // 2 - offset if side == BUY else fund2 // 2 + 1 + offset
    price = max(ticks, 1) * ipar[I_TICK]
    size = ipar[I_MM_SIZE_LOTS] * ipar[I_LOT]
    oid = quotes[q]
    slot = map_find(idmap, oid) if oid != 0 else -1
    if slot < 0:
        oid = _new_oid(fst)
        quotes[q] = oid
        _pend(fst, P_ADD, oid, side, price, size, 0)
    elif orders[slot, O_PRICE] != price or 2 * orders[slot, O_LEAVES] < size:
        _pend(fst, P_REPLACE, oid, side, price, size, 0)


@jit
def _taker_size(rng: U64Array, ipar: I64Array) -> int:
    return int((1 + below(rng, ipar[I_TAKER_MAX_LOTS])) * ipar[I_LOT])


@jit
def _momentum(st: I64Array, fst: I64Array, ipar: I64Array, rng: U64Array) -> None:
    """A momentum taker compares the mid with its memory of it and buys a rise or sells a fall."""
    bid = st[S_BEST_BID]
    ask = st[S_BEST_ASK]
    if bid < 0 or ask == ASK_NONE:
        return
    mid16 = (bid + ask + 2 * st[S_BASE]) * st[S_TICK] * 16
    ema = fst[F_EMA]
    if ema == 0:
        fst[F_EMA] = mid16
        return
    fst[F_EMA] = ema + ((mid16 - ema) >> ipar[I_MOMENTUM_SHIFT])
    if mid16 != ema:
        side = BUY if mid16 > ema else SELL
        _pend(fst, P_MARKET, _new_oid(fst), side, 0, _taker_size(rng, ipar), 0)


@jit
def _zi_limit(fst: I64Array, ipar: I64Array, fpar: F64Array, rng: U64Array, pool: I64Array) -> None:
    """A zero-intelligence trader places a limit order a random distance behind the inside anchors."""
    if fst[F_POOL_N] >= pool.shape[0]:
        return
    side = below(rng, 2)
    fund2 = fst[F_FUND2]
    bid_anchor = (fund2 - 1) // 2
    ask_anchor = fund2 // 2 + 1
    if uniform(rng) < fpar[R_ZI_CROSS]:
        ticks = ask_anchor if side == BUY else bid_anchor
    else:
        distance = min(geometric(rng, fpar[R_ZI_GEOMETRIC_P]), ipar[I_ZI_MAX_DISTANCE])
        ticks = bid_anchor - distance if side == BUY else ask_anchor + distance
    qty = (1 + below(rng, ipar[I_ZI_MAX_LOTS])) * ipar[I_LOT]
    _pend(fst, P_ADD, _new_oid(fst), side, max(ticks, 1) * ipar[I_TICK], qty, 1)


@jit
def _zi_cancel(idmap: I64Array, fst: I64Array, rng: U64Array, pool: I64Array) -> None:
    """A zero-intelligence trader cancels one of its orders (orders filled meanwhile are just forgotten)."""
    n = fst[F_POOL_N]
    k = below(rng, n)
    oid = pool[k]
    pool[k] = pool[n - 1]
    fst[F_POOL_N] = n - 1
    if map_find(idmap, oid) >= 0:
        _pend(fst, P_CANCEL, oid, 0, 0, 0, 0)


@jit
def _fundamental_step(fst: I64Array, ipar: I64Array, rng: U64Array, n_quotes: int) -> None:
    step = 1 if below(rng, 2) == 1 else -1
    if fst[F_FUND2] + step < ipar[I_MIN_FUND2]:
        step = 1
    fst[F_FUND2] += step
    fst[F_CURSOR] = 0
    fst[F_CURSOR_END] = n_quotes


@jit
def _next_event(
    st: I64Array,
    idmap: I64Array,
    fst: I64Array,
    ipar: I64Array,
    fpar: F64Array,
    rng: U64Array,
    pool: I64Array,
    n_quotes: int,
) -> None:
    """Handle the event due at ``fst[F_NEXT]`` and draw the time of the one after it."""
    fst[F_NOW] = fst[F_NEXT]
    pool_n = fst[F_POOL_N]
    total = fpar[R_FUND] + fpar[R_ZI] + fpar[R_ZI_CANCEL] * pool_n + fpar[R_MM] + fpar[R_MOMENTUM] + fpar[R_NOISE]
    wait = int(exponential(rng, total) * NANOS)
    fst[F_NEXT] = fst[F_NOW] + max(wait, 1)
    pick = uniform(rng) * total
    pick -= fpar[R_FUND]
    if pick < 0.0:
        _fundamental_step(fst, ipar, rng, n_quotes)
        return
    pick -= fpar[R_ZI]
    if pick < 0.0:
        _zi_limit(fst, ipar, fpar, rng, pool)
        return
    pick -= fpar[R_ZI_CANCEL] * pool_n
    if pick < 0.0:
        if pool_n > 0:
            _zi_cancel(idmap, fst, rng, pool)
        return
    pick -= fpar[R_MM]
    if pick < 0.0:
        per_maker = 2 * ipar[I_MM_LEVELS]
        maker = below(rng, n_quotes // per_maker)
        fst[F_CURSOR] = maker * per_maker
        fst[F_CURSOR_END] = (maker + 1) * per_maker
        return
    pick -= fpar[R_MOMENTUM]
    if pick < 0.0:
        _momentum(st, fst, ipar, rng)
        return
    _pend(fst, P_MARKET, _new_oid(fst), below(rng, 2), 0, _taker_size(rng, ipar), 0)


@jit
def flow_run(
    st: I64Array,
    orders: I64Array,
    levels: I64Array,
    bitmap: I64Array,
    touched: I64Array,
    idmap: I64Array,
    events: I64Array,
    fst: I64Array,
    ipar: I64Array,
    fpar: F64Array,
    mm_offsets: I64Array,
    quotes: I64Array,
    pool: I64Array,
    rng: U64Array,
    t_end: int,
) -> int:
    """Apply every background message due before ``t_end``; returns OK, or a kernel NEED_* status to resolve."""
    n_quotes = quotes.shape[0]
    while True:
        if fst[F_P_KIND] != 0:
            status = _apply(st, orders, levels, bitmap, touched, idmap, events, fst)
            if status < OK and status > -10:
                return status
            if fst[F_P_TRACK] == 1 and map_find(idmap, fst[F_P_OID]) >= 0:
                pool[fst[F_POOL_N]] = fst[F_P_OID]
                fst[F_POOL_N] += 1
            fst[F_P_KIND] = 0
            fst[F_MESSAGES] += 1
        elif fst[F_CURSOR] < fst[F_CURSOR_END]:
            q = fst[F_CURSOR]
            fst[F_CURSOR] = q + 1
            _requote(orders, idmap, fst, ipar, mm_offsets, quotes, q)
        elif fst[F_NEXT] < t_end:
            _next_event(st, idmap, fst, ipar, fpar, rng, pool, n_quotes)
        else:
            return OK
