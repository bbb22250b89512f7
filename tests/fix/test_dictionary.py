"""Validation against the FIX 4.4 dictionary: each SessionRejectReason with its RefTagID, and the same answers once
a message layout is remembered."""

from __future__ import annotations

import copy

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.fix.codec import FixParser, encode
from engine.fix.dictionary import SessionRejectReason as R
from engine.fix.dictionary import fix44
from engine.fix.message import Field, FixMessage
from tests.fix.samples import MD_SNAPSHOT, NEW_ORDER_SINGLE


def parsed(fields: list[Field]) -> FixMessage:
    (message,) = FixParser().feed(encode(fields))
    return message


def replaced(fields: list[Field], tag: int, value: bytes) -> list[Field]:
    return [(t, value if t == tag else v) for t, v in fields]


def test_dictionary_contents() -> None:
    d = fix44()
    assert d.begin_string == "FIX.4.4"
    side = d.field("Side")
    assert (side.tag, side.type, side.values["1"]) == (54, "CHAR", "BUY")
    nos = d.message("D")
    assert nos.name == "NewOrderSingle"
    assert {11, 54, 60, 40}.issubset(nos.layout.required)
    assert 55 in nos.layout.members
    assert 44 in nos.layout.members
    assert 44 not in nos.layout.required
    assert d.data_lengths[95] == 96
    assert d.message("W").layout.groups[268].delimiter == 269
    assert any("quickfixengine.org" in line for line in d.notice)


CASES = [
    ("required tag missing", [f for f in NEW_ORDER_SINGLE if f[0] != 54], R.REQUIRED_TAG_MISSING, 54),
    ("required header tag missing", [f for f in NEW_ORDER_SINGLE if f[0] != 34], R.REQUIRED_TAG_MISSING, 34),
    ("tag not defined for message type", [*NEW_ORDER_SINGLE, (268, b"0")], R.TAG_NOT_DEFINED_FOR_MESSAGE_TYPE, 268),
    ("undefined tag", [*NEW_ORDER_SINGLE, (4999, b"x")], R.INVALID_TAG_NUMBER, 4999),
    ("tag without a value", replaced(NEW_ORDER_SINGLE, 55, b""), R.TAG_SPECIFIED_WITHOUT_A_VALUE, 55),
    ("value out of range", replaced(NEW_ORDER_SINGLE, 54, b"Q"), R.VALUE_IS_INCORRECT, 54),
    ("incorrect data format (int)", replaced(NEW_ORDER_SINGLE, 38, b"1O0"), R.INCORRECT_DATA_FORMAT, 38),
    ("incorrect data format (time)", replaced(NEW_ORDER_SINGLE, 60, b"2024-06-01"), R.INCORRECT_DATA_FORMAT, 60),
    ("incorrect data format (char)", replaced(NEW_ORDER_SINGLE, 54, b"12"), R.INCORRECT_DATA_FORMAT, 54),
    ("tag appears more than once", [*NEW_ORDER_SINGLE, (55, b"MSFT")], R.TAG_APPEARS_MORE_THAN_ONCE, 55),
    ("group count too high", replaced(MD_SNAPSHOT, 268, b"4"), R.INCORRECT_NUMINGROUP_COUNT, 268),
    ("group count too low", replaced(MD_SNAPSHOT, 268, b"2"), R.INCORRECT_NUMINGROUP_COUNT, 268),
    ("tag twice in a group entry", [*MD_SNAPSHOT[:-1], (270, b"1")], R.TAG_APPEARS_MORE_THAN_ONCE, 270),
    ("group delimiter missing", [f for f in MD_SNAPSHOT if f != (269, b"0")], R.INCORRECT_NUMINGROUP_COUNT, 268),
    ("required group missing", [f for f in MD_SNAPSHOT if f[0] not in (268, 269, 270, 271, 290)],
     R.REQUIRED_TAG_MISSING, 268),
    ("invalid MsgType", replaced(NEW_ORDER_SINGLE, 35, b"ZZ"), R.INVALID_MSGTYPE, 35),
    ("header tag after the body", [*(f for f in NEW_ORDER_SINGLE if f[0] != 49), (49, b"CLIENT1")],
     R.TAG_SPECIFIED_OUT_OF_REQUIRED_ORDER, 49),
]  # fmt: skip


@pytest.mark.parametrize(("fields", "reason", "ref_tag"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_session_reject_reason(fields: list[Field], reason: R, ref_tag: int) -> None:
    rejection = fix44().validate(parsed(fields))
    assert rejection is not None
    assert (rejection.reason, rejection.ref_tag) == (reason, ref_tag), rejection.text


def test_valid_messages_pass() -> None:
    assert fix44().validate(parsed(NEW_ORDER_SINGLE)) is None
    assert fix44().validate(parsed(MD_SNAPSHOT)) is None
    assert fix44().validate(parsed(replaced(MD_SNAPSHOT, 268, b"3"))) is None


# --- remembered layouts -------------------------------------------------------------------------------------

WARM_UP = 10
"""Messages of one layout after which its values are surely checked all at once."""
BAD_VALUES = [
    (38, b""), (38, b"1O0"), (38, b"-"), (38, b"1 "), (44, b"1.2.3"), (44, b"."), (54, b"Q"), (54, b"12"),
    (54, b" "), (60, b"2024-06-01"), (60, b"20240601-13:30:00.1234567890"), (52, b"20240601-13:70:00"),
    (40, b"Z"), (59, b""), (59, b"00"), (11, b""), (21, b"x"), (34, b"-1"), (49, b""), (35, b"ZZ"),
]  # fmt: skip


@pytest.mark.parametrize(("tag", "value"), BAD_VALUES)
def test_a_remembered_layout_finds_the_same_first_problem(tag: int, value: bytes) -> None:
    warm, parser = copy.copy(fix44()), FixParser()
    for _ in range(WARM_UP):
        (message,) = parser.feed(encode(NEW_ORDER_SINGLE))
        assert warm.validate(message) is None
    (bad,) = parser.feed(encode(replaced(NEW_ORDER_SINGLE, tag, value)))
    expected = copy.copy(fix44()).validate(parsed(replaced(NEW_ORDER_SINGLE, tag, value)))
    assert expected is not None
    assert warm.validate(bad) == expected
    (message,) = parser.feed(encode(NEW_ORDER_SINGLE))
    assert warm.validate(message) is None


_WARM = copy.copy(fix44())
for _ in range(WARM_UP):
    assert _WARM.validate(parsed(NEW_ORDER_SINGLE)) is None
VALUE = st.text(alphabet="0123456789-.: YNAa=", max_size=6).map(str.encode)


@settings(max_examples=300, deadline=None)
@given(changes=st.dictionaries(st.sampled_from([f[0] for f in NEW_ORDER_SINGLE]), VALUE, min_size=1, max_size=3))
def test_any_values_get_the_answer_of_a_first_sight(changes: dict[int, bytes]) -> None:
    fields = [(tag, changes.get(tag, value)) for tag, value in NEW_ORDER_SINGLE]
    assert _WARM.validate(parsed(fields)) == copy.copy(fix44()).validate(parsed(fields))


def test_a_message_without_fields_is_refused_before_and_after_any_layout() -> None:
    dictionary = copy.copy(fix44())
    for _ in range(WARM_UP):
        assert dictionary.validate(FixMessage([])) is not None
        assert dictionary.validate(parsed(NEW_ORDER_SINGLE)) is None
    rejection = dictionary.validate(FixMessage([]))
    assert rejection is not None
    assert (rejection.reason, rejection.ref_tag) == (R.INVALID_MSGTYPE, 35)
