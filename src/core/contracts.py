"""Plugin contracts: what a feed, a strategy, a router, a risk check and a venue must provide.

Plugins register *specs* (descriptors with a factory) through the hooks in :mod:`core.hookspecs`; the engine
builds instances from them once and then calls their bound methods directly on the hot path.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from core.clock import Scheduler
from core.commands import ReplaceOrder, SubmitOrder
from core.enums import OrderType, Side, TimeInForce
from core.events import BookUpdate, CancelReject, ExecutionReport, OrderBookAction, TradeTick
from core.instruments import Instrument
from core.numbers import Money, Nanos, Price, Quantity
from core.orders import Order
from core.params import Param, ParamValue
from core.portfolio import PnL, Position

MarketData = BookUpdate | TradeTick | OrderBookAction


@dataclass(frozen=True, slots=True)
class TopOfBook:
    """Best bid and ask of an instrument as last published (``None`` prices on an empty side)."""

    bid: Price | None
    bid_qty: Quantity
    ask: Price | None
    ask_qty: Quantity
    ts_ns: Nanos


# ----------------------------------------------------------------------------------------------------------
# Strategies
# ----------------------------------------------------------------------------------------------------------


class StrategyContext(Protocol):
    """What a running strategy may see and do. The same context exists in backtest, paper and live trading."""

    @property
    def strategy_id(self) -> str:
        """Unique id of this strategy instance; stamped on its orders."""
        ...

    @property
    def account(self) -> str:
        """The account the strategy trades."""
        ...

    @property
    def instruments(self) -> tuple[Instrument, ...]:
        """The instruments the strategy was started on, in the order given."""
        ...

    def now_ns(self) -> Nanos:
        """Current engine time (simulated in a backtest)."""
        ...

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
        """Send an order; returns its client order id. A reject comes back through ``on_execution``.

        Reports about the order may be delivered before this call returns (an engine reject is immediate).
        """
        ...

    def cancel(self, client_order_id: str) -> None:
        """Cancel one of the strategy's working orders."""
        ...

    def replace(self, client_order_id: str, *, quantity: Quantity | None = None, price: Price | None = None) -> None:
        """Change the price and/or total quantity of a working order."""
        ...

    def cancel_all(self, instrument: str | None = None) -> None:
        """Cancel every working order of the strategy, on one instrument when given."""
        ...

    def top(self, instrument: str) -> TopOfBook | None:
        """Latest best bid and ask seen by the engine, or None before the first update."""
        ...

    def position(self, instrument: str) -> Position:
        """The strategy account's position in ``instrument``."""
        ...

    def open_orders(self, instrument: str | None = None) -> list[Order]:
        """The strategy's orders that are not finished, including those not yet acknowledged (PendingNew)."""
        ...

    def set_timer(self, interval_ns: Nanos) -> None:
        """Call ``on_timer`` every ``interval_ns`` from now on (replaces any previous timer)."""
        ...

    def cancel_timer(self) -> None:
        """Stop calling ``on_timer``."""
        ...

    def log(self, message: str) -> None:
        """Write to the engine's log and audit trail."""
        ...


class Strategy(ABC):  # noqa: B024 - every callback is optional; the ABC marks the contract
    """A trading strategy. Override the callbacks you need; the engine subscribes only those you override.

    Parameters are declared on the :class:`StrategySpec`; the resolved values arrive in ``params``.
    """

    def __init__(self, ctx: StrategyContext, params: Mapping[str, ParamValue]) -> None:
        self.ctx = ctx
        self.params = params

    def on_start(self) -> None:  # noqa: B027
        """Called once when the strategy starts, before any market data."""

    def on_stop(self) -> None:  # noqa: B027
        """Called once when the strategy stops; its working orders are cancelled afterwards."""

    def on_book(self, update: BookUpdate) -> None:  # noqa: B027
        """Called with each book update of one of the strategy's instruments."""

    def on_trade(self, trade: TradeTick) -> None:  # noqa: B027
        """Called with each trade printed on one of the strategy's instruments."""

    def on_execution(self, report: ExecutionReport) -> None:  # noqa: B027
        """Called with each execution report of the strategy's own orders (acks, fills, cancels, rejects)."""

    def on_cancel_reject(self, reject: CancelReject) -> None:  # noqa: B027
        """Called when a cancel or replace of one of the strategy's orders was refused, with the reason."""

    def on_timer(self, ts_ns: Nanos) -> None:  # noqa: B027
        """Called on the strategy's timer (see :meth:`StrategyContext.set_timer`)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class StrategySpec:
    """A strategy a plugin offers: its name, factory, declared parameters and how many instruments it trades."""

    name: str
    factory: Callable[[StrategyContext, Mapping[str, ParamValue]], Strategy]
    params: tuple[Param, ...] = ()
    description: str = ""
    min_instruments: int = 1
    max_instruments: int | None = None


# ----------------------------------------------------------------------------------------------------------
# Risk
# ----------------------------------------------------------------------------------------------------------


class RiskView(Protocol):
    """Read-only engine state a risk check may consult."""

    def now_ns(self) -> Nanos: ...

    def instrument(self, symbol: str) -> Instrument | None:
        """The instrument, or None when the engine does not know it."""
        ...

    def reference_price(self, symbol: str) -> Price | None:
        """The price to judge orders against: the mid if both sides are quoted, else the last trade."""
        ...

    def position(self, account: str, symbol: str) -> Position: ...

    def pnl(self, account: str) -> PnL:
        """The account's realized, unrealized and fees since the start of the trading day."""
        ...

    def gross_exposure(self, account: str) -> Money: ...

    def working_orders(self, account: str) -> Iterable[Order]:
        """The account's orders still working (including those pending at the venue)."""
        ...


