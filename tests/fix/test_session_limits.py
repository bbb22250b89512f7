"""Limits of a FIX session (message size, message rate, queue behind a gap) and its robustness to its neighbours."""

from __future__ import annotations

import pytest

from core.numbers import NANOS_PER_SECOND
from engine.fix.message import FixMessage
from engine.fix.session import Session, SessionConfig, SessionState
from tests.fix.test_session import T0, Harness, Recorder, inbound, logon, order, outbound, stamp


def config(**overrides: int) -> SessionConfig:
    return SessionConfig(sender_comp_id="ENGINE", target_comp_id="CLIENT", **overrides)


def test_an_oversize_message_logs_the_session_out() -> None:
    h = Harness(config=config(max_message_bytes=200))
    h.logon()
    frame = order(2, "X" * 150)
    assert len(frame) > 200
    h.feed(frame)
    assert h.take() == [outbound("5", 2, f"58=message of {len(frame)} bytes exceeds the limit of 200")]
    assert h.ended
    assert h.app.messages == []


def test_an_oversize_message_is_refused_before_it_is_complete() -> None:
    h = Harness(config=config(max_message_bytes=200))
    h.logon()
    h.feed(order(2, "X" * 1000)[:250])
    assert h.take() == [outbound("5", 2, "58=message larger than the limit of 200 bytes")]
    assert h.ended


def test_an_oversize_logon_disconnects_without_reply() -> None:
    h = Harness(config=config(max_message_bytes=100))
    h.feed(logon(1, "553=" + "u" * 100))
    assert h.take() == []
    assert h.ended


def test_a_message_rate_above_the_limit_logs_the_session_out() -> None:
    h = Harness(config=config(max_messages_per_second=5))
    h.logon()
    h.feed(*(inbound("0", seq) for seq in (2, 3, 4, 5)))
    assert not h.ended, "five messages in the first second are within the limit"
    h.clock.now = T0 + NANOS_PER_SECOND
    h.feed(*(inbound("0", seq) for seq in (6, 7, 8, 9, 10)))
    assert not h.ended, "the allowance refills over time"
    assert h.take() == []
    h.feed(inbound("0", 11))
    assert h.take() == [outbound("5", 2, "58=message rate above the limit of 5 per second", at=stamp(1))]
    assert h.ended
    assert h.app.logouts == [("message rate above the limit of 5 per second", False)]


def test_a_burst_in_the_same_read_as_the_logon_is_counted() -> None:
    h = Harness(config=config(max_messages_per_second=1))
    h.feed(logon(1) + inbound("0", 2))
    assert h.take() == [
        outbound("A", 1, "98=0|108=30"),
        outbound("5", 2, "58=message rate above the limit of 1 per second"),
    ]
    assert h.ended
    assert h.store.next_target_seq == 2


def test_too_many_messages_behind_a_gap_log_the_session_out() -> None:
    h = Harness(config=config(max_queued_messages=2))
    h.logon()
    h.feed(inbound("0", 5), inbound("0", 6))
    assert h.take() == [outbound("2", 2, "7=2|16=0")]
    h.feed(inbound("0", 7))
    assert h.take() == [outbound("5", 3, "58=more than 2 messages behind a sequence gap")]
    assert h.ended


def test_a_failing_application_logs_out_without_consuming_the_message() -> None:
    def fail(session: Session, message: FixMessage) -> None:
        raise RuntimeError("broken")

    h = Harness(app=Recorder(fail))
    h.logon()
    h.feed(order(2))
    assert h.take() == [outbound("5", 2, "58=internal error")]
    assert h.ended
    assert h.store.next_target_seq == 2, "the counterparty resends it on its next connection"


def test_a_logon_on_an_established_session_logs_it_out() -> None:
    h = Harness()
    h.logon()
    h.feed(logon(2))
    assert h.take() == [outbound("5", 2, "58=Logon received on an established session")]
    assert h.ended


def test_lost_connection_ends_the_session_once() -> None:
    h = Harness()
    h.logon()
    h.session.connection_lost("reset by peer")
    h.session.connection_lost("again")
    h.feed(inbound("0", 2))
    h.at(100)
    assert h.closed == ["connection lost: reset by peer"]
    assert h.app.logouts == [("connection lost: reset by peer", False)]
    assert h.take() == []
    assert h.session.next_deadline is None


def test_logout_before_logon_just_closes() -> None:
    h = Harness()
    h.session.logout("shutting down")
    assert h.closed == ["shutting down"]
    assert h.take() == []
    assert h.app.logouts == []


def test_next_deadline_tells_when_the_timer_has_work() -> None:
    h = Harness()
    h.logon(heartbeat=30)
    assert h.session.next_deadline == T0 + 30 * NANOS_PER_SECOND
    h.at(30)
    assert h.session.next_deadline == T0 + 36 * NANOS_PER_SECOND
    h.session.logout("bye")
    assert h.session.state is SessionState.LOGOUT_SENT
    assert h.session.next_deadline == T0 + 36 * NANOS_PER_SECOND
    h.at(36)
    assert h.session.next_deadline == T0 + 40 * NANOS_PER_SECOND


def test_heartbeat_interval_zero_means_no_heartbeats() -> None:
    h = Harness()
    h.logon(heartbeat=0)
    assert h.session.next_deadline is None
    h.at(3600)
    assert h.take() == []
    assert not h.ended


@pytest.mark.parametrize(
    "overrides",
    [{"max_message_bytes": 0}, {"max_messages_per_second": -1}, {"logout_timeout_s": 0}, {"rate_window_s": 0}],
)
def test_config_refuses_values_that_cannot_work(overrides: dict[str, int]) -> None:
    with pytest.raises(ValueError, match="must be positive"):
        config(**overrides)
    with pytest.raises(ValueError, match="must not be empty"):
        SessionConfig(sender_comp_id="")


def test_messages_cut_anywhere_by_the_transport_are_processed() -> None:
    h = Harness()
    stream = logon(1) + inbound("1", 2, "112=HELLO") + order(3, "A3")
    for i in range(len(stream)):
        h.feed(stream[i : i + 1])
    assert h.take() == [outbound("A", 1, "98=0|108=30"), outbound("0", 2, "112=HELLO")]
    assert [message.get_str(11) for message in h.app.messages] == ["A3"]
