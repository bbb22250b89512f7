"""OUCH 4.2 codec: every message round-trips at its limits, the wire layout is the specification's, and bad
bytes are refused with an error naming the message and the byte."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.ouch import messages as m
from engine.ouch.codec import LAYOUTS, OuchDecodeError, OuchEncodeError, decode_inbound, decode_outbound, encode

SPEC_SIZES = {
    m.EnterOrder: 49, m.ReplaceOrder: 47, m.CancelOrder: 19, m.ModifyOrder: 20,
    m.SystemEvent: 10, m.Accepted: 66, m.Replaced: 80, m.Canceled: 28, m.AiqCanceled: 37, m.Executed: 40,
    m.BrokenTrade: 32, m.ExecutedWithReferencePrice: 45, m.TradeCorrection: 41, m.Rejected: 24,
    m.CancelPending: 23, m.CancelReject: 23, m.PriorityUpdate: 36, m.OrderModified: 28,
}  # fmt: skip


def _values(cls: type[m.Message], *, high: bool) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for field in LAYOUTS[cls].fields:
        if isinstance(field.kind, m.UInt):
            values[field.name] = (1 << (8 * field.kind.size)) - 1 if high else 0
        elif field.kind.size == 1:
            values[field.name] = "Z" if high else " "
        else:
            values[field.name] = "~" * field.kind.size if high else ""
    return values


def _decode(cls: type[m.Message], data: bytes) -> m.Message:
    return decode_inbound(data) if cls in m.INBOUND_TYPES else decode_outbound(data)


def test_every_message_type_has_the_specified_size() -> None:
    assert {cls: layout.size for cls, layout in LAYOUTS.items()} == SPEC_SIZES


@pytest.mark.parametrize("high", [True, False], ids=["largest", "smallest"])
@pytest.mark.parametrize("cls", list(SPEC_SIZES), ids=lambda cls: f"{cls.TYPE}-{cls.__name__}")
def test_every_message_round_trips_with_limit_values(cls: type[m.Message], high: bool) -> None:
    message = cls(**_values(cls, high=high))
    data = encode(message)
    assert len(data) == SPEC_SIZES[cls]
    assert data[:1] == cls.TYPE.encode()
    assert _decode(cls, data) == message


def test_a_hand_assembled_enter_order_decodes_field_by_field() -> None:
    data = (
        b"O" + b"ABC123        " + b"B" + (300).to_bytes(4, "big") + b"AAPL    " + (1_905_000).to_bytes(4, "big")
        + (99_998).to_bytes(4, "big") + b"FRM1" + b"Y" + b"A" + b"N" + (100).to_bytes(4, "big") + b"N" + b"R"
    )  # fmt: skip
    assert len(data) == 49
    order = decode_inbound(data)
    assert order == m.EnterOrder(
        order_token="ABC123", side="B", shares=300, stock="AAPL", price=1_905_000, time_in_force=99_998, firm="FRM1",
        display="Y", capacity="A", intermarket_sweep="N", minimum_quantity=100, cross_type="N", customer_type="R",
    )  # fmt: skip
    assert encode(order) == data
    # The offsets of the specification.
    assert data[1:15] == b"ABC123        "
    assert data[15:16] == b"B"
    assert int.from_bytes(data[16:20], "big") == 300
    assert data[20:28] == b"AAPL    "
    assert int.from_bytes(data[28:32], "big") == 1_905_000
    offsets = {field.name: field.offset for field in LAYOUTS[m.EnterOrder].fields}
    assert offsets["time_in_force"] == 32
    assert offsets["firm"] == 36
    assert offsets["minimum_quantity"] == 43
    assert offsets["customer_type"] == 48


def test_a_hand_assembled_executed_message_decodes() -> None:
    data = (
        b"E" + (34_200_000_000_123).to_bytes(8, "big") + b"TOKEN0000000001"[:14] + (250).to_bytes(4, "big")
        + (1_000_100).to_bytes(4, "big") + b"R" + (987_654_321).to_bytes(8, "big")
    )  # fmt: skip
    assert decode_outbound(data) == m.Executed(
        timestamp=34_200_000_000_123, order_token="TOKEN000000000", executed_shares=250, execution_price=1_000_100,
        liquidity_flag="R", match_number=987_654_321,
    )  # fmt: skip


def test_a_truncated_message_is_refused_naming_its_type_and_length() -> None:
    data = encode(m.CancelOrder(order_token="T1", shares=0))
    with pytest.raises(OuchDecodeError, match=r"truncated CancelOrder: 18 bytes, expected 19 at byte 18") as info:
        decode_inbound(data[:-1])
    assert info.value.message_type == "X"
    with pytest.raises(OuchDecodeError, match="too long CancelOrder"):
        decode_inbound(data + b" ")


def test_an_unknown_or_empty_message_is_refused() -> None:
    with pytest.raises(OuchDecodeError, match="unknown inbound message type 'Q' at byte 0"):
        decode_inbound(b"Q" + bytes(18))
    with pytest.raises(OuchDecodeError, match="unknown outbound message type '0x00'"):
        decode_outbound(bytes(10))
    with pytest.raises(OuchDecodeError, match="empty inbound message"):
        decode_inbound(b"")
    # Inbound and outbound letters differ in meaning: an Accepted is not an inbound message.
    with pytest.raises(OuchDecodeError, match="unknown inbound message type 'A'"):
        decode_inbound(encode(m.Accepted(**_values(m.Accepted, high=True))))


def test_a_non_ascii_alpha_field_is_refused_at_its_offset() -> None:
    data = bytearray(encode(m.CancelOrder(order_token="T1", shares=5)))
    data[3] = 0xE9
    with pytest.raises(OuchDecodeError, match="CancelOrder field order_token is not ASCII at byte 1") as info:
        decode_inbound(bytes(data))
    assert info.value.offset == 1


@pytest.mark.parametrize(
    ("message", "problem"),
    [
        (m.CancelOrder(order_token="T1", shares=-1), r"CancelOrder.shares: -1 is not an integer within 0..4294967295"),
        (m.CancelOrder(order_token="T1", shares=1 << 32), r"CancelOrder.shares: 4294967296 is not an integer"),
        (
            m.CancelOrder(order_token="X" * 15, shares=0),
            r"CancelOrder.order_token: 'XXXXXXXXXXXXXXX' is longer than 14",
        ),
        (m.ModifyOrder(order_token="T1", side="é", shares=1), r"ModifyOrder.side: 'é' is not ASCII"),
    ],
)
def test_values_that_do_not_fit_are_refused_when_encoding(message: m.Message, problem: str) -> None:
    with pytest.raises(OuchEncodeError, match=problem):
        encode(message)


_alpha = st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126), max_size=14)


@given(
    token=_alpha,
    shares=st.integers(0, (1 << 32) - 1),
    price=st.integers(0, (1 << 32) - 1),
    match=st.integers(0, (1 << 64) - 1),
    timestamp=st.integers(0, (1 << 64) - 1),
    flag=st.sampled_from("ARXJ "),
)
def test_executed_round_trips_for_any_values(
    token: str, shares: int, price: int, match: int, timestamp: int, flag: str
) -> None:
    message = m.Executed(
        timestamp=timestamp, order_token=token, executed_shares=shares, execution_price=price, liquidity_flag=flag,
        match_number=match,
    )  # fmt: skip
    assert decode_outbound(encode(message)) == message
