"""The status bar shows the engine's trading day and follows its roll."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from core.numbers import NANOS_PER_SECOND
from engine.client.embedded import EmbeddedClient
from engine.client.protocol import TradingDay
from workstation.status_bar import StatusBar, trading_day_text

from .conftest import Desktop


def _ns(moment: datetime) -> int:
    return int(moment.timestamp()) * NANOS_PER_SECOND


def test_the_trading_day_text_names_the_day_and_when_it_rolls() -> None:
    rolls_at = datetime(2026, 11, 23, 22, 0, tzinfo=UTC)
    day = TradingDay(day=date(2026, 11, 23), rolls_at_ns=_ns(rolls_at))
    text, tip = trading_day_text(day, _ns(rolls_at - timedelta(hours=2, minutes=5, seconds=30)))
    assert text == "Day Mon 2026-11-23"
    assert tip == "Trading day 2026-11-23; it rolls Mon 2026-11-23 22:00 UTC, in 2 h 5 min"
    assert trading_day_text(None, 0) == ("", "")
    assert trading_day_text(TradingDay(day=date(2026, 11, 23)), 0) == ("Day Mon 2026-11-23", "Trading day 2026-11-23")


def test_the_status_bar_shows_the_engine_trading_day_and_the_next_one_after_a_roll(desktop: Desktop) -> None:
    client = desktop.context.client
    assert isinstance(client, EmbeddedClient)
    engine = client.runtime.engine
    assert engine.trading_day is not None
    bar = StatusBar(desktop.context)
    assert bar.trading_day.text() == f"Day {engine.trading_day:%a %Y-%m-%d}"
    assert f"Trading day {engine.trading_day}; it rolls " in bar.trading_day.toolTip()

    next_day = engine.trading_day + timedelta(days=1)
    engine.start_day(next_day)
    bar.tick()
    assert bar.trading_day.text() == f"Day {next_day:%a %Y-%m-%d}"
    assert client.info.trading_day is not None
    assert client.info.trading_day.day == next_day
