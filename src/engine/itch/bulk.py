"""Bulk decoding of framed ITCH 5.0 input with numpy.

:class:`FramedFile` finds every message boundary with one compiled sequential pass (each length prefix gives the
next offset, so this step cannot be a numpy expression) and keeps, per message, its offset and type byte. All the
rest is vectorised: the stock locates of all messages are gathered at once, and the messages of one type are
gathered as rows of a sliding-window view of the buffer (copying only their own bytes) and viewed as the type's
wire dtype.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt

from engine.itch import _scan
from engine.itch.decode import decode_message
from engine.itch.errors import ItchDecodeError
from engine.itch.messages import LAYOUTS, MESSAGE_LENGTHS, Message, wire_dtype
from engine.wire import Alpha, Timestamp, UInt

Column = npt.NDArray[np.int64] | npt.NDArray[np.uint64] | npt.NDArray[np.bytes_]

_LENGTHS = np.zeros(256, dtype=np.int64)
for _letter, _length in MESSAGE_LENGTHS.items():
    _LENGTHS[ord(_letter)] = _length

_REASONS = {
    _scan.TRUNCATED_PREFIX: "truncated length prefix",
    _scan.TRUNCATED_MESSAGE: "truncated message",
    _scan.UNKNOWN_TYPE: "unknown message type",
    _scan.WRONG_LENGTH: "message length differs from its type's",
}


def _type_at(buf: npt.NDArray[np.uint8], pos: int) -> str | None:
    if pos + 2 >= buf.size or (int(buf[pos]) << 8 | int(buf[pos + 1])) == 0:
        return None
    byte = int(buf[pos + 2])
    return chr(byte) if 32 <= byte < 127 else f"\\x{byte:02x}"


def _reason(buf: npt.NDArray[np.uint8], pos: int, status: int) -> str:
    reason = _REASONS[status]
    if status in (_scan.TRUNCATED_MESSAGE, _scan.WRONG_LENGTH):
        length = int(buf[pos]) << 8 | int(buf[pos + 1])
        have = min(length, buf.size - pos - 2)
        if status == _scan.TRUNCATED_MESSAGE and length:
            reason += f": {have} of {length} bytes"
        elif status == _scan.TRUNCATED_MESSAGE:
            reason = "empty message (length 0)"
        else:
            reason += f": {length} bytes, type needs {int(_LENGTHS[buf[pos + 2]])}"
    return reason


def scan_boundaries(buf: npt.NDArray[np.uint8]) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.uint8]]:
    """Offsets (of each message's type byte) and type bytes of every message of framed input.

    Raises :class:`ItchDecodeError` naming the frame's byte offset and type on the first bad frame.
    """
    capacity = max(16, buf.size // 24)
    offsets = np.empty(capacity, dtype=np.int64)
    types = np.empty(capacity, dtype=np.uint8)
    count, pos = 0, 0
    while True:
        count, pos, status = _scan.scan(buf, pos, _LENGTHS, offsets, types, count)
        if status == _scan.OK:
            return offsets[:count].copy(), types[:count].copy()
        if status != _scan.FULL:
            raise ItchDecodeError(_reason(buf, pos, status), offset=pos, message_type=_type_at(buf, pos))
        capacity *= 2
        offsets = np.resize(offsets, capacity)
        types = np.resize(types, capacity)


class FramedFile:
    """A whole ITCH input in the historical framing (``[length: uint16 BE][message]`` repeated), indexed.

    ``offsets[i]`` is where message ``i`` starts (its type byte) in :attr:`buffer`, ``types[i]`` its type byte.
    Construction validates the framing, every type and every length.
    """

    __slots__ = ("buffer", "offsets", "types")

    def __init__(self, data: bytes | bytearray | memoryview | npt.NDArray[np.uint8]) -> None:
        self.buffer: npt.NDArray[np.uint8] = np.frombuffer(data, dtype=np.uint8)
        self.offsets, self.types = scan_boundaries(self.buffer)

    @classmethod
    def from_path(cls, path: str | Path) -> FramedFile:
        """Index a file, memory-mapped read-only (pages are read as the scan and the gathers touch them)."""
        if Path(path).stat().st_size == 0:
            return cls(b"")
        return cls(np.memmap(path, dtype=np.uint8, mode="r"))

    def __len__(self) -> int:
        """Number of messages."""
        return int(self.offsets.size)

    @property
    def nbytes(self) -> int:
        """Size of the input in bytes."""
        return int(self.buffer.size)

    def type_counts(self) -> dict[str, int]:
        """Number of messages of each type present, by type letter."""
        counts = np.bincount(self.types, minlength=256)
        return {chr(byte): int(counts[byte]) for byte in np.flatnonzero(counts)}

    def locates(self) -> npt.NDArray[np.int64]:
        """The stock locate of every message (bytes 1-2 of each message), in file order."""
        buf, offsets = self.buffer, self.offsets
        return (buf[offsets + 1].astype(np.int64) << 8) | buf[offsets + 2]

    def timestamps(self) -> npt.NDArray[np.int64]:
        """The timestamp (ns since midnight) of every message, in file order."""
        buf, offsets = self.buffer, self.offsets
        stamp = np.zeros(offsets.size, dtype=np.int64)
        for byte in range(5, 11):
            stamp = (stamp << 8) | buf[offsets + byte]
        return stamp

    def indices(self, message_type: str) -> npt.NDArray[np.intp]:
        """Positions in the file (message indices) of the messages of one type."""
        return np.flatnonzero(self.types == ord(message_type))

    def _select(self, message_type: str, indices: npt.NDArray[np.integer] | None) -> npt.NDArray[np.intp]:
        if indices is None:
            return self.indices(message_type)
        chosen = np.asarray(indices, dtype=np.intp)
        if chosen.size and (self.types[chosen] != ord(message_type)).any():
            raise ValueError(f"some of the indices are not {message_type!r} messages")
        return chosen

    def records(self, message_type: str, indices: npt.NDArray[np.integer] | None = None) -> npt.NDArray[np.void]:
        """Messages of one type as a (copied) array of its wire dtype: all of them in file order, or those at
        ``indices`` (message positions, all of that type)."""
        return self._gather(message_type, self._select(message_type, indices))

    def _gather(self, message_type: str, chosen: npt.NDArray[np.intp]) -> npt.NDArray[np.void]:
        length = LAYOUTS[message_type].length
        starts = self.offsets[chosen]
        if starts.size == 0:
            return np.zeros(0, dtype=wire_dtype(message_type))
        windows = np.lib.stride_tricks.sliding_window_view(self.buffer, length)
        return windows[starts].view(wire_dtype(message_type)).reshape(starts.size)

    def columns(self, message_type: str, indices: npt.NDArray[np.integer] | None = None) -> dict[str, Column]:
        """Messages of one type (all, or those at ``indices``) as native columns: ``index`` (position in the
        file) and every field by name.

        Integers of up to 4 bytes and the timestamp are ``int64``, 8-byte integers ``uint64``, alpha fields
        ``bytes`` arrays with their space padding stripped.
        """
        chosen = self._select(message_type, indices)
        recs = self._gather(message_type, chosen)
        out: dict[str, Column] = {"index": chosen.astype(np.int64)}
        for field in LAYOUTS[message_type].fields:
            kind, name = field.kind, field.name
            if isinstance(kind, Timestamp):
                out[name] = (recs[f"{name}_hi"].astype(np.int64) << 32) | recs[f"{name}_lo"].astype(np.int64)
            elif isinstance(kind, UInt) and kind.size == 8:
                out[name] = recs[name].astype(np.uint64)
            elif isinstance(kind, UInt):
                out[name] = recs[name].astype(np.int64)
            elif isinstance(kind, Alpha):
                out[name] = np.char.rstrip(recs[name], b" ")
        return out

    def message(self, index: int) -> Message:
        """Message ``index`` decoded into its dataclass."""
        offset = int(self.offsets[index])
        return decode_message(self.buffer.data, offset, int(_LENGTHS[self.types[index]]))

    def directory(self) -> dict[int, str]:
        """Stock locate to symbol, from the Stock Directory ('R') messages (the first one of a locate wins)."""
        cols = self.columns("R")
        names: dict[int, str] = {}
        for locate, stock in zip(cols["stock_locate"].tolist(), cols["stock"].tolist(), strict=True):
            names.setdefault(int(locate), stock.decode("ascii", "replace"))
        return names
