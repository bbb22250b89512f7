"""Builds a ready engine from a configuration and the plugins found: venues, router, risk, journal."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

from core.clock import Scheduler
from core.contracts import SettingError, VenueSetup
from core.portfolio import Portfolio
from core.settings import describe_value
from core.trading_day import TradingCalendar
from engine.config import SIM_VENUE, ConfigError, EngineConfig, venue_error
from engine.engine import Engine, ExecutionJournal
from engine.order_manager import OrderManager
from engine.plugins import PluginRegistry
from engine.risk.engine import RiskEngine


class AssemblyError(ValueError):
    """The configuration asks for something the plugins found cannot provide."""


def simulator_settings(config: EngineConfig, symbols: Sequence[str]) -> dict[str, Any]:
    """The simulated exchange's settings: the simulator table (with its ``itch`` feed, if any) plus each
    instrument's start price and flow."""
    settings: dict[str, Any] = asdict(config.simulator)
    settings["instruments"] = {
        entry.instrument.symbol: {"start_price": entry.start_price, **dict(entry.sim)}
        for entry in config.instruments
        if entry.instrument.symbol in symbols
    }
    return settings


def venue_settings(config: EngineConfig, venue: str, symbols: Sequence[str]) -> dict[str, Any]:
    """The settings the venue ``venue`` is built with: the simulator's for the simulated exchange, otherwise the
    ``[venue]`` table when it names this venue (and none when it names another)."""
    if venue == SIM_VENUE:
        return simulator_settings(config, symbols)
    return dict(config.venue.settings) if config.venue.name == venue else {}


def build_engine(
    config: EngineConfig,
    registry: PluginRegistry,
    scheduler: Scheduler,
    *,
    symbols: Sequence[str] | None = None,
    venue: str | None = None,
    router: str = "direct",
    journal: ExecutionJournal | None = None,
    seed: int | None = None,
    orders: OrderManager | None = None,
    portfolio: Portfolio | None = None,
    calendar: TradingCalendar | None = None,
) -> Engine:
    """An engine over ``config`` trading ``symbols`` (all configured instruments by default) on ``venue`` (by
    default the configuration's ``[venue]``, the simulated exchange when there is none).

    Everything is checked before anything starts: unknown instruments, venues, routers, risk checks or
    parameters raise :class:`AssemblyError` (or the risk engine's configuration error) with the reason; a
    setting the venue refuses raises :class:`ConfigError` naming its key in the file (``venue.port``).
    ``orders`` and ``portfolio`` carry state recovered from the journal into the new engine. With ``calendar``
    the engine rolls its trading day (a live engine: ``config.trading_day``); without, its run is one day.
    """
    known = {entry.instrument.symbol: entry.instrument for entry in config.instruments}
    chosen = list(symbols) if symbols else list(known)
    unknown = [symbol for symbol in chosen if symbol not in known]
    if unknown:
        raise AssemblyError(f"unknown instrument(s) {', '.join(unknown)}; configured: {', '.join(known)}")
    instruments = {symbol: known[symbol] for symbol in chosen}
    venue_name = config.venue.name if venue is None else venue
    venue_spec = registry.venues.get(venue_name)
    if venue_spec is None:
        available = ", ".join(registry.venues) or "none"
        if venue is None:
            raise ConfigError(
                config.source,
                "venue.name",
                f"expected a venue plugin ({available}), found {describe_value(venue_name)}",
            )
        raise AssemblyError(f"no venue named {venue_name!r}; available: {available}")
    router_spec = registry.routers.get(router)
    if router_spec is None:
        raise AssemblyError(f"no router named {router!r}; available: {', '.join(registry.routers) or 'none'}")
    setup = VenueSetup(
        instruments=instruments,
        settings=venue_settings(config, venue_name, chosen),
        seed=config.simulator.seed if seed is None else seed,
    )
    risk = RiskEngine(registry.risk_checks, {account.name: account.risk for account in config.accounts})
    try:
        built = venue_spec.factory(setup)
    except SettingError as error:
        raise venue_error(config, venue_name, error) from None
    except ValueError as error:
        raise AssemblyError(f"venue {venue_name}: {error}") from None
    return Engine(
        instruments=instruments,
        scheduler=scheduler,
        risk=risk,
        router=router_spec.factory({}),
        venues={venue_name: built},
        journal=journal,
        orders=orders,
        portfolio=portfolio,
        calendar=calendar,
    )
