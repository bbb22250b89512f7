"""Runs one strategy instance inside the engine: its context, its subscriptions, its timer, its guard.

A strategy callback that raises stops that strategy (its working orders are cancelled and the reason is
published); the engine and the other strategies go on.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable, Mapping
from typing import Any

from core.clock import TimerHandle
from core.commands import CancelAll, CancelOrder, ReplaceOrder, SubmitOrder
from core.contracts import Strategy, StrategySpec, TopOfBook
from core.enums import OrderType, Side, TimeInForce
from core.events import BookUpdate, CancelReject, EngineStatus, ExecutionReport, RiskEvent, RiskEventKind, TradeTick
from core.instruments import Instrument
from core.numbers import Nanos, Price, Quantity
from core.orders import Order
from core.params import ParamValue, resolve_params
from core.portfolio import Position
from engine.engine import Engine

log = logging.getLogger(__name__)


def _overrides(strategy: Strategy, name: str) -> bool:
    return getattr(type(strategy), name) is not getattr(Strategy, name)


class StrategyHost:
    """The :class:`core.contracts.StrategyContext` of one running strategy."""

    def __init__(
        self,
        engine: Engine,
        spec: StrategySpec,
        *,
        strategy_id: str,
        account: str,
        instruments: tuple[str, ...],
        params: Mapping[str, Any],
        order_id_prefix: str | None = None,
    ) -> None:
        count = len(instruments)
        if count < spec.min_instruments or (spec.max_instruments is not None and count > spec.max_instruments):
            most = spec.max_instruments if spec.max_instruments is not None else "any number of"
            raise ValueError(f"strategy {spec.name} trades {spec.min_instruments} to {most} instruments, got {count}")
        unknown = [symbol for symbol in instruments if symbol not in engine.instruments]
        if unknown:
            raise ValueError(f"strategy {spec.name}: unknown instrument(s) {', '.join(unknown)}")
        self._engine = engine
        self.spec = spec
        self._strategy_id = strategy_id
        self._account = account
        self._instruments = tuple(engine.instruments[symbol] for symbol in instruments)
        self.resolved_params: dict[str, ParamValue] = resolve_params(spec.params, params, owner=spec.name)
        self._id_prefix = order_id_prefix or strategy_id
        self._ids = itertools.count(1)
        self._timer: TimerHandle | None = None
        self._unsubscribe: list[Callable[[], None]] = []
        self.running = False
        self.error: str | None = None
        self.strategy: Strategy = spec.factory(self, self.resolved_params)

    # --- lifecycle -------------------------------------------------------------------------------------------

    def start(self) -> None:
        """Subscribe the callbacks the strategy overrides, then call ``on_start``."""
        bus = self._engine.bus
        strategy = self.strategy
        for instrument in self._instruments:
            if _overrides(strategy, "on_book"):
                self._unsubscribe.append(
                    bus.subscribe(BookUpdate, self._guard(strategy.on_book), topic=instrument.symbol)
                )
            if _overrides(strategy, "on_trade"):
                self._unsubscribe.append(
                    bus.subscribe(TradeTick, self._guard(strategy.on_trade), topic=instrument.symbol)
                )
        if _overrides(strategy, "on_execution"):
            self._unsubscribe.append(
                bus.subscribe(ExecutionReport, self._guard(strategy.on_execution), topic=self._strategy_id)
            )
        if _overrides(strategy, "on_cancel_reject"):
            self._unsubscribe.append(
                bus.subscribe(CancelReject, self._guard(strategy.on_cancel_reject), topic=self._strategy_id)
            )
        self.running = True
        self._guard(lambda _: strategy.on_start())(None)

    def stop(self, reason: str = "stopped") -> None:
        """Call ``on_stop``, cancel the strategy's working orders and drop its subscriptions and timer."""
        if not self.running:
            return
        self.running = False
        try:
            self.strategy.on_stop()
        except Exception as error:  # noqa: BLE001 - a failing on_stop must not keep orders working
            log.error("strategy %s failed in on_stop: %r", self._strategy_id, error)
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe.clear()
        self.cancel_timer()
        self.cancel_all()
        self._engine.bus.publish(
            EngineStatus(
                ts_ns=self.now_ns(), state=self._engine.state, message=f"strategy {self._strategy_id} {reason}"
            )
        )

    def _guard(self, callback: Callable[[Any], None]) -> Callable[[Any], None]:
        def guarded(event: Any) -> None:
            if not self.running:
                return
            try:
                callback(event)
            except Exception as error:  # noqa: BLE001 - isolate the strategy, stop it, report why
                self._fail(error)

        return guarded

    def _fail(self, error: Exception) -> None:
        self.error = f"{type(error).__name__}: {error}"
        log.error("strategy %s raised %s; stopping it", self._strategy_id, self.error, exc_info=error)
        self._engine.bus.publish(
            RiskEvent(
                ts_ns=self.now_ns(),
                kind=RiskEventKind.BREACH,
                check=f"strategy:{self._strategy_id}",
                reason=f"strategy raised {self.error}; stopped and its orders cancelled",
                account=self._account,
            )
        )
        self.stop(f"stopped after an error: {self.error}")

    # --- StrategyContext -------------------------------------------------------------------------------------

    @property
    def strategy_id(self) -> str:
        return self._strategy_id

    @property
    def account(self) -> str:
        return self._account

    @property
    def instruments(self) -> tuple[Instrument, ...]:
        return self._instruments

    def now_ns(self) -> Nanos:
        return self._engine.scheduler.now_ns()

    def submit(
        self,
        instrument: str,
        side: Side,
        quantity: Quantity,
        price: Price | None = None,
        *,
        order_type: OrderType = OrderType.LIMIT,
        time_in_force: TimeInForce = TimeInForce.DAY,
    ) -> str:
        client_order_id = f"{self._id_prefix}-{next(self._ids)}"
        self._engine.submit(
            SubmitOrder(
                client_order_id=client_order_id,
                account=self._account,
                instrument=instrument,
                side=side,
                quantity=quantity,
                order_type=order_type,
                price=price,
                time_in_force=time_in_force,
                strategy_id=self._strategy_id,
                ts_ns=self._engine.scheduler.now_ns(),
            )
        )
        return client_order_id

    def cancel(self, client_order_id: str) -> None:
        self._engine.cancel(CancelOrder(client_order_id=client_order_id, account=self._account, ts_ns=self.now_ns()))

    def replace(self, client_order_id: str, *, quantity: Quantity | None = None, price: Price | None = None) -> None:
        self._engine.replace(
            ReplaceOrder(
                client_order_id=client_order_id,
                account=self._account,
                quantity=quantity,
                price=price,
                ts_ns=self.now_ns(),
            )
        )

    def cancel_all(self, instrument: str | None = None) -> None:
        self._engine.cancel_all(
            CancelAll(account=self._account, instrument=instrument, strategy_id=self._strategy_id, ts_ns=self.now_ns())
        )

    def top(self, instrument: str) -> TopOfBook | None:
        book = self._engine.last_book(instrument)
        if book is None:
            return None
        return TopOfBook(book.best_bid, book.best_bid_qty, book.best_ask, book.best_ask_qty, book.ts_ns)

    def position(self, instrument: str) -> Position:
        return self._engine.position(self._account, instrument)

    def open_orders(self, instrument: str | None = None) -> list[Order]:
        return list(self._engine.orders.working(strategy_id=self._strategy_id, instrument=instrument))

    def set_timer(self, interval_ns: Nanos) -> None:
        if interval_ns <= 0:
            raise ValueError("timer interval must be positive")
        if self._timer is not None:
            self._timer.cancel()
        scheduler = self._engine.scheduler
        on_timer = self._guard(self.strategy.on_timer)

        def fire() -> None:
            if not self.running:
                return
            self._timer = scheduler.call_later(interval_ns, fire)
            on_timer(scheduler.now_ns())

        self._timer = scheduler.call_later(interval_ns, fire)

    def cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def log(self, message: str) -> None:
        log.info("[%s] %s", self._strategy_id, message)
