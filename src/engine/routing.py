"""The built-in router: each order goes to the venue that trades its instrument."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from core.commands import SubmitOrder
from core.contracts import Router, RouterSpec, Venue
from core.hookspecs import hookimpl


class DirectRouter(Router):
    """Routes to the first venue (in configuration order) that lists the order's instrument."""

    name = "direct"

    def __init__(self, settings: Mapping[str, Any] | None = None) -> None:
        self._cache: dict[str, str] = {}

    def route(self, request: SubmitOrder, venues: Mapping[str, Venue]) -> str:
        cached = self._cache.get(request.instrument)
        if cached is not None and cached in venues:
            return cached
        for name, venue in venues.items():
            if any(instrument.symbol == request.instrument for instrument in venue.instruments()):
                self._cache[request.instrument] = name
                return name
        raise LookupError(f"no venue trades {request.instrument}")


@hookimpl
def register_routers() -> Sequence[RouterSpec]:
    """The direct router, registered like any plugin's."""
    return [RouterSpec(name="direct", factory=DirectRouter, description="the venue that lists the instrument")]
