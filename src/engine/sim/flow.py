"""Background traders: a live-looking market for one instrument, generated in compiled code into a book.

The model
---------
The crowd (all owner 0) trades around a latent **fundamental** value that is never shown in the book:

* The fundamental sits mid-way between two ticks and moves by whole ticks. Its variance has three sources that
  add up to ``daily_volatility`` (2 % a day of a 190.00 stock with one-cent ticks is 2.5 ticks per square-root
  second, about six one-tick moves a second): the **market factor** (a share ``market_correlation ** 2``), the
  permanent impact of the noise takers' orders, and the instrument's own Poisson one-tick moves (news) for the
  rest.
* The **market factor** is common to every instrument of a run: a walk of +1/-1 steps every ``FACTOR_STEP_NS``
  (10 ms) of simulated time from the start, drawn from a generator of its own seeded by the run's seed alone
  (``market_seed``), so every instrument's flow regenerates the same path on its own and a run does not depend on
  which instruments are simulated. Each instrument carries it scaled to ``market_correlation`` times its
  volatility; its fundamental follows by whole ticks whenever its share has drifted a full tick from what it
  already carries (within a tick nothing moves, so the factor adds no back-and-forth flicker, and its moves come
  about as often as the same variance in news would). Two instruments' fundamentals correlate by the product of
  their ``market_correlation`` (a negative one moves against the market).
* **Market makers** (one per ``mm_offsets`` entry) quote ``mm_levels`` levels a side, one tick wide around the
  fundamental, never crossing the book. After a move of the fundamental their quotes are stale until each maker
  reacts (after an exponential delay of mean ``1 / mm_reaction_rate``); they also refresh at random
  (``mm_refresh_rate``), which replenishes quotes that were traded.
* **Informed takers** (``informed_rate``) buy the asks priced below the fundamental, or sell the bids above it,
  with an immediate-or-cancel order limited at the fundamental; they do nothing while no quote is stale. They race
  the makers' reactions and the zero-intelligence cancels, so some stale quotes, engine quotes included, are
  picked off after each move.
* **Noise takers** send market orders of random side and geometric size (``taker_mean_lots``). Their rate is
  self-exciting (a Hawkes process), so trades come in bursts, and each order moves the fundamental its way by
  ``impact_ticks * sqrt(lots)`` ticks (randomly rounded to whole ticks): the square-root law of price impact.
  **Momentum takers** buy a rising mid and sell a falling one; they carry no news and move nothing.
* **Zero-intelligence** traders send Poisson limit orders at least ``zi_min_distance`` ticks behind the inside
  around the fundamental (a geometric number of ticks further), never crossing the book (except a
  ``zi_cross_prob`` share priced at the far side), each cancelled at a constant hazard. They make most of the
  message traffic and of the depth behind the best prices.

So a resting order is hit mostly when the price is about to move through it (a sweep with impact, or a stale
quote picked off): that adverse selection is what a market maker's spread and rebate have to pay for.

Engine orders (owner > 0) rest in the same book: background takers trade against them, informed takers pick them
off when stale, and their own aggressive orders walk the background liquidity. An engine order that takes
liquidity also moves the fundamental its way by the noise takers' square-root law, ``impact_ticks * sqrt(lots)``
of what it took (the venue calls :meth:`BackgroundFlow.take_impact`; rounded to whole ticks with the remainder
carried to the next engine order), so a large order leaves a lasting footprint instead of the market reverting
to where it was. The two seeds fix the whole stream; calling :meth:`BackgroundFlow.run_until` once or in several
steps, including its stops at engine orders' events, gives the same market.

Calibration
-----------
The defaults target a liquid large-cap, the engine's default AAPL (190.00, one-cent ticks, lots of 100 shares).
Measured over simulated hours of it (several seeds):

* about 9,000 messages per simulated second (zero-intelligence adds and cancels, makers' replaces);
* about 2.3 trades (fills) per second, of about 240 shares on average (about 2 million shares an hour), in
  bursts: a second with 15 trades is not rare, and a third of the seconds have none;
* a one-tick spread about 96 % of the time, two ticks for moments after a move or a sweep (three ticks rarely);
  about 600 shares at the best price of each side, 2,000 to 3,000 on each of the next two levels;
* a mid within a tenth of a tick of the fundamental on average, whose realised volatility matches
  ``daily_volatility`` (within sampling error) at horizons from a second to a minute;
* trades that predict the next move: a second after a background trade the mid has moved 0.6 to 0.9 tick in the
  trade's direction on average, and quotes pegged to the best prices lose more than the half-spread to it;
* the built-in market maker (100 shares a side, one tick from the mid) makes or loses a fraction of a tick per
  share over half an hour, depending on the seed: the maker rebate roughly pays for the adverse selection;
* the figures above hardly change with a weight on the market factor (``market_correlation`` 0.6 or 0.95).

The engine's default instruments (see the configuration) load SPY and QQQ with 0.95 on the market factor and AAPL
and MSFT with 0.6. Over simulated hours their one-minute mid returns correlate about 0.9 (SPY and QQQ) and 0.5 to
0.7 (AAPL and SPY, the product 0.57 within sampling error), each at its own ``daily_volatility``; ten-second
returns about 0.89 and 0.55. An engine market buy of 8,100 AAPL shares (81 lots, most of the offers in the book)
leaves the mid 3 ticks higher for good (0.3 * sqrt(81) = 2.7), where before the market went back to where it was
within a second.

The same volatility in a higher-priced stock is more ticks per second (a 420.00 stock makes about 30 one-tick
moves a second): its mid moves more often, its informed takers trade more (3 to 4 trades a second), its spread is
two ticks about a tenth of the time, and a market maker as slow as the built-in one is picked off more.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from engine.sim._flow import (
    F_CURSOR_END,
    F_FACTOR_NEXT,
    F_FACTOR_TICKS,
    F_FACTOR_WALK,
    F_FUND2,
    F_INFORMED,
    F_MESSAGES,
    F_NEXT,
    F_NEXT_OID,
    F_NOW,
    F_SIZE,
    F_TAKERS,
    I_FACTOR_STEP,
    I_INFORMED_MAX_LOTS,
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
    I_ZI_MIN_DISTANCE,
    K_CENTER,
    K_COLS,
    K_OFFSET,
    NEVER,
    NO_EVENT,
    R_EXCITE_DECAY,
    R_EXCITE_JUMP,
    R_FACTOR_SCALE,
    R_FUND,
    R_IMPACT,
    R_INFORMED,
    R_MM,
    R_MM_REACT,
    R_MOMENTUM,
    R_NOISE,
    R_SIZE,
    R_TAKER_GEOMETRIC_P,
    R_ZI,
    R_ZI_CANCEL,
    R_ZI_CROSS,
    R_ZI_GEOMETRIC_P,
    STOPPED,
    X_SIZE,
    flow_run,
    flow_take_impact,
)
from engine.sim._jit import JIT_ENABLED
from engine.sim._layout import OK
from engine.sim.matching import MatchingBook
from engine.sim.rng import derive_seed, new_state

BACKGROUND_ID_BASE = 1 << 41
"""Background order ids start here; the venue's own ids stay within 1..2**40."""

