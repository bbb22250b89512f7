"""The FIX 4.4 acceptor session against the session-level test cases of FIX 4.4 Volume 2, byte for byte.

Every test drives a real :class:`Session` with wire frames, an in-memory list for what it sends and a settable
clock. Numbering follows the session test cases (1-20), with letters for the conditions within a case.

Cases about the initiator only, tested here by their acceptor-side mirror:

* 1B (buy side initiates the connection and sends the Logon): mirrored by 1a, the acceptor answering a Logon.
* 9 (synchronize sequence numbers by operator intervention): mirrored by ResetSeqNumFlag on Logon and the
  ``reset_on_*`` settings (tests/fix/test_session_store.py).
* 15 (send application and admin messages to exercise the counterparty): mirrored by the header the session
  stamps on what the application sends.
* 16 (queue outgoing messages while disconnected): mirrored by messages sent after the session ended being
  kept and resent to the next connection.
* 17 (encryption, optional): not supported; a Logon asking for it is refused.
* 18 (third-party addressing, optional): routing header fields reach the application untouched.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from core.numbers import NANOS_PER_SECOND
from engine.fix.codec import encode
from engine.fix.message import Field, FixMessage, format_utc_timestamp, parse_utc_timestamp
from engine.fix.session import Session, SessionConfig, SessionError, SessionState
from engine.fix.store import MemoryStore, SessionStore

T0 = parse_utc_timestamp(b"20240601-13:30:00")
STAMP = "20240601-13:30:00.000"
CONFIG = SessionConfig(sender_comp_id="ENGINE", target_comp_id="CLIENT")
ORDER = f"21=3|40=1|54=1|55=INTC|60={STAMP}"
EXEC_REPORT = "37=O1|17=E1|150=0|39=0|55=INTC|54=1|151=100|14=0|6=0"


def fields(text: str) -> list[Field]:
    """``"35=0|34=2"`` as fields."""
    return [(int(tag), value.encode("latin-1")) for tag, _, value in (part.partition("=") for part in text.split("|"))]


def wire(text: str, begin: bytes = b"FIX.4.4") -> bytes:
    """A correct frame (BodyLength and CheckSum computed) of ``text``'s fields."""
    return encode(fields(text), begin)


def pretty(frame: bytes) -> str:
    return frame.decode("latin-1").replace("\x01", "|")


def stamp(seconds: float) -> str:
    """SendingTime ``seconds`` after T0, as the session writes it."""
    return format_utc_timestamp(T0 + int(seconds * 1000) * 1_000_000).decode()


def inbound(
    msg_type: str,
    seq: int,
    body: str = "",
    *,
    sending: str = STAMP,
    header: str = "",
    sender: str = "CLIENT",
    target: str = "ENGINE",
    begin: bytes = b"FIX.4.4",
) -> bytes:
    """A frame from the counterparty."""
    text = f"35={msg_type}|49={sender}|56={target}|34={seq}|52={sending}"
    text += f"|{header}" if header else ""
    text += f"|{body}" if body else ""
    return wire(text, begin)


def outbound(msg_type: str, seq: int, body: str = "", *, at: str = STAMP, orig: str | None = None) -> str:
    """What the session is expected to send, as text; ``orig`` makes it a possible duplicate of that time."""
    text = f"35={msg_type}|49=ENGINE|56=CLIENT|34={seq}"
    text += f"|43=Y|52={at}|122={orig}" if orig is not None else f"|52={at}"
    text += f"|{body}" if body else ""
    return pretty(wire(text))


def logon(seq: int = 1, extra: str = "", heartbeat: int = 30, **kwargs: str) -> bytes:
    return inbound("A", seq, f"98=0|108={heartbeat}" + (f"|{extra}" if extra else ""), **kwargs)


def with_checksum(frame_without_checksum: bytes) -> bytes:
    return frame_without_checksum + b"10=%03d\x01" % (sum(frame_without_checksum) % 256)


