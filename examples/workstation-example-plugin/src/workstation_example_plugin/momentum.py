"""``example-momentum``: buy after the mid rose ``run_length`` times in a row, sell after it fell as often.

Only updates that move the mid count; an unchanged mid neither extends nor breaks a run. Each signal sends one
immediate-or-cancel order at the opposite best price, so no order is left working, and the position is kept
within ``max_position`` either way.
"""

from __future__ import annotations

from collections.abc import Mapping

from core.contracts import Strategy, StrategyContext, StrategySpec
from core.enums import Side, TimeInForce
from core.events import BookUpdate
from core.params import Param, ParamValue


class MomentumStrategy(Strategy):
    """Trades in the direction of a run of mid-price moves on each of its instruments."""

    def __init__(self, ctx: StrategyContext, params: Mapping[str, ParamValue]) -> None:
        super().__init__(ctx, params)
        self._run_length = int(params["run_length"])
        self._quantity = int(params["quantity"])
        self._max_position = int(params["max_position"])
        self._last_mid_x2: dict[str, int] = {}
        # Signed length of the current run per instrument: +n after n rises, -n after n falls.
        self._run: dict[str, int] = {}

    def on_book(self, update: BookUpdate) -> None:
        """Extend or restart the run with this update's mid and trade when the run is long enough."""
        mid_x2 = update.mid_x2
        if mid_x2 is None:
            return
        symbol = update.instrument
        last = self._last_mid_x2.get(symbol)
        self._last_mid_x2[symbol] = mid_x2
        if last is None or mid_x2 == last:
            return
        step = 1 if mid_x2 > last else -1
        run = self._run.get(symbol, 0)
        run = run + step if run * step > 0 else step
        if abs(run) >= self._run_length:
            self._trade(update, Side.BUY if run > 0 else Side.SELL)
            run = 0
        self._run[symbol] = run

    def _trade(self, update: BookUpdate, side: Side) -> None:
        price = update.best_ask if side is Side.BUY else update.best_bid
        if price is None:
            return
        held = self.ctx.position(update.instrument).quantity
        if abs(held + side.sign * self._quantity) > self._max_position:
            return
        self.ctx.submit(update.instrument, side, self._quantity, price, time_in_force=TimeInForce.IOC)


MOMENTUM_SPEC = StrategySpec(
    name="example-momentum",
    factory=MomentumStrategy,
    params=(
        Param(name="run_length", type=int, default=3, minimum=1, description="mid moves in a row to act on"),
        Param(name="quantity", type=int, default=100, minimum=1, description="shares per order"),
        Param(name="max_position", type=int, default=500, minimum=0, description="largest position held"),
    ),
    description="Buys after the mid rises N updates in a row, sells after it falls N in a row.",
)
