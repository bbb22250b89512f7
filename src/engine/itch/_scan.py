"""The compiled boundary scan of framed ITCH input (one sequential pass: each length gives the next offset)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Final, cast

import numba
import numpy as np
import numpy.typing as npt

OK: Final = 0
FULL: Final = 1
TRUNCATED_PREFIX: Final = 2
TRUNCATED_MESSAGE: Final = 3
UNKNOWN_TYPE: Final = 4
WRONG_LENGTH: Final = 5


def _scan(
    buf: npt.NDArray[np.uint8],
    pos: int,
    lengths: npt.NDArray[np.int64],
    offsets: npt.NDArray[np.int64],
    types: npt.NDArray[np.uint8],
    count: int,
) -> tuple[int, int, int]:
    """Record message offsets (after the length prefix) and type bytes from ``pos`` on.

    ``lengths[type byte]`` is the expected message length, 0 for an unknown type. Returns ``(count, pos,
    status)``: ``FULL`` when the output arrays are full (call again with bigger ones), another non-zero status
    when the frame at ``pos`` is bad.
    """
    end = buf.size
    capacity = offsets.size
    while pos < end:
        if count == capacity:
            return count, pos, FULL
        if end - pos < 2:
            return count, pos, TRUNCATED_PREFIX
        length = (int(buf[pos]) << 8) | int(buf[pos + 1])
        start = pos + 2
        if length == 0 or end - start < length:
            return count, pos, TRUNCATED_MESSAGE
        kind = buf[start]
        expected = lengths[kind]
        if expected == 0:
            return count, pos, UNKNOWN_TYPE
        if expected != length:
            return count, pos, WRONG_LENGTH
        offsets[count] = start
        types[count] = kind
        count += 1
        pos = start + length
    return count, pos, OK


scan: Final = cast(Callable[..., tuple[int, int, int]], numba.njit(cache=True, nogil=True)(_scan))
"""Compiled :func:`_scan` (plain Python when ``NUMBA_DISABLE_JIT=1``)."""
