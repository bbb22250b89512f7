"""Pairs trading: mean reversion of the spread between two correlated instruments.

On a timer the strategy samples the mids of its two legs A and B and keeps the last ``window`` samples of their
logarithms. The spread is ``log A - beta * log B``, with ``beta`` fixed by parameter (1: the log price ratio) or
estimated by ordinary least squares over the window. Its z-score (latest spread against the window's mean and
standard deviation) drives a target position per leg:

* flat and ``entry_z < |z| < stop_z``: sell the rich leg and buy the cheap one (z > 0: A is rich), the gross
  ``notional`` split between the legs as ``1 : beta`` so the position follows the spread;
* in a position, once the spread has come back within ``exit_z`` of its mean (or beyond): flatten;
* in a position, once the spread has run ``stop_z`` the wrong way: flatten and wait until it comes back within
  ``exit_z`` before entering again.

The legs are brought to their targets with marketable immediate-or-cancel limits crossing the touch by
``slippage_ticks``; what does not fill is sent again at the next sample. Positions are read from the context,
counted from what the account held when the strategy started.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import numpy.typing as npt

from core.contracts import Strategy, StrategyContext, StrategySpec, TopOfBook
from core.enums import Side, TimeInForce
from core.events import ExecutionReport
from core.instruments import Instrument
from core.numbers import MONEY_DECIMALS, NANOS_PER_MILLI, Nanos, Quantity
from core.orders import TERMINAL
from core.params import Param, ParamError, ParamValue, resolve_params

NAME = "pairs"

PARAMS: tuple[Param, ...] = (
    Param(
        name="window",
        type=int,
        default=100,
        minimum=5,
        maximum=100_000,
        description="Number of samples in the rolling window of the spread.",
    ),
    Param(
        name="sample_interval_ms",
        type=int,
        default=1000,
        minimum=1,
        maximum=86_400_000,
        description="Time between two samples of the legs' mids, in milliseconds.",
    ),
    Param(
        name="entry_z",
        type=float,
        default=2.0,
        minimum=0.0,
        maximum=100.0,
        description="Enter when the spread's |z-score| exceeds this.",
    ),
    Param(
        name="exit_z",
        type=float,
        default=0.5,
        minimum=0.0,
        maximum=100.0,
        description="Flatten once the spread's z-score is back within this of the mean.",
    ),
    Param(
        name="stop_z",
        type=float,
        default=4.0,
        minimum=0.0,
        maximum=1000.0,
        description="Flatten (stop out) when the spread's |z-score| reaches this against the position.",
    ),
    Param(
        name="hedge",
        type=str,
        default="fixed",
        choices=("fixed", "ols"),
        description="Hedge ratio: 'fixed' uses hedge_ratio, 'ols' estimates it by least squares over the window.",
    ),
    Param(
        name="hedge_ratio",
        type=float,
        default=1.0,
        minimum=0.001,
        maximum=1000.0,
        description="Fixed hedge ratio beta of the spread log A - beta log B (1: the log price ratio).",
    ),
    Param(
        name="notional",
        type=int,
        default=100_000,
        minimum=1,
        maximum=10**12,
        description="Gross value of both legs at entry, in account currency, split 1 : beta between A and B.",
    ),
    Param(
        name="slippage_ticks",
        type=int,
        default=2,
        minimum=0,
        maximum=10_000,
        description="How far beyond the touch the immediate-or-cancel orders are priced, in ticks.",
    ),
)

_MIN_STD = 1e-12
"""A spread whose standard deviation is below this is flat: it gives no signal."""


class PairsTrader(Strategy):
    """Trades the mean reversion of the spread between its two instruments (A first, B second)."""

    def __init__(self, ctx: StrategyContext, params: Mapping[str, ParamValue]) -> None:
        resolved = resolve_params(PARAMS, params, owner=NAME)
        super().__init__(ctx, resolved)
        instruments = ctx.instruments
        if len(instruments) != 2:
            raise ValueError(f"{NAME} trades exactly two instruments, got {len(instruments)}")
        self.leg_a: Instrument = instruments[0]
        self.leg_b: Instrument = instruments[1]
        self._entry_z = float(resolved["entry_z"])
        self._exit_z = float(resolved["exit_z"])
        self._stop_z = float(resolved["stop_z"])
        if not self._exit_z < self._entry_z < self._stop_z:
            raise ParamError(
                f"{NAME}: need exit_z < entry_z < stop_z, got {self._exit_z}, {self._entry_z}, {self._stop_z}"
            )
        self._window = int(resolved["window"])
        self._interval: Nanos = int(resolved["sample_interval_ms"]) * NANOS_PER_MILLI
        self._fixed_ratio = float(resolved["hedge_ratio"]) if resolved["hedge"] == "fixed" else None
        self._notional = int(resolved["notional"]) * 10**MONEY_DECIMALS
        self._slippage = int(resolved["slippage_ticks"])
        self._log_a: npt.NDArray[np.float64] = np.zeros(self._window)
        self._log_b: npt.NDArray[np.float64] = np.zeros(self._window)
        self.samples = 0
        """Samples taken so far; signals start once the window is full."""
        self.z: float | None = None
        """The latest z-score of the spread, None until the window is full or while the spread is flat."""
        self.hedge_ratio: float | None = self._fixed_ratio
        """The hedge ratio of the latest sample (estimated in 'ols' mode)."""
        self.direction = 0
        """+1 long the spread (long A, short B), -1 short the spread, 0 flat."""
        self.target_a: Quantity = 0
        self.target_b: Quantity = 0
        self._armed = True
        self._base_a: Quantity = 0
        self._base_b: Quantity = 0
        self._in_flight: set[str] = set()
        self._finished_early: set[str] = set()
        self._submitting = False

    @property
    def position_a(self) -> Quantity:
        """Position in leg A built by the strategy."""
        return self.ctx.position(self.leg_a.symbol).quantity - self._base_a

    @property
    def position_b(self) -> Quantity:
        """Position in leg B built by the strategy."""
        return self.ctx.position(self.leg_b.symbol).quantity - self._base_b

    @property
    def orders_in_flight(self) -> int:
        """Orders sent and not yet finished; no new order goes out while there are any."""
        return len(self._in_flight)

    def on_start(self) -> None:
        """Take the positions held at start as zero and start sampling."""
        self._base_a = self.ctx.position(self.leg_a.symbol).quantity
        self._base_b = self.ctx.position(self.leg_b.symbol).quantity
        self.ctx.set_timer(self._interval)

    def on_timer(self, ts_ns: Nanos) -> None:
        """Sample both mids, update the z-score, decide the targets and send what the legs lack."""
        top_a = self.ctx.top(self.leg_a.symbol)
        top_b = self.ctx.top(self.leg_b.symbol)
        if top_a is None or top_b is None:
            return
        if top_a.bid is None or top_a.ask is None or top_b.bid is None or top_b.ask is None:
            return
        mid_a_x2 = top_a.bid + top_a.ask
        mid_b_x2 = top_b.bid + top_b.ask
        slot = self.samples % self._window
        # log of twice the mid: the constant log 2 drops out of the z-score.
        self._log_a[slot] = math.log(mid_a_x2)
        self._log_b[slot] = math.log(mid_b_x2)
        self.samples += 1
        if self.samples >= self._window:
            self._update_signal(slot)
        if self._in_flight:
            return
        if self.z is not None:
            self._decide(self.z, mid_a_x2, mid_b_x2)
        self._drive(self.leg_a, self.target_a - self.position_a, top_a)
        self._drive(self.leg_b, self.target_b - self.position_b, top_b)

    def on_execution(self, report: ExecutionReport) -> None:
        """Forget the orders that are finished (filled, cancelled by IOC, rejected)."""
        if report.ord_status in TERMINAL:
            client_order_id = report.client_order_id
            if client_order_id in self._in_flight:
                self._in_flight.discard(client_order_id)
            elif self._submitting:
                self._finished_early.add(client_order_id)

    # --- internals -----------------------------------------------------------------------------------------------

    def _update_signal(self, latest: int) -> None:
        log_a = self._log_a
        log_b = self._log_b
        beta = self._fixed_ratio
        if beta is None:
            centred_b = log_b - log_b.mean()
            variance = float(centred_b @ centred_b)
            if variance < _MIN_STD * _MIN_STD * self._window:  # B did not move: no hedge ratio to estimate
                self.z = None
                return
            beta = float(centred_b @ (log_a - log_a.mean())) / variance
        self.hedge_ratio = beta
        spread = log_a - beta * log_b
        deviation = float(spread.std())
        if deviation < _MIN_STD:
            self.z = None
            return
        self.z = (float(spread[latest]) - float(spread.mean())) / deviation

    def _decide(self, z: float, mid_a_x2: int, mid_b_x2: int) -> None:
        if self.direction == 0:
            if not self._armed:
                self._armed = abs(z) < self._exit_z
            elif self._entry_z < abs(z) < self._stop_z:
                self._enter(-1 if z > 0 else 1, z, mid_a_x2, mid_b_x2)
            return
        against = -self.direction * z
        if against >= self._stop_z:
            self._flatten(f"stop at z={z:.2f}")
            self._armed = False
        elif against < self._exit_z:
            self._flatten(f"exit at z={z:.2f}")

    def _enter(self, direction: int, z: float, mid_a_x2: int, mid_b_x2: int) -> None:
        beta = self.hedge_ratio
        if beta is None or beta <= 0.0:
            return
        money_a = int(self._notional / (1.0 + beta))
        quantity_a = _quantity_for(self.leg_a, money_a, mid_a_x2)
        quantity_b = _quantity_for(self.leg_b, self._notional - money_a, mid_b_x2)
        if quantity_a <= 0 or quantity_b <= 0:
            return
        self.direction = direction
        self.target_a = direction * quantity_a
        self.target_b = -direction * quantity_b
        way = "long" if direction > 0 else "short"
        self.ctx.log(
            f"{way} spread at z={z:.2f}, beta={beta:.4f}: "
            f"{self.leg_a.symbol} {self.target_a:+d}, {self.leg_b.symbol} {self.target_b:+d}"
        )

    def _flatten(self, why: str) -> None:
        self.direction = 0
        self.target_a = self.target_b = 0
        self.ctx.log(f"flatten: {why}")

    def _drive(self, instrument: Instrument, gap: Quantity, top: TopOfBook) -> None:
        """Send an immediate-or-cancel order for ``gap`` (signed) of ``instrument`` at a marketable price."""
        quantity = abs(gap)
        quantity -= quantity % instrument.lot_size
        if quantity == 0 or top.bid is None or top.ask is None:
            return
        tick = instrument.tick_size
        if gap > 0:
            side = Side.BUY
            price = top.ask + self._slippage * tick
        else:
            side = Side.SELL
            price = max(tick, top.bid - self._slippage * tick)
        self._submitting = True
        try:
            client_order_id = self.ctx.submit(instrument.symbol, side, quantity, price, time_in_force=TimeInForce.IOC)
        finally:
            self._submitting = False
        # An order may have finished inside submit() (an inline reject or fill), before its id was known.
        finished = client_order_id in self._finished_early
        self._finished_early.clear()
        if not finished:
            self._in_flight.add(client_order_id)


def _quantity_for(instrument: Instrument, money: int, mid_x2: int) -> Quantity:
    """Whole lots of ``instrument`` worth at most ``money`` at the mid (``mid_x2`` is twice the mid)."""
    value_x2 = instrument.notional(mid_x2, 1)
    if value_x2 <= 0:
        return 0
    quantity = 2 * money // value_x2
    return quantity - quantity % instrument.lot_size


SPEC = StrategySpec(
    name=NAME,
    factory=PairsTrader,
    params=PARAMS,
    description=(
        "Mean reversion of the spread between two correlated instruments: enters on the spread's z-score "
        "with a fixed or least-squares hedge ratio, exits near the mean, stops out far from it."
    ),
    min_instruments=2,
    max_instruments=2,
)
"""The pairs strategy as the plugin registers it."""
