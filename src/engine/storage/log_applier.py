"""Applies write-log records to the database on a thread of its own, many records per transaction.

The event loop appends a record to the :class:`~engine.storage.write_log.WriteLog` and hands its statements to
:meth:`LogApplier.put`; the applier thread runs everything queued in one transaction together with the new
``applied_seq``, then deletes the segments that are fully applied. The thread looks every ``linger_s`` rather
than being woken by each record (unless a burst piles up), so a commit does not hand the GIL to it. The
database driver releases the GIL while SQLite works, so most of that cost leaves the event loop's core.
Readers of what the log wrote (a resend request reading kept messages, a store being opened) call
:meth:`LogApplier.sync` first.

A failed transaction stops the applier: ``on_error`` is told (from the applier's thread) and every later
:meth:`sync` raises. The records stay in the log, to be applied by the next start.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import Engine

from engine.storage.db import StorageError
from engine.storage.driver_sql import BoundStatement, run_bound
from engine.storage.write_log import SET_APPLIED

log = logging.getLogger(__name__)

DEFAULT_LINGER_S = 0.002
"""How often the applier looks for records: those of that time share a transaction."""
_HURRY_AT = 256
"""Records queued at which :meth:`LogApplier.put` wakes the applier at once (a burst: apply it before it grows)."""


class LogApplier:
    """The thread that applies the log's records; :meth:`put` and :meth:`sync` are called from the event loop."""

    def __init__(
        self,
        database: Engine,
        applied_seq: int,
        *,
        on_error: Callable[[BaseException], None],
        linger_s: float = DEFAULT_LINGER_S,
    ) -> None:
        self._database = database
        self._on_error = on_error
        self._linger_s = linger_s
        self._cond = threading.Condition()
        self._pending: list[tuple[int, list[BoundStatement]]] = []
        self._retired: list[tuple[int, Path]] = []
        self._busy = False
        self._stopping = False
        self._error: BaseException | None = None
        self.applied_seq = applied_seq
        """The last record applied and committed."""
        self.transactions = 0
        """Transactions committed so far."""
        self._thread = threading.Thread(target=self._run, name="write-log-applier", daemon=True)
        self._thread.start()

    def put(self, seq: int, statements: list[BoundStatement], retired: Path | None = None) -> None:
        """Queues record ``seq``; ``retired`` is a segment to delete once everything up to ``seq`` is applied."""
        with self._cond:
            self._pending.append((seq, statements))
            if retired is not None:
                self._retired.append((seq, retired))
            if len(self._pending) >= _HURRY_AT:
                self._cond.notify()

    def sync(self) -> None:
        """Waits until every record queued so far is applied; raises :class:`StorageError` if the applier
        failed."""
        with self._cond:
            self._cond.notify_all()  # no lingering: someone is waiting
            self._cond.wait_for(lambda: self._error is not None or not (self._pending or self._busy))
            if self._error is not None:
                raise StorageError(f"the write log could not be applied to the database: {self._error}")

    def close(self) -> None:
        """Applies what is queued, then stops the thread."""
        with self._cond:
            self._stopping = True
            self._cond.notify()
        self._thread.join()

    def _run(self) -> None:
        with self._database.connect() as conn:
            while True:
                with self._cond:
                    if not self._stopping:
                        # Woken by the clock, not by each put: a wake-up per commit would take the GIL from the
                        # event loop at the moment it sends what the commit released.
                        self._cond.wait(self._linger_s)
                    if not self._pending:
                        if self._stopping:
                            return
                        continue
                    batch, self._pending = self._pending, []
                    last = batch[-1][0]
                    retired = [path for seq, path in self._retired if seq <= last]
                    self._retired = [(seq, path) for seq, path in self._retired if seq > last]
                    self._busy = True
                try:
                    with conn.begin():
                        for _, statements in batch:
                            run_bound(conn, statements)
                        SET_APPLIED.execute(conn, ((last,),))
                except Exception as error:  # noqa: BLE001 - any failure stops the applier and the engine is told
                    log.critical("the write log could not be applied through record %d: %s", last, error)
                    with self._cond:
                        self._error = error
                        self._busy = False
                        self._cond.notify_all()
                    self._on_error(error)
                    return
                for path in retired:
                    path.unlink(missing_ok=True)
                with self._cond:
                    self.applied_seq = last
                    self.transactions += 1
                    self._busy = False
                    self._cond.notify_all()
