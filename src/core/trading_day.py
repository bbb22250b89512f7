"""The trading day: when one ends and the next begins.

A desk's day rolls once every 24 hours at a local time of one time zone (``roll`` in ``timezone``), 17:00 New York
by default, as for US futures and FX: what happens from Monday 17:00 to Tuesday 17:00 is Tuesday's business. At
the roll, day orders expire and the day's P&L (on which the daily loss limit is judged) starts again from zero.

A day is named by the date of the roll that ends it, or, when the roll is before noon (a midnight roll, a
06:00 roll), by the date it starts on: with a midnight roll, Monday's day is Monday. The roll happens every day,
weekends included; the local time follows daylight saving time (a roll inside a skipped hour happens at the
same wall time after the jump).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from core.numbers import Nanos

_NOON = time(12, 0)
_DAY = timedelta(days=1)


class TradingDayError(ValueError):
    """A trading-day setting that cannot be used (an unknown time zone, a roll time that is not HH:MM)."""


def parse_roll(text: str) -> time:
    """``HH:MM`` (24-hour clock) as a time; raises :class:`TradingDayError` otherwise."""
    hours, colon, minutes = text.partition(":")
    if not colon or len(hours) != 2 or len(minutes) != 2 or not (hours + minutes).isdigit():
        raise TradingDayError(f"{text!r} is not a time of day as HH:MM (e.g. 17:00)")
    if int(hours) > 23 or int(minutes) > 59:
        raise TradingDayError(f"{text!r} is not a time of day (00:00 to 23:59)")
    return time(int(hours), int(minutes))


def zone(name: str) -> ZoneInfo:
    """The IANA time zone ``name``; raises :class:`TradingDayError` when it is unknown."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise TradingDayError(f"unknown time zone {name!r} (an IANA name, e.g. America/New_York or UTC)") from None


@dataclass(frozen=True, slots=True)
class TradingCalendar:
    """Days that roll at ``roll`` local time in ``timezone`` (an IANA name)."""

    roll: time = time(17, 0)
    timezone: str = "America/New_York"
    _zone: ZoneInfo = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_zone", zone(self.timezone))

    def day_of(self, ts_ns: Nanos) -> date:
        """The trading day ``ts_ns`` belongs to (a roll instant begins the next day)."""
        local = datetime.fromtimestamp(ts_ns // 1_000_000_000, self._zone)
        after_roll = local.time() >= self.roll
        if self.roll >= _NOON:
            return local.date() + _DAY if after_roll else local.date()
        return local.date() if after_roll else local.date() - _DAY

    def next_roll_ns(self, ts_ns: Nanos) -> Nanos:
        """The first roll strictly after ``ts_ns``."""
        day = datetime.fromtimestamp(ts_ns // 1_000_000_000, self._zone).date() - _DAY
        while True:
            instant = _epoch_ns(datetime.combine(day, self.roll, self._zone))
            if instant > ts_ns:
                return instant
            day += _DAY

    def describe(self) -> str:
        """E.g. ``17:00 America/New_York``."""
        return f"{self.roll:%H:%M} {self.timezone}"


def _epoch_ns(moment: datetime) -> Nanos:
    delta = moment.astimezone(UTC) - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1_000
