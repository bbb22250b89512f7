"""The compiled background-trader loop: it draws the crowd's events and applies them to the book's arrays.

Events come from one merged Poisson process whose total rate changes only at events, so the time to the next
event is drawn right after each event from the rates then in force (and drawn again when the state changes in
between: a step of the market factor, an engine order's impact). The takers' self-excitation decays between
events; the draw uses its current value as a bound and the surplus is thinned out as an empty event, which keeps
the process exact. An event is one of: the latent fundamental moves a tick (its idiosyncratic news; every market
maker becomes stale); a stale market maker reacts and re-centres its quotes; a market maker refreshes at random;
a zero-intelligence trader sends a limit order or cancels one; an informed taker picks off quotes on the wrong
side of the fundamental; a momentum or noise taker sends a market order (a noise taker's then moves the
fundamental).

Besides, the **market factor** shared by every instrument of a run steps on a fixed time grid from the start: a
walk of +1/-1 steps drawn from its own generator, seeded from the run alone, so that each instrument's flow
regenerates the same path on its own. The instrument's share of it (the walk times a signed scale, in ticks)
moves the fundamental by whole ticks whenever it has drifted a full tick from what the fundamental already
carries. And when an engine order takes liquidity, the venue calls :func:`flow_take_impact`, which moves the
fundamental as a noise taker's order of that size would.

Each resulting exchange message is first written to the *pending* fields of the flow state and then applied;
when the book must grow, the loop returns the kernel's status with the message still pending, and the next call
applies it. The loop may also stop right after a message that touched an engine order (owner > 0). So the
sequence of messages depends only on the seeds, the book and the engine's orders, never on where the caller split
time.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from engine.sim._idmap import map_find
from engine.sim._jit import ensure_fresh_cache, jit
from engine.sim._kernel import op_add, op_cancel, op_market, op_replace
from engine.sim._layout import (
    ASK_NONE,
    BUY,
    E_OWNER,
    E_OWNER2,
    O_LEAVES,
    O_PRICE,
    OK,
    S_BASE,
    S_BEST_ASK,
    S_BEST_BID,
    S_NEV,
    S_TICK,
    SELL,
    TIF_DAY,
    TIF_IOC,
)
from engine.sim.rng import below, exponential, geometric, uniform

I64Array = npt.NDArray[np.int64]
F64Array = npt.NDArray[np.float64]
U64Array = npt.NDArray[np.uint64]

ensure_fresh_cache(__file__)

STOPPED = 1
"""Status of :func:`flow_run` when it stopped after a message that touched an engine order."""

NO_EVENT = -1
"""``fst[F_NEXT]`` while the time of the next event is still to be drawn."""

# --- fst: flow state -------------------------------------------------------------------------------------------
F_NOW = 0  # time of the event being handled
F_NEXT = 1  # time of the next event, or NO_EVENT
F_FUND2 = 2  # fundamental in half ticks; always odd (mid-way between two ticks)
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
F_P_TIF = 15
F_STALE = 16  # bit k set: market maker k has not re-centred since the fundamental last moved
F_DIR = 17  # direction of the quotes being moved by the cursor: 1 up, -1 down, 0 none
F_TAKERS = 18  # background taker orders sent
F_INFORMED = 19  # of which informed
F_P_IMPACT = 20  # pending message's move of the fundamental once applied, in ticks (signed)
F_FACTOR_NEXT = 21  # time of the market factor's next step (NEVER when it has no weight)
F_FACTOR_WALK = 22  # the market factor: a walk of +1/-1 steps on the grid, the same for every instrument of a run
F_FACTOR_TICKS = 23  # ticks of the factor already applied to the fundamental
F_SIZE = 24

P_ADD = 1
P_CANCEL = 2
P_REPLACE = 3
P_MARKET = 4

# --- xst: real-valued flow state -------------------------------------------------------------------------------
X_EXCITE = 0  # takers' self-excitation (extra noise-taker rate per second) at time F_NOW
X_BOUND = 1  # total rate the wait to F_NEXT was drawn with
X_IMPACT_REST = 2  # the engine orders' impact not yet applied (less than half a tick either way)
X_SIZE = 3

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
I_INFORMED_MAX_LOTS = 9
I_ZI_MIN_DISTANCE = 10
I_FACTOR_STEP = 11  # nanoseconds between two steps of the market factor
I_SIZE = 12

# --- fpar: rates per second and probabilities ------------------------------------------------------------------
R_FUND = 0  # one-tick moves of the fundamental
R_ZI = 1
R_ZI_CANCEL = 2  # per resting zero-intelligence order
R_MM = 3  # random refreshes, all market makers together
R_MM_REACT = 4  # per stale market maker
R_INFORMED = 5
R_MOMENTUM = 6
R_NOISE = 7  # baseline of the noise takers, before self-excitation
R_ZI_GEOMETRIC_P = 8
R_ZI_CROSS = 9
R_TAKER_GEOMETRIC_P = 10
R_EXCITE_JUMP = 11  # added to the excitation by each noise or momentum order
R_EXCITE_DECAY = 12  # per second
R_IMPACT = 13  # ticks the fundamental moves after a noise order of one lot (times the square root of its lots)
R_FACTOR_SCALE = 14  # ticks of this instrument's fundamental per unit of the market factor (signed)
R_SIZE = 16

# --- makers: one row per market maker --------------------------------------------------------------------------
K_OFFSET = 0  # extra distance in ticks from the inside
K_CENTER = 1  # the fundamental it last quoted around
K_COLS = 2

NANOS = 1_000_000_000.0

NEVER = 1 << 62
"""A time no run reaches: of the next event when nothing can happen, of the factor's step when it has no weight."""


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
            fst[F_P_QTY], fst[F_P_TIF],
        )  # fmt: skip
    if kind == P_CANCEL:
        return min(op_cancel(st, orders, levels, bitmap, touched, idmap, events, ts, oid), OK)
    if kind == P_REPLACE:
        status = op_replace(st, orders, levels, bitmap, touched, idmap, events, ts, oid, fst[F_P_PRICE], fst[F_P_QTY])
        return min(status, OK)
    return op_market(st, orders, levels, bitmap, touched, idmap, events, ts, oid, 0, fst[F_P_SIDE], fst[F_P_QTY])


