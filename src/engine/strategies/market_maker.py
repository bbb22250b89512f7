"""Market maker: one bid and one ask around the mid of each instrument, skewed against the inventory.

Each instrument is quoted independently. The quotes sit ``half_spread_ticks`` from the mid (rounded outwards to
the tick grid), both shifted by up to ``skew_ticks`` against the position the strategy built since it started,
and sized so that a fill can never take the inventory beyond ``max_inventory``. A working quote is moved with a
replace, only when its desired price has moved by ``requote_ticks`` or more; a quote never crosses the book.
"""

from __future__ import annotations

from collections.abc import Mapping

from core.contracts import Strategy, StrategyContext, StrategySpec
from core.enums import ExecType, OrdStatus, Side
from core.events import BookUpdate, CancelReject, ExecutionReport
from core.instruments import Instrument
from core.numbers import NANOS_PER_MILLI, Nanos, Price, Quantity, round_half_even_div
from core.orders import TERMINAL
from core.params import Param, ParamValue, resolve_params

NAME = "market-maker"

PARAMS: tuple[Param, ...] = (
    Param(
        name="half_spread_ticks",
        type=int,
        default=1,
        minimum=0,
        maximum=100,
        description="Distance of each quote from the mid, in ticks, rounded outwards to the grid "
        "(0 joins the best bid and ask of a one-tick market).",
    ),
    Param(
        name="quote_size",
        type=int,
        default=100,
        minimum=1,
        maximum=1_000_000,
        description="Quantity of each quote (rounded down to whole lots).",
    ),
    Param(
        name="max_inventory",
        type=int,
        default=1000,
        minimum=1,
        maximum=1_000_000_000,
        description="Largest position, long or short, the quotes may build; the side adding to it stops beyond.",
    ),
    Param(
        name="skew_ticks",
        type=int,
        default=2,
        minimum=0,
        maximum=1000,
        description="Shift of both quotes against the position when it reaches max_inventory, in ticks.",
    ),
    Param(
        name="requote_ticks",
        type=int,
        default=1,
        minimum=1,
        maximum=1000,
        description="Smallest move of a desired quote price, in ticks, that moves the working quote.",
    ),
    Param(
        name="confirm_timeout_ms",
        type=int,
        default=1000,
        minimum=1,
        maximum=3_600_000,
        description="How long a replace or cancel may go unconfirmed before it is taken as refused.",
    ),
)


class _Quote:
    """The one order working on one side of one instrument, as the strategy knows it."""

    __slots__ = (
        "cancelling",
        "changing_since",
        "confirmed_price",
        "confirmed_quantity",
        "cum_qty",
        "live",
        "market",
        "order_id",
        "price",
        "quantity",
        "side",
    )

    def __init__(self, market: _Market, side: Side) -> None:
        self.market = market
        self.side = side
        self.order_id: str | None = None
        self.price: Price = 0
        """The price last asked for (a replace may still be on its way)."""
        self.quantity: Quantity = 0
        """The total order quantity last asked for."""
        self.confirmed_price: Price = 0
        self.confirmed_quantity: Quantity = 0
        self.cum_qty: Quantity = 0
        self.live = False
        """True once the venue acknowledged the order: only then may it be replaced or cancelled."""
        self.cancelling = False
        self.changing_since: Nanos | None = None
        """When the oldest unconfirmed replace or cancel was sent, None when there is none."""

    def open(self, order_id: str, price: Price, quantity: Quantity) -> None:
        self.order_id = order_id
        self.price = self.confirmed_price = price
        self.quantity = self.confirmed_quantity = quantity
        self.cum_qty = 0
        self.live = self.cancelling = False
        self.changing_since = None

    def close(self) -> None:
        self.order_id = None
        self.live = self.cancelling = False
        self.changing_since = None

    def refused(self) -> None:
        """A replace or cancel did not happen: the order rests as last confirmed."""
        self.price = self.confirmed_price
        self.quantity = self.confirmed_quantity
        self.cancelling = False
        self.changing_since = None

    @property
    def leaves(self) -> Quantity:
        return self.quantity - self.cum_qty

    def alone_at(self, price: Price, quantity: Quantity) -> bool:
        """True when a book level at ``price`` holding ``quantity`` can be this order alone."""
        return (
            self.order_id is not None
            and (price == self.price or price == self.confirmed_price)
            and quantity <= max(self.quantity, self.confirmed_quantity) - self.cum_qty
        )


class _Market:
    """Quoting state of one instrument."""

    __slots__ = (
        "ask",
        "base_position",
        "bid",
        "last_ask",
        "last_ask_qty",
        "last_bid",
        "last_bid_qty",
        "last_position",
        "lot",
        "ref_ask",
        "ref_bid",
        "settled",
        "symbol",
        "tick",
    )

    def __init__(self, instrument: Instrument) -> None:
        self.symbol = instrument.symbol
        self.tick = instrument.tick_size
        self.lot = instrument.lot_size
        self.bid = _Quote(self, Side.BUY)
        self.ask = _Quote(self, Side.SELL)
        self.ref_bid: Price | None = None
        """Best bid of the others: the book's, unless our own bid is alone at the top."""
        self.ref_ask: Price | None = None
        self.base_position: Quantity = 0
        self.settled = False
        """True while the quotes are what the inputs below ask for and no request awaits an answer."""
        self.last_bid: Price | None = None
        self.last_ask: Price | None = None
        self.last_bid_qty: Quantity = 0
        self.last_ask_qty: Quantity = 0
        self.last_position: Quantity = 0


