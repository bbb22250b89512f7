"""The price ladder: FIFO queues per level, the occupancy bitmap, best-price tracking and L2 change marks.

Level ``li`` holds price ``(li + base) * tick``. Bids always sit below asks (the book is never left crossed), so
one bitmap serves both sides: the next bid below the best bid is the highest occupied level under it, the next
ask above the best ask the lowest occupied level over it.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from engine.sim._jit import ensure_fresh_cache, jit
from engine.sim._layout import (
    ASK_NONE,
    BUY,
    L_HEAD,
    L_MARK,
    L_QTY,
    L_TAIL,
    O_LEAVES,
    O_NEXT,
    O_PREV,
    O_SIDE,
    S_BEST_ASK,
    S_BEST_BID,
    S_FREE,
    S_NLEV,
    S_NTOUCH,
)

I64Array = npt.NDArray[np.int64]

ensure_fresh_cache(__file__)

# BIT[b] is the word with only bit b set; BELOW[b] has bits 0..b-1 set (b = 0..64). Both as two's-complement
# int64 so that the same code runs compiled and as plain Python.
BIT = np.array([1 << b for b in range(64)], dtype=np.uint64).view(np.int64)
BELOW = np.array([(1 << b) - 1 for b in range(65)], dtype=np.uint64).view(np.int64)


@jit
def high_bit(word: int) -> int:
    """Index of the highest set bit of a non-zero 64-bit word."""
    if word < 0:
        return 63
    n = 0
    if word >= 1 << 32:
        n += 32
        word >>= 32
    if word >= 1 << 16:
        n += 16
        word >>= 16
    if word >= 1 << 8:
        n += 8
        word >>= 8
    if word >= 1 << 4:
        n += 4
        word >>= 4
    if word >= 1 << 2:
        n += 2
        word >>= 2
    if word >= 2:
        n += 1
    return n


@jit
def low_bit(word: int) -> int:
    """Index of the lowest set bit of a non-zero 64-bit word."""
    n = 0
    if word & 0xFFFFFFFF == 0:
        n += 32
        word >>= 32
    if word & 0xFFFF == 0:
        n += 16
        word >>= 16
    if word & 0xFF == 0:
        n += 8
        word >>= 8
    if word & 0xF == 0:
        n += 4
        word >>= 4
    if word & 0x3 == 0:
        n += 2
        word >>= 2
    if word & 0x1 == 0:
        n += 1
    return n


@jit
def next_below(bitmap: I64Array, li: int) -> int:
    """Highest occupied level strictly below ``li``, or -1."""
    if li <= 0:
        return -1
    p = li - 1
    w = p >> 6
    word = bitmap[w] & BELOW[(p & 63) + 1]
    while word == 0:
        w -= 1
        if w < 0:
            return -1
        word = bitmap[w]
    return (w << 6) + high_bit(word)


@jit
def next_above(bitmap: I64Array, li: int, nlev: int) -> int:
    """Lowest occupied level strictly above ``li`` (which may be -1), or -1."""
    p = li + 1
    if p >= nlev:
        return -1
    w = p >> 6
    last = (nlev >> 6) - 1
    word = bitmap[w] & ~BELOW[p & 63]
    while word == 0:
        w += 1
        if w > last:
            return -1
        word = bitmap[w]
    return (w << 6) + low_bit(word)


@jit
def mark(st: I64Array, levels: I64Array, touched: I64Array, li: int, side: int) -> None:
    """Note that the L2 quantity of ``side`` at level ``li`` changed (listed once until the next drain)."""
    flags = levels[li, L_MARK]
    if flags == 0:
        touched[st[S_NTOUCH]] = li
        st[S_NTOUCH] += 1
    levels[li, L_MARK] = flags | (side + 1)


@jit
def push_back(
    st: I64Array, orders: I64Array, levels: I64Array, bitmap: I64Array, touched: I64Array, li: int, slot: int
) -> None:
    """Append the order in ``slot`` at the back of level ``li`` (its leaves join the level's quantity)."""
    side = orders[slot, O_SIDE]
    tail = levels[li, L_TAIL]
    orders[slot, O_PREV] = tail
    orders[slot, O_NEXT] = -1
    if tail < 0:
        levels[li, L_HEAD] = slot
        bitmap[li >> 6] |= BIT[li & 63]
        if side == BUY:
            if li > st[S_BEST_BID]:
                st[S_BEST_BID] = li
        elif li < st[S_BEST_ASK]:
            st[S_BEST_ASK] = li
    else:
        orders[tail, O_NEXT] = slot
    levels[li, L_TAIL] = slot
    levels[li, L_QTY] += orders[slot, O_LEAVES]
    mark(st, levels, touched, li, side)


@jit
def unlink(
    st: I64Array, orders: I64Array, levels: I64Array, bitmap: I64Array, touched: I64Array, li: int, slot: int
) -> None:
    """Take the order in ``slot`` out of level ``li``; moves the best price on when its level empties."""
    prev = orders[slot, O_PREV]
    nxt = orders[slot, O_NEXT]
    if prev < 0:
        levels[li, L_HEAD] = nxt
    else:
        orders[prev, O_NEXT] = nxt
    if nxt < 0:
        levels[li, L_TAIL] = prev
    else:
        orders[nxt, O_PREV] = prev
    side = orders[slot, O_SIDE]
    levels[li, L_QTY] -= orders[slot, O_LEAVES]
    mark(st, levels, touched, li, side)
    if levels[li, L_HEAD] < 0:
        bitmap[li >> 6] &= ~BIT[li & 63]
        if side == BUY:
            if li == st[S_BEST_BID]:
                st[S_BEST_BID] = next_below(bitmap, li)
        elif li == st[S_BEST_ASK]:
            above = next_above(bitmap, li, st[S_NLEV])
            st[S_BEST_ASK] = above if above >= 0 else ASK_NONE


@jit
def alloc_slot(st: I64Array, orders: I64Array) -> int:
    """Take a slot from the free list (the caller made sure one exists)."""
    slot = st[S_FREE]
    st[S_FREE] = orders[slot, O_NEXT]
    return int(slot)


@jit
def free_slot(st: I64Array, orders: I64Array, slot: int) -> None:
    """Return ``slot`` to the free list."""
    orders[slot, O_NEXT] = st[S_FREE]
    st[S_FREE] = slot


@jit
def rebuild_bitmap(levels: I64Array, bitmap: I64Array) -> None:
    """Recompute the occupancy bitmap from the level heads (after the ladder was moved or grown)."""
    bitmap[:] = 0
    for li in range(levels.shape[0]):
        if levels[li, L_HEAD] >= 0:
            bitmap[li >> 6] |= BIT[li & 63]
