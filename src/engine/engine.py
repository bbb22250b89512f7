"""The engine kernel: commands in, risk, routing, venues, execution reports, positions and the bus out.

One ``Engine`` runs on one scheduler (simulated for a backtest, asyncio for live and paper trading) and is the
only writer of orders and positions. The flow of one order::

    submit -> validation -> risk (every check) -> router -> venue -> execution report
           -> order manager (state machine) -> journal -> portfolio -> bus
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import logging
from collections.abc import Callable, Iterable, Mapping
from datetime import date
from typing import Protocol

from core.clock import Scheduler, TimerHandle
from core.commands import CancelAll, CancelOrder, KillSwitch, ReplaceOrder, SubmitOrder
from core.contracts import Router, Venue
from core.enums import ExecType, OrderType, OrdStatus, Side, TimeInForce
from core.events import (
    BookUpdate,
    CancelReject,
    EngineState,
    EngineStatus,
    ExecutionReport,
    OrderBookAction,
    PositionUpdate,
    RiskEvent,
    RiskEventKind,
    TradeTick,
)
from core.instruments import Instrument
from core.numbers import NANOS_PER_MILLI, Money, Nanos, Price
from core.orders import Order, report_for
from core.portfolio import DayStart, PnL, Portfolio, Position
from core.trading_day import TradingCalendar
from engine.bus import MessageBus
from engine.order_manager import DuplicateOrderId, OrderManager
from engine.risk.checks import validate_request
from engine.risk.engine import RiskEngine

log = logging.getLogger(__name__)

FLATTEN_STRATEGY = "risk:flatten"
"""The strategy id stamped on the orders the engine sends to flatten an account after a breach."""

MONITOR_INTERVAL_NS = 100 * NANOS_PER_MILLI
"""How often, at most, standing limits (daily loss) are re-evaluated on mark changes."""

DAY_ORDER_EXPIRED = "day order expired at the end of the trading day"
"""The reason of the Expired report of a day order still working at the roll."""

_TRADE, _TRADE_CANCEL = ExecType.TRADE, ExecType.TRADE_CANCEL

DayListener = Callable[[date, Mapping[tuple[str, str], DayStart]], None]
"""Told when a trading day begins, with where every position starts it (to keep across a restart)."""


class ExecutionJournal(Protocol):
    """Where orders and execution reports are made durable before they are published."""

    def record_order(self, order: Order) -> None: ...

    def record_execution(self, report: ExecutionReport) -> bool: ...


class Engine:
    """The trading kernel. Also the :class:`core.contracts.RiskView` the risk checks read and the
    :class:`core.contracts.VenueListener` venues report to."""

    def __init__(
        self,
        *,
        instruments: Mapping[str, Instrument],
        scheduler: Scheduler,
        risk: RiskEngine,
        router: Router,
        venues: Mapping[str, Venue],
        journal: ExecutionJournal | None = None,
        bus: MessageBus | None = None,
        portfolio: Portfolio | None = None,
        orders: OrderManager | None = None,
        calendar: TradingCalendar | None = None,
    ) -> None:
        self.instruments = dict(instruments)
        self.scheduler = scheduler
        self.risk = risk
        self.router = router
        self.venues = dict(venues)
        self.journal = journal
        self.bus = bus or MessageBus()
        self.portfolio = portfolio or Portfolio(self.instruments)
        self.orders = orders or OrderManager()
        self._last_book: dict[str, BookUpdate] = {}
        self._reference: dict[str, Price] = {}
        self._monitor_timer: TimerHandle | None = None
        self._exec_ids = itertools.count(1)
        self._session = format(scheduler.now_ns(), "x")
        self._breached: set[tuple[str, str]] = set()
        self._flatten_due: set[str] = set()
        self._flatten_ids = itertools.count(1)
        self.calendar = calendar
        """When the trading day rolls; None: the engine's whole run is one day (a backtest)."""
        self.trading_day: date | None = None if calendar is None else calendar.day_of(scheduler.now_ns())
        self.day_listeners: list[DayListener] = []
        self._roll_timer: TimerHandle | None = None
        self._expiring: set[str] = set()
        self.state = EngineState.STOPPED
        self.submitted_qty = 0
        self.filled_qty = 0
        self.fills = 0

    # --- lifecycle -------------------------------------------------------------------------------------------

    def start(self) -> None:
        """Start every venue; the engine then receives reports and market data."""
        self._status(EngineState.STARTING, "starting")
        for venue in self.venues.values():
            venue.start(self, self.scheduler)
        self._monitor_timer = self.scheduler.call_later(MONITOR_INTERVAL_NS, self._monitor_tick)
        if self.calendar is not None:
            self._roll_timer = self.scheduler.call_at(self.calendar.next_roll_ns(self.scheduler.now_ns()), self._roll)
        self._status(EngineState.RUNNING, f"running with venues {', '.join(self.venues)}")

    def stop(self) -> None:
        """Stop every venue. Working orders stay as the venues last reported them."""
        self._status(EngineState.STOPPING, "stopping")
        for timer in (self._monitor_timer, self._roll_timer):
            if timer is not None:
                timer.cancel()
        self._monitor_timer = self._roll_timer = None
        for venue in self.venues.values():
            venue.stop()
        self._status(EngineState.STOPPED, "stopped")

    def _status(self, state: EngineState, message: str) -> None:
        self.state = state
        self.bus.publish(EngineStatus(ts_ns=self.scheduler.now_ns(), state=state, message=message))

    # --- commands --------------------------------------------------------------------------------------------

    def submit(self, request: SubmitOrder) -> Order | None:
        """Validate, risk-check, route and send a new order. Returns the order, or None for a duplicate id.

        Every refusal is answered with a Rejected execution report (and a risk event) carrying the reason.
        """
        now = self.scheduler.now_ns()
        try:
            order = self.orders.create(request, now)
        except DuplicateOrderId as error:
            self._reject_unknown(request, str(error), now)
            return None
        decision = self.risk.check_order(request, self)  # validates the request first
        if not decision.approved:
            self._reject(order, "; ".join(decision.reasons), "risk", now)
            return order
        try:
            venue_name = self.router.route(request, self.venues)
            venue = self.venues[venue_name]
        except Exception as error:  # noqa: BLE001 - a failing router rejects the order (fail closed)
            self._reject(order, f"router {self.router.name} failed: {type(error).__name__}: {error}", "router", now)
            return order
        self.risk.on_accepted(request, self)
        order.venue = venue_name
        self.submitted_qty += request.quantity
        # Journaled before it leaves: an order a venue holds is never unknown to a restarted engine.
        if self.journal is not None:
            self.journal.record_order(order)
        venue.submit(order)
        return order

    def cancel(self, request: CancelOrder) -> None:
        """Cancel a working order; an unknown or finished one gets a cancel reject with the reason."""
        order = self.orders.by_client_id(request.client_order_id)
        now = self.scheduler.now_ns()
        problem = self._check_changeable(order, request.client_order_id, request.account, in_flight_ok=True)
        if problem is not None or order is None:
            self._cancel_reject(request.client_order_id, order, request.account, problem or "unknown order", now)
            return
        if order.status is OrdStatus.PENDING_CANCEL:
            return
        order.mark_pending(OrdStatus.PENDING_CANCEL, now)
        self.venues[order.venue].cancel(order)

    def replace(self, request: ReplaceOrder) -> None:
        """Change a working order's price and/or total quantity, after the risk checks."""
        order = self.orders.by_client_id(request.client_order_id)
        now = self.scheduler.now_ns()
        problem = self._check_changeable(order, request.client_order_id, request.account)
        if problem is None and order is not None:
            problem = self._check_replace(order, request)
        if problem is not None or order is None:
            self._cancel_reject(request.client_order_id, order, request.account, problem or "unknown order", now, True)
            return
        quantity = request.quantity if request.quantity is not None else order.quantity
        price = request.price if request.price is not None else order.price
        order.mark_pending(OrdStatus.PENDING_REPLACE, now)
        self.venues[order.venue].replace(order, quantity, price)

    def cancel_all(self, request: CancelAll) -> int:
        """Cancel every working order selected by account and instrument; returns how many were asked."""
        count = 0
        selected = self.orders.working(
            account=request.account, instrument=request.instrument, strategy_id=request.strategy_id
        )
        for order in selected:
            if order.status is OrdStatus.PENDING_CANCEL or not order.venue:
                continue
            self.cancel(CancelOrder(client_order_id=order.client_order_id, account=order.account))
            count += 1
        return count

    def kill_switch(self, request: KillSwitch) -> None:
        """Engage (block new orders, cancel every working order) or release the kill switch."""
        now = self.scheduler.now_ns()
        if request.engaged:
            self.risk.engage_kill_switch(request.reason, request.account)
            self.cancel_all(CancelAll(account=request.account))
            kind = RiskEventKind.KILL_SWITCH
        else:
            self.risk.release_kill_switch(request.account)
            kind = RiskEventKind.RELEASE
        self.bus.publish(
            RiskEvent(ts_ns=now, kind=kind, check="kill_switch", reason=request.reason, account=request.account)
        )

    def _check_changeable(
        self, order: Order | None, client_order_id: str, account: str, *, in_flight_ok: bool = False
    ) -> str | None:
        """Why ``order`` cannot be cancelled or replaced now, or None. An order not yet acknowledged can be
        cancelled (the venue sees the cancel after the order) but not replaced."""
        if order is None:
            return f"unknown order {client_order_id}"
        if order.account != account:
            return f"order {client_order_id} belongs to another account"
        if order.is_terminal:
            return f"order {client_order_id} is {order.status.name.lower()}"
        if not order.venue or (order.status is OrdStatus.PENDING_NEW and not in_flight_ok):
            return f"order {client_order_id} is not acknowledged yet"
        return None

    def _check_replace(self, order: Order, request: ReplaceOrder) -> str | None:
        instrument = self.instruments[order.instrument]
        if request.quantity is not None and request.quantity <= order.cum_qty:
            return f"new quantity {request.quantity} is not above the filled {order.cum_qty}"
        if request.quantity is not None and not instrument.is_whole_lots(request.quantity):
            return f"quantity {request.quantity} is not a whole number of lots of {instrument.lot_size}"
        if request.price is not None:
            if order.order_type is OrderType.MARKET:
                return "a market order has no price to replace"
            if request.price <= 0 or not instrument.is_on_tick(request.price):
                return f"price {request.price} is not on the tick grid of {instrument.symbol}"
        decision = self.risk.check_replace(order, request, self)
        return None if decision.approved else "; ".join(decision.reasons)

    # --- engine-made reports ---------------------------------------------------------------------------------

    def _reject(self, order: Order, reason: str, check: str, now: Nanos) -> None:
        report = report_for(
            order,
            exec_id=f"ENG-{self._session}-{next(self._exec_ids)}",
            exec_type=ExecType.REJECTED,
            ord_status=OrdStatus.REJECTED,
            ts_ns=now,
            reason=reason,
        )
        self.on_execution(report)
        self.bus.publish(
            RiskEvent(
                ts_ns=now,
                kind=RiskEventKind.REJECT,
                check=check,
                reason=reason,
                account=order.account,
                instrument=order.instrument,
                client_order_id=order.client_order_id,
            )
        )

    def _reject_unknown(self, request: SubmitOrder, reason: str, now: Nanos) -> None:
        report = ExecutionReport(
            exec_id=f"ENG-{self._session}-{next(self._exec_ids)}",
            order_id="",
            client_order_id=request.client_order_id,
            account=request.account,
            instrument=request.instrument,
            side=request.side,
            order_type=request.order_type,
            exec_type=ExecType.REJECTED,
            ord_status=OrdStatus.REJECTED,
            quantity=request.quantity,
            price=request.price,
            cum_qty=0,
            leaves_qty=0,
            ts_ns=now,
            reason=reason,
            strategy_id=request.strategy_id,
        )
        self.bus.publish(report, topic=request.strategy_id)
        self.bus.publish(
            RiskEvent(
                ts_ns=now,
                kind=RiskEventKind.REJECT,
                check="validation",
                reason=reason,
                account=request.account,
                instrument=request.instrument,
                client_order_id=request.client_order_id,
            )
        )

    def _cancel_reject(
        self, client_order_id: str, order: Order | None, account: str, reason: str, now: Nanos, is_replace: bool = False
    ) -> None:
        self.bus.publish(
            CancelReject(
                client_order_id=client_order_id,
                order_id=order.order_id if order is not None else "",
                account=account,
                ts_ns=now,
                reason=reason,
                is_replace=is_replace,
            ),
            topic=order.strategy_id if order is not None else None,
        )

    # --- venue listener --------------------------------------------------------------------------------------

    def on_execution(self, report: ExecutionReport) -> None:
        """Journal a venue's report, apply it (state machine), book fills and busts, then publish.

        A report whose exec id is already journaled is a duplicate and is dropped. A report the state machine
        refuses is kept in the journal (it is what the venue said; recovery refuses it the same way) but changes
        nothing and is not published. A trade cancel (a bust) takes its fill out of the order and the position,
        and is published like a fill: to the order's strategy, with the position after it.
        """
        if self._expiring and report.order_id in self._expiring:
            report = self._as_expiry(report)
        if self.journal is not None and not self.journal.record_execution(report):
            log.warning("duplicate execution report %s dropped", report.exec_id)
            return
        try:
            self.orders.apply(report)
        except (KeyError, ValueError) as error:
            log.error("refused execution report %s: %s", report.exec_id, error)
            self._status(self.state, f"refused execution report {report.exec_id}: {error}")
            return
        exec_type = report.exec_type
        if exec_type is _TRADE or exec_type is _TRADE_CANCEL:
            self._book(report)
        self.bus.publish(report, topic=report.strategy_id)

    def on_cancel_reject(self, reject: CancelReject) -> None:
        """A venue refused a cancel or replace: the order returns to where it was, unless it has moved on."""
        order = self.orders.get(reject.order_id)
        self._expiring.discard(reject.order_id)
        if order is not None and order.status in (OrdStatus.PENDING_CANCEL, OrdStatus.PENDING_REPLACE):
            order.restore_after_reject(reject.ts_ns, reject.reason)
        self.bus.publish(reject, topic=order.strategy_id if order is not None else None)

    def on_market_data(self, event: BookUpdate | TradeTick | OrderBookAction) -> None:
        """Record the latest book, reference price and mark, then publish to the instrument's subscribers."""
        symbol = event.instrument
        if type(event) is BookUpdate:
            self._last_book[symbol] = event
            bid, ask = event.best_bid, event.best_ask
            if bid is not None and ask is not None:
                mid = (bid + ask) // 2
                self._reference[symbol] = mid
                self.portfolio.set_mark(symbol, mid)
                if self.portfolio.resolved_starts:
                    self._starts_resolved()
        elif type(event) is TradeTick and self._last_book.get(symbol) is None:
            self._reference[symbol] = event.price
        self.bus.publish(event, topic=symbol)

    def wants(self, event_type: type) -> bool:
        return self.bus.wants(event_type)

    def _book(self, report: ExecutionReport) -> None:
        """Book a fill, or take a busted one out (the order had it, so the position has it too), then publish the
        position and check the account's standing limits. ``fills`` and ``filled_qty`` count the fills received:
        a busted one stays counted."""
        position = self.portfolio.book(report)
        assert position is not None, "the order took the report, so the position books it"
        if report.exec_type is _TRADE:
            self.filled_qty += report.last_qty
            self.fills += 1
        if self.bus.wants(PositionUpdate):
            self.bus.publish(self.position_update(position, report.ts_ns), topic=position.account)
        self._monitor(position.account)

    def position_update(self, position: Position, now: Nanos) -> PositionUpdate:
        """The update that reports ``position`` as it stands at ``now`` (marked, with its start of the day)."""
        symbol = position.instrument.symbol
        start = self.portfolio.day_start(position.account, symbol)
        return PositionUpdate(
            account=position.account,
            instrument=symbol,
            ts_ns=now,
            quantity=position.quantity,
            cost=position.cost,
            realized=position.realized,
            unrealized=position.unrealized(self.portfolio.mark(symbol)),
            fees=position.fees,
            start_realized=start.realized,
            start_fees=start.fees,
            start_unrealized=start.unrealized,
        )

    # --- the trading day -------------------------------------------------------------------------------------

    def _roll(self) -> None:
        """The trading day ends: the next begins (day P&L and daily limits from zero) and day orders expire."""
        assert self.calendar is not None
        now = self.scheduler.now_ns()
        self._roll_timer = self.scheduler.call_at(self.calendar.next_roll_ns(now), self._roll)
        self.start_day(self.calendar.day_of(now))
        expiring = [
            order
            for order in self.orders.working()
            if order.time_in_force is TimeInForce.DAY and order.venue and order.status is not OrdStatus.PENDING_CANCEL
        ]
        for order in expiring:
            # The venue's Canceled report is journaled and published as the order's Expired report.
            self._expiring.add(order.order_id)
            self.cancel(CancelOrder(client_order_id=order.client_order_id, account=order.account, ts_ns=now))
        self._status(self.state, f"trading day {self.trading_day} began; {len(expiring)} day orders expire")

    def next_roll_ns(self) -> Nanos | None:
        """When the trading day in progress rolls (None without a calendar)."""
        return None if self.calendar is None else self.calendar.next_roll_ns(self.scheduler.now_ns())

    def start_day(self, day: date, starts: Mapping[tuple[str, str], DayStart] | None = None) -> None:
        """Begin trading day ``day``: the day's P&L counts from where the positions stand now (or from
        ``starts``, kept from when the day began before a restart), and every daily limit starts again.
        Tells :attr:`day_listeners` where the positions start it. Day orders are not touched (the roll expires
        them)."""
        self.trading_day = day
        kept = self.portfolio.start_day(starts)
        self.risk.start_day()
        self._breached.clear()
        if self.bus.wants(PositionUpdate):
            now = self.scheduler.now_ns()
            for position in list(self.portfolio.positions()):
                self.bus.publish(self.position_update(position, now), topic=position.account)
        self._tell_day_listeners(day, kept)

    def _tell_day_listeners(self, day: date, starts: Mapping[tuple[str, str], DayStart]) -> None:
        for listener in self.day_listeners:
            try:
                listener(day, starts)
            except Exception:
                log.exception("a listener of the trading day %s failed", day)

    def _starts_resolved(self) -> None:
        """Positions carried into the day without a mark got their first: their start is known now. Report
        them, and tell the day listeners (to keep the start across a restart)."""
        resolved, self.portfolio.resolved_starts = self.portfolio.resolved_starts, []
        now = self.scheduler.now_ns()
        if self.bus.wants(PositionUpdate):
            for account, symbol in resolved:
                self.bus.publish(self.position_update(self.portfolio.position(account, symbol), now), topic=account)
        if self.trading_day is not None:
            self._tell_day_listeners(self.trading_day, self.portfolio.day_starts())

    def _as_expiry(self, report: ExecutionReport) -> ExecutionReport:
        """The report of an order the roll is expiring: its cancel as an expiry."""
        if report.ord_status in (OrdStatus.CANCELED, OrdStatus.EXPIRED):
            self._expiring.discard(report.order_id)
            return dataclasses.replace(
                report, exec_type=ExecType.EXPIRED, ord_status=OrdStatus.EXPIRED, reason=DAY_ORDER_EXPIRED
            )
        if report.ord_status in (OrdStatus.FILLED, OrdStatus.REJECTED):
            self._expiring.discard(report.order_id)
        return report

    # --- standing limits -------------------------------------------------------------------------------------

    def _monitor_tick(self) -> None:
        """Re-evaluate standing limits (the daily loss) against the latest marks, every monitor interval."""
        self._monitor_timer = self.scheduler.call_later(MONITOR_INTERVAL_NS, self._monitor_tick)
        for account in {position.account for position in self.portfolio.positions()}:
            self._monitor(account)

    def _monitor(self, account: str) -> None:
        for check, breach in self.risk.monitor(account, self):
            key = (account, check)
            if key not in self._breached:
                self._breached.add(key)
                now = self.scheduler.now_ns()
                self.bus.publish(
                    RiskEvent(ts_ns=now, kind=RiskEventKind.BREACH, check=check, reason=breach.reason, account=account)
                )
            if breach.flatten and account not in self._flatten_due:
                # After the reports being delivered now (one aggressive order may fill in several), and again on
                # later checks for as long as the breach stands and something is left open.
                self._flatten_due.add(account)
                reason = f"{check}: {breach.reason}"
                self.scheduler.call_later(0, functools.partial(self._flatten_if_open, account, reason))

    def _flatten_if_open(self, account: str, reason: str) -> None:
        self._flatten_due.discard(account)
        if not any(order.strategy_id == FLATTEN_STRATEGY for order in self.orders.working_of_account(account)):
            self.flatten(account, reason=reason)

    def flatten(self, account: str, *, reason: str) -> None:
        """Cancel the account's working orders and close its positions with market orders.

        The closing orders skip the configurable risk checks (they only reduce exposure) but not validation.
        """
        self.cancel_all(CancelAll(account=account))
        now = self.scheduler.now_ns()
        for position in list(self.portfolio.positions(account)):
            if position.quantity == 0:
                continue
            request = SubmitOrder(
                client_order_id=f"FLAT-{account}-{now}-{next(self._flatten_ids)}",
                account=account,
                instrument=position.instrument.symbol,
                side=Side.SELL if position.quantity > 0 else Side.BUY,
                quantity=abs(position.quantity),
                order_type=OrderType.MARKET,
                time_in_force=TimeInForce.IOC,
                strategy_id=FLATTEN_STRATEGY,
                ts_ns=now,
            )
            order = self.orders.create(request, now)
            problem = validate_request(request, self)
            if problem is not None:
                self._reject(order, problem, "validation", now)
                continue
            order.venue = self.router.route(request, self.venues)
            if self.journal is not None:
                self.journal.record_order(order)
            self.venues[order.venue].submit(order)
            log.warning("flattening %s %s: %s", account, position.instrument.symbol, reason)

    # --- risk view -------------------------------------------------------------------------------------------

    def now_ns(self) -> Nanos:
        return self.scheduler.now_ns()

    def instrument(self, symbol: str) -> Instrument | None:
        return self.instruments.get(symbol)

    def reference_price(self, symbol: str) -> Price | None:
        return self._reference.get(symbol)

    def last_book(self, symbol: str) -> BookUpdate | None:
        """The latest book update of ``symbol``, or None before the first."""
        return self._last_book.get(symbol)

    def position(self, account: str, symbol: str) -> Position:
        return self.portfolio.position(account, symbol)

    def pnl(self, account: str) -> PnL:
        """The account's P&L since the start of the trading day."""
        return self.portfolio.day_pnl(account)

    def gross_exposure(self, account: str) -> Money:
        return self.portfolio.gross_exposure(account)

    def working_orders(self, account: str) -> Iterable[Order]:
        return self.orders.working_of_account(account)
