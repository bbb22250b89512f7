"""Encoding ITCH 5.0 messages: one message, NASDAQ's historical file framing, and a vectorised bulk framer.

The historical framing (files such as ``01302019.NASDAQ_ITCH50``) is ``[length: uint16 big-endian][message]``
repeated; MoldUDP64 message blocks use the same ``[length][message]`` shape (see :mod:`engine.itch.moldudp64`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np
import numpy.typing as npt

from engine.itch._wire import CODECS
from engine.itch.errors import ItchEncodeError
from engine.itch.messages import LAYOUTS, MESSAGE_LENGTHS, TIMESTAMP_MAX, Message, wire_dtype

_CHUNK = 1 << 18
"""Messages of one type written per vectorised step of :func:`frame_records` (bounds the index arrays)."""


def _uint(value: int, size: int, name: str) -> int:
    if not isinstance(value, int) or not 0 <= value < 1 << (8 * size):
        raise ItchEncodeError(f"{name}={value!r} does not fit an unsigned {8 * size}-bit field")
    return value


def _alpha(value: str, size: int, name: str) -> bytes:
    if not isinstance(value, str):
        raise ItchEncodeError(f"{name}={value!r} is not a str")
    try:
        raw = value.encode("ascii")
    except UnicodeEncodeError:
        raise ItchEncodeError(f"{name}={value!r} is not ASCII") from None
    if len(raw) > size:
        raise ItchEncodeError(f"{name}={value!r} is longer than its {size}-byte field")
    return raw.ljust(size, b" ")


def encode_message(message: Message) -> bytes:
    """The wire bytes of one message (no length prefix); ``ItchEncodeError`` when a field does not fit."""
    codec = CODECS.get(message.TYPE)
    if codec is None:
        raise ItchEncodeError(f"{type(message).__name__} is not a concrete ITCH message")
    timestamp = message.timestamp
    if not isinstance(timestamp, int) or not 0 <= timestamp <= TIMESTAMP_MAX:
        raise ItchEncodeError(f"timestamp={timestamp!r} does not fit the 6-byte field")
    values: list[object] = [
        message.TYPE.encode("ascii"),
        _uint(message.stock_locate, 2, "stock_locate"),
        _uint(message.tracking_number, 2, "tracking_number"),
        timestamp >> 32,
        timestamp & 0xFFFFFFFF,
    ]
    for name, alpha, size in zip(codec.body_names, codec.body_alpha, codec.body_sizes, strict=True):
        value = getattr(message, name)
        values.append(_alpha(value, size, name) if alpha else _uint(value, size, name))
    return codec.struct.pack(*values)


def frame(payload: bytes) -> bytes:
    """One message with its uint16 big-endian length prefix."""
    if len(payload) > 0xFFFF:
        raise ItchEncodeError(f"a framed message holds at most 65535 bytes, got {len(payload)}")
    return len(payload).to_bytes(2, "big") + payload


def encode_framed(messages: Iterable[Message]) -> bytes:
    """Messages in the historical file framing: ``[length][message]`` repeated."""
    return b"".join(frame(encode_message(message)) for message in messages)


def frame_records(order: npt.NDArray[np.uint8], records: Mapping[str, npt.NDArray[np.void]]) -> npt.NDArray[np.uint8]:
    """Frame many messages at once, vectorised: the bulk counterpart of :func:`encode_framed`.

    ``order`` holds the type byte of each message in file order; ``records[letter]`` the messages of that type
    in their order of appearance, as arrays of :func:`engine.itch.messages.wire_dtype` (the ``type`` field is
    overwritten). Returns the framed file as a ``uint8`` array.
    """
    order = np.asarray(order, dtype=np.uint8)
    lengths = np.zeros(256, dtype=np.int64)
    for letter, length in MESSAGE_LENGTHS.items():
        lengths[ord(letter)] = length
    framed = lengths[order] + 2
    if (framed == 2).any():
        bad = int(order[np.argmax(framed == 2)])
        raise ItchEncodeError(f"unknown message type byte {bad!r} in order")
    starts = np.cumsum(framed) - framed
    out = np.zeros(int(framed.sum()), dtype=np.uint8)
    out[starts] = (framed - 2) >> 8
    out[starts + 1] = (framed - 2) & 0xFF
    for letter in LAYOUTS:
        where = np.flatnonzero(order == ord(letter))
        recs = records.get(letter)
        count = 0 if recs is None else len(recs)
        if count != len(where):
            raise ItchEncodeError(f"order has {len(where)} {letter!r} messages but records hold {count}")
        if recs is None or count == 0:
            continue
        typed = np.array(recs, dtype=wire_dtype(letter))
        typed["type"] = letter.encode("ascii")
        raw = typed.view(np.uint8).reshape(count, -1)
        span = np.arange(raw.shape[1], dtype=np.int64)
        for first in range(0, count, _CHUNK):
            rows = slice(first, first + _CHUNK)
            out[(starts[where[rows]] + 2)[:, None] + span] = raw[rows]
    return out
