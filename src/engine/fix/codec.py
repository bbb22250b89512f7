"""FIX tag=value codec: a streaming parser that frames messages by BeginString, BodyLength and CheckSum, and the
encoder that writes BodyLength and CheckSum.

A frame is ``8=<BeginString>|9=<BodyLength>|35=...|...|10=<nnn>|`` where BodyLength counts the bytes from the
field after it up to and including the SOH before ``10=``, and CheckSum is the byte sum of everything before
``10=`` modulo 256. A frame whose BodyLength or CheckSum does not hold is garbled: it is reported to the
``on_garbled`` callback and dropped up to the next ``8=FIX``, so the message that follows is still parsed.
DATA fields (RawData, XmlData, Signature...) may hold SOH; they are read by the length in their LENGTH field.

The parser remembers the field layouts of the messages it accepted and reads a frame of a known layout with one
compiled pattern, still checking its BodyLength and CheckSum; any other frame takes the general split.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from itertools import repeat
from typing import TypeAlias
from zlib import adler32

from engine.fix.message import TAG_PREFIXES, Field, FixMessage, positions_of

SOH = b"\x01"
BEGIN_STRING = b"FIX.4.4"
_START = b"8=FIX"
_MAX_HEADER = 64
"""Bytes after which a BeginString or BodyLength field without its SOH is garbled rather than incomplete."""

_FAST_TAGS = len(TAG_PREFIXES)
"""Tags below this are looked up in a table when splitting and encoding; larger ones take the general path."""
_FRAMING_TAGS = frozenset({8, 9, 10})
_EQUALS = repeat(b"=")
_CHECKSUM_TEXT: tuple[bytes, ...] = tuple(b"%03d" % value for value in range(256))
_MSG_TYPE = re.compile(rb"8=FIX[^\x01]*\x019=[0-9]+\x0135=([^\x01]*)\x01")
"""The MsgType of a frame that starts at the position given, to find its remembered layouts."""
_LAYOUTS_PER_TYPE = 4
_MAX_LAYOUTS = 32
_MAX_LAYOUT_FIELDS = 64
"""Bounds of the layouts a parser remembers: per MsgType, in all, and fields in one (a large body, such as a deep
snapshot, is not worth a pattern). A layout is never forgotten: compiling one costs about 150 µs, so a client
alternating between more layouts than the bound would pay that on every message."""
_CHECKSUM_CHUNK = 256
"""Bytes per Adler-32 call in :func:`checksum`: 256 bytes sum to at most 65,280, below Adler-32's modulus 65,521,
so the low half of the digest minus one is their exact sum."""


@lru_cache(maxsize=8)
def _tag_numbers(length_tags: frozenset[int]) -> dict[bytes, int]:
    """Tag text to tag number for the common tags, leaving out LENGTH tags so that a message carrying a DATA
    field misses the table and takes the length-aware split."""
    return {b"%d" % tag: tag for tag in range(1, _FAST_TAGS) if tag not in length_tags}


_Layout: TypeAlias = tuple[Callable[[bytes, int], "re.Match[bytes] | None"], tuple[int, ...], dict[int, int]]
"""A remembered field layout: the ``match`` of its frame pattern, the tags of the pattern's groups, in order, and
where each tag first occurs in them (see :meth:`FixMessage.of_layout`)."""
_NO_LAYOUT: _Layout = (re.compile(b"(?!)").match, (), {})
"""Stands for the last layout before any: its pattern matches nothing."""


@dataclass(frozen=True, slots=True, kw_only=True)
class GarbledMessage:
    """A frame the parser could not accept, with the reason and the bytes it dropped (for the session's log)."""

    reason: str
    data: bytes


class FixParser:
    """Turns a byte stream into FIX messages, whatever way the stream is cut into reads.

    ``data_lengths`` maps each LENGTH tag to the DATA tag whose size it gives (FIX 4.4's pairs by default);
    ``max_body_length`` bounds the BodyLength accepted; ``on_garbled`` hears about every frame dropped.
    """

    __slots__ = (
        "_buffer",
        "_data_lengths",
        "_data_tags",
        "_last",
        "_layout_count",
        "_layouts",
        "_max_body",
        "_on_garbled",
        "_skipping",
        "_tag_numbers",
        "garbled_count",
    )

    def __init__(
        self,
        *,
        data_lengths: Mapping[int, int] | None = None,
        max_body_length: int = 1 << 20,
        on_garbled: Callable[[GarbledMessage], None] | None = None,
    ) -> None:
        if data_lengths is None:
            from engine.fix.dictionary import fix44

            data_lengths = fix44().data_lengths
        self._data_lengths = dict(data_lengths)
        self._tag_numbers = _tag_numbers(frozenset(self._data_lengths))
        self._data_tags = frozenset(self._data_lengths) | frozenset(self._data_lengths.values())
        self._layouts: dict[bytes, list[_Layout]] = {}
        self._last = _NO_LAYOUT
        self._layout_count = 0
        self._max_body = max_body_length
        self._on_garbled = on_garbled
        self._buffer = b""
        self._skipping = False
        self.garbled_count = 0
        """How many garbled frames (and runs of bytes outside any frame) were dropped so far."""

    @property
    def buffered(self) -> int:
        """Bytes held back waiting for the rest of a frame."""
        return len(self._buffer)

    @property
    def layouts(self) -> int:
        """How many field layouts the parser remembers for its fast path (bounded, see :meth:`feed`)."""
        return self._layout_count

    def feed(self, data: bytes) -> list[FixMessage]:
        """Every complete, well-framed message in the stream so far, in order; keeps any partial frame.

        The parser remembers the field layouts (tags in order) of the messages it accepts, a few per MsgType up
        to a bound in all, and reads a frame of a remembered layout with one pattern match; the messages and
        the garbled reports are the same as without them.
        """
        buf = self._buffer + data if self._buffer else data if type(data) is bytes else bytes(data)
        out: list[FixMessage] = []
        pos = 0
        size = len(buf)
        last = self._last
        while pos < size:
            # Fast path: a complete frame whose fields have a remembered layout (the last one seen first, then
            # those of its MsgType). It only ever accepts: a frame it does not accept (partial, a BodyLength or
            # CheckSum that does not hold, a new layout, a malformed field) goes to _frame, which answers as if
            # there were no fast path, garbled reasons included.
            match = last[0](buf, pos)
            if match is None:
                header = _MSG_TYPE.match(buf, pos)
                if header is not None:
                    for layout in self._layouts.get(header[1], ()):
                        match = layout[0](buf, pos)
                        if match is not None:
                            last = layout
                            break
            if match is not None:
                values = match.groups()
                length = int(values[1])
                body_end = match.end() - 7
                if length == body_end - match.start(3) + 3 and length <= self._max_body:
                    total = (
                        ((adler32(buf[pos:body_end]) & 0xFFFF) - 1) & 255
                        if body_end - pos <= _CHECKSUM_CHUNK
                        else checksum(buf[pos:body_end])
                    )
                    if values[-1] == _CHECKSUM_TEXT[total]:
                        out.append(FixMessage.of_layout(last[1], values, last[2]))
                        self._skipping = False
                        pos = body_end + 7
                        continue
            if buf.startswith(_START, pos):
                self._skipping = False
                end = self._frame(buf, pos, out)
                if end < 0:
                    break
                pos = end
                continue
            start = buf.find(_START, pos + 1)
            if start < 0:
                # Keep a tail that may be the beginning of the next BeginString.
                keep = next((k for k in range(min(4, size - pos), 0, -1) if _START.startswith(buf[size - k :])), 0)
                self._drop(buf[pos : size - keep], "bytes outside any message")
                pos = size - keep
                break
            self._drop(buf[pos:start], "bytes outside any message")
            pos = start
        self._last = last
        self._buffer = buf[pos:]
        return out

    def _drop(self, data: bytes, reason: str) -> None:
        if not data or self._skipping:
            return
        self._garbled(data, reason)

    def _garbled(self, data: bytes, reason: str) -> None:
        self.garbled_count += 1
        self._skipping = True
        if self._on_garbled is not None:
            self._on_garbled(GarbledMessage(reason=reason, data=data))

    def _reject(self, buf: bytes, start: int, reason: str) -> int:
        """Reports the frame at ``start`` as garbled and returns where to look for the next one."""
        nxt = buf.find(_START, start + 1)
        end = len(buf) if nxt < 0 else nxt
        self._garbled(buf[start:end], reason)
        return end

    def _frame(self, buf: bytes, start: int, out: list[FixMessage]) -> int:  # noqa: C901 (one pass over a frame)
        """Parses the frame at ``start`` into ``out``; returns where the next one starts, or -1 to wait for bytes."""
        size = len(buf)
        soh1 = buf.find(SOH, start)
        if soh1 < 0:
            return -1 if size - start < _MAX_HEADER else self._reject(buf, start, "BeginString without SOH")
        if size < soh1 + 3:
            return -1
        if not buf.startswith(b"9=", soh1 + 1):
            return self._reject(buf, start, "BodyLength (9) is not the second field")
        soh2 = buf.find(SOH, soh1 + 3)
        if soh2 < 0:
            return -1 if size - soh1 < _MAX_HEADER else self._reject(buf, start, "BodyLength without SOH")
        length_text = buf[soh1 + 3 : soh2]
        length = int(length_text) if length_text.isdigit() else -1
        if length < 0 or length > self._max_body:
            return self._reject(buf, start, f"BodyLength {length_text!r} is not a valid length")
        body_start = soh2 + 1
        body_end = body_start + length
        if size < body_end + 7:
            overrun = buf.find(b"\x01" + _START, body_start, body_end)
            if overrun >= 0:
                return self._reject(buf, start, "BodyLength runs into the next message")
            return -1
        if buf[body_end - 1] != 1 or not buf.startswith(b"10=", body_end) or buf[body_end + 6] != 1:
            return self._reject(buf, start, f"BodyLength {length} does not end at CheckSum (10)")
        checksum_text = buf[body_end + 3 : body_end + 6]
        if checksum_text != _CHECKSUM_TEXT[checksum(buf[start:body_end])]:
            return self._reject(buf, start, f"CheckSum {checksum_text!r} does not match the bytes")
        body = buf[body_start : body_end - 1]
        parts = body.split(SOH)
        numbers = self._tag_numbers
        try:
            # Common case: every field is tag=value with a tag from the table; anything else (a DATA field, a
            # field without '=', an unusual tag) takes the general split, which reports what is wrong.
            fields = [(numbers[tag], value) for tag, equals, value in map(bytes.partition, parts, _EQUALS) if equals]
        except KeyError:
            fields = []
        plain = len(fields) == len(parts)
        try:
            if not plain:
                fields = self._split_with_data(body)
        except ValueError as error:
            return self._reject(buf, start, f"malformed field: {error}")
        if not fields or fields[0][0] != 35:
            return self._reject(buf, start, "MsgType (35) is not the third field")
        out.append(FixMessage(((8, buf[start + 2 : soh1]), (9, length_text), *fields, (10, checksum_text))))
        # Only bodies the table split read are remembered (never one with a LENGTH field, nor an unusual tag), up
        # to the field bound; testing that here spares the work on every message that will not be.
        if plain and len(fields) <= _MAX_LAYOUT_FIELDS - 3 and self._layout_count < _MAX_LAYOUTS:
            self._remember(fields)
        return body_end + 7

    def _remember(self, fields: list[Field]) -> None:
        """Compiles the layout of an accepted body (its tags in order) for the fast path in :meth:`feed`.

        The pattern is ``8=(FIX[^SOH]*)SOH9=([0-9]+)SOH35=(D)SOH49=([^SOH]*)SOH...SOH10=([0-9]{3})SOH``, one
        group per field. It matches exactly the frames whose body splits on SOH into these tags in this
        order, each tag in its plain decimal text, so its groups are the values the general split gives (a value
        may hold '=': the split takes the tag up to the first one). BodyLength and CheckSum are still checked
        on every match. Layouts with LENGTH or DATA tags are left out, as a DATA value may hold SOH; and a body
        holding a LENGTH field cannot match a layout without one, since that field starts after a SOH.
        """
        tags = (8, 9, *[tag for tag, _ in fields], 10)
        if len(tags) > _MAX_LAYOUT_FIELDS or not self._data_tags.isdisjoint(tags):
            return
        msg_type = fields[0][1]
        known = self._layouts.setdefault(msg_type, [])
        if len(known) >= _LAYOUTS_PER_TYPE or any(tags == layout[1] for layout in known):
            return
        # MsgType is written as it is (in a group, for its value) so that another type's frame fails at once.
        body = b"".join([b"\x01%d=([^\x01]*)" % tag for tag in tags[3:-1]])
        head = rb"8=(FIX[^\x01]*)\x019=([0-9]+)\x0135=(" + re.escape(msg_type) + b")"
        pattern = re.compile(head + body + rb"\x0110=([0-9]{3})\x01")
        known.append((pattern.match, tags, positions_of(tags)))
        self._layout_count += 1

    def _split_with_data(self, body: bytes) -> list[Field]:
        """Field split that reads each DATA field by the length its LENGTH field gave, SOH bytes and all."""
        fields: list[Field] = []
        pending: dict[int, int] = {}
        pos = 0
        size = len(body)
        while pos <= size:
            eq = body.find(b"=", pos)
            if eq < 0:
                raise ValueError(f"no '=' after byte {pos}")
            tag_text = body[pos:eq]
            if not tag_text.isdigit():
                raise ValueError(f"tag {tag_text!r} at byte {pos} is not a number")
            tag = int(tag_text)
            length = pending.pop(tag, None)
            if length is not None:
                end = eq + 1 + length
                if body[end : end + 1] not in (b"", SOH):
                    raise ValueError(f"DATA field {tag} is not {length} bytes long")
            else:
                end = body.find(SOH, eq + 1)
                end = size if end < 0 else end
            value = body[eq + 1 : end]
            if tag in self._data_lengths:
                pending[self._data_lengths[tag]] = int(value)
            fields.append((tag, value))
            pos = end + 1
        return fields


def encode(fields: Iterable[Field], begin_string: bytes = BEGIN_STRING) -> bytes:
    """One wire frame of ``fields`` (MsgType first; any 8, 9 and 10 given are replaced by correct ones)."""
    prefixes = TAG_PREFIXES
    framing = _FRAMING_TAGS
    try:
        parts = [prefixes[tag] + value for tag, value in fields if tag not in framing]
    except IndexError:
        parts = [b"%d=" % tag + value for tag, value in fields if tag not in framing]
    body = b"\x01".join(parts) + b"\x01" if parts else b""  # one join: a third faster than a SOH per field
    frame = b"8=%s\x019=%d\x01%s" % (begin_string, len(body), body)  # frame_body's, without a call
    return b"%s10=%s\x01" % (frame, _CHECKSUM_TEXT[checksum(frame)])


def frame_body(body: bytes, begin_string: bytes = BEGIN_STRING) -> bytes:
    """The wire frame of an encoded body (``35=...<SOH>`` up to the SOH before CheckSum): BeginString and
    BodyLength before it, CheckSum after it."""
    frame = b"8=%s\x019=%d\x01%s" % (begin_string, len(body), body)
    return b"%s10=%s\x01" % (frame, _CHECKSUM_TEXT[checksum(frame)])


def encode_message(message: FixMessage, begin_string: bytes | None = None) -> bytes:
    """Wire frame of ``message``, under its own BeginString unless ``begin_string`` is given."""
    begin = begin_string or message.get(8) or BEGIN_STRING
    return encode(message.fields, begin)


def checksum(frame: bytes) -> int:
    """FIX CheckSum of the bytes before ``10=``: their sum modulo 256."""
    if len(frame) <= _CHECKSUM_CHUNK:
        return ((adler32(frame) & 0xFFFF) - 1) & 255
    total = 0
    for offset in range(0, len(frame), _CHECKSUM_CHUNK):
        total += (adler32(frame[offset : offset + _CHECKSUM_CHUNK]) & 0xFFFF) - 1
    return total & 255
