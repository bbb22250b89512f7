"""A FIX message as parsed from or written to the wire: ordered ``(tag, value)`` fields with typed accessors.

Values are the raw bytes between ``=`` and SOH. Typed readers turn them into ``int``, ``str``, ``bool``, integer
price ticks (never floats) and integer nanoseconds; :func:`fix_value` does the reverse for the encoder.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from operator import methodcaller
from typing import TypeAlias, TypeVar

from core.numbers import NANOS_PER_SECOND, Nanos

FieldValue: TypeAlias = bytes | str | int | bool | Decimal
"""What the encoder accepts for a value: bytes as they are, ``str`` as ASCII, ``int``, ``bool`` (Y/N), Decimal."""
Field: TypeAlias = tuple[int, bytes]
"""One field: its tag and the raw bytes of its value."""

_EPOCH_DAY = datetime(1970, 1, 1, tzinfo=UTC).toordinal()
_K = TypeVar("_K")
_V = TypeVar("_V")


SESSION_TAGS = frozenset({8, 9, 10, 34, 35, 49, 52, 56})
"""The fields a session writes on every message it sends (BeginString, BodyLength, CheckSum, MsgSeqNum, MsgType,
SenderCompID, SendingTime, TargetCompID): an application message's own values of them are left out."""
_FAST_TAGS = 10_000
TAG_PREFIXES: tuple[bytes, ...] = tuple(b"%d=" % tag for tag in range(_FAST_TAGS))
"""``b"<tag>="`` of the tags below 10,000, by tag."""


class FieldMissing(KeyError):
    """A field that the caller required is not in the message."""


