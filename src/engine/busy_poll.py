"""An event loop that polls its sockets instead of sleeping, for a server that owns a core.

A sleeping event loop pays for its sleep on every message: the kernel wakes the thread when a packet arrives,
which costs tens of microseconds on a virtual machine. Co-located engines spin instead. `BusyPollSelector`
polls without blocking for up to ``spin_ns`` before it falls back to a blocking wait, so a loop that is kept busy
never sleeps and an idle one gives its core back after the spin.
"""

from __future__ import annotations

import asyncio
import selectors
import time
from collections.abc import Mapping
from typing import Any

from core.numbers import NANOS_PER_MICRO, Nanos


class BusyPollSelector(selectors.BaseSelector):
    """A selector that polls the sockets of ``inner`` for up to ``spin_ns`` before it blocks.

    Timers are kept: a wait never spins past its timeout. Registration is the inner selector's.
    """

    def __init__(self, spin_ns: Nanos, inner: selectors.BaseSelector | None = None) -> None:
        if spin_ns <= 0:
            raise ValueError(f"the spin must be positive, not {spin_ns} ns")
        self.spin_ns = spin_ns
        self._inner = inner if inner is not None else selectors.DefaultSelector()

    def register(self, fileobj: Any, events: int, data: Any = None) -> selectors.SelectorKey:
        return self._inner.register(fileobj, events, data)

    def unregister(self, fileobj: Any) -> selectors.SelectorKey:
        return self._inner.unregister(fileobj)

    def modify(self, fileobj: Any, events: int, data: Any = None) -> selectors.SelectorKey:
        return self._inner.modify(fileobj, events, data)

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        poll = self._inner.select
        if timeout is not None and timeout <= 0:
            return poll(0)
        now = time.perf_counter_ns()
        spin_end = now + self.spin_ns
        wait_end = None if timeout is None else now + int(timeout * 1e9)
        if wait_end is not None and wait_end <= spin_end:
            spin_end = wait_end
        while True:
            ready = poll(0)
            if ready:
                return ready
            now = time.perf_counter_ns()
            if now >= spin_end:
                break
        if wait_end is None:
            return poll(None)
        return poll(max(0.0, (wait_end - now) / 1e9)) if now < wait_end else []

    def close(self) -> None:
        self._inner.close()

    def get_map(self) -> Mapping[Any, selectors.SelectorKey]:
        return self._inner.get_map()


def event_loop_factory(busy_poll_us: int) -> asyncio.AbstractEventLoop:
    """A new event loop: asyncio's default when ``busy_poll_us`` is 0, else one on a `BusyPollSelector`."""
    if busy_poll_us == 0:
        return asyncio.new_event_loop()
    return asyncio.SelectorEventLoop(BusyPollSelector(busy_poll_us * NANOS_PER_MICRO))
