"""The simulated exchange: a venue whose books are the matching kernel, populated by background traders.

Engine orders arrive after the order-entry latency and trade against the background book (and each other) by
price-time priority; fills pay maker or taker fees. Every publication interval each book's L2 changes are sent
as one :class:`BookUpdate` after the market-data latency, with trades and (when someone listens) order-level
actions. The background flow of each instrument is seeded from the run's seed and the symbol alone, and the
market factor the instruments share from the run's seed alone (each flow regenerates it), so a run is
reproducible and one instrument's market does not depend on which others are simulated. An engine order that
takes liquidity also moves its instrument's latent fundamental (see :meth:`BackgroundFlow.take_impact`), so a
large one leaves a lasting footprint. With ``itch`` settings every book event, whoever's order it concerns, also
goes out as ITCH 5.0 over MoldUDP64 as it is processed (:mod:`engine.sim.itch_feed`).
"""

from __future__ import annotations

import dataclasses
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from decimal import Decimal
from typing import Any

from core.clock import Scheduler, TimerHandle
from core.contracts import Venue, VenueListener, VenueSetup
from core.enums import ExecType, Liquidity, OrderType, OrdStatus, Side, TimeInForce
from core.events import (
    BookUpdate,
    CancelReject,
    OrderAction,
    OrderBookAction,
    TradeTick,
)
from core.instruments import Instrument
from core.numbers import NANOS_PER_MICRO, NANOS_PER_MILLI, Money, Nanos, Price, Quantity, round_half_even_div
from core.orders import Order, report_for
from engine.sim import matching as L
from engine.sim.flow import BackgroundFlow, FlowParams
from engine.sim.itch_feed import ItchFeed, ItchFeedSettings
from engine.sim.matching import (
    E_AUX,
    E_KIND,
    E_LEAVES,
    E_OID,
    E_OID2,
    E_OWNER,
    E_OWNER2,
    E_PRICE,
    E_QTY,
    E_SIDE,
    E_TS,
    EV_ADD,
    EV_CANCEL,
    EV_FILL,
    EV_REPLACE,
    MatchingBook,
)

STP_MODES = {"off": L.STP_NONE, "cancel-incoming": L.STP_CANCEL_INCOMING, "cancel-resting": L.STP_CANCEL_RESTING}
CANCEL_REASONS = {
    L.REASON_USER: "canceled on request",
    L.REASON_IOC: "immediate-or-cancel remainder canceled",
    L.REASON_FOK: "fill-or-kill could not fill completely",
    L.REASON_STP: "self-trade prevention",
    L.REASON_NO_LIQUIDITY: "market order found no more liquidity",
    L.REASON_REPLACE_ZERO: "replaced to zero quantity",
}
_TIF = {TimeInForce.DAY: L.TIF_DAY, TimeInForce.GTC: L.TIF_DAY, TimeInForce.IOC: L.TIF_IOC, TimeInForce.FOK: L.TIF_FOK}
_SIDE = {Side.BUY: L.BUY, Side.SELL: L.SELL}
_SIDES = (Side.BUY, Side.SELL)
_FEW_EVENTS = 32
"""Up to this many book events are filtered row by row in Python; more by numpy (see ``_process``)."""

# Enum members read through their class cost a metaclass lookup each (Python 3.11): the per-order paths use these.
_MARKET = OrderType.MARKET
_EXEC_NEW, _EXEC_TRADE = ExecType.NEW, ExecType.TRADE
_STATUS_NEW, _FILLED, _PARTIALLY_FILLED = OrdStatus.NEW, OrdStatus.FILLED, OrdStatus.PARTIALLY_FILLED
_MAKER, _TAKER, _NO_LIQUIDITY = Liquidity.MAKER, Liquidity.TAKER, Liquidity.NONE
_ADD, _EXECUTE, _DELETE, _CANCEL, _REPLACE = (
    OrderAction.ADD, OrderAction.EXECUTE, OrderAction.DELETE, OrderAction.CANCEL, OrderAction.REPLACE,
)  # fmt: skip


