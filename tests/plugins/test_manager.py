"""Registration through the plugin manager with plugins defined inline, and the guards around each plugin."""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping, Sequence
from types import SimpleNamespace
from typing import Any

import pytest

from core.commands import SubmitOrder
from core.contracts import (
    FeedSpec,
    RiskCheck,
    RiskCheckSpec,
    RiskView,
    Router,
    RouterSpec,
    Strategy,
    StrategySpec,
    VenueSpec,
)
from core.hookspecs import hookimpl
from core.params import ParamValue
from engine.plugins import EXTRA, PluginInfo, PluginRegistry, load_plugins


class _IdleStrategy(Strategy):
    """A strategy that does nothing: the specs, not the behaviour, are under test here."""


class _PassCheck(RiskCheck):
    def check_order(self, request: SubmitOrder, view: RiskView) -> str | None:
        return None


class _FirstVenueRouter(Router):
    def route(self, request: SubmitOrder, venues: Mapping[str, Any]) -> str:
        return next(iter(venues))


def _pass_check(params: Mapping[str, ParamValue]) -> RiskCheck:
    return _PassCheck()


def _unbuildable(*args: object) -> Any:
    raise AssertionError("the plugin manager never builds instances")


def strategy(name: str) -> StrategySpec:
    return StrategySpec(name=name, factory=_IdleStrategy)


def risk_check(name: str) -> RiskCheckSpec:
    return RiskCheckSpec(name=name, factory=_pass_check)


def plugin(name: str, **hooks: Callable[[], object]) -> SimpleNamespace:
    """A module-like plugin whose hooks are the given functions."""
    return SimpleNamespace(__name__=name, **{hook: hookimpl(function) for hook, function in hooks.items()})


def load(*plugins: object, **options: Any) -> PluginRegistry:
    return load_plugins(builtins=False, entry_points=False, extra=plugins, **options)


def info(registry: PluginRegistry, name: str) -> PluginInfo:
    (found,) = (item for item in registry.plugins if item.name == name)
    return found


def test_every_kind_of_spec_is_collected_by_name() -> None:
    trading = plugin(
        "trading",
        register_strategies=lambda: [strategy("twap"), strategy("vwap")],
        register_risk_checks=lambda: (risk_check("max_qty"),),
    )
    router = RouterSpec(name="first", factory=lambda settings: _FirstVenueRouter())
    connectivity = plugin(
        "connectivity",
        register_venues=lambda: [VenueSpec(name="paper", factory=_unbuildable)],
        register_feeds=lambda: [FeedSpec(name="replay", factory=_unbuildable)],
        register_routers=lambda: [router],
    )

    registry = load(trading, connectivity)

    assert sorted(registry.strategies) == ["twap", "vwap"]
    assert list(registry.risk_checks) == ["max_qty"]
    assert list(registry.venues) == ["paper"]
    assert list(registry.feeds) == ["replay"]
    assert registry.routers == {"first": router}
    assert registry.failures() == []
    assert registry.plugins == [
        PluginInfo(
            name="trading",
            source=EXTRA,
            status="loaded",
            registers=("strategy twap", "strategy vwap", "risk check max_qty"),
        ),
        PluginInfo(
            name="connectivity",
            source=EXTRA,
            status="loaded",
            registers=("venue paper", "feed replay", "router first"),
        ),
    ]


def test_an_instance_with_hookimpl_methods_is_a_plugin_named_after_its_class() -> None:
    class Throttles:
        def __init__(self, names: list[str]) -> None:
            self.names = names

        @hookimpl
        def register_risk_checks(self) -> list[RiskCheckSpec]:
            return [risk_check(name) for name in self.names]

    registry = load(Throttles(["orders_per_second", "messages_per_second"]))

    assert sorted(registry.risk_checks) == ["messages_per_second", "orders_per_second"]
    assert info(registry, "Throttles").status == "loaded"


def test_a_plugin_without_hooks_loads_and_registers_nothing() -> None:
    registry = load(plugin("quiet"))

    assert registry.plugins == [PluginInfo(name="quiet", source=EXTRA, status="loaded")]


