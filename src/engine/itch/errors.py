"""Errors of the ITCH path."""

from __future__ import annotations


class ItchDecodeError(ValueError):
    """Input that is not valid ITCH 5.0 (or not valid framing): truncated, unknown type, wrong length.

    ``offset`` is the byte offset in the input where the bad message (or its length prefix) starts, and
    ``message_type`` the type letter when it could be read (None otherwise).
    """

    def __init__(self, reason: str, *, offset: int, message_type: str | None = None) -> None:
        where = f"at byte offset {offset}"
        if message_type is not None:
            where += f" (message type {message_type!r})"
        super().__init__(f"{reason} {where}")
        self.offset = offset
        self.message_type = message_type
        self.reason = reason


class ItchEncodeError(ValueError):
    """A field value that does not fit its wire field (negative, too large, too long, not ASCII)."""
