"""The FIX 4.4 session layer, acceptor side: logon, heartbeats, sequence numbers, resends, rejects and logout.

A :class:`Session` is the protocol state of one connection, with no transport in it. The transport

* feeds it every byte received (:meth:`Session.feed`),
* calls :meth:`Session.on_timer` regularly (at least once a second, or at :attr:`Session.next_deadline`),
* reports a lost connection (:meth:`Session.connection_lost`),

and gives it a ``send(bytes)`` callable to write with and a ``close(reason)`` callable, called exactly once when
the session is over (the transport then disconnects, and a server forgets the session). Application messages go
to an :class:`Application`; the application sends with :meth:`Session.send_app`. The initiator side
(:class:`engine.fix.initiator.InitiatorSession`) is a subclass that sends the Logon and checks the answer to it;
everything after the Logon exchange is this class's.

Behaviour follows FIX 4.4 Volume 2 and its session test cases:

* The first message must be a Logon; anything else, or garbled bytes, ends the connection without a reply. A
  Logon is refused with a Logout stating why (invalid message, wrong CompID, SendingTime, EncryptMethod other
  than 0, failed authentication, session already logged on) sent outside the sequence (MsgSeqNum 1, nothing
  stored), then the connection ends. An accepted Logon is answered with a Logon echoing HeartBtInt (108) (and
  ResetSeqNumFlag (141) when the counterparty asked to restart both sequences); one whose MsgSeqNum is below
  the expected number gets the "MsgSeqNum too low" Logout, in sequence.
* Sequence numbers of both directions live in a :class:`~engine.fix.store.SessionStore`. A number we send is
  stored before its bytes go out; the expected inbound number is stored after the message was processed (an
  application must tolerate seeing a message again after a crash, e.g. by its ClOrdID).
* Inbound MsgSeqNum too high: a ResendRequest (7 = expected, 16 = 0) and the message waits in a queue until the
  gap is filled; too low without PossDupFlag: Logout "MsgSeqNum too low, expecting X but received Y" and
  disconnect; too low with PossDupFlag: ignored. Resends we send carry PossDupFlag and OrigSendingTime; admin
  messages and messages sent as not resendable are replaced by SequenceReset-GapFill.
* Garbled frames (BodyLength, CheckSum, field order) are dropped without consuming a sequence number; other
  problems are answered with a Reject (35=3) and consume it; a wrong BeginString, CompID or SendingTime also
  logs out.
* A message larger than ``max_message_bytes``, or more than ``max_messages_per_second`` over the rate window,
  logs the session out and closes it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Protocol, TypeAlias

from core.numbers import NANOS_PER_SECOND, Nanos
from engine.fix.codec import BEGIN_STRING, FixParser, GarbledMessage, encode, frame_body
from engine.fix.dictionary import FixDictionary, SessionRejectReason, fix44
from engine.fix.message import SESSION_TAGS, Field, FixMessage, encode_fields, format_utc_timestamp, parse_utc_timestamp
from engine.fix.store import SessionStore, session_key

log = logging.getLogger(__name__)

COMPID_PROBLEM = 9
"""SessionRejectReason (373): SenderCompID or TargetCompID not those of the session."""
SENDING_TIME_ACCURACY_PROBLEM = 10
"""SessionRejectReason (373): SendingTime too far from our clock, or OrigSendingTime after SendingTime."""

Authenticator: TypeAlias = Callable[[str | None, str | None, str, str], str | None]
"""``authenticate(username, password, sender_comp_id, target_comp_id)`` of a Logon -> None if accepted, else why.

Username (553) and Password (554) are None when absent; the CompIDs are as the counterparty sent them (its
SenderCompID (49) first).
"""

_ADMIN_TYPES = frozenset({"0", "1", "2", "3", "4", "5", "A"})
_RESEND_REPLACED = frozenset({8, 9, 10, 34, 35, 43, 49, 52, 56, 122})
_STAMPED = SESSION_TAGS
_FRAMING = frozenset({8, 9, 10})
_BAD_FORMAT = "Incorrect data format for value"


class SessionState(Enum):
    """Where a session stands."""

    AWAITING_LOGON = "awaiting logon"
    LOGGED_ON = "logged on"
    LOGOUT_SENT = "logout sent"
    """We sent a Logout and wait (bounded by ``logout_timeout_s``) for the counterparty's."""
    ENDED = "ended"


# Read on every message: an enum class attribute costs a slow lookup in Python 3.11.
_AWAITING_LOGON, _LOGGED_ON, _ENDED = SessionState.AWAITING_LOGON, SessionState.LOGGED_ON, SessionState.ENDED


class SessionError(RuntimeError):
    """The session cannot do what was asked in its current state (e.g. send before Logon)."""


