"""The codec: round trips, every way of cutting the stream, garbled frames and recovery, remembered layouts, and
the same fields as simplefix."""

from __future__ import annotations

import pytest
import simplefix  # type: ignore[import-untyped,import-not-found,unused-ignore]
from hypothesis import given, settings
from hypothesis import strategies as st
from simplefix.data import RAW_DATA_TAGS, RAW_LEN_TAGS  # type: ignore[import-untyped,import-not-found,unused-ignore]

from engine.fix.codec import (
    _LAYOUTS_PER_TYPE,
    _MAX_LAYOUT_FIELDS,
    _MAX_LAYOUTS,
    FixParser,
    GarbledMessage,
    checksum,
    encode,
    encode_message,
)
from engine.fix.dictionary import fix44
from engine.fix.message import SESSION_TAGS, Field, FixMessage, encode_fields
from tests.fix.samples import EXECUTION_REPORT, LOGON, MD_SNAPSHOT, NEW_ORDER_SINGLE

SAMPLES = {"logon": LOGON, "new_order": NEW_ORDER_SINGLE, "exec_report": EXECUTION_REPORT, "snapshot": MD_SNAPSHOT}


def raw_frame(body_bytes: bytes, length_error: int = 0) -> bytes:
    """A frame around any body bytes (which should end with SOH), with a correct CheckSum and a BodyLength off by
    ``length_error``."""
    head = b"8=FIX.4.4\x019=%d\x01%s" % (len(body_bytes) + length_error, body_bytes)
    return head + b"10=%03d\x01" % (sum(head) % 256)


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


# --- remembered layouts -------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", SAMPLES)
def test_a_message_read_through_a_remembered_layout_behaves_as_one_built_from_its_fields(name: str) -> None:
    parser = FixParser()
    parser.feed(encode(SAMPLES[name]))
    (fast,) = parser.feed(encode(SAMPLES[name]))
    assert parser.layouts == 1
    built = FixMessage(fast.fields)
    assert fast == built
    assert hash(fast) == hash(built)
    assert (fast.msg_type, len(fast), fast.tags, fast.raw_values) == (
        built.msg_type, len(built), built.tags, built.raw_values
    )  # fmt: skip
    for tag in {tag for tag, _ in fast.fields} | {999}:
        assert (fast.get(tag), tag in fast, fast.values(tag)) == (built.get(tag), tag in built, built.values(tag))
    assert repr(fast) == repr(built)
    assert (
        fast.body_bytes()
        == built.body_bytes()
        == encode_fields([field for field in SAMPLES[name] if field[0] not in SESSION_TAGS])
    )


def test_a_message_made_of_its_encoded_body_reads_back_its_fields() -> None:
    fields = [(35, b"8"), *[field for field in EXECUTION_REPORT if field[0] not in SESSION_TAGS], (58, b"a=b")]
    message = FixMessage.of_body(b"8", encode_fields(fields[1:]))
    assert (message.msg_type, message.get(58), message.get(49), len(message)) == ("8", b"a=b", None, len(fields))
    assert message == FixMessage(fields)
    assert message.body_bytes() == encode_fields(fields[1:])
    assert FixParser().feed(encode_message(message))[0].fields[2:-1] == message.fields


def test_same_type_with_another_layout_after_one_was_remembered() -> None:
    parser = FixParser()
    market = [field for field in NEW_ORDER_SINGLE if field[0] != 44] + [(58, b"at the open")]
    stream = [NEW_ORDER_SINGLE, market, NEW_ORDER_SINGLE, market, NEW_ORDER_SINGLE[:-1]]
    got = [m for fields in stream for m in parser.feed(encode(fields))]
    assert [body(m) for m in got] == stream
    assert parser.layouts == 3
    assert [m.fields for m in got] == [FixParser().feed(encode(fields))[0].fields for fields in stream]


def test_values_holding_equals_and_empty_values_on_a_remembered_layout() -> None:
    parser = FixParser()
    parser.feed(encode(NEW_ORDER_SINGLE))
    odd = [(tag, b"a=b==" if tag == 11 else b"" if tag == 58 else value) for tag, value in NEW_ORDER_SINGLE]
    (message,) = parser.feed(encode(odd))
    assert body(message) == odd
    assert message.get(11) == b"a=b=="
    assert parser.layouts == 1


def test_layouts_are_bounded_per_msgtype_and_in_all() -> None:
    parser = FixParser()
    for extra in range(2 * _LAYOUTS_PER_TYPE):
        fields = [*LOGON, (5000 + extra, b"x")]
        assert [body(m) for m in parser.feed(encode(fields))] == [fields]
    assert parser.layouts == _LAYOUTS_PER_TYPE
    sent = []
    for kind in range(2 * _MAX_LAYOUTS):
        fields = [(35, b"U%d" % kind), *LOGON[1:]]
        sent.append(fields)
        assert [body(m) for m in parser.feed(encode(fields))] == [fields]
    assert parser.layouts == _MAX_LAYOUTS
    # Past the bound, remembered and new layouts alike are still read.
    again = [sent[0], sent[-1], [*LOGON, (5000, b"x")], [*LOGON, (6000, b"y")]]
    assert [body(m) for m in parser.feed(b"".join(encode(fields) for fields in again))] == again
    assert parser.layouts == _MAX_LAYOUTS


def test_a_long_body_is_read_but_not_remembered() -> None:
    parser = FixParser()
    fields = [(35, b"W"), *[(269 + i % 3, b"%d" % i) for i in range(_MAX_LAYOUT_FIELDS)]]
    for _ in range(2):
        assert [body(m) for m in parser.feed(encode(fields))] == [fields]
    assert parser.layouts == 0


