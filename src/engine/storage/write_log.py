"""The write log: each group commit appended to a file with one system call, applied to the database behind it.

A commit group that commits to SQL at the end of every event-loop turn puts a transaction on the critical path
of every order: the statements, the database's commit and the Python around them. With a write log the turn's
statements, already bound (:class:`~engine.storage.driver_sql.WriteBatch`), are pickled into one record and
appended to the current segment file with one ``os.write``; the sends that waited for them go out at once, and
:class:`~engine.storage.log_applier.ProcessLogApplier` applies the records to the database from a process of
its own, recording in the same transaction how far it got (the ``write_log`` table).

Durability is the same as the database's with ``synchronous=NORMAL``: a record is in the operating system's
page cache when ``os.write`` returns, so it survives a killed process, not a power loss. On start,
:func:`open_write_log` applies every record the database has not seen, then starts a new segment.

Files: ``<directory>/<first sequence number, 20 digits>.wlog`` (:mod:`engine.write_log_format`). Each begins
with a header (magic and the database's token, so that a log is never applied to another database), then
records: payload length, CRC-32 of the payload and sequence number (little-endian), then the payload. A torn
record at the end of the last segment (a crash in the middle of a write, whose sends never left) is dropped with
a warning; anything else that does not read back is an error that stops the start, naming the file.
"""

from __future__ import annotations

import io
import logging
import os
import pickle
import uuid
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, bindparam, insert, select, update

from engine.storage.db import StorageError
from engine.storage.driver_sql import BoundStatement, DriverStatement, run_bound
from engine.storage.models import WriteLogState, table_of
from engine.write_log_format import (
    FILE_HEADER,
    MAGIC,
    RECORD_HEADER,
    SUFFIX,
    LogBusy,
    is_tail,
    lock_log,
    record_damage,
    segment_path,
)

log = logging.getLogger(__name__)

WRITE_LOG = table_of(WriteLogState)
LOCK_WAIT_S = 30.0
"""How long a start waits for the applier of a killed engine to finish what it was applying."""
DEFAULT_SEGMENT_BYTES = 64 << 20
"""A segment is closed, and deleted once applied, after it grows past this size."""

PROGRESS = select(WRITE_LOG.c.token, WRITE_LOG.c.applied_seq).where(WRITE_LOG.c.id == 1)
"""The log's token and the last record applied (``write_log`` has one row)."""
SET_APPLIED = DriverStatement(update(WRITE_LOG).values(applied_seq=bindparam("b_seq")), ["b_seq"])  # its only row
"""Records how far the log is applied: run in the same transaction as the records (rows ``(seq,)``)."""


@dataclass(frozen=True, slots=True)
class LogRecord:
    """One commit of the log: its sequence number and its statements, bound for the database's dialect."""

    seq: int
    statements: list[BoundStatement]


class WriteLog:
    """The append side of the log; use it from one thread. Build it with :func:`open_write_log`."""

    def __init__(self, directory: Path, token: bytes, next_seq: int, *, segment_bytes: int) -> None:
        if segment_bytes <= 0:
            raise ValueError(f"segment_bytes must be positive, got {segment_bytes}")
        self.directory = directory
        self._token = token
        self._next = next_seq
        self.segment_bytes = segment_bytes
        """Size past which a segment is closed and the next begun."""
        self._fd = -1
        self._size = 0
        self._broken: str | None = None
        # Records are pickled without a memo ("fast" mode): they hold no self-referencing object, and a value
        # two rows share is written twice. In a record of a few thousand rows the memo's bookkeeping of every row
        # and value cost twice the rest of the pickling. pickle.loads reads them back as any other pickle.
        self._buffer = io.BytesIO()
        self._pickler = pickle.Pickler(self._buffer, protocol=pickle.HIGHEST_PROTOCOL)
        self._pickler.fast = True
        self.segment = self._open_segment()
        """The segment file being appended to."""

    @property
    def next_seq(self) -> int:
        """The sequence number the next record will carry."""
        return self._next

    def append(self, statements: list[BoundStatement]) -> int:
        """Appends one record with one system call; returns its sequence number. A segment past
        ``segment_bytes`` is closed and the next begun (the applier deletes it once applied)."""
        if self._broken is not None:
            raise StorageError(f"the write log {self.segment} cannot be written: {self._broken}")
        seq = self._next
        buffer = self._buffer
        buffer.seek(0)
        buffer.truncate()
        self._pickler.dump(statements)
        payload = buffer.getvalue()
        data = RECORD_HEADER.pack(len(payload), zlib.crc32(payload), seq) + payload
        try:
            written = os.write(self._fd, data)
        except OSError as error:
            self._broken = str(error)
            raise StorageError(f"the write log {self.segment} cannot be written: {error}") from error
        if written != len(data):
            # The rest of the record is lost: nothing may follow it in this file.
            self._broken = f"only {written} of {len(data)} bytes were written (disk full?)"
            raise StorageError(f"the write log {self.segment} cannot be written: {self._broken}")
        self._next = seq + 1
        self._size += written
        if self._size >= self.segment_bytes:
            os.close(self._fd)
            self.segment = self._open_segment()
        return seq

    def close(self) -> None:
        """Closes the current segment (its records stay until applied)."""
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def _open_segment(self) -> Path:
        path = segment_path(self.directory, self._next)
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o600)
        header = FILE_HEADER.pack(MAGIC, self._token)
        if os.write(self._fd, header) != len(header):
            raise StorageError(f"the write log {path} cannot be written (disk full?)")
        self._size = len(header)
        return path