class Application(Protocol):
    """What the session hands over to the layer above it. Calls come from inside the session's methods."""

    def on_logon(self, session: Session) -> None:
        """The counterparty is logged on; :meth:`Session.send_app` may be used from now on."""
        ...

    def on_logout(self, session: Session, reason: str, graceful: bool) -> None:
        """A logged-on session ended; ``graceful`` when Logouts were exchanged both ways."""
        ...

    def on_app_message(self, session: Session, message: FixMessage) -> None:
        """An application message, in sequence, valid against the dictionary (it may be any application type:
        answer the unsupported ones with a BusinessMessageReject (35=j)). PossResend (97=Y) messages come here
        too: the application decides whether it already saw them."""
        ...


@dataclass(frozen=True, slots=True, kw_only=True)
class SessionConfig:
    """How a session behaves. Times are whole seconds."""

    sender_comp_id: str
    """Our CompID: SenderCompID (49) of what we send, TargetCompID (56) required on what we receive."""
    target_comp_id: str | None = None
    """The counterparty's CompID, or None to accept any (the authenticator then decides who may log on)."""
    reset_on_logon: bool = False
    """Restart both sequences at 1 on every Logon."""
    reset_on_logout: bool = False
    """Restart both sequences at 1 when a session ends with a completed Logout handshake."""
    reset_on_disconnect: bool = False
    """Restart both sequences at 1 whenever a logged-on session ends."""
    sending_time_tolerance_s: int | None = 120
    """Largest distance between a message's SendingTime (52) and our clock; None does not check."""
    max_message_bytes: int = 64 * 1024
    """Largest inbound frame, in bytes."""
    max_messages_per_second: int = 50_000
    """Inbound rate limit, averaged over ``rate_window_s``."""
    rate_window_s: int = 1
    """Window of the rate limit: up to ``max_messages_per_second * rate_window_s`` messages in a burst."""
    logout_timeout_s: int = 10
    """How long we wait for the counterparty's Logout after sending ours."""
    logon_timeout_s: int = 10
    """How long a connection may stay without a Logon."""
    test_request_margin_percent: int = 20
    """Silence beyond HeartBtInt, in percent of it, before a TestRequest; as long again before disconnecting."""
    max_queued_messages: int = 10_000
    """Most messages held behind a sequence gap before the session logs out."""

    def __post_init__(self) -> None:
        if not self.sender_comp_id:
            raise ValueError("sender_comp_id must not be empty")
        positive = {
            "max_message_bytes": self.max_message_bytes,
            "max_messages_per_second": self.max_messages_per_second,
            "rate_window_s": self.rate_window_s,
            "logout_timeout_s": self.logout_timeout_s,
            "logon_timeout_s": self.logon_timeout_s,
            "max_queued_messages": self.max_queued_messages,
        }
        for name, value in positive.items():
            if value <= 0:
                raise ValueError(f"{name} must be positive, got {value}")
        if self.test_request_margin_percent < 0:
            raise ValueError(f"test_request_margin_percent must not be negative: {self.test_request_margin_percent}")
        if self.sending_time_tolerance_s is not None and self.sending_time_tolerance_s < 0:
            raise ValueError(f"sending_time_tolerance_s must not be negative, got {self.sending_time_tolerance_s}")


class _RateLimit:
    """Token bucket in integer units: a message costs one second's worth, ``rate`` units refill per nanosecond."""

    __slots__ = ("_capacity", "_last", "_rate", "_tokens")

    def __init__(self, rate: int, window_s: int, now: Nanos) -> None:
        self._rate = rate
        self._capacity = rate * window_s * NANOS_PER_SECOND
        self._tokens = self._capacity
        self._last = now

    def take(self, now: Nanos) -> bool:
        """Whether one more message fits (and counts it)."""
        tokens = self._tokens
        if now > self._last:
            tokens += (now - self._last) * self._rate
            self._last = now
            if tokens > self._capacity:
                tokens = self._capacity
        if tokens < NANOS_PER_SECOND:
            self._tokens = tokens
            return False
        self._tokens = tokens - NANOS_PER_SECOND
        return True


