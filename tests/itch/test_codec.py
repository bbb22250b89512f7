"""Encoding and decoding single messages: layouts checked byte by byte, limits, round trips and errors."""

from __future__ import annotations

import dataclasses
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.itch.decode import decode_message, iter_framed
from engine.itch.encode import encode_framed, encode_message
from engine.itch.errors import ItchDecodeError, ItchEncodeError
from engine.itch.messages import (
    LAYOUTS,
    MESSAGE_CLASSES,
    MESSAGE_LENGTHS,
    TIMESTAMP_MAX,
    AddOrder,
    Alpha,
    Message,
    OrderExecuted,
    Timestamp,
    UInt,
)

SPEC_LENGTHS = {
    "S": 12, "R": 39, "H": 25, "Y": 20, "L": 26, "V": 35, "W": 12, "K": 28, "J": 35, "h": 21, "A": 36, "F": 40,
    "E": 31, "C": 36, "X": 23, "D": 19, "U": 35, "P": 44, "Q": 40, "B": 19, "I": 50, "N": 20, "O": 48,
}  # fmt: skip


def extreme(cls: type[Message], *, high: bool) -> Message:
    """A message with every field at its maximum (``high``) or minimum."""
    values: dict[str, object] = {}
    for field in LAYOUTS[cls.TYPE].fields:
        kind = field.kind
        if isinstance(kind, Timestamp):
            values[field.name] = TIMESTAMP_MAX if high else 0
        elif isinstance(kind, UInt):
            values[field.name] = (1 << (8 * kind.size)) - 1 if high else 0
        else:
            values[field.name] = "~" * kind.size if high else ""
    return cls(**values)  # type: ignore[arg-type]


def test_every_itch_50_type_has_the_spec_length() -> None:
    assert MESSAGE_LENGTHS == SPEC_LENGTHS


@pytest.mark.parametrize("cls", MESSAGE_CLASSES, ids=lambda cls: cls.TYPE)
@pytest.mark.parametrize("high", [True, False], ids=["max", "min"])
def test_round_trip_at_the_limits(cls: type[Message], high: bool) -> None:
    message = extreme(cls, high=high)
    wire = encode_message(message)
    assert len(wire) == SPEC_LENGTHS[cls.TYPE]
    assert wire[:1] == cls.TYPE.encode()
    assert decode_message(wire) == message


def test_add_order_matches_the_spec_layout_byte_by_byte() -> None:
    wire = (
        b"A"
        + (0x1234).to_bytes(2, "big")  # stock locate
        + (7).to_bytes(2, "big")  # tracking number
        + (34_200_123_456_789).to_bytes(6, "big")  # 09:30:00.123456789
        + (0x0102030405060708).to_bytes(8, "big")  # order reference
        + b"S"
        + (4_294_967_295).to_bytes(4, "big")  # shares at uint32 max
        + b"AAPL    "
        + (1_502_500).to_bytes(4, "big")  # 150.2500
    )
    assert len(wire) == 36
    message = decode_message(wire)
    assert message == AddOrder(
        stock_locate=0x1234,
        tracking_number=7,
        timestamp=34_200_123_456_789,
        order_ref=0x0102030405060708,
        side="S",
        shares=4_294_967_295,
        stock="AAPL",
        price=1_502_500,
    )
    assert encode_message(message) == wire


def test_order_executed_matches_the_spec_layout_byte_by_byte() -> None:
    wire = struct.pack(">cHH", b"E", 3, 0) + (TIMESTAMP_MAX).to_bytes(6, "big") + struct.pack(">QIQ", 99, 250, 1 << 63)
    message = decode_message(wire)
    assert isinstance(message, OrderExecuted)
    assert (message.stock_locate, message.tracking_number, message.timestamp) == (3, 0, TIMESTAMP_MAX)
    assert (message.order_ref, message.executed_shares, message.match_number) == (99, 250, 1 << 63)
    assert encode_message(message) == wire


def _field_strategy(kind: UInt | Alpha | Timestamp) -> st.SearchStrategy[object]:
    if isinstance(kind, Timestamp):
        return st.integers(0, TIMESTAMP_MAX)
    if isinstance(kind, UInt):
        return st.integers(0, (1 << (8 * kind.size)) - 1)
    alphabet = st.characters(min_codepoint=33, max_codepoint=126)
    return st.text(alphabet, max_size=kind.size)


def _message_strategy(cls: type[Message]) -> st.SearchStrategy[Message]:
    fields = {field.name: _field_strategy(field.kind) for field in LAYOUTS[cls.TYPE].fields}
    return st.builds(cls, **fields)


any_message = st.one_of(*(_message_strategy(cls) for cls in MESSAGE_CLASSES))


@given(st.lists(any_message, max_size=20))
def test_framed_round_trip_of_any_messages(messages: list[Message]) -> None:
    decoded = [message for _, message in iter_framed(encode_framed(messages))]
    assert decoded == messages


def test_alpha_fields_are_space_padded_and_stripped() -> None:
    message = extreme(AddOrder, high=False)
    message = dataclasses.replace(message, stock="AB", side="B")  # type: ignore[type-var]
    wire = encode_message(message)
    assert wire[24:32] == b"AB      "
    assert decode_message(wire).stock == "AB"  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        ({"price": 1 << 32}, "price"),
        ({"shares": -1}, "shares"),
        ({"stock": "TOOLONGSYM"}, "stock"),
        ({"stock": "ÄPL"}, "not ASCII"),
        ({"timestamp": TIMESTAMP_MAX + 1}, "timestamp"),
    ],
)
def test_a_value_that_does_not_fit_is_refused(change: dict[str, object], complaint: str) -> None:
    message = dataclasses.replace(extreme(AddOrder, high=False), **change)  # type: ignore[type-var, arg-type]
    with pytest.raises(ItchEncodeError, match=complaint):
        encode_message(message)


def test_truncated_message_names_offset_and_type() -> None:
    wire = encode_message(extreme(AddOrder, high=True))
    with pytest.raises(
        ItchDecodeError, match=r"truncated message: 20 of 36 bytes at byte offset 0 \(message type 'A'\)"
    ):
        decode_message(wire[:20])


def test_unknown_type_names_offset_and_type() -> None:
    framed = encode_framed([extreme(OrderExecuted, high=False)]) + b"\x00\x05Zabcd"
    with pytest.raises(ItchDecodeError, match=r"unknown message type at byte offset 33 \(message type 'Z'\)"):
        list(iter_framed(framed))


def test_length_prefix_disagreeing_with_the_type_is_an_error() -> None:
    wire = encode_message(extreme(OrderExecuted, high=False))
    framed = (len(wire) + 1).to_bytes(2, "big") + wire + b"\x00"
    with pytest.raises(ItchDecodeError, match="differs from the type's 31 bytes at byte offset 0"):
        list(iter_framed(framed))


def test_truncated_frame_in_a_stream_names_its_offset() -> None:
    framed = encode_framed([extreme(OrderExecuted, high=False)] * 2)
    with pytest.raises(ItchDecodeError, match=r"at byte offset 33 \(message type 'E'\)") as caught:
        list(iter_framed(framed[:-3]))
    assert caught.value.offset == 33
    with pytest.raises(ItchDecodeError, match="truncated length prefix at byte offset 66"):
        list(iter_framed(framed + b"\x00"))
