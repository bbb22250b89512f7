"""The codec: round trips, every way of cutting the stream, garbled frames and recovery."""

from __future__ import annotations

import pytest

from engine.fix.codec import FixParser, GarbledMessage, checksum, encode, encode_message
from engine.fix.dictionary import fix44
from engine.fix.message import Field, FixMessage
from tests.fix.samples import EXECUTION_REPORT, LOGON, MD_SNAPSHOT, NEW_ORDER_SINGLE

SAMPLES = {"logon": LOGON, "new_order": NEW_ORDER_SINGLE, "exec_report": EXECUTION_REPORT, "snapshot": MD_SNAPSHOT}


def body(message: FixMessage) -> list[Field]:
    return [field for field in message.fields if field[0] not in (8, 9, 10)]


class Collector:
    def __init__(self) -> None:
        self.garbled: list[GarbledMessage] = []

    def parser(self) -> FixParser:
        return FixParser(on_garbled=self.garbled.append)


def test_encoded_frame_has_correct_body_length_and_checksum() -> None:
    frame = encode(NEW_ORDER_SINGLE)
    head, _, rest = frame.partition(b"\x0135=")
    length = int(head.split(b"\x019=")[1])
    assert frame.startswith(b"8=FIX.4.4\x019=")
    assert len(b"35=" + rest) - len(b"10=000\x01") == length
    assert frame.endswith(b"10=%03d\x01" % (sum(frame[:-7]) % 256))
    assert checksum(frame[:-7]) == int(frame[-4:-1])


@pytest.mark.parametrize("name", SAMPLES)
def test_round_trip(name: str) -> None:
    fields = SAMPLES[name]
    frame = encode(fields)
    (message,) = FixParser().feed(frame)
    assert body(message) == fields
    assert message.get(8) == b"FIX.4.4"
    assert encode_message(message) == frame
    assert fix44().validate(message) is None


def test_snapshot_group_entries_read_through_the_dictionary() -> None:
    (message,) = FixParser().feed(encode(MD_SNAPSHOT))
    entries = fix44().groups(message, 268)
    assert [(e.get_str(269), e.get_ticks(270, 4), e.get_int(271)) for e in entries] == [
        ("0", 1_872_400, 500),
        ("1", 1_872_600, 300),
        ("2", 1_872_500, 100),
    ]
    assert entries[1].get_int(290) == 1


def test_messages_split_at_every_byte_boundary() -> None:
    stream = b"".join(encode(fields) for fields in SAMPLES.values())
    for cut in range(1, len(stream)):
        parser = FixParser()
        got = parser.feed(stream[:cut]) + parser.feed(stream[cut:])
        assert [body(m) for m in got] == list(SAMPLES.values()), cut
        assert parser.buffered == 0


def test_byte_by_byte_feed() -> None:
    parser = FixParser()
    frame = encode(EXECUTION_REPORT)
    got = [m for byte in frame for m in parser.feed(bytes([byte]))]
    assert [body(m) for m in got] == [EXECUTION_REPORT]


def test_bad_checksum_is_reported_and_next_message_still_parsed() -> None:
    bad = bytearray(encode(NEW_ORDER_SINGLE))
    bad[-4:-1] = b"%03d" % ((int(bad[-4:-1]) + 1) % 256)
    collector = Collector()
    parser = collector.parser()
    got = parser.feed(bytes(bad) + encode(LOGON))
    assert [body(m) for m in got] == [LOGON]
    assert len(collector.garbled) == 1
    assert "CheckSum" in collector.garbled[0].reason
    assert collector.garbled[0].data == bytes(bad)


def test_corrupted_byte_in_body_fails_checksum() -> None:
    bad = encode(NEW_ORDER_SINGLE).replace(b"55=AAPL", b"55=AAPM")
    collector = Collector()
    got = collector.parser().feed(bad + encode(LOGON))
    assert [body(m) for m in got] == [LOGON]
    assert "CheckSum" in collector.garbled[0].reason


@pytest.mark.parametrize("delta", [-5, -1, 1, 7])
def test_wrong_body_length_is_reported_and_next_message_still_parsed(delta: int) -> None:
    frame = encode(NEW_ORDER_SINGLE)
    length = int(frame.split(b"\x01")[1][2:])
    bad = frame.replace(b"9=%d\x01" % length, b"9=%d\x01" % (length + delta), 1)
    collector = Collector()
    parser = collector.parser()
    got = parser.feed(bad + encode(LOGON) + encode(EXECUTION_REPORT))
    assert [body(m) for m in got] == [LOGON, EXECUTION_REPORT]
    assert len(collector.garbled) == 1
    assert "BodyLength" in collector.garbled[0].reason
    assert parser.buffered == 0


def test_too_long_body_length_split_across_feeds_does_not_stall() -> None:
    frame = encode(LOGON)
    length = int(frame.split(b"\x01")[1][2:])
    bad = frame.replace(b"9=%d\x01" % length, b"9=%d\x01" % (length + 40), 1)
    collector = Collector()
    parser = collector.parser()
    assert parser.feed(bad) == []
    assert [body(m) for m in parser.feed(encode(NEW_ORDER_SINGLE))] == [NEW_ORDER_SINGLE]
    assert len(collector.garbled) == 1


def test_junk_between_messages_is_dropped_and_reported() -> None:
    collector = Collector()
    parser = collector.parser()
    got = parser.feed(b"noise\x01" + encode(LOGON) + b"xx" + encode(NEW_ORDER_SINGLE))
    assert [body(m) for m in got] == [LOGON, NEW_ORDER_SINGLE]
    assert [g.data for g in collector.garbled] == [b"noise\x01", b"xx"]


def test_non_numeric_body_length_is_garbled() -> None:
    collector = Collector()
    got = collector.parser().feed(b"8=FIX.4.4\x019=1x4\x0135=0\x0110=000\x01" + encode(LOGON))
    assert [body(m) for m in got] == [LOGON]
    assert "BodyLength" in collector.garbled[0].reason


def test_msgtype_must_be_third_field() -> None:
    collector = Collector()
    got = collector.parser().feed(encode([(49, b"A"), (35, b"0")]) + encode(LOGON))
    assert [body(m) for m in got] == [LOGON]
    assert "MsgType" in collector.garbled[0].reason


def test_data_field_may_contain_soh_and_equals() -> None:
    fields: list[Field] = [*LOGON, (95, b"11"), (96, b"a\x01b=c\x0110=1")]
    frame = encode(fields)
    (message,) = FixParser().feed(frame)
    assert body(message) == fields
    assert message.get(96) == b"a\x01b=c\x0110=1"


def test_typed_access() -> None:
    (message,) = FixParser().feed(encode(EXECUTION_REPORT))
    assert message.msg_type == "8"
    assert message.get_int(32) == 100
    assert message.get_ticks(31, 4) == 1_872_500
    assert str(message.get_decimal(6)) == "187.25"
    assert message.get_time(60) == 1_717_248_600_456_000_000
    assert message.get(9999) is None
    with pytest.raises(KeyError):
        message.raw(9999)