class Session:
    """One FIX 4.4 acceptor session over one connection; see the module documentation for the protocol.

    ``send`` writes bytes to the connection; ``close(reason)`` is called exactly once, when the session ends for
    whatever reason (the transport then disconnects). ``store_for(key)`` gives the store of a session key (see
    :func:`~engine.fix.store.session_key`); it is called once, after the Logon was authenticated and admitted.
    ``authenticate`` checks a Logon's credentials (None accepts any). ``admit(session)`` registers the session as
    the live one for its key, or returns why it cannot (typically: already logged on); the server releases it
    when ``close`` is called. ``clock`` gives the time in integer nanoseconds since the epoch.
    Not thread-safe: call it from one thread (the event loop).
    """

    def __init__(
        self,
        config: SessionConfig,
        *,
        send: Callable[[bytes], None],
        close: Callable[[str], None],
        store_for: Callable[[str], SessionStore],
        application: Application,
        authenticate: Authenticator | None = None,
        admit: Callable[[Session], str | None] | None = None,
        clock: Callable[[], Nanos] = time.time_ns,
        dictionary: FixDictionary | None = None,
    ) -> None:
        self._config = config
        self._send = send
        self._close = close
        self._store_for = store_for
        self._application = application
        self._authenticate = authenticate
        self._admit = admit
        self._clock = clock
        self._dictionary = dictionary or fix44()
        self._validate = self._dictionary.validator()
        self._begin = BEGIN_STRING
        self._garbled = 0
        self._parser = FixParser(
            data_lengths=self._dictionary.data_lengths, max_body_length=1 << 62, on_garbled=self._on_garbled
        )
        now = clock()
        self._rate = _RateLimit(config.max_messages_per_second, config.rate_window_s, now)
        self._state = SessionState.AWAITING_LOGON
        self._store: SessionStore | None = None
        self._sender = config.sender_comp_id.encode("ascii")
        self._target = (config.target_comp_id or "").encode("ascii")
        self._username: str | None = None
        self._heartbeat_ns = 0
        self._connected_at = now
        self._last_sent = now
        self._last_received = now
        self._test_request: tuple[bytes, Nanos] | None = None
        self._test_requests = 0
        self._logout_deadline = 0
        self._logout_reason = ""
        self._queue: dict[int, FixMessage] = {}
        self._handled_early: set[int] = set()
        self._resend_until: int | None = None

    # --- what the layers around it use ------------------------------------------------------------------------

    @property
    def state(self) -> SessionState:
        """Where the session stands."""
        return self._state

    @property
    def config(self) -> SessionConfig:
        """The configuration the session was built with."""
        return self._config

    @property
    def sender_comp_id(self) -> str:
        """Our CompID."""
        return self._sender.decode("ascii")

    @property
    def target_comp_id(self) -> str | None:
        """The counterparty's CompID: configured, or learned from its Logon (None before it when not configured)."""
        return self._target.decode("latin-1") or None

    @property
    def username(self) -> str | None:
        """Username (553) of the Logon, when it had one."""
        return self._username

    @property
    def key(self) -> str | None:
        """The session key (see :func:`~engine.fix.store.session_key`) once the counterparty's CompID is known."""
        target = self.target_comp_id
        return None if target is None else session_key(self.sender_comp_id, target, self._begin.decode("ascii"))

    @property
    def heartbeat_interval_s(self) -> int:
        """HeartBtInt (108) agreed at Logon (0: no heartbeats)."""
        return self._heartbeat_ns // NANOS_PER_SECOND

    @property
    def store(self) -> SessionStore | None:
        """The session's store, from the Logon on."""
        return self._store

    @property
    def next_deadline(self) -> Nanos | None:
        """The earliest time :meth:`on_timer` has something to do (None once ended)."""
        state = self._state
        if state is SessionState.ENDED:
            return None
        if state is SessionState.AWAITING_LOGON:
            return self._connected_at + self._config.logon_timeout_s * NANOS_PER_SECOND
        times: list[Nanos] = []
        if state is SessionState.LOGOUT_SENT:
            times.append(self._logout_deadline)
        if self._heartbeat_ns > 0:
            times.append(self._last_sent + self._heartbeat_ns)
            quiet_since = self._last_received if self._test_request is None else self._test_request[1]
            times.append(quiet_since + self._quiet_limit_ns)
        return min(times) if times else None

    def feed(self, data: bytes) -> None:
        """Processes bytes received from the connection (any cut of the stream)."""
        if self._ended:
            return
        garbled_before = self._garbled
        clock = self._clock
        for message in self._parser.feed(data):
            if self._ended:
                return
            now = clock()
            if self._within_limits(message, now):
                self._receive(message, now)
        if self._ended:
            return
        if self._parser.buffered > self._config.max_message_bytes:
            self._limit_exceeded(f"message larger than the limit of {self._config.max_message_bytes} bytes")
        elif self._garbled > garbled_before and self._state is SessionState.AWAITING_LOGON:
            self._end("garbled data before Logon", graceful=False)

    def on_timer(self, now: Nanos | None = None) -> None:
        """Sends heartbeats and test requests, and ends a session that stays silent or never logs on or out.

        ``now`` is the time on the session's clock (read from it when None).
        """
        if now is None:
            now = self._clock()
        state = self._state
        if state is SessionState.ENDED:
            return
        if state is SessionState.AWAITING_LOGON:
            if now - self._connected_at >= self._config.logon_timeout_s * NANOS_PER_SECOND:
                self._end(f"no Logon within {self._config.logon_timeout_s} s", graceful=False)
            return
        if state is SessionState.LOGOUT_SENT and now >= self._logout_deadline:
            reason = f"{self._logout_reason} (no Logout reply within {self._config.logout_timeout_s} s)"
            self._end(reason, graceful=False)
            return
        if self._heartbeat_ns > 0:
            self._keep_alive(now)

    def connection_lost(self, reason: str) -> None:
        """The transport lost the connection (or the counterparty closed it)."""
        self._end(f"connection lost: {reason}", graceful=False)

    def send_app(self, message: FixMessage, *, resendable: bool = True) -> int:
        """Sends an application message (MsgType first; 8, 9, 10, 34, 49, 52 and 56 are stamped by the session)
        and returns its MsgSeqNum.

        The frame is stored before it goes out, for resends; ``resendable=False`` stores only the sequence
        number (a ResendRequest then gets a GapFill in its place). After a Logout was sent or the session ended,
        the message is stored under the next MsgSeqNum without being sent: the counterparty gets it when it asks
        for a resend on its next connection (the store factory must then give the next session the same store).
        Raises :class:`SessionError` before the Logon.
        """
        store = self._store
        if store is None:
            raise SessionError(f"{self}: cannot send before the counterparty is logged on")
        msg_type = message.msg_type
        if msg_type in _ADMIN_TYPES or not msg_type:
            raise ValueError(f"MsgType {msg_type!r} is not an application message")
        online = self._state is _LOGGED_ON
        return self._transmit_body(msg_type.encode("ascii"), message.body_bytes(), keep=resendable, deliver=online)

    def logout(self, reason: str) -> None:
        """Starts the Logout handshake: sends a Logout with ``reason`` and ends the session on the counterparty's
        Logout, or after ``logout_timeout_s``. Before the Logon, it just ends the session."""
        if self._state is SessionState.AWAITING_LOGON:
            self._end(reason, graceful=False)
        elif self._state is SessionState.LOGGED_ON:
            self._logout_then_wait(reason)

    def __repr__(self) -> str:
        return f"Session({self.sender_comp_id}<->{self.target_comp_id or '?'}, {self._state.value})"

    # --- inbound ----------------------------------------------------------------------------------------------

    @property
    def _ended(self) -> bool:
        return self._state is _ENDED

    def _on_garbled(self, garbled: GarbledMessage) -> None:
        self._garbled += 1
        if self._state is SessionState.AWAITING_LOGON:
            # Not logged: it may be a Logon with a password in it.
            log.warning("%r: dropped %d garbled bytes (%s)", self, len(garbled.data), garbled.reason)
        else:
            log.warning("%r: dropped garbled data (%s): %r", self, garbled.reason, garbled.data[:200])

    def _within_limits(self, message: FixMessage, now: Nanos) -> bool:
        size = _frame_size(message)
        if size > self._config.max_message_bytes:
            self._limit_exceeded(f"message of {size} bytes exceeds the limit of {self._config.max_message_bytes}")
            return False
        if not self._rate.take(now):
            limit = self._config.max_messages_per_second
            self._limit_exceeded(f"message rate above the limit of {limit} per second")
            return False
        return True

    def _limit_exceeded(self, reason: str) -> None:
        if self._state is SessionState.AWAITING_LOGON:
            self._end(reason, graceful=False)
        else:
            self._logout_now(reason)

    def _receive(self, message: FixMessage, now: Nanos) -> None:
        """Handles one message received at ``now`` (on the session's clock)."""
        self._last_received = now
        self._test_request = None
        if self._state is _AWAITING_LOGON:
            self._on_logon(message, now)
            return
        get = message.get
        if get(8) != self._begin:
            value = (get(8) or b"").decode("latin-1")
            self._logout_then_wait(f"Incorrect BeginString {value}")
            return
        seq_text = get(34)
        if seq_text is None or not seq_text.isdigit():
            self._logout_now("MsgSeqNum (34) missing or not a number")
            return
        seq = int(seq_text)
        # The common case in one test (CompIDs those of the session, SendingTime present); any other goes
        # through the checks one by one, which answer it.
        sender, target, sending = get(49), get(56), get(52)
        if sender and target and sending and sender == self._target and target == self._sender:
            if not self._sending_time_ok(message, seq, _timestamp(sending), now):
                return
        elif not self._header_ok(message, seq, now):
            return
        if get(35) == b"4" and get(123) != b"Y":
            self._on_sequence_reset(message, seq)
            return
        expected = self._require_store().next_target_seq
        if seq < expected:
            self._on_seq_too_low(message, seq, expected)
        elif seq > expected:
            self._on_seq_too_high(message, seq, expected)
        else:
            self._process(message, seq)
            if self._queue:
                self._drain_queue()

    def _header_ok(self, message: FixMessage, seq: int, now: Nanos) -> bool:
        """Checks CompIDs and SendingTime; on a problem sends the Reject (and the Logout) and returns False."""
        for tag in (49, 56, 52):
            if not message.get(tag):
                self._reject(message, seq, SessionRejectReason.REQUIRED_TAG_MISSING, tag, "Required tag missing")
                self._consume_if_expected(seq)
                return False
        if message.get(49) != self._target or message.get(56) != self._sender:
            tag = 49 if message.get(49) != self._target else 56
            self._reject(message, seq, COMPID_PROBLEM, tag, "CompID problem")
            self._consume_if_expected(seq)
            self._logout_then_wait("CompID problem")
            return False
        return self._sending_time_ok(message, seq, _timestamp(message.get(52)), now)

    def _sending_time_ok(self, message: FixMessage, seq: int, sending: Nanos | None, now: Nanos) -> bool:
        """Checks SendingTime (``sending``, None when it is not a UTCTimestamp); see :meth:`_header_ok`."""
        if sending is None:
            self._reject(message, seq, SessionRejectReason.INCORRECT_DATA_FORMAT, 52, _BAD_FORMAT)
            self._consume_if_expected(seq)
            return False
        if not self._time_ok(sending, now):
            self._reject(message, seq, SENDING_TIME_ACCURACY_PROBLEM, 52, "SendingTime accuracy problem")
            self._consume_if_expected(seq)
            self._logout_then_wait("SendingTime accuracy problem")
            return False
        return True

    def _time_ok(self, sending: Nanos, now: Nanos) -> bool:
        tolerance = self._config.sending_time_tolerance_s
        return tolerance is None or abs(sending - now) <= tolerance * NANOS_PER_SECOND

    def _on_seq_too_low(self, message: FixMessage, seq: int, expected: int) -> None:
        if message.get(43) != b"Y":
            self._logout_now(f"MsgSeqNum too low, expecting {expected} but received {seq}")
        elif not self._poss_dup_problem(message, seq):
            log.debug("%r: ignored possible duplicate %d (expecting %d)", self, seq, expected)

    def _on_seq_too_high(self, message: FixMessage, seq: int, expected: int) -> None:
        msg_type = message.msg_type
        if msg_type == "5":
            # The gap is recovered on the next connection; a Logout is answered at once.
            self._on_logout(message)
            return
        if len(self._queue) >= self._config.max_queued_messages:
            self._logout_now(f"more than {self._config.max_queued_messages} messages behind a sequence gap")
            return
        self._queue[seq] = message
        if msg_type == "2" and self._dictionary.validate(message) is None:
            # Answered now so that both sides can recover at once (simultaneous resend requests).
            self._answer_resend(message)
            self._handled_early.add(seq)
        self._request_resend(expected, seq)

    def _request_resend(self, expected: int, seq: int) -> None:
        if self._resend_until is not None:
            self._resend_until = max(self._resend_until, seq)
            return
        self._resend_until = seq
        log.info("%r: MsgSeqNum %d received, expecting %d: asking for a resend", self, seq, expected)
        self._transmit(b"2", [(7, b"%d" % expected), (16, b"0")])

    def _poss_dup_problem(self, message: FixMessage, seq: int) -> bool:
        """Checks OrigSendingTime of a PossDupFlag message; on a problem sends the Reject and returns True."""
        if message.msg_type == "4":
            return False
        original = message.get(122)
        if not original:
            self._reject(message, seq, SessionRejectReason.REQUIRED_TAG_MISSING, 122, "Required tag missing")
            return True
        original_ns = _timestamp(original)
        if original_ns is None:
            self._reject(message, seq, SessionRejectReason.INCORRECT_DATA_FORMAT, 122, _BAD_FORMAT)
            return True
        sending = _timestamp(message.get(52))
        if sending is not None and original_ns > sending:
            self._reject(message, seq, SENDING_TIME_ACCURACY_PROBLEM, 122, "SendingTime accuracy problem")
            self._logout_then_wait("SendingTime accuracy problem")
            return True
        return False

    def _process(self, message: FixMessage, seq: int) -> None:
        """Handles the message whose MsgSeqNum is the expected one, and consumes that number."""
        if message.get(43) == b"Y" and self._poss_dup_problem(message, seq):
            self._set_target(seq + 1)
            return
        rejection = self._validate(message)
        if rejection is not None:
            self._reject(message, seq, rejection.reason, rejection.ref_tag, rejection.text)
            self._set_target(seq + 1)
            return
        msg_type = message.msg_type
        if msg_type not in _ADMIN_TYPES:
            if self._call_application(self._application.on_app_message, message):
                self._set_target(seq + 1)
            return
        if msg_type == "4":
            self._on_gap_fill(message, seq)
            return
        self._set_target(seq + 1)
        if msg_type == "1":
            self._transmit(b"0", [(112, message.raw(112))])
        elif msg_type == "2":
            self._answer_resend(message)
        elif msg_type == "3":
            log.warning("%r: counterparty rejected our message: %r", self, message)
        elif msg_type == "5":
            self._on_logout(message)
        elif msg_type == "A":
            self._logout_now("Logon received on an established session")

    def _drain_queue(self) -> None:
        """Processes the queued messages that are now in sequence."""
        while self._queue and self._state in (SessionState.LOGGED_ON, SessionState.LOGOUT_SENT):
            expected = self._require_store().next_target_seq
            message = self._queue.pop(expected, None)
            if message is None:
                return
            if expected in self._handled_early:
                self._handled_early.discard(expected)
                self._set_target(expected + 1)
            else:
                self._process(message, expected)

    def _set_target(self, seq: int) -> None:
        """Records the next expected inbound MsgSeqNum; drops queued messages it skipped."""
        self._require_store().set_next_target_seq(seq)
        if self._queue and min(self._queue) < seq:
            for stale in [queued for queued in self._queue if queued < seq]:
                del self._queue[stale]
                self._handled_early.discard(stale)
        if self._resend_until is not None and seq > self._resend_until:
            log.info("%r: sequence gap filled", self)
            self._resend_until = None

    def _consume_if_expected(self, seq: int) -> None:
        if self._store is not None and seq == self._store.next_target_seq:
            self._set_target(seq + 1)
            self._drain_queue()

    def _on_gap_fill(self, message: FixMessage, seq: int) -> None:
        new_seq = message.get_int(36)
        if new_seq > seq:
            self._set_target(new_seq)
        else:
            text = f"Value is incorrect (out of range) for this tag: NewSeqNo {new_seq} must be above {seq}"
            self._reject(message, seq, SessionRejectReason.VALUE_IS_INCORRECT, 36, text)
            self._set_target(seq + 1)

    def _on_sequence_reset(self, message: FixMessage, seq: int) -> None:
        """SequenceReset-Reset: its own MsgSeqNum is ignored; NewSeqNo may raise the expected number, never lower it."""
        rejection = self._dictionary.validate(message)
        if rejection is not None:
            self._reject(message, seq, rejection.reason, rejection.ref_tag, rejection.text)
            return
        new_seq = message.get_int(36)
        expected = self._require_store().next_target_seq
        if new_seq < expected:
            text = f"Value is incorrect (out of range) for this tag: NewSeqNo {new_seq} is below {expected}"
            self._reject(message, seq, SessionRejectReason.VALUE_IS_INCORRECT, 36, text)
        elif new_seq == expected:
            log.warning("%r: SequenceReset to the expected MsgSeqNum %d", self, new_seq)
        else:
            log.warning("%r: SequenceReset from %d to %d", self, expected, new_seq)
            self._set_target(new_seq)
            self._drain_queue()

    def _on_logout(self, message: FixMessage) -> None:
        if self._state is SessionState.LOGOUT_SENT:
            self._end(self._logout_reason, graceful=True)
            return
        text = message.get(58)
        self._transmit(b"5", [])
        self._end("counterparty logged out" + (f": {text.decode('latin-1')}" if text else ""), graceful=True)

    def _call_application(self, callback: Callable[[Session, FixMessage], None], message: FixMessage) -> bool:
        try:
            callback(self, message)
        except Exception:
            log.exception("%r: the application failed on %r", self, message)
            self._logout_now("internal error")
            return False
        return True

    # --- logon ------------------------------------------------------------------------------------------------

    def _on_logon(self, message: FixMessage, now: Nanos) -> None:
        if message.msg_type != "A":
            self._end(f"first message is MsgType {message.msg_type!r}, not a Logon", graceful=False)
            return
        if message.get(8) != self._begin:
            self._end(f"Logon with BeginString {message.get(8)!r}", graceful=False)
            return
        problem = self._logon_problem(message, now)
        if problem is None:
            self._target = message.get(49) or b""
            self._username = _text_or_none(message.get(553))
            problem = self._check_identity(message)
        if problem is not None:
            self._refuse(message, problem, now)
            return
        self._start(message, now)

    def _logon_problem(self, message: FixMessage, now: Nanos) -> str | None:
        rejection = self._dictionary.validate(message)
        if rejection is not None:
            return f"invalid Logon: {rejection.text}"
        if message.get(56) != self._sender:
            return f"wrong TargetCompID {message.get_str(56)!r}"
        if self._target and message.get(49) != self._target:
            return f"wrong SenderCompID {message.get_str(49)!r}"
        sending = _timestamp(message.get(52))
        if sending is None or not self._time_ok(sending, now):
            return "SendingTime accuracy problem"
        if message.get(98) != b"0":
            return f"EncryptMethod {message.get_str(98)} not supported (only 0, none)"
        if message.get_int(108) < 0:
            return "HeartBtInt must not be negative"
        return None

    def _check_identity(self, message: FixMessage) -> str | None:
        if self._authenticate is not None:
            password = _text_or_none(message.get(554))
            problem = self._authenticate(self._username, password, message.get_str(49), message.get_str(56))
            if problem is not None:
                return problem
        return None if self._admit is None else self._admit(self)

    def _refuse(self, message: FixMessage, reason: str, now: Nanos) -> None:
        """Answers a refused Logon with a Logout outside the sequence (MsgSeqNum 1, nothing stored), then ends.

        A Logon without SenderCompID (49) cannot be answered: the connection just ends."""
        target = message.get(49)
        if target:
            fields: list[Field] = [(35, b"5"), (49, self._sender), (56, target), (34, b"1")]
            fields += [(52, format_utc_timestamp(now)), (58, _text(reason))]
            self._write(encode(fields), now)
        self._end(f"Logon refused: {reason}", graceful=False)

    def _start(self, message: FixMessage, now: Nanos) -> None:
        key = self.key
        assert key is not None
        store = self._store = self._store_for(key)
        reset_requested = message.get(141) == b"Y"
        if reset_requested or self._config.reset_on_logon:
            store.reset()
        seq = message.get_int(34)
        expected = store.next_target_seq
        if seq < expected:
            self._logout_now(f"MsgSeqNum too low, expecting {expected} but received {seq}")
            return
        self._state = SessionState.LOGGED_ON
        self._heartbeat_ns = message.get_int(108) * NANOS_PER_SECOND
        self._last_received = now
        body: list[Field] = [(98, b"0"), (108, message.raw(108))]
        if reset_requested:
            body.append((141, b"Y"))
        self._transmit(b"A", body)
        self._logged_on(message, seq, expected)

    def _logged_on(self, message: FixMessage, seq: int, expected: int) -> None:
        """The Logon exchange is complete (state already LOGGED_ON): consumes the counterparty's Logon ``seq``, or
        queues it behind a ResendRequest when it is above ``expected``, then tells the application."""
        log.info("%r: logged on (user %s)", self, self._username)
        if seq == expected:
            self._set_target(seq + 1)
        else:
            self._queue[seq] = message
            self._handled_early.add(seq)
            self._request_resend(expected, seq)
        try:
            self._application.on_logon(self)
        except Exception:
            log.exception("%r: the application failed on logon", self)
            self._logout_now("internal error")

    # --- outbound ---------------------------------------------------------------------------------------------

    def _require_store(self) -> SessionStore:
        store = self._store
        if store is None:
            raise SessionError(f"{self}: no store before the Logon")
        return store

    def _transmit(self, msg_type: bytes, body: Sequence[Field], *, keep: bool = False, deliver: bool = True) -> int:
        """Stamps the header, stores the sequence number (and the frame when ``keep``), then sends it."""
        body_bytes = encode_fields([field for field in body if field[0] not in _FRAMING])
        return self._transmit_body(msg_type, body_bytes, keep=keep, deliver=deliver)

    def _transmit_body(self, msg_type: bytes, body: bytes, *, keep: bool = False, deliver: bool = True) -> int:
        """:meth:`_transmit` of a body already encoded (the fields after the header, none of :data:`_STAMPED`)."""
        store = self._require_store()
        seq = store.next_sender_seq
        now = self._clock()
        header = b"35=%s\x0149=%s\x0156=%s\x0134=%d\x0152=%s\x01" % (
            msg_type,
            self._sender,
            self._target,
            seq,
            format_utc_timestamp(now),
        )
        frame = frame_body(header + body)
        if keep:
            store.save_sent(seq, frame, now)
        else:
            store.set_next_sender_seq(seq + 1)
        if deliver:
            self._write(frame, now)
        return seq

    def _write(self, frame: bytes, now: Nanos) -> None:
        self._last_sent = now
        store = self._store
        if store is None:
            self._send(frame)
        else:
            store.send(self._send, frame)

    def _reject(self, message: FixMessage, seq: int, reason: int, ref_tag: int | None, text: str) -> None:
        log.warning("%r: rejecting message %d (reason %d, tag %s): %s", self, seq, reason, ref_tag, text)
        body: list[Field] = [(45, b"%d" % seq)]
        if ref_tag is not None:
            body.append((371, b"%d" % ref_tag))
        msg_type = message.get(35)
        if msg_type:
            body.append((372, msg_type))
        body += [(373, b"%d" % reason), (58, _text(text))]
        self._transmit(b"3", body)

    def _answer_resend(self, message: FixMessage) -> None:
        """Resends the stored application messages of the requested range, GapFills in place of the rest."""
        store = self._require_store()
        begin, end = message.get_int(7), message.get_int(16)
        last = store.next_sender_seq - 1
        if end == 0 or end > last:
            end = last
        if begin < 1 or begin > end:
            log.warning("%r: nothing to resend for %d..%s (last sent %d)", self, begin, message.get_str(16), last)
            return
        now = self._clock()
        stamp = format_utc_timestamp(now)
        log.info("%r: resending %d..%d", self, begin, end)
        gap_start = begin
        for seq, frame in store.sent_range(begin, end):
            resent = self._resent(frame, stamp)
            if resent is None:
                continue
            if seq > gap_start:
                self._write(self._gap_fill(gap_start, seq, stamp), now)
            self._write(resent, now)
            gap_start = seq + 1
        if gap_start <= end:
            self._write(self._gap_fill(gap_start, end + 1, stamp), now)

    def _gap_fill(self, seq: int, new_seq: int, stamp: bytes) -> bytes:
        header: list[Field] = [(35, b"4"), (49, self._sender), (56, self._target), (34, b"%d" % seq), (43, b"Y")]
        return encode([*header, (52, stamp), (122, stamp), (123, b"Y"), (36, b"%d" % new_seq)])

    def _resent(self, frame: bytes, stamp: bytes) -> bytes | None:
        """The stored frame as a possible duplicate: PossDupFlag, new SendingTime, OrigSendingTime the old one."""
        parsed = FixParser(data_lengths=self._dictionary.data_lengths).feed(frame)
        if len(parsed) != 1:
            log.error("%r: a stored message cannot be parsed, sending a GapFill instead: %r", self, frame[:200])
            return None
        original = parsed[0]
        header: list[Field] = [(35, original.raw(35)), (49, self._sender), (56, self._target), (34, original.raw(34))]
        header += [(43, b"Y"), (52, stamp), (122, original.raw(52))]
        return encode([*header, *(field for field in original.fields if field[0] not in _RESEND_REPLACED)])

    def _keep_alive(self, now: Nanos) -> None:
        pending = self._test_request
        limit = self._quiet_limit_ns
        if pending is not None:
            if now - pending[1] >= limit:
                self._end(f"no answer to TestRequest {pending[0].decode('ascii')}", graceful=False)
                return
        elif now - self._last_received >= limit:
            self._test_requests += 1
            request_id = b"TEST%d" % self._test_requests
            self._transmit(b"1", [(112, request_id)])
            self._test_request = (request_id, now)
        if now - self._last_sent >= self._heartbeat_ns:
            self._transmit(b"0", [])

    @property
    def _quiet_limit_ns(self) -> Nanos:
        return self._heartbeat_ns * (100 + self._config.test_request_margin_percent) // 100

    # --- ending -----------------------------------------------------------------------------------------------

    def _logout_then_wait(self, reason: str) -> None:
        if self._state is not SessionState.LOGGED_ON:
            return
        log.info("%r: logging out: %s", self, reason)
        self._transmit(b"5", [(58, _text(reason))] if reason else [])
        self._state = SessionState.LOGOUT_SENT
        self._logout_reason = reason
        self._logout_deadline = self._clock() + self._config.logout_timeout_s * NANOS_PER_SECOND

    def _logout_now(self, reason: str) -> None:
        if self._state is SessionState.ENDED:
            return
        self._transmit(b"5", [(58, _text(reason))] if reason else [])
        self._end(reason, graceful=False)

    def _end(self, reason: str, *, graceful: bool) -> None:
        if self._state is SessionState.ENDED:
            return
        logged_on = self._state in (SessionState.LOGGED_ON, SessionState.LOGOUT_SENT)
        self._state = SessionState.ENDED
        self._queue.clear()
        self._handled_early.clear()
        log.info("%r: session ended: %s", self, reason)
        store = self._store
        if logged_on and store is not None:
            config = self._config
            if config.reset_on_disconnect or (config.reset_on_logout and graceful):
                store.reset()
        if logged_on:
            try:
                self._application.on_logout(self, reason, graceful)
            except Exception:
                log.exception("%r: the application failed on logout", self)
        if store is None:
            self._close(reason)
        else:
            store.send(lambda _nothing: self._close(reason), b"")  # after the Logout and what came before it


def _timestamp(value: bytes | None) -> Nanos | None:
    if value is None:
        return None
    try:
        return parse_utc_timestamp(value)
    except ValueError:
        return None


def _text(text: str) -> bytes:
    """Free text for a Text (58) field: ASCII, no SOH."""
    return text.replace("\x01", " ").encode("ascii", "replace")


def _text_or_none(value: bytes | None) -> str | None:
    return None if value is None else value.decode("latin-1")


def _frame_size(message: FixMessage) -> int:
    """Bytes of the frame the parser read ``message`` from: BeginString and BodyLength fields, body, CheckSum."""
    begin = message.get(8) or b""
    length = message.get(9) or b"0"
    return len(begin) + len(length) + 6 + int(length) + 7
