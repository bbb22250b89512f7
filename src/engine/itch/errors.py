"""Errors of the ITCH path."""

from __future__ import annotations

from engine.wire import WireDecodeError


class ItchDecodeError(WireDecodeError):
    """Input that is not valid ITCH 5.0 (or not valid framing): truncated, unknown type, wrong length.

    ``offset`` is the byte offset in the input where the bad message (or its length prefix) starts, and
    ``message_type`` the type letter when it could be read (None otherwise).
    """


class ItchEncodeError(ValueError):
    """A field value that does not fit its wire field (negative, too large, too long, not ASCII)."""
