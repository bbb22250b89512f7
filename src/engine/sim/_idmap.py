"""Order id -> slot map for arbitrary ``int64`` ids: open addressing with linear probing in one array.

Deletion shifts later entries of the probe run back (no tombstones), so lookups stay short however many orders
come and go. The hash uses only products that fit in 63 bits, so it gives the same buckets compiled or not.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from engine.sim._jit import ensure_fresh_cache, jit
from engine.sim._layout import M_KEY, M_SLOT, S_MAP_COUNT

I64Array = npt.NDArray[np.int64]

ensure_fresh_cache(__file__)

MASK32 = 0xFFFFFFFF


@jit
def bucket(key: int, mask: int) -> int:
    """Home bucket of ``key`` in a table of ``mask + 1`` buckets."""
    lo = key & MASK32
    hi = (key >> 32) & MASK32
    h = lo ^ ((hi * 0x5BD1E995) & MASK32)
    h = ((h ^ (h >> 16)) * 0x45D9F3B) & MASK32
    h = ((h ^ (h >> 16)) * 0x45D9F3B) & MASK32
    return (h ^ (h >> 16)) & mask


@jit
def map_find(idmap: I64Array, key: int) -> int:
    """Slot of ``key``, or -1."""
    mask = idmap.shape[0] - 1
    i = bucket(key, mask)
    while True:
        slot = idmap[i, M_SLOT]
        if slot < 0:
            return -1
        if idmap[i, M_KEY] == key:
            return int(slot)
        i = (i + 1) & mask


@jit
def map_has_room(idmap: I64Array, st: I64Array) -> bool:
    """True while one more key keeps the load factor at or under one half."""
    return bool((st[S_MAP_COUNT] + 1) * 2 <= idmap.shape[0])


@jit
def map_insert(idmap: I64Array, st: I64Array, key: int, slot: int) -> None:
    """Insert ``key -> slot``; the key must be absent and the table must have room."""
    mask = idmap.shape[0] - 1
    i = bucket(key, mask)
    while idmap[i, M_SLOT] >= 0:
        i = (i + 1) & mask
    idmap[i, M_KEY] = key
    idmap[i, M_SLOT] = slot
    st[S_MAP_COUNT] += 1


@jit
def map_remove(idmap: I64Array, st: I64Array, key: int) -> None:
    """Remove ``key`` (which must be present), shifting back the entries probed past it."""
    mask = idmap.shape[0] - 1
    i = bucket(key, mask)
    while idmap[i, M_KEY] != key or idmap[i, M_SLOT] < 0:
        i = (i + 1) & mask
    j = i
    while True:
        j = (j + 1) & mask
        if idmap[j, M_SLOT] < 0:
            break
        home = bucket(idmap[j, M_KEY], mask)
        # The entry at j may move to the hole at i unless its home lies cyclically in (i, j].
        stays = (i < home <= j) if i <= j else (home > i or home <= j)
        if not stays:
            idmap[i, M_KEY] = idmap[j, M_KEY]
            idmap[i, M_SLOT] = idmap[j, M_SLOT]
            i = j
    idmap[i, M_SLOT] = -1
    st[S_MAP_COUNT] -= 1


@jit
def map_rehash(old: I64Array, new: I64Array) -> None:
    """Copy every entry of ``old`` into the empty table ``new`` (a power-of-two size)."""
    mask = new.shape[0] - 1
    for k in range(old.shape[0]):
        slot = old[k, M_SLOT]
        if slot >= 0:
            i = bucket(old[k, M_KEY], mask)
            while new[i, M_SLOT] >= 0:
                i = (i + 1) & mask
            new[i, M_KEY] = old[k, M_KEY]
            new[i, M_SLOT] = slot


def new_map(capacity: int) -> I64Array:
    """An empty table of ``capacity`` buckets (a power of two)."""
    table = np.zeros((capacity, 2), dtype=np.int64)
    table[:, M_SLOT] = -1
    return table
