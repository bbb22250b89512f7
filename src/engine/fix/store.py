"""What a FIX session keeps across connections and restarts: both next sequence numbers and the messages it sent.

A :class:`SessionStore` holds, for one session key (BeginString, our CompID, the counterparty's CompID), the
MsgSeqNum of the next message we send, the MsgSeqNum we expect next, and the frames of the application messages
we sent so they can be resent on a ResendRequest. A session persists a sequence number before the bytes
carrying it go out (:meth:`SessionStore.send`): a process killed right after a send never reuses that number.
A store writes each call in its own transaction, or buffers it for its
:class:`~engine.storage.commit_group.CommitGroup`, which commits the turn's writes before releasing the sends.

:class:`MemoryStore` keeps it in memory (tests, throw-away sessions); :class:`SqlSessionStore` keeps it in the
engine's database, in the ``fix_sessions`` and ``fix_messages`` tables defined here on the engine's declarative
``Base``. :func:`engine.storage.open_database` creates them when this module was imported before it is called;
:class:`SqlSessionStore` also creates them (if missing) when it is built.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol

from sqlalchemy import (
    BigInteger,
    BindParameter,
    Connection,
    Engine,
    ForeignKey,
    LargeBinary,
    String,
    bindparam,
    delete,
    insert,
    select,
    update,
)
from sqlalchemy.orm import Mapped, mapped_column

from core.numbers import Nanos
from engine.storage.commit_group import CommitGroup
from engine.storage.db import StorageError
from engine.storage.driver_sql import DriverStatement, WriteBatch, write_now
from engine.storage.models import Base, table_of

DEFAULT_BEGIN_STRING = "FIX.4.4"


def session_key(sender_comp_id: str, target_comp_id: str, begin_string: str = DEFAULT_BEGIN_STRING) -> str:
    """The key a session is stored under: ``"FIX.4.4:ENGINE->CLIENT1"`` (our CompID first)."""
    return f"{begin_string}:{sender_comp_id}->{target_comp_id}"


class SessionStore(Protocol):
    """Sequence numbers and sent messages of one FIX session; every write is durable before a frame sent
    through :meth:`send` after it leaves the process.

    Sequence numbers start at 1. Only one :class:`~engine.fix.session.Session` may use a store at a time, and
    one store object should exist per session key (it may cache what it read).
    """

    @property
    def next_sender_seq(self) -> int:
        """MsgSeqNum of the next message we send."""
        ...

    @property
    def next_target_seq(self) -> int:
        """MsgSeqNum we expect on the next message from the counterparty."""
        ...

    @property
    def created_ns(self) -> Nanos:
        """When the sequence numbers were last (re)started at 1."""
        ...

    def set_next_sender_seq(self, seq: int) -> None:
        """Records the MsgSeqNum of the next message we send (for a message that is not kept for resends)."""
        ...

    def set_next_target_seq(self, seq: int) -> None:
        """Records the MsgSeqNum expected on the next message from the counterparty."""
        ...

    def save_sent(self, seq: int, frame: bytes, sent_ns: Nanos) -> None:
        """Keeps the wire frame of message ``seq`` for resends and sets the next sender MsgSeqNum to ``seq + 1``,
        in one durable write."""
        ...

    def sent_range(self, begin: int, end: int) -> list[tuple[int, bytes]]:
        """The kept frames with ``begin <= seq <= end``, as ``(seq, frame)`` in ascending order."""
        ...

    def reset(self) -> None:
        """Starts both sequences again at 1 and forgets the kept messages."""
        ...

    def send(self, write: Callable[[bytes], object], frame: bytes) -> None:
        """Writes ``frame`` with ``write`` once every write made so far is durable (at once when it already is)."""
        ...


def _check_seq(seq: int) -> None:
    if seq < 1:
        raise ValueError(f"a sequence number starts at 1, got {seq}")


class _SequenceCounters:
    """The in-memory view of a session's two sequence numbers and their start, which both stores keep."""

    _sender: int
    _target: int
    _created: Nanos

    @property
    def next_sender_seq(self) -> int:
        """MsgSeqNum of the next message we send."""
        return self._sender

    @property
    def next_target_seq(self) -> int:
        """MsgSeqNum we expect on the next message from the counterparty."""
        return self._target

    @property
    def created_ns(self) -> Nanos:
        """When the sequence numbers were last (re)started at 1."""
        return self._created