@jit
def _pend(fst: I64Array, kind: int, oid: int, side: int, price: int, qty: int, track: int, tif: int) -> None:
    fst[F_P_IMPACT] = 0
    fst[F_P_KIND] = kind
    fst[F_P_OID] = oid
    fst[F_P_SIDE] = side
    fst[F_P_PRICE] = price
    fst[F_P_QTY] = qty
    fst[F_P_TRACK] = track
    fst[F_P_TIF] = tif


@jit
def _new_oid(fst: I64Array) -> int:
    oid = fst[F_NEXT_OID]
    fst[F_NEXT_OID] = oid + 1
    return int(oid)


@jit
def _owned_since(events: I64Array, start: int, end: int) -> bool:
    """True when an event row in ``[start, end)`` involves an engine order."""
    # A plain loop: compiled code cannot run a generator.
    i = start
    while i < end and events[i, E_OWNER] <= 0 and events[i, E_OWNER2] <= 0:
        i += 1
    return i < end


@jit
def _passive(st: I64Array, side: int, ticks: int) -> int:
    """``ticks`` moved back, if needed, so that an order of ``side`` there does not cross the book (>= 1)."""
    if side == BUY:
        ask = st[S_BEST_ASK]
        if ask != ASK_NONE:
            ticks = min(ticks, ask + st[S_BASE] - 1)
    else:
        bid = st[S_BEST_BID]
        if bid >= 0:
            ticks = max(ticks, bid + st[S_BASE] + 1)
    return max(ticks, 1)


