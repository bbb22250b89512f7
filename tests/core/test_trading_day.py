"""The trading calendar (when days roll, on which dates) and the day's P&L counted from the start of each day."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from core.enums import Side
from core.instruments import Instrument
from core.portfolio import DayStart, Portfolio
from core.trading_day import TradingCalendar, TradingDayError, parse_holiday, parse_roll, parse_weekday

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
    calendar = TradingCalendar(weekdays=EVERY_DAY)
    assert calendar.next_roll_ns(ns(2026, 7, 1, 12, 0, 0)) == ns(2026, 7, 1, 21, 0, 0)  # EDT: 17:00 is 21:00 UTC
    assert calendar.next_roll_ns(ns(2026, 3, 7, 23, 0, 0)) == ns(2026, 3, 8, 21, 0, 0)  # the day the clocks jump
    assert calendar.next_roll_ns(ns(2026, 3, 6, 23, 0, 0)) == ns(2026, 3, 7, 22, 0, 0)


EVERY_DAY = frozenset(range(1, 8))
FRIDAY_ROLL = ns(2026, 11, 20, 22, 0, 0)  # Friday 20 November 2026, 17:00 New York (EST)
MONDAY = date(2026, 11, 23)


def test_fridays_roll_begins_mondays_day() -> None:
    calendar = TradingCalendar()  # Monday to Friday, 17:00 New York
    assert calendar.day_of(FRIDAY_ROLL - 1) == date(2026, 11, 20)
    assert calendar.day_of(FRIDAY_ROLL) == MONDAY
    assert calendar.day_of(ns(2026, 11, 21, 12, 0, 0)) == MONDAY  # Saturday
    assert calendar.day_of(ns(2026, 11, 22, 22, 30, 0)) == MONDAY  # Sunday 17:30: no roll at Sunday's 17:00
    assert calendar.next_roll_ns(ns(2026, 11, 20, 12, 0, 0)) == FRIDAY_ROLL
    monday_roll = ns(2026, 11, 23, 22, 0, 0)
    for moment in (FRIDAY_ROLL, FRIDAY_ROLL + 1, ns(2026, 11, 21, 22, 0, 0), ns(2026, 11, 22, 22, 0, 0)):
        assert calendar.next_roll_ns(moment) == monday_roll
    assert calendar.day_of(monday_roll - 1) == MONDAY
    assert calendar.day_of(monday_roll) == date(2026, 11, 24)


def test_a_holiday_midweek_has_no_roll() -> None:
    calendar = TradingCalendar(holidays=frozenset({date(2026, 11, 25)}))  # a Wednesday
    tuesday_roll = ns(2026, 11, 24, 22, 0, 0)
    assert calendar.day_of(tuesday_roll - 1) == date(2026, 11, 24)  # Tuesday's roll still ends Tuesday
    assert calendar.day_of(tuesday_roll) == date(2026, 11, 26)  # what follows is Thursday's
    assert calendar.day_of(ns(2026, 11, 25, 22, 30, 0)) == date(2026, 11, 26)  # Wednesday after 17:00
    assert calendar.next_roll_ns(tuesday_roll) == ns(2026, 11, 26, 22, 0, 0)
    assert not calendar.is_trading_date(date(2026, 11, 25))
    assert calendar.is_trading_date(date(2026, 11, 26))
    assert not calendar.is_trading_date(date(2026, 11, 28))  # a Saturday


def test_a_monday_holiday_after_a_weekend() -> None:
    calendar = TradingCalendar(holidays=frozenset({date(2026, 1, 19)}))  # Martin Luther King Jr. Day
    friday_roll = ns(2026, 1, 16, 22, 0, 0)
    assert calendar.day_of(friday_roll) == date(2026, 1, 20)
    assert calendar.day_of(ns(2026, 1, 19, 23, 0, 0)) == date(2026, 1, 20)  # Monday 18:00 New York
    assert calendar.next_roll_ns(friday_roll) == ns(2026, 1, 20, 22, 0, 0)


def test_a_roll_before_noon_carries_friday_over_the_weekend() -> None:
    calendar = TradingCalendar(time(0, 0), "UTC")  # the day named D begins at the roll on D
    friday = date(2026, 11, 20)
    assert calendar.day_of(ns(2026, 11, 20, 0, 0, 0)) == friday
    assert calendar.day_of(ns(2026, 11, 21, 12, 0, 0)) == friday  # Saturday: no roll began another day
    assert calendar.day_of(ns(2026, 11, 22, 23, 59, 59)) == friday
    assert calendar.day_of(ns(2026, 11, 23, 0, 0, 0)) == MONDAY
    assert calendar.next_roll_ns(ns(2026, 11, 20, 10, 0, 0)) == ns(2026, 11, 23, 0, 0, 0)

    london = TradingCalendar(time(6, 0), "Europe/London", holidays=frozenset({MONDAY}))
    assert london.day_of(ns(2026, 11, 23, 12, 0, 0)) == friday  # Monday a holiday: Friday runs on to Tuesday
    assert london.next_roll_ns(ns(2026, 11, 20, 6, 0, 0)) == ns(2026, 11, 24, 6, 0, 0)
    assert london.day_of(ns(2026, 11, 24, 6, 0, 0)) == date(2026, 11, 24)


def old_day_of(calendar: TradingCalendar, ts_ns: int) -> date:
    """A roll every calendar day, as the calendar had before it knew weekdays."""
    local = datetime.fromtimestamp(ts_ns // 1_000_000_000, ZoneInfo(calendar.timezone))
    after_roll = local.time() >= calendar.roll
    if calendar.roll >= time(12, 0):
        return local.date() + timedelta(days=1) if after_roll else local.date()
    return local.date() if after_roll else local.date() - timedelta(days=1)


@pytest.mark.parametrize(
    ("roll", "timezone"), [(time(17, 0), "America/New_York"), (time(0, 0), "UTC"), (time(6, 0), "Europe/London")]
)
def test_a_seven_day_calendar_rolls_every_day_as_before(roll: time, timezone: str) -> None:
    calendar = TradingCalendar(roll, timezone, weekdays=EVERY_DAY)
    moment = ns(2026, 3, 1, 0, 0, 0)  # four weeks over both spring changes (New York 8 March, London 29 March)
    while moment < ns(2026, 3, 31, 0, 0, 0):
        assert calendar.day_of(moment) == old_day_of(calendar, moment)
        rolled = calendar.next_roll_ns(moment)
        assert 0 < rolled - moment <= 25 * 3_600 * 1_000_000_000  # a roll within a day (DST: 23 or 25 hours)
        assert old_day_of(calendar, rolled - 1_000_000_000) != old_day_of(calendar, rolled)
        moment += 1_800 * 1_000_000_000


def test_a_weekend_over_a_change_of_clocks() -> None:
    calendar = TradingCalendar()
    # Spring: Friday 6 March 17:00 EST (22:00 UTC) to Monday 9 March 17:00 EDT (21:00 UTC).
    assert calendar.day_of(ns(2026, 3, 6, 22, 0, 0)) == date(2026, 3, 9)
    assert calendar.next_roll_ns(ns(2026, 3, 6, 22, 0, 0)) == ns(2026, 3, 9, 21, 0, 0)
    assert calendar.day_of(ns(2026, 3, 9, 20, 59, 59)) == date(2026, 3, 9)
    assert calendar.day_of(ns(2026, 3, 9, 21, 0, 0)) == date(2026, 3, 10)
    # Autumn: Friday 30 October 17:00 EDT (21:00 UTC) to Monday 2 November 17:00 EST (22:00 UTC).
    assert calendar.next_roll_ns(ns(2026, 10, 30, 21, 0, 0)) == ns(2026, 11, 2, 22, 0, 0)
    assert calendar.day_of(ns(2026, 11, 2, 21, 30, 0)) == date(2026, 11, 2)  # 16:30 EST, 17:30 by summer time
    assert calendar.day_of(ns(2026, 11, 2, 22, 0, 0)) == date(2026, 11, 3)


@pytest.mark.parametrize(
    "calendar",
    [
        TradingCalendar(time(2, 30), "America/New_York", weekdays=EVERY_DAY),  # 02:30 is skipped on 8 March
        TradingCalendar(time(1, 30), "America/New_York", weekdays=frozenset({5, 6, 7})),  # twice on 1 November
        TradingCalendar(time(17, 0), "America/New_York", holidays=frozenset({date(2026, 3, 9), date(2026, 11, 2)})),
    ],
)
def test_the_day_changes_exactly_at_the_rolls(calendar: TradingCalendar) -> None:
    for start in (ns(2026, 3, 4, 0, 0, 0), ns(2026, 10, 28, 0, 0, 0)):
        moment = start
        while moment < start + 10 * 86_400 * 1_000_000_000:
            rolled = calendar.next_roll_ns(moment)
            day = calendar.day_of(moment)
            assert calendar.is_trading_date(day)
            assert calendar.day_of(rolled - 1) == day, "the day runs to the next roll"
            assert calendar.day_of(rolled) > day, "the roll begins a later day"
            assert calendar.next_roll_ns(rolled - 1) == rolled
            moment += 900 * 1_000_000_000


def test_a_roll_in_a_skipped_hour_happens_after_the_jump_and_in_a_repeated_one_the_first_time() -> None:
    calendar = TradingCalendar(time(2, 30), "America/New_York", weekdays=EVERY_DAY)
    jump = ns(2026, 3, 8, 7, 30, 0)  # 02:30 does not exist that Sunday: 03:30 EDT
    assert calendar.next_roll_ns(ns(2026, 3, 8, 6, 0, 0)) == jump
    assert calendar.day_of(jump - 1) == date(2026, 3, 7)  # 03:29:59 EDT: still the day before
    assert calendar.day_of(jump) == date(2026, 3, 8)
    repeated = TradingCalendar(time(1, 30), "America/New_York", weekdays=EVERY_DAY)
    first = ns(2026, 11, 1, 5, 30, 0)  # 01:30 EDT; 01:30 EST an hour later rolls nothing
    assert repeated.next_roll_ns(ns(2026, 11, 1, 4, 0, 0)) == first
    assert repeated.next_roll_ns(first) == ns(2026, 11, 2, 6, 30, 0)
    assert repeated.day_of(ns(2026, 11, 1, 6, 45, 0)) == date(2026, 11, 1)


@pytest.mark.parametrize("text", ["5pm", "17", "24:00", "17:60", "7:00", "17:00:00"])
def test_a_roll_time_must_be_hh_mm(text: str) -> None:
    with pytest.raises(TradingDayError, match=r"HH:MM|time of day"):
        parse_roll(text)


def test_an_unknown_time_zone_is_refused_by_name() -> None:
    with pytest.raises(TradingDayError, match="Mars/Olympus"):
        TradingCalendar(time(17, 0), "Mars/Olympus")


@pytest.mark.parametrize(
    ("weekdays", "holidays", "problem"),
    [
        (frozenset(), frozenset(), "no trading weekday"),
        (frozenset({0, 1}), frozenset(), "0 is not an ISO weekday"),
        (frozenset({1, 8}), frozenset(), "8 is not an ISO weekday"),
        (frozenset({"mon"}), frozenset(), "'mon' is not an ISO weekday"),
        (frozenset({1}), frozenset({datetime(2026, 12, 25, tzinfo=UTC)}), "is not a date"),
    ],
)
def test_a_calendar_needs_trading_dates(weekdays: frozenset[int], holidays: frozenset[date], problem: str) -> None:
    with pytest.raises(TradingDayError, match=problem):
        TradingCalendar(weekdays=weekdays, holidays=holidays)


def test_a_calendar_without_a_trading_date_for_a_year_says_so() -> None:
    mondays = frozenset(date(2026, 1, 5) + timedelta(weeks=week) for week in range(60))
    calendar = TradingCalendar(weekdays=frozenset({1}), holidays=mondays)
    with pytest.raises(
        TradingDayError, match=r"no trading date within 370 days after 2026-01-05 \(weekdays 1; 60 holidays\)"
    ):
        calendar.next_roll_ns(ns(2026, 1, 5, 12, 0, 0))  # 07:00 New York
    with pytest.raises(TradingDayError, match="no trading date within"):
        calendar.day_of(ns(2026, 1, 5, 12, 0, 0))
    morning = TradingCalendar(time(9, 0), "UTC", weekdays=frozenset({1}), holidays=mondays)
    with pytest.raises(TradingDayError, match=r"no trading date within 370 days before 2027-02-01"):
        morning.day_of(ns(2027, 2, 1, 0, 0, 0))
    assert morning.day_of(ns(2026, 1, 1, 12, 0, 0)) == date(2025, 12, 29)  # the Monday before the holidays


@pytest.mark.parametrize(("value", "weekday"), [(1, 1), (7, 7), ("mon", 1), ("FRI", 5), ("Sun", 7)])
def test_weekdays_by_number_or_name(value: int | str, weekday: int) -> None:
    assert parse_weekday(value) == weekday


@pytest.mark.parametrize("value", [0, 8, "monday", "", True, "1"])
def test_what_is_not_a_weekday(value: int | str) -> None:
    with pytest.raises(TradingDayError, match="is not a weekday"):
        parse_weekday(value)


def test_holidays_are_iso_dates() -> None:
    assert parse_holiday("2026-12-25") == date(2026, 12, 25)
    for text in ("2026-02-30", "20261225", "25/12/2026", "2026-12-25T00:00", " 2026-12-25"):
        with pytest.raises(TradingDayError, match="YYYY-MM-DD"):
            parse_holiday(text)


def test_a_calendar_describes_itself() -> None:
    assert TradingCalendar().describe() == "17:00 America/New_York, mon-fri"
    weekend = TradingCalendar(time(0, 0), "UTC", frozenset({6, 7}), frozenset({date(2026, 12, 26)}))
    assert weekend.describe() == "00:00 UTC, sat,sun, 1 holiday"


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
