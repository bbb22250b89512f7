"""Desktop-side hook specifications of the ``workstation`` plugin project.

A plugin on the ``workstation`` entry-point group may implement these hooks beside the engine's ones
(:mod:`core.hookspecs`); the desktop calls them once at start-up. Built-in panels register the same way.
"""

from __future__ import annotations

from collections.abc import Sequence

import pluggy

from core.hookspecs import PROJECT
from workstation.panel import PanelSpec

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def register_panels() -> Sequence[PanelSpec]:  # type: ignore[empty-body]
    """Dockable panels this plugin offers; each spec builds its widget from a :class:`PanelContext`."""
