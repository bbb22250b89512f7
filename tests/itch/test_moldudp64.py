"""MoldUDP64 packets and sequencing: heartbeats, end of session, duplicates, gaps and retransmission requests."""

from __future__ import annotations

import pytest

from engine.itch.errors import ItchDecodeError
from engine.itch.moldudp64 import (
    Gap,
    MoldSequencer,
    RetransmitRequest,
    build_end_of_session,
    build_heartbeat,
    build_packet,
    parse_packet,
)

SESSION = "000012345A"


def packet(sequence: int, *bodies: bytes) -> bytes:
    return build_packet(SESSION, sequence, list(bodies))


def test_packet_layout_and_round_trip() -> None:
    wire = packet(42, b"abc", b"")
    assert wire == b"000012345A" + (42).to_bytes(8, "big") + b"\x00\x02" + b"\x00\x03abc" + b"\x00\x00"
    parsed = parse_packet(wire)
    assert (parsed.session, parsed.sequence, parsed.count, parsed.messages) == (SESSION, 42, 2, (b"abc", b""))
    assert parsed.next_sequence == 44
    assert not parsed.is_heartbeat
    assert not parsed.is_end_of_session


def test_heartbeat_and_end_of_session() -> None:
    heartbeat = parse_packet(build_heartbeat(SESSION, 10))
    assert heartbeat.is_heartbeat
    assert (heartbeat.sequence, heartbeat.messages, heartbeat.next_sequence) == (10, (), 10)
    end = parse_packet(build_end_of_session(SESSION, 11))
    assert end.is_end_of_session
    assert end.count == 0xFFFF
    assert end.next_sequence == 11


def test_short_session_names_are_space_padded() -> None:
    assert build_heartbeat("S1", 1)[:10] == b"S1        "
    assert parse_packet(build_heartbeat("S1", 1)).session == "S1"


@pytest.mark.parametrize(
    ("wire", "pattern"),
    [
        (b"0000123", "truncated MoldUDP64 header: 7 of 20 bytes at byte offset 0"),
        (packet(1, b"abcdef")[:-2], "truncated message block of 6 bytes at byte offset 20"),
        (packet(1, b"abc")[:-4], "truncated message block length at byte offset 20"),
        (packet(1, b"abc") + b"x", "1 bytes after the last of 1 message blocks at byte offset 25"),
    ],
)
def test_malformed_packets_are_reported(wire: bytes, pattern: str) -> None:
    with pytest.raises(ItchDecodeError, match=pattern):
        parse_packet(wire)


def test_in_order_packets_are_delivered_and_duplicates_ignored() -> None:
    seq = MoldSequencer()
    first = seq.accept(parse_packet(packet(1, b"a", b"b")))
    assert first.messages == ((1, b"a"), (2, b"b"))
    assert first.gap is None
    assert seq.accept(parse_packet(packet(1, b"a", b"b"))).messages == ()  # duplicate
    overlap = seq.accept(parse_packet(packet(2, b"b", b"c")))  # half old, half new
    assert overlap.messages == ((3, b"c"),)
    assert seq.expected == 4


def test_a_gap_is_reported_with_its_request_and_filled_by_retransmission() -> None:
    seq = MoldSequencer()
    seq.accept(parse_packet(packet(1, b"a")))
    jumped = seq.accept(parse_packet(packet(4, b"d", b"e")))
    assert jumped.messages == ()
    assert jumped.gap == Gap(first=2, count=2)
    assert jumped.request == RetransmitRequest(session=SESSION, sequence=2, count=2)
    assert jumped.request.encode() == b"000012345A" + (2).to_bytes(8, "big") + (2).to_bytes(2, "big")
    assert RetransmitRequest.decode(jumped.request.encode()) == jumped.request
    partial = seq.accept(parse_packet(packet(2, b"b")))  # retransmission of part of the gap
    assert partial.messages == ((2, b"b"),)
    assert partial.gap == Gap(first=3, count=1)
    filled = seq.accept(parse_packet(packet(3, b"c")))
    assert filled.messages == ((3, b"c"), (4, b"d"), (5, b"e"))
    assert filled.gap is None
    assert filled.request is None


def test_a_heartbeat_ahead_of_us_reveals_lost_messages() -> None:
    seq = MoldSequencer()
    seq.accept(parse_packet(packet(1, b"a")))
    assert seq.accept(parse_packet(build_heartbeat(SESSION, 2))).gap is None
    behind = seq.accept(parse_packet(build_heartbeat(SESSION, 5)))
    assert behind.gap == Gap(first=2, count=3)
    assert behind.request == RetransmitRequest(session=SESSION, sequence=2, count=3)


def test_end_of_session_once_everything_arrived() -> None:
    seq = MoldSequencer()
    seq.accept(parse_packet(packet(1, b"a")))
    early = seq.accept(parse_packet(build_end_of_session(SESSION, 3)))
    assert not early.end_of_session  # message 2 is still missing
    assert early.gap == Gap(first=2, count=1)
    done = seq.accept(parse_packet(packet(2, b"b")))
    assert done.messages == ((2, b"b"),)
    assert done.end_of_session
    assert seq.ended


def test_requests_are_capped() -> None:
    seq = MoldSequencer(max_request=10)
    seq.accept(parse_packet(packet(1, b"a")))
    assert seq.accept(parse_packet(packet(1000, b"z"))).request == RetransmitRequest(
        session=SESSION, sequence=2, count=10
    )


def test_skipping_mode_reports_a_gap_once_and_moves_on() -> None:
    seq = MoldSequencer(hold_gaps=False)
    seq.accept(parse_packet(packet(1, b"a")))
    jumped = seq.accept(parse_packet(packet(4, b"d")))
    assert jumped.messages == ((4, b"d"),)
    assert jumped.gap == Gap(first=2, count=2)
    assert jumped.request is None
    late = seq.accept(parse_packet(packet(2, b"b")))  # too late: already skipped
    assert late.messages == ()
    assert late.gap is None
    assert seq.gaps_skipped == [Gap(first=2, count=2)]


def test_another_session_is_refused() -> None:
    seq = MoldSequencer()
    seq.accept(parse_packet(packet(1, b"a")))
    with pytest.raises(ValueError, match="session"):
        seq.accept(parse_packet(build_packet("OTHER", 2, [b"b"])))