SESSION_SECONDS = 23_400.0
"""Length of the trading day that ``daily_volatility`` refers to (6.5 hours)."""

MAX_MAKERS = 62
"""Most background market makers (``len(mm_offsets)``)."""

FACTOR_STEP_NS = 10_000_000
"""Time between two steps of the market factor (10 ms), on a grid from the start of the flow. The same for every
instrument, so that all of them follow the same path."""

_FACTOR_STREAM = "market-factor"


def _flow_run_quietly(*args: Any) -> int:
    # numpy warns about the generator's intended uint64 wrap-around when the loop runs as Python.
    with np.errstate(over="ignore"):
        return int(flow_run(*args))


_flow_run: Callable[..., int] = flow_run if JIT_ENABLED else _flow_run_quietly
"""The background loop; compiled code never consults numpy's error state, so it needs no ``errstate``."""


@dataclass(frozen=True, slots=True, kw_only=True)
class FlowParams:
    """Parameters of the background flow. Prices in price units, sizes in lots, rates per simulated second."""

    start_price: int = 1_000_000
    """Initial price, a positive multiple of ``tick``: the fundamental starts half a tick above it."""
    tick: int = 100
    lot: int = 100
    daily_volatility: float = 0.02
    """Standard deviation of the fundamental's relative change over one session, at the start price."""
    market_correlation: float = 0.0
    """Correlation (-1 to 1) of the fundamental's moves with the market factor that every instrument of a run
    shares. Its square is the factor's share of the variance; the rest is the instrument's own. Two instruments'
    fundamentals correlate by the product of their settings (0.95 and 0.95: about 0.9)."""
    zi_rate: float = 4_500.0
    """Zero-intelligence limit orders per second."""
    zi_cancel_rate: float = 64.0
    """Cancel hazard per resting zero-intelligence order per second (mean life ``1 / zi_cancel_rate`` s)."""
    zi_min_distance: int = 1
    """Least distance in ticks behind the inside around the fundamental."""
    zi_mean_distance: float = 4.0
    """Mean distance in ticks beyond ``zi_min_distance`` (geometric)."""
    zi_max_distance: int = 20
    zi_cross_prob: float = 0.0
    """Probability that a zero-intelligence order is priced at the opposite side of the inside (marketable)."""
    zi_max_lots: int = 4
    mm_offsets: tuple[int, ...] = (0, 0, 1)
    """One market maker per entry: its extra distance in ticks from the inside."""
    mm_levels: int = 3
    mm_size_lots: int = 3
    mm_refresh_rate: float = 10.0
    """Random quote refreshes per second, all makers together (each by one maker chosen at random)."""
    mm_reaction_rate: float = 100.0
    """Per stale maker: the inverse of its mean delay in seconds before it re-centres after a move."""
    informed_rate: float = 3.0
    """Informed takers per second; one acts only when some quote is on the wrong side of the fundamental."""
    informed_max_lots: int = 8
    momentum_rate: float = 0.1
    momentum_memory: int = 4
    """The momentum traders' memory of the mid is an average over about ``2**momentum_memory`` of their turns."""
    noise_rate: float = 0.5
    """Baseline noise-taker market orders per second (before self-excitation)."""
    taker_mean_lots: float = 5.0
    """Mean size of a noise or momentum taker's order, in lots (geometric, at least one lot)."""
    taker_max_lots: int = 50
    impact_ticks: float = 0.3
    """Permanent impact of a noise taker's order of one lot on the fundamental, in ticks; it grows with the
    square root of the order's size. Its share of the variance is taken off the fundamental's own moves."""
    taker_excitation: float = 0.4
    """Branching ratio of the takers' self-excitation: noise orders that each noise or momentum order triggers on
    average (below 1; the mean noise rate is about ``noise_rate / (1 - taker_excitation)``)."""
    taker_excitation_decay: float = 2.0
    """Decay rate per second of the takers' excitation (bursts last about ``1 / taker_excitation_decay`` s)."""
    pool_capacity: int = 4096
    """Most zero-intelligence orders resting at once (further limit orders are not sent)."""

    def __post_init__(self) -> None:
        if self.tick <= 0 or self.lot <= 0:
            raise ValueError("tick and lot must be positive")
        if self.start_price <= 0 or self.start_price % self.tick:
            raise ValueError(f"start_price must be a positive multiple of tick, got {self.start_price}")
        rates = (
            self.zi_rate, self.zi_cancel_rate, self.mm_refresh_rate, self.mm_reaction_rate, self.informed_rate,
            self.momentum_rate, self.noise_rate, self.taker_excitation_decay, self.impact_ticks,
        )  # fmt: skip
        if min(rates) < 0 or self.daily_volatility < 0:
            raise ValueError("rates and volatility must not be negative")
        if not -1.0 <= self.market_correlation <= 1.0:
            raise ValueError(f"market_correlation must be within [-1, 1], got {self.market_correlation}")
        if self.zi_mean_distance < 0 or not 0 <= self.zi_cross_prob <= 1:
            raise ValueError("zi_mean_distance must be >= 0 and zi_cross_prob within [0, 1]")
        if not 0 <= self.taker_excitation < 1 or self.taker_mean_lots < 1:
            raise ValueError("taker_excitation must be within [0, 1) and taker_mean_lots at least 1")
        sizes = (
            self.zi_max_lots, self.mm_size_lots, self.taker_max_lots, self.informed_max_lots, self.mm_levels,
            self.pool_capacity,
        )  # fmt: skip
        if min(sizes) < 1 or self.momentum_memory < 0 or not 0 <= self.zi_min_distance <= self.zi_max_distance:
            raise ValueError("sizes, levels and the pool capacity must be positive; zi distances within 0..max")
        if not self.mm_offsets or min(self.mm_offsets) < 0 or len(self.mm_offsets) > MAX_MAKERS:
            raise ValueError(f"mm_offsets needs 1 to {MAX_MAKERS} market makers, with offsets >= 0")

    @property
    def variance_rate(self) -> float:
        """Variance of the fundamental per second, in ticks squared, that gives ``daily_volatility``."""
        ticks_per_sqrt_second = self.daily_volatility * self.start_price / self.tick / math.sqrt(SESSION_SECONDS)
        return ticks_per_sqrt_second**2

    @property
    def impact_variance_rate(self) -> float:
        """Expected variance per second, in ticks squared, that the noise takers' impact adds to the fundamental."""
        p = 1.0 / self.taker_mean_lots
        expected_square = 0.0
        for lots in range(1, self.taker_max_lots + 1):
            chance = p * (1 - p) ** (lots - 1) if lots < self.taker_max_lots else (1 - p) ** (lots - 1)
            impact = self.impact_ticks * math.sqrt(lots)
            whole = math.floor(impact)
            expected_square += chance * (whole * whole + (2 * whole + 1) * (impact - whole))
        # Self-excitation multiplies the baseline rate by 1 / (1 - branching ratio); momentum takers, which also
        # excite the noise takers, are few enough to leave out.
        return self.noise_rate / (1.0 - self.taker_excitation) * expected_square

    @property
    def factor_variance_rate(self) -> float:
        """Variance per second, in ticks squared, that the market factor brings to the fundamental."""
        return self.market_correlation**2 * self.variance_rate

    @property
    def factor_scale(self) -> float:
        """Ticks of the fundamental per unit of the market factor, a walk of one step per ``FACTOR_STEP_NS``
        (signed like ``market_correlation``)."""
        steps_per_second = 1e9 / FACTOR_STEP_NS
        return math.copysign(math.sqrt(self.factor_variance_rate / steps_per_second), self.market_correlation)

    @property
    def fundamental_rate(self) -> float:
        """One-tick moves of the fundamental per second (its own news) that, with the takers' impact and the
        market factor, give the volatility.

        Zero when the impact alone is larger than the instrument's own share of the variance; the fundamental is
        then more volatile, and less correlated with the market, than configured.
        """
        own = self.variance_rate - self.factor_variance_rate
        return max(own - self.impact_variance_rate, 0.0)


