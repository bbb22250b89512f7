"""The matching operations of the kernel, compiled: add, market, cancel, replace and the match loop they share.

Every operation takes the book's arrays (see :mod:`engine.sim._layout`) and returns a status: a negative
``NEED_*`` code means it changed nothing and asks the caller to grow an array and call again; a negative
``ERR_*`` code means the request was invalid and changed nothing.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from engine.sim._idmap import map_find, map_has_room, map_insert, map_remove
from engine.sim._jit import ensure_fresh_cache, jit, jit_inline
from engine.sim._ladder import alloc_slot, free_slot, mark, next_above, next_below, push_back, unlink
from engine.sim._layout import (
    ASK_NONE,
    BUY,
    E_AUX,
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
    L_HEAD,
    L_QTY,
    NEED_EVENTS,
    NEED_LADDER,
    NEED_MAP,
    NEED_SLOTS,
    O_LEAVES,
    O_NEXT,
    O_OID,
    O_OWNER,
    O_PRICE,
    O_SIDE,
    O_TS,
    OK,
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
    S_REC,
    S_RESTING,
    S_STP,
    S_TICK,
    SELL,
    STP_CANCEL_INCOMING,
    STP_CANCEL_RESTING,
    TIF_DAY,
    TIF_FOK,
    TIF_IOC,
)

I64Array = npt.NDArray[np.int64]

ensure_fresh_cache(__file__)


@jit
def records(st: I64Array, owner: int) -> bool:
    """True when ADD/CANCEL/REPLACE events of an order of ``owner`` are recorded."""
    rec = st[S_REC]
    return bool(rec == REC_ALL or (rec == REC_OWNED and owner > 0))


@jit
def emit(
    st: I64Array,
    events: I64Array,
    kind: int,
    ts: int,
    oid: int,
    owner: int,
    side: int,
    price: int,
    qty: int,
    leaves: int,
    oid2: int,
    owner2: int,
    leaves2: int,
    aux: int,
) -> None:
    """Append one event row (the caller checked the capacity)."""
    n = st[S_NEV]
    events[n, E_KIND] = kind
    events[n, E_TS] = ts
    events[n, E_OID] = oid
    events[n, E_OWNER] = owner
    events[n, E_SIDE] = side
    events[n, E_PRICE] = price
    events[n, E_QTY] = qty
    events[n, E_LEAVES] = leaves
    events[n, E_OID2] = oid2
    events[n, E_OWNER2] = owner2
    events[n, E_LEAVES2] = leaves2
    events[n, E_AUX] = aux
    st[S_NEV] = n + 1


@jit
def event_room(st: I64Array, events: I64Array, owner: int, qty: int) -> int:
    """OK, or NEED_EVENTS when the worst case of one operation might not fit in the event buffer."""
    if st[S_REC] == REC_NONE:
        return OK
    resting = st[S_RESTING]
    # Each fill uses up a resting order or the incoming quantity (at least 1 per fill); a cancel-resting STP
    # removes resting orders without using quantity. Plus the replace, rest and cancel events of the order.
    worst = resting if owner > 0 and st[S_STP] == STP_CANCEL_RESTING else min(resting, qty)
    need = st[S_NEV] + worst + 4
    if need > events.shape[0]:
        st[S_NEED] = need
        return NEED_EVENTS
    return OK


@jit_inline
def cancel_slot(
    st: I64Array,
    orders: I64Array,
    levels: I64Array,
    bitmap: I64Array,
    touched: I64Array,
    idmap: I64Array,
    events: I64Array,
    ts: int,
    slot: int,
    reason: int,
) -> int:
    """Remove the resting order in ``slot`` from the book; returns the quantity removed."""
    oid = orders[slot, O_OID]
    owner = orders[slot, O_OWNER]
    price = orders[slot, O_PRICE]
    qty = orders[slot, O_LEAVES]
    if records(st, owner):
        emit(st, events, EV_CANCEL, ts, oid, owner, orders[slot, O_SIDE], price, qty, 0, 0, 0, 0, reason)
    unlink(st, orders, levels, bitmap, touched, price // st[S_TICK] - st[S_BASE], slot)
    map_remove(idmap, st, oid)
    free_slot(st, orders, slot)
    st[S_RESTING] -= 1
    return int(qty)


@jit_inline
def match(
    st: I64Array,
    orders: I64Array,
    levels: I64Array,
    bitmap: I64Array,
    touched: I64Array,
    idmap: I64Array,
    events: I64Array,
    ts: int,
    oid: int,
    owner: int,
    side: int,
    limit_li: int,
    qty: int,
) -> tuple[int, bool]:
    """Trade an incoming order against the other side while it crosses ``limit_li``, best level first, FIFO.

    Returns the quantity left and whether self-trade prevention stopped the order.
    """
    stp = st[S_STP] if owner > 0 else 0
    rec_fills = st[S_REC] != REC_NONE
    maker_side = SELL if side == BUY else BUY
    while qty > 0:
        if side == BUY:
            li = st[S_BEST_ASK]
            if li == ASK_NONE or li > limit_li:
                break
        else:
            li = st[S_BEST_BID]
            if li < 0 or li < limit_li:
                break
        slot = levels[li, L_HEAD]
        while slot >= 0 and qty > 0:
            nxt = orders[slot, O_NEXT]
            maker_owner = orders[slot, O_OWNER]
            if stp != 0 and maker_owner == owner:
                if stp == STP_CANCEL_INCOMING:
                    return qty, True
                cancel_slot(st, orders, levels, bitmap, touched, idmap, events, ts, slot, REASON_STP)
                slot = nxt
                continue
            maker_oid = orders[slot, O_OID]
            leaves = orders[slot, O_LEAVES]
            price = orders[slot, O_PRICE]
            fill = min(qty, leaves)
            qty -= fill
            st[S_MATCH_ID] += 1
            st[S_FILLS] += 1
            st[S_FILLED_QTY] += fill
            if rec_fills:
                emit(
                    st, events, EV_FILL, ts, maker_oid, maker_owner, side, price, fill, leaves - fill,
                    oid, owner, qty, st[S_MATCH_ID],
                )  # fmt: skip
            if fill == leaves:
                unlink(st, orders, levels, bitmap, touched, li, slot)
                map_remove(idmap, st, maker_oid)
                free_slot(st, orders, slot)
                st[S_RESTING] -= 1
            else:
                orders[slot, O_LEAVES] = leaves - fill
                levels[li, L_QTY] -= fill
                mark(st, levels, touched, li, maker_side)
            slot = nxt
    return qty, False


@jit
def available(
    st: I64Array,
    orders: I64Array,
    levels: I64Array,
    bitmap: I64Array,
    owner: int,
    side: int,
    limit_li: int,
    need: int,
) -> int:
    """Quantity an incoming order could trade right now up to ``limit_li`` (counted until ``need`` is reached)."""
    stp = st[S_STP] if owner > 0 else 0
    total = 0
    li = st[S_BEST_ASK] if side == BUY else st[S_BEST_BID]
    while total < need:
        if side == BUY:
            if li < 0 or li == ASK_NONE or li > limit_li:
                break
        elif li < 0 or li < limit_li:
            break
        if stp == 0:
            total += levels[li, L_QTY]
        else:
            slot = levels[li, L_HEAD]
            while slot >= 0 and total < need:
                if orders[slot, O_OWNER] != owner:
                    total += orders[slot, O_LEAVES]
                elif stp == STP_CANCEL_INCOMING:
                    return total
                slot = orders[slot, O_NEXT]
        li = next_above(bitmap, li, st[S_NLEV]) if side == BUY else next_below(bitmap, li)
    return total


@jit_inline
def rest(
    st: I64Array,
    orders: I64Array,
    levels: I64Array,
    bitmap: I64Array,
    touched: I64Array,
    idmap: I64Array,
    events: I64Array,
    ts: int,
    oid: int,
    owner: int,
    side: int,
    price: int,
    li: int,
    qty: int,
) -> None:
    """Put a new order at the back of its level (the caller made sure a slot and map room exist)."""
    slot = alloc_slot(st, orders)
    orders[slot, O_OID] = oid
    orders[slot, O_SIDE] = side
    orders[slot, O_PRICE] = price
    orders[slot, O_LEAVES] = qty
    orders[slot, O_OWNER] = owner
    orders[slot, O_TS] = ts
    push_back(st, orders, levels, bitmap, touched, li, slot)
    map_insert(idmap, st, oid, slot)
    st[S_RESTING] += 1
    if records(st, owner):
        emit(st, events, EV_ADD, ts, oid, owner, side, price, qty, qty, 0, 0, 0, 0)


@jit_inline
def add_checks(st: I64Array, idmap: I64Array, oid: int, side: int, price: int, qty: int, tif: int) -> int:
    """OK if a limit order is valid and the book has room to rest it, else the ERR_*/NEED_* status."""
    if side != BUY and side != SELL:
        return ERR_SIDE
    if qty <= 0:
        return ERR_QTY
    tick = st[S_TICK]
    if price % tick != 0:
        return ERR_OFF_TICK
    if tif == TIF_DAY:
        if map_find(idmap, oid) >= 0:
            return ERR_DUPLICATE
        li = price // tick - st[S_BASE]
        if li < 0 or li >= st[S_NLEV]:
            st[S_NEED] = price
            return NEED_LADDER
        if st[S_FREE] < 0:
            return NEED_SLOTS
        if not map_has_room(idmap, st):
            return NEED_MAP
    elif tif != TIF_IOC and tif != TIF_FOK:
        return ERR_TIF
    return OK


@jit_inline
def op_add(
    st: I64Array,
    orders: I64Array,
    levels: I64Array,
    bitmap: I64Array,
    touched: I64Array,
    idmap: I64Array,
    events: I64Array,
    ts: int,
    oid: int,
    owner: int,
    side: int,
    price: int,
    qty: int,
    tif: int,
) -> int:
    """A limit order: match what crosses, then rest (TIF_DAY), cancel the rest (TIF_IOC) or all-or-none (FOK)."""
    status = add_checks(st, idmap, oid, side, price, qty, tif)
    if status != OK:
        return status
    li = price // st[S_TICK] - st[S_BASE]
    status = event_room(st, events, owner, qty)
    if status != OK:
        return status
    if tif == TIF_FOK and available(st, orders, levels, bitmap, owner, side, li, qty) < qty:
        if records(st, owner):
            emit(st, events, EV_CANCEL, ts, oid, owner, side, price, qty, 0, 0, 0, 0, REASON_FOK)
        return OK
    left, stopped = match(st, orders, levels, bitmap, touched, idmap, events, ts, oid, owner, side, li, qty)
    if left > 0:
        if tif == TIF_DAY and not stopped:
            rest(st, orders, levels, bitmap, touched, idmap, events, ts, oid, owner, side, price, li, left)
        elif records(st, owner):
            reason = REASON_STP if stopped else REASON_IOC
            emit(st, events, EV_CANCEL, ts, oid, owner, side, price, left, 0, 0, 0, 0, reason)
    return OK


@jit_inline
def op_market(
    st: I64Array,
    orders: I64Array,
    levels: I64Array,
    bitmap: I64Array,
    touched: I64Array,
    idmap: I64Array,
    events: I64Array,
    ts: int,
    oid: int,
    owner: int,
    side: int,
    qty: int,
) -> int:
    """A market order: match at any price; what finds no liquidity is cancelled. Never rests."""
    if side != BUY and side != SELL:
        return ERR_SIDE
    if qty <= 0:
        return ERR_QTY
    status = event_room(st, events, owner, qty)
    if status != OK:
        return status
    limit_li = ASK_NONE if side == BUY else -1
    left, stopped = match(st, orders, levels, bitmap, touched, idmap, events, ts, oid, owner, side, limit_li, qty)
    if left > 0 and records(st, owner):
        reason = REASON_STP if stopped else REASON_NO_LIQUIDITY
        emit(st, events, EV_CANCEL, ts, oid, owner, side, 0, left, 0, 0, 0, 0, reason)
    return OK


@jit_inline
def op_cancel(
    st: I64Array,
    orders: I64Array,
    levels: I64Array,
    bitmap: I64Array,
    touched: I64Array,
    idmap: I64Array,
    events: I64Array,
    ts: int,
    oid: int,
) -> int:
    """Cancel a resting order by id; returns the quantity removed (0 for an unknown or finished id)."""
    if st[S_REC] != REC_NONE and st[S_NEV] + 1 > events.shape[0]:
        st[S_NEED] = st[S_NEV] + 1
        return NEED_EVENTS
    slot = map_find(idmap, oid)
    if slot < 0:
        return 0
    st[S_CANCELS] += 1
    return cancel_slot(st, orders, levels, bitmap, touched, idmap, events, ts, slot, REASON_USER)


@jit_inline
def op_replace(
    st: I64Array,
    orders: I64Array,
    levels: I64Array,
    bitmap: I64Array,
    touched: I64Array,
    idmap: I64Array,
    events: I64Array,
    ts: int,
    oid: int,
    new_price: int,
    new_qty: int,
) -> int:
    """Change a resting order's price and leaves quantity; returns 1 when done, 0 for an unknown id.

    The order keeps its place when the price is unchanged and the quantity does not grow; otherwise it goes to
    the back of its new level, trading first as an aggressor if the new price crosses. ``new_qty <= 0`` cancels.
    """
    slot = map_find(idmap, oid)
    if slot < 0:
        return 0
    tick = st[S_TICK]
    if new_qty > 0 and new_price % tick != 0:
        return ERR_OFF_TICK
    new_li = new_price // tick - st[S_BASE]
    if new_qty > 0 and (new_li < 0 or new_li >= st[S_NLEV]):
        st[S_NEED] = new_price
        return NEED_LADDER
    owner = orders[slot, O_OWNER]
    status = event_room(st, events, owner, max(new_qty, 1))
    if status != OK:
        return status
    if new_qty <= 0:
        cancel_slot(st, orders, levels, bitmap, touched, idmap, events, ts, slot, REASON_REPLACE_ZERO)
        return 1
    side = orders[slot, O_SIDE]
    price = orders[slot, O_PRICE]
    leaves = orders[slot, O_LEAVES]
    if new_price == price and new_qty <= leaves:
        if new_qty < leaves:
            orders[slot, O_LEAVES] = new_qty
            levels[new_li, L_QTY] -= leaves - new_qty
            mark(st, levels, touched, new_li, side)
        if records(st, owner):
            emit(st, events, EV_REPLACE, ts, oid, owner, side, new_price, new_qty, new_qty, 0, 0, 0, 1)
        return 1
    unlink(st, orders, levels, bitmap, touched, price // tick - st[S_BASE], slot)
    if records(st, owner):
        emit(st, events, EV_REPLACE, ts, oid, owner, side, new_price, new_qty, new_qty, 0, 0, 0, 0)
    left, stopped = match(st, orders, levels, bitmap, touched, idmap, events, ts, oid, owner, side, new_li, new_qty)
    if left > 0 and not stopped:
        orders[slot, O_PRICE] = new_price
        orders[slot, O_LEAVES] = left
        orders[slot, O_TS] = ts
        push_back(st, orders, levels, bitmap, touched, new_li, slot)
        return 1
    if stopped and records(st, owner):
        emit(st, events, EV_CANCEL, ts, oid, owner, side, new_price, left, 0, 0, 0, 0, REASON_STP)
    map_remove(idmap, st, oid)
    free_slot(st, orders, slot)
    st[S_RESTING] -= 1
    return 1
