"""Daily loss limit through the real engine: a breach blocks new orders and, when asked, flattens."""

from __future__ import annotations

from core.enums import OrderType, OrdStatus, Side, TimeInForce
from core.events import RiskEventKind
from core.numbers import NANOS_PER_MILLI
from engine.assembly import build_engine
from engine.backtest import SESSION_START_NS
from engine.clock import SimulatedScheduler
from engine.config import AccountConfig, EngineConfig
from engine.plugins import PluginRegistry
from tests.conftest import Recorder
from tests.engine.test_order_flow import advance, order, touch


def engine_with_loss_limit(config: EngineConfig, registry: PluginRegistry, *, flatten: bool) -> tuple[object, Recorder]:
    limits = {"daily_loss": {"limit": "20", "flatten": flatten}, "max_order_quantity": {"limit": 100_000}}
    patched = EngineConfig(
        instruments=config.instruments,
        accounts=(AccountConfig(name="main", currency="USD", risk=limits),),
        simulator=config.simulator,
        database_url=None,
        source="<test>",
    )
    engine = build_engine(patched, registry, SimulatedScheduler(SESSION_START_NS), symbols=["AAPL"])
    seen = Recorder(engine)
    engine.start()
    return engine, seen


def cross_the_spread_until_breached(engine: object, seen: Recorder) -> None:
    """Buy at the ask and sell at the bid repeatedly: each round trip loses the spread and the fees."""
    for index in range(60):
        if any(event.kind is RiskEventKind.BREACH for event in seen.risk):
            return
        bid, ask = touch(engine)  # type: ignore[arg-type]
        side, price = (Side.BUY, ask + 500) if index % 2 == 0 else (Side.SELL, bid - 500)
        engine.submit(order(f"t{index}", side, 2000, price, time_in_force=TimeInForce.IOC))  # type: ignore[attr-defined]
        advance(engine, 200 * NANOS_PER_MILLI)  # type: ignore[arg-type]


def test_breach_blocks_new_orders(config: EngineConfig, registry: PluginRegistry) -> None:
    engine, seen = engine_with_loss_limit(config, registry, flatten=False)
    cross_the_spread_until_breached(engine, seen)
    breach = [event for event in seen.risk if event.kind is RiskEventKind.BREACH]
    assert breach
    assert breach[0].check == "daily_loss"
    bid, _ = touch(engine)  # type: ignore[arg-type]
    engine.submit(order("blocked", Side.BUY, 100, bid))  # type: ignore[attr-defined]
    [report] = seen.for_order("blocked")
    assert report.ord_status is OrdStatus.REJECTED
    assert "daily_loss" in report.reason


def test_breach_with_flatten_closes_the_position(config: EngineConfig, registry: PluginRegistry) -> None:
    engine, seen = engine_with_loss_limit(config, registry, flatten=True)
    cross_the_spread_until_breached(engine, seen)
    advance(engine, 500 * NANOS_PER_MILLI)  # type: ignore[arg-type]
    flatten = [r for r in seen.reports if r.strategy_id == "risk:flatten"]
    assert flatten, "a breach with flatten=true sends closing orders"
    assert all(r.order_type is OrderType.MARKET for r in flatten)
    assert engine.position("main", "AAPL").quantity == 0  # type: ignore[attr-defined]
