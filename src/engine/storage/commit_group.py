"""Group commit: every write of one event-loop turn in one transaction, and the sends that must wait for it.

Committing each execution report and each FIX sequence number on its own costs a transaction per message. A
:class:`CommitGroup` lets writers (the journal, the FIX session stores) buffer what they write during a turn of
the event loop; at the end of the turn it writes all of it in one transaction, then releases the bytes held
back for the sockets, in the order they were sent. Nothing that depends on a write leaves the process before
that write is committed: a client never sees an acknowledgement or a sequence number that a crash could undo.

Writers join with a flush function; they call :meth:`CommitGroup.mark` when they have buffered something, and
route their sends through :meth:`CommitGroup.send`. A send made while nothing is buffered goes out at once.
The commit comes at the end of the first turn that holds a send, and at the latest ``max_delay_ns`` after the
first buffered write (writes that nothing outside depends on yet: an order on its way to the in-process venue,
the next expected sequence number), so an order and its acknowledgement usually share one transaction.
If a commit fails, the held sends are dropped (they were never valid) and ``on_failure`` hears why.

With a ``write_log`` directory, a commit is one record appended to the write log (:mod:`engine.storage.write_log`)
instead of a transaction: the held sends leave as soon as the record is written, and a process of its own
applies the records to the database behind (:mod:`engine.storage.log_applier`). Readers of what the writers
wrote call :meth:`sync`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from itertools import groupby
from operator import itemgetter
from pathlib import Path

from sqlalchemy import Connection, Engine

from core.numbers import NANOS_PER_MILLI, NANOS_PER_SECOND, Nanos
from engine.storage.db import StorageError
from engine.storage.driver_sql import WriteBatch
from engine.storage.log_applier import ProcessLogApplier
from engine.storage.write_log import WriteLog, open_write_log

log = logging.getLogger(__name__)

Flush = Callable[[WriteBatch], None]
"""A writer's flush: adds what it buffered to the batch of the commit (and empties its buffers)."""
DEFAULT_MAX_DELAY_NS: Nanos = 2 * NANOS_PER_MILLI


