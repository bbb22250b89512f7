"""The desktop's state: everything the panels draw, kept current from the engine client's event stream.

One :class:`DesktopState` per window. It applies each event as it arrives (cheap bookkeeping only); the panels
read it on their frame timer. It knows nothing of Qt, so it is tested and benchmarked on its own.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping, Sequence
from typing import Any

from core.enums import ExecType, OrdStatus
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
from core.instruments import Instrument
from core.numbers import Nanos
from engine.client.protocol import (
    ClientEvent,
    ConnectionEvent,
    ConnectionState,
    EngineClient,
    RiskLimitsChanged,
    SessionInfo,
    StrategyState,
)
from workstation.state.audit import AuditLog, Severity
from workstation.state.market import InstrumentMarket
from workstation.state.orders import ExecutionTable, OrderTable
from workstation.state.positions import PositionBook

_RISK_SEVERITY = {
    RiskEventKind.REJECT: Severity.WARNING,
    RiskEventKind.BREACH: Severity.ERROR,
    RiskEventKind.KILL_SWITCH: Severity.ERROR,
    RiskEventKind.RELEASE: Severity.INFO,
    RiskEventKind.LIMITS: Severity.WARNING,
}


class DesktopState:
    """Markets, orders, executions, positions, strategies, the audit log and the connection, for one session."""

    def __init__(self, info: SessionInfo) -> None:
        self.info = info
        self.instruments: dict[str, Instrument] = {instrument.symbol: instrument for instrument in info.instruments}
        self.symbols: tuple[str, ...] = tuple(self.instruments)
        self.markets = {symbol: InstrumentMarket(instrument) for symbol, instrument in self.instruments.items()}
        self.orders = OrderTable()
        self.executions = ExecutionTable()
        self.positions = PositionBook(self.instruments, self._mark)
        self.audit = AuditLog()
        self.strategies: dict[str, StrategyState] = {}
        self.plugins: list[Mapping[str, Any]] = []
        self.connection = ConnectionState.CONNECTED
        self.connection_message = ""
        self.kill_switches: set[str | None] = set(info.kill_switches)
        """The engaged kill switches this session sees: None for the global one, else the account."""
        self.events = 0
        self.last_rejects: dict[str, str] = {}
        """Client order id -> reason of the latest reject (orders and cancels), for panels to flash."""

    def _mark(self, symbol: str) -> int | None:
        market = self.markets.get(symbol)
        return None if market is None else market.mid()

    @property
    def accounts(self) -> tuple[str, ...]:
        return self.info.accounts

    @staticmethod
    def now_ns() -> Nanos:
        return time.time_ns()

    # --- loading -------------------------------------------------------------------------------------------------

    async def load(self, client: EngineClient) -> None:
        """Take the engine's snapshots (books, orders, fills, positions, strategies, plugins)."""
        for symbol in self.symbols:
            self.markets[symbol].on_book(await client.book_snapshot(symbol), snapshot=True)
        for report in await client.orders():
            self.orders.apply(report)
        for report in await client.executions():
            if self.executions.apply(report):
                self.orders.add_fill_cost(report)
        for position in await client.positions():
            self.positions.apply(position)
        for strategy in await client.strategies():
            self.strategies[strategy.strategy_id] = strategy
        self.plugins = list(await client.plugins())
        for plugin in self.plugins:
            if plugin.get("status") == "failed":
                self.audit.add(self.now_ns(), Severity.ERROR, "plugin", f"{plugin['name']} failed: {plugin['reason']}")

    # --- events ----------------------------------------------------------------------------------------------------

    def on_event(self, event: ClientEvent) -> None:
        """Apply one event from the client's stream."""
        self.events += 1
        if isinstance(event, BookUpdate):
            market = self.markets.get(event.instrument)
            if market is not None:
                market.on_book(event)
        elif isinstance(event, TradeTick):
            market = self.markets.get(event.instrument)
            if market is not None:
                market.on_trade(event)
        elif isinstance(event, ExecutionReport):
            self._on_execution(event)
        elif isinstance(event, PositionUpdate):
            self.positions.apply(event)
        elif isinstance(event, CancelReject):
            self._on_cancel_reject(event)
        elif isinstance(event, RiskEvent):
            self._on_risk(event)
        elif isinstance(event, EngineStatus):
            self.audit.add(event.ts_ns, Severity.INFO, "engine", f"{event.state.value}: {event.message}")
        elif isinstance(event, StrategyState | RiskLimitsChanged | ConnectionEvent):
            self._on_session(event)

    def _on_session(self, event: StrategyState | RiskLimitsChanged | ConnectionEvent) -> None:
        """Strategy changes, live risk limit changes and the connection."""
        if isinstance(event, StrategyState):
            self.strategies[event.strategy_id] = event
            verb = "running" if event.running else f"stopped{f' ({event.error})' if event.error else ''}"
            self.audit.add(self.now_ns(), Severity.INFO, "strategy", f"{event.strategy_id} {verb}")
        elif isinstance(event, RiskLimitsChanged):
            # The audit line comes with the RiskEvent that follows; this keeps what the panels read current.
            risk_limits = {**self.info.risk_limits, event.account: event.limits}
            self.info = dataclasses.replace(self.info, risk_limits=risk_limits)
        else:
            self.connection = event.state
            self.connection_message = event.message
            severity = Severity.INFO if event.state is ConnectionState.CONNECTED else Severity.WARNING
            self.audit.add(event.ts_ns, severity, "connection", f"{event.state.value} {event.message}".strip())

    def _on_execution(self, report: ExecutionReport) -> None:
        # A fill counts once in its order's average price, even if the load's snapshot already had it, and a bust
        # takes it out once.
        self.orders.apply(report, new_fill=self.executions.apply(report))
        if report.exec_type is ExecType.TRADE_CANCEL:
            self.audit.add(
                report.ts_ns, Severity.WARNING, "order",
                f"{report.client_order_id} {report.side.name.lower()} {report.last_qty} {report.instrument}: fill "
                f"{report.ref_exec_id} busted{f' ({report.reason})' if report.reason else ''}",
            )  # fmt: skip
        elif report.ord_status is OrdStatus.REJECTED and report.exec_type is not ExecType.TRADE:
            self.last_rejects[report.client_order_id] = report.reason
            self.audit.add(
                report.ts_ns, Severity.WARNING, "order",
                f"{report.client_order_id} {report.side.name.lower()} {report.quantity} {report.instrument} "
                f"rejected: {report.reason}",
            )  # fmt: skip

    def _on_cancel_reject(self, reject: CancelReject) -> None:
        row = self.orders.row_of(reject.client_order_id)
        if row is not None and self.orders.status(row) in (OrdStatus.PENDING_CANCEL, OrdStatus.PENDING_REPLACE):
            working = OrdStatus.PARTIALLY_FILLED if self.orders.columns.get(row, "cum_qty") else OrdStatus.NEW
            self.orders.mark(reject.client_order_id, working)  # refused: the order is as it was
        self.last_rejects[reject.client_order_id] = reject.reason
        what = "replace" if reject.is_replace else "cancel"
        self.audit.add(
            reject.ts_ns, Severity.WARNING, "order", f"{what} {reject.client_order_id} refused: {reject.reason}"
        )

    @property
    def kill_switch_engaged(self) -> bool:
        """True while the global kill switch or any account's own is engaged."""
        return bool(self.kill_switches)

    def _on_risk(self, event: RiskEvent) -> None:
        if event.kind is RiskEventKind.KILL_SWITCH:
            self.kill_switches.add(event.account)
        elif event.kind is RiskEventKind.RELEASE:
            self.kill_switches.discard(event.account)
        scope = f" [{event.account}]" if event.account else ""
        order = f" {event.client_order_id}" if event.client_order_id else ""
        self.audit.add(
            event.ts_ns, _RISK_SEVERITY[event.kind], "risk",
            f"{event.kind.value}{scope} {event.check}{order}: {event.reason}",
        )  # fmt: skip

    # --- reading ---------------------------------------------------------------------------------------------------

    def market(self, symbol: str) -> InstrumentMarket:
        return self.markets[symbol]

    def risk_limit(self, account: str, check: str, parameter: str) -> Any:
        """A live risk parameter of ``account`` (None when the check is not enabled or the parameter not given)."""
        return self.info.risk_limits.get(account, {}).get(check, {}).get(parameter)

    def strategy_list(self) -> Sequence[StrategyState]:
        return list(self.strategies.values())
