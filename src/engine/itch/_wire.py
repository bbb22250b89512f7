"""``struct`` codecs of every message type, shared by the live decoder and the encoder."""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Final

from engine.itch.messages import LAYOUTS, Layout
from engine.wire import Alpha, Timestamp, UInt

_UINT_CODES: Final = {1: "B", 2: "H", 4: "I", 8: "Q"}


@dataclass(frozen=True, slots=True)
class Codec:
    """One message type's ``struct`` and the role of each unpacked slot.

    The struct unpacks to: type byte, stock locate, tracking number, timestamp high 16 bits, timestamp low
    32 bits, then one slot per body field in wire order. ``body_names`` name the body fields and
    ``body_alpha`` tells which of them are alpha (bytes on the wire, str in the message).
    """

    layout: Layout
    struct: struct.Struct
    body_names: tuple[str, ...]
    body_alpha: tuple[bool, ...]
    body_sizes: tuple[int, ...]

    @property
    def alpha_slots(self) -> tuple[int, ...]:
        """Positions in the body of the alpha fields."""
        return tuple(i for i, alpha in enumerate(self.body_alpha) if alpha)


def _codec(layout: Layout) -> Codec:
    codes = [">c"]
    names: list[str] = []
    alpha: list[bool] = []
    sizes: list[int] = []
    for field in layout.fields:
        kind = field.kind
        if isinstance(kind, Timestamp):
            codes.append("HI")
            continue
        if isinstance(kind, UInt):
            codes.append(_UINT_CODES[kind.size])
        elif isinstance(kind, Alpha):
            codes.append(f"{kind.size}s")
        if field.name in ("stock_locate", "tracking_number"):
            continue
        names.append(field.name)
        alpha.append(isinstance(kind, Alpha))
        sizes.append(kind.size)
    packer = struct.Struct("".join(codes))
    if packer.size != layout.length:
        raise AssertionError(f"struct of {layout.letter!r} is {packer.size} bytes, layout says {layout.length}")
    return Codec(layout, packer, tuple(names), tuple(alpha), tuple(sizes))


CODECS: Final[dict[str, Codec]] = {letter: _codec(layout) for letter, layout in LAYOUTS.items()}
"""The codec of every message type, by type letter."""

CODECS_BY_BYTE: Final[dict[int, Codec]] = {ord(letter): codec for letter, codec in CODECS.items()}
"""The same codecs keyed by the type byte's value, for decoding without a str conversion."""