class FixMessage:
    """An immutable FIX message: the ordered fields, the header and trailer included when it came off the wire.

    Lookups by tag return the first occurrence (fields inside repeating groups repeat; read them through
    :meth:`engine.fix.dictionary.FixDictionary.groups` or :meth:`values`).

    A message is held in the form it was made in, and the others are derived on demand: its fields (built from
    them), its tags and values in a layout shared with other messages (:meth:`of_layout`, as parsed), or the
    wire bytes of its body (:meth:`of_body`, as encoded for sending).
    """

    __slots__ = ("_body", "_fields", "_index", "_kind", "_positions", "_tags", "_values")

    def __init__(self, fields: Sequence[Field]) -> None:
        self._fields: tuple[Field, ...] | None = tuple(fields)
        self._index: dict[int, bytes] | None = None
        self._positions: Mapping[int, int] | None = None
        self._tags: tuple[int, ...] | None = None
        self._values: tuple[bytes, ...] = ()
        self._body: bytes | None = None
        self._kind: bytes | None = None

    @classmethod
    def of_layout(cls, tags: tuple[int, ...], values: tuple[bytes, ...], positions: Mapping[int, int]) -> FixMessage:
        """The message of ``values`` under ``tags`` (one each, in order), whose first occurrences ``positions``
        gives (tag -> index, shared by every message of the same tags: see :func:`positions_of`).

        This is how the parser builds the messages of a field layout it knows: nothing per field is allocated
        until :attr:`fields` is read.
        """
        message = cls.__new__(cls)
        message._fields = None
        message._index = None
        message._positions = positions
        message._tags = tags
        message._values = values
        message._body = None
        message._kind = None
        return message

    @classmethod
    def of_body(cls, msg_type: bytes, body: bytes) -> FixMessage:
        """The message of MsgType ``msg_type`` whose other fields ``body`` holds as wire bytes (``tag=value<SOH>``
        each, in order): what :meth:`body_bytes` returns, so none of :data:`SESSION_TAGS` and no value holding SOH.

        An encoder of a message sent on every order writes its bytes at once; its fields are read back from them
        only if asked for.
        """
        message = cls.__new__(cls)
        message._fields = None
        message._index = None
        message._positions = None
        message._tags = None
        message._values = ()
        message._body = body
        message._kind = msg_type
        return message

    @classmethod
    def build(cls, msg_type: str | bytes, fields: Iterable[tuple[int, FieldValue]]) -> FixMessage:
        """A body-only message (no header framing fields) of ``msg_type`` from typed values, for the encoder."""
        kind = msg_type.encode("ascii") if isinstance(msg_type, str) else msg_type
        return cls([(35, kind), *((tag, fix_value(value)) for tag, value in fields)])

    @property
    def fields(self) -> tuple[Field, ...]:
        """The fields in wire order."""
        fields = self._fields
        if fields is None:
            if self._tags is not None:
                # One pair per value by construction; zip(strict=True) costs more than the pairs.
                fields = tuple(zip(self._tags, self._values))  # noqa: B905
            else:
                assert self._kind is not None
                assert self._body is not None
                parts = self._body.split(b"\x01")[:-1]
                fields = ((35, self._kind), *[(int(tag), value) for tag, _, value in map(_split_field, parts)])
            self._fields = fields
        return fields

    @property
    def tags(self) -> tuple[int, ...]:
        """The tags of the fields, in wire order (for a parsed message, the same object for every message of its
        layout)."""
        tags = self._tags
        if tags is None:
            tags = self._tags = tuple([tag for tag, _ in self.fields])
        return tags

    @property
    def raw_values(self) -> tuple[bytes, ...]:
        """The raw values of the fields, in wire order (one per tag of :attr:`tags`)."""
        if self._positions is None:
            fields = self.fields
            if len(self._values) != len(fields):
                self._values = tuple([value for _, value in fields])
        return self._values

    def _lookup(self) -> dict[int, bytes]:
        index = self._index
        if index is None:
            # Built back to front, so that a tag repeated in a group keeps its first value.
            index = self._index = dict(reversed(self.fields))
        return index

    def __contains__(self, tag: object) -> bool:
        positions = self._positions
        return tag in (self._lookup() if positions is None else positions)

    def __iter__(self) -> Iterator[Field]:
        return iter(self.fields)

    def __len__(self) -> int:
        return len(self._values) if self._positions is not None else len(self.fields)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, FixMessage) and self.fields == other.fields

    def __hash__(self) -> int:
        return hash(self.fields)

    def __repr__(self) -> str:
        text = "|".join(f"{tag}={value.decode('latin-1')}" for tag, value in self.fields)
        return f"FixMessage({text})"

    @property
    def msg_type(self) -> str:
        """MsgType (35), or an empty string when absent."""
        value = self._kind
        if value is None:
            fields = self._fields
            value = fields[0][1] if fields and fields[0][0] == 35 else self.get(35)
            if value is None:
                return ""
        return value.decode("ascii", "replace")

    def get(self, tag: int) -> bytes | None:
        """Raw value of the first ``tag`` field, or None."""
        positions = self._positions
        if positions is None:
            return self._lookup().get(tag)
        position = positions.get(tag)
        return None if position is None else self._values[position]

    def raw(self, tag: int) -> bytes:
        """Raw value of the first ``tag`` field; raises :class:`FieldMissing`."""
        value = self.get(tag)
        if value is None:
            raise FieldMissing(tag)
        return value

    def values(self, tag: int) -> list[bytes]:
        """Raw values of every ``tag`` field, in order (e.g. a field of each repeating group entry)."""
        return [value for field_tag, value in self.fields if field_tag == tag]

    def body_bytes(self) -> bytes:
        """Wire bytes (``tag=value<SOH>`` each) of the fields but :data:`SESSION_TAGS`, in order: what a session
        writes after the header it stamps (computed once)."""
        body = self._body
        if body is None:
            body = self._body = encode_fields([field for field in self.fields if field[0] not in SESSION_TAGS])
        return body

    def get_str(self, tag: int) -> str:
        """Value of ``tag`` as text (Latin-1, so any byte decodes)."""
        return self.raw(tag).decode("latin-1")

    def get_int(self, tag: int) -> int:
        """Value of ``tag`` as an integer; raises ValueError when it is not one."""
        return int(self.raw(tag))

    def get_bool(self, tag: int) -> bool:
        """Value of a BOOLEAN field: ``Y`` is True, ``N`` False, anything else raises ValueError."""
        value = self.raw(tag)
        if value == b"Y":
            return True
        if value == b"N":
            return False
        raise ValueError(f"tag {tag}: {value!r} is not a FIX boolean")

    def get_decimal(self, tag: int) -> Decimal:
        """Value of a FLOAT-family field (PRICE, QTY, AMT...) as an exact Decimal."""
        return Decimal(self.raw(tag).decode("ascii"))

    def get_ticks(self, tag: int, price_scale: int) -> int:
        """Value of a price field as integer ticks of ``10**-price_scale``; raises if finer than the scale."""
        return parse_ticks(self.raw(tag), price_scale)

    def get_time(self, tag: int) -> Nanos:
        """Value of a UTCTIMESTAMP field as integer nanoseconds since the epoch."""
        return parse_utc_timestamp(self.raw(tag))


_split_field = methodcaller("partition", b"=")


def positions_of(tags: Sequence[int]) -> dict[int, int]:
    """Tag -> index of its first occurrence in ``tags`` (for :meth:`FixMessage.of_layout`)."""
    positions: dict[int, int] = {}
    for position, tag in enumerate(tags):
        positions.setdefault(tag, position)
    return positions


def encode_fields(fields: Iterable[Field]) -> bytes:
    """``tag=value<SOH>`` of each field, in order (no framing: see :func:`engine.fix.codec.encode`)."""
    prefixes = TAG_PREFIXES
    try:
        return b"".join([prefixes[tag] + value + b"\x01" for tag, value in fields])
    except IndexError:
        return b"".join([b"%d=" % tag + value + b"\x01" for tag, value in fields])


