"""Typed fronts for numba's ``njit`` (they keep the signatures for mypy) and the compile options of the kernel.

The matching kernel's helpers take the book's arrays and do a few nanoseconds of work each. Compiled with
numba's reference-counted runtime, every call would count references to each array it receives (atomic
operations costing more than the work), so functions that never allocate arrays are compiled without it
(``_nrt=False``): they only read and write arrays their caller owns. Functions that create arrays use
:func:`jit_alloc`. With ``NUMBA_DISABLE_JIT=1`` both leave the function as plain Python.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any, TypeVar, cast

import numba

F = TypeVar("F", bound=Callable[..., Any])

# ``DISABLE_JIT`` is set from the environment when numba loads; numba's typing stubs do not list it.
JIT_ENABLED: bool = not numba.config.DISABLE_JIT  # type: ignore[attr-defined]
"""False when ``NUMBA_DISABLE_JIT=1`` leaves the kernel as plain Python."""

# ``_nrt`` is numba's switch for its reference-counted runtime; it is not in numba's typing stubs.
_NO_RUNTIME: dict[str, Any] = {"_nrt": False}
_compile = numba.njit(cache=True, nogil=True, **_NO_RUNTIME)
_compile_inline = numba.njit(cache=True, nogil=True, inline="always", **_NO_RUNTIME)
_compile_alloc = numba.njit(cache=True, nogil=True)


def jit(fn: F) -> F:
    """Compile ``fn`` (which must not allocate arrays) without reference counting."""
    return cast(F, _compile(fn))


def jit_inline(fn: F) -> F:
    """Like :func:`jit`, and inlined (before compilation) into every compiled caller.

    For the few large functions on the matching path (the operations and the match loop): their calls would
    pass every array as a long list of fields, which costs about as much as a simple operation itself.
    """
    return cast(F, _compile_inline(fn))


def jit_alloc(fn: F) -> F:
    """Compile ``fn``, which may create arrays, with numba's reference-counted runtime."""
    return cast(F, _compile_alloc(fn))


KERNEL_SOURCES = ("_jit.py", "_layout.py", "_idmap.py", "_ladder.py", "_kernel.py", "_views.py", "rng.py", "_flow.py")
"""Files of this package whose compiled functions are called (and embedded) by other compiled code."""


@cache
def _kernel_digest() -> str:
    digest = hashlib.sha256()
    here = Path(__file__).parent
    for name in KERNEL_SOURCES:
        path = here / name
        digest.update(name.encode())
        digest.update(path.read_bytes() if path.exists() else b"-")
    return digest.hexdigest()


def ensure_fresh_cache(module_file: str) -> None:
    """Delete the cached machine code of the module at ``module_file`` if the kernel sources changed since it
    was written. Harmless when the cache is missing or not writable."""
    source = Path(module_file)
    directory = source.parent / "__pycache__"
    stamp = directory / f"{source.stem}.kernel-digest"
    digest = _kernel_digest()
    try:
        if stamp.read_text() == digest:
            return
    except OSError:
        pass
    try:
        for cached in directory.glob(f"{source.stem}.*.nb[ic]"):
            cached.unlink(missing_ok=True)
        directory.mkdir(exist_ok=True)
        stamp.write_text(digest)
    except OSError:
        return
