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


def test_asyncio_scheduler_runs_what_is_due_now_on_the_next_turn_in_order_and_keeps_later_timers() -> None:
    async def scenario() -> tuple[list[str], int, int]:
        loop = asyncio.get_running_loop()
        scheduler = AsyncioScheduler()
        seen: list[str] = []
        done = asyncio.Event()
        later_at = scheduler.now_ns() + 20 * NANOS_PER_MILLI

        def later() -> None:
            seen.append("later, on time" if scheduler.now_ns() >= later_at else "later, early")
            done.set()

        scheduler.call_at(later_at, later)
        armed = len(loop._scheduled)  # type: ignore[attr-defined]
        scheduler.call_later(0, lambda: seen.append("order"))
        scheduler.call_later(0, lambda: seen.append("cancel of the order"))
        scheduler.call_at(scheduler.now_ns() - NANOS_PER_MILLI, lambda: seen.append("overdue"))
        scheduler.call_later(0, lambda: seen.append("never")).cancel()
        seen.append("caller's turn")
        await asyncio.sleep(0)
        seen.append("next turn")
        timers_after = len(loop._scheduled)  # type: ignore[attr-defined]
        await asyncio.wait_for(done.wait(), timeout=5)
        return seen, armed, timers_after

    seen, armed, timers_after = asyncio.run(scenario())
    assert seen == ["caller's turn", "overdue", "order", "cancel of the order", "next turn", "later, on time"]
    assert timers_after == armed  # the later timer was neither cancelled nor remade
