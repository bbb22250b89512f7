"""Live decoding: one ITCH 5.0 message at a time into its typed dataclass (for packets as they arrive).

For whole files use :class:`engine.itch.bulk.FramedFile`, which finds every message with one compiled pass and
gathers the messages of a type as numpy records.
"""

from __future__ import annotations

from collections.abc import Iterator

from engine.itch._wire import CODECS_BY_BYTE
from engine.itch.errors import ItchDecodeError
from engine.itch.messages import Message

Buffer = bytes | bytearray | memoryview

_ALPHA_SLOTS = {codec.layout.letter: codec.alpha_slots for codec in CODECS_BY_BYTE.values()}


def _type_name(byte: int) -> str:
    return chr(byte) if 32 <= byte < 127 else f"\\x{byte:02x}"


def decode_message(data: Buffer, offset: int = 0, length: int | None = None) -> Message:
    """Decode the message starting at ``data[offset]``.

    ``length``, when the framing gives one, must equal the type's length. Raises :class:`ItchDecodeError`
    naming the offset and type for an empty, unknown, truncated or wrongly sized message, or a non-ASCII
    alpha field.
    """
    if offset >= len(data):
        raise ItchDecodeError("empty message", offset=offset)
    codec = CODECS_BY_BYTE.get(data[offset])
    if codec is None:
        raise ItchDecodeError("unknown message type", offset=offset, message_type=_type_name(data[offset]))
    layout = codec.layout
    if length is not None and length != layout.length:
        raise ItchDecodeError(
            f"message length {length} differs from the type's {layout.length} bytes",
            offset=offset,
            message_type=layout.letter,
        )
    if len(data) - offset < layout.length:
        raise ItchDecodeError(
            f"truncated message: {len(data) - offset} of {layout.length} bytes",
            offset=offset,
            message_type=layout.letter,
        )
    raw = codec.struct.unpack_from(data, offset)
    body = list(raw[5:])
    try:
        for slot in _ALPHA_SLOTS[layout.letter]:
            body[slot] = body[slot].rstrip(b" ").decode("ascii")
    except UnicodeDecodeError:
        raise ItchDecodeError("alpha field is not ASCII", offset=offset, message_type=layout.letter) from None
    values = dict(zip(codec.body_names, body, strict=True))
    return layout.cls(stock_locate=raw[1], tracking_number=raw[2], timestamp=raw[3] << 32 | raw[4], **values)


def iter_framed(data: Buffer, base_offset: int = 0) -> Iterator[tuple[int, Message]]:
    """Decode ``[length: uint16 BE][message]`` blocks one by one, yielding ``(offset, message)``.

    ``offset`` is where the block's length prefix starts, plus ``base_offset`` (the position of ``data`` in a
    larger input, so that errors name the right place).
    """
    view = memoryview(data)
    pos = 0
    end = len(view)
    while pos < end:
        if end - pos < 2:
            raise ItchDecodeError("truncated length prefix", offset=base_offset + pos)
        length = view[pos] << 8 | view[pos + 1]
        start = pos + 2
        if end - start < length:
            kind = _type_name(view[start]) if start < end else None
            raise ItchDecodeError(
                f"truncated message: {end - start} of {length} bytes", offset=base_offset + pos, message_type=kind
            )
        try:
            message = decode_message(view[start : start + length], 0, length)
        except ItchDecodeError as error:
            raise ItchDecodeError(error.reason, offset=base_offset + pos, message_type=error.message_type) from None
        yield base_offset + pos, message
        pos = start + length
