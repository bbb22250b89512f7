"""Reading a FIX session's stored rows from another connection, as a restarted server would."""

from __future__ import annotations

from sqlalchemy import Engine, select

from engine.fix.store import MESSAGES, SESSIONS


def stored_session(database: Engine, key: str) -> tuple[int, int, list[int]]:
    """What another connection sees of a FIX session: both sequence numbers and the kept message numbers."""
    with database.connect() as conn:
        sender, target = conn.execute(
            select(SESSIONS.c.next_sender_seq, SESSIONS.c.next_target_seq).where(SESSIONS.c.session_key == key)
        ).one()
        kept = conn.execute(select(MESSAGES.c.seq).where(MESSAGES.c.session_key == key)).scalars().all()
    return int(sender), int(target), sorted(int(seq) for seq in kept)
