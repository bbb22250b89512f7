"""The trading day through the real engine: at the roll day orders expire and the daily loss starts again, and
a restarted engine counts the day from where it began."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

from core.enums import ExecType, OrdStatus, Side, TimeInForce
from core.events import EngineStatus, RiskEventKind
from core.numbers import MONEY_DECIMALS, NANOS_PER_MILLI, NANOS_PER_SECOND
from core.trading_day import TradingCalendar
from engine.assembly import build_engine
from engine.backtest import SESSION_START_NS
from engine.clock import SimulatedScheduler
from engine.config import AccountConfig, EngineConfig
from engine.engine import DAY_ORDER_EXPIRED, Engine
from engine.plugins import PluginRegistry
from engine.runtime import LiveRuntime
from engine.storage.db import open_database
from engine.storage.trading_days import load_day_starts
from tests.conftest import Recorder
from tests.engine.test_order_flow import advance, order, touch

# The simulated session opens at 09:30 New York (14:30 UTC): the roll comes a minute later.
ROLL_SOON = TradingCalendar(time(9, 31), "America/New_York")
MINUTE = 60 * NANOS_PER_SECOND
DOLLAR = 10**MONEY_DECIMALS
LIMIT = 20 * DOLLAR


def test_the_roll_expires_day_orders_and_keeps_the_others(
    make_engine: Callable[..., tuple[Engine, Recorder]],
) -> None:
    engine, seen = make_engine(calendar=ROLL_SOON)
    statuses: list[EngineStatus] = []
    engine.bus.subscribe(EngineStatus, statuses.append)
    assert engine.trading_day == date(2026, 1, 2)  # Monday before a morning roll: the day Friday's roll began
    bid, ask = touch(engine)
    engine.submit(order("day-buy", Side.BUY, 100, bid - 5_000))
    engine.submit(order("gtc-sell", Side.SELL, 100, ask + 5_000, time_in_force=TimeInForce.GTC))
    advance(engine, MINUTE)

    assert engine.trading_day == date(2026, 1, 5)
    last = seen.for_order("day-buy")[-1]
    assert (last.exec_type, last.ord_status, last.reason) == (ExecType.EXPIRED, OrdStatus.EXPIRED, DAY_ORDER_EXPIRED)
    assert seen.for_order("gtc-sell")[-1].ord_status is OrdStatus.NEW
    assert any("trading day 2026-01-05 began; 1 day orders expire" in status.message for status in statuses)
    assert engine.orders.by_client_id("day-buy").is_terminal  # type: ignore[union-attr]


WEEKDAYS_AT_FIVE = TradingCalendar()  # 17:00 New York (22:00 UTC in January), Monday to Friday


def around_five(
    config: EngineConfig, registry: PluginRegistry, day: date
) -> tuple[date | None, date | None, list[str], OrdStatus]:
    """An engine started ten seconds before 17:00 New York on ``day`` with a day order working, run to ten seconds
    after: the trading day before and after, the roll's status messages and where the day order ended."""
    start = int(datetime.combine(day, time(16, 59, 50), ZoneInfo("America/New_York")).timestamp())
    engine = build_engine(config, registry, SimulatedScheduler(start * NANOS_PER_SECOND), calendar=WEEKDAYS_AT_FIVE)
    seen = Recorder(engine)
    statuses: list[EngineStatus] = []
    engine.bus.subscribe(EngineStatus, statuses.append)
    engine.start()
    before = engine.trading_day
    bid, _ = touch(engine)
    engine.submit(order("day-buy", Side.BUY, 100, bid - 5_000))
    advance(engine, 20 * NANOS_PER_SECOND)
    engine.stop()
    began = [status.message for status in statuses if "began" in status.message]
    return before, engine.trading_day, began, seen.for_order("day-buy")[-1].ord_status


def test_fridays_roll_begins_mondays_day_and_the_weekend_has_no_roll(
    config: EngineConfig, registry: PluginRegistry
) -> None:
    monday, tuesday = date(2026, 1, 5), date(2026, 1, 6)
    friday = around_five(config, registry, date(2026, 1, 2))
    assert friday == (
        date(2026, 1, 2),
        monday,
        ["trading day 2026-01-05 began; 1 day orders expire"],
        OrdStatus.EXPIRED,
    )
    for weekend in (date(2026, 1, 3), date(2026, 1, 4)):
        assert around_five(config, registry, weekend) == (monday, monday, [], OrdStatus.NEW), weekend
    assert around_five(config, registry, monday) == (
        monday,
        tuesday,
        ["trading day 2026-01-06 began; 1 day orders expire"],
        OrdStatus.EXPIRED,
    )


