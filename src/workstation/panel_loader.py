"""Discovery of panel plugins: the built-in panels, the ``workstation`` entry-point group, and extras.

Every step is guarded plugin by plugin, as the engine's discovery is: a plugin that fails to import, whose
``register_panels`` raises or returns something other than panel specs, or that repeats a panel name, is reported
as failed with the reason and contributes nothing; the others load. Plugins that implement only engine hooks are
not panel plugins and are skipped silently (the engine reports them).
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any

import pluggy

from core.hookspecs import PROJECT
from engine.plugins import attempt, entry_point_source
from workstation import hookspecs
from workstation.panel import PanelSpec

log = logging.getLogger(__name__)


@dataclass(slots=True)
class PanelRegistry:
    """Panel specs by name, in discovery order, and one report per panel plugin (the engine's report shape)."""

    panels: dict[str, PanelSpec] = field(default_factory=dict)
    plugins: list[dict[str, Any]] = field(default_factory=list)


class _PanelLoader:
    def __init__(self) -> None:
        self.registry = PanelRegistry()

    def _report(self, name: str, source: str, status: str, registers: Sequence[str] = (), reason: str = "") -> None:
        reason = " ".join(reason.split())  # one line per report
        if status == "failed":
            log.warning("panel plugin %s (%s) failed: %s", name, source, reason)
        self.registry.plugins.append(
            {"name": name, "source": source, "status": status, "registers": list(registers), "reason": reason}
        )

    def add(self, name: str, source: str, load: Callable[[], object]) -> None:
        plugin, error = attempt(load)
        if error is not None:
            self._report(name, source, "failed", reason=f"cannot load: {error}")
            return
        if not hasattr(plugin, "register_panels"):
            return
        manager = pluggy.PluginManager(PROJECT)
        manager.add_hookspecs(hookspecs)
        _, error = attempt(lambda: manager.register(plugin, name=name))
        if error is None:
            results, error = attempt(manager.hook.register_panels)
        if error is not None:
            self._report(name, source, "failed", reason=f"register_panels raised {error}")
            return
        specs = [spec for result in results for spec in (result if isinstance(result, list | tuple) else [result])]
        problem = self._check(specs)
        if problem is not None:
            self._report(name, source, "failed", reason=problem)
            return
        for spec in specs:
            self.registry.panels[spec.name] = spec
        self._report(name, source, "loaded", [f"panel {spec.name}" for spec in specs])

    def _check(self, specs: Sequence[object]) -> str | None:
        seen: set[str] = set()
        for spec in specs:
            if not isinstance(spec, PanelSpec):
                return f"register_panels returned a {type(spec).__name__}, expected PanelSpec items"
            if not spec.name.strip():
                return "register_panels returned a panel with an empty name"
            if spec.name in self.registry.panels or spec.name in seen:
                return f"duplicate panel name {spec.name}"
            seen.add(spec.name)
        return None


def load_panels(
    *, builtins: bool = True, entry_points: bool = True, extra: Sequence[object] = (), group: str = PROJECT
) -> PanelRegistry:
    """Discover every panel plugin; never raises because of a plugin."""
    loader = _PanelLoader()
    if builtins:
        from workstation.plugins import BUILTIN_PANEL_PLUGINS

        for name, module in BUILTIN_PANEL_PLUGINS:
            loader.add(name, "built-in", lambda module=module: importlib.import_module(module))
    if entry_points:
        for entry_point in metadata.entry_points(group=group):
            loader.add(entry_point.name, entry_point_source(entry_point), entry_point.load)
    for plugin in extra:
        name = getattr(plugin, "__name__", None) or type(plugin).__name__
        loader.add(str(name), "extra", lambda plugin=plugin: plugin)
    return loader.registry
