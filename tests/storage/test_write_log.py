"""The write log in front of a real SQLite file: a commit is one appended record, a process applies it behind,
records the database never saw are applied at the next start, and a damaged or foreign log stops the start."""

from __future__ import annotations

import asyncio
import logging
import shutil
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from engine.fix import store as fix_store
from engine.fix.store import SqlSessionStore
from engine.storage.commit_group import CommitGroup
from engine.storage.db import StorageError, open_database
from engine.storage.driver_sql import WriteBatch
from engine.storage.write_log import WRITE_LOG, open_write_log
from tests.storage.session_rows import stored_session


def _applied(database: Engine) -> int:
    with database.connect() as conn:
        return int(conn.execute(select(WRITE_LOG.c.applied_seq)).scalar_one())


def _segments(directory: Path) -> list[Path]:
    return sorted(directory.glob("*.wlog"))


def _sent_frames(database: Engine, directory: Path, frames: int) -> None:
    """Writes ``frames`` records to the log as a session store would, with nothing applying them (a crash
    before the applier got to them)."""
    store = SqlSessionStore(database, "K")  # makes the session's row, committed
    store.close()
    log = open_write_log(database, directory)
    with database.connect() as conn:
        for seq in range(1, frames + 1):
            grouped = _BatchOf(conn.dialect)
            grouped.kept(seq)
            log.append(grouped.statements)
    log.close()


class _BatchOf(WriteBatch):
    """The statements a grouped session store writes for one sent frame (its own statements)."""

    def kept(self, seq: int) -> None:
        self.add(fix_store._INSERT_KEPT, [("K", seq, b"frame-%d" % seq, 0)])
        self.add(fix_store._UPDATE_SEQS, [(seq + 1, 1, "K")])


def test_a_commit_is_one_record_and_the_database_holds_it_after_sync(database: Engine, tmp_path: Path) -> None:
    directory = tmp_path / "engine.db-writes"

    async def scenario() -> tuple[int, int, list[int]]:
        group = CommitGroup(database, asyncio.get_running_loop(), write_log=directory)
        store = SqlSessionStore(database, "K", group=group)
        sent: list[bytes] = []
        store.save_sent(1, b"frame-1", 0)
        store.send(sent.append, b"frame-1")
        store.save_sent(2, b"frame-2", 0)
        store.send(sent.append, b"frame-2")
        assert sent == []  # held until the record is written
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        assert sent == [b"frame-1frame-2"]
        assert group.commits == 1
        assert _segments(directory)[0].stat().st_size > 0
        group.sync()
        stored = stored_session(database, "K")
        assert store.sent_range(1, 2) == [(1, b"frame-1"), (2, b"frame-2")]
        store.close()
        group.close()
        return stored

    stored = asyncio.run(scenario())
    assert stored == (3, 1, [1, 2])
    assert _applied(database) == 1


def test_records_the_database_never_saw_are_applied_at_the_next_start(database: Engine, tmp_path: Path) -> None:
    directory = tmp_path / "engine.db-writes"
    _sent_frames(database, directory, 3)
    assert stored_session(database, "K") == (1, 1, [])

    log = open_write_log(database, directory)

    assert stored_session(database, "K") == (4, 1, [1, 2, 3])
    assert _applied(database) == 3
    assert log.next_seq == 4
    assert _segments(directory) == [log.segment]  # the applied segment is gone, a new one is open
    log.close()
    # A second start applies nothing twice.
    open_write_log(database, directory).close()
    assert stored_session(database, "K") == (4, 1, [1, 2, 3])


def test_a_torn_last_record_is_dropped_with_a_warning(
    database: Engine, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    directory = tmp_path / "engine.db-writes"
    _sent_frames(database, directory, 2)
    (segment,) = _segments(directory)
    segment.write_bytes(segment.read_bytes()[:-5])  # the crash came in the middle of the second write

    with caplog.at_level(logging.WARNING, logger="engine.storage.write_log"):
        open_write_log(database, directory).close()

    assert stored_session(database, "K") == (2, 1, [1])
    assert "dropped a torn record" in caplog.text


def test_a_record_damaged_before_the_end_stops_the_start(database: Engine, tmp_path: Path) -> None:
    directory = tmp_path / "engine.db-writes"
    _sent_frames(database, directory, 2)
    (segment,) = _segments(directory)
    data = bytearray(segment.read_bytes())
    data[60] ^= 0xFF  # inside the first record's payload
    segment.write_bytes(bytes(data))

    with pytest.raises(StorageError, match=r"is damaged at byte 24: its checksum does not match"):
        open_write_log(database, directory)
    assert stored_session(database, "K") == (1, 1, [])  # nothing applied


def test_the_log_of_another_database_is_refused(database: Engine, tmp_path: Path) -> None:
    directory = tmp_path / "engine.db-writes"
    _sent_frames(database, directory, 1)
    other = open_database(f"sqlite:///{tmp_path / 'other.db'}")
    try:
        foreign = tmp_path / "other.db-writes"
        shutil.copytree(directory, foreign)
        with pytest.raises(StorageError, match="belongs to another database"):
            open_write_log(other, foreign)
    finally:
        other.dispose()


def test_a_record_the_database_refuses_engages_the_failure_path(database: Engine, tmp_path: Path) -> None:
    directory = tmp_path / "engine.db-writes"
    failures: list[BaseException] = []

    def refused(batch: WriteBatch) -> None:
        batch.statements.append(("INSERT INTO no_such_table VALUES (?)", [(1,)]))

    async def scenario() -> str:
        group = CommitGroup(database, asyncio.get_running_loop(), write_log=directory, on_failure=failures.append)
        group.join(refused)
        group.mark()
        await asyncio.sleep(0.05)  # the deadline commits, the applier fails and the loop hears of it
        with pytest.raises(StorageError, match="could not be applied") as raised:
            group.sync()
        group.leave(refused)
        group.close()
        return str(raised.value)

    message = asyncio.run(scenario())
    assert "no_such_table" in message
    assert len(failures) == 1
    assert "no_such_table" in str(failures[0])
    # The record stays in the log: the next start tries it again, and says why it cannot start.
    with pytest.raises(StorageError, match=r"record 1 of the write log .* cannot be applied"):
        open_write_log(database, directory)
