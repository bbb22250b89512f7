"""The busy-polling event loop (``serve --busy-poll-us``): it answers sockets and fires timers as asyncio's own
loop does, spins while it is kept busy, and gives its core back once idle past the spin."""

from __future__ import annotations

import asyncio
import selectors
import socket
import time
from collections.abc import Coroutine
from typing import Any, TypeVar

import pytest

from engine.busy_poll import BusyPollSelector, event_loop_factory

T = TypeVar("T")


def _run(busy_poll_us: int, main: Coroutine[Any, Any, T]) -> T:
    with asyncio.Runner(loop_factory=lambda: event_loop_factory(busy_poll_us)) as runner:
        return runner.run(main)


async def _echo_round_trips(count: int) -> list[bytes]:
    async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while data := await reader.read(1024):
            writer.write(data)
        writer.close()

    server = await asyncio.start_server(echo, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    answers = []
    for index in range(count):
        writer.write(b"ping %d\n" % index)
        answers.append(await reader.readline())
    writer.close()
    server.close()
    await server.wait_closed()
    return answers


def test_a_busy_polling_loop_serves_sockets_like_the_default_loop() -> None:
    expected = [b"ping %d\n" % index for index in range(50)]
    assert _run(0, _echo_round_trips(50)) == expected
    assert _run(1_000, _echo_round_trips(50)) == expected
    loop = event_loop_factory(1_000)
    try:
        assert isinstance(loop._selector, BusyPollSelector)  # type: ignore[attr-defined]
    finally:
        loop.close()


def test_timers_fire_on_time_while_the_loop_spins() -> None:
    async def late_by() -> float:
        loop = asyncio.get_running_loop()
        fired = loop.create_future()
        start = time.perf_counter()
        loop.call_later(0.05, lambda: fired.set_result(time.perf_counter()))
        return await fired - start

    waited = _run(1_000_000, late_by())  # a spin of 1 s, far longer than the timer
    assert 0.05 <= waited < 0.5


def test_an_idle_loop_gives_its_core_back_after_the_spin() -> None:
    async def idle_cpu_s(seconds: float) -> float:
        start = time.process_time()
        await asyncio.sleep(seconds)
        return time.process_time() - start

    spinning = _run(2_000_000, idle_cpu_s(0.3))  # spins through the whole sleep
    sleeping = _run(1_000, idle_cpu_s(0.3))  # spins 1 ms, then blocks
    assert spinning > 0.15
    assert sleeping < 0.1


def test_a_blocking_wait_follows_the_spin_and_wakes_on_data() -> None:
    selector = BusyPollSelector(1_000)
    left, right = socket.socketpair()
    try:
        selector.register(left, selectors.EVENT_READ)
        assert selector.select(0.02) == []
        right.send(b"x")
        ready = selector.select(None)
        assert [key.fileobj for key, _ in ready] == [left]
        selector.unregister(left)
        assert left not in selector.get_map()
    finally:
        selector.close()
        left.close()
        right.close()


def test_the_spin_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        BusyPollSelector(0)