class Clock:
    """A clock the test sets; starts at T0."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> int:
        return self.now


class Recorder:
    """An application that records what it hears and can answer through a hook."""

    def __init__(self, on_message: Callable[[Session, FixMessage], None] | None = None) -> None:
        self.logons = 0
        self.logouts: list[tuple[str, bool]] = []
        self.messages: list[FixMessage] = []
        self._on_message = on_message

    def on_logon(self, session: Session) -> None:
        self.logons += 1

    def on_logout(self, session: Session, reason: str, graceful: bool) -> None:
        self.logouts.append((reason, graceful))

    def on_app_message(self, session: Session, message: FixMessage) -> None:
        self.messages.append(message)
        if self._on_message is not None:
            self._on_message(session, message)


class Harness:
    """A session with its sent frames, close reasons, store and application in reach."""

    def __init__(
        self,
        *,
        config: SessionConfig = CONFIG,
        store: SessionStore | None = None,
        app: Recorder | None = None,
        authenticate: Callable[[str | None, str | None, str, str], str | None] | None = None,
        admit: Callable[[Session], str | None] | None = None,
        clock: Clock | None = None,
        send: Callable[[bytes], None] | None = None,
    ) -> None:
        self.clock = clock or Clock()
        self.store: SessionStore = store if store is not None else MemoryStore(clock=self.clock)
        self.app = app or Recorder()
        self.sent: list[bytes] = []
        self.closed: list[str] = []
        self.keys: list[str] = []
        self.session = Session(
            config,
            send=send or self.sent.append,
            close=self.closed.append,
            store_for=self._store_for,
            application=self.app,
            authenticate=authenticate,
            admit=admit,
            clock=self.clock,
        )

    def _store_for(self, key: str) -> SessionStore:
        self.keys.append(key)
        return self.store

    def feed(self, *frames: bytes) -> None:
        for frame in frames:
            self.session.feed(frame)

    def take(self) -> list[str]:
        """What was sent since the last call, as text."""
        out = [pretty(frame) for frame in self.sent]
        self.sent.clear()
        return out

    def logon(self, seq: int = 1, heartbeat: int = 30) -> None:
        """A successful Logon."""
        self.feed(logon(seq, heartbeat=heartbeat))
        reply = self.take()
        assert reply[:1] == [outbound("A", self.store.next_sender_seq - len(reply), f"98=0|108={heartbeat}")]

    def at(self, seconds: float) -> None:
        """Moves the clock to ``seconds`` after T0 and runs the timer."""
        self.clock.now = T0 + int(seconds * 1000) * 1_000_000
        self.session.on_timer(self.clock.now)

    @property
    def ended(self) -> bool:
        return self.session.state is SessionState.ENDED


def order(seq: int, cl_ord_id: str = "ID", **kwargs: str) -> bytes:
    return inbound("D", seq, f"11={cl_ord_id}|{ORDER}", **kwargs)


def cl_ord_ids(app: Recorder) -> list[str]:
    return [message.get_str(11) for message in app.messages]


# --- 1: logon -----------------------------------------------------------------------------------------------


def test_case_1a_valid_logon_is_answered_with_a_logon() -> None:
    h = Harness()
    h.feed(logon(1))
    assert h.take() == [outbound("A", 1, "98=0|108=30")]
    assert h.session.state is SessionState.LOGGED_ON
    assert (h.app.logons, h.keys, h.session.target_comp_id) == (1, ["FIX.4.4:ENGINE->CLIENT"], "CLIENT")
    assert (h.store.next_sender_seq, h.store.next_target_seq) == (2, 2)
    assert h.session.heartbeat_interval_s == 30


def test_case_1a_logon_with_msg_seq_num_too_high_is_answered_then_a_resend_is_requested() -> None:
    h = Harness()
    h.feed(logon(5))
    assert h.take() == [outbound("A", 1, "98=0|108=30"), outbound("2", 2, "7=1|16=0")]
    # The counterparty fills 1..4; its Logon (5) was already handled, the next expected is 6.
    h.feed(inbound("4", 1, "123=Y|36=5", header=f"43=Y|122={STAMP}"))
    assert h.store.next_target_seq == 6
    h.feed(inbound("1", 6, "112=HELLO"))
    assert h.take() == [outbound("0", 3, "112=HELLO")]


def test_case_1a_logon_with_msg_seq_num_too_low_is_logged_out() -> None:
    store = MemoryStore()
    store.set_next_target_seq(10)
    h = Harness(store=store)
    h.feed(logon(3))
    assert h.take() == [outbound("5", 1, "58=MsgSeqNum too low, expecting 10 but received 3")]
    assert h.ended
    assert h.closed == ["MsgSeqNum too low, expecting 10 but received 3"]
    assert h.app.logons == 0


def test_case_1a_logon_with_reset_seq_num_flag_restarts_both_sequences() -> None:
    store = MemoryStore()
    store.set_next_sender_seq(40)
    store.set_next_target_seq(30)
    h = Harness(store=store)
    h.feed(logon(1, "141=Y"))
    assert h.take() == [outbound("A", 1, "98=0|108=30|141=Y")]
    assert (store.next_sender_seq, store.next_target_seq) == (2, 2)


def test_case_1b_second_logon_of_a_live_session_is_refused() -> None:
    live: dict[str | None, Session] = {}

    def admit(session: Session) -> str | None:
        if session.key in live:
            return f"{session.target_comp_id} is already logged on"
        live[session.key] = session
        return None

    store = MemoryStore()
    first = Harness(store=store, admit=admit)
    first.logon()
    second = Harness(store=store, admit=admit)
    second.feed(logon(2))
    assert second.take() == [outbound("5", 1, "58=CLIENT is already logged on")]
    assert second.ended
    assert second.closed == ["Logon refused: CLIENT is already logged on"]
    assert second.keys == [], "a refused Logon never touches the store"
    assert first.session.state is SessionState.LOGGED_ON
    assert (store.next_sender_seq, store.next_target_seq) == (2, 2)


@pytest.mark.parametrize(
    ("sender", "target", "text"),
    [("CLIENT", "OTHER", "wrong TargetCompID 'OTHER'"), ("INTRUDER", "ENGINE", "wrong SenderCompID 'INTRUDER'")],
)
def test_case_1c_logon_with_a_wrong_comp_id_is_refused(sender: str, target: str, text: str) -> None:
    h = Harness()
    h.feed(logon(1, sender=sender, target=target))
    reply = f"35=5|49=ENGINE|56={sender}|34=1|52={STAMP}|58={text}"
    assert h.take() == [pretty(wire(reply))]
    assert h.ended
    assert h.keys == []


def test_case_1d_logon_with_a_bad_password_is_refused() -> None:
    seen: list[tuple[str | None, str | None, str, str]] = []

    def authenticate(username: str | None, password: str | None, sender: str, target: str) -> str | None:
        seen.append((username, password, sender, target))
        return None if password == "secret" else "invalid username or password"

    h = Harness(authenticate=authenticate)
    h.feed(logon(1, "553=alice|554=guess"))
    assert h.take() == [outbound("5", 1, "58=invalid username or password")]
    assert h.ended
    assert h.app.logons == 0
    assert seen == [("alice", "guess", "CLIENT", "ENGINE")]

    h = Harness(authenticate=authenticate)
    h.feed(logon(1, "553=alice|554=secret"))
    assert h.take() == [outbound("A", 1, "98=0|108=30")]
    assert h.session.username == "alice"


def test_case_1d_logon_with_a_sending_time_out_of_tolerance_is_refused() -> None:
    h = Harness()
    h.feed(logon(1, sending=stamp(-121)))
    assert h.take() == [outbound("5", 1, "58=SendingTime accuracy problem")]
    assert h.ended


def test_case_1d_logon_missing_a_required_field_is_refused() -> None:
    h = Harness()
    h.feed(inbound("A", 1, "98=0"))
    assert h.take() == [outbound("5", 1, "58=invalid Logon: required tag 108 missing")]
    assert h.ended


def with_body_length(frame: bytes, delta: int) -> bytes:
    length = int(frame.split(b"\x019=")[1].split(b"\x01")[0])
    return frame.replace(b"\x019=%d\x01" % length, b"\x019=%d\x01" % (length + delta), 1)


def test_case_1d_logon_with_a_wrong_body_length_disconnects_without_reply() -> None:
    h = Harness()
    h.feed(with_body_length(logon(1), -3))
    assert h.take() == []
    assert h.ended
    assert h.closed == ["garbled data before Logon"]
    # A BodyLength beyond the bytes sent waits for more; the Logon timeout ends it.
    h = Harness()
    h.feed(with_body_length(logon(1), 40))
    h.at(10)
    assert h.take() == []
    assert h.closed == ["no Logon within 10 s"]


def test_case_1d_logon_with_a_wrong_begin_string_disconnects_without_reply() -> None:
    h = Harness()
    h.feed(logon(1, begin=b"FIX.4.2"))
    assert h.take() == []
    assert h.ended
    assert h.closed == ["Logon with BeginString b'FIX.4.2'"]


def test_case_1e_first_message_not_a_logon_disconnects_without_reply() -> None:
    h = Harness()
    h.feed(inbound("1", 1, "112=HELLO"))
    assert h.take() == []
    assert h.ended
    assert h.closed == ["first message is MsgType '1', not a Logon"]
    assert h.store.next_target_seq == 1


def test_no_logon_within_the_logon_timeout_disconnects() -> None:
    h = Harness()
    assert h.session.next_deadline == T0 + 10 * NANOS_PER_SECOND
    h.at(9.9)
    assert not h.ended
    h.at(10)
    assert h.ended
    assert h.closed == ["no Logon within 10 s"]
    assert h.take() == []


# --- 2: standard header ---------------------------------------------------------------------------------------


def test_case_2a_in_sequence_messages_reach_the_application() -> None:
    h = Harness()
    h.logon()
    h.feed(order(2, "A1"), order(3, "A2"))
    assert cl_ord_ids(h.app) == ["A1", "A2"]
    assert h.take() == []
    assert h.store.next_target_seq == 4


def test_case_2b_msg_seq_num_too_high_asks_for_a_resend_and_queues_until_the_gap_is_filled() -> None:
    h = Harness()
    h.logon()
    h.feed(order(2, "A2"), order(5, "A5"))
    assert h.take() == [outbound("2", 2, "7=3|16=0")]
    assert cl_ord_ids(h.app) == ["A2"]
    h.feed(order(6, "A6"))
    assert h.take() == [], "one ResendRequest covers the gap"
    # The counterparty resends 3 and fills 4.
    h.feed(order(3, "A3", header=f"43=Y|122={stamp(-5)}"))
    h.feed(inbound("4", 4, "123=Y|36=5", header=f"43=Y|122={STAMP}"))
    assert cl_ord_ids(h.app) == ["A2", "A3", "A5", "A6"]
    assert h.store.next_target_seq == 7
    assert h.take() == []
    h.feed(order(8, "A8"))
    assert h.take() == [outbound("2", 3, "7=7|16=0")], "a new gap after the first one is filled"


def test_case_2c_msg_seq_num_too_low_logs_out_and_disconnects() -> None:
    h = Harness()
    h.logon()
    h.feed(inbound("0", 2), inbound("0", 3), inbound("0", 4), inbound("0", 2))
    assert h.take() == [outbound("5", 2, "58=MsgSeqNum too low, expecting 5 but received 2")]
    assert h.ended
    assert h.app.logouts == [("MsgSeqNum too low, expecting 5 but received 2", False)]


def test_case_2d_garbled_message_is_ignored_without_consuming_its_seq_num() -> None:
    h = Harness()
    h.logon()
    garbled = inbound("1", 2, "112=HELLO").replace(b"\x01112=", b"\x01112", 1)  # a field without '='
    h.feed(garbled)
    assert h.take() == []
    assert h.store.next_target_seq == 2
    assert not h.ended
    h.feed(inbound("1", 2, "112=HELLO"))
    assert h.take() == [outbound("0", 2, "112=HELLO")]


def test_case_2e_poss_dup_of_a_message_already_received_is_ignored() -> None:
    h = Harness()
    h.logon()
    h.feed(order(2, "A2"), order(2, "A2", header=f"43=Y|122={STAMP}"), order(3, "A3"))
    assert cl_ord_ids(h.app) == ["A2", "A3"]
    assert h.take() == []


def test_case_2e_poss_dup_of_a_message_not_received_is_processed() -> None:
    h = Harness()
    h.logon()
    h.feed(order(3, "A3"))
    assert h.take() == [outbound("2", 2, "7=2|16=0")]
    h.feed(order(2, "A2", header=f"43=Y|122={stamp(-1)}"))
    assert cl_ord_ids(h.app) == ["A2", "A3"]
    assert [message.get(43) for message in h.app.messages] == [b"Y", None]


def test_case_2f_orig_sending_time_after_sending_time_is_rejected_and_logged_out() -> None:
    h = Harness()
    h.logon()
    h.feed(order(2, "A2"), order(3, "A3"), order(2, "A2", header=f"43=Y|122={stamp(10)}"))
    assert h.take() == [
        outbound("3", 2, "45=2|371=122|372=D|373=10|58=SendingTime accuracy problem"),
        outbound("5", 3, "58=SendingTime accuracy problem"),
    ]
    assert h.session.state is SessionState.LOGOUT_SENT
    h.feed(inbound("5", 4))
    assert h.ended
    assert h.app.logouts == [("SendingTime accuracy problem", True)]


def test_case_2g_poss_dup_without_orig_sending_time_is_rejected() -> None:
    h = Harness()
    h.logon()
    h.feed(order(2, "A2"), order(3, "A3"), order(2, "A2", header="43=Y"))
    assert h.take() == [outbound("3", 2, "45=2|371=122|372=D|373=1|58=Required tag missing")]
    h.feed(inbound("1", 4, "112=HELLO"))
    assert h.take() == [outbound("0", 3, "112=HELLO")], "the rejected resend did not consume a number"


def test_case_2i_wrong_begin_string_logs_out() -> None:
    h = Harness()
    h.logon()
    h.feed(inbound("1", 2, "112=id", begin=b"FIX.4.1"))
    assert h.take() == [outbound("5", 2, "58=Incorrect BeginString FIX.4.1")]
    h.feed(inbound("5", 3))
    assert h.take() == []
    assert h.ended
    assert h.app.logouts == [("Incorrect BeginString FIX.4.1", True)]


@pytest.mark.parametrize(
    ("sender", "target", "tag"), [("WT", "ENGINE", 49), ("CLIENT", "DLSI", 56), ("WT", "DLSI", 49)]
)
def test_case_2k_comp_id_not_of_the_session_is_rejected_and_logged_out(sender: str, target: str, tag: int) -> None:
    h = Harness()
    h.logon()
    h.feed(order(2, sender=sender, target=target))
    assert h.take() == [
        outbound("3", 2, f"45=2|371={tag}|372=D|373=9|58=CompID problem"),
        outbound("5", 3, "58=CompID problem"),
    ]
    assert h.app.messages == []
    h.feed(inbound("5", 3))
    assert h.ended
    assert h.app.logouts == [("CompID problem", True)]


def test_case_2m_wrong_body_length_is_ignored() -> None:
    h = Harness()
    h.logon()
    h.feed(with_body_length(inbound("1", 2, "112=HELLO"), -3))
    assert h.take() == []
    assert h.store.next_target_seq == 2
    h.feed(inbound("1", 2, "112=HELLO"))
    assert h.take() == [outbound("0", 2, "112=HELLO")]


@pytest.mark.parametrize("offset", [-121, 121])
def test_case_2o_sending_time_out_of_tolerance_is_rejected_and_logged_out(offset: int) -> None:
    h = Harness()
    h.logon()
    h.feed(inbound("0", 2, sending=stamp(offset)))
    assert h.take() == [
        outbound("3", 2, "45=2|371=52|372=0|373=10|58=SendingTime accuracy problem"),
        outbound("5", 3, "58=SendingTime accuracy problem"),
    ]
    h.feed(inbound("5", 3))
    assert h.ended


def test_case_2q_invalid_msg_type_is_rejected() -> None:
    h = Harness()
    h.logon()
    h.feed(inbound("*", 2))
    assert h.take() == [outbound("3", 2, "45=2|371=35|372=*|373=11|58=invalid MsgType '*'")]
    assert h.store.next_target_seq == 3
    assert not h.ended


def test_case_2r_valid_but_unsupported_message_type_goes_to_the_application() -> None:
    def answer(session: Session, message: FixMessage) -> None:
        seq = message.get_str(34)
        reject = FixMessage(fields(f"35=j|45={seq}|372={message.msg_type}|380=3|58=Unsupported Message Type"))
        session.send_app(reject)

    h = Harness(app=Recorder(answer))
    h.logon()
    h.feed(inbound("8", 2, EXEC_REPORT))
    assert h.take() == [outbound("j", 2, "45=2|372=8|380=3|58=Unsupported Message Type")]
    assert [message.msg_type for message in h.app.messages] == ["8"]


def test_case_2t_first_three_fields_out_of_order_are_garbled() -> None:
    h = Harness()
    h.logon()
    rest = f"34=2\x0149=CLIENT\x0152={STAMP}\x0156=ENGINE\x01".encode()
    msg_type_first = b"35=0\x01" + with_checksum(b"8=FIX.4.4\x019=%d\x01" % len(rest) + rest)
    h.feed(msg_type_first)
    assert h.take() == []
    assert h.store.next_target_seq == 2
    body = f"34=2\x0135=0\x0149=CLIENT\x0152={STAMP}\x0156=ENGINE\x01".encode()
    h.feed(with_checksum(b"8=FIX.4.4\x01" + body))
    assert h.take() == []
    assert h.store.next_target_seq == 2
    h.feed(inbound("1", 2, "112=HELLO"))
    assert h.take() == [outbound("0", 2, "112=HELLO")]


def test_missing_required_header_field_is_rejected() -> None:
    h = Harness()
    h.logon()
    h.feed(wire("35=0|49=CLIENT|56=ENGINE|34=2"))
    assert h.take() == [outbound("3", 2, "45=2|371=52|372=0|373=1|58=Required tag missing")]
    assert h.store.next_target_seq == 3


def test_missing_msg_seq_num_logs_out() -> None:
    h = Harness()
    h.logon()
    h.feed(wire(f"35=0|49=CLIENT|56=ENGINE|52={STAMP}"))
    assert h.take() == [outbound("5", 2, "58=MsgSeqNum (34) missing or not a number")]
    assert h.ended


# --- 3: standard trailer --------------------------------------------------------------------------------------


def test_case_3b_bad_checksum_is_ignored_without_consuming_its_seq_num() -> None:
    h = Harness()
    h.logon()
    frame = inbound("1", 2, "112=HELLO")
    wrong = (int(frame[-4:-1]) + 1) % 256
    h.feed(frame[:-4] + b"%03d\x01" % wrong)
    assert h.take() == []
    assert h.store.next_target_seq == 2
    h.feed(inbound("1", 2, "112=HELLO"))
    assert h.take() == [outbound("0", 2, "112=HELLO")]


def test_case_3c_garbled_bytes_between_messages_are_dropped() -> None:
    h = Harness()
    h.logon()
    truncated = inbound("1", 2, "112=LOST")[:-20]
    h.feed(b"GARBAGE\x01" + truncated + inbound("1", 2, "112=HELLO") + b"junk")
    assert h.take() == [outbound("0", 2, "112=HELLO")]
    assert not h.ended


# --- 4-7: heartbeats, test requests, rejects ------------------------------------------------------------------


def test_case_4a_heartbeat_when_nothing_was_sent_for_a_heartbeat_interval() -> None:
    h = Harness()
    h.logon(heartbeat=30)
    h.at(29.9)
    assert h.take() == []
    h.at(30)
    assert h.take() == [outbound("0", 2, at=stamp(30))]
    h.feed(inbound("0", 2, sending=stamp(30)))
    h.at(59.9)
    assert h.take() == []
    h.at(60)
    assert h.take() == [outbound("0", 3, at=stamp(60))]


def test_case_4b_test_request_is_answered_with_its_id() -> None:
    h = Harness()
    h.logon()
    h.feed(inbound("1", 2, "112=HELLO"))
    assert h.take() == [outbound("0", 2, "112=HELLO")]


def test_case_5_heartbeats_received_keep_the_session_alive() -> None:
    h = Harness()
    h.logon(heartbeat=30)
    for n, second in enumerate(range(30, 300, 30)):
        h.clock.now = T0 + second * NANOS_PER_SECOND
        h.feed(inbound("0", n + 2, sending=stamp(second)))
        h.at(second)
    assert all("35=1" not in frame for frame in h.take()), "no TestRequest while heartbeats arrive"
    assert not h.ended


def test_case_6_silence_brings_a_test_request_then_a_disconnect() -> None:
    h = Harness()
    h.logon(heartbeat=30)
    h.at(30)
    assert h.take() == [outbound("0", 2, at=stamp(30))]
    assert h.session.next_deadline == T0 + 36 * NANOS_PER_SECOND
    h.at(36)
    assert h.take() == [outbound("1", 3, "112=TEST1", at=stamp(36))]
    h.at(66)
    assert h.take() == [outbound("0", 4, at=stamp(66))]
    h.at(71.9)
    assert not h.ended
    h.at(72)
    assert h.ended
    assert h.take() == []
    assert h.app.logouts == [("no answer to TestRequest TEST1", False)]


def test_case_6_answered_test_request_keeps_the_session() -> None:
    h = Harness()
    h.logon(heartbeat=30)
    h.at(36)
    assert h.take() == [outbound("1", 2, "112=TEST1", at=stamp(36))]
    h.clock.now = T0 + 37 * NANOS_PER_SECOND
    h.feed(inbound("0", 2, "112=TEST1", sending=stamp(37)))
    h.at(72)
    assert not h.ended


def test_case_7_reject_received_consumes_its_seq_num() -> None:
    h = Harness()
    h.logon()
    h.feed(inbound("3", 2, "45=1|373=5|58=whatever"))
    assert h.take() == []
    assert h.store.next_target_seq == 3
    assert not h.ended


# --- 8: answering a ResendRequest -----------------------------------------------------------------------------


def test_case_8_resend_request_resends_application_messages_and_gap_fills_admin_ones() -> None:
    h = Harness()
    h.logon()
    for seq in (2, 3, 4):  # our Heartbeats 2-4
        h.feed(inbound("1", seq, "112=HELLO"))
    for exec_id in ("E5", "E6"):  # our application messages 5-6
        h.session.send_app(FixMessage(fields(f"35=8|{EXEC_REPORT.replace('E1', exec_id)}")))
    for seq in (5, 6):  # our Heartbeats 7-8
        h.feed(inbound("1", seq, "112=HELLO"))
    h.session.send_app(FixMessage(fields(f"35=8|{EXEC_REPORT.replace('E1', 'E9')}")))  # 9
    h.take()

    def resent(seq: int, exec_id: str) -> str:
        return outbound("8", seq, EXEC_REPORT.replace("E1", exec_id), orig=STAMP)

    def gap_fill(seq: int, new_seq: int) -> str:
        return outbound("4", seq, f"123=Y|36={new_seq}", orig=STAMP)

    h.feed(inbound("2", 7, "7=2|16=4"))
    assert h.take() == [gap_fill(2, 5)]
    h.feed(inbound("2", 8, "7=2|16=6"))
    assert h.take() == [gap_fill(2, 5), resent(5, "E5"), resent(6, "E6")]
    h.feed(inbound("2", 9, "7=2|16=8"))
    assert h.take() == [gap_fill(2, 5), resent(5, "E5"), resent(6, "E6"), gap_fill(7, 9)]
    everything = [gap_fill(2, 5), resent(5, "E5"), resent(6, "E6"), gap_fill(7, 9), resent(9, "E9")]
    h.feed(inbound("2", 10, "7=2|16=9"))
    assert h.take() == everything
    h.feed(inbound("2", 11, "7=2|16=0"))
    assert h.take() == everything, "EndSeqNo 0 means everything sent"
    h.feed(inbound("1", 12, "112=HELLO"))
    assert h.take() == [outbound("0", 10, "112=HELLO")], "resends do not use new numbers"


def test_case_8_not_resendable_messages_are_gap_filled() -> None:
    h = Harness()
    h.logon()
    h.session.send_app(FixMessage(fields(f"35=8|{EXEC_REPORT}")), resendable=False)
    h.session.send_app(FixMessage(fields(f"35=8|{EXEC_REPORT.replace('E1', 'E3')}")))
    h.take()
    h.feed(inbound("2", 2, "7=1|16=0"))
    assert h.take() == [
        outbound("4", 1, "123=Y|36=3", orig=STAMP),
        outbound("8", 3, EXEC_REPORT.replace("E1", "E3"), orig=STAMP),
    ]


# --- 10-11: SequenceReset -------------------------------------------------------------------------------------


def test_case_10_gap_fill_with_the_expected_msg_seq_num_moves_the_expected_number() -> None:
    h = Harness()
    h.logon()
    h.feed(inbound("4", 2, "123=Y|36=20"))
    h.feed(inbound("1", 20, "112=HELLO"))
    assert h.take() == [outbound("0", 2, "112=HELLO")]


def test_case_10_gap_fill_with_msg_seq_num_too_high_asks_for_a_resend() -> None:
    h = Harness()
    h.logon()
    h.feed(inbound("4", 10, "123=Y|36=20"), inbound("1", 20, "112=HELLO"))
    assert h.take() == [outbound("2", 2, "7=2|16=0")]
    h.feed(inbound("4", 2, "123=Y|36=10", header=f"43=Y|122={STAMP}"))
    assert h.take() == [outbound("0", 3, "112=HELLO")], "the queued GapFill then TestRequest were processed"
    assert h.store.next_target_seq == 21


def test_case_10_gap_fill_with_msg_seq_num_too_low_and_poss_dup_is_ignored() -> None:
    h = Harness()
    h.logon()
    h.feed(inbound("4", 1, "123=Y|36=20", header=f"43=Y|122={stamp(-1)}"))
    h.feed(inbound("1", 2, "112=HELLO"))
    assert h.take() == [outbound("0", 2, "112=HELLO")]


def test_case_10_gap_fill_with_msg_seq_num_too_low_without_poss_dup_logs_out() -> None:
    h = Harness()
    h.logon()
    h.feed(inbound("1", 2, "112=HELLO"))
    h.take()
    h.feed(inbound("4", 1, "123=Y|36=20"))
    assert h.take() == [outbound("5", 3, "58=MsgSeqNum too low, expecting 3 but received 1")]
    assert h.ended


def test_case_10_gap_fill_that_would_lower_the_sequence_is_rejected() -> None:
    h = Harness()
    h.logon()
    h.feed(inbound("4", 2, "123=Y|36=2"))
    text = "Value is incorrect (out of range) for this tag: NewSeqNo 2 must be above 2"
    assert h.take() == [outbound("3", 2, f"45=2|371=36|372=4|373=5|58={text}")]
    assert h.store.next_target_seq == 3


@pytest.mark.parametrize("gap_fill_flag", ["", "123=N|"])
def test_case_11a_sequence_reset_to_a_higher_number_is_honoured(gap_fill_flag: str) -> None:
    h = Harness()
    h.logon()
    h.feed(inbound("4", 0, f"{gap_fill_flag}36=25"))
    h.feed(inbound("1", 25, "112=HELLO"))
    assert h.take() == [outbound("0", 2, "112=HELLO")]


def test_case_11b_sequence_reset_to_the_expected_number_is_accepted() -> None:
    h = Harness()
    h.logon()
    h.feed(inbound("4", 0, "36=2"), inbound("1", 2, "112=HELLO"))
    assert h.take() == [outbound("0", 2, "112=HELLO")]


def test_case_11c_sequence_reset_to_a_lower_number_is_rejected_and_not_applied() -> None:
    h = Harness()
    h.logon()
    h.feed(inbound("0", 2), inbound("0", 3))
    h.feed(inbound("4", 0, "36=1"))
    text = "Value is incorrect (out of range) for this tag: NewSeqNo 1 is below 4"
    assert h.take() == [outbound("3", 2, f"45=0|371=36|372=4|373=5|58={text}")]
    h.feed(inbound("1", 4, "112=HELLO"))
    assert h.take() == [outbound("0", 3, "112=HELLO")]


# --- 12-13: logout --------------------------------------------------------------------------------------------


def test_case_12_logout_we_initiate_ends_on_the_counterparty_logout() -> None:
    h = Harness()
    h.logon()
    h.session.logout("end of day")
    assert h.take() == [outbound("5", 2, "58=end of day")]
    assert h.session.state is SessionState.LOGOUT_SENT
    h.feed(inbound("1", 2, "112=LATE"))
    assert h.take() == [outbound("0", 3, "112=LATE")], "messages are still processed while waiting"
    h.feed(inbound("5", 3))
    assert h.take() == []
    assert h.ended
    assert h.app.logouts == [("end of day", True)]
    assert h.closed == ["end of day"]


def test_case_12_logout_without_reply_disconnects_after_the_timeout() -> None:
    h = Harness()
    h.logon()
    h.session.logout("end of day")
    h.take()
    h.at(9.9)
    assert not h.ended
    h.at(10)
    assert h.ended
    assert h.app.logouts == [("end of day (no Logout reply within 10 s)", False)]


def test_case_13b_unsolicited_logout_is_answered_then_the_session_ends() -> None:
    h = Harness()
    h.logon()
    h.feed(inbound("5", 2, "58=bye"))
    assert h.take() == [outbound("5", 2)]
    assert h.ended
    assert h.app.logouts == [("counterparty logged out: bye", True)]
    assert h.store.next_target_seq == 3


def test_case_13b_logout_with_a_gap_is_answered_at_once() -> None:
    h = Harness()
    h.logon()
    h.feed(inbound("5", 9))
    assert h.take() == [outbound("5", 2)]
    assert h.ended
    assert h.store.next_target_seq == 2, "the gap is recovered on the next connection"


# --- 14: field problems ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        pytest.param(f"11=ID|{ORDER}|9999=X", "371=9999|372=D|373=0|58=undefined tag 9999", id="14a-bad-tag"),
        pytest.param(ORDER, "371=11|372=D|373=1|58=required tag 11 missing", id="14b-required-missing"),
        pytest.param(f"11=ID|{ORDER}|112=X", "371=112|372=D|373=2|58=tag 112 not defined for NewOrderSingle", id="14c"),
        pytest.param(f"11=ID|38=|{ORDER}", "371=38|372=D|373=4|58=tag 38 has no value", id="14d-no-value"),
        pytest.param(
            f"11=ID|{ORDER.replace('54=1', '54=Z')}", "371=54|372=D|373=5|58=value is incorrect for tag 54", id="14e"
        ),
        pytest.param(
            f"11=ID|38=abc|{ORDER}", "371=38|372=D|373=6|58=incorrect data format for tag 38", id="14f-format"
        ),
        pytest.param(f"11=ID|{ORDER}|50=DESK", "371=50|372=D|373=14|58=tag 50 out of order", id="14g-order"),
        pytest.param(
            f"11=ID|{ORDER.replace('55=INTC', '55=INTC|55=MSFT')}",
            "371=55|372=D|373=13|58=tag 55 appears more than once",
            id="14h-repeated",
        ),
        pytest.param(
            f"11=ID|78=2|79=ACC1|80=10|{ORDER}",
            "371=78|372=D|373=16|58=NumInGroup 78 says 2 entries, found 1",
            id="14i-group-count",
        ),
    ],
)
def test_case_14_field_problems_are_rejected_and_consume_the_seq_num(body: str, expected: str) -> None:
    h = Harness()
    h.logon()
    h.feed(inbound("D", 2, body))
    assert h.take() == [outbound("3", 2, f"45=2|{expected}")]
    assert h.app.messages == []
    assert h.store.next_target_seq == 3
    h.feed(inbound("1", 3, "112=HELLO"))
    assert h.take() == [outbound("0", 3, "112=HELLO")]


# --- 15-20 ----------------------------------------------------------------------------------------------------


def test_case_15_application_messages_get_the_session_header() -> None:
    h = Harness()
    h.logon()
    message = FixMessage(fields(f"35=8|34=99|52=19990101-00:00:00|49=X|{EXEC_REPORT}"))
    assert h.session.send_app(message) == 2
    assert h.take() == [outbound("8", 2, EXEC_REPORT)]
    assert h.store.sent_range(1, 10) == [(2, wire(f"35=8|49=ENGINE|56=CLIENT|34=2|52={STAMP}|{EXEC_REPORT}"))]


def test_case_15_sending_needs_a_logon_and_an_application_message_type() -> None:
    h = Harness()
    with pytest.raises(SessionError):
        h.session.send_app(FixMessage(fields(f"35=8|{EXEC_REPORT}")))
    h.logon()
    with pytest.raises(ValueError, match="not an application message"):
        h.session.send_app(FixMessage(fields("35=0")))


def test_case_16_messages_sent_while_disconnected_are_resent_on_the_next_connection() -> None:
    store = MemoryStore()
    first = Harness(store=store)
    first.logon()
    first.feed(inbound("5", 2))
    assert first.take() == [outbound("5", 2)]
    assert first.ended
    assert first.session.send_app(FixMessage(fields(f"35=8|{EXEC_REPORT}"))) == 3
    assert first.take() == [], "kept, not sent"

    second = Harness(store=store)
    second.clock.now = T0 + 60 * NANOS_PER_SECOND
    second.feed(logon(3, sending=stamp(60)))
    assert second.take() == [outbound("A", 4, "98=0|108=30", at=stamp(60))]
    second.feed(inbound("2", 4, "7=3|16=0", sending=stamp(60)))
    assert second.take() == [
        outbound("8", 3, EXEC_REPORT, at=stamp(60), orig=STAMP),
        outbound("4", 4, "123=Y|36=5", at=stamp(60), orig=stamp(60)),
    ]


def test_case_17_logon_asking_for_encryption_is_refused() -> None:
    h = Harness()
    h.feed(inbound("A", 1, "98=1|108=30"))
    assert h.take() == [outbound("5", 1, "58=EncryptMethod 1 not supported (only 0, none)")]
    assert h.ended


def test_case_18_third_party_routing_fields_reach_the_application() -> None:
    h = Harness()
    h.logon()
    h.feed(order(2, header="115=BROKER|116=TRADER7"))
    (message,) = h.app.messages
    assert (message.get_str(115), message.get_str(116)) == ("BROKER", "TRADER7")


def test_case_19_poss_resend_messages_reach_the_application_which_decides() -> None:
    seen: set[str] = set()
    fresh: list[str] = []

    def dedupe(session: Session, message: FixMessage) -> None:
        cl_ord_id = message.get_str(11)
        if message.get(97) != b"Y" or cl_ord_id not in seen:
            fresh.append(cl_ord_id)
        seen.add(cl_ord_id)

    h = Harness(app=Recorder(dedupe))
    h.logon()
    h.feed(order(2, "A"), order(3, "A", header="97=Y"), order(4, "B", header="97=Y"))
    assert cl_ord_ids(h.app) == ["A", "A", "B"]
    assert fresh == ["A", "B"], "19a: the seen one is ignored by the application; 19b: the new one is processed"
    assert h.take() == []
    assert h.store.next_target_seq == 5


def test_case_20_simultaneous_resend_requests_are_both_served() -> None:
    h = Harness()
    h.logon()
    for exec_id in ("E2", "E3"):
        h.session.send_app(FixMessage(fields(f"35=8|{EXEC_REPORT.replace('E1', exec_id)}")))
    h.take()
    h.feed(inbound("0", 7))
    assert h.take() == [outbound("2", 4, "7=2|16=0")]
    h.feed(inbound("2", 8, "7=2|16=3"))
    assert h.take() == [
        outbound("8", 2, EXEC_REPORT.replace("E1", "E2"), orig=STAMP),
        outbound("8", 3, EXEC_REPORT.replace("E1", "E3"), orig=STAMP),
    ], "their ResendRequest is answered although it is out of sequence"
    h.feed(inbound("4", 2, "123=Y|36=7", header=f"43=Y|122={STAMP}"))
    assert h.store.next_target_seq == 9, "the queued 7 and the already answered 8 were consumed"
    assert h.take() == []
    h.feed(inbound("5", 9))
    assert h.take() == [outbound("5", 5)]
    assert h.ended
