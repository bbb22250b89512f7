"""The plugin manager: discovers plugins, isolates the faulty ones and collects what the rest register.

Plugins are modules or instances (never classes) implementing the hooks of :mod:`core.hookspecs`. They
come from three places, in this order: the engine's built-ins (:data:`engine.builtins.BUILTIN_PLUGINS`), the
``workstation`` entry-point group of installed distributions, and ``extra`` objects given by the caller.

pluggy isolates nothing: a module that fails to import, or one hook implementation that raises, would abort
the whole start-up. Here every step is guarded plugin by plugin. A plugin that fails is unregistered, recorded
as failed with the reason and contributes nothing (all or nothing); the others go on. The result is a
:class:`PluginRegistry` of specs; the engine builds its instances from them once, so no hook is ever called
on the hot path.
"""

from __future__ import annotations

import logging
import textwrap
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from functools import partial
from importlib import metadata
from typing import Any, Literal

import pluggy

import core.hookspecs
from core.contracts import FeedSpec, RiskCheckSpec, RouterSpec, StrategySpec, VenueSpec
from core.hookspecs import DESKTOP_HOOKS, PROJECT

__all__ = [
    "BUILT_IN",
    "EXTRA",
    "PluginInfo",
    "PluginRegistry",
    "PluginStatus",
    "attempt",
    "entry_point_source",
    "format_plugins",
    "load_plugins",
    "plugins_as_json",
]

_log = logging.getLogger(__name__)

PluginStatus = Literal["loaded", "failed", "disabled"]
BUILT_IN = "built-in"
"""Source of the engine's own plugins."""
EXTRA = "extra"
"""Source of plugins handed to :func:`load_plugins` directly (tests, embedding applications)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class PluginInfo:
    """What became of one plugin: where it came from, whether it loaded, what it registers or why it failed.

    ``source`` is ``"built-in"``, ``"extra"`` or ``"entry point <distribution> <version>"``; ``registers``
    lists entries such as ``"strategy market-maker"`` or ``"risk check max_position"``.
    """

    name: str
    source: str
    status: PluginStatus
    registers: tuple[str, ...] = ()
    reason: str = ""


@dataclass(slots=True, kw_only=True)
class PluginRegistry:
    """The specs of every loaded plugin, by name, and the report of every plugin seen (in discovery order)."""

    strategies: dict[str, StrategySpec] = field(default_factory=dict)
    risk_checks: dict[str, RiskCheckSpec] = field(default_factory=dict)
    venues: dict[str, VenueSpec] = field(default_factory=dict)
    feeds: dict[str, FeedSpec] = field(default_factory=dict)
    routers: dict[str, RouterSpec] = field(default_factory=dict)
    plugins: list[PluginInfo] = field(default_factory=list)

    def failures(self) -> list[PluginInfo]:
        """The plugins that failed, with their reasons."""
        return [info for info in self.plugins if info.status == "failed"]


@dataclass(frozen=True, slots=True)
class _Kind:
    """One registration hook: its name, the spec type it must return and where those specs go."""

    hook: str
    label: str
    spec_type: type[Any]
    table: Callable[[PluginRegistry], dict[str, Any]]


_KINDS = (
    _Kind("register_strategies", "strategy", StrategySpec, lambda registry: registry.strategies),
    _Kind("register_risk_checks", "risk check", RiskCheckSpec, lambda registry: registry.risk_checks),
    _Kind("register_venues", "venue", VenueSpec, lambda registry: registry.venues),
    _Kind("register_feeds", "feed", FeedSpec, lambda registry: registry.feeds),
    _Kind("register_routers", "router", RouterSpec, lambda registry: registry.routers),
)


@dataclass(slots=True)
class _Record:
    """A plugin while it is being loaded; ``plugin`` is set once it is registered."""

    name: str
    source: str
    status: PluginStatus = "loaded"
    reason: str = ""
    registers: tuple[str, ...] = ()
    plugin: object = None


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def attempt(action: Callable[[], Any]) -> tuple[Any, str | None]:
    """``(result, None)``, or ``(None, reason)`` if ``action`` raises: where plugin code is isolated (the desktop's
    panel discovery uses it too)."""
    try:
        return action(), None
    except Exception as exc:  # noqa: BLE001 - plugin code may raise anything; it is reported, never fatal
        _log.debug("plugin code raised", exc_info=True)
        return None, _describe(exc)


def _given(plugin: object) -> Callable[[], object]:
    return lambda: plugin


def entry_point_source(entry_point: metadata.EntryPoint) -> str:
    """How a plugin report names where an entry point's plugin came from."""
    dist = entry_point.dist
    if dist is None:
        return "entry point (unknown distribution)"
    return f"entry point {dist.name} {dist.version}"


