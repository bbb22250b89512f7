"""What a failing plugin or strategy does to the engine: it rejects or stops, with a reason; the engine goes on."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from core.commands import KillSwitch, SubmitOrder
from core.contracts import RiskCheck, RiskCheckSpec, RiskView, Router, Strategy, StrategySpec, Venue
from core.enums import ExecType, OrdStatus, Side
from core.events import BookUpdate, ExecutionReport, RiskEventKind
from core.hookspecs import hookimpl
from core.numbers import NANOS_PER_MILLI, NANOS_PER_SECOND
from core.params import ParamValue
from engine.assembly import build_engine
from engine.backtest import SESSION_START_NS
from engine.bus import MessageBus
from engine.clock import SimulatedScheduler
from engine.config import EngineConfig
from engine.engine import Engine
from engine.plugins import PluginRegistry, load_plugins
from engine.strategy_host import StrategyHost
from tests.conftest import Recorder
from tests.engine.test_order_flow import advance, order, touch

Make = Callable[..., tuple[Engine, Recorder]]


class ExplodingCheck(RiskCheck):
    name = "exploding"

    def check_order(self, request: SubmitOrder, view: RiskView) -> str | None:
        raise RuntimeError("limits table unreachable")


class ExplodingPlugin:
    @hookimpl
    def register_risk_checks(self) -> Sequence[RiskCheckSpec]:
        return [RiskCheckSpec(name="exploding", factory=lambda params: ExplodingCheck())]


def test_a_raising_risk_check_rejects_the_order_naming_the_check(config: EngineConfig) -> None:
    registry = load_plugins(builtins=True, entry_points=False, extra=[ExplodingPlugin()])
    assert "exploding" in registry.risk_checks
    limits = dict(config.accounts[0].risk)
    limits["exploding"] = {}
    account = type(config.accounts[0])(name="main", currency="USD", risk=limits)
    patched = type(config)(
        instruments=config.instruments, accounts=(account,), simulator=config.simulator,
        database_url=None, source="<test>",
    )  # fmt: skip
    engine = build_engine(patched, registry, SimulatedScheduler(SESSION_START_NS), symbols=["AAPL"])
    seen = Recorder(engine)
    engine.start()
    bid, _ = touch(engine)
    engine.submit(order("x1", Side.BUY, 100, bid))
    [report] = seen.for_order("x1")
    assert report.ord_status is OrdStatus.REJECTED
    assert "risk check exploding failed: RuntimeError: limits table unreachable" in report.reason


class BrokenRouter(Router):
    name = "broken"

    def route(self, request: SubmitOrder, venues: Mapping[str, Venue]) -> str:
        raise KeyError("routing table")


def test_a_raising_router_rejects_the_order(make_engine: Make) -> None:
    engine, seen = make_engine()
    engine.router = BrokenRouter()
    bid, _ = touch(engine)
    engine.submit(order("r1", Side.BUY, 100, bid))
    [report] = seen.for_order("r1")
    assert report.ord_status is OrdStatus.REJECTED
    assert "router broken failed" in report.reason


def test_kill_switch_cancels_everything_blocks_new_orders_then_releases(make_engine: Make) -> None:
    engine, seen = make_engine()
    bid, _ = touch(engine)
    for index in range(3):
        engine.submit(order(f"k{index}", Side.BUY, 100, bid - (10 + index) * 100))
    advance(engine, NANOS_PER_MILLI)
    engine.kill_switch(KillSwitch(engaged=True, reason="desk limit"))
    advance(engine, NANOS_PER_MILLI)
    assert all(seen.for_order(f"k{i}")[-1].exec_type is ExecType.CANCELED for i in range(3))
    assert any(event.kind is RiskEventKind.KILL_SWITCH for event in seen.risk)
    engine.submit(order("after", Side.BUY, 100, bid - 10 * 100))
    [rejected] = seen.for_order("after")
    assert rejected.ord_status is OrdStatus.REJECTED
    assert "kill switch engaged: desk limit" in rejected.reason
    engine.kill_switch(KillSwitch(engaged=False, reason="cleared"))
    engine.submit(order("again", Side.BUY, 100, bid - 10 * 100))
    advance(engine, NANOS_PER_MILLI)
    assert seen.for_order("again")[-1].exec_type is ExecType.NEW


class Crashes(Strategy):
    """Quotes once, then raises on the next book update."""

    def __init__(self, ctx: object, params: Mapping[str, ParamValue]) -> None:
        super().__init__(ctx, params)  # type: ignore[arg-type]
        self.updates = 0

    def on_book(self, update: BookUpdate) -> None:
        self.updates += 1
        if self.updates == 1 and update.best_bid is not None:
            self.ctx.submit(update.instrument, Side.BUY, 100, update.best_bid - 2000)
        elif self.updates > 3:
            raise ZeroDivisionError("bad signal")


def test_a_raising_strategy_is_stopped_and_its_orders_cancelled(make_engine: Make, registry: PluginRegistry) -> None:
    engine, seen = make_engine()
    spec = StrategySpec(name="crashes", factory=Crashes)
    host = StrategyHost(engine, spec, strategy_id="crashes", account="main", instruments=("AAPL",), params={})
    host.start()
    advance(engine, NANOS_PER_SECOND)
    assert not host.running
    assert host.error == "ZeroDivisionError: bad signal"
    ours = [r for r in seen.reports if r.strategy_id == "crashes"]
    assert ours[-1].exec_type is ExecType.CANCELED
    assert any("strategy raised ZeroDivisionError" in event.reason for event in seen.risk)
    before = engine.last_book("AAPL")
    advance(engine, NANOS_PER_SECOND)
    assert engine.last_book("AAPL") is not before, "market data keeps flowing"


def test_a_raising_subscriber_does_not_stop_the_others() -> None:
    errors: list[str] = []
    bus = MessageBus(on_error=lambda handler, event, error: errors.append(repr(error)))
    received: list[object] = []

    def broken(_: ExecutionReport) -> None:
        raise ValueError("panel bug")

    bus.subscribe(ExecutionReport, broken)
    bus.subscribe(ExecutionReport, received.append)
    event = object.__new__(ExecutionReport)
    bus.publish(event)
    assert received == [event]
    assert errors == ["ValueError('panel bug')"]


def test_the_same_seed_gives_the_same_market(registry: PluginRegistry, config: EngineConfig) -> None:
    def tops(seed: int) -> list[tuple[object, ...]]:
        scheduler = SimulatedScheduler(SESSION_START_NS)
        engine = build_engine(config, registry, scheduler, symbols=["AAPL", "MSFT"], seed=seed)
        seen: list[tuple[object, ...]] = []
        engine.bus.subscribe(
            BookUpdate, lambda u: seen.append((u.instrument, u.ts_ns, u.best_bid, u.best_ask, u.deltas.tobytes()))
        )
        engine.start()
        scheduler.run_until(SESSION_START_NS + 5 * NANOS_PER_SECOND)
        return seen

    assert tops(3) == tops(3)
    assert tops(3) != tops(4)
