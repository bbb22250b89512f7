"""The process that applies the write log to a SQLite database: ``python -m engine.write_log_applier``.

A thread applying the log shares the interpreter lock with the event loop that writes it; a process of its own
does not. It follows the segment files as they grow (the event loop's only cost is the ``os.write`` it makes
anyway), applies what they hold every ``linger_s`` in one transaction with the new ``applied_seq``, and deletes a
segment once a later one has begun and everything in it is applied. It needs only the standard library and
sqlite3, so that it starts in milliseconds; the parent
(:class:`~engine.storage.log_applier.ProcessLogApplier`) gives it the SQL it runs besides the records'.

Protocol, on its standard input and output: ``s`` asks for everything written so far to be applied, answered by
``a<applied_seq>\\n``; ``q`` (or the end of the input: the parent is gone) applies what is complete and exits 0.
An error is written as ``e<message>\\n`` before exiting 1; the records stay in the log for the next start.

Arguments: the database file, the log's directory, the segment size (bytes), the linger (seconds), the SQL that
reads ``(token, applied_seq)`` and the SQL that sets ``applied_seq`` (one ``?`` parameter).
"""

from __future__ import annotations

import os
import pickle
import select
import sqlite3
import sys
from pathlib import Path
from typing import Any

from engine.write_log_format import FILE_HEADER, MAGIC, RECORD_HEADER, SUFFIX, lock_log, record_damage, segment_path

BUSY_TIMEOUT_MS = 5_000
LOCK_WAIT_S = 60.0
"""How long to wait for the log's lock (an earlier applier of a killed engine finishing its last records)."""
_READ_CHUNK = 1 << 20


class ApplyError(Exception):
    """The log cannot be applied (the message says why); the records stay in the log."""


class SegmentTail:
    """Reads the records appended to the log's segments since the last read, across segment boundaries."""

    def __init__(self, directory: Path, token: bytes, applied_seq: int, segment_bytes: int) -> None:
        self._directory = directory
        self._token = token
        self._segment_bytes = segment_bytes
        self.next_seq = applied_seq + 1
        """The sequence number of the next record to read."""
        self.finished: list[Path] = []
        """Segments read to their end, a later one having begun: delete them once what they held is applied."""
        self._path = self._segment_holding(self.next_seq)
        self._fd = -1
        self._buffer = bytearray()
        self._offset = 0
        """Bytes of the current segment consumed (the header included)."""

    def _segment_holding(self, seq: int) -> Path:
        """The segment that holds record ``seq``: the last one whose first record is at or before it."""
        firsts = sorted(int(path.name[: -len(SUFFIX)]) for path in self._directory.glob(f"*{SUFFIX}"))
        earlier = [first for first in firsts if first <= seq]
        return segment_path(self._directory, earlier[-1] if earlier else seq)

    def read(self) -> list[tuple[int, list[tuple[str, list[Any]]]]]:
        """The complete records appended since the last read (those already applied skipped)."""
        records: list[tuple[int, list[tuple[str, list[Any]]]]] = []
        while True:
            if self._fd < 0:
                try:
                    self._fd = os.open(self._path, os.O_RDONLY)
                except FileNotFoundError:
                    return records
            while chunk := os.read(self._fd, _READ_CHUNK):
                self._buffer += chunk
            self._take_records(records)
            if self._offset < self._segment_bytes:
                return records
            following = segment_path(self._directory, self.next_seq)
            if not following.exists():
                return records
            # The writer opens the next segment only after its last append to this one: read what is left first.
            while chunk := os.read(self._fd, _READ_CHUNK):
                self._buffer += chunk
            self._take_records(records)
            if self._buffer:
                raise ApplyError(f"the write log {self._path} ends in a damaged record, and {following} follows it")
            os.close(self._fd)
            self._fd = -1
            self.finished.append(self._path)
            self._path, self._offset = following, 0

    def _take_records(self, records: list[tuple[int, list[tuple[str, list[Any]]]]]) -> None:
        data = self._buffer
        position = 0
        if self._offset == 0:
            if len(data) < FILE_HEADER.size:
                return
            magic, owner = FILE_HEADER.unpack_from(data)
            if magic != MAGIC or owner != self._token:
                raise ApplyError(f"{self._path} is not a write log of this database")
            position = FILE_HEADER.size
        while record_damage(data, position) is None:  # an incomplete record is being written: read it next time
            length, _, seq = RECORD_HEADER.unpack_from(data, position)
            start = position + RECORD_HEADER.size
            if seq >= self.next_seq:
                if seq != self.next_seq:
                    raise ApplyError(f"the write log {self._path} holds record {seq} where {self.next_seq} was due")
                records.append((seq, pickle.loads(data[start : start + length])))
                self.next_seq = seq + 1
            position = start + length
        del data[:position]
        self._offset += position

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


def apply_records(
    conn: sqlite3.Connection, records: list[tuple[int, list[tuple[str, list[Any]]]]], set_applied: str
) -> None:
    """Runs the records' statements and sets ``applied_seq`` to the last record's, in one transaction."""
    cursor = conn.cursor()
    try:
        cursor.execute("BEGIN")
        try:
            for _, statements in records:
                for sql, rows in statements:
                    if len(rows) == 1:
                        cursor.execute(sql, rows[0])
                    else:
                        cursor.executemany(sql, rows)
            cursor.execute(set_applied, (records[-1][0],))
            cursor.execute("COMMIT")
        except BaseException:
            cursor.execute("ROLLBACK")
            raise
    finally:
        cursor.close()


def connect(database_file: str) -> sqlite3.Connection:
    """A connection tuned as the engine's own (WAL, ``synchronous=NORMAL``), in autocommit mode."""
    conn = sqlite3.connect(database_file, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000)
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    return conn


def run(
    database_file: str, directory: Path, segment_bytes: int, linger_s: float, progress_sql: str, set_applied: str
) -> None:
    """Applies the log until told to stop (see the module's docs); raises :class:`ApplyError` or a database
    error when it cannot."""
    lock = lock_log(directory, wait_s=LOCK_WAIT_S)
    conn = connect(database_file)
    try:
        row = conn.execute(progress_sql).fetchone()
        if row is None:
            raise ApplyError("the database has no write-log progress row")
        tail = SegmentTail(directory, bytes.fromhex(row[0]), int(row[1]), segment_bytes)
        applied = int(row[1])
        stopping = False
        while not stopping:
            ready, _, _ = select.select([0], [], [], linger_s)
            requests = os.read(0, 4096) if ready else b""
            stopping = bool(ready) and (not requests or b"q" in requests)
            records = tail.read()
            if records:
                apply_records(conn, records, set_applied)
                applied = records[-1][0]
                for path in tail.finished:
                    path.unlink(missing_ok=True)
                tail.finished.clear()
            if b"s" in requests:
                os.write(1, b"a%d\n" % applied)
        tail.close()
    finally:
        conn.close()
        os.close(lock)


def main(argv: list[str]) -> int:
    """The process's entry point; returns its exit code."""
    database_file, directory, segment_bytes, linger_s, progress_sql, set_applied = argv
    try:
        run(database_file, Path(directory), int(segment_bytes), float(linger_s), progress_sql, set_applied)
    except Exception as error:  # noqa: BLE001 - whatever stops it, the parent is told why and stops trading
        message = f"{type(error).__name__}: {error}".replace("\n", " ")
        os.write(1, b"e" + message.encode("utf-8", "replace") + b"\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