def test_a_raising_hook_fails_only_its_own_plugin_and_drops_all_it_registered() -> None:
    def explode() -> list[RiskCheckSpec]:
        raise RuntimeError("limits file missing")

    faulty = plugin("faulty", register_strategies=lambda: [strategy("grid")], register_risk_checks=explode)
    healthy = plugin("healthy", register_strategies=lambda: [strategy("twap")])

    registry = load(faulty, healthy)

    assert list(registry.strategies) == ["twap"]
    assert registry.risk_checks == {}
    assert registry.failures() == [
        PluginInfo(
            name="faulty",
            source=EXTRA,
            status="failed",
            reason="register_risk_checks raised RuntimeError: limits file missing",
        )
    ]
    assert info(registry, "healthy").status == "loaded"


@pytest.mark.parametrize(
    ("returned", "complaint"),
    [
        pytest.param(lambda: strategy("twap"), "returned StrategySpec, expected", id="a bare spec"),
        pytest.param(lambda: None, "returned NoneType, expected", id="nothing"),
        pytest.param(lambda: "twap", "returned str, expected", id="a string"),
        pytest.param(lambda: [risk_check("twap")], "returned a RiskCheckSpec item, expected", id="wrong"),
        pytest.param(lambda: iter([strategy("twap")]), "returned list_iterator, expected", id="iterator"),
        pytest.param(lambda: [strategy(" ")], "returned a strategy with an empty name", id="blank name"),
    ],
)
def test_a_wrong_return_value_fails_the_plugin(returned: Callable[[], object], complaint: str) -> None:
    registry = load(plugin("sloppy", register_strategies=returned), plugin("tidy"))

    (failure,) = registry.failures()
    assert failure.name == "sloppy"
    assert failure.reason.startswith("register_strategies")
    assert complaint in failure.reason
    if "expected" in complaint:
        assert failure.reason.endswith("expected a sequence of StrategySpec")
    assert registry.strategies == {}
    assert info(registry, "tidy").status == "loaded"


def test_a_returned_sequence_that_raises_when_read_fails_the_plugin() -> None:
    class Unreadable(Sequence[StrategySpec]):
        def __len__(self) -> int:
            return 1

        def __getitem__(self, index: Any) -> Any:
            raise LookupError("spec table corrupt")

    registry = load(plugin("odd", register_strategies=lambda: Unreadable()), plugin("even"))

    assert info(registry, "odd").reason == "register_strategies raised LookupError: spec table corrupt"
    assert info(registry, "even").status == "loaded"


def test_a_duplicate_spec_name_keeps_the_first_and_fails_the_later_plugin_entirely() -> None:
    first = plugin("first", register_strategies=lambda: [strategy("twap")])
    second = plugin(
        "second",
        register_strategies=lambda: [strategy("twap")],
        register_risk_checks=lambda: [risk_check("fat_finger")],
    )

    registry = load(first, second)

    assert registry.strategies["twap"] is not None
    assert info(registry, "first").registers == ("strategy twap",)
    assert registry.risk_checks == {}
    assert info(registry, "second").status == "failed"
    assert info(registry, "second").reason == "duplicate strategy name twap (already registered by first)"


def test_the_same_name_may_be_a_strategy_and_a_risk_check() -> None:
    registry = load(
        plugin("a", register_strategies=lambda: [strategy("momentum")]),
        plugin("b", register_risk_checks=lambda: [risk_check("momentum")]),
    )

    assert registry.failures() == []


def test_a_spec_name_returned_twice_by_one_plugin_fails_it() -> None:
    registry = load(plugin("stutter", register_strategies=lambda: [strategy("twap"), strategy("twap")]))

    assert registry.failures()[0].reason == "register_strategies returned the strategy name twap twice"
    assert registry.strategies == {}


def test_a_duplicate_plugin_name_fails_the_later_plugin() -> None:
    registry = load(
        plugin("twin", register_strategies=lambda: [strategy("a")]),
        plugin("twin", register_strategies=lambda: [strategy("b")]),
    )

    assert list(registry.strategies) == ["a"]
    assert [(item.status, item.reason) for item in registry.plugins] == [
        ("loaded", ""),
        ("failed", "duplicate plugin name twin (already registered by extra)"),
    ]


