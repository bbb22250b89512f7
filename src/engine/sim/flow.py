"""Background traders: a live-looking market for one instrument, generated in compiled code into a book.

The crowd (all owner 0) consists of

* a latent **fundamental** price doing a random walk in half-tick steps (``daily_volatility``);
* **zero-intelligence** traders: Poisson limit orders a geometric number of ticks behind the inside anchors
  around the fundamental (a few percent cross the spread), each resting order cancelled at a constant hazard;
* **market makers** quoting ``mm_levels`` levels a side around the fundamental, requoting (replace, or a new
  order when filled) whenever the fundamental moves and on random refreshes;
* **momentum takers** sending market orders in the direction of the recent move of the mid, and **noise
  takers** sending market orders of random side.

Engine orders (owner > 0) rest in the same book: background takers trade against them, and their own aggressive
orders walk the background liquidity. A seed fixes the whole stream; calling :meth:`BackgroundFlow.run_until`
once or in several steps gives the same book.

The defaults (a 100.0000 stock at scale 4, one-cent ticks, lots of 100) give about 9-10 thousand messages per
simulated second, a 1-2 tick spread, and a few hundred to a few thousand shares per level near the top.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from engine.sim._flow import (
    F_CURSOR_END,
    F_FUND2,
    F_MESSAGES,
    F_NEXT,
    F_NEXT_OID,
    F_NOW,
    F_SIZE,
    I_LOT,
    I_MIN_FUND2,
    I_MM_LEVELS,
    I_MM_SIZE_LOTS,
    I_MOMENTUM_SHIFT,
    I_SIZE,
    I_TAKER_MAX_LOTS,
    I_TICK,
    I_ZI_MAX_DISTANCE,
    I_ZI_MAX_LOTS,
    R_FUND,
    R_MM,
    R_MOMENTUM,
    R_NOISE,
    R_SIZE,
    R_ZI,
    R_ZI_CANCEL,
    R_ZI_CROSS,
    R_ZI_GEOMETRIC_P,
    flow_run,
)
from engine.sim._layout import OK
from engine.sim.matching import MatchingBook
from engine.sim.rng import exponential, new_state

BACKGROUND_ID_BASE = 1 << 41
"""Background order ids start here; the venue's own ids stay within 1..2**40."""

SESSION_SECONDS = 23_400.0
"""Length of the trading day that ``daily_volatility`` refers to (6.5 hours)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class FlowParams:
    """Parameters of the background flow. Prices in price units, sizes in lots, rates per simulated second."""

    start_price: int = 1_000_000
    """Initial fundamental, a positive multiple of ``tick``."""
    tick: int = 100
    lot: int = 100
    daily_volatility: float = 0.02
    """Standard deviation of the fundamental's relative change over one session."""
    zi_rate: float = 4_500.0
    """Zero-intelligence limit orders per second."""
    zi_cancel_rate: float = 64.0
    """Cancel hazard per resting zero-intelligence order per second (mean life ``1 / zi_cancel_rate`` s)."""
    zi_mean_distance: float = 2.5
    """Mean distance in ticks behind the inside anchor (geometric)."""
    zi_max_distance: int = 20
    zi_cross_prob: float = 0.03
    """Probability that a zero-intelligence order is priced at the opposite anchor (marketable)."""
    zi_max_lots: int = 5
    mm_offsets: tuple[int, ...] = (0, 0, 1)
    """One market maker per entry: its extra distance in ticks from the inside anchors."""
    mm_levels: int = 3
    mm_size_lots: int = 10
    mm_refresh_rate: float = 50.0
    """Quote refreshes per second (each by one market maker chosen at random)."""
    momentum_rate: float = 60.0
    momentum_memory: int = 4
    """The momentum traders' memory of the mid is an average over about ``2**momentum_memory`` of their turns."""
    noise_rate: float = 150.0
    taker_max_lots: int = 5
    pool_capacity: int = 4096
    """Most zero-intelligence orders resting at once (further limit orders are not sent)."""

    def __post_init__(self) -> None:
        if self.tick <= 0 or self.lot <= 0:
            raise ValueError("tick and lot must be positive")
        if self.start_price <= 0 or self.start_price % self.tick:
            raise ValueError(f"start_price must be a positive multiple of tick, got {self.start_price}")
        rates = (self.zi_rate, self.zi_cancel_rate, self.mm_refresh_rate, self.momentum_rate, self.noise_rate)
        if min(rates) < 0 or self.daily_volatility < 0:
            raise ValueError("rates and volatility must not be negative")
        if self.zi_mean_distance < 0 or not 0 <= self.zi_cross_prob <= 1:
            raise ValueError("zi_mean_distance must be >= 0 and zi_cross_prob within [0, 1]")
        sizes = (self.zi_max_lots, self.mm_size_lots, self.taker_max_lots, self.mm_levels, self.pool_capacity)
        if min(sizes) < 1 or self.zi_max_distance < 0 or self.momentum_memory < 0:
            raise ValueError("sizes, levels and the pool capacity must be positive")
        if not self.mm_offsets or min(self.mm_offsets) < 0:
            raise ValueError("mm_offsets needs at least one market maker, with offsets >= 0")

    @property
    def fundamental_rate(self) -> float:
        """Half-tick steps per second that give the requested volatility."""
        ticks_per_sqrt_second = self.daily_volatility * self.start_price / self.tick / math.sqrt(SESSION_SECONDS)
        return (2.0 * ticks_per_sqrt_second) ** 2