def _desktop_hooks() -> type:
    """Placeholder specs for the desktop's hooks, so that a plugin serving both sides validates here too. Their
    real specs live in ``workstation.hookspecs``; the engine never calls them."""

    def placeholder(name: str) -> Callable[[], None]:
        def spec() -> None:
            """Specified by the desktop."""

        spec.__name__ = name
        return core.hookspecs.hookspec(spec)

    return type("DesktopHooks", (), {name: staticmethod(placeholder(name)) for name in DESKTOP_HOOKS})


class _Loader:
    """Registers plugins one at a time in a pluggy manager, then collects their specs."""

    def __init__(self, disabled: Collection[str]) -> None:
        self.pm = pluggy.PluginManager(PROJECT)
        self.pm.add_hookspecs(core.hookspecs)
        self.pm.add_hookspecs(_desktop_hooks())
        self.disabled = frozenset(disabled)
        self.records: list[_Record] = []

    def _fail(self, record: _Record, reason: str) -> None:
        if record.plugin is not None:
            self.pm.unregister(record.plugin)
        reason = " ".join(reason.split())  # pluggy's messages span lines; a report line is one line
        record.status, record.reason, record.registers, record.plugin = "failed", reason, (), None
        _log.warning("plugin %s (%s) failed: %s", record.name, record.source, reason)

    def _registered(self, *, name: str | None = None, plugin: object = None) -> _Record | None:
        """The registered plugin with this name or this object, if any."""
        for record in self.records:
            if record.plugin is not None and (record.name == name or record.plugin is plugin):
                return record
        return None

    def add(self, name: str, source: str, load: Callable[[], object]) -> None:
        """Load one plugin with ``load`` and register it under ``name``, or record why it cannot be."""
        record = _Record(name, source)
        self.records.append(record)
        if name in self.disabled:
            record.status, record.reason = "disabled", "disabled by configuration"
            return
        first = self._registered(name=name)
        if first is not None:
            return self._fail(record, f"duplicate plugin name {name} (already registered by {first.source})")
        plugin, error = attempt(load)
        if error is not None:
            return self._fail(record, f"cannot load: {error}")
        if plugin is None:
            return self._fail(record, "the plugin object is None")
        if isinstance(plugin, type):
            name = plugin.__qualname__
            return self._fail(record, f"{name} is a class: a plugin must be a module or an instance")
        same = self._registered(plugin=plugin)
        if same is not None:
            return self._fail(record, f"the same object is already registered as plugin {same.name}")
        _, error = attempt(lambda: self.pm.register(plugin, name=name))
        if error is not None:
            return self._fail(record, error)
        record.plugin = plugin
        return None

    def add_failed(self, name: str, source: str, reason: str) -> None:
        """Record a plugin (or a group of them) that could not even be found."""
        record = _Record(name, source)
        self.records.append(record)
        self._fail(record, reason)

    def add_builtins(self) -> None:
        """The engine's own plugins; if the built-ins cannot even be imported, that is one failed record."""
        try:
            from engine.builtins import BUILTIN_PLUGINS
        except Exception as exc:  # noqa: BLE001 - a broken built-in must not stop the other plugins
            self.add_failed("builtins", BUILT_IN, f"cannot load: {_describe(exc)}")
            return
        for name, module in BUILTIN_PLUGINS:
            self.add(name, BUILT_IN, _given(module))

    def add_entry_points(self, group: str) -> None:
        """Every entry point of ``group`` in the installed distributions, each loaded in its own guard."""
        entry_points, error = attempt(lambda: metadata.entry_points(group=group))
        if error is not None:
            self.add_failed(f"entry points {group}", "entry point", f"cannot list the entry points: {error}")
            return
        for entry_point in entry_points:
            self.add(entry_point.name, entry_point_source(entry_point), entry_point.load)

    def check_pending(self) -> None:
        """Fail every plugin implementing a hook that has no spec (a misspelt name), one at a time.

        The desktop's hooks (:data:`core.hookspecs.DESKTOP_HOOKS`) are known by name (see :func:`_desktop_hooks`).
        """
        while True:
            try:
                self.pm.check_pending()
            except pluggy.PluginValidationError as exc:
                record = self._registered(plugin=exc.plugin)
                if record is None:  # cannot happen: only registered plugins have implementations
                    raise
                self._fail(record, str(exc))
            else:
                return

    def collect(self) -> PluginRegistry:
        """Call each loaded plugin's registration hooks in turn and keep its specs, all or nothing."""
        registry = PluginRegistry()
        owners: dict[tuple[str, str], str] = {}
        for record in self.records:
            if record.plugin is None:
                continue
            specs, problem = self._specs_of(record.name)
            if problem is None:
                problem = _first_duplicate(specs, owners)
            if problem is not None:
                self._fail(record, problem)
                continue
            for kind, spec in specs:
                kind.table(registry)[spec.name] = spec
                owners[kind.label, spec.name] = record.name
            record.registers = tuple(f"{kind.label} {spec.name}" for kind, spec in specs)
        registry.plugins = [
            PluginInfo(name=r.name, source=r.source, status=r.status, registers=r.registers, reason=r.reason)
            for r in self.records
        ]
        return registry

    def _specs_of(self, name: str) -> tuple[list[tuple[_Kind, Any]], str | None]:
        """The specs plugin ``name`` returns from each hook, or the problem that disqualifies it."""
        specs: list[tuple[_Kind, Any]] = []
        seen: set[tuple[str, str]] = set()
        for kind in _KINDS:
            caller: pluggy.HookCaller = getattr(self.pm.hook, kind.hook)
            for impl in caller.get_hookimpls():
                if impl.plugin_name != name:
                    continue
                if impl.wrapper or impl.hookwrapper:
                    return [], f"{kind.hook} is a hook wrapper; registration hooks must return their specs"
                result, error = attempt(partial(_call_hook, impl.function))
                if error is not None:
                    return [], f"{kind.hook} raised {error}"
                problem = _check_result(kind, result)
                if problem is not None:
                    return [], problem
                for spec in result:
                    if (kind.label, spec.name) in seen:
                        return [], f"{kind.hook} returned the {kind.label} name {spec.name} twice"
                    seen.add((kind.label, spec.name))
                    specs.append((kind, spec))
        return specs, None