def loss_limited(config: EngineConfig) -> EngineConfig:
    limits = {"daily_loss": {"limit": "20", "flatten": False}, "max_order_quantity": {"limit": 100_000}}
    return EngineConfig(
        instruments=config.instruments,
        accounts=(AccountConfig(name="main", currency="USD", risk=limits),),
        simulator=config.simulator,
        trading_day=ROLL_SOON,
        source="<test>",
    )


def lose_until_breached(engine: Engine, seen: Recorder) -> None:
    """Buy at the ask and sell at the bid: each round trip loses the spread and the fees."""
    for index in range(60):
        if any(event.kind is RiskEventKind.BREACH for event in seen.risk):
            return
        bid, ask = touch(engine)
        side, price = (Side.BUY, ask + 500) if index % 2 == 0 else (Side.SELL, bid - 500)
        engine.submit(order(f"t{index}", side, 2000, price, time_in_force=TimeInForce.IOC))
        advance(engine, 200 * NANOS_PER_MILLI)
    raise AssertionError("the daily loss limit was never reached")


def test_the_daily_loss_limit_starts_again_with_the_day(config: EngineConfig, registry: PluginRegistry) -> None:
    limited = loss_limited(config)
    engine = build_engine(limited, registry, SimulatedScheduler(SESSION_START_NS), calendar=ROLL_SOON)
    seen = Recorder(engine)
    engine.start()
    lose_until_breached(engine, seen)
    bid, _ = touch(engine)
    engine.submit(order("blocked", Side.BUY, 100, bid - 1_000))
    assert "daily_loss" in seen.for_order("blocked")[-1].reason
    lifetime = engine.portfolio.pnl("main").net
    assert engine.pnl("main").net == lifetime <= -LIMIT  # the first day: all of it

    advance(engine, MINUTE)  # the roll
    assert engine.trading_day == date(2026, 1, 5)
    assert engine.portfolio.pnl("main").net <= lifetime + DOLLAR  # what was lost stays lost
    assert abs(engine.pnl("main").net) < DOLLAR  # but the new day starts from zero (and moves with the marks)
    bid, _ = touch(engine)
    engine.submit(order("next-day", Side.BUY, 100, bid - 1_000))
    advance(engine, 10 * NANOS_PER_MILLI)
    assert seen.for_order("next-day")[-1].ord_status is OrdStatus.NEW
    engine.stop()


def test_a_restart_counts_the_day_from_where_it_began(
    config: EngineConfig, registry: PluginRegistry, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'engine.db'}"
    limited = loss_limited(config)
    first = LiveRuntime(limited, registry, SimulatedScheduler(SESSION_START_NS + 2 * MINUTE), db_url=url, seed=5)
    first.open()
    first.start()
    engine = first.engine
    seen = Recorder(engine)
    assert engine.trading_day == date(2026, 1, 5)
    lose_until_breached(engine, seen)
    day_loss = engine.pnl("main").net
    first.stop()
    stored = load_day_starts(open_database(url), date(2026, 1, 5))
    assert stored == {}, "the day began flat: no position started it"

    # The same day, later: the loss made earlier today still counts, so the limit still holds.
    second = LiveRuntime(limited, registry, SimulatedScheduler(SESSION_START_NS + 30 * MINUTE), db_url=url, seed=5)
    second.open()
    second.start()
    again = second.engine
    seen_again = Recorder(again)
    advance(again, 100 * NANOS_PER_MILLI)
    assert again.pnl("main").realized == engine.pnl("main").realized
    assert again.pnl("main").fees == engine.pnl("main").fees
    assert again.pnl("main").net <= day_loss + DOLLAR
    bid, _ = touch(again)
    again.submit(order("after-restart", Side.BUY, 100, bid - 1_000))
    assert "daily_loss" in seen_again.for_order("after-restart")[-1].reason
    second.stop()

    # The next day: its start is what the previous days left, so its P&L starts at zero.
    third = LiveRuntime(
        limited, registry, SimulatedScheduler(SESSION_START_NS + (24 * 60 + 2) * MINUTE), db_url=url, seed=5
    )
    third.open()
    third.start()
    assert third.engine.trading_day == date(2026, 1, 6)
    assert third.engine.pnl("main").realized == 0
    assert third.engine.pnl("main").fees == 0
    advance(third.engine, 100 * NANOS_PER_MILLI)  # the first marks: every start's open P&L is known and kept
    starts = load_day_starts(open_database(url), date(2026, 1, 6))
    assert starts
    assert all(start.unrealized is not None for start in starts.values())
    third.stop()
