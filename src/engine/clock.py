"""Clocks and schedulers: the wall clock on asyncio for live trading, a simulated one for backtests.

Both implement :class:`core.clock.Scheduler`, so venues, strategies and the engine never know which one runs.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from collections.abc import Callable

from core.numbers import NANOS_PER_SECOND, Nanos


class _Timer:
    """A handle on a scheduled callback (see :class:`core.clock.TimerHandle`)."""

    __slots__ = ("callback", "cancelled")

    def __init__(self, callback: Callable[[], None]) -> None:
        self.callback = callback
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class SimulatedScheduler:
    """A discrete-event scheduler: time jumps to the next callback; equal times run in scheduling order.

    Time never goes backwards: a callback scheduled in the past runs at the current time.
    """

    def __init__(self, start_ns: Nanos) -> None:
        self._now = start_ns
        self._queue: list[tuple[Nanos, int, _Timer]] = []
        self._sequence = itertools.count()

    def now_ns(self) -> Nanos:
        return self._now

    def call_at(self, ts_ns: Nanos, callback: Callable[[], None]) -> _Timer:
        timer = _Timer(callback)
        heapq.heappush(self._queue, (max(ts_ns, self._now), next(self._sequence), timer))
        return timer

    def call_later(self, delay_ns: Nanos, callback: Callable[[], None]) -> _Timer:
        return self.call_at(self._now + delay_ns, callback)

    def run_until(self, end_ns: Nanos) -> None:
        """Run every callback due before ``end_ns`` in time order, then set the time to ``end_ns``."""
        queue = self._queue
        pop = heapq.heappop
        while queue and queue[0][0] < end_ns:
            ts, _, timer = pop(queue)
            if timer.cancelled:
                continue
            self._now = ts
            timer.callback()
        self._now = max(self._now, end_ns)


class AsyncioScheduler:
    """Schedules on a running asyncio loop against the wall clock.

    The loop's monotonic time is mapped onto the epoch once at construction, so ``call_at`` with an epoch time
    fires at that wall-clock moment without being disturbed by clock adjustments during the session. Callbacks
    wait in a queue of our own, ordered by (time, scheduling order), behind a single asyncio timer: asyncio
    itself does not promise the order of timers due at the same moment, and an order's cancel must never
    overtake the order. A callback already due when scheduled (an order to a venue without latency) runs on the
    loop's next turn through ``call_soon``, leaving the timer armed for the later ones: cancelling and re-making
    an asyncio timer for each such callback was most of its cost. A callback that raises is reported to the
    loop's exception handler; the next ones run.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        self._loop = loop or asyncio.get_running_loop()
        self._epoch_offset = time.time_ns() - int(self._loop.time() * NANOS_PER_SECOND)
        self._queue: list[tuple[Nanos, int, _Timer]] = []
        self._sequence = itertools.count()
        self._wakeup: asyncio.TimerHandle | None = None
        self._wakeup_at: Nanos | None = None
        self._soon: asyncio.Handle | None = None

    def now_ns(self) -> Nanos:
        return int(self._loop.time() * NANOS_PER_SECOND) + self._epoch_offset

    def call_at(self, ts_ns: Nanos, callback: Callable[[], None]) -> _Timer:
        return self._schedule(ts_ns, self.now_ns(), callback)

    def call_later(self, delay_ns: Nanos, callback: Callable[[], None]) -> _Timer:
        now = self.now_ns()
        return self._schedule(now + max(delay_ns, 0), now, callback)

    def _schedule(self, ts_ns: Nanos, now: Nanos, callback: Callable[[], None]) -> _Timer:
        timer = _Timer(callback)
        heapq.heappush(self._queue, (ts_ns, next(self._sequence), timer))
        if ts_ns <= now:
            if self._soon is None:
                self._soon = self._loop.call_soon(self._run_soon)
        else:
            self._arm()
        return timer

    def _arm(self) -> None:
        if not self._queue:
            return
        first = self._queue[0][0]
        if self._wakeup is not None and self._wakeup_at is not None and self._wakeup_at <= first:
            return
        if self._wakeup is not None:
            self._wakeup.cancel()
        self._wakeup_at = first
        self._wakeup = self._loop.call_at((first - self._epoch_offset) / NANOS_PER_SECOND, self._run_due)

    def _run_soon(self) -> None:
        self._soon = None
        self._run(self.now_ns())

    def _run_due(self) -> None:
        due = max(self.now_ns(), self._wakeup_at or 0)
        self._wakeup = self._wakeup_at = None
        self._run(due)

    def _run(self, due: Nanos) -> None:
        """Runs the callbacks due at ``due`` in order, then arms the timer for the next."""
        queue = self._queue
        while queue and queue[0][0] <= due:
            _, _, timer = heapq.heappop(queue)
            if timer.cancelled:
                continue
            try:
                timer.callback()
            except Exception as error:  # noqa: BLE001 - report like asyncio does, then run the next callback
                self._loop.call_exception_handler(
                    {"message": "scheduled callback failed", "exception": error, "callback": timer.callback}
                )
        self._arm()
