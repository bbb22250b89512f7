"""Registers the ITCH replay feed, like any plugin's."""

from __future__ import annotations

from collections.abc import Sequence

from core.contracts import FeedSpec
from core.hookspecs import hookimpl
from engine.itch.feed import FEED_SPEC


@hookimpl
def register_feeds() -> Sequence[FeedSpec]:
    """The ``itch-replay`` feed: an ITCH 5.0 file or MoldUDP64 capture replayed to the engine."""
    return [FEED_SPEC]
