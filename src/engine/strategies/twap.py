"""TWAP: execute a parent order evenly over time, in slices, never more than the parent quantity.

The schedule starts when the strategy starts (or, without a market yet, at the first timer tick that sees one)
and divides ``duration_s`` into ``slices`` equal intervals; by the end of slice ``k`` the cumulative quantity
``quantity * k / slices`` (in whole lots) should be done. At the start of each slice one child limit order works
what the schedule asks by the end of that slice: it joins the touch on its own side (the best bid when buying)
when the execution is on schedule, and crosses the spread by ``aggression_ticks`` when it is behind. The child
is replaced (price and total quantity) at the next slice rather than cancelled and sent anew; after the last
slice it crosses at every tick until the parent is done.

Never overfilling: there is at most one child at a time, a new child is sent only once the previous one is
finished, and a replace asks for a total quantity of ``child's filled + what the parent still lacks``, so even
fills the strategy has not heard of yet cannot take the parent beyond its quantity.
"""

from __future__ import annotations

from collections.abc import Mapping

from core.contracts import Strategy, StrategyContext, StrategySpec, TopOfBook
from core.enums import ExecType, OrdStatus, Side
from core.events import ExecutionReport
from core.numbers import NANOS_PER_MILLI, NANOS_PER_SECOND, Nanos, Price, Quantity
from core.orders import TERMINAL, fill_cost
from core.params import Param, ParamError, ParamValue, resolve_params

NAME = "twap"

PARAMS: tuple[Param, ...] = (
    Param(name="side", type=str, default="buy", choices=("buy", "sell"), description="Side of the parent order."),
    Param(
        name="quantity",
        type=int,
        default=1000,
        minimum=1,
        maximum=10**12,
        description="Parent quantity to execute (whole lots).",
    ),
    Param(
        name="duration_s",
        type=float,
        default=60.0,
        minimum=0.001,
        maximum=7 * 86_400.0,
        description="Time over which the parent is executed, in seconds.",
    ),
    Param(
        name="slices",
        type=int,
        default=10,
        minimum=1,
        maximum=100_000,
        description="Number of equal time slices.",
    ),
    Param(
        name="aggression_ticks",
        type=int,
        default=1,
        minimum=0,
        maximum=10_000,
        description="How far beyond the opposite touch the child is priced when behind schedule, in ticks.",
    ),
)

_PROBE_NS: Nanos = 10 * NANOS_PER_MILLI
"""How often to look for a market when the strategy starts before any."""