@jit
def _requote(
    st: I64Array,
    orders: I64Array,
    idmap: I64Array,
    fst: I64Array,
    ipar: I64Array,
    makers: I64Array,
    quotes: I64Array,
    q: int,
) -> None:
    """Check step ``q`` of the cursor's run of quotes against the fundamental; pend an add or replace if off.

    A maker moving its quotes up moves its asks first, and down its bids first, so that its new quotes never
    meet its own old ones; they never cross the book either (they stay a tick from the best opposite price).
    """
    n_levels = ipar[I_MM_LEVELS]
    per_maker = 2 * n_levels
    maker = q // per_maker
    j = q % per_maker
    first = SELL if fst[F_DIR] > 0 else BUY
    side = first if j < n_levels else 1 - first
    level = j % n_levels
    k = maker * per_maker + side * n_levels + level
    fund2 = fst[F_FUND2]
    offset = makers[maker, K_OFFSET] + level
    ticks = (fund2 - 1) // 2 - offset if side == BUY else fund2 // 2 + 1 + offset
    price = _passive(st, side, ticks) * ipar[I_TICK]
    size = ipar[I_MM_SIZE_LOTS] * ipar[I_LOT]
    oid = quotes[k]
    slot = map_find(idmap, oid) if oid != 0 else -1
    if slot < 0:
        oid = _new_oid(fst)
        quotes[k] = oid
        _pend(fst, P_ADD, oid, side, price, size, 0, TIF_DAY)
    elif orders[slot, O_PRICE] != price or 2 * orders[slot, O_LEAVES] < size:
        _pend(fst, P_REPLACE, oid, side, price, size, 0, TIF_DAY)


@jit
def _start_maker(fst: I64Array, ipar: I64Array, makers: I64Array, maker: int) -> None:
    """Point the cursor at ``maker``'s quotes, to re-centre them on the fundamental."""
    per_maker = 2 * ipar[I_MM_LEVELS]
    fund2 = fst[F_FUND2]
    center = makers[maker, K_CENTER]
    fst[F_DIR] = 1 if fund2 > center else (-1 if fund2 < center else 0)
    makers[maker, K_CENTER] = fund2
    fst[F_STALE] &= ~(1 << maker)
    fst[F_CURSOR] = maker * per_maker
    fst[F_CURSOR_END] = (maker + 1) * per_maker


@jit
def _stale_count(stale: int) -> int:
    count = 0
    while stale:
        stale &= stale - 1
        count += 1
    return count


@jit
def _react(fst: I64Array, ipar: I64Array, makers: I64Array, rng: U64Array) -> None:
    """One stale market maker, chosen at random, re-centres its quotes."""
    stale = fst[F_STALE]
    k = below(rng, _stale_count(stale))
    maker = 0
    while True:
        if stale & (1 << maker):
            if k == 0:
                break
            k -= 1
        maker += 1
    _start_maker(fst, ipar, makers, maker)


@jit
def _send_market(
    fst: I64Array, xst: F64Array, ipar: I64Array, fpar: F64Array, rng: U64Array, side: int, impact_ticks: float
) -> None:
    """An uninformed taker's market order of random size. It excites the takers for a while and, once
    applied, moves the fundamental its way by ``impact_ticks * sqrt(lots)`` ticks (randomly rounded)."""
    lots = min(1 + geometric(rng, fpar[R_TAKER_GEOMETRIC_P]), ipar[I_TAKER_MAX_LOTS])
    impact = impact_ticks * math.sqrt(lots)
    ticks = int(impact)
    if uniform(rng) < impact - ticks:
        ticks += 1
    _pend(fst, P_MARKET, _new_oid(fst), side, 0, lots * ipar[I_LOT], 0, TIF_IOC)
    fst[F_P_IMPACT] = ticks if side == BUY else -ticks
    xst[X_EXCITE] += fpar[R_EXCITE_JUMP]
    fst[F_TAKERS] += 1


