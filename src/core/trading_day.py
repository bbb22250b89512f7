"""The trading day: when one ends and the next begins.

A desk's day rolls at a local time of one time zone (``roll`` in ``timezone``), 17:00 New York by default, as for
US futures and FX: what happens from Monday 17:00 to Tuesday 17:00 is Tuesday's business. At the roll, day orders
expire and the day's P&L (on which the daily loss limit is judged) starts again from zero.

Days are named by trading dates: dates whose ISO weekday is one of ``weekdays`` (Monday to Friday by default) and
that are not among ``holidays``. The roll happens at ``roll`` on each trading date and on no other date, so a
weekend or a holiday has no roll and the day in progress runs on until the next one. With a roll at or after noon
(the 17:00 default) the roll on trading date D ends day D and the day after it is named by the next trading date:
Friday's roll begins Monday's day, and Saturday and Sunday belong to Monday. With a roll before noon (a midnight
roll, a 06:00 roll) the roll on trading date D begins day D, which runs to the roll on the next trading date: with
a midnight roll, Monday's day is Monday, and Friday's runs to Monday 00:00, the weekend included.

The local time follows daylight saving time: a roll inside a skipped hour happens as far after the jump as it was
meant to be into the hour (02:30 on a 02:00 jump is 03:30), one inside a repeated hour the first time. Both
:meth:`TradingCalendar.day_of` and :meth:`TradingCalendar.next_roll_ns` compare against the same roll instants,
so they agree across the changes.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from core.numbers import Nanos

_NOON = time(12, 0)
_DAY = timedelta(days=1)
WEEKDAY_NAMES: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
"""ISO weekdays 1..7 by their short names."""
MONDAY_TO_FRIDAY: frozenset[int] = frozenset(range(1, 6))
SEARCH_DAYS = 370
"""The longest run of dates without a roll a calendar may have (a year and some): a search for a roll stops there."""
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


class TradingDayError(ValueError):
    """A trading-day setting that cannot be used (an unknown time zone, a roll time that is not HH:MM, no
    trading date at all)."""


def parse_roll(text: str) -> time:
    """``HH:MM`` (24-hour clock) as a time; raises :class:`TradingDayError` otherwise."""
    hours, colon, minutes = text.partition(":")
    if not colon or len(hours) != 2 or len(minutes) != 2 or not (hours + minutes).isdigit():
        raise TradingDayError(f"{text!r} is not a time of day as HH:MM (e.g. 17:00)")
    if int(hours) > 23 or int(minutes) > 59:
        raise TradingDayError(f"{text!r} is not a time of day (00:00 to 23:59)")
    return time(int(hours), int(minutes))


def parse_weekday(value: int | str) -> int:
    """An ISO weekday (1 = Monday .. 7 = Sunday) given as its number or its short name (``"mon"`` .. ``"sun"``,
    any case); raises :class:`TradingDayError` otherwise."""
    if isinstance(value, str) and value.lower() in WEEKDAY_NAMES:
        return WEEKDAY_NAMES.index(value.lower()) + 1
    if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 7:
        return value
    raise TradingDayError(f"{value!r} is not a weekday (1 = Monday .. 7 = Sunday, or mon .. sun)")


def parse_holiday(text: str) -> date:
    """An ISO date ``YYYY-MM-DD`` as a date; raises :class:`TradingDayError` otherwise."""
    try:
        if _ISO_DATE.fullmatch(text):
            return date.fromisoformat(text)
    except ValueError:
        pass
    raise TradingDayError(f"{text!r} is not a date as YYYY-MM-DD (e.g. 2026-12-25)")


def zone(name: str) -> ZoneInfo:
    """The IANA time zone ``name``; raises :class:`TradingDayError` when it is unknown."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise TradingDayError(f"unknown time zone {name!r} (an IANA name, e.g. America/New_York or UTC)") from None


