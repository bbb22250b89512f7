"""Read-side kernel functions: L2 depth snapshots and the drain of L2 change marks."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from engine.sim._jit import ensure_fresh_cache, jit_alloc
from engine.sim._ladder import next_above, next_below
from engine.sim._layout import (
    ASK_NONE,
    L_HEAD,
    L_MARK,
    L_QTY,
    O_SIDE,
    S_BASE,
    S_BEST_ASK,
    S_BEST_BID,
    S_NLEV,
    S_NTOUCH,
    S_TICK,
)

I64Array = npt.NDArray[np.int64]

ensure_fresh_cache(__file__)


@jit_alloc
def depth(st: I64Array, levels: I64Array, bitmap: I64Array, n: int) -> tuple[I64Array, I64Array]:
    """Up to ``n`` levels per side as ``(k, 2)`` arrays of ``[price, qty]``, best first."""
    tick = st[S_TICK]
    base = st[S_BASE]
    bids = np.empty((n, 2), dtype=np.int64)
    asks = np.empty((n, 2), dtype=np.int64)
    nb = 0
    li = st[S_BEST_BID]
    while nb < n and li >= 0:
        bids[nb, 0] = (li + base) * tick
        bids[nb, 1] = levels[li, L_QTY]
        nb += 1
        li = next_below(bitmap, li)
    na = 0
    li = st[S_BEST_ASK]
    if li == ASK_NONE:
        li = -1
    while na < n and li >= 0:
        asks[na, 0] = (li + base) * tick
        asks[na, 1] = levels[li, L_QTY]
        na += 1
        li = next_above(bitmap, li, st[S_NLEV])
    return bids[:nb], asks[:na]


@jit_alloc
def drain_marks(st: I64Array, orders: I64Array, levels: I64Array, touched: I64Array) -> I64Array:
    """``(n, 3)`` rows ``[side, price, qty]`` for every (side, level) changed since the last drain; clears marks.

    A level that changed sides within the interval (asks taken out, then a bid rested there) yields a row for
    each side: the side it no longer holds with quantity 0.
    """
    tick = st[S_TICK]
    base = st[S_BASE]
    count = st[S_NTOUCH]
    out = np.empty((2 * count, 3), dtype=np.int64)
    k = 0
    for i in range(count):
        li = touched[i]
        flags = levels[li, L_MARK]
        levels[li, L_MARK] = 0
        head = levels[li, L_HEAD]
        holder = orders[head, O_SIDE] if head >= 0 else -1
        for side in range(2):
            if flags & (side + 1):
                out[k, 0] = side
                out[k, 1] = (li + base) * tick
                out[k, 2] = levels[li, L_QTY] if holder == side else 0
                k += 1
    st[S_NTOUCH] = 0
    return out[:k]
