"""Applies write-log records to the database from a process of its own, many records per transaction.

The event loop appends a record to the :class:`~engine.storage.write_log.WriteLog` and tells
:meth:`ProcessLogApplier.put`; the process (:mod:`engine.write_log_applier`) follows the segment files, runs
what they hold every ``linger_s`` in one transaction together with the new ``applied_seq``, and deletes the
segments that are fully applied. A thread would share the interpreter lock with the event loop (about 16% of
it went to applying the log when it was one); a process shares nothing but the files. Readers of what the log
wrote (a resend request reading kept messages, a store being opened) call :meth:`ProcessLogApplier.sync` first.

A failed transaction stops the applier: ``on_error`` is told (on the event loop) and every later :meth:`sync`
raises. The records stay in the log, to be applied by the next start.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import subprocess
import sys
import time
from collections.abc import Callable

from sqlalchemy import Engine

from engine.storage.db import StorageError
from engine.storage.write_log import PROGRESS, SET_APPLIED, WriteLog

log = logging.getLogger(__name__)

DEFAULT_LINGER_S = 0.002
"""How often the applier looks for records: those of that time share a transaction."""


_SYNC_ATTEMPTS = 50
"""Answers :meth:`ProcessLogApplier.sync` waits for before it gives up on a record that does not read back."""
_RESTARTS = 3
"""Times a lost applier process is started again before the engine is told to stop trading."""


class ProcessLogApplier:
    """Applies the log from a process of its own (:mod:`engine.write_log_applier`), which follows the segment
    files: the event loop's interpreter lock is not shared with the database work.

    For a SQLite file database (the write log is used for no other). ``on_error`` is called on ``loop`` when the
    process reports that it cannot apply the log; a process that dies without a word (killed) is started again,
    up to a few times, as it resumes from the database's ``applied_seq``.
    """

    def __init__(
        self,
        database: Engine,
        log: WriteLog,
        loop: asyncio.AbstractEventLoop,
        *,
        on_error: Callable[[BaseException], None],
        linger_s: float = DEFAULT_LINGER_S,
    ) -> None:
        name = database.url.database
        if database.dialect.name != "sqlite" or not name:
            raise ValueError("the write log is applied from a process only to a SQLite file database")
        dialect = database.dialect
        self._command = [
            sys.executable, "-m", "engine.write_log_applier", name, str(log.directory), str(log.segment_bytes),
            repr(linger_s), str(PROGRESS.compile(dialect=dialect, compile_kwargs={"literal_binds": True})),
            SET_APPLIED.bind(dialect, [])[0],
        ]  # fmt: skip
        self._loop = loop
        self._on_error = on_error
        self._error: BaseException | None = None
        self._last_put = log.next_seq - 1
        self._restarts = 0
        self._lines = b""
        self._start()

    def _start(self) -> None:
        # A session of its own: a Ctrl+C at the terminal stops the engine, which then stops its applier, in order.
        process = subprocess.Popen(
            self._command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=0, start_new_session=True
        )
        assert process.stdin is not None
        assert process.stdout is not None
        self._process = process
        self._requests = process.stdin
        self._answers = process.stdout.fileno()
        self._loop.add_reader(self._answers, self._on_output)

    def put(self, seq: int) -> None:
        """Record ``seq`` is in the log: the process reads it from there."""
        self._last_put = seq

    def sync(self) -> None:
        """Waits until every record put so far is applied; raises :class:`StorageError` if it cannot be."""
        for _ in range(_SYNC_ATTEMPTS):
            if self._error is not None:
                raise StorageError(f"the write log could not be applied to the database: {self._error}")
            applied = self._ask()
            if applied is not None and applied >= self._last_put:
                return
            time.sleep(0.01)  # a record still being written, or a process being started again
        raise StorageError(f"the write log was not applied through record {self._last_put}")

    def close(self) -> None:
        """Applies what the log holds, then stops the process."""
        if not self._loop.is_closed():
            self._loop.remove_reader(self._answers)
        with contextlib.suppress(OSError):
            self._requests.write(b"q")
        with contextlib.suppress(OSError):
            self._requests.close()
        said = self._lines
        while chunk := os.read(self._answers, 4096):
            said += chunk
        if self._process.wait(timeout=60) != 0:
            log.critical("the write-log applier exited with %s: %r", self._process.returncode, said)

    def _ask(self) -> int | None:
        """The applied sequence number after everything written so far, or None when the process is gone."""
        try:
            self._requests.write(b"s")
        except OSError:
            self._lost()
            return None
        while b"\n" not in self._lines:
            chunk = os.read(self._answers, 4096)
            if not chunk:
                self._lost()
                return None
            self._lines += chunk
        line, _, self._lines = self._lines.partition(b"\n")
        return self._answer(line)

    def _answer(self, line: bytes) -> int | None:
        if line.startswith(b"a"):
            return int(line[1:])
        self._failed(StorageError(line[1:].decode(errors="replace")))
        return None

    def _on_output(self) -> None:
        """Something the process said unasked: an error, or its end."""
        chunk = os.read(self._answers, 4096)
        if not chunk:
            self._lost()
            return
        self._lines += chunk
        while b"\n" in self._lines:
            line, _, self._lines = self._lines.partition(b"\n")
            self._answer(line)

    def _lost(self) -> None:
        """The process ended: start it again unless it said why (or has been lost too often)."""
        self._loop.remove_reader(self._answers)
        self._process.wait()
        if self._error is not None:
            return
        if self._restarts >= _RESTARTS:
            self._failed(StorageError(f"the write-log applier process ended {self._restarts + 1} times"))
            return
        self._restarts += 1
        log.warning("the write-log applier process ended (%s); starting it again", self._process.returncode)
        self._lines = b""
        self._start()

    def _failed(self, error: BaseException) -> None:
        if self._error is None:
            self._error = error
            log.critical("the write log could not be applied: %s", error)
            self._on_error(error)