def fix_value(value: FieldValue) -> bytes:
    """Wire bytes of a typed value: bytes unchanged, str as ASCII, bool as Y/N, int and Decimal in plain digits."""
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode("ascii")
    if isinstance(value, bool):
        return b"Y" if value else b"N"
    if isinstance(value, int):
        return b"%d" % value
    return format(value, "f").encode("ascii")


def format_ticks(ticks: int, price_scale: int) -> bytes:
    """A FIX decimal of ``ticks`` units of ``10**-price_scale`` (``format_ticks(1234500, 4) == b"123.45"``)."""
    key = (ticks, price_scale)
    text = _tick_texts.get(key)
    if text is None:
        if price_scale == 0:
            text = b"%d" % ticks
        else:
            sign = b"-" if ticks < 0 else b""
            whole, frac = divmod(abs(ticks), 10**price_scale)
            digits = (b"%0*d" % (price_scale, frac)).rstrip(b"0")
            text = sign + (b"%d.%s" % (whole, digits) if digits else b"%d" % whole)
        _remember(_tick_texts, key, text)
    return text


def parse_ticks(value: bytes, price_scale: int) -> int:
    """Integer ticks of a FIX decimal on a scale of ``price_scale`` decimals; raises ValueError if it is finer."""
    text = value.strip()
    negative = text.startswith(b"-")
    if negative:
        text = text[1:]
    whole, _, frac = text.partition(b".")
    if not (whole or frac) or not (whole.isdigit() or not whole) or not (frac.isdigit() or not frac):
        raise ValueError(f"{value!r} is not a FIX decimal")
    frac = frac.rstrip(b"0")
    if len(frac) > price_scale:
        raise ValueError(f"{value!r} is finer than {price_scale} decimals")
    ticks: int = int(whole or b"0") * 10**price_scale + (int(frac.ljust(price_scale, b"0")) if frac else 0)
    return -ticks if negative else ticks


_SECOND_CACHE_SIZE = 4_096
"""Whole seconds remembered each way: the timestamps of a session cluster around the current second."""
_second_texts: dict[int, bytes] = {}
_text_seconds: dict[bytes, int] = {}
_tick_texts: dict[tuple[int, int], bytes] = {}
"""Prices written lately (ticks and scale): the prices of a session cluster around the market's."""
_FRACTIONS: tuple[tuple[bytes, int], ...] = tuple((b".%%0%dd" % digits, 10 ** (9 - digits)) for digits in range(10))
"""The format and the divisor of the nanoseconds of each number of fraction digits."""


def format_utc_timestamp(nanos: Nanos, digits: int = 3) -> bytes:
    """UTCTIMESTAMP text ``YYYYMMDD-HH:MM:SS[.fff...]`` of epoch nanoseconds with 0, 3, 6 or 9 fraction digits."""
    seconds, fraction = divmod(nanos, NANOS_PER_SECOND)
    text = _second_texts.get(seconds)
    if text is None:
        days, second_of_day = divmod(seconds, 86_400)
        date = datetime.fromordinal(_EPOCH_DAY + days)
        hours, rest = divmod(second_of_day, 3600)
        text = b"%04d%02d%02d-%02d:%02d:%02d" % (date.year, date.month, date.day, hours, rest // 60, rest % 60)
        _remember(_second_texts, seconds, text)
    if digits:
        if 0 < digits <= 9:
            pattern, unit = _FRACTIONS[digits]
            return text + pattern % (fraction // unit)
        text += b".%0*d" % (digits, fraction // 10 ** (9 - digits))
    return text


def parse_utc_timestamp(value: bytes) -> Nanos:
    """Epoch nanoseconds of a UTCTIMESTAMP (``YYYYMMDD-HH:MM:SS`` with up to 9 fraction digits)."""
    whole = value[:17]
    seconds = _text_seconds.get(whole)
    if seconds is None:
        if len(value) < 17 or value[8:9] != b"-" or value[11:12] != b":" or value[14:15] != b":":
            raise ValueError(f"{value!r} is not a UTCTIMESTAMP")
        day = datetime(int(value[0:4]), int(value[4:6]), int(value[6:8]), tzinfo=UTC).toordinal() - _EPOCH_DAY
        seconds = day * 86_400 + int(value[9:11]) * 3600 + int(value[12:14]) * 60 + int(value[15:17])
        _remember(_text_seconds, whole, seconds)
    fraction = value[17:]
    nanos = 0
    if fraction:
        digits = fraction[1:]
        if fraction[:1] != b"." or not digits.isdigit() or len(digits) > 9:
            raise ValueError(f"{value!r} is not a UTCTIMESTAMP")
        nanos = int(digits.ljust(9, b"0"))
    return seconds * NANOS_PER_SECOND + nanos


def _remember(cache: dict[_K, _V], key: _K, value: _V) -> None:
    if len(cache) >= _SECOND_CACHE_SIZE:
        cache.clear()
    cache[key] = value
