"""What a FIX session keeps across connections and restarts: both next sequence numbers and the messages it sent.

A :class:`SessionStore` holds, for one session key (BeginString, our CompID, the counterparty's CompID), the
MsgSeqNum of the next message we send, the MsgSeqNum we expect next, and the frames of the application messages
we sent so they can be resent on a ResendRequest. Every write is durable when the call returns, so a session
persists a sequence number before the bytes carrying it go out: a process killed right after a send never
reuses that number.

:class:`MemoryStore` keeps it in memory (tests, throw-away sessions); :class:`SqlSessionStore` keeps it in the
engine's database, in the ``fix_sessions`` and ``fix_messages`` tables defined here on the engine's declarative
``Base``. :func:`engine.storage.open_database` creates them when this module was imported before it is called;
:class:`SqlSessionStore` also creates them (if missing) when it is built.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol

from sqlalchemy import BigInteger, Connection, Engine, ForeignKey, LargeBinary, String, delete, insert, select, update
from sqlalchemy.orm import Mapped, mapped_column

from core.numbers import Nanos
from engine.storage.db import StorageError
from engine.storage.models import Base, table_of

DEFAULT_BEGIN_STRING = "FIX.4.4"


def session_key(sender_comp_id: str, target_comp_id: str, begin_string: str = DEFAULT_BEGIN_STRING) -> str:
    """The key a session is stored under: ``"FIX.4.4:ENGINE->CLIENT1"`` (our CompID first)."""
    return f"{begin_string}:{sender_comp_id}->{target_comp_id}"


class SessionStore(Protocol):
    """Sequence numbers and sent messages of one FIX session; every write is durable when it returns.

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


class SqlSessionStore(_SequenceCounters):
    """A :class:`SessionStore` in the engine's database; each write is one committed transaction.

    Holds one connection until :meth:`close`. Not thread-safe; one store object per session key and process.
    """

    def __init__(self, engine: Engine, key: str, *, clock: Callable[[], Nanos] = time.time_ns) -> None:
        Base.metadata.create_all(engine, tables=[SESSIONS, MESSAGES])
        self._key = key
        self._clock = clock
        self._conn: Connection | None = engine.connect()
        with self._conn.begin():
            row = self._conn.execute(
                select(SESSIONS.c.next_sender_seq, SESSIONS.c.next_target_seq, SESSIONS.c.created_ns).where(
                    SESSIONS.c.session_key == key
                )
            ).first()
            if row is None:
                created = clock()
                self._conn.execute(
                    insert(SESSIONS).values(session_key=key, next_sender_seq=1, next_target_seq=1, created_ns=created)
                )
                self._sender, self._target, self._created = 1, 1, created
            else:
                self._sender, self._target, self._created = int(row[0]), int(row[1]), int(row[2])

    @property
    def key(self) -> str:
        """The session key this store holds."""
        return self._key

    @property
    def _connection(self) -> Connection:
        if self._conn is None:
            raise StorageError(f"the FIX session store of {self._key} is closed")
        return self._conn

    def _update(self, **values: int) -> None:
        self._connection.execute(update(SESSIONS).where(SESSIONS.c.session_key == self._key).values(**values))

    def set_next_sender_seq(self, seq: int) -> None:
        """Records the MsgSeqNum of the next message we send (committed when this returns)."""
        _check_seq(seq)
        with self._connection.begin():
            self._update(next_sender_seq=seq)
        self._sender = seq

    def set_next_target_seq(self, seq: int) -> None:
        """Records the MsgSeqNum expected from the counterparty (committed when this returns)."""
        _check_seq(seq)
        with self._connection.begin():
            self._update(next_target_seq=seq)
        self._target = seq

    def save_sent(self, seq: int, frame: bytes, sent_ns: Nanos) -> None:
        """Keeps message ``seq`` and sets the next sender MsgSeqNum to ``seq + 1`` in one committed transaction.

        A message already kept under ``seq`` (sent before a reset of the other side) is replaced.
        """
        _check_seq(seq)
        conn = self._connection
        with conn.begin():
            conn.execute(delete(MESSAGES).where(MESSAGES.c.session_key == self._key, MESSAGES.c.seq == seq))
            conn.execute(insert(MESSAGES).values(session_key=self._key, seq=seq, frame=bytes(frame), sent_ns=sent_ns))
            self._update(next_sender_seq=seq + 1)
        self._sender = seq + 1

    def sent_range(self, begin: int, end: int) -> list[tuple[int, bytes]]:
        """The kept frames with ``begin <= seq <= end``, in ascending order."""
        conn = self._connection
        with conn.begin():
            rows = conn.execute(
                select(MESSAGES.c.seq, MESSAGES.c.frame)
                .where(MESSAGES.c.session_key == self._key, MESSAGES.c.seq >= begin, MESSAGES.c.seq <= end)
                .order_by(MESSAGES.c.seq)
            ).all()
        return [(int(seq), bytes(frame)) for seq, frame in rows]

    def reset(self) -> None:
        """Starts both sequences again at 1 and deletes the kept messages, in one committed transaction."""
        created = self._clock()
        conn = self._connection
        with conn.begin():
            conn.execute(delete(MESSAGES).where(MESSAGES.c.session_key == self._key))
            self._update(next_sender_seq=1, next_target_seq=1, created_ns=created)
        self._sender, self._target, self._created = 1, 1, created

    def close(self) -> None:
        """Releases the connection; the store cannot be used afterwards."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None