def _first_duplicate(specs: list[tuple[_Kind, Any]], owners: dict[tuple[str, str], str]) -> str | None:
    for kind, spec in specs:
        owner = owners.get((kind.label, spec.name))
        if owner is not None:
            return f"duplicate {kind.label} name {spec.name} (already registered by {owner})"
    return None


def _call_hook(function: Callable[[], object]) -> object:
    """A hook's answer, a sequence copied into a tuple (its iteration is plugin code too, so guarded)."""
    result = function()
    if isinstance(result, Sequence) and not isinstance(result, str | bytes):
        return tuple(result)
    return result


def _check_result(kind: _Kind, result: object) -> str | None:
    expected = f"a sequence of {kind.spec_type.__name__}"
    if not isinstance(result, Sequence) or isinstance(result, str | bytes):
        return f"{kind.hook} returned {type(result).__name__}, expected {expected}"
    for item in result:
        if not isinstance(item, kind.spec_type):
            return f"{kind.hook} returned a {type(item).__name__} item, expected {expected}"
        if not isinstance(item.name, str) or not item.name.strip():
            return f"{kind.hook} returned a {kind.label} with an empty name"
    return None


def load_plugins(
    *,
    builtins: bool = True,
    entry_points: bool = True,
    extra: Sequence[object] = (),
    group: str = PROJECT,
    disabled: Collection[str] = (),
) -> PluginRegistry:
    """Discover, register and collect every plugin; never raises because of a plugin.

    ``extra`` plugins are registered after the others under their ``__name__`` (an instance without one
    under its class name). Plugins named in ``disabled`` are not loaded at all and are reported as disabled.
    When two plugins register the same spec name, the first one (built-ins, then entry points, then extras)
    keeps it and the later plugin fails.
    """
    loader = _Loader(disabled)
    if builtins:
        loader.add_builtins()
    if entry_points:
        loader.add_entry_points(group)
    for plugin in extra:
        name = getattr(plugin, "__name__", None)
        if not isinstance(name, str) or not name:
            name = type(plugin).__name__
        loader.add(name, EXTRA, _given(plugin))
    loader.check_pending()
    return loader.collect()


