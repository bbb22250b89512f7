"""A small deterministic random generator for compiled code: xoshiro256** on four ``uint64`` words in an array.

Each simulated instrument owns one state array, so its stream depends only on its seed. Seeds are expanded with
splitmix64; :func:`derive_seed` gives independent, stable seeds per name (for example per instrument) from one
session seed.
"""

from __future__ import annotations

import hashlib
import math

import numpy as np
import numpy.typing as npt

from engine.sim._jit import ensure_fresh_cache, jit

U64Array = npt.NDArray[np.uint64]

ensure_fresh_cache(__file__)

_MASK64 = (1 << 64) - 1
_TWO_POW_53 = float(1 << 53)


def _splitmix64(x: int) -> tuple[int, int]:
    x = (x + 0x9E3779B97F4A7C15) & _MASK64
    z = x
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK64
    return x, z ^ (z >> 31)


def new_state(seed: int) -> U64Array:
    """A generator state for ``seed`` (any integer)."""
    x = seed & _MASK64
    words = []
    for _ in range(4):
        x, word = _splitmix64(x)
        words.append(word)
    if not any(words):
        words[0] = 1
    return np.array(words, dtype=np.uint64)


def derive_seed(seed: int, name: str) -> int:
    """A stable 63-bit seed for the stream called ``name`` within a session seeded with ``seed``."""
    digest = hashlib.sha256(f"{seed}/{name}".encode()).digest()
    return int.from_bytes(digest[:8], "little") >> 1


@jit
def _rotl(x: np.uint64, k: int) -> np.uint64:
    return (x << np.uint64(k)) | (x >> np.uint64(64 - k))


@jit
def next_u64(state: U64Array) -> np.uint64:
    """The next 64 random bits."""
    s0, s1, s2, s3 = state[0], state[1], state[2], state[3]
    result = _rotl(s1 * np.uint64(5), 7) * np.uint64(9)
    t = s1 << np.uint64(17)
    s2 ^= s0
    s3 ^= s1
    s1 ^= s2
    s0 ^= s3
    s2 ^= t
    s3 = _rotl(s3, 45)
    state[0], state[1], state[2], state[3] = s0, s1, s2, s3
    return result


@jit
def uniform(state: U64Array) -> float:
    """A float in [0, 1) with 53 random bits."""
    return float(next_u64(state) >> np.uint64(11)) / _TWO_POW_53


@jit
def below(state: U64Array, n: int) -> int:
    """An integer in [0, n) for n >= 1."""
    return min(int(uniform(state) * n), n - 1)


@jit
def exponential(state: U64Array, rate: float) -> float:
    """A waiting time of a Poisson process of ``rate`` events per unit time."""
    return -math.log(1.0 - uniform(state)) / rate


@jit
def geometric(state: U64Array, p: float) -> int:
    """Failures before the first success of a Bernoulli(p) sequence (0, 1, 2, ...), for 0 < p <= 1."""
    if p >= 1.0:
        return 0
    return int(math.log(1.0 - uniform(state)) / math.log(1.0 - p))