@dataclass(frozen=True, slots=True, kw_only=True)
class ExchangeSettings:
    """Latencies, fees and matching rules of the simulated exchange."""

    order_latency_ns: Nanos = 50 * NANOS_PER_MICRO
    market_data_latency_ns: Nanos = 20 * NANOS_PER_MICRO
    publish_interval_ns: Nanos = 10 * NANOS_PER_MILLI
    maker_fee_bps: Decimal = Decimal("-0.2")
    taker_fee_bps: Decimal = Decimal("0.3")
    stp_mode: str = "cancel-incoming"
    itch: ItchFeedSettings | None = None
    """Publish the books as an ITCH 5.0 feed over MoldUDP64 (None: no feed)."""

    @classmethod
    def from_mapping(cls, settings: Mapping[str, Any]) -> ExchangeSettings:
        """The settings found in ``settings`` (other keys are ignored), checked. ``itch`` is a table of
        :class:`ItchFeedSettings` fields (or one already built)."""
        known = {field.name for field in fields(cls)}
        chosen = cls(**{key: value for key, value in settings.items() if key in known and key != "itch"})
        itch = settings.get("itch")
        if itch is not None:
            feed = itch if isinstance(itch, ItchFeedSettings) else ItchFeedSettings.from_mapping(itch)
            chosen = dataclasses.replace(chosen, itch=feed)
        if chosen.stp_mode not in STP_MODES:
            raise ValueError(f"simulator stp_mode {chosen.stp_mode!r} is not one of {', '.join(STP_MODES)}")
        if min(chosen.order_latency_ns, chosen.market_data_latency_ns) < 0 or chosen.publish_interval_ns <= 0:
            raise ValueError("simulator latencies must be >= 0 and the publish interval > 0")
        return chosen


def _fills_and_own(rows: list[list[int]]) -> tuple[list[list[int]], list[list[int]]]:
    """The fills among the book events ``rows``, and the events that concern an engine order (but the rests of
    engine orders, which need no handling), both in order."""
    fills: list[list[int]] = []
    own: list[list[int]] = []
    for row in rows:
        kind = row[E_KIND]
        if kind == EV_FILL:
            fills.append(row)
        # An engine order's EV_ADD (it rests) needs nothing: the order was reported New on arrival.
        if kind != EV_ADD and (row[E_OWNER] > 0 or row[E_OWNER2] > 0):
            own.append(row)
    return fills, own


@dataclass(slots=True)
class _Own:
    """What the exchange knows of one of the engine's orders."""

    order: Order
    oid: int
    quantity: Quantity
    price: Price | None
    cum_qty: Quantity = 0


class _Market:
    """One instrument: its book, its background traders and its publication state."""

    def __init__(self, instrument: Instrument, params: FlowParams, seed: int, market_seed: int, stp_mode: int) -> None:
        self.instrument = instrument
        self.stp_mode = stp_mode
        self.book = MatchingBook(instrument.tick_size, stp_mode=stp_mode)
        self.params = params
        self.seed = seed
        self.market_seed = market_seed
        self.flow: BackgroundFlow | None = None
        self.sequence = 0
        self.messages = 0
        self.published_messages = 0


def _fee_rate(bps: Decimal) -> tuple[int, int]:
    numerator, denominator = bps.as_integer_ratio()
    return numerator, denominator * 10_000


def flow_params(instrument: Instrument, overrides: Mapping[str, Any]) -> FlowParams:
    """Background-flow parameters of ``instrument`` from its configured start price and settings."""
    given = dict(overrides)
    known = {field.name for field in fields(FlowParams)}
    unknown = sorted(set(given) - known)
    if unknown:
        listed = ", ".join(sorted(known))
        raise ValueError(f"{instrument.symbol}: unknown simulator setting(s) {', '.join(unknown)} (known: {listed})")
    given.setdefault("tick", instrument.tick_size)
    params = FlowParams(**given)
    if params.tick % instrument.tick_size or params.lot % instrument.lot_size:
        raise ValueError(f"{instrument.symbol}: simulator tick and lot must be multiples of the instrument's")
    return params


