"""The panel contract: what a panel plugin registers and what it is given to work with.

A panel is a ``QWidget`` built by its spec's factory from a :class:`PanelContext`. It reads the desktop's shared
state (:class:`workstation.state.DesktopState`, fed by the engine client's event stream), acts through
:class:`workstation.commands.Commands` (never the engine directly), and repaints on the frame clock from the latest
state, never once per market-data event. A panel that follows an instrument subclasses :class:`Panel` and is
joined to a link group.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from PySide6 import QtCore, QtWidgets

if TYPE_CHECKING:
    from engine.client.protocol import EngineClient
    from workstation.commands import Commands
    from workstation.links import LinkGroups
    from workstation.settings import DesktopSettings
    from workstation.state import DesktopState
    from workstation.theme import Theme

DockArea = Literal["left", "right", "top", "bottom"]


@dataclass(frozen=True, slots=True, kw_only=True)
class PanelSpec:
    """A panel a plugin offers.

    ``name`` is unique and stable (workspaces refer to it); ``title`` is shown on the dock; ``factory`` builds
    the widget; ``area`` is where the default workspace docks it; ``tab_with`` names a panel to stack it with;
    ``visible`` says whether the default workspace shows it.
    """

    name: str
    title: str
    factory: Callable[[PanelContext], QtWidgets.QWidget]
    area: DockArea = "right"
    tab_with: str | None = None
    visible: bool = True
    description: str = ""


class FrameClock(QtCore.QObject):
    """Emits ``frame`` at the display rate; panels repaint from the latest state when it fires."""

    frame = QtCore.Signal()


@dataclass(slots=True, kw_only=True)
class PanelContext:
    """Everything a panel may use. Shared by every panel of a window."""

    client: EngineClient
    state: DesktopState
    commands: Commands
    links: LinkGroups
    settings: DesktopSettings
    theme: Theme
    frames: FrameClock


class Panel(QtWidgets.QWidget):
    """Base of the built-in panels: an instrument that follows a link group, a frame hook, saved state.

    Subclasses override :meth:`instrument_changed` and :meth:`refresh`, and :meth:`save_state` /
    :meth:`restore_state` for what a workspace should keep.
    """

    linkable = True
    """Whether the panel follows an instrument (and shows the link group chooser)."""

    instrument_set = QtCore.Signal(str)
    """The panel's instrument or link group changed (its instrument bar follows)."""

    failed = QtCore.Signal(str)
    """The panel raised while repainting; its dock shows the error instead of the panel."""

    def __init__(self, context: PanelContext, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self.link_group: str | None = None
        symbols = context.state.symbols
        self.instrument: str = symbols[0] if symbols else ""
        context.frames.frame.connect(self._on_frame)
        if self.linkable:
            context.links.changed.connect(self._on_link)

    def _on_frame(self) -> None:
        if not self.isVisible():
            return
        try:
            self.refresh()
        except Exception:  # noqa: BLE001 - a broken panel is contained in its dock; the app goes on
            self.context.frames.frame.disconnect(self._on_frame)
            self.failed.emit(traceback.format_exc())

    def _on_link(self, group: str, symbol: str) -> None:
        if self.link_group is not None and group == self.link_group and symbol != self.instrument:
            self.set_instrument(symbol, broadcast=False)

    def set_link_group(self, group: str | None) -> None:
        """Join ``group`` (None: stand alone) and take its current instrument."""
        self.link_group = group
        if group is not None:
            current = self.context.links.instrument(group)
            if current and current != self.instrument:
                self.set_instrument(current, broadcast=False)
        self.instrument_set.emit(self.instrument)

    def set_instrument(self, symbol: str, *, broadcast: bool = True) -> None:
        """Show ``symbol``; with ``broadcast``, the panels of the same link group follow."""
        if symbol not in self.context.state.symbols:
            return
        changed = symbol != self.instrument
        self.instrument = symbol
        if changed:
            self.instrument_changed(symbol)
            self.instrument_set.emit(symbol)
        if broadcast and self.link_group is not None:
            self.context.links.set_instrument(self.link_group, symbol)

    def instrument_changed(self, symbol: str) -> None:
        """The panel now shows ``symbol``."""

    def refresh(self) -> None:
        """Repaint from the latest state (called on every frame while the panel is visible)."""

    def save_state(self) -> Mapping[str, Any]:
        """What a workspace keeps of this panel (JSON-ready)."""
        return {"instrument": self.instrument, "link_group": self.link_group}

    def restore_state(self, state: Mapping[str, Any]) -> None:
        """Restore what :meth:`save_state` returned: the panel keeps its instrument and brings its group to it."""
        group = state.get("link_group")
        if group is None or isinstance(group, str):
            self.link_group = group
        symbol = state.get("instrument")
        if isinstance(symbol, str):
            self.set_instrument(symbol)
        self.instrument_set.emit(self.instrument)
