"""The hook specifications themselves: documented, keyword-only, and each one used by a built-in plugin."""

from __future__ import annotations

import inspect

import pytest

import core.hookspecs as hookspecs
from engine.plugins import PluginRegistry, load_plugins

HOOKS = [
    name
    for name, function in inspect.getmembers(hookspecs, inspect.isfunction)
    if hasattr(function, f"{hookspecs.PROJECT}_spec")
]


def test_there_are_hooks() -> None:
    assert set(HOOKS) == {
        "register_strategies",
        "register_risk_checks",
        "register_venues",
        "register_feeds",
        "register_routers",
    }


@pytest.mark.parametrize("name", HOOKS)
def test_every_hook_is_documented_and_typed(name: str) -> None:
    function = getattr(hookspecs, name)
    assert function.__doc__
    assert len(function.__doc__.strip()) > 20
    assert inspect.signature(function).return_annotation != inspect.Signature.empty


@pytest.mark.parametrize(
    ("name", "attribute"),
    [
        ("register_strategies", "strategies"),
        ("register_risk_checks", "risk_checks"),
        ("register_venues", "venues"),
        ("register_routers", "routers"),
        ("register_feeds", "feeds"),
    ],
)
def test_built_ins_register_through_each_hook(name: str, attribute: str) -> None:
    registry: PluginRegistry = load_plugins(builtins=True, entry_points=False)
    assert not registry.failures()
    assert getattr(registry, attribute), f"no built-in implements {name}"
