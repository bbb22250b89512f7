"""The FIX session store (memory and SQL) and sequence numbers surviving restarts, resets and a killed process."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, inspect

from engine.fix.message import FixMessage
from engine.fix.session import SessionConfig, SessionState
from engine.fix.store import MemoryStore, SessionStore, SqlSessionStore, session_key
from engine.storage import open_database
from tests.fix.test_session import (
    CONFIG,
    EXEC_REPORT,
    STAMP,
    Clock,
    Harness,
    fields,
    inbound,
    logon,
    outbound,
    stamp,
    wire,
)

KEY = session_key("ENGINE", "CLIENT")


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = open_database(f"sqlite:///{tmp_path / 'fix.db'}")
    yield engine
    engine.dispose()


@pytest.fixture(params=["memory", "sql"])
def store(request: pytest.FixtureRequest, engine: Engine) -> Iterator[SessionStore]:
    if request.param == "memory":
        yield MemoryStore(clock=lambda: 7)
        return
    sql = SqlSessionStore(engine, KEY, clock=lambda: 7)
    yield sql
    sql.close()


def test_session_key_names_version_and_both_comp_ids() -> None:
    assert session_key("ENGINE", "CLIENT1") == "FIX.4.4:ENGINE->CLIENT1"


def test_open_database_creates_the_fix_tables(engine: Engine) -> None:
    tables = set(inspect(engine).get_table_names())
    assert {"fix_sessions", "fix_messages"} <= tables


def test_a_new_store_starts_both_sequences_at_one(store: SessionStore) -> None:
    assert (store.next_sender_seq, store.next_target_seq, store.created_ns) == (1, 1, 7)
    assert store.sent_range(1, 100) == []


def test_store_keeps_sent_frames_and_sequence_numbers(store: SessionStore) -> None:
    store.save_sent(1, b"one", 10)
    store.set_next_sender_seq(3)  # 2 was an admin message
    store.save_sent(3, b"three", 30)
    store.set_next_target_seq(9)
    assert (store.next_sender_seq, store.next_target_seq) == (4, 9)
    assert store.sent_range(1, 3) == [(1, b"one"), (3, b"three")]
    assert store.sent_range(2, 2) == []
    assert store.sent_range(3, 1_000_000) == [(3, b"three")]
    store.save_sent(3, b"three again", 40)
    assert store.sent_range(3, 3) == [(3, b"three again")]


def test_store_reset_restarts_sequences_and_forgets_messages(store: SessionStore) -> None:
    store.save_sent(1, b"one", 10)
    store.set_next_target_seq(5)
    store.reset()
    assert (store.next_sender_seq, store.next_target_seq) == (1, 1)
    assert store.sent_range(1, 10) == []


def test_store_refuses_sequence_numbers_below_one(store: SessionStore) -> None:
    with pytest.raises(ValueError, match="starts at 1"):
        store.set_next_target_seq(0)
    with pytest.raises(ValueError, match="starts at 1"):
        store.save_sent(0, b"x", 1)


def test_sql_store_keeps_everything_across_reopening(engine: Engine) -> None:
    first = SqlSessionStore(engine, KEY, clock=lambda: 5)
    first.save_sent(1, b"one", 10)
    first.set_next_target_seq(4)
    first.close()
    other = SqlSessionStore(engine, session_key("ENGINE", "OTHER"))
    assert (other.next_sender_seq, other.next_target_seq) == (1, 1), "keys are separate"
    other.close()
    again = SqlSessionStore(engine, KEY, clock=lambda: 99)
    assert (again.next_sender_seq, again.next_target_seq, again.created_ns) == (2, 4, 5)
    assert again.sent_range(1, 1) == [(1, b"one")]
    again.close()


def test_session_sequence_numbers_survive_reopening_the_database(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'engine.db'}"
    engine = open_database(url)
    store = SqlSessionStore(engine, KEY)
    first = Harness(store=store)
    first.logon()
    first.feed(inbound("D", 2, f"11=ID|21=3|40=1|54=1|55=INTC|60={STAMP}"))
    first.session.send_app(FixMessage(fields(f"35=8|{EXEC_REPORT}")))
    first.feed(inbound("5", 3))
    assert first.take() == [outbound("8", 2, EXEC_REPORT), outbound("5", 3)]
    store.close()
    engine.dispose()

    engine = open_database(url)
    store = SqlSessionStore(engine, KEY)
    assert (store.next_sender_seq, store.next_target_seq) == (4, 4)
    second = Harness(store=store)
    second.clock.now += 60 * 1_000_000_000
    second.feed(logon(4, sending=stamp(60)))
    assert second.take() == [outbound("A", 4, "98=0|108=30", at=stamp(60))]
    second.feed(inbound("2", 5, "7=2|16=2", sending=stamp(60)))
    assert second.take() == [outbound("8", 2, EXEC_REPORT, at=stamp(60), orig=STAMP)]
    store.close()
    engine.dispose()


def test_sequence_numbers_are_stored_before_the_bytes_go_out() -> None:
    store = MemoryStore()
    seen: list[tuple[int, int]] = []

    def send(frame: bytes) -> None:
        seq = int(frame.split(b"\x0134=")[1].split(b"\x01")[0])
        seen.append((seq, store.next_sender_seq))
        kept = dict(store.sent_range(seq, seq))
        assert b"\x0135=8\x01" not in frame or kept[seq] == frame

    h = Harness(store=store, send=send)
    h.feed(logon(1), inbound("1", 2, "112=HELLO"))
    h.session.send_app(FixMessage(fields(f"35=8|{EXEC_REPORT}")))
    assert seen == [(1, 2), (2, 3), (3, 4)]


@pytest.mark.slow
def test_a_killed_process_never_reuses_a_sent_sequence_number(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'engine.db'}"
    script = textwrap.dedent(
        f"""
        import os, signal, sys
        from engine.fix.message import FixMessage
        from engine.fix.store import SqlSessionStore
        from engine.storage import open_database
        from tests.fix.test_session import EXEC_REPORT, Harness, fields, logon

        def send(frame):
            sys.stdout.buffer.write(frame + b"\\n")
            sys.stdout.flush()
            if b"\\x0135=8\\x01" in frame:
                os.kill(os.getpid(), signal.SIGKILL)

        store = SqlSessionStore(open_database({url!r}), {KEY!r})
        harness = Harness(store=store, send=send)
        harness.feed(logon(1))
        harness.session.send_app(FixMessage(fields("35=8|" + EXEC_REPORT)))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, timeout=60, cwd=Path(__file__).parents[2], check=False
    )
    assert done.returncode == -9, done.stderr.decode()
    logon_reply, report = done.stdout.splitlines()[:2]
    assert b"\x0135=A\x01" in logon_reply
    assert b"\x0134=2\x01" in report
    engine = open_database(url)
    store = SqlSessionStore(engine, KEY)
    assert (store.next_sender_seq, store.next_target_seq) == (3, 2)
    assert store.sent_range(2, 2) == [(2, report)]
    store.close()
    engine.dispose()


