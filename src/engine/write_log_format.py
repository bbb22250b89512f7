"""The write log's file format, with nothing but the standard library, so that the process applying the log
(:mod:`engine.write_log_applier`) starts in milliseconds.

A segment is ``<first sequence number, 20 digits>.wlog``: a header (magic and the database's 16-byte token), then
records: payload length, CRC-32 of the payload and sequence number (little-endian), then the payload, the
pickled statements of one commit (:data:`engine.storage.driver_sql.BoundStatement`: SQL text and parameter rows).
"""

from __future__ import annotations

import os
import struct
import time
import zlib
from pathlib import Path

MAGIC = b"WSWLOG01"
FILE_HEADER = struct.Struct("<8s16s")
RECORD_HEADER = struct.Struct("<IIQ")
SUFFIX = ".wlog"
LOCK_FILE = "applier.lock"
"""Held by whoever applies the log: the applier process for its life, the engine while it recovers the log."""


class LogBusy(Exception):
    """Another process applies the log (the applier of an engine that was killed, still finishing)."""


def lock_log(directory: Path, *, wait_s: float) -> int:
    """Takes the log's applier lock, waiting up to ``wait_s``; returns the file descriptor that holds it (close it
    to release). Raises :class:`LogBusy` when it stays taken. POSIX only (the write log is not used elsewhere)."""
    import fcntl  # here, not at the top: the engine imports this module on every system

    fd = os.open(directory / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
    deadline = time.monotonic() + wait_s
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return fd
        except BlockingIOError:
            if time.monotonic() >= deadline:
                os.close(fd)
                raise LogBusy(f"another process applies the write log in {directory}") from None
            time.sleep(0.01)


def segment_path(directory: Path, first_seq: int) -> Path:
    """The segment file whose first record is ``first_seq``."""
    return directory / f"{first_seq:020d}{SUFFIX}"


def record_damage(data: bytes | bytearray | memoryview, offset: int) -> str | None:
    """Why the record at ``offset`` of a segment's bytes does not read back, or None when it does."""
    if len(data) - offset < RECORD_HEADER.size:
        return "its header is cut short"
    length, crc, _ = RECORD_HEADER.unpack_from(data, offset)
    start = offset + RECORD_HEADER.size
    if len(data) - start < length:
        return "its payload is cut short"
    if zlib.crc32(data[start : start + length]) != crc:
        return "its checksum does not match"
    return None


def is_tail(data: bytes | bytearray | memoryview, offset: int) -> bool:
    """A record that cannot be read is a torn write only if nothing readable follows it: the last append."""
    if len(data) - offset < RECORD_HEADER.size:
        return True
    length: int = RECORD_HEADER.unpack_from(data, offset)[0]
    return offset + RECORD_HEADER.size + length >= len(data)