class MemoryStore(_SequenceCounters):
    """A :class:`SessionStore` in memory: nothing survives the process."""

    def __init__(self, *, clock: Callable[[], Nanos] = time.time_ns) -> None:
        self._clock = clock
        self._sender = 1
        self._target = 1
        self._created = clock()
        self._messages: dict[int, bytes] = {}

    def set_next_sender_seq(self, seq: int) -> None:
        """Records the MsgSeqNum of the next message we send."""
        _check_seq(seq)
        self._sender = seq

    def set_next_target_seq(self, seq: int) -> None:
        """Records the MsgSeqNum expected on the next message from the counterparty."""
        _check_seq(seq)
        self._target = seq

    def save_sent(self, seq: int, frame: bytes, sent_ns: Nanos) -> None:
        """Keeps message ``seq`` for resends and sets the next sender MsgSeqNum to ``seq + 1``."""
        _check_seq(seq)
        self._messages[seq] = bytes(frame)
        self._sender = seq + 1

    def sent_range(self, begin: int, end: int) -> list[tuple[int, bytes]]:
        """The kept frames with ``begin <= seq <= end``, in ascending order."""
        return sorted((seq, frame) for seq, frame in self._messages.items() if begin <= seq <= end)

    def reset(self) -> None:
        """Starts both sequences again at 1 and forgets the kept messages."""
        self._sender = 1
        self._target = 1
        self._messages.clear()
        self._created = self._clock()

    def send(self, write: Callable[[bytes], object], frame: bytes) -> None:
        """Writes ``frame`` at once (nothing here is ever pending)."""
        write(frame)


class FixSessionRow(Base):
    """One row per FIX session key: the next sequence number of each direction."""

    __tablename__ = "fix_sessions"

    session_key: Mapped[str] = mapped_column(String(255), primary_key=True)
    next_sender_seq: Mapped[int] = mapped_column(BigInteger)
    next_target_seq: Mapped[int] = mapped_column(BigInteger)
    created_ns: Mapped[int] = mapped_column(BigInteger)


class FixMessageRow(Base):
    """An application message a FIX session sent, kept as its wire frame for resends."""

    __tablename__ = "fix_messages"

    session_key: Mapped[str] = mapped_column(
        String(255), ForeignKey("fix_sessions.session_key", ondelete="CASCADE"), primary_key=True
    )
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    frame: Mapped[bytes] = mapped_column(LargeBinary)
    sent_ns: Mapped[int] = mapped_column(BigInteger)


SESSIONS = table_of(FixSessionRow)
MESSAGES = table_of(FixMessageRow)
_KEY: BindParameter[str] = bindparam("b_key")
_UPDATE_SEQS = DriverStatement(
    update(SESSIONS)
    .where(SESSIONS.c.session_key == _KEY)
    .values(next_sender_seq=bindparam("b_sender"), next_target_seq=bindparam("b_target")),
    ["b_sender", "b_target", "b_key"],
)
"""Rows ``(next sender seq, next target seq, session key)``."""
_DELETE_KEPT = DriverStatement(
    delete(MESSAGES).where(
        MESSAGES.c.session_key == _KEY, MESSAGES.c.seq >= bindparam("b_first"), MESSAGES.c.seq <= bindparam("b_last")
    ),
    ["b_key", "b_first", "b_last"],
)
"""Rows ``(session key, first seq, last seq)``."""
_MESSAGE_FIELDS = tuple(c.name for c in MESSAGES.columns)
_INSERT_KEPT = DriverStatement(
    insert(MESSAGES).values({name: bindparam(name) for name in _MESSAGE_FIELDS}), _MESSAGE_FIELDS
)
"""Rows ``(session key, seq, frame, sent_ns)``."""


def forget_sent_before(engine: Engine, cutoff_ns: Nanos) -> int:
    """Deletes the kept messages of every session sent before ``cutoff_ns`` from ``engine`` (opened by
    :func:`~engine.storage.open_database`, which makes the tables); returns how many. A ResendRequest for them is
    then answered with a SequenceReset-GapFill."""
    with engine.begin() as conn:
        deleted = conn.execute(delete(MESSAGES).where(MESSAGES.c.sent_ns < cutoff_ns)).rowcount
    return int(deleted or 0)


