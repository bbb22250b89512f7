"""The engine client contract: async commands in, one event stream out.

A front end holds one :class:`EngineClient` and cannot tell whether the engine runs in its own process
(:class:`engine.client.embedded.EmbeddedClient`) or on a co-located server reached over FIX. Everything a panel
shows comes from the event stream and the snapshots; everything it does goes through the commands. Prices are
integer ticks, times integer nanoseconds, as everywhere else.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Any, Protocol

from core.commands import CancelAll, CancelOrder, KillSwitch, ReplaceOrder, SubmitOrder
from core.events import BookUpdate, Event, ExecutionReport, PositionUpdate
from core.instruments import Instrument
from core.numbers import Money, Nanos
from core.params import Param, ParamValue


class ConnectionState(StrEnum):
    CONNECTING = "connecting"
    CONNECTED = "connected"
    DISCONNECTED = "disconnected"


@dataclass(frozen=True, slots=True, kw_only=True)
class ConnectionEvent:
    """The client's link to the engine changed (always ``CONNECTED`` for an embedded engine once started)."""

    ts_ns: Nanos
    state: ConnectionState
    message: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class StrategyInfo:
    """A strategy the engine can run: its name, what it does, its declared parameters, its instrument count."""

    name: str
    description: str = ""
    params: tuple[Param, ...] = ()
    min_instruments: int = 1
    max_instruments: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class StrategyState:
    """One strategy instance: what it runs, whether it runs, why it stopped, and its own P&L so far."""

    strategy_id: str
    strategy: str
    account: str
    instruments: tuple[str, ...]
    params: Mapping[str, ParamValue]
    running: bool
    error: str | None = None
    realized: Money = 0
    unrealized: Money = 0
    fees: Money = 0
    ts_ns: Nanos = 0

    @property
    def net(self) -> Money:
        return self.realized + self.unrealized - self.fees


@dataclass(frozen=True, slots=True, kw_only=True)
class TradingDay:
    """The engine's trading day: the date its business belongs to, and when the day rolls into the next."""

    day: date
    rolls_at_ns: Nanos | None = None
    """The next roll (epoch nanoseconds); None when the engine did not say."""


@dataclass(frozen=True, slots=True, kw_only=True)
class SessionInfo:
    """What the engine told the client when it connected: who, where, what may be traded and run."""

    user: str
    endpoint: str
    instruments: tuple[Instrument, ...]
    accounts: tuple[str, ...]
    read_only: bool = False
    strategies: tuple[StrategyInfo, ...] = ()
    risk_limits: Mapping[str, Mapping[str, Mapping[str, Any]]] = field(default_factory=dict)
    """Per account, each enabled risk check and its parameters (money limits as decimal strings); the live
    limits, kept current by the client as they change (each change is also a :class:`RiskLimitsChanged`)."""
    kill_switches: Mapping[str | None, str] = field(default_factory=dict)
    """The engaged kill switches the session may see, with their reasons: the global one under None, then each
    account's own; kept current by the client (each change is also a ``RiskEvent`` of kind ``KILL_SWITCH`` or
    ``RELEASE``)."""
    trading_day: TradingDay | None = None
    """The engine's trading day (None for an engine without a calendar), kept current by the client: a roll
    replaces it."""


@dataclass(frozen=True, slots=True, kw_only=True)
class RiskLimitsChanged:
    """The live risk limits of ``account`` changed: ``limits`` are all of them now, as
    :attr:`SessionInfo.risk_limits` has them (the client's ``info`` already says so when this arrives)."""

    ts_ns: Nanos
    account: str
    limits: Mapping[str, Mapping[str, Any]]


ClientEvent = Event | ConnectionEvent | StrategyState | RiskLimitsChanged
"""Everything the event stream carries: the engine's events, connection changes, strategy and limit changes."""

EventHandler = Callable[[ClientEvent], None]


class EngineClient(Protocol):
    """A front end's only way to an engine. Commands are coroutines; results arrive on the event stream.

    A command that the engine refuses is not an exception: a rejected order comes back as a Rejected execution
    report with its reason, a refused cancel as a ``CancelReject``. Exceptions mean the client could not deliver
    the command at all (not connected, read-only user, unknown strategy).
    """

    @property
    def info(self) -> SessionInfo:
        """The session established by :meth:`connect`."""
        ...

    async def connect(self) -> SessionInfo:
        """Reach the engine (starting it when embedded) and begin the event stream."""
        ...

    async def close(self) -> None:
        """End the session; an embedded engine is stopped."""
        ...

    def subscribe(self, handler: EventHandler) -> Callable[[], None]:
        """Call ``handler`` with every event, on the event loop's thread. Returns the unsubscribe function."""
        ...

    def new_order_id(self) -> str:
        """A client order id no other order of this engine uses."""
        ...

    async def submit(self, request: SubmitOrder) -> None:
        """Send a new order."""
        ...

    async def cancel(self, request: CancelOrder) -> None:
        """Cancel a working order."""
        ...

    async def replace(self, request: ReplaceOrder) -> None:
        """Change a working order's price and/or quantity."""
        ...

    async def cancel_all(self, request: CancelAll) -> int:
        """Cancel every selected working order; returns how many were asked to cancel."""
        ...

    async def kill_switch(self, request: KillSwitch) -> None:
        """Engage or release the kill switch (engaging cancels every working order of the scope)."""
        ...

    async def flatten(self, account: str, reason: str) -> None:
        """Cancel the account's working orders and close its positions at market."""
        ...

    async def ping(self) -> Nanos:
        """Measure one round trip to the engine, in nanoseconds."""
        ...

    async def orders(self) -> Sequence[ExecutionReport]:
        """The latest report of every order the user may see (initial state of a blotter)."""
        ...

    async def executions(self) -> Sequence[ExecutionReport]:
        """Every fill the user may see, oldest first, and after a busted one its trade cancel."""
        ...

    async def positions(self) -> Sequence[PositionUpdate]:
        """Every position of the user's accounts, with current marks."""
        ...

    async def book_snapshot(self, symbol: str) -> BookUpdate:
        """The full book of ``symbol`` as a ``BookUpdate`` whose deltas set every level."""
        ...

    async def strategies(self) -> Sequence[StrategyState]:
        """Every strategy instance, running or stopped."""
        ...

    async def start_strategy(
        self,
        strategy: str,
        *,
        account: str,
        instruments: Sequence[str],
        params: Mapping[str, Any],
        strategy_id: str | None = None,
    ) -> StrategyState:
        """Start a strategy instance; raises ``ValueError`` with the reason when it cannot start."""
        ...

    async def stop_strategy(self, strategy_id: str) -> StrategyState:
        """Stop a running strategy instance (its orders are cancelled)."""
        ...

    async def plugins(self) -> Sequence[Mapping[str, Any]]:
        """The engine's plugin report: ``name``, ``source``, ``status``, ``registers``, ``reason`` each."""
        ...

    async def set_risk_limits(
        self, account: str, changes: Mapping[str, Mapping[str, Any]]
    ) -> Mapping[str, Mapping[str, Any]]:
        """Change ``account``'s risk limits while the engine runs: check name -> parameters to change (typed values
        or their text; a check not enabled is enabled). Returns the account's full live limits; :attr:`info`
        and the event stream (a :class:`RiskLimitsChanged`, and a ``RiskEvent`` of kind ``LIMITS``) say so too.
        Raises ``ValueError`` naming the problem (unknown account, check or parameter, bad value, read-only
        user, account not allowed); nothing changes then."""
        ...