@pytest.mark.parametrize(
    ("config", "how", "reset"),
    [
        (SessionConfig(sender_comp_id="ENGINE", target_comp_id="CLIENT", reset_on_logout=True), "logout", True),
        (SessionConfig(sender_comp_id="ENGINE", target_comp_id="CLIENT", reset_on_logout=True), "drop", False),
        (SessionConfig(sender_comp_id="ENGINE", target_comp_id="CLIENT", reset_on_disconnect=True), "drop", True),
        (SessionConfig(sender_comp_id="ENGINE", target_comp_id="CLIENT", reset_on_disconnect=True), "logout", True),
        (CONFIG, "logout", False),
        (CONFIG, "drop", False),
    ],
)
def test_reset_settings_restart_sequences_when_the_session_ends(config: SessionConfig, how: str, reset: bool) -> None:
    store = MemoryStore()
    h = Harness(config=config, store=store)
    h.logon()
    h.feed(inbound("1", 2, "112=HELLO"))
    if how == "logout":
        h.feed(inbound("5", 3))
    else:
        h.session.connection_lost("reset by peer")
    assert h.ended
    assert h.closed
    expected = (1, 1) if reset else (store.next_sender_seq, store.next_target_seq)
    assert (store.next_sender_seq, store.next_target_seq) == expected
    if not reset:
        assert store.next_sender_seq > 1
        assert store.next_target_seq > 1


def test_reset_on_logon_accepts_a_counterparty_starting_again_at_one() -> None:
    store = MemoryStore()
    store.set_next_sender_seq(50)
    store.set_next_target_seq(40)
    config = SessionConfig(sender_comp_id="ENGINE", target_comp_id="CLIENT", reset_on_logon=True)
    h = Harness(config=config, store=store)
    h.feed(logon(1))
    assert h.take() == [outbound("A", 1, "98=0|108=30")]
    assert h.session.state is SessionState.LOGGED_ON


def test_a_session_learns_the_counterparty_when_none_is_configured() -> None:
    store = MemoryStore()
    h = Harness(config=SessionConfig(sender_comp_id="ENGINE"), store=store, clock=Clock())
    assert h.session.target_comp_id is None
    assert h.session.key is None
    h.feed(logon(1, sender="CLIENT"))
    assert h.take() == [outbound("A", 1, "98=0|108=30")]
    assert h.keys == ["FIX.4.4:ENGINE->CLIENT"]
    h.feed(wire(f"35=1|49=SOMEONE|56=ENGINE|34=2|52={STAMP}|112=X"))
    assert h.take()[0] == outbound("3", 2, "45=2|371=49|372=1|373=9|58=CompID problem")
