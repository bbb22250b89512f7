"""The schedulers keep time order and, at equal times, scheduling order: a cancel never overtakes its order."""

from __future__ import annotations

import asyncio

from core.numbers import NANOS_PER_MILLI
from engine.clock import AsyncioScheduler, SimulatedScheduler


def test_simulated_scheduler_runs_in_time_then_scheduling_order() -> None:
    scheduler = SimulatedScheduler(1_000)
    seen: list[str] = []
    scheduler.call_at(2_000, lambda: seen.append("b"))
    scheduler.call_at(1_500, lambda: seen.append("a"))
    scheduler.call_at(2_000, lambda: seen.append("c"))
    cancelled = scheduler.call_at(1_800, lambda: seen.append("never"))
    cancelled.cancel()
    scheduler.run_until(3_000)
    assert seen == ["a", "b", "c"]
    assert scheduler.now_ns() == 3_000


def test_asyncio_scheduler_keeps_scheduling_order_at_equal_times_and_survives_a_raising_callback() -> None:
    async def scenario() -> tuple[list[int], list[str]]:
        loop = asyncio.get_running_loop()
        errors: list[str] = []
        loop.set_exception_handler(lambda _, context: errors.append(str(context["exception"])))
        scheduler = AsyncioScheduler()
        seen: list[int] = []
        done = asyncio.Event()
        due = scheduler.now_ns() + 5 * NANOS_PER_MILLI
        for index in range(200):
            scheduler.call_at(due, lambda index=index: seen.append(index))
            if index == 50:
                scheduler.call_at(due, lambda: 1 / 0)  # type: ignore[func-returns-value]
        skipped = scheduler.call_at(due, lambda: seen.append(-1))
        skipped.cancel()
        scheduler.call_later(1 * NANOS_PER_MILLI, lambda: seen.insert(0, 1000))
        scheduler.call_at(due, done.set)
        await asyncio.wait_for(done.wait(), timeout=5)
        return seen, errors

    seen, errors = asyncio.run(scenario())
    assert seen == [1000, *range(200)]
    assert errors == ["division by zero"]
