"""Encoding and decoding of OUCH 4.2 messages, with layouts derived from :mod:`engine.ouch.messages`.

Each message is exactly its layout's size; a message that is shorter, longer, of an unknown type or with a
non-ASCII alpha field is refused with an :class:`OuchDecodeError` naming the message and the byte where the
problem is. A field value that does not fit its wire field is refused with an :class:`OuchEncodeError`.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass
from operator import attrgetter
from typing import Any, Final

from engine.ouch.messages import (
    INBOUND_TYPES,
    OUTBOUND_TYPES,
    InboundMessage,
    Message,
    OutboundMessage,
)
from engine.wire import Alpha, FieldLayout, UInt, WireDecodeError, wire_fields


class OuchDecodeError(WireDecodeError):
    """Bytes that are not a valid OUCH 4.2 message; ``offset`` is the byte (within the message) at fault."""

    WHERE = "at byte {offset} of the message"
    TYPE_NOTE = " (type {message_type!r})"


class OuchEncodeError(ValueError):
    """A field value that does not fit its wire field (negative, too large, too long, not ASCII)."""


@dataclass(frozen=True, slots=True)
class Layout:
    """The wire layout of one message class: total size (type byte included) and fields in order."""

    message_class: type[Message]
    size: int
    fields: tuple[FieldLayout, ...]


def _layout_of(cls: type[Message]) -> Layout:
    fields, size = wire_fields(cls)
    return Layout(cls, size, fields)


LAYOUTS: Final[dict[type[Message], Layout]] = {cls: _layout_of(cls) for cls in (*INBOUND_TYPES, *OUTBOUND_TYPES)}
"""Layout of every message class."""


def _struct_of(layout: Layout) -> struct.Struct:
    codes = {4: "I", 8: "Q"}
    parts = [codes[f.kind.size] if isinstance(f.kind, UInt) else f"{f.kind.size}s" for f in layout.fields]
    return struct.Struct(">c" + "".join(parts))


class _Codec:
    """The compiled encoder and decoder of one message class."""

    __slots__ = ("alphas", "chars", "cls", "get", "layout", "name", "names", "struct", "type_byte")

    def __init__(self, layout: Layout) -> None:
        self.cls = layout.message_class
        self.layout = layout
        self.name = self.cls.__name__
        self.type_byte = self.cls.TYPE.encode("ascii")
        self.struct = _struct_of(layout)
        self.names = tuple(f.name for f in layout.fields)
        self.get: Callable[[Any], tuple[Any, ...]] = attrgetter(*self.names)
        # (position in the struct's values, width) of the alpha fields; one-letter codes are kept unstripped.
        self.alphas = tuple((i + 1, f.kind.size) for i, f in enumerate(layout.fields) if isinstance(f.kind, Alpha))
        self.chars = frozenset(i for i, size in self.alphas if size == 1)

    def encode(self, message: Message) -> bytes:
        values: list[Any] = [self.type_byte, *self.get(message)]
        try:
            for index, size in self.alphas:
                raw = values[index].encode("ascii")
                if len(raw) > size:
                    raise OuchEncodeError(self._field_error(index, f"{values[index]!r} is longer than {size}"))
                values[index] = raw.ljust(size, b" ")
            return self.struct.pack(*values)
        except UnicodeEncodeError:
            bad = next(i for i, _ in self.alphas if not values[i].isascii())
            raise OuchEncodeError(self._field_error(bad, f"{values[bad]!r} is not ASCII")) from None
        except struct.error:
            raise OuchEncodeError(self._int_error(values)) from None

    def decode(self, data: bytes | memoryview) -> Message:
        size = self.layout.size
        if len(data) != size:
            problem = "truncated" if len(data) < size else "too long"
            raise OuchDecodeError(
                f"{problem} {self.name}: {len(data)} bytes, expected {size}",
                offset=min(len(data), size),
                message_type=self.cls.TYPE,
            )
        values: list[Any] = list(self.struct.unpack(data))
        chars = self.chars
        try:
            for index, _ in self.alphas:
                text = values[index].decode("ascii")
                values[index] = text if index in chars else text.rstrip(" ")
        except UnicodeDecodeError:
            bad = next(i for i, _ in self.alphas if not values[i].isascii())
            field = self.layout.fields[bad - 1]
            raise OuchDecodeError(
                f"{self.name} field {field.name} is not ASCII", offset=field.offset, message_type=self.cls.TYPE
            ) from None
        return self.cls(**dict(zip(self.names, values[1:], strict=True)))

    def _field_error(self, index: int, problem: str) -> str:
        return f"{self.name}.{self.layout.fields[index - 1].name}: {problem}"

    def _int_error(self, values: list[Any]) -> str:
        for position, field in enumerate(self.layout.fields, start=1):
            value = values[position]
            if isinstance(field.kind, UInt):
                limit = (1 << (8 * field.kind.size)) - 1
                if not isinstance(value, int) or not 0 <= value <= limit:
                    return self._field_error(position, f"{value!r} is not an integer within 0..{limit}")
        return f"{self.name}: a field does not fit its wire width"


_CODECS: Final[dict[type[Message], _Codec]] = {cls: _Codec(layout) for cls, layout in LAYOUTS.items()}
_INBOUND: Final[dict[int, _Codec]] = {ord(cls.TYPE): _CODECS[cls] for cls in INBOUND_TYPES}
_OUTBOUND: Final[dict[int, _Codec]] = {ord(cls.TYPE): _CODECS[cls] for cls in OUTBOUND_TYPES}


def encode(message: Message) -> bytes:
    """The wire bytes of ``message`` (inbound or outbound)."""
    return _CODECS[type(message)].encode(message)


def _decode(data: bytes | memoryview, table: dict[int, _Codec], direction: str) -> Message:
    if len(data) == 0:
        raise OuchDecodeError(f"empty {direction} message", offset=0)
    codec = table.get(data[0])
    if codec is None:
        shown = chr(data[0]) if 32 <= data[0] < 127 else f"0x{data[0]:02x}"
        raise OuchDecodeError(f"unknown {direction} message type {shown!r}", offset=0)
    return codec.decode(data)


def decode_inbound(data: bytes | memoryview) -> InboundMessage:
    """The inbound message (client to exchange) in ``data``, which must hold exactly one message."""
    return _decode(data, _INBOUND, "inbound")  # type: ignore[return-value]


def decode_outbound(data: bytes | memoryview) -> OutboundMessage:
    """The outbound message (exchange to client) in ``data``, which must hold exactly one message."""
    return _decode(data, _OUTBOUND, "outbound")  # type: ignore[return-value]


def message_size(cls: type[Message]) -> int:
    """Total wire size of a message class, its type byte included."""
    return LAYOUTS[cls].size
