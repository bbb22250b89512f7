"""The engine client for an engine running in the caller's own process and event loop."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from core.commands import CancelAll, CancelOrder, KillSwitch, ReplaceOrder, SubmitOrder
from core.enums import FILL_EXEC_TYPES, ExecType
from core.events import (
    BookUpdate,
    CancelReject,
    EngineStatus,
    ExecutionReport,
    PositionUpdate,
    RiskEvent,
    RiskEventKind,
    TradeTick,
)
from core.numbers import Nanos
from core.orders import report_for
from engine.client.protocol import (
    ClientEvent,
    ConnectionEvent,
    ConnectionState,
    EventHandler,
    RiskLimitsChanged,
    SessionInfo,
    StrategyInfo,
    StrategyState,
    TradingDay,
)
from engine.client.risk_limits import apply_risk_limits
from engine.plugins import plugins_as_json
from engine.runtime import LiveRuntime

STREAMED_EVENTS = (BookUpdate, TradeTick, ExecutionReport, CancelReject, PositionUpdate, EngineStatus)
"""The engine events a client receives as they are (order-level book actions stay inside the engine); risk events
are received too, a change of limits preceded by a :class:`RiskLimitsChanged`."""


class EmbeddedClient:
    """An :class:`engine.client.protocol.EngineClient` over a :class:`LiveRuntime` in this process.

    Commands run synchronously on the engine when awaited; events are delivered to subscribers as the engine
    publishes them, on the loop's thread. ``user`` only names the session: an embedded engine trusts its host.
    ``info.risk_limits`` are the engine's live limits, whoever changes them (this client or a FIX session of the
    same engine).
    """

    def __init__(self, runtime: LiveRuntime, *, user: str = "local") -> None:
        self.runtime = runtime
        self._user = user
        self._handlers: list[EventHandler] = []
        self._unsubscribe: list[Callable[[], None]] = []
        self._info: SessionInfo | None = None
        self._id_prefix = f"DSK-{time.time_ns() // 1_000_000}"
        self._next_id = 0

    @property
    def info(self) -> SessionInfo:
        if self._info is None:
            raise RuntimeError("the client is not connected")
        return self._info

    async def connect(self) -> SessionInfo:
        runtime = self.runtime
        if runtime.journal is None:
            runtime.open()
        bus = runtime.engine.bus
        for event_type in STREAMED_EVENTS:
            self._unsubscribe.append(bus.subscribe(event_type, self._forward))
        self._unsubscribe.append(bus.subscribe(RiskEvent, self._on_risk_event))
        runtime.start()
        engine = runtime.engine
        self._info = SessionInfo(
            user=self._user,
            endpoint="embedded",
            instruments=tuple(engine.instruments.values()),
            accounts=engine.risk.accounts,
            strategies=tuple(
                StrategyInfo(
                    name=spec.name,
                    description=spec.description,
                    params=spec.params,
                    min_instruments=spec.min_instruments,
                    max_instruments=spec.max_instruments,
                )
                for spec in runtime.registry.strategies.values()
            ),
            risk_limits={account: engine.risk.limits(account) for account in engine.risk.accounts},
            kill_switches=engine.risk.engaged_kill_switches(),
            trading_day=self._trading_day(),
        )
        engine.day_listeners.append(self._on_day)
        self._dispatch(ConnectionEvent(ts_ns=runtime.scheduler.now_ns(), state=ConnectionState.CONNECTED))
        return self._info

    async def close(self) -> None:
        if self._info is None:
            return
        self.runtime.stop()
        if self._on_day in self.runtime.engine.day_listeners:
            self.runtime.engine.day_listeners.remove(self._on_day)
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe.clear()
        self._dispatch(ConnectionEvent(ts_ns=self.runtime.scheduler.now_ns(), state=ConnectionState.DISCONNECTED))
        self._info = None

    def _trading_day(self) -> TradingDay | None:
        engine = self.runtime.engine
        if engine.trading_day is None:
            return None
        return TradingDay(day=engine.trading_day, rolls_at_ns=engine.next_roll_ns())

    def _on_day(self, _day: object, _starts: object) -> None:
        if self._info is not None:
            self._info = dataclasses.replace(self._info, trading_day=self._trading_day())

    def subscribe(self, handler: EventHandler) -> Callable[[], None]:
        self._handlers.append(handler)

        def unsubscribe() -> None:
            if handler in self._handlers:
                self._handlers.remove(handler)

        return unsubscribe

    def _forward(self, event: object) -> None:
        self._dispatch(event)  # type: ignore[arg-type]  # only STREAMED_EVENTS are subscribed

    def _on_risk_event(self, event: RiskEvent) -> None:
        """A change of limits updates ``info`` and is told as a :class:`RiskLimitsChanged` before the event; a
        kill switch engaged or released updates ``info`` too."""
        if event.kind in (RiskEventKind.KILL_SWITCH, RiskEventKind.RELEASE) and self._info is not None:
            engaged = self.runtime.engine.risk.engaged_kill_switches()
            self._info = dataclasses.replace(self._info, kill_switches=engaged)
        if event.kind is RiskEventKind.LIMITS and event.account is not None and self._info is not None:
            limits = self.runtime.engine.risk.limits(event.account)
            risk_limits = {**self._info.risk_limits, event.account: limits}
            self._info = dataclasses.replace(self._info, risk_limits=risk_limits)
            self._dispatch(RiskLimitsChanged(ts_ns=event.ts_ns, account=event.account, limits=limits))
        self._dispatch(event)

    def _dispatch(self, event: ClientEvent) -> None:
        for handler in self._handlers:
            handler(event)

    def new_order_id(self) -> str:
        self._next_id += 1
        return f"{self._id_prefix}-{self._next_id}"

    # --- commands --------------------------------------------------------------------------------------------

    def _now(self) -> Nanos:
        return self.runtime.scheduler.now_ns()

    async def submit(self, request: SubmitOrder) -> None:
        self.runtime.engine.submit(request._replace(ts_ns=request.ts_ns or self._now()))

    async def cancel(self, request: CancelOrder) -> None:
        self.runtime.engine.cancel(request)

    async def replace(self, request: ReplaceOrder) -> None:
        self.runtime.engine.replace(request)

    async def cancel_all(self, request: CancelAll) -> int:
        return self.runtime.engine.cancel_all(request)

    async def kill_switch(self, request: KillSwitch) -> None:
        self.runtime.engine.kill_switch(request)

    async def flatten(self, account: str, reason: str) -> None:
        self.runtime.engine.flatten(account, reason=reason)

    async def ping(self) -> Nanos:
        """One trip through the event loop and back: what a command waits before the engine runs it."""
        loop = asyncio.get_running_loop()
        started = time.perf_counter_ns()
        done: asyncio.Future[None] = loop.create_future()
        loop.call_soon(done.set_result, None)
        await done
        return time.perf_counter_ns() - started

    # --- snapshots -------------------------------------------------------------------------------------------

    async def orders(self) -> Sequence[ExecutionReport]:
        """Each order's state, stamped with its creation time."""
        return [
            report_for(
                order, exec_id="", exec_type=ExecType.ORDER_STATUS, ord_status=order.status, ts_ns=order.created_ns
            )
            for order in self.runtime.engine.orders
        ]

    async def executions(self) -> Sequence[ExecutionReport]:
        journal = self.runtime.journal
        if journal is None:
            return []
        return [
            item for item in journal.replay() if isinstance(item, ExecutionReport) and item.exec_type in FILL_EXEC_TYPES
        ]

    async def positions(self) -> Sequence[PositionUpdate]:
        engine = self.runtime.engine
        now = self._now()
        return [engine.position_update(position, now) for position in engine.portfolio.positions()]

    async def book_snapshot(self, symbol: str) -> BookUpdate:
        return self.runtime.market.snapshot(symbol)

    async def strategies(self) -> Sequence[StrategyState]:
        return self.runtime.strategy_states()

    async def start_strategy(
        self,
        strategy: str,
        *,
        account: str,
        instruments: Sequence[str],
        params: Mapping[str, Any],
        strategy_id: str | None = None,
    ) -> StrategyState:
        state = self.runtime.start_strategy(
            strategy, account=account, instruments=instruments, params=params, strategy_id=strategy_id
        )
        self._dispatch(state)
        return state

    async def stop_strategy(self, strategy_id: str) -> StrategyState:
        state = self.runtime.stop_strategy(strategy_id)
        self._dispatch(state)
        return state

    async def plugins(self) -> Sequence[Mapping[str, Any]]:
        return plugins_as_json(self.runtime.registry)

    async def set_risk_limits(
        self, account: str, changes: Mapping[str, Mapping[str, Any]]
    ) -> Mapping[str, Mapping[str, Any]]:
        """Change ``account``'s limits on the engine (``RiskConfigError``, a ``ValueError``, names a problem)."""
        return apply_risk_limits(self.runtime.engine, account, changes, by=self._user)