class BackgroundFlow:
    """The background crowd of one instrument, writing into ``book`` from ``start_ns`` on.

    ``seed`` fixes the instrument's own stream (its crowd and news); ``market_seed`` fixes the market factor,
    and must be the same for every instrument of a run (the run's seed) so that they share it.
    """

    __slots__ = (
        "_book", "_fpar", "_frng", "_fst", "_idle_until", "_ipar", "_makers", "_pool", "_quotes", "_rng", "_stopped",
        "_xst", "params",
    )  # fmt: skip

    def __init__(
        self, book: MatchingBook, params: FlowParams, seed: int, start_ns: int, *, market_seed: int = 0
    ) -> None:
        if params.tick % book.tick:
            raise ValueError(f"flow tick {params.tick} is not a multiple of the book's tick {book.tick}")
        self.params = params
        self._book = book
        self._rng = new_state(seed)
        self._frng = new_state(derive_seed(market_seed, _FACTOR_STREAM))
        self._stopped = False
        self._ipar = self._int_params(params)
        self._fpar = self._rate_params(params)
        makers = np.zeros((len(params.mm_offsets), K_COLS), dtype=np.int64)
        makers[:, K_OFFSET] = params.mm_offsets
        self._quotes = np.zeros(len(params.mm_offsets) * params.mm_levels * 2, dtype=np.int64)
        self._pool = np.zeros(params.pool_capacity, dtype=np.int64)
        self._xst = np.zeros(X_SIZE, dtype=np.float64)
        fst = np.zeros(F_SIZE, dtype=np.int64)
        fst[F_NOW] = start_ns
        fst[F_NEXT] = NO_EVENT
        fst[F_FUND2] = max(2 * (params.start_price // params.tick) + 1, int(self._ipar[I_MIN_FUND2]))
        makers[:, K_CENTER] = fst[F_FUND2]
        fst[F_NEXT_OID] = BACKGROUND_ID_BASE
        fst[F_CURSOR_END] = self._quotes.shape[0]  # the market makers quote at once
        # Without weight on the factor its steps could change nothing: they are not even drawn.
        fst[F_FACTOR_NEXT] = start_ns + FACTOR_STEP_NS if params.factor_scale != 0.0 else NEVER
        self._makers = makers
        self._fst = fst
        # A run to this time (or before) would do nothing: no message pending, no quote to check, the next event
        # and the factor's next step drawn and not before it. -1 when unknown (the flow's state changed since).
        self._idle_until = -1

    @staticmethod
    def _int_params(params: FlowParams) -> np.ndarray:
        ipar = np.zeros(I_SIZE, dtype=np.int64)
        ipar[I_TICK] = params.tick
        ipar[I_LOT] = params.lot
        ipar[I_ZI_MIN_DISTANCE] = params.zi_min_distance
        ipar[I_ZI_MAX_DISTANCE] = params.zi_max_distance
        ipar[I_ZI_MAX_LOTS] = params.zi_max_lots
        ipar[I_MM_LEVELS] = params.mm_levels
        ipar[I_MM_SIZE_LOTS] = params.mm_size_lots
        ipar[I_TAKER_MAX_LOTS] = params.taker_max_lots
        ipar[I_INFORMED_MAX_LOTS] = params.informed_max_lots
        ipar[I_MOMENTUM_SHIFT] = params.momentum_memory
        ipar[I_FACTOR_STEP] = FACTOR_STEP_NS
        # The fundamental stays odd (between two ticks) and far enough above zero for every quote to be positive.
        deepest = params.zi_max_distance + max(params.mm_offsets) + params.mm_levels + 2
        ipar[I_MIN_FUND2] = 2 * deepest + 1
        return ipar

    @staticmethod
    def _rate_params(params: FlowParams) -> np.ndarray:
        fpar = np.zeros(R_SIZE, dtype=np.float64)
        fpar[R_FUND] = params.fundamental_rate
        fpar[R_ZI] = params.zi_rate
        fpar[R_ZI_CANCEL] = params.zi_cancel_rate
        fpar[R_MM] = params.mm_refresh_rate
        fpar[R_MM_REACT] = params.mm_reaction_rate
        fpar[R_INFORMED] = params.informed_rate
        fpar[R_MOMENTUM] = params.momentum_rate
        fpar[R_NOISE] = params.noise_rate
        fpar[R_ZI_GEOMETRIC_P] = 1.0 / (1.0 + params.zi_mean_distance)
        fpar[R_ZI_CROSS] = params.zi_cross_prob
        fpar[R_TAKER_GEOMETRIC_P] = 1.0 / params.taker_mean_lots
        fpar[R_EXCITE_JUMP] = params.taker_excitation * params.taker_excitation_decay
        fpar[R_EXCITE_DECAY] = params.taker_excitation_decay
        fpar[R_IMPACT] = params.impact_ticks
        fpar[R_FACTOR_SCALE] = params.factor_scale
        return fpar

    def run_until(self, t_end_ns: int, *, stop_on_owned: bool = False) -> int:
        """Generate and apply every background message due before ``t_end_ns``; returns how many were sent.

        With ``stop_on_owned`` it returns early, right after a message that recorded an event involving an engine
        order (owner > 0): :attr:`stopped` is then True and :attr:`now_ns` is that message's time, so the caller
        can handle the book's events at their exact time before calling again. Stopping changes nothing in the
        market that follows.
        """
        self._stopped = False
        if t_end_ns <= self._idle_until:
            return 0
        fst = self._fst
        before: int = fst.item(F_MESSAGES)
        book = self._book
        self._idle_until = -1
        while True:
            status = _flow_run(
                *book.arrays, fst, self._xst, self._ipar, self._fpar, self._makers, self._quotes, self._pool,
                self._rng, self._frng, t_end_ns, stop_on_owned,
            )  # fmt: skip
            if status == OK:
                # flow_run returns OK only once nothing is due before t_end_ns, and then changes nothing for any
                # end up to the next event or factor step: later runs that end by then can be skipped.
                self._idle_until = min(fst.item(F_NEXT), fst.item(F_FACTOR_NEXT))
                break
            if status == STOPPED:
                self._stopped = True
                break
            book.resolve(status)
        after: int = fst.item(F_MESSAGES)
        return after - before

    def take_impact(self, ts_ns: int, side: int, qty: int) -> int:
        """An engine order took ``qty`` from the book as the aggressor (``side`` ``BUY`` 0 or ``SELL`` 1) at
        ``ts_ns``: move the fundamental its way by ``impact_ticks * sqrt(qty / lot)`` ticks, the noise takers'
        square-root law, so that the order leaves a lasting footprint. The move is rounded to the nearest tick and
        the remainder carried to the next engine order. Returns the ticks moved (signed).

        Call it once per order and batch of fills, after :meth:`run_until` has brought the flow up to ``ts_ns``.
        """
        if qty <= 0:
            return 0
        self._idle_until = -1
        fst, xst, ipar, fpar = self._fst, self._xst, self._ipar, self._fpar
        return int(flow_take_impact(fst, xst, ipar, fpar, self._makers.shape[0], ts_ns, side, qty))

    @property
    def stopped(self) -> bool:
        """True when the last :meth:`run_until` returned early at an event of an engine order."""
        return self._stopped

    @property
    def now_ns(self) -> int:
        """Time of the last background event handled (the start time before the first)."""
        return int(self._fst[F_NOW])

    @property
    def fundamental(self) -> int:
        """The current latent price in price units (rounded down to an integer)."""
        return int(self._fst[F_FUND2]) * self.params.tick // 2

    @property
    def market_factor(self) -> int:
        """The market factor shared by the run's instruments: its walk of one +1/-1 step per ``FACTOR_STEP_NS``
        (0 when this instrument carries none of it)."""
        return int(self._fst[F_FACTOR_WALK])

    @property
    def factor_ticks(self) -> int:
        """Ticks the market factor has moved the fundamental so far."""
        return int(self._fst[F_FACTOR_TICKS])

    @property
    def next_event_ns(self) -> int:
        """Time of the next background event (the current time until the first run has drawn it)."""
        next_ns = int(self._fst[F_NEXT])
        return next_ns if next_ns != NO_EVENT else int(self._fst[F_NOW])

    @property
    def messages(self) -> int:
        """Messages sent to the book so far."""
        return int(self._fst[F_MESSAGES])

    @property
    def taker_orders(self) -> tuple[int, int]:
        """Background taker orders sent so far: ``(all, informed)``."""
        return int(self._fst[F_TAKERS]), int(self._fst[F_INFORMED])

    @property
    def book(self) -> MatchingBook:
        """The book the flow writes into."""
        return self._book
