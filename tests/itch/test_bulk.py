"""Bulk decoding with numpy agrees with the one-message decoder, and bad input is reported, not crashed on."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.itch.bulk import FramedFile
from engine.itch.encode import encode_framed, encode_message, frame_records
from engine.itch.errors import ItchDecodeError
from engine.itch.messages import LAYOUTS, MESSAGE_CLASSES, AddOrder, Message, wire_dtype
from tests.itch.scenario import SYMBOLS, session
from tests.itch.test_codec import any_message, extreme


def _columns_as_messages(framed: FramedFile) -> dict[int, Message]:
    """Rebuild every message from the bulk columns, by file position."""
    out: dict[int, Message] = {}
    for letter, layout in LAYOUTS.items():
        cols = framed.columns(letter)
        for row in range(len(cols["index"])):
            values = {}
            for field in layout.fields:
                value = cols[field.name][row]
                values[field.name] = value.decode() if isinstance(value, bytes) else int(value)
            out[int(cols["index"][row])] = layout.cls(**values)
    return out


@settings(max_examples=50, deadline=None)
@given(st.lists(any_message, max_size=30))
def test_bulk_columns_equal_the_live_decoder(messages: list[Message]) -> None:
    framed = FramedFile(encode_framed(messages))
    assert len(framed) == len(messages)
    rebuilt = _columns_as_messages(framed)
    assert [rebuilt[i] for i in range(len(messages))] == messages
    assert [framed.message(i) for i in range(len(messages))] == messages
    assert framed.locates().tolist() == [m.stock_locate for m in messages]
    assert framed.timestamps().tolist() == [m.timestamp for m in messages]


def test_every_type_at_its_limits_through_bulk_decode() -> None:
    messages = [extreme(cls, high=high) for cls in MESSAGE_CLASSES for high in (True, False)]
    framed = FramedFile(encode_framed(messages))
    rebuilt = _columns_as_messages(framed)
    assert [rebuilt[i] for i in range(len(messages))] == messages


def test_a_file_on_disk_and_its_directory(tmp_path: Path) -> None:
    messages = session()
    path = tmp_path / "day.itch"
    path.write_bytes(encode_framed(messages))
    framed = FramedFile.from_path(path)
    assert framed.nbytes == path.stat().st_size
    assert framed.directory() == SYMBOLS
    counts: dict[str, int] = {}
    for message in messages:
        counts[message.TYPE] = counts.get(message.TYPE, 0) + 1
    assert framed.type_counts() == counts


def test_frame_records_writes_the_same_bytes_as_the_message_encoder() -> None:
    messages = session(seed=3, count=200)
    order = np.array([ord(m.TYPE) for m in messages], dtype=np.uint8)
    records = {}
    for letter in LAYOUTS:
        raw = b"".join(encode_message(m) for m in messages if letter == m.TYPE)
        records[letter] = np.frombuffer(raw, dtype=wire_dtype(letter))
    assert frame_records(order, records).tobytes() == encode_framed(messages)


def test_empty_input_has_no_messages() -> None:
    framed = FramedFile(b"")
    assert len(framed) == 0
    assert framed.type_counts() == {}
    assert framed.columns("A")["price"].size == 0


@pytest.mark.parametrize(
    ("cut", "pattern"),
    [
        (-1, r"truncated message: 35 of 36 bytes at byte offset 38 \(message type 'A'\)"),
        (-36, r"truncated message: 0 of 36 bytes at byte offset 38$"),
        (-37, r"truncated length prefix at byte offset 38"),
    ],
)
def test_truncated_file_names_the_offset_and_type(cut: int, pattern: str) -> None:
    data = encode_framed([extreme(AddOrder, high=True)] * 2)
    with pytest.raises(ItchDecodeError, match=pattern):
        FramedFile(data[:cut])


def test_unknown_type_and_wrong_length_are_named() -> None:
    good = encode_framed([extreme(AddOrder, high=False)])
    with pytest.raises(ItchDecodeError, match=r"unknown message type at byte offset 38 \(message type 'z'\)"):
        FramedFile(good + b"\x00\x0cz" + bytes(11))
    with pytest.raises(
        ItchDecodeError,
        match=r"length differs from its type's: 12 bytes, type needs 36 at byte offset 38 \(message type 'A'\)",
    ):
        FramedFile(good + b"\x00\x0cA" + bytes(11))


def test_a_zero_length_frame_is_an_error_not_a_crash() -> None:
    with pytest.raises(ItchDecodeError, match=r"empty message \(length 0\) at byte offset 0$"):
        FramedFile(b"\x00\x00\x00\x00")


def test_index_selection_of_another_type_is_refused() -> None:
    framed = FramedFile(encode_framed(session(count=20)))
    with pytest.raises(ValueError, match="not 'A' messages"):
        framed.records("A", np.array([0]))


def test_empty_file_on_disk(tmp_path: Path) -> None:
    path = tmp_path / "empty.itch"
    path.write_bytes(b"")
    assert len(FramedFile.from_path(path)) == 0
