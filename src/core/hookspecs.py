"""Engine-side hook specifications of the ``workstation`` plugin project.

A plugin (a module or an instance exposed on the ``workstation`` entry-point group) implements any of these
hooks with :data:`hookimpl`. Each hook registers things by returning their specs; it is called once at start-up,
never per event. All hooks are called with keyword arguments only (none take any today) and collect every
plugin's answer (none is ``firstresult``).
"""

from __future__ import annotations

from collections.abc import Sequence

import pluggy

from core.contracts import FeedSpec, RiskCheckSpec, RouterSpec, StrategySpec, VenueSpec

PROJECT = "workstation"

DESKTOP_HOOKS = frozenset({"register_panels"})
"""Hooks of the same project specified by the desktop (``workstation.hookspecs``). One entry-point group serves
both sides, so the engine accepts plugins that implement them and leaves them to the desktop."""

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


# --- trading logic -----------------------------------------------------------------------------------------


@hookspec
def register_strategies() -> Sequence[StrategySpec]:  # type: ignore[empty-body]
    """Strategies this plugin offers (market makers, execution algorithms, ...)."""


@hookspec
def register_risk_checks() -> Sequence[RiskCheckSpec]:  # type: ignore[empty-body]
    """Pre-trade risk checks this plugin offers; every enabled check runs on every order."""


# --- connectivity -----------------------------------------------------------------------------------------


@hookspec
def register_venues() -> Sequence[VenueSpec]:  # type: ignore[empty-body]
    """Venues (where orders execute) this plugin offers.

    The engine's configuration selects one by :attr:`VenueSpec.name` (``[venue] name``) and hands the rest of that
    table to its factory as :attr:`VenueSetup.settings`; the factory raises :class:`core.contracts.SettingError`
    for a setting it cannot use, which the engine reports against the file's key (``venue.port``).
    """


@hookspec
def register_feeds() -> Sequence[FeedSpec]:  # type: ignore[empty-body]
    """Market-data feeds this plugin offers."""


@hookspec
def register_routers() -> Sequence[RouterSpec]:  # type: ignore[empty-body]
    """Order routers this plugin offers; the engine's configuration picks one."""
