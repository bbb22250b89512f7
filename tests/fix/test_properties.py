"""Hypothesis round trips: random values of each field's type survive encode, any cut of the stream, and parse."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.fix.codec import FixParser, encode
from engine.fix.dictionary import fix44
from engine.fix.message import Field, format_ticks, format_utc_timestamp, parse_ticks, parse_utc_timestamp

TEXT = st.binary(min_size=1, max_size=24).filter(lambda b: b"\x01" not in b)
TICKS = st.integers(min_value=-(10**15), max_value=10**15)
NANOS = st.integers(min_value=0, max_value=253_402_300_799_999_999_999)


@st.composite
def order(draw: st.DrawFn) -> list[Field]:
    d = fix44()
    side = draw(st.sampled_from(sorted(d.field(54).values)))
    ord_type = draw(st.sampled_from(sorted(d.field(40).values)))
    return [
        (35, b"D"), (49, draw(TEXT)), (56, draw(TEXT)), (34, b"%d" % draw(st.integers(1, 2**31))),
        (52, format_utc_timestamp(draw(NANOS), draw(st.sampled_from([0, 3, 6, 9])))),
        (11, draw(TEXT)), (55, draw(TEXT)), (54, side.encode()), (60, format_utc_timestamp(draw(NANOS))),
        (38, b"%d" % draw(st.integers(1, 10**9))), (40, ord_type.encode()), (44, format_ticks(draw(TICKS), 4)),
        (58, draw(TEXT)),
    ]  # fmt: skip


@settings(max_examples=200, deadline=None)
@given(fields=order(), cut=st.integers(min_value=0, max_value=400))
def test_random_orders_round_trip_and_validate(fields: list[Field], cut: int) -> None:
    frame = encode(fields)
    parser = FixParser()
    cut = min(cut, len(frame))
    got = parser.feed(frame[:cut]) + parser.feed(frame[cut:])
    assert len(got) == 1
    assert [f for f in got[0].fields if f[0] not in (8, 9, 10)] == fields
    assert fix44().validate(got[0]) is None


@given(ticks=TICKS, scale=st.integers(min_value=0, max_value=8))
def test_ticks_round_trip(ticks: int, scale: int) -> None:
    assert parse_ticks(format_ticks(ticks, scale), scale) == ticks


@given(nanos=NANOS)
def test_timestamp_round_trip(nanos: int) -> None:
    assert parse_utc_timestamp(format_utc_timestamp(nanos, 9)) == nanos
    assert parse_utc_timestamp(format_utc_timestamp(nanos, 3)) == nanos - nanos % 1_000_000


def test_a_remembered_second_does_not_excuse_a_bad_fraction() -> None:
    assert parse_utc_timestamp(b"20240601-13:30:00.123") == 1_717_248_600_123_000_000
    for bad in (b"20240601-13:30:00x123", b"20240601-13:30:00.12a", b"20240601-13:30:00.1234567890"):
        with pytest.raises(ValueError, match="is not a UTCTIMESTAMP"):
            parse_utc_timestamp(bad)
