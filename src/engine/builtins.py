"""The engine's built-in plugins, registered through the same manager and hooks as third-party ones.

Each entry is ``(plugin name, module)``; the module implements hooks of :mod:`core.hookspecs`.
:func:`engine.plugins.load_plugins` imports this module lazily and inside a guard, so a broken built-in is
reported like any other failed plugin.
"""

from __future__ import annotations

from types import ModuleType

from engine import routing
from engine.fix import venue as fix_venue
from engine.itch import plugin as itch_plugin
from engine.ouch import plugin as ouch_plugin
from engine.risk import plugin as risk_plugin
from engine.sim import plugin as sim_plugin
from engine.strategies import plugin as strategies_plugin

BUILTIN_PLUGINS: tuple[tuple[str, ModuleType], ...] = (
    ("strategies", strategies_plugin),
    ("risk", risk_plugin),
    ("simulator", sim_plugin),
    ("routing", routing),
    ("ouch", ouch_plugin),
    ("itch", itch_plugin),
    ("fix", fix_venue),
)
"""Built-in plugins in registration order; a spec name registered here wins over a plugin's later one."""
