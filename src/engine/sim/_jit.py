"""Typed fronts for numba's ``njit`` (they keep the signatures for mypy) and the compile options of the kernel.

The matching kernel's helpers take the book's arrays and do a few nanoseconds of work each. Compiled with
numba's reference-counted runtime, every call would count references to each array it receives (atomic
operations costing more than the work), so functions that never allocate arrays are compiled without it
(``_nrt=False``): they only read and write arrays their caller owns. Functions that create arrays use
:func:`jit_alloc`. With ``NUMBA_DISABLE_JIT=1`` both leave the function as plain Python.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, cast

import numba

F = TypeVar("F", bound=Callable[..., Any])

_compile = numba.njit(cache=True, nogil=True, _nrt=False)
_compile_alloc = numba.njit(cache=True, nogil=True)


def jit(fn: F) -> F:
    """Compile ``fn`` (which must not allocate arrays) without reference counting."""
    return cast(F, _compile(fn))


def jit_alloc(fn: F) -> F:
    """Compile ``fn``, which may create arrays, with numba's reference-counted runtime."""
    return cast(F, _compile_alloc(fn))