@dataclass(frozen=True, slots=True)
class Breach:
    """A standing limit breach found by :meth:`RiskCheck.monitor`; ``flatten`` asks to close every position."""

    reason: str
    flatten: bool = False


class RiskCheck(ABC):
    """A pre-trade check for one account. All checks run on every order; any one may veto it.

    A check that raises vetoes the order (fail closed) with a reason naming it.
    """

    name: str = "unnamed"

    @abstractmethod
    def check_order(self, request: SubmitOrder, view: RiskView) -> str | None:
        """None to let the new order pass, or the reason to reject it."""

    def check_replace(self, order: Order, request: ReplaceOrder, view: RiskView) -> str | None:
        """None to let a replace pass, or a reason. By default the order is checked as if sent anew."""
        as_new = SubmitOrder(
            client_order_id=order.client_order_id,
            account=order.account,
            instrument=order.instrument,
            side=order.side,
            quantity=(request.quantity if request.quantity is not None else order.quantity) - order.cum_qty,
            order_type=order.order_type,
            price=request.price if request.price is not None else order.price,
            time_in_force=order.time_in_force,
            strategy_id=order.strategy_id,
            ts_ns=request.ts_ns,
        )
        return self.check_order(as_new, view)

    def on_accepted(self, request: SubmitOrder, view: RiskView) -> None:  # noqa: B027
        """Told when an order passed every check and leaves for the venue (e.g. to count it for a throttle)."""

    def carry_over(self, previous: RiskCheck) -> None:  # noqa: B027
        """Called on a check rebuilt by a live change of its limits, with the check it replaces: take over what
        that one counted (e.g. the orders already in a throttle's window), so that a change cannot open a gap."""

    def monitor(self, account: str, view: RiskView) -> Breach | None:
        """Called after fills and mark changes: a standing breach of this check's limit, or None."""
        return None

    def start_day(self) -> None:  # noqa: B027
        """Called when a new trading day begins: forget what counted for the day that ended (a daily limit's
        breach, for instance). :meth:`RiskView.pnl` counts from the new day from then on."""


@dataclass(frozen=True, slots=True, kw_only=True)
class RiskCheckSpec:
    """A risk check a plugin offers, configured per account with the declared parameters."""

    name: str
    factory: Callable[[Mapping[str, ParamValue]], RiskCheck]
    params: tuple[Param, ...] = ()
    description: str = ""
    enabled_by_default: bool = False


# ----------------------------------------------------------------------------------------------------------
# Venues, feeds and routing
# ----------------------------------------------------------------------------------------------------------


class VenueListener(Protocol):
    """Where a venue or a feed delivers what happens. Implemented by the engine."""

    def on_execution(self, report: ExecutionReport) -> None:
        """An execution report for one of the engine's orders."""
        ...

    def on_cancel_reject(self, reject: CancelReject) -> None:
        """A cancel or replace of one of the engine's orders was refused (e.g. the order had already filled)."""
        ...

    def on_market_data(self, event: MarketData) -> None:
        """A book update, a trade or an order-level action."""
        ...

    def wants(self, event_type: type) -> bool:
        """True when someone listens to ``event_type``: a venue may skip building events nobody reads."""
        ...