@jit
def _momentum(st: I64Array, fst: I64Array, xst: F64Array, ipar: I64Array, fpar: F64Array, rng: U64Array) -> None:
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
        # Following the mid carries no news: the order does not move the fundamental (it would make it trend).
        _send_market(fst, xst, ipar, fpar, rng, BUY if mid16 > ema else SELL, 0.0)


@jit
def _informed(st: I64Array, fst: I64Array, ipar: I64Array, rng: U64Array) -> None:
    """An informed taker buys every ask below the fundamental, or sells every bid above it (up to its size)."""
    fund2 = fst[F_FUND2]
    base = st[S_BASE]
    ask = st[S_BEST_ASK]
    bid = st[S_BEST_BID]
    if ask != ASK_NONE and 2 * (ask + base) < fund2:
        side = BUY
        limit = (fund2 - 1) // 2
    elif bid >= 0 and 2 * (bid + base) > fund2:
        side = SELL
        limit = fund2 // 2 + 1
    else:
        return
    qty = (1 + below(rng, ipar[I_INFORMED_MAX_LOTS])) * ipar[I_LOT]
    _pend(fst, P_ADD, _new_oid(fst), side, limit * ipar[I_TICK], qty, 0, TIF_IOC)
    fst[F_TAKERS] += 1
    fst[F_INFORMED] += 1


@jit
def _zi_limit(st: I64Array, fst: I64Array, ipar: I64Array, fpar: F64Array, rng: U64Array, pool: I64Array) -> None:
    """A zero-intelligence trader places a limit order a random distance behind the inside around the
    fundamental, never crossing the book (unless it is one of the few that are priced to cross)."""
    if fst[F_POOL_N] >= pool.shape[0]:
        return
    side = below(rng, 2)
    fund2 = fst[F_FUND2]
    bid_anchor = (fund2 - 1) // 2
    ask_anchor = fund2 // 2 + 1
    if uniform(rng) < fpar[R_ZI_CROSS]:
        ticks = max(ask_anchor if side == BUY else bid_anchor, 1)
    else:
        distance = min(ipar[I_ZI_MIN_DISTANCE] + geometric(rng, fpar[R_ZI_GEOMETRIC_P]), ipar[I_ZI_MAX_DISTANCE])
        ticks = _passive(st, side, bid_anchor - distance if side == BUY else ask_anchor + distance)
    qty = (1 + below(rng, ipar[I_ZI_MAX_LOTS])) * ipar[I_LOT]
    _pend(fst, P_ADD, _new_oid(fst), side, ticks * ipar[I_TICK], qty, 1, TIF_DAY)


@jit
def _zi_cancel(idmap: I64Array, fst: I64Array, rng: U64Array, pool: I64Array) -> None:
    """A zero-intelligence trader cancels one of its orders (orders filled meanwhile are just forgotten)."""
    n = fst[F_POOL_N]
    k = below(rng, n)
    oid = pool[k]
    pool[k] = pool[n - 1]
    fst[F_POOL_N] = n - 1
    if map_find(idmap, oid) >= 0:
        _pend(fst, P_CANCEL, oid, 0, 0, 0, 0, TIF_DAY)


@jit
def _move_fundamental(fst: I64Array, ipar: I64Array, ticks: int, n_makers: int) -> None:
    """The fundamental moves ``ticks`` (never below the floor that keeps every quote positive); every market
    maker is stale until it reacts."""
    fund2 = fst[F_FUND2] + 2 * ticks
    if fund2 < ipar[I_MIN_FUND2]:
        fund2 = fst[F_FUND2] + 2 * abs(ticks)
    fst[F_FUND2] = fund2
    fst[F_STALE] = (1 << n_makers) - 1


@jit
def _restart_at(fst: I64Array, xst: F64Array, fpar: F64Array, ts: int) -> None:
    """Bring the clock to ``ts`` between two events (the excitation decays meanwhile) and drop the time drawn
    for the next event: the state is about to change, so it is drawn again from the rates then in force (exact
    for a Poisson process, which has no memory)."""
    if ts > fst[F_NOW]:
        xst[X_EXCITE] *= math.exp(-fpar[R_EXCITE_DECAY] * ((ts - fst[F_NOW]) / NANOS))
        fst[F_NOW] = ts
    fst[F_NEXT] = NO_EVENT