class MarketMaker(Strategy):
    """Quotes a bid and an ask around the mid of each of its instruments, skewed against its inventory."""

    def __init__(self, ctx: StrategyContext, params: Mapping[str, ParamValue]) -> None:
        resolved = resolve_params(PARAMS, params, owner=NAME)
        super().__init__(ctx, resolved)
        self._half_spread = int(resolved["half_spread_ticks"])
        self._quote_size = int(resolved["quote_size"])
        self._max_inventory = int(resolved["max_inventory"])
        self._skew = int(resolved["skew_ticks"])
        self._requote = int(resolved["requote_ticks"])
        self._timeout: Nanos = int(resolved["confirm_timeout_ms"]) * NANOS_PER_MILLI
        self._markets = {instrument.symbol: _Market(instrument) for instrument in ctx.instruments}
        self._by_order: dict[str, _Quote] = {}
        self._submitting = False
        self._early: list[ExecutionReport] = []

    def inventory(self, symbol: str) -> Quantity:
        """Position in ``symbol`` built since the strategy started."""
        return self.ctx.position(symbol).quantity - self._markets[symbol].base_position

    def on_start(self) -> None:
        """Take the positions held at start as the zero of each inventory."""
        for market in self._markets.values():
            market.base_position = self.ctx.position(market.symbol).quantity
            if self._quote_size < market.lot:
                self.ctx.log(f"{market.symbol}: quote_size {self._quote_size} is less than a lot; not quoting")

    def on_book(self, update: BookUpdate) -> None:
        """Work out the desired quotes of the updated instrument and move the working ones if needed."""
        market = self._markets.get(update.instrument)
        best_bid = update.best_bid
        best_ask = update.best_ask
        if market is None or best_bid is None or best_ask is None:
            return
        position = self.ctx.position(market.symbol).quantity - market.base_position
        # Most updates change the book below the top: nothing to do when the top and the position are as before.
        if (
            market.settled
            and best_bid == market.last_bid
            and best_ask == market.last_ask
            and position == market.last_position
            and update.best_bid_qty == market.last_bid_qty
            and update.best_ask_qty == market.last_ask_qty
        ):
            return
        market.last_bid = best_bid
        market.last_ask = best_ask
        market.last_bid_qty = update.best_bid_qty
        market.last_ask_qty = update.best_ask_qty
        market.last_position = position
        market.settled = True
        self._quote(market, best_bid, best_ask, update, position)
        # Look again at the next update if a report came in meanwhile (an inline ack or reject: it cleared
        # settled) or while a request awaits its answer (to notice when it is overdue).
        if market.bid.changing_since is not None or market.ask.changing_since is not None:
            market.settled = False

    def on_execution(self, report: ExecutionReport) -> None:
        """Follow the state of the quotes (acks, fills, replaces, cancels, rejects)."""
        quote = self._by_order.get(report.client_order_id)
        if quote is None:
            if self._submitting:
                # Reported before submit() returned the id (an inline reject or ack): applied right after.
                self._early.append(report)
            return
        self._apply(quote, report)

    def on_cancel_reject(self, reject: CancelReject) -> None:
        """A cancel or replace of a quote was refused: the quote rests as last confirmed."""
        quote = self._by_order.get(reject.client_order_id)
        if quote is not None:
            quote.refused()
            quote.market.settled = False

    # --- internals -----------------------------------------------------------------------------------------------

    def _quote(self, market: _Market, best_bid: Price, best_ask: Price, update: BookUpdate, position: Quantity) -> None:
        """Work out the desired quotes and move the working ones where needed."""
        bid_quote = market.bid
        ask_quote = market.ask
        # A top level made of our own quote alone says nothing about the market: keep the last reference,
        # or the quotes would chase themselves whenever they are skewed.
        if not bid_quote.alone_at(best_bid, update.best_bid_qty):
            market.ref_bid = best_bid
        if not ask_quote.alone_at(best_ask, update.best_ask_qty):
            market.ref_ask = best_ask
        ref_bid = market.ref_bid
        ref_ask = market.ref_ask
        if ref_bid is None or ref_ask is None:
            return
        tick = market.tick
        lot = market.lot
        mid_x2 = ref_bid + ref_ask
        width_x2 = 2 * self._half_spread * tick
        bid = (mid_x2 - width_x2) // 2
        bid -= bid % tick
        ask = -((-mid_x2 - width_x2) // 2)
        ask += -ask % tick
        shift = self._skew_ticks(position) * tick
        bid_size = min(self._quote_size, self._max_inventory - position)
        ask_size = min(self._quote_size, self._max_inventory + position)
        bid_size -= bid_size % lot
        ask_size -= ask_size % lot
        now = update.ts_ns
        # Move first the quote that makes room for the other, so that neither has to wait for the other.
        if bid_quote.order_id is not None and bid + shift > bid_quote.price:
            self._work_ask(market, ask + shift, ask_size, best_bid, now)
            self._work_bid(market, bid + shift, bid_size, best_ask, now)
        else:
            self._work_bid(market, bid + shift, bid_size, best_ask, now)
            self._work_ask(market, ask + shift, ask_size, best_bid, now)

    def _skew_ticks(self, position: Quantity) -> int:
        """Whole ticks to move both quotes: down when long, up when short, ``skew_ticks`` at full inventory."""
        if position == 0 or self._skew == 0:
            return 0
        limit = self._max_inventory
        clamped = max(-limit, min(limit, position))
        return -round_half_even_div(self._skew * clamped, limit)

    def _work_bid(self, market: _Market, price: Price, size: Quantity, best_ask: Price, now: Nanos) -> None:
        """Quote the bid at ``price`` or below: never at or above the best ask nor our own ask."""
        cap = best_ask - market.tick
        own = market.ask
        if own.order_id is not None:
            cap = min(cap, own.price - market.tick, own.confirmed_price - market.tick)
        quote = market.bid
        self._work(market, quote, min(price, cap), size, quote.price > cap, now)

    def _work_ask(self, market: _Market, price: Price, size: Quantity, best_bid: Price, now: Nanos) -> None:
        """Quote the ask at ``price`` or above: never at or below the best bid nor our own bid."""
        floor = best_bid + market.tick
        own = market.bid
        if own.order_id is not None:
            floor = max(floor, own.price + market.tick, own.confirmed_price + market.tick)
        quote = market.ask
        self._work(market, quote, max(price, floor), size, quote.price < floor, now)

    def _work(self, market: _Market, quote: _Quote, price: Price, size: Quantity, crossing: bool, now: Nanos) -> None:
        """Bring one side's working order to ``price`` and ``size`` (no order when ``size`` is not positive)."""
        order_id = quote.order_id
        if order_id is None:
            if size > 0 and price > 0:
                self._submit(market, quote, price, size)
            return
        if not quote.live:
            return
        if quote.changing_since is not None and now - quote.changing_since >= self._timeout:
            quote.refused()
        if size <= 0 or price <= 0:
            if not quote.cancelling:
                quote.cancelling = True
                if quote.changing_since is None:
                    quote.changing_since = now
                self.ctx.cancel(order_id)
            return
        if quote.cancelling:
            return
        if crossing or abs(price - quote.price) >= self._requote * market.tick:
            quantity = quote.cum_qty + size
            self._replace(quote, order_id, price, None if quantity == quote.quantity else quantity, now)
        elif quote.leaves > size:
            self._replace(quote, order_id, None, quote.cum_qty + size, now)

    def _submit(self, market: _Market, quote: _Quote, price: Price, size: Quantity) -> None:
        self._submitting = True
        try:
            order_id = self.ctx.submit(market.symbol, quote.side, size, price)
        finally:
            self._submitting = False
        quote.open(order_id, price, size)
        self._by_order[order_id] = quote
        if self._early:
            early, self._early = self._early, []
            for report in early:
                if report.client_order_id == order_id and quote.order_id == order_id:
                    self._apply(quote, report)

    def _replace(
        self, quote: _Quote, order_id: str, price: Price | None, quantity: Quantity | None, now: Nanos
    ) -> None:
        if price is not None:
            quote.price = price
        if quantity is not None:
            quote.quantity = quantity
        if quote.changing_since is None:
            quote.changing_since = now
        self.ctx.replace(order_id, quantity=quantity, price=price)

    def _apply(self, quote: _Quote, report: ExecutionReport) -> None:
        quote.market.settled = False
        status = report.ord_status
        if status in TERMINAL:
            self._by_order.pop(report.client_order_id, None)
            quote.close()
            return
        exec_type = report.exec_type
        quote.cum_qty = report.cum_qty
        if exec_type is ExecType.REPLACED:
            if report.price is not None:
                quote.confirmed_price = report.price
            quote.confirmed_quantity = report.quantity
            if quote.price == quote.confirmed_price and quote.quantity == quote.confirmed_quantity:
                quote.changing_since = None
        elif exec_type is ExecType.REJECTED:
            quote.refused()
        if status is not OrdStatus.PENDING_NEW:
            quote.live = True


SPEC = StrategySpec(
    name=NAME,
    factory=MarketMaker,
    params=PARAMS,
    description=(
        "Quotes one bid and one ask around the mid of each instrument, skewed against the inventory, "
        "stopping the side that would add beyond max_inventory."
    ),
    min_instruments=1,
    max_instruments=None,
)
"""The market maker as the plugin registers it."""
