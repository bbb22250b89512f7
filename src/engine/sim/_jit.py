"""Typed fronts for numba's ``njit``, so that mypy keeps the signatures of compiled functions."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, cast

import numba

F = TypeVar("F", bound=Callable[..., Any])

_compile = numba.njit(cache=True, nogil=True)
_compile_inline = numba.njit(cache=True, nogil=True, inline="always")


def jit(fn: F) -> F:
    """Compile ``fn`` with ``numba.njit(cache=True, nogil=True)``; with ``NUMBA_DISABLE_JIT=1`` it stays Python."""
    return cast(F, _compile(fn))


def jit_inline(fn: F) -> F:
    """Like :func:`jit`, and inlined into compiled callers.

    Compiled functions that take arrays count references to them on entry and exit (atomic operations); for the
    small, hot helpers of the matching kernel that costs more than their work, so they are inlined instead.
    """
    return cast(F, _compile_inline(fn))