class Venue(ABC):
    """Where orders execute: the simulated exchange, a FIX counterparty, an OUCH gateway.

    The venue owns the truth about its orders and reports every change with an :class:`ExecutionReport`
    carrying both ExecType and OrdStatus. Requests for unknown orders are answered with a reject, never an
    exception.
    """

    name: str = "venue"

    @abstractmethod
    def instruments(self) -> Sequence[Instrument]:
        """The instruments this venue trades."""

    @abstractmethod
    def start(self, listener: VenueListener, scheduler: Scheduler) -> None:
        """Begin: deliver reports and market data to ``listener`` on ``scheduler``'s time."""

    @abstractmethod
    def stop(self) -> None:
        """Stop producing events and release resources."""

    @abstractmethod
    def submit(self, order: Order) -> None:
        """Send a new order (in PendingNew)."""

    @abstractmethod
    def cancel(self, order: Order) -> None:
        """Cancel a working order."""

    @abstractmethod
    def replace(self, order: Order, quantity: Quantity, price: Price | None) -> None:
        """Change a working order's total quantity and/or price."""

    def adopt(self, orders: Sequence[Order]) -> Sequence[Order]:
        """Called once before :meth:`start` with the orders recovered as working at this venue by an engine that
        restarted: returns those the venue takes over, and reports on from then (what changed while the engine
        was down, through the usual reports). The engine expires the others as gone with the previous process.
        By default a venue adopts none (its orders did not outlive the process, as the simulated exchange's)."""
        return ()

    def recall(self, orders: Sequence[Order]) -> None:  # noqa: B027 - optional: by default nothing is kept
        """Called once before :meth:`start`, after :meth:`adopt`, with the orders of this venue that a restarted
        engine recovered as done: a venue whose session outlives the engine can then relate what it later hears of
        them (a broken trade) to them. By default a venue keeps none."""


class SettingError(ValueError):
    """A venue's (or a feed's) setting that cannot be used, raised by its factory.

    ``key`` is the setting's path inside the venue's own settings (``"host"``, ``"itch.publish"``) and ``problem``
    says what was expected against what was found. The engine reports it against the configuration file, as
    ``<file>: venue.host: expected ..., found ...``; :class:`core.settings.SettingsReader` raises it for you.
    """

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(f"{key}: {problem}" if key else problem)
        self.key = key
        self.problem = problem


@dataclass(frozen=True, slots=True, kw_only=True)
class VenueSetup:
    """What a venue factory receives: the engine's instruments, the venue's settings and the run's seed.

    ``settings`` is the venue's own table of the engine configuration (``[venue]`` without its ``name``) as TOML
    values: strings, integers, floats, booleans, arrays and tables. The simulated exchange instead receives its
    ``[simulator]`` table and each instrument's order flow. A factory checks every setting before it builds
    anything, refuses unknown ones, and raises :class:`SettingError` naming the setting it cannot use. It never
    receives a password in clear from the file: a setting such as ``password_env`` names the environment
    variable that holds it.
    """

    instruments: Mapping[str, Instrument]
    settings: Mapping[str, Any] = field(default_factory=dict)
    seed: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class VenueSpec:
    """A venue a plugin offers: its name (what ``[venue] name`` selects), the factory that builds it from a
    :class:`VenueSetup` (raising :class:`SettingError` for a bad setting) and a one-line description."""

    name: str
    factory: Callable[[VenueSetup], Venue]
    description: str = ""


class Feed(ABC):
    """A market-data source that is not a venue (an exchange's native feed, a replay file)."""

    name: str = "feed"

    @abstractmethod
    def instruments(self) -> Sequence[Instrument]:
        """The instruments this feed publishes."""

    @abstractmethod
    def start(self, listener: VenueListener, scheduler: Scheduler) -> None:
        """Begin publishing to ``listener``."""

    @abstractmethod
    def stop(self) -> None:
        """Stop publishing and release resources."""


@dataclass(frozen=True, slots=True, kw_only=True)
class FeedSpec:
    """A feed a plugin offers."""

    name: str
    factory: Callable[[VenueSetup], Feed]
    description: str = ""


class Router(ABC):
    """Chooses the venue for a new order. A router that raises or names an unknown venue rejects the order."""

    name: str = "router"

    @abstractmethod
    def route(self, request: SubmitOrder, venues: Mapping[str, Venue]) -> str:
        """The name of the venue (a key of ``venues``) that should receive ``request``."""


@dataclass(frozen=True, slots=True, kw_only=True)
class RouterSpec:
    """A router a plugin offers."""

    name: str
    factory: Callable[[Mapping[str, Any]], Router]
    description: str = ""