@jit
def _factor_step(fst: I64Array, xst: F64Array, ipar: I64Array, fpar: F64Array, frng: U64Array, n_makers: int) -> None:
    """The market factor takes its step due at ``fst[F_FACTOR_NEXT]``. Once this instrument's share of it has
    drifted a whole tick (or more) from what the fundamental already carries, the fundamental follows by whole
    ticks, at the step's time; within a tick nothing moves, so the factor adds no back-and-forth flicker."""
    due = fst[F_FACTOR_NEXT]
    fst[F_FACTOR_NEXT] = due + ipar[I_FACTOR_STEP]
    walk = fst[F_FACTOR_WALK] + (1 if below(frng, 2) == 1 else -1)
    fst[F_FACTOR_WALK] = walk
    gap = fpar[R_FACTOR_SCALE] * walk - fst[F_FACTOR_TICKS]
    if -1.0 < gap < 1.0:
        return
    ticks = int(gap)  # whole ticks, towards zero
    fst[F_FACTOR_TICKS] += ticks
    _restart_at(fst, xst, fpar, due)
    _move_fundamental(fst, ipar, ticks, n_makers)


@jit
def flow_take_impact(
    fst: I64Array, xst: F64Array, ipar: I64Array, fpar: F64Array, n_makers: int, ts: int, side: int, qty: int
) -> int:
    """An engine order took ``qty`` from the book as the aggressor on ``side`` at ``ts`` (after every background
    event before ``ts``): the fundamental moves its way by ``impact * sqrt(lots)`` ticks, the noise takers' law.
    It moves by the nearest whole number of ticks and the remainder is carried to the next engine order, so the
    engine's footprint is exact over many orders and draws nothing from the crowd's generator. Returns the ticks
    moved (signed)."""
    impact = fpar[R_IMPACT] * math.sqrt(qty / ipar[I_LOT])
    total = xst[X_IMPACT_REST] + (impact if side == BUY else -impact)
    ticks: int = math.floor(total + 0.5)
    xst[X_IMPACT_REST] = total - ticks
    if ticks != 0:
        _restart_at(fst, xst, fpar, ts)
        _move_fundamental(fst, ipar, ticks, n_makers)
    return ticks


@jit
def _rates(fst: I64Array, fpar: F64Array, excite: float) -> tuple[float, float, float, float]:
    """``(zi cancels, market-maker reactions, noise takers, total)`` rates per second in the current state."""
    cancels = fpar[R_ZI_CANCEL] * fst[F_POOL_N]
    reactions = fpar[R_MM_REACT] * _stale_count(fst[F_STALE])
    noise = fpar[R_NOISE] + excite
    fixed = fpar[R_FUND] + fpar[R_ZI] + fpar[R_MM] + fpar[R_INFORMED] + fpar[R_MOMENTUM]
    return cancels, reactions, noise, fixed + cancels + reactions + noise


@jit
def _draw_next(fst: I64Array, xst: F64Array, fpar: F64Array, rng: U64Array) -> None:
    """Draw the time of the next event from the rates in force now (the excitation only decays meanwhile)."""
    total = _rates(fst, fpar, xst[X_EXCITE])[3]
    xst[X_BOUND] = total
    if total <= 0.0:
        fst[F_NEXT] = NEVER
        return
    wait = int(exponential(rng, total) * NANOS)
    fst[F_NEXT] = fst[F_NOW] + max(wait, 1)


