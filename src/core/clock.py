"""Time as the engine sees it: a clock to read and a scheduler to be called back, both injected.

Live trading reads the wall clock and schedules on the asyncio loop; a backtest runs a simulated clock that jumps
from event to event. Code that only depends on these protocols runs unchanged in both.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from core.numbers import Nanos


class Clock(Protocol):
    """A source of the current time."""

    def now_ns(self) -> Nanos:
        """Current time in integer nanoseconds since the epoch, UTC."""
        ...


class TimerHandle(Protocol):
    """A scheduled callback that can still be cancelled."""

    def cancel(self) -> None:
        """Prevent the callback from running; harmless if it already ran."""
        ...


class Scheduler(Clock, Protocol):
    """A clock that can also run callbacks at a given time."""

    def call_at(self, ts_ns: Nanos, callback: Callable[[], None]) -> TimerHandle:
        """Run ``callback`` at ``ts_ns`` (as soon as possible if that is past). Callbacks at one time run in
        the order they were scheduled."""
        ...

    def call_later(self, delay_ns: Nanos, callback: Callable[[], None]) -> TimerHandle:
        """Run ``callback`` ``delay_ns`` nanoseconds from now."""
        ...