class SqlSessionStore(_SequenceCounters):
    """A :class:`SessionStore` in the engine's database.

    Alone, each write is one committed transaction on a connection of its own, held until :meth:`close`. In a
    ``group``, writes are buffered and committed with the rest of the event-loop turn, on the group's
    connection, and :meth:`send` holds frames until then. Not thread-safe; one store object per session key
    and process.
    """

    def __init__(
        self,
        engine: Engine,
        key: str,
        *,
        clock: Callable[[], Nanos] = time.time_ns,
        group: CommitGroup | None = None,
    ) -> None:
        Base.metadata.create_all(engine, tables=[SESSIONS, MESSAGES])
        self._key = key
        self._clock = clock
        self._group = group
        self._own_conn: Connection | None = engine.connect() if group is None else None
        self._closed = False
        self._kept: list[tuple[str, int, bytes, Nanos]] = []
        """Rows of :data:`_INSERT_KEPT` to write."""
        self._seq_dirty = False
        if group is not None:
            group.sync()  # the numbers this key's earlier store wrote may still be on their way
        conn = self._connection
        with conn.begin():
            row = conn.execute(
                select(SESSIONS.c.next_sender_seq, SESSIONS.c.next_target_seq, SESSIONS.c.created_ns).where(
                    SESSIONS.c.session_key == key
                )
            ).first()
            if row is None:
                created = clock()
                conn.execute(
                    insert(SESSIONS).values(session_key=key, next_sender_seq=1, next_target_seq=1, created_ns=created)
                )
                self._sender, self._target, self._created = 1, 1, created
            else:
                self._sender, self._target, self._created = int(row[0]), int(row[1]), int(row[2])
        if group is not None:
            group.join(self._flush)

    @property
    def key(self) -> str:
        """The session key this store holds."""
        return self._key

    @property
    def _connection(self) -> Connection:
        if self._closed:
            raise StorageError(f"the FIX session store of {self._key} is closed")
        if self._group is not None:
            return self._group.connection
        assert self._own_conn is not None
        return self._own_conn

    def _write(self) -> None:
        """Writes what is buffered now, or leaves it to the group's next commit."""
        if self._group is not None:
            self._group.mark()
            return
        write_now(self._connection, self._flush)

    def set_next_sender_seq(self, seq: int) -> None:
        """Records the MsgSeqNum of the next message we send."""
        _check_seq(seq)
        self._sender = seq
        self._seq_dirty = True
        self._write()

    def set_next_target_seq(self, seq: int) -> None:
        """Records the MsgSeqNum expected from the counterparty."""
        _check_seq(seq)
        self._target = seq
        self._seq_dirty = True
        self._write()

    def save_sent(self, seq: int, frame: bytes, sent_ns: Nanos) -> None:
        """Keeps message ``seq`` and sets the next sender MsgSeqNum to ``seq + 1`` in one transaction.

        A message already kept under ``seq`` (sent before a reset of the other side) is replaced.
        """
        _check_seq(seq)
        self._kept.append((self._key, seq, bytes(frame), sent_ns))
        self._sender = seq + 1
        self._seq_dirty = True
        self._write()

    def _flush(self, batch: WriteBatch) -> None:
        """Adds the kept frames and the sequence numbers buffered since the last flush to ``batch``."""
        key = self._key
        kept = self._kept
        if kept:
            # Numbers kept before a reset of the counterparty are replaced.
            if len(kept) == 1:
                first = last = kept[0][1]
            else:
                seqs = [row[1] for row in kept]
                first, last = min(seqs), max(seqs)
            batch.add(_DELETE_KEPT, ((key, first, last),))
            batch.add(_INSERT_KEPT, kept)
            self._kept = []
        if self._seq_dirty:
            batch.add(_UPDATE_SEQS, ((self._sender, self._target, key),))
            self._seq_dirty = False

    def sent_range(self, begin: int, end: int) -> list[tuple[int, bytes]]:
        """The kept frames with ``begin <= seq <= end``, in ascending order."""
        if self._group is not None:
            self._group.sync()
        conn = self._connection
        with conn.begin():
            rows = conn.execute(
                select(MESSAGES.c.seq, MESSAGES.c.frame)
                .where(MESSAGES.c.session_key == self._key, MESSAGES.c.seq >= begin, MESSAGES.c.seq <= end)
                .order_by(MESSAGES.c.seq)
            ).all()
        return [(int(seq), bytes(frame)) for seq, frame in rows]

    def reset(self) -> None:
        """Starts both sequences again at 1 and deletes the kept messages."""
        self._kept = []
        self._seq_dirty = False
        if self._group is not None:
            self._group.sync()  # what other writers buffered before the reset goes first
        self._sender, self._target, self._created = 1, 1, self._clock()
        conn = self._connection
        with conn.begin():
            conn.execute(delete(MESSAGES).where(MESSAGES.c.session_key == self._key))
            conn.execute(
                update(SESSIONS)
                .where(SESSIONS.c.session_key == self._key)
                .values(next_sender_seq=1, next_target_seq=1, created_ns=self._created)
            )

    def send(self, write: Callable[[bytes], object], frame: bytes) -> None:
        """Writes ``frame`` once the buffered writes are committed (at once when the store is not grouped)."""
        if self._group is None:
            write(frame)
        else:
            self._group.send(write, frame)

    def close(self) -> None:
        """Writes what is buffered and releases the connection; the store cannot be used afterwards."""
        if self._closed:
            return
        if self._group is not None:
            self._group.leave(self._flush)
        self._closed = True
        if self._own_conn is not None:
            self._own_conn.close()
            self._own_conn = None