# --- reporting ----------------------------------------------------------------------------------------------


def plugins_as_json(registry: PluginRegistry) -> list[dict[str, Any]]:
    """The plugin report as JSON-ready dicts (``name``, ``source``, ``status``, ``registers``, ``reason``)."""
    return [
        {
            "name": info.name,
            "source": info.source,
            "status": info.status,
            "registers": list(info.registers),
            "reason": info.reason,
        }
        for info in registry.plugins
    ]


def format_plugins(registry: PluginRegistry, *, width: int = 100) -> str:
    """The plugin report as a text table for a ``width``-column terminal; reasons go under their plugin."""
    infos = registry.plugins
    if not infos:
        return "no plugins"
    name_w = min(max(len("PLUGIN"), *(len(info.name) for info in infos)), 28)
    status_w = max(len("STATUS"), *(len(info.status) for info in infos))
    # The source column gives way (it wraps at spaces) so that the registered names keep 28 columns.
    longest_source = max(len(info.source) for info in infos)
    source_w = max(min(longest_source, width - name_w - status_w - 34), len("SOURCE"))
    registers_w = max(width - name_w - status_w - source_w - 6, 16)
    widths = (name_w, status_w, source_w, registers_w)
    lines = [_row(("PLUGIN", "STATUS", "SOURCE", "REGISTERS"), widths)]
    for info in infos:
        registers = [part for item in info.registers or ("-",) for part in _wrap(item, registers_w)]
        texts = (info.name, info.status, info.source)
        cells = [_wrap(text, w) for text, w in zip(texts, widths[:3], strict=True)]
        cells.append(registers)
        for i in range(max(len(cell) for cell in cells)):
            lines.append(_row(tuple(cell[i] if i < len(cell) else "" for cell in cells), widths))
        if info.reason:
            lines.extend(_wrap(f"reason: {info.reason}", width, indent="  ", more="    "))
    statuses = ("loaded", "failed", "disabled")
    counts = {status: sum(info.status == status for info in infos) for status in statuses}
    lines.append("")
    noun = "plugin" if len(infos) == 1 else "plugins"
    lines.append(f"{len(infos)} {noun}: " + ", ".join(f"{n} {status}" for status, n in counts.items() if n))
    return "\n".join(lines)


def _wrap(text: str, width: int, *, indent: str = "", more: str = "") -> list[str]:
    """``text`` in lines of at most ``width`` columns, broken at spaces, never at hyphens."""
    lines = textwrap.wrap(text, width, initial_indent=indent, subsequent_indent=more, break_on_hyphens=False)
    return lines or [""]


def _row(cells: tuple[str, ...], widths: tuple[int, ...]) -> str:
    return "  ".join(cell.ljust(w) for cell, w in zip(cells, widths, strict=True)).rstrip()