def open_write_log(database: Engine, directory: Path, *, segment_bytes: int = DEFAULT_SEGMENT_BYTES) -> WriteLog:
    """Applies what ``directory`` holds that ``database`` has not seen, deletes the applied segments and opens a
    new one.

    Raises :class:`StorageError` when a segment belongs to another database, is damaged before its end, or a
    record cannot be applied: the engine must not start on a database that misses what clients were told.
    """
    directory.mkdir(parents=True, exist_ok=True)
    try:
        lock = lock_log(directory, wait_s=LOCK_WAIT_S)
    except LogBusy as error:
        raise StorageError(f"{error}: is another engine running on this database?") from None
    try:
        return _recover(database, directory, segment_bytes)
    finally:
        os.close(lock)


def _recover(database: Engine, directory: Path, segment_bytes: int) -> WriteLog:
    token, applied = _progress(database)
    segments = sorted(directory.glob(f"*{SUFFIX}"))
    pending = [record for record in _read_segments(segments, token) if record.seq > applied]
    if pending:
        expected = applied + 1
        if pending[0].seq != expected:
            raise StorageError(
                f"the write log in {directory} starts at record {pending[0].seq}, but the database has only "
                f"applied up to {applied}: records are missing"
            )
        with database.connect() as conn, conn.begin():
            for record in pending:
                try:
                    run_bound(conn, record.statements)
                except Exception as error:
                    raise StorageError(
                        f"record {record.seq} of the write log in {directory} cannot be applied: {error}"
                    ) from error
            SET_APPLIED.execute(conn, ((pending[-1].seq,),))
        log.info("applied %d records of the write log in %s", len(pending), directory)
        applied = pending[-1].seq
    for path in segments:
        path.unlink()
    return WriteLog(directory, token, applied + 1, segment_bytes=segment_bytes)


def _progress(database: Engine) -> tuple[bytes, int]:
    """The database's log token (made on first use) and the last record it applied."""
    with database.connect() as conn, conn.begin():
        row = conn.execute(PROGRESS).first()
        if row is None:
            token = uuid.uuid4().hex
            conn.execute(insert(WRITE_LOG).values(id=1, token=token, applied_seq=0))
            return bytes.fromhex(token), 0
        return bytes.fromhex(row[0]), int(row[1])


def _read_segments(segments: list[Path], token: bytes) -> Iterator[LogRecord]:
    for index, path in enumerate(segments):
        yield from _read_segment(path, token, last=index == len(segments) - 1)


def _read_segment(path: Path, token: bytes, *, last: bool) -> Iterator[LogRecord]:
    data = path.read_bytes()
    if len(data) < FILE_HEADER.size:
        if last:
            log.warning("the write log %s ends before its header: ignored", path)
            return
        raise StorageError(f"the write log {path} is damaged: it ends before its header")
    magic, owner = FILE_HEADER.unpack_from(data)
    if magic != MAGIC:
        raise StorageError(f"{path} is not a write log")
    if owner != token:
        raise StorageError(f"the write log {path} belongs to another database; move it away to start")
    offset = FILE_HEADER.size
    while offset < len(data):
        damage = record_damage(data, offset)
        if damage is not None:
            if last and is_tail(data, offset):
                log.warning("dropped a torn record at the end of %s (%s): it was never acknowledged", path, damage)
                return
            raise StorageError(f"the write log {path} is damaged at byte {offset}: {damage}")
        length, _, seq = RECORD_HEADER.unpack_from(data, offset)
        start = offset + RECORD_HEADER.size
        yield LogRecord(seq, pickle.loads(data[start : start + length]))
        offset = start + length
