"""Entry-point discovery against hand-written distributions on ``sys.path``: each entry point is guarded."""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.plugins import PluginInfo, PluginRegistry, load_plugins

GOOD_MODULE = """
from core.contracts import Strategy, StrategySpec
from core.hookspecs import hookimpl


class Idle(Strategy):
    pass


@hookimpl
def register_strategies():
    return [StrategySpec(name="{strategy}", factory=Idle)]
"""


class Site:
    """A directory on ``sys.path`` into which tests write modules and ``.dist-info`` directories."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.modules: list[str] = []

    def module(self, name: str, source: str) -> None:
        (self.root / f"{name}.py").write_text(textwrap.dedent(source))
        self.modules.append(name)

    def distribution(self, name: str, version: str, entry_points: dict[str, str]) -> None:
        info = self.root / f"{name.replace('-', '_')}-{version}.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
        lines = "".join(f"{key} = {value}\n" for key, value in entry_points.items())
        (info / "entry_points.txt").write_text(f"[workstation]\n{lines}")


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    monkeypatch.syspath_prepend(str(tmp_path))
    created = Site(tmp_path)
    yield created
    for name in created.modules:
        sys.modules.pop(name, None)


def discover() -> PluginRegistry:
    return load_plugins(builtins=False, entry_points=True)


def info(registry: PluginRegistry, name: str) -> PluginInfo:
    (found,) = (item for item in registry.plugins if item.name == name)
    return found


def test_a_module_raising_on_import_is_recorded_failed_and_the_rest_loads(site: Site) -> None:
    site.module("broken_plugin_mod", "raise RuntimeError('missing licence key')\n")
    site.distribution("broken-plugin", "1.0", {"broken": "broken_plugin_mod"})
    site.module("good_plugin_mod", GOOD_MODULE.format(strategy="good-strategy"))
    site.distribution("good-plugin", "2.3.1", {"good": "good_plugin_mod"})

    registry = discover()

    assert info(registry, "broken") == PluginInfo(
        name="broken",
        source="entry point broken-plugin 1.0",
        status="failed",
        reason="cannot load: RuntimeError: missing licence key",
    )
    assert info(registry, "good") == PluginInfo(
        name="good",
        source="entry point good-plugin 2.3.1",
        status="loaded",
        registers=("strategy good-strategy",),
    )
    assert "good-strategy" in registry.strategies


def test_an_entry_point_naming_a_missing_module_or_attribute_fails(site: Site) -> None:
    site.module("half_plugin_mod", GOOD_MODULE.format(strategy="half"))
    site.distribution("typo-plugin", "0.1", {"gone": "no_such_module_anywhere", "half": "half_plugin_mod:no"})

    registry = discover()

    missing = "cannot load: ModuleNotFoundError: No module named 'no_such_module_anywhere'"
    assert info(registry, "gone").reason == missing
    assert info(registry, "half").status == "failed"
    assert info(registry, "half").reason.startswith("cannot load: AttributeError")


def test_an_entry_point_naming_a_class_fails_with_the_reason(site: Site) -> None:
    site.module(
        "classy_plugin_mod",
        """
        from core.hookspecs import hookimpl


        class Plugin:
            @hookimpl
            def register_strategies(self):
                return []
        """,
    )
    site.distribution("classy-plugin", "1.0", {"classy": "classy_plugin_mod:Plugin"})

    failure = info(discover(), "classy")

    assert failure.status == "failed"
    assert failure.reason == "Plugin is a class: a plugin must be a module or an instance"


def test_a_duplicate_entry_point_name_fails_the_later_distribution(site: Site) -> None:
    site.module("dup_one_mod", GOOD_MODULE.format(strategy="one"))
    site.module("dup_two_mod", GOOD_MODULE.format(strategy="two"))
    site.distribution("dup-one", "1.0", {"dup": "dup_one_mod"})
    site.distribution("dup-two", "1.0", {"dup": "dup_two_mod"})

    registry = discover()

    dups = [item for item in registry.plugins if item.name == "dup"]
    assert [item.status for item in dups] == ["loaded", "failed"]
    loaded, failed = dups
    assert failed.reason == f"duplicate plugin name dup (already registered by {loaded.source})"
    assert len({"one", "two"} & set(registry.strategies)) == 1


def test_an_extra_named_like_an_entry_point_fails(site: Site) -> None:
    site.module("shared_name_mod", GOOD_MODULE.format(strategy="from-entry-point"))
    site.distribution("shared-name", "1.0", {"shared": "shared_name_mod"})
    extra = type("Extra", (), {"__name__": "shared"})()

    registry = load_plugins(builtins=False, entry_points=True, extra=[extra])

    assert [(item.source, item.status) for item in registry.plugins if item.name == "shared"] == [
        ("entry point shared-name 1.0", "loaded"),
        ("extra", "failed"),
    ]


def test_entry_points_of_another_group_are_ignored(site: Site) -> None:
    site.module("other_group_mod", GOOD_MODULE.format(strategy="elsewhere"))
    site.distribution("other-group", "1.0", {"other": "other_group_mod"})

    registry = load_plugins(builtins=False, entry_points=True, group="workstation-test-no-such-group")

    assert registry.plugins == []
    assert "other_group_mod" not in sys.modules
