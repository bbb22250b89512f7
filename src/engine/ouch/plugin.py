"""Registers the OUCH 4.2 venue, like any plugin's."""

from __future__ import annotations

from collections.abc import Sequence

from core.contracts import VenueSpec
from core.hookspecs import hookimpl
from engine.ouch.venue import OuchVenue


@hookimpl
def register_venues() -> Sequence[VenueSpec]:
    """The OUCH venue: orders to an OUCH 4.2 server over SoupBinTCP."""
    return [
        VenueSpec(
            name="ouch",
            factory=OuchVenue,
            description="OUCH 4.2 over SoupBinTCP to an exchange's OUCH port "
            "(settings: host, port, username, password_env)",
        )
    ]
