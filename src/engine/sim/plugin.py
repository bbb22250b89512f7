"""Registers the simulated exchange as a venue, like any plugin's."""

from __future__ import annotations

from collections.abc import Sequence

from core.contracts import VenueSpec
from core.hookspecs import hookimpl
from engine.sim.exchange import SimulatedExchange


@hookimpl
def register_venues() -> Sequence[VenueSpec]:
    """The market simulator: background traders, price-time matching, latency and fees."""
    return [
        VenueSpec(
            name="sim",
            factory=SimulatedExchange,
            description="simulated exchange: price-time matching, background traders, latency, fees",
        )
    ]