MALFORMED = [
    (b"\x0159=0\x01", b"\x0159\x01", "malformed field: no '=' after byte 143"),
    (b"\x0121=1\x01", b"\x0121\x01", "malformed field: tag b'21\\x0155' at byte 78 is not a number"),
    (b"\x0121=1\x01", b"\x012x1=1\x01", "malformed field: tag b'2x1' at byte 78 is not a number"),
    (b"\x0121=1\x01", b"\x01=1\x01", "malformed field: tag b'' at byte 78 is not a number"),
]


@pytest.mark.parametrize(
    ("old", "new", "reason"), MALFORMED, ids=["no equals", "no equals mid-body", "non-numeric tag", "empty tag"]
)
def test_malformed_field_in_a_msgtype_with_a_remembered_layout(old: bytes, new: bytes, reason: str) -> None:
    good = encode(NEW_ORDER_SINGLE)
    frame = raw_frame(good[good.index(b"35=") : -7].replace(old, new))
    cold, warm = Collector(), Collector()
    warm_parser = warm.parser()
    warm_parser.feed(good)
    assert warm_parser.layouts == 1
    assert [body(m) for m in warm_parser.feed(frame + good)] == [NEW_ORDER_SINGLE]
    assert [body(m) for m in cold.parser().feed(frame + good)] == [NEW_ORDER_SINGLE]
    assert [(g.reason, g.data) for g in warm.garbled] == [(reason, frame)]
    assert warm.garbled == cold.garbled


def test_data_field_holding_soh_in_a_msgtype_with_a_remembered_layout() -> None:
    parser = FixParser()
    parser.feed(encode(LOGON))
    # The DATA value looks like the fields of the remembered layout: it must still be read by its length.
    data = b"98=0\x01108=30\x01141=Y"
    with_data: list[Field] = [*LOGON[:-1], (95, b"%d" % len(data)), (96, data), LOGON[-1]]
    for _ in range(2):
        (message,) = parser.feed(encode(with_data))
        assert body(message) == with_data
        assert message.get(96) == data
    assert parser.layouts == 1
    assert [body(m) for m in parser.feed(encode(LOGON))] == [LOGON]


# Bytes that change how a body splits: separators, '=', digits, letters.
EDIT_BYTES = st.sampled_from([b"\x01", b"=", b"1", b"0", b"9", b"x", b"8=FIX.4.4", b"\x0110=000"])


@st.composite
def edited_body(draw: st.DrawFn) -> bytes:
    """A sample's body with a few bytes replaced, inserted or removed."""
    fields = draw(st.sampled_from(list(SAMPLES.values())))
    text = bytearray(encode(fields))
    text = text[text.index(b"35=") : -7]
    for _ in range(draw(st.integers(0, 3))):
        at = draw(st.integers(0, len(text) - 1))
        action = draw(st.sampled_from(["replace", "insert", "remove"]))
        if action == "remove":
            del text[at]
        else:
            text[at : at + (action == "replace")] = draw(EDIT_BYTES)
    return bytes(text)


@settings(max_examples=300, deadline=None)
@given(edited=edited_body(), keep_checksum=st.booleans(), length_error=st.sampled_from([0, 0, 0, -1, 1, 8]))
def test_remembered_layouts_change_no_answer(edited: bytes, keep_checksum: bool, length_error: int) -> None:
    frame = raw_frame(edited, length_error)
    if not keep_checksum:
        frame = frame[:-4] + b"%03d\x01" % ((int(frame[-4:-1]) + 1) % 256)
    stream = frame + encode(LOGON)
    cold, warm = Collector(), Collector()
    cold_parser, warm_parser = cold.parser(), warm.parser()
    for fields in SAMPLES.values():
        warm_parser.feed(encode(fields))
    assert warm_parser.layouts == len(SAMPLES)
    assert [m.fields for m in warm_parser.feed(stream)] == [m.fields for m in cold_parser.feed(stream)]
    assert warm.garbled == cold.garbled
    assert warm_parser.buffered == cold_parser.buffered


# --- an independent FIX implementation ----------------------------------------------------------------------

DATA_TAGS = {*RAW_LEN_TAGS, *RAW_DATA_TAGS, *fix44().data_lengths, *fix44().data_lengths.values()}
"""LENGTH and DATA tags, ours and simplefix's, left out of the random messages (each side reads them by length)."""
PLAIN_TAGS = st.integers(1, 20_000).filter(lambda tag: tag not in (8, 9, 10, 35) and tag not in DATA_TAGS)
PLAIN_VALUES = st.binary(min_size=1, max_size=12).filter(lambda value: b"\x01" not in value)


@st.composite
def random_message(draw: st.DrawFn) -> list[Field]:
    kind = draw(st.sampled_from([b"D", b"8", b"0", b"W", b"XY"]))
    return [(35, kind), *draw(st.lists(st.tuples(PLAIN_TAGS, PLAIN_VALUES), max_size=20))]


@settings(max_examples=150, deadline=None)
@given(messages=st.lists(random_message(), min_size=1, max_size=6), cut=st.integers(0, 2_000))
def test_simplefix_reads_the_same_fields(messages: list[list[Field]], cut: int) -> None:
    # Each message twice, so that the second copy is read through its remembered layout.
    stream = b"".join(encode(fields) for fields in messages for _ in range(2))
    parser = FixParser()
    cut = min(cut, len(stream))
    ours = parser.feed(stream[:cut]) + parser.feed(stream[cut:])
    theirs = simplefix.FixParser()
    theirs.append_buffer(stream)
    for message in ours:
        other = theirs.get_message()
        assert other is not None
        assert [(int(tag), value) for tag, value in other.pairs] == list(message.fields)
    assert theirs.get_message() is None
    assert [body(m) for m in ours] == [fields for fields in messages for _ in range(2)]
