"""The trading calendar (when days roll) and the day's P&L the portfolio counts from the start of each day."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest

from core.enums import Side
from core.instruments import Instrument
from core.portfolio import DayStart, Portfolio
from core.trading_day import TradingCalendar, TradingDayError, parse_roll

AAPL = Instrument(symbol="AAPL", tick_size=100, price_scale=4)


def ns(*moment: int) -> int:
    return int(datetime(*moment, tzinfo=UTC).timestamp()) * 1_000_000_000  # type: ignore[misc]


def test_an_evening_roll_names_the_day_by_the_date_it_ends() -> None:
    calendar = TradingCalendar()  # 17:00 New York
    assert calendar.day_of(ns(2026, 11, 23, 21, 59, 59)) == date(2026, 11, 23)  # Monday 16:59:59 New York
    assert calendar.day_of(ns(2026, 11, 23, 22, 0, 0)) == date(2026, 11, 24)  # Monday 17:00: Tuesday's business
    assert calendar.next_roll_ns(ns(2026, 11, 23, 12, 0, 0)) == ns(2026, 11, 23, 22, 0, 0)
    assert calendar.next_roll_ns(ns(2026, 11, 23, 22, 0, 0)) == ns(2026, 11, 24, 22, 0, 0)


def test_a_midnight_roll_names_the_day_by_its_own_date() -> None:
    calendar = TradingCalendar(time(0, 0), "UTC")
    assert calendar.day_of(ns(2026, 11, 23, 0, 0, 0)) == date(2026, 11, 23)
    assert calendar.day_of(ns(2026, 11, 23, 23, 59, 59)) == date(2026, 11, 23)
    assert calendar.next_roll_ns(ns(2026, 11, 23, 10, 0, 0)) == ns(2026, 11, 24, 0, 0, 0)


def test_the_roll_follows_daylight_saving_time() -> None:
    calendar = TradingCalendar()
    assert calendar.next_roll_ns(ns(2026, 7, 1, 12, 0, 0)) == ns(2026, 7, 1, 21, 0, 0)  # EDT: 17:00 is 21:00 UTC
    assert calendar.next_roll_ns(ns(2026, 3, 7, 23, 0, 0)) == ns(2026, 3, 8, 21, 0, 0)  # the day the clocks jump
    assert calendar.next_roll_ns(ns(2026, 3, 6, 23, 0, 0)) == ns(2026, 3, 7, 22, 0, 0)


@pytest.mark.parametrize("text", ["5pm", "17", "24:00", "17:60", "7:00", "17:00:00"])
def test_a_roll_time_must_be_hh_mm(text: str) -> None:
    with pytest.raises(TradingDayError, match=r"HH:MM|time of day"):
        parse_roll(text)


def test_an_unknown_time_zone_is_refused_by_name() -> None:
    with pytest.raises(TradingDayError, match="Mars/Olympus"):
        TradingCalendar(time(17, 0), "Mars/Olympus")


def test_the_day_counts_from_where_the_positions_stood() -> None:
    portfolio = Portfolio({"AAPL": AAPL})
    portfolio.set_mark("AAPL", 1_000_000)
    portfolio.apply_fill("main", "AAPL", Side.BUY, 100, 1_000_000, 50)
    portfolio.set_mark("AAPL", 1_010_000)  # +1.00 a share before the roll
    assert portfolio.day_pnl("main") == portfolio.pnl("main")  # no day begun yet: everything counts

    starts = portfolio.start_day()
    assert starts[("main", "AAPL")] == DayStart(realized=0, fees=50, unrealized=portfolio.pnl("main").unrealized)
    assert portfolio.day_pnl("main").net == 0
    portfolio.set_mark("AAPL", 1_005_000)  # -0.50 a share on the day
    portfolio.apply_fill("main", "AAPL", Side.SELL, 100, 1_005_000, 30)
    day = portfolio.day_pnl("main")
    lifetime = portfolio.pnl("main")
    assert (day.realized, day.unrealized, day.fees) == (lifetime.realized, -lifetime_gain(), 30)
    assert day.net == -100 * 5_000 * 10**4 - 30


def lifetime_gain() -> int:
    """The +1.00 a share on 100 shares carried into the day (money units: 10**-8 dollars)."""
    return 100 * 10_000 * 10**4


def test_kept_starts_give_the_same_day_after_a_restart() -> None:
    def replay() -> Portfolio:
        portfolio = Portfolio({"AAPL": AAPL})
        portfolio.apply_fill("main", "AAPL", Side.BUY, 100, 1_000_000, 50)
        return portfolio

    before = replay()
    before.set_mark("AAPL", 1_010_000)
    starts = before.start_day()
    before.set_mark("AAPL", 1_020_000)

    after = replay()  # the fills again, from the journal; no mark yet
    after.start_day(starts)
    assert after.day_pnl("main").unrealized == 0, "without a mark, an open position counts no open P&L"
    after.set_mark("AAPL", 1_020_000)
    assert after.day_pnl("main") == before.day_pnl("main")
    assert after.day_pnl("main").unrealized == 100 * 10_000 * 10**4


def test_a_position_without_a_mark_at_the_roll_starts_at_its_first_mark() -> None:
    portfolio = Portfolio({"AAPL": AAPL})
    portfolio.apply_fill("main", "AAPL", Side.BUY, 100, 1_000_000, 0)
    starts = portfolio.start_day()
    assert starts[("main", "AAPL")].unrealized is None
    portfolio.set_mark("AAPL", 1_030_000)
    assert portfolio.day_pnl("main").net == 0
    assert portfolio.resolved_starts == [("main", "AAPL")]
    assert portfolio.day_start("main", "AAPL").unrealized == 100 * 30_000 * 10**4
    portfolio.set_mark("AAPL", 1_040_000)
    assert portfolio.day_pnl("main").net == 100 * 10_000 * 10**4
