"""Fixed-width binary messages declared as frozen dataclasses (ITCH, OUCH and the like).

A message class lists its fields in wire order, each annotated with a width marker (``Annotated[int, UInt(4)]``);
:func:`wire_fields` derives every field's byte offset from those declarations, so a protocol's classes are the
single source of its layouts, codecs and numpy dtypes. Byte 0 of every message is its one-letter type.
"""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class UInt:
    """Marker: an unsigned big-endian integer of ``size`` bytes (1, 2, 4 or 8)."""

    size: int


@dataclass(frozen=True, slots=True)
class Alpha:
    """Marker: an ASCII field of ``size`` bytes, left-justified and space padded."""

    size: int


@dataclass(frozen=True, slots=True)
class Timestamp:
    """Marker: a 6-byte big-endian timestamp, nanoseconds since midnight (ITCH)."""

    size: int = 6


WireKind = UInt | Alpha | Timestamp


@dataclass(frozen=True, slots=True)
class FieldLayout:
    """One field of a message on the wire: its name, byte offset in the message (type byte at 0) and kind."""

    name: str
    offset: int
    kind: WireKind


def wire_fields(cls: type) -> tuple[tuple[FieldLayout, ...], int]:
    """The fields of message class ``cls`` after its type byte, and the message's total length in bytes.

    Raises ``TypeError`` for a field without exactly one width marker.
    """
    hints = typing.get_type_hints(cls, include_extras=True)
    offset = 1
    fields: list[FieldLayout] = []
    for field in dataclasses.fields(cls):
        markers = [meta for meta in getattr(hints[field.name], "__metadata__", ()) if isinstance(meta, WireKind)]
        if len(markers) != 1:
            raise TypeError(f"{cls.__name__}.{field.name} has no wire width")
        fields.append(FieldLayout(field.name, offset, markers[0]))
        offset += markers[0].size
    return tuple(fields), offset


class WireDecodeError(ValueError):
    """Bytes that are not a valid message; the text says what is wrong and where.

    ``offset`` is the byte at fault and ``message_type`` the type letter when it could be read. Subclasses set
    how the place is worded (``WHERE`` and ``TYPE_NOTE``).
    """

    WHERE = "at byte offset {offset}"
    TYPE_NOTE = " (message type {message_type!r})"

    def __init__(self, reason: str, *, offset: int, message_type: str | None = None) -> None:
        where = self.WHERE.format(offset=offset)
        if message_type is not None:
            where += self.TYPE_NOTE.format(message_type=message_type)
        super().__init__(f"{reason} {where}")
        self.reason = reason
        self.offset = offset
        self.message_type = message_type