@jit
def _next_event(
    st: I64Array,
    idmap: I64Array,
    fst: I64Array,
    xst: F64Array,
    ipar: I64Array,
    fpar: F64Array,
    makers: I64Array,
    rng: U64Array,
    pool: I64Array,
) -> None:
    """Handle the event due at ``fst[F_NEXT]``: pick who acts, in proportion to the rates in force."""
    elapsed = (fst[F_NEXT] - fst[F_NOW]) / NANOS
    fst[F_NOW] = fst[F_NEXT]
    fst[F_NEXT] = NO_EVENT
    excite = xst[X_EXCITE] * math.exp(-fpar[R_EXCITE_DECAY] * elapsed)
    xst[X_EXCITE] = excite
    cancels, reactions, noise, _ = _rates(fst, fpar, excite)
    pick = uniform(rng) * xst[X_BOUND]
    pick -= fpar[R_FUND]
    if pick < 0.0:
        _move_fundamental(fst, ipar, 1 if below(rng, 2) == 1 else -1, makers.shape[0])
        return
    pick -= fpar[R_ZI]
    if pick < 0.0:
        _zi_limit(st, fst, ipar, fpar, rng, pool)
        return
    pick -= cancels
    if pick < 0.0:
        if fst[F_POOL_N] > 0:
            _zi_cancel(idmap, fst, rng, pool)
        return
    pick -= fpar[R_MM]
    if pick < 0.0:
        _start_maker(fst, ipar, makers, below(rng, makers.shape[0]))
        return
    pick -= reactions
    if pick < 0.0:
        _react(fst, ipar, makers, rng)
        return
    pick -= fpar[R_INFORMED]
    if pick < 0.0:
        _informed(st, fst, ipar, rng)
        return
    pick -= fpar[R_MOMENTUM]
    if pick < 0.0:
        _momentum(st, fst, xst, ipar, fpar, rng)
        return
    pick -= noise
    if pick < 0.0:
        _send_market(fst, xst, ipar, fpar, rng, below(rng, 2), fpar[R_IMPACT])
    # Otherwise the excitation decayed below the bound the wait was drawn with: nothing happens.


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
    xst: F64Array,
    ipar: I64Array,
    fpar: F64Array,
    makers: I64Array,
    quotes: I64Array,
    pool: I64Array,
    rng: U64Array,
    frng: U64Array,
    t_end: int,
    stop_on_owned: bool,
) -> int:
    """Apply every background message due before ``t_end``; returns OK, STOPPED (``stop_on_owned`` and a message
    just touched an engine order), or a kernel NEED_* status to resolve. ``rng`` drives the crowd and ``frng``
    the market factor; a step of the factor due at the time of an event comes first."""
    while True:
        if fst[F_P_KIND] != 0:
            first_event = st[S_NEV]
            status = _apply(st, orders, levels, bitmap, touched, idmap, events, fst)
            if status < OK and status > -10:
                return status
            if fst[F_P_TRACK] == 1 and map_find(idmap, fst[F_P_OID]) >= 0:
                pool[fst[F_POOL_N]] = fst[F_P_OID]
                fst[F_POOL_N] += 1
            fst[F_P_KIND] = 0
            fst[F_MESSAGES] += 1
            if fst[F_P_IMPACT] != 0:
                _move_fundamental(fst, ipar, fst[F_P_IMPACT], makers.shape[0])
                fst[F_P_IMPACT] = 0
            if stop_on_owned and _owned_since(events, first_event, st[S_NEV]):
                return STOPPED
        elif fst[F_CURSOR] < fst[F_CURSOR_END]:
            q = fst[F_CURSOR]
            fst[F_CURSOR] = q + 1
            _requote(st, orders, idmap, fst, ipar, makers, quotes, q)
        elif fst[F_NEXT] == NO_EVENT:
            _draw_next(fst, xst, fpar, rng)
        elif fst[F_FACTOR_NEXT] <= fst[F_NEXT] and fst[F_FACTOR_NEXT] < t_end:
            _factor_step(fst, xst, ipar, fpar, frng, makers.shape[0])
        elif fst[F_NEXT] < t_end:
            _next_event(st, idmap, fst, xst, ipar, fpar, makers, rng, pool)
        else:
            return OK