class CommitGroup:
    """One transaction (or one write-log record) per event-loop turn for the writers that join it.

    Commits run as callbacks on ``loop``. ``on_failure`` is told, on the loop, when a commit fails or the write
    log cannot be applied; the caller should stop trading (the engine's state is ahead of what is stored).
    ``write_log``: the directory of the write log, whose records the database has not seen are applied at
    once (:func:`~engine.storage.write_log.open_write_log` says what can go wrong). Not thread-safe: use it from
    the event loop's thread.
    """

    def __init__(
        self,
        database: Engine,
        loop: asyncio.AbstractEventLoop,
        *,
        max_delay_ns: Nanos = DEFAULT_MAX_DELAY_NS,
        on_failure: Callable[[BaseException], None] | None = None,
        write_log: Path | None = None,
    ) -> None:
        self._log: WriteLog | None = None
        self._applier: ProcessLogApplier | None = None
        if write_log is not None:
            self._log = open_write_log(database, write_log)
            self._applier = ProcessLogApplier(database, self._log, loop, on_error=self._failed)
        self._conn: Connection | None = database.connect()
        self._loop = loop
        self._max_delay_s = max_delay_ns / NANOS_PER_SECOND
        self._on_failure = on_failure
        self._flushes: list[Flush] = []
        self._held: list[tuple[Callable[[bytes], object], bytes]] = []
        self._dirty = False
        self._dirty_since = 0.0
        """The loop's time of the first write buffered since the last commit."""
        self._soon: asyncio.Handle | None = None
        self._deadline: asyncio.TimerHandle | None = None
        """The timer that commits within ``max_delay_ns`` of the first buffered write. A commit leaves it running
        (rescheduling a timer per commit costs more than the spare wake-up): when it fires it commits what is
        then overdue, or waits for what is not yet."""
        self._deadline_at = 0.0
        """When the running deadline timer fires (loop time)."""
        self.commits = 0
        """Transactions committed so far."""

    @property
    def connection(self) -> Connection:
        """The connection every flush writes on (and a writer may read from)."""
        if self._conn is None:
            raise StorageError("the commit group is closed")
        return self._conn

    def join(self, flush: Flush) -> None:
        """Adds a writer: ``flush`` runs, in joining order, inside every commit."""
        self._flushes.append(flush)

    def leave(self, flush: Flush) -> None:
        """Removes a writer (after committing what it buffered)."""
        if self._dirty and self._conn is not None:
            self.commit()
        self._flushes.remove(flush)

    def mark(self) -> None:
        """A writer buffered something: commit within ``max_delay_ns``, or sooner if a send waits for it."""
        if self._dirty:
            return
        self._dirty = True
        self._dirty_since = self._loop.time()
        if self._deadline is None:
            self._schedule_deadline()

    def send(self, write: Callable[[bytes], object], data: bytes) -> None:
        """Writes ``data`` with ``write`` now when nothing is pending, else after the commit at the end of this
        turn (in order)."""
        if self._dirty or self._held:
            self._held.append((write, data))
            if self._soon is None:
                self._soon = self._loop.call_soon(self._commit_soon)
        else:
            write(data)

    def commit(self) -> None:
        """Writes what every writer buffered in one transaction (or one write-log record), then releases the held
        sends."""
        if self._soon is not None:
            self._soon.cancel()
            self._soon = None
        if self._dirty:
            conn = self.connection
            self._dirty = False
            batch = WriteBatch(conn.dialect)
            try:
                for flush in self._flushes:
                    flush(batch)
                statements = batch.statements
                if self._log is not None and self._applier is not None:
                    if statements:
                        self._applier.put(self._log.append(statements))
                else:
                    with conn.begin():
                        batch.run(conn)
            except Exception as error:  # noqa: BLE001 - whatever broke the commit, what waited for it must not leave
                self._held.clear()
                log.critical("commit failed; the sends waiting for it are dropped: %s", error)
                self._failed(error)
                return
            self.commits += 1
        held = self._held
        if not held:
            return
        self._held = []
        if len(held) == 1:
            _release(*held[0])
            return
        # Consecutive sends to one writer go out as one write: one system call for a burst of reports.
        for write, run in groupby(held, key=itemgetter(0)):
            _release(write, b"".join([chunk for _, chunk in run]))

    def sync(self) -> None:
        """Commits what is pending and, with a write log, waits until the database holds it: call before reading
        what the writers wrote. Raises :class:`StorageError` when the log could not be applied."""
        self.commit()
        if self._applier is not None:
            self._applier.sync()

    def close(self) -> None:
        """Commits what is pending, waits for the write log to be applied and releases the connection."""
        if self._conn is None:
            return
        try:
            self.commit()
        finally:
            if self._deadline is not None:
                self._deadline.cancel()
                self._deadline = None
            if self._applier is not None:
                self._applier.close()
            if self._log is not None:
                self._log.close()
            self._conn.close()
            self._conn = None

    def _failed(self, error: BaseException) -> None:
        if self._on_failure is None:
            raise error
        self._on_failure(error)

    def _commit_soon(self) -> None:
        self._soon = None
        if self._conn is not None:
            self.commit()

    def _commit_overdue(self) -> None:
        self._deadline = None
        if self._conn is None or not self._dirty:
            return
        if self._dirty_since + self._max_delay_s <= self._deadline_at:
            self.commit()
        else:  # the timer was set for writes committed since: the ones buffered now are not due yet
            self._schedule_deadline()

    def _schedule_deadline(self) -> None:
        self._deadline_at = self._dirty_since + self._max_delay_s
        self._deadline = self._loop.call_at(self._deadline_at, self._commit_overdue)


def _release(write: Callable[[bytes], object], data: bytes) -> None:
    try:
        write(data)
    except Exception:  # one broken connection must not keep the others' bytes back
        log.exception("a send released by the commit failed")
