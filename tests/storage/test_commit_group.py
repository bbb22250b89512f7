"""Group commit on a real SQLite file and a real event loop: a send never leaves before the writes it follows
are committed, a turn's writes share one transaction, and a failed commit drops what waited for it."""

from __future__ import annotations

import asyncio

from sqlalchemy import Engine

from core.numbers import NANOS_PER_MILLI
from engine.fix.store import SqlSessionStore
from engine.storage.commit_group import CommitGroup
from engine.storage.driver_sql import WriteBatch
from tests.storage.session_rows import stored_session


def test_a_send_waits_for_the_commit_of_the_writes_before_it(database: Engine) -> None:
    async def scenario() -> list[tuple[bytes, tuple[int, int, list[int]]]]:
        group = CommitGroup(database, asyncio.get_running_loop())
        store = SqlSessionStore(database, "K", group=group)
        seen: list[tuple[bytes, tuple[int, int, list[int]]]] = []

        def write(data: bytes) -> None:
            seen.append((data, stored_session(database, "K")))

        store.set_next_target_seq(2)
        store.save_sent(1, b"frame-1", 0)
        store.send(write, b"frame-1")
        store.save_sent(2, b"frame-2", 0)
        store.send(write, b"frame-2")
        assert seen == []  # held within the turn
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        assert group.commits == 1
        group.close()
        return seen

    seen = asyncio.run(scenario())
    # One write for the burst, in order; when it left, both numbers and both kept frames were committed.
    assert seen == [(b"frame-1frame-2", (3, 2, [1, 2]))]


def test_a_send_with_nothing_pending_goes_out_at_once(database: Engine) -> None:
    async def scenario() -> list[bytes]:
        group = CommitGroup(database, asyncio.get_running_loop())
        sent: list[bytes] = []
        group.send(sent.append, b"heartbeat")
        assert sent == [b"heartbeat"]
        group.close()
        return sent

    assert asyncio.run(scenario()) == [b"heartbeat"]


def test_writes_nothing_waits_for_are_committed_within_the_delay(database: Engine) -> None:
    async def scenario() -> int:
        group = CommitGroup(database, asyncio.get_running_loop(), max_delay_ns=5 * NANOS_PER_MILLI)
        store = SqlSessionStore(database, "K", group=group)
        store.set_next_target_seq(7)
        await asyncio.sleep(0)
        assert stored_session(database, "K")[1] == 1  # not yet: nothing was sent
        await asyncio.sleep(0.05)
        group.close()
        return stored_session(database, "K")[1]

    assert asyncio.run(scenario()) == 7


def test_writes_after_a_commit_are_committed_within_the_delay_of_their_own(database: Engine) -> None:
    async def scenario() -> list[tuple[int, int, list[int]]]:
        group = CommitGroup(database, asyncio.get_running_loop(), max_delay_ns=20 * NANOS_PER_MILLI)
        store = SqlSessionStore(database, "K", group=group)
        seen: list[tuple[int, int, list[int]]] = []
        store.set_next_target_seq(2)  # starts the delay
        store.save_sent(1, b"frame-1", 0)
        store.send(lambda _data: None, b"frame-1")  # commits at the end of the turn, before the delay is up
        await asyncio.sleep(0.01)
        seen.append(stored_session(database, "K"))
        store.set_next_target_seq(3)  # nothing waits for it: the delay's own commit writes it
        await asyncio.sleep(0.1)
        seen.append(stored_session(database, "K"))
        group.close()
        return seen

    assert asyncio.run(scenario()) == [(2, 2, [1]), (2, 3, [1])]


def test_a_failed_commit_drops_the_sends_that_waited_and_says_why(database: Engine) -> None:
    failures: list[BaseException] = []

    def broken(_batch: WriteBatch) -> None:
        raise RuntimeError("disk full")

    async def scenario() -> list[bytes]:
        group = CommitGroup(database, asyncio.get_running_loop(), on_failure=failures.append)
        group.join(broken)
        sent: list[bytes] = []
        group.mark()
        group.send(sent.append, b"execution report")
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        group.leave(broken)
        group.send(sent.append, b"after the failure")
        return sent

    assert asyncio.run(scenario()) == [b"after the failure"]
    assert [str(error) for error in failures] == ["disk full"]
