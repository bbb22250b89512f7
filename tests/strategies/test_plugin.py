"""The built-in strategies register through the plugin hook like any plugin, with their declared parameters."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pluggy
import pytest

from core import hookspecs
from core.contracts import Strategy, StrategySpec
from core.instruments import Instrument
from core.params import resolve_params
from engine.strategies import MarketMaker, PairsTrader, Twap
from engine.strategies import plugin as strategies_plugin

from .conftest import RecordingContext


@pytest.fixture
def specs() -> Iterator[dict[str, StrategySpec]]:
    manager = pluggy.PluginManager(hookspecs.PROJECT)
    manager.add_hookspecs(hookspecs)
    manager.register(strategies_plugin, name="strategies")
    manager.check_pending()
    registered = [spec for answer in manager.hook.register_strategies() for spec in answer]
    yield {spec.name: spec for spec in registered}
    manager.unregister(name="strategies")


def declared(spec: StrategySpec) -> dict[str, tuple[type, object, object, object]]:
    return {p.name: (p.type, p.default, p.minimum, p.maximum) for p in spec.params}


def test_the_three_strategies_are_registered(specs: dict[str, StrategySpec]) -> None:
    assert set(specs) == {"market-maker", "pairs", "twap"}
    assert all(spec.description for spec in specs.values())
    assert all(param.description for spec in specs.values() for param in spec.params)


def test_instrument_counts(specs: dict[str, StrategySpec]) -> None:
    counts = {name: (spec.min_instruments, spec.max_instruments) for name, spec in specs.items()}
    assert counts == {"market-maker": (1, None), "pairs": (2, 2), "twap": (1, 1)}


def test_market_maker_parameters(specs: dict[str, StrategySpec]) -> None:
    params = declared(specs["market-maker"])
    assert params["half_spread_ticks"] == (int, 1, 0, 100)
    assert params["quote_size"] == (int, 100, 1, 1_000_000)
    assert params["max_inventory"][:2] == (int, 1000)
    assert params["skew_ticks"][:2] == (int, 2)
    assert params["requote_ticks"][:2] == (int, 1)


def test_pairs_parameters(specs: dict[str, StrategySpec]) -> None:
    params = declared(specs["pairs"])
    assert {"window", "sample_interval_ms", "entry_z", "exit_z", "stop_z", "notional", "slippage_ticks"} <= set(params)
    hedge = next(p for p in specs["pairs"].params if p.name == "hedge")
    assert hedge.choices == ("fixed", "ols")


def test_twap_parameters(specs: dict[str, StrategySpec]) -> None:
    params = declared(specs["twap"])
    assert set(params) == {"side", "quantity", "duration_s", "slices", "aggression_ticks"}
    side = next(p for p in specs["twap"].params if p.name == "side")
    assert side.choices == ("buy", "sell")


def test_parameters_parse_from_the_command_line(specs: dict[str, StrategySpec]) -> None:
    resolved = resolve_params(specs["twap"].params, {"side": "sell", "quantity": "500", "duration_s": "2.5"}, owner="t")
    assert (resolved["side"], resolved["quantity"], resolved["duration_s"]) == ("sell", 500, 2.5)
    resolved = resolve_params(specs["pairs"].params, {"entry_z": Decimal("2.5")}, owner="p")
    assert resolved["entry_z"] == 2.5


@pytest.mark.parametrize(
    ("name", "symbols", "kind"),
    [("market-maker", ("AAA", "BBB"), MarketMaker), ("pairs", ("AAA", "BBB"), PairsTrader), ("twap", ("AAA",), Twap)],
)
def test_factories_build_strategies_from_resolved_defaults(
    specs: dict[str, StrategySpec], name: str, symbols: tuple[str, ...], kind: type[Strategy]
) -> None:
    spec = specs[name]
    ctx = RecordingContext(tuple(Instrument(symbol=symbol) for symbol in symbols))
    strategy = spec.factory(ctx, resolve_params(spec.params, {}, owner=name))
    assert isinstance(strategy, kind)
    assert strategy.ctx is ctx


def test_only_the_callbacks_in_use_are_overridden() -> None:
    """The engine subscribes what a strategy overrides; none of these needs the market's trades."""

    def overridden(kind: type[Strategy]) -> set[str]:
        names = ("on_start", "on_stop", "on_book", "on_trade", "on_execution", "on_timer")
        return {name for name in names if getattr(kind, name) is not getattr(Strategy, name)}

    assert overridden(MarketMaker) == {"on_start", "on_book", "on_execution"}
    assert overridden(PairsTrader) == {"on_start", "on_timer", "on_execution"}
    assert overridden(Twap) == {"on_start", "on_timer", "on_execution"}