class Twap(Strategy):
    """Executes ``quantity`` on one instrument evenly over ``duration_s``; see the module documentation."""

    def __init__(self, ctx: StrategyContext, params: Mapping[str, ParamValue]) -> None:
        resolved = resolve_params(PARAMS, params, owner=NAME)
        super().__init__(ctx, resolved)
        if len(ctx.instruments) != 1:
            raise ValueError(f"{NAME} trades exactly one instrument, got {len(ctx.instruments)}")
        instrument = ctx.instruments[0]
        self.symbol = instrument.symbol
        self._tick = instrument.tick_size
        self._lot = instrument.lot_size
        self.side = Side.BUY if resolved["side"] == "buy" else Side.SELL
        self.quantity: Quantity = int(resolved["quantity"])
        """The parent quantity."""
        if self.quantity % self._lot:
            raise ParamError(f"{NAME}: quantity {self.quantity} is not a whole number of lots of {self._lot}")
        self._slices = int(resolved["slices"])
        duration_ns = round(float(resolved["duration_s"]) * NANOS_PER_SECOND)
        self._interval: Nanos = max(1, duration_ns // self._slices)
        self._aggression = int(resolved["aggression_ticks"])
        self.filled: Quantity = 0
        """Quantity filled so far, over every child."""
        self.filled_cost = 0
        """Sum of fill price x fill quantity, for the average price."""
        self.start_ns: Nanos | None = None
        """When the schedule started, None until there was a market to start on."""
        self._child: str | None = None
        self._child_price: Price | None = None
        self._child_quantity: Quantity = 0
        self._child_cum: Quantity = 0
        self._child_live = False
        self._submitting = False
        self._early: list[ExecutionReport] = []

    @property
    def remaining(self) -> Quantity:
        """Quantity still to execute."""
        return max(0, self.quantity - self.filled)

    @property
    def done(self) -> bool:
        """True once the whole parent quantity is filled."""
        return self.filled >= self.quantity

    @property
    def working(self) -> Quantity:
        """Open quantity of the working child (as last confirmed), 0 when there is none."""
        return self._child_quantity - self._child_cum if self._child is not None else 0

    def scheduled(self, elapsed_slices: int) -> Quantity:
        """Cumulative quantity due by the end of slice ``elapsed_slices`` (whole lots, the parent at the end)."""
        k = min(max(elapsed_slices, 0), self._slices)
        lots = self.quantity // self._lot
        return lots * k // self._slices * self._lot

    def on_start(self) -> None:
        """Start the schedule now if there is a market, else look for one on a short timer."""
        if not self._try_start(self.ctx.now_ns()):
            self.ctx.set_timer(min(self._interval, _PROBE_NS))

    def on_timer(self, ts_ns: Nanos) -> None:
        """Start the schedule, or work the slice that begins now."""
        if self.done:
            return
        if self.start_ns is None:
            self._try_start(ts_ns)
        else:
            self._slice(ts_ns, self.start_ns)

    def on_execution(self, report: ExecutionReport) -> None:
        """Count fills (a busted one no longer counts: the schedule works its quantity again) and follow the
        working child."""
        if report.exec_type is ExecType.TRADE:
            self.filled += report.last_qty
            self.filled_cost += fill_cost(report)
            if self.done:
                self.ctx.log(f"done: {self.filled} {self.symbol} {self.side.name.lower()}")
        elif report.exec_type is ExecType.TRADE_CANCEL:
            self.filled -= report.last_qty
            self.filled_cost += fill_cost(report)
            self.ctx.log(f"fill {report.ref_exec_id} busted: {self.filled} of {self.quantity} now filled")
        if report.client_order_id == self._child:
            self._apply(report)
        elif self._submitting:
            # Reported before submit() returned the id (an inline reject, ack or fill): applied right after.
            self._early.append(report)

    # --- internals -----------------------------------------------------------------------------------------------

    def _try_start(self, now: Nanos) -> bool:
        if self._price(self.ctx.top(self.symbol), behind=False) is None:
            return False
        self.start_ns = now
        self.ctx.set_timer(self._interval)
        self._slice(now, now)
        return True

    def _slice(self, now: Nanos, start: Nanos) -> None:
        elapsed = (now - start) // self._interval
        behind = self.filled < self.scheduled(elapsed)
        wanted = self.scheduled(elapsed + 1) - self.filled
        child = self._child
        if child is None:
            price = self._price(self.ctx.top(self.symbol), behind)
            if wanted > 0 and price is not None:
                self._submit(price, wanted)
            return
        if not self._child_live:
            return
        if wanted <= 0:
            self.ctx.cancel(child)
            return
        price = self._price(self.ctx.top(self.symbol), behind)
        if price is None:
            return
        quantity = self._child_cum + wanted
        if quantity != self._child_quantity or price != self._child_price:
            self.ctx.replace(
                child,
                quantity=None if quantity == self._child_quantity else quantity,
                price=None if price == self._child_price else price,
            )

    def _price(self, top: TopOfBook | None, behind: bool) -> Price | None:
        """The child's price: the own touch on schedule, across the spread by ``aggression_ticks`` behind it."""
        if top is None:
            return None
        tick = self._tick
        if self.side is Side.BUY:
            if behind and top.ask is not None:
                return top.ask + self._aggression * tick
            if top.bid is not None:
                return top.bid
            return top.ask - tick if top.ask is not None and top.ask > tick else None
        if behind and top.bid is not None:
            return max(tick, top.bid - self._aggression * tick)
        if top.ask is not None:
            return top.ask
        return top.bid + tick if top.bid is not None else None

    def _submit(self, price: Price, quantity: Quantity) -> None:
        self._submitting = True
        try:
            child = self.ctx.submit(self.symbol, self.side, quantity, price)
        finally:
            self._submitting = False
        self._child = child
        self._child_price = price
        self._child_quantity = quantity
        self._child_cum = 0
        self._child_live = False
        if self._early:
            early, self._early = self._early, []
            for report in early:
                if report.client_order_id == child and self._child == child:
                    self._apply(report)

    def _apply(self, report: ExecutionReport) -> None:
        status = report.ord_status
        if status in TERMINAL:
            self._child = None
            self._child_live = False
            return
        self._child_cum = report.cum_qty
        self._child_quantity = report.quantity
        if report.price is not None:
            self._child_price = report.price
        if status is not OrdStatus.PENDING_NEW:
            self._child_live = True


SPEC = StrategySpec(
    name=NAME,
    factory=Twap,
    params=PARAMS,
    description=(
        "Executes a parent order evenly over time in slices: joins the touch on schedule, crosses the spread "
        "when behind, never fills more than the parent quantity."
    ),
    min_instruments=1,
    max_instruments=1,
)
"""The TWAP as the plugin registers it."""