class SimulatedExchange(Venue):
    """The market simulator's venue (see the module docstring)."""

    name = "sim"

    def __init__(self, setup: VenueSetup) -> None:
        self.settings = ExchangeSettings.from_mapping(setup.settings)
        per_instrument: Mapping[str, Mapping[str, Any]] = setup.settings.get("instruments", {})
        stp = STP_MODES[self.settings.stp_mode]
        self._markets: dict[str, _Market] = {}
        for symbol, instrument in setup.instruments.items():
            seed = (setup.seed * 0x9E3779B1 + zlib.crc32(symbol.encode())) & 0x7FFF_FFFF_FFFF_FFFF
            params = flow_params(instrument, per_instrument.get(symbol, {}))
            self._markets[symbol] = _Market(instrument, params, seed, setup.seed, stp)
        self._maker_fee = _fee_rate(self.settings.maker_fee_bps)
        self._taker_fee = _fee_rate(self.settings.taker_fee_bps)
        self._own: dict[int, _Own] = {}
        self._by_order_id: dict[str, _Own] = {}
        self._owners: dict[str, int] = {}
        self._next_oid = 1
        self._exec_ids = 0
        self._session = ""
        self._exec_prefix = "SIM--"
        self._listener: VenueListener | None = None
        self._scheduler: Scheduler | None = None
        self._timer: TimerHandle | None = None
        self._want_trades = False
        self._want_actions = False
        self.own_messages = 0
        self.itch = None if self.settings.itch is None else ItchFeed(self.settings.itch, self.instruments())
        """The ITCH feed of the books, when the settings ask for one."""

    # --- Venue contract --------------------------------------------------------------------------------------

    def instruments(self) -> Sequence[Instrument]:
        return [market.instrument for market in self._markets.values()]

    @property
    def messages_processed(self) -> int:
        """Exchange messages processed: background traders' and the engine's."""
        return self.own_messages + sum(market.messages for market in self._markets.values())

    def start(self, listener: VenueListener, scheduler: Scheduler) -> None:
        self._listener = listener
        self._scheduler = scheduler
        now = scheduler.now_ns()
        self._session = format(now, "x")
        self._exec_prefix = f"SIM-{self._session}-"
        self._want_trades = listener.wants(TradeTick)
        self._want_actions = listener.wants(OrderBookAction)
        if self.itch is not None:
            self.itch.start(scheduler)
        for market in self._markets.values():
            if self._want_actions or self.itch is not None:  # both need every order's events, not only the engine's
                market.book = MatchingBook(market.instrument.tick_size, stp_mode=market.stp_mode, record_anonymous=True)
            market.flow = BackgroundFlow(market.book, market.params, market.seed, now, market_seed=market.market_seed)
            self._advance(market, now + 1)
        self._publish_all()

    def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self.itch is not None and self._scheduler is not None:
            self.itch.stop(self._scheduler.now_ns())
        self._listener = None

    def submit(self, order: Order) -> None:
        self._after_latency(lambda: self._arrive_new(order))

    def cancel(self, order: Order) -> None:
        self._after_latency(lambda: self._arrive_cancel(order))

    def replace(self, order: Order, quantity: Quantity, price: Price | None) -> None:
        self._after_latency(lambda: self._arrive_replace(order, quantity, price))

    def book(self, symbol: str) -> MatchingBook:
        """The live matching book of ``symbol`` (read it, do not trade through it)."""
        return self._markets[symbol].book

    # --- arrivals --------------------------------------------------------------------------------------------

    def _after_latency(self, action: Any) -> None:
        assert self._scheduler is not None, "the exchange is not started"
        self._scheduler.call_later(self.settings.order_latency_ns, action)

    def _catch_up(self, market: _Market) -> Nanos:
        """Bring the background flow up to now, so the engine's message lands at its exact time."""
        assert self._scheduler is not None
        now = self._scheduler.now_ns()
        self._advance(market, now)
        return now

    def _advance(self, market: _Market, until: Nanos) -> None:
        """Run the background flow up to ``until`` and handle the book's events.

        The flow stops right after each of its messages that touches an engine order, so that the events are
        handled (and reported with their own time) before the flow goes on; the market is the same either way.
        """
        flow = market.flow
        assert flow is not None
        while True:
            market.messages += flow.run_until(until, stop_on_owned=True)
            self._process(market)
            if not flow.stopped:
                return

    def _arrive_new(self, order: Order) -> None:
        if self._listener is None:
            return
        market = self._markets.get(order.instrument)
        if market is None:
            self._report(order, ExecType.REJECTED, OrdStatus.REJECTED, 0, reason=f"{order.instrument} not traded here")
            return
        now = self._catch_up(market)
        oid = self._next_oid
        self._next_oid += 1
        own = _Own(order, oid, order.quantity, order.price)
        self._own[oid] = own
        self._by_order_id[order.order_id] = own
        self.own_messages += 1
        self._report(order, _EXEC_NEW, _STATUS_NEW, 0, quantity=own.quantity, price=own.price)
        owner = self._owner(order.account)
        side = _SIDE[order.side]
        if order.order_type is _MARKET:
            market.book.market(now, oid, owner, side, order.quantity)
        else:
            assert order.price is not None
            market.book.add(now, oid, owner, side, order.price, order.quantity, _TIF[order.time_in_force])
        self._process(market)

    def _arrive_cancel(self, order: Order) -> None:
        own = self._by_order_id.get(order.order_id)
        market = self._markets.get(order.instrument)
        if own is None or market is None or self._listener is None:
            self._refuse(order, "unknown order", is_replace=False)
            return
        now = self._catch_up(market)
        self.own_messages += 1
        if market.book.cancel(now, own.oid) == 0:
            self._refuse(order, "too late to cancel: the order is no longer working", is_replace=False)
            return
        self._process(market)

    def _arrive_replace(self, order: Order, quantity: Quantity, price: Price | None) -> None:
        own = self._by_order_id.get(order.order_id)
        market = self._markets.get(order.instrument)
        if own is None or market is None or self._listener is None:
            self._refuse(order, "unknown order", is_replace=True)
            return
        now = self._catch_up(market)
        self.own_messages += 1
        leaves = quantity - own.cum_qty
        if leaves <= 0 or price is None or market.book.order(own.oid) is None:
            reason = (
                "too late to replace: the order is no longer working" if leaves > 0 else "quantity not above filled"
            )
            self._refuse(order, reason, is_replace=True)
            return
        own.quantity, own.price = quantity, price
        market.book.replace(now, own.oid, price, leaves)
        self._process(market)

    def _owner(self, account: str) -> int:
        owner = self._owners.get(account)
        if owner is None:
            owner = self._owners[account] = len(self._owners) + 1
        return owner

    # --- kernel events -> reports and market data ------------------------------------------------------------

    def _process(self, market: _Market) -> None:
        book = market.book
        count = book.event_count
        if count == 0:
            return
        rows = book.event_rows
        if count <= _FEW_EVENTS:
            # The usual case: a handful of rows, sorted faster in Python than by numpy, whose every call costs more
            # than the whole job.
            listed = rows.tolist()
            fills, own_rows = _fills_and_own(listed)
        else:
            listed = rows.tolist() if self._want_actions else []
            fills = rows[rows[:, E_KIND] == EV_FILL].tolist() if self._want_trades else []
            own_rows = rows[(rows[:, E_OWNER] > 0) | (rows[:, E_OWNER2] > 0)].tolist()
        if self._want_actions:
            self._publish_actions(market, listed)
        if self._want_trades and fills:
            self._publish_trades(market, fills)
        if self.itch is not None:
            self.itch.publish(market.instrument.symbol, rows)
        book.clear_events()
        if own_rows:
            self._take_impact(market, own_rows)
            for row in own_rows:
                self._own_event(row)

    @staticmethod
    def _take_impact(market: _Market, rows: list[list[int]]) -> None:
        """Move the fundamental after each engine order that took liquidity, by what it took in these events."""
        taken: dict[int, list[int]] = {}
        for row in rows:
            if row[E_KIND] == EV_FILL and row[E_OWNER2] > 0:
                seen = taken.setdefault(row[E_OID2], [row[E_TS], row[E_SIDE], 0])
                seen[2] += row[E_QTY]
        if taken:
            assert market.flow is not None
            for ts, side, qty in taken.values():
                market.flow.take_impact(ts, side, qty)

    def _own_event(self, row: list[int]) -> None:
        kind = row[E_KIND]
        ts: Nanos = row[E_TS]
        if kind == EV_FILL:
            price, qty = row[E_PRICE], row[E_QTY]
            maker = self._own.get(row[E_OID]) if row[E_OWNER] > 0 else None
            taker = self._own.get(row[E_OID2]) if row[E_OWNER2] > 0 else None
            if maker is not None:
                self._fill(maker, price, qty, _MAKER, ts)
            if taker is not None:
                self._fill(taker, price, qty, _TAKER, ts)
        elif kind == EV_CANCEL:
            own = self._own.pop(row[E_OID], None)
            if own is not None:
                self._by_order_id.pop(own.order.order_id, None)
                status = OrdStatus.CANCELED
                self._report(
                    own.order,
                    ExecType.CANCELED,
                    status,
                    own.cum_qty,
                    quantity=own.quantity,
                    price=own.price,
                    reason=CANCEL_REASONS.get(row[E_AUX], "canceled"),
                    ts_ns=ts,
                )
        elif kind == EV_REPLACE:
            own = self._own.get(row[E_OID])
            if own is not None:
                status = OrdStatus.PARTIALLY_FILLED if own.cum_qty else OrdStatus.REPLACED
                self._report(
                    own.order, ExecType.REPLACED, status, own.cum_qty, quantity=own.quantity, price=own.price, ts_ns=ts
                )

    def _fill(self, own: _Own, price: Price, qty: Quantity, liquidity: Liquidity, ts: Nanos) -> None:
        own.cum_qty += qty
        instrument = self._markets[own.order.instrument].instrument
        numerator, denominator = self._maker_fee if liquidity is _MAKER else self._taker_fee
        fee: Money = round_half_even_div(instrument.notional(price, qty) * numerator, denominator)
        done = own.cum_qty >= own.quantity
        if done:
            self._own.pop(own.oid, None)
            self._by_order_id.pop(own.order.order_id, None)
        self._report(
            own.order,
            _EXEC_TRADE,
            _FILLED if done else _PARTIALLY_FILLED,
            own.cum_qty,
            quantity=own.quantity,
            price=own.price,
            last_qty=qty,
            last_price=price,
            fee=fee,
            liquidity=liquidity,
            ts_ns=ts,
        )

    def _report(
        self,
        order: Order,
        exec_type: ExecType,
        status: OrdStatus,
        cum_qty: Quantity,
        *,
        quantity: Quantity | None = None,
        price: Price | None = None,
        last_qty: Quantity = 0,
        last_price: Price | None = None,
        fee: Money = 0,
        liquidity: Liquidity = _NO_LIQUIDITY,
        reason: str = "",
        ts_ns: Nanos | None = None,
    ) -> None:
        """Send one execution report; ``ts_ns`` is the time of the book event it reports (default: now)."""
        listener = self._listener
        assert listener is not None
        if ts_ns is None:
            assert self._scheduler is not None
            ts_ns = self._scheduler.now_ns()
        self._exec_ids += 1
        listener.on_execution(
            report_for(
                order,
                exec_id=f"{self._exec_prefix}{self._exec_ids}",
                exec_type=exec_type,
                ord_status=status,
                ts_ns=ts_ns,
                quantity=quantity,
                price=price,
                cum_qty=cum_qty,
                last_qty=last_qty,
                last_price=last_price,
                fee=fee,
                liquidity=liquidity,
                reason=reason,
                venue=self.name,
            )
        )

    def _refuse(self, order: Order, reason: str, *, is_replace: bool) -> None:
        if self._listener is None or self._scheduler is None:
            return
        self._listener.on_cancel_reject(
            CancelReject(
                client_order_id=order.client_order_id,
                order_id=order.order_id,
                account=order.account,
                ts_ns=self._scheduler.now_ns(),
                reason=reason,
                is_replace=is_replace,
            )
        )

    def _publish_trades(self, market: _Market, fills: list[list[int]]) -> None:
        assert self._listener is not None
        symbol = market.instrument.symbol
        for row in fills:
            self._listener.on_market_data(
                TradeTick(
                    instrument=symbol,
                    ts_ns=row[E_TS],
                    price=row[E_PRICE],
                    quantity=row[E_QTY],
                    aggressor=_SIDES[row[E_SIDE]],
                    match_id=row[E_AUX],
                )
            )

    def _publish_actions(self, market: _Market, rows: list[list[int]]) -> None:
        assert self._listener is not None
        symbol = market.instrument.symbol
        for row in rows:
            kind = row[E_KIND]
            if kind == EV_ADD:
                action, quantity = _ADD, row[E_QTY]
            elif kind == EV_FILL:
                action, quantity = _EXECUTE, row[E_QTY]
            elif kind == EV_CANCEL:
                action = _DELETE if row[E_LEAVES] == 0 else _CANCEL
                quantity = row[E_QTY]
            else:
                action, quantity = _REPLACE, row[E_QTY]
            side = _SIDES[row[E_SIDE]] if kind != EV_FILL else _SIDES[1 - row[E_SIDE]]
            self._listener.on_market_data(
                OrderBookAction(
                    instrument=symbol,
                    ts_ns=row[E_TS],
                    action=action,
                    order_ref=row[E_OID],
                    side=side,
                    price=row[E_PRICE],
                    quantity=quantity,
                )
            )

    # --- publication -----------------------------------------------------------------------------------------

    def _publish_all(self) -> None:
        scheduler = self._scheduler
        if scheduler is None or self._listener is None:
            return
        now = scheduler.now_ns()
        for market in self._markets.values():
            self._advance(market, now)
            self._publish_book(market, now)
        self._timer = scheduler.call_at(now + self.settings.publish_interval_ns, self._publish_all)

    def _publish_book(self, market: _Market, now: Nanos) -> None:
        assert self._scheduler is not None
        deltas = market.book.drain_deltas()
        if len(deltas) == 0 and market.sequence > 0:
            return
        deltas.flags.writeable = False
        bid, bid_qty, ask, ask_qty = market.book.top()
        market.sequence += 1
        update = BookUpdate(
            instrument=market.instrument.symbol,
            ts_ns=now,
            sequence=market.sequence,
            deltas=deltas,
            best_bid=bid,
            best_bid_qty=bid_qty,
            best_ask=ask,
            best_ask_qty=ask_qty,
            message_count=market.messages - market.published_messages,
        )
        market.published_messages = market.messages
        listener = self._listener
        if listener is None:
            return
        latency = self.settings.market_data_latency_ns
        if latency:
            self._scheduler.call_at(now + latency, lambda: listener.on_market_data(update))
        else:
            listener.on_market_data(update)
