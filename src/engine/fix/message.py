"""A FIX message as parsed from or written to the wire: ordered ``(tag, value)`` fields with typed accessors.

Values are the raw bytes between ``=`` and SOH. Typed readers turn them into ``int``, ``str``, ``bool``, integer
price ticks (never floats) and integer nanoseconds; :func:`fix_value` does the reverse for the encoder.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import TypeAlias, TypeVar

from core.numbers import NANOS_PER_SECOND, Nanos

FieldValue: TypeAlias = bytes | str | int | bool | Decimal
"""What the encoder accepts for a value: bytes as they are, ``str`` as ASCII, ``int``, ``bool`` (Y/N), Decimal."""
Field: TypeAlias = tuple[int, bytes]
"""One field: its tag and the raw bytes of its value."""

_EPOCH_DAY = datetime(1970, 1, 1, tzinfo=UTC).toordinal()
_K = TypeVar("_K")
_V = TypeVar("_V")


class FieldMissing(KeyError):
    """A field that the caller required is not in the message."""


class FixMessage:
    """An immutable FIX message: the ordered fields, the header and trailer included when it came off the wire.

    Lookups by tag return the first occurrence (fields inside repeating groups repeat; read them through
    :meth:`engine.fix.dictionary.FixDictionary.groups` or :meth:`values`).
    """

    __slots__ = ("_index", "fields")

    def __init__(self, fields: Sequence[Field]) -> None:
        self.fields: tuple[Field, ...] = tuple(fields)
        """The fields in wire order."""
        self._index: dict[int, bytes] | None = None

    @classmethod
    def build(cls, msg_type: str | bytes, fields: Iterable[tuple[int, FieldValue]]) -> FixMessage:
        """A body-only message (no header framing fields) of ``msg_type`` from typed values, for the encoder."""
        kind = msg_type.encode("ascii") if isinstance(msg_type, str) else msg_type
        return cls([(35, kind), *((tag, fix_value(value)) for tag, value in fields)])

    def _lookup(self) -> dict[int, bytes]:
        index = self._index
        if index is None:
            # Built back to front, so that a tag repeated in a group keeps its first value.
            index = self._index = dict(reversed(self.fields))
        return index

    def __contains__(self, tag: object) -> bool:
        return tag in self._lookup()

    def __iter__(self) -> Iterator[Field]:
        return iter(self.fields)

    def __len__(self) -> int:
        return len(self.fields)

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
        value = self._lookup().get(35)
        return "" if value is None else value.decode("ascii", "replace")

    def get(self, tag: int) -> bytes | None:
        """Raw value of the first ``tag`` field, or None."""
        return self._lookup().get(tag)

    def raw(self, tag: int) -> bytes:
        """Raw value of the first ``tag`` field; raises :class:`FieldMissing`."""
        value = self._lookup().get(tag)
        if value is None:
            raise FieldMissing(tag)
        return value

    def values(self, tag: int) -> list[bytes]:
        """Raw values of every ``tag`` field, in order (e.g. a field of each repeating group entry)."""
        return [value for field_tag, value in self.fields if field_tag == tag]

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
    if price_scale == 0:
        return b"%d" % ticks
    sign = b"-" if ticks < 0 else b""
    whole, frac = divmod(abs(ticks), 10**price_scale)
    digits = (b"%0*d" % (price_scale, frac)).rstrip(b"0")
    return sign + (b"%d.%s" % (whole, digits) if digits else b"%d" % whole)


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