class BackgroundFlow:
    """The background crowd of one instrument, writing into ``book`` from ``start_ns`` on, fixed by ``seed``."""

    __slots__ = ("_book", "_fpar", "_fst", "_ipar", "_mm_offsets", "_pool", "_quotes", "_rng", "params")

    def __init__(self, book: MatchingBook, params: FlowParams, seed: int, start_ns: int) -> None:
        if params.tick % book.tick:
            raise ValueError(f"flow tick {params.tick} is not a multiple of the book's tick {book.tick}")
        self.params = params
        self._book = book
        self._rng = new_state(seed)
        ipar = np.zeros(I_SIZE, dtype=np.int64)
        ipar[I_TICK] = params.tick
        ipar[I_LOT] = params.lot
        ipar[I_ZI_MAX_DISTANCE] = params.zi_max_distance
        ipar[I_ZI_MAX_LOTS] = params.zi_max_lots
        ipar[I_MM_LEVELS] = params.mm_levels
        ipar[I_MM_SIZE_LOTS] = params.mm_size_lots
        ipar[I_TAKER_MAX_LOTS] = params.taker_max_lots
        ipar[I_MOMENTUM_SHIFT] = params.momentum_memory
        deepest = params.zi_max_distance + max(params.mm_offsets) + params.mm_levels + 2
        ipar[I_MIN_FUND2] = 2 * deepest
        self._ipar = ipar
        fpar = np.zeros(R_SIZE, dtype=np.float64)
        fpar[R_FUND] = params.fundamental_rate
        fpar[R_ZI] = params.zi_rate
        fpar[R_ZI_CANCEL] = params.zi_cancel_rate
        fpar[R_MM] = params.mm_refresh_rate
        fpar[R_MOMENTUM] = params.momentum_rate
        fpar[R_NOISE] = params.noise_rate
        fpar[R_ZI_GEOMETRIC_P] = 1.0 / (1.0 + params.zi_mean_distance)
        fpar[R_ZI_CROSS] = params.zi_cross_prob
        self._fpar = fpar
        self._mm_offsets = np.array(params.mm_offsets, dtype=np.int64)
        self._quotes = np.zeros(len(params.mm_offsets) * params.mm_levels * 2, dtype=np.int64)
        self._pool = np.zeros(params.pool_capacity, dtype=np.int64)
        fst = np.zeros(F_SIZE, dtype=np.int64)
        fst[F_NOW] = start_ns
        fst[F_FUND2] = max(2 * (params.start_price // params.tick), int(ipar[I_MIN_FUND2]))
        fst[F_NEXT_OID] = BACKGROUND_ID_BASE
        fst[F_CURSOR_END] = self._quotes.shape[0]  # the market makers quote at once
        total = float(fpar[[R_FUND, R_ZI, R_MM, R_MOMENTUM, R_NOISE]].sum())
        fst[F_NEXT] = start_ns + max(1, int(exponential(self._rng, total) * 1e9)) if total > 0 else 1 << 62
        self._fst = fst

    def run_until(self, t_end_ns: int) -> int:
        """Generate and apply every background message due before ``t_end_ns``; returns how many were sent."""
        before = int(self._fst[F_MESSAGES])
        book = self._book
        # numpy warns about the generator's intended uint64 wrap-around when the JIT is disabled.
        with np.errstate(over="ignore"):
            while True:
                status = flow_run(
                    *book.arrays, self._fst, self._ipar, self._fpar, self._mm_offsets, self._quotes, self._pool,
                    self._rng, t_end_ns,
                )  # fmt: skip
                if status == OK:
                    break
                book.resolve(status)
        return int(self._fst[F_MESSAGES]) - before

    @property
    def fundamental(self) -> int:
        """The current latent price in price units (rounded down to an integer)."""
        return int(self._fst[F_FUND2]) * self.params.tick // 2

    @property
    def next_event_ns(self) -> int:
        """Time of the next background event."""
        return int(self._fst[F_NEXT])

    @property
    def messages(self) -> int:
        """Messages sent to the book so far."""
        return int(self._fst[F_MESSAGES])

    @property
    def book(self) -> MatchingBook:
        """The book the flow writes into."""
        return self._book