@dataclass(frozen=True, slots=True)
class TradingCalendar:
    """Days that roll at ``roll`` local time in ``timezone`` (an IANA name) on each trading date: a date whose
    ISO weekday is in ``weekdays`` (1 = Monday .. 7 = Sunday) and that is not in ``holidays``.

    Raises :class:`TradingDayError` for an unknown time zone, a weekday outside 1..7, no weekday at all, or a
    holiday that is not a plain date."""

    roll: time = time(17, 0)
    timezone: str = "America/New_York"
    weekdays: frozenset[int] = MONDAY_TO_FRIDAY
    holidays: frozenset[date] = frozenset()
    _zone: ZoneInfo = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_zone", zone(self.timezone))
        weekdays, holidays = frozenset(self.weekdays), frozenset(self.holidays)
        if not weekdays:
            raise TradingDayError("no trading weekday: a calendar needs at least one (1 = Monday .. 7 = Sunday)")
        for weekday in weekdays:
            if isinstance(weekday, bool) or not isinstance(weekday, int) or not 1 <= weekday <= 7:
                raise TradingDayError(f"{weekday!r} is not an ISO weekday (1 = Monday .. 7 = Sunday)")
        for holiday in holidays:
            if not isinstance(holiday, date) or isinstance(holiday, datetime):
                raise TradingDayError(f"holiday {holiday!r} is not a date")
        object.__setattr__(self, "weekdays", weekdays)
        object.__setattr__(self, "holidays", holidays)

    def is_trading_date(self, day: date) -> bool:
        """Whether ``day`` has a roll: its weekday is a trading weekday and it is not a holiday."""
        return day.isoweekday() in self.weekdays and day not in self.holidays

    def day_of(self, ts_ns: Nanos) -> date:
        """The trading day ``ts_ns`` belongs to (a roll instant begins the next day): with a roll at or after noon
        the date of the first roll after ``ts_ns``, with one before noon the date of the last roll at or before."""
        if self.roll >= _NOON:
            return self._next_roll(ts_ns)[0]
        # The last roll at or before ts (the local date after ts's own: no roll on it can be that early).
        return self._search(self._local_date(ts_ns) + _DAY, -_DAY, lambda day: self._roll_ns(day) <= ts_ns)

    def next_roll_ns(self, ts_ns: Nanos) -> Nanos:
        """The first roll strictly after ``ts_ns``."""
        return self._next_roll(ts_ns)[1]

    def describe(self) -> str:
        """E.g. ``17:00 America/New_York, mon-fri`` (and ``, 3 holidays`` when there are any)."""
        days = ",".join(WEEKDAY_NAMES[weekday - 1] for weekday in sorted(self.weekdays))
        if self.weekdays == MONDAY_TO_FRIDAY:
            days = "mon-fri"
        count = len(self.holidays)
        holidays = f", {count} holiday{'s' if count > 1 else ''}" if count else ""
        return f"{self.roll:%H:%M} {self.timezone}, {days}{holidays}"

    def _next_roll(self, ts_ns: Nanos) -> tuple[date, Nanos]:
        # From the local date before ts's own: a roll on any earlier date is before ts whatever the offsets.
        day = self._search(self._local_date(ts_ns) - _DAY, _DAY, lambda day: self._roll_ns(day) > ts_ns)
        return day, self._roll_ns(day)

    def _search(self, start: date, step: timedelta, wanted: Callable[[date], bool]) -> date:
        """The first trading date from ``start`` on (``step``: a day forwards or backwards) that is ``wanted``;
        raises :class:`TradingDayError` when none is within :data:`SEARCH_DAYS` days."""
        day = start
        for _ in range(SEARCH_DAYS + 2):  # +2: the search starts a day to the far side of the moment's date
            if self.is_trading_date(day) and wanted(day):
                return day
            day += step
        direction = "after" if step > timedelta(0) else "before"
        raise TradingDayError(
            f"no trading date within {SEARCH_DAYS} days {direction} {start + step} (weekdays "
            f"{', '.join(map(str, sorted(self.weekdays)))}; {len(self.holidays)} holidays)"
        )

    def _local_date(self, ts_ns: Nanos) -> date:
        return datetime.fromtimestamp(ts_ns // 1_000_000_000, self._zone).date()

    def _roll_ns(self, day: date) -> Nanos:
        return _epoch_ns(datetime.combine(day, self.roll, self._zone))


def _epoch_ns(moment: datetime) -> Nanos:
    delta = moment.astimezone(UTC) - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1_000