def test_the_same_object_given_twice_fails_the_second_time() -> None:
    class Twice:
        @hookimpl
        def register_strategies(self) -> list[StrategySpec]:
            return [strategy("twice")]

    once = Twice()
    once.__name__ = "once"  # type: ignore[attr-defined]
    registry = load(once, SimpleNamespace(__name__="again", register_strategies=once.register_strategies))

    assert list(registry.strategies) == ["twice"]
    assert info(registry, "once").status == "loaded"
    assert info(registry, "again").status == "failed"


def test_a_class_given_instead_of_an_instance_fails_with_the_reason() -> None:
    class MarketMakerPlugin:
        @hookimpl
        def register_strategies(self) -> list[StrategySpec]:
            return [strategy("mm")]

    registry = load(MarketMakerPlugin, plugin("ok", register_strategies=lambda: [strategy("twap")]))

    assert list(registry.strategies) == ["twap"]
    failure = info(registry, "MarketMakerPlugin")
    assert failure.status == "failed"
    assert "is a class: a plugin must be a module or an instance" in failure.reason


def test_a_misspelt_hook_is_caught_and_fails_only_that_plugin() -> None:
    typo = plugin("typo", register_stratgies=lambda: [strategy("lost")])
    typo2 = plugin("typo2", register_risk_check=lambda: [risk_check("lost")])
    good = plugin("good", register_strategies=lambda: [strategy("twap")])

    registry = load(typo, good, typo2)

    assert list(registry.strategies) == ["twap"]
    assert [item.name for item in registry.failures()] == ["typo", "typo2"]
    assert "unknown hook 'register_stratgies'" in info(registry, "typo").reason
    assert "unknown hook 'register_risk_check'" in info(registry, "typo2").reason


def test_a_hookimpl_taking_arguments_the_spec_lacks_fails_at_registration() -> None:
    registry = load(plugin("needy", register_strategies=lambda config: [strategy("x")]), plugin("fine"))

    failure = info(registry, "needy")
    assert failure.status == "failed"
    assert "'config'" in failure.reason
    assert "can not be found in the hookspec" in failure.reason
    assert info(registry, "fine").status == "loaded"


def test_a_hook_wrapper_on_a_registration_hook_fails_the_plugin() -> None:
    def wrapping() -> Any:
        return (yield)

    wrapper = SimpleNamespace(__name__="wrapper", register_strategies=hookimpl(wrapper=True)(wrapping))
    registry = load(wrapper, plugin("plain", register_strategies=lambda: [strategy("twap")]))

    assert "hook wrapper" in info(registry, "wrapper").reason
    assert list(registry.strategies) == ["twap"]


def test_a_disabled_plugin_is_reported_and_contributes_nothing() -> None:
    registry = load(
        plugin("noisy", register_strategies=lambda: [strategy("noise")]),
        plugin("calm", register_strategies=lambda: [strategy("twap")]),
        disabled={"noisy"},
    )

    assert list(registry.strategies) == ["twap"]
    assert info(registry, "noisy") == PluginInfo(
        name="noisy", source=EXTRA, status="disabled", reason="disabled by configuration"
    )
    assert registry.failures() == []


def test_built_ins_that_cannot_be_imported_are_one_failed_record(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "engine.builtins", None)  # makes the import raise ImportError

    mine = plugin("mine", register_strategies=lambda: [strategy("x")])
    registry = load_plugins(entry_points=False, extra=[mine])

    builtin, given = registry.plugins
    assert (builtin.name, builtin.source, builtin.status) == ("builtins", "built-in", "failed")
    assert "import of engine.builtins halted" in builtin.reason
    assert given.status == "loaded"
    assert list(registry.strategies) == ["x"]


def test_built_ins_load_through_the_same_manager_or_are_reported() -> None:
    registry = load_plugins(entry_points=False)

    names = [item.name for item in registry.plugins]
    assert all(item.source == "built-in" for item in registry.plugins)
    if names == ["builtins"]:
        # The built-in modules are not all importable yet; that is reported, not raised.
        assert registry.plugins[0].status == "failed"
        assert registry.plugins[0].reason.startswith("cannot load:")
    else:
        assert names == ["strategies", "risk", "simulator", "routing", "ouch", "itch", "fix"]
        assert registry.failures() == []
