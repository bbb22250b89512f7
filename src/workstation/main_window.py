"""The main window: a dock per panel plugin, menus, workspaces, hotkeys, the status bar and the frame clock."""

from __future__ import annotations

import logging
from collections.abc import Callable

from PySide6 import QtCore, QtGui, QtWidgets

from core.enums import Side
from workstation.panel import Panel, PanelSpec
from workstation.panel_host import PanelDock
from workstation.panel_loader import PanelRegistry
from workstation.session import DesktopSession
from workstation.settings import DesktopPaths, save_settings
from workstation.state import Severity
from workstation.status_bar import StatusBar
from workstation.theme import THEMES, apply_theme, load_theme
from workstation.workspaces import DEFAULT_WORKSPACE, Workspace, WorkspaceError, WorkspaceStore

log = logging.getLogger(__name__)

FRAME_INTERVAL_MS = 33
"""About 30 frames a second: every visible panel repaints from the latest state this often."""

_AREAS = {
    "left": QtCore.Qt.DockWidgetArea.LeftDockWidgetArea,
    "right": QtCore.Qt.DockWidgetArea.RightDockWidgetArea,
    "top": QtCore.Qt.DockWidgetArea.TopDockWidgetArea,
    "bottom": QtCore.Qt.DockWidgetArea.BottomDockWidgetArea,
}
_DEFAULT_TABS = {"strategies": "pnl", "backtest-lab": "blotter"}
"""Built-in panels the default layout stacks as tabs with another: the wide backtest lab goes with the blotter."""
_H = QtCore.Qt.Orientation.Horizontal
_V = QtCore.Qt.Orientation.Vertical


class MainWindow(QtWidgets.QMainWindow):
    """The workstation's window over one :class:`DesktopSession`."""

    def __init__(
        self,
        session: DesktopSession,
        panels: PanelRegistry,
        paths: DesktopPaths,
        *,
        workspace: str | None = None,
    ) -> None:
        super().__init__()
        self.session = session
        self.context = session.context
        self.state = session.state
        self.paths = paths
        self.workspaces = WorkspaceStore(paths.workspaces_dir)
        self.workspace_name = DEFAULT_WORKSPACE
        self.state.plugins = [*self.state.plugins, *panels.plugins]
        for report in panels.plugins:
            if report["status"] == "failed":
                self.state.audit.add(
                    self.state.now_ns(), Severity.ERROR, "plugin", f"{report['name']} failed: {report['reason']}"
                )
        info = self.state.info
        self.setWindowTitle(f"Workstation — {info.endpoint} · {info.user}")
        self.setObjectName("workstation-main-window")
        self.setDockNestingEnabled(True)
        self.setDockOptions(
            QtWidgets.QMainWindow.DockOption.AllowTabbedDocks | QtWidgets.QMainWindow.DockOption.AllowNestedDocks
        )
        self.setTabPosition(QtCore.Qt.DockWidgetArea.AllDockWidgetAreas, QtWidgets.QTabWidget.TabPosition.North)
        self.docks: dict[str, PanelDock] = {}
        for spec in panels.panels.values():
            self.docks[spec.name] = PanelDock(spec, self.context, self)
        self.resize(1760, 1000)
        self._arrange_default()
        self._default_state = self.saveState()
        self.status = StatusBar(self.context)
        self.setStatusBar(self.status)
        self._build_menus()
        self._shortcuts: list[QtGui.QShortcut] = []
        self.bind_hotkeys()
        self._active_panel: Panel | None = None
        app = QtWidgets.QApplication.instance()
        if isinstance(app, QtWidgets.QApplication):
            app.focusChanged.connect(self._focus_changed)
        self.frame_timer = QtCore.QTimer(self)
        self.frame_timer.setTimerType(QtCore.Qt.TimerType.PreciseTimer)
        self.frame_timer.timeout.connect(self.context.frames.frame.emit)
        self.frame_timer.start(FRAME_INTERVAL_MS)
        self.second_timer = QtCore.QTimer(self)
        self.second_timer.timeout.connect(self._each_second)
        self.second_timer.start(1_000)
        chosen = workspace or self.workspaces.last_used()
        self._restored = chosen is not None and self.load_workspace(chosen)
        self._shown_once = False

    # --- layout ------------------------------------------------------------------------------------------------------

    def panel(self, name: str) -> QtWidgets.QWidget | None:
        """The widget of panel ``name`` (None when absent or failed)."""
        dock = self.docks.get(name)
        return None if dock is None else dock.panel

    def _arrange_default(self) -> None:
        """Market watch and ticket on the left, the order book in the middle, account panels on the right,
        blotter and log along the bottom; third-party panels where their spec asks."""
        docks = self.docks
        left = _AREAS["left"]
        placed: set[str] = set()

        def place(name: str, relative: str | None = None, orientation: QtCore.Qt.Orientation = _H) -> None:
            if name not in docks:
                return
            if relative is None or relative not in placed:
                self.addDockWidget(left, docks[name])
            else:
                self.splitDockWidget(docks[relative], docks[name], orientation)
            placed.add(name)

        place("market-watch")
        place("order-book", "market-watch", _H)
        place("pnl", "order-book", _H)
        place("order-ticket", "market-watch", _V)
        if "blotter" in docks:
            self.addDockWidget(_AREAS["bottom"], docks["blotter"])
            placed.add("blotter")
        for spec in self._specs():
            if spec.name in placed:
                continue
            if spec.tab_with is not None and spec.tab_with in placed:
                self.tabifyDockWidget(docks[spec.tab_with], docks[spec.name])
            elif _DEFAULT_TABS.get(spec.name) in placed:
                self.tabifyDockWidget(docks[_DEFAULT_TABS[spec.name]], docks[spec.name])
            else:
                self.addDockWidget(_AREAS.get(spec.area, _AREAS["right"]), docks[spec.name])
            placed.add(spec.name)
            docks[spec.name].setVisible(spec.visible)
        self._size_default()

    def _size_default(self) -> None:
        docks = self.docks
        for first in ("pnl", "blotter"):
            if first in docks:
                docks[first].raise_()
        widths = (("market-watch", 390), ("order-book", 765), ("pnl", 605))
        present = [(docks[name], width) for name, width in widths if name in docks]
        if present:
            self.resizeDocks([dock for dock, _ in present], [width for _, width in present], _H)
        if "blotter" in docks:
            self.resizeDocks([docks["blotter"]], [300], _V)
        column = [docks[name] for name in ("market-watch", "order-ticket") if name in docks]
        if len(column) == 2:
            self.resizeDocks(column, [190, 400], _V)

    def showEvent(self, event: QtGui.QShowEvent) -> None:
        """Dock sizes only take once the window has its size: apply the default ones on the first show."""
        super().showEvent(event)
        if not self._shown_once:
            self._shown_once = True
            if not self._restored:
                QtCore.QTimer.singleShot(0, self._size_default)

    def _specs(self) -> list[PanelSpec]:
        return [dock.spec for dock in self.docks.values()]

    def reset_layout(self) -> None:
        """Back to the default arrangement, every default panel shown."""
        for dock in self.docks.values():
            dock.setFloating(False)
            dock.setVisible(dock.spec.visible)
        self.restoreState(self._default_state)
        self._size_default()

    # --- workspaces ------------------------------------------------------------------------------------------------

    def current_workspace(self, name: str) -> Workspace:
        panels: dict[str, dict[str, object]] = {}
        for panel_name, dock in self.docks.items():
            entry: dict[str, object] = {"visible": dock.isVisible()}
            if isinstance(dock.panel, Panel):
                entry["state"] = dict(dock.panel.save_state())
            panels[panel_name] = entry
        return Workspace(
            name=name,
            window_state=bytes(self.saveState().data()),
            geometry=bytes(self.saveGeometry().data()),
            panels=panels,
            theme=self.context.theme.name,
        )

    def save_workspace(self, name: str | None = None) -> None:
        name = name or self.workspace_name
        try:
            self.workspaces.save(self.current_workspace(name))
        except (OSError, WorkspaceError) as error:
            self._report(f"workspace {name} not saved: {error}")
            return
        self.workspace_name = name

    def load_workspace(self, name: str) -> bool:
        try:
            workspace = self.workspaces.load(name)
        except WorkspaceError as error:
            self._report(str(error))
            return False
        self.restoreGeometry(QtCore.QByteArray(workspace.geometry))
        self.restoreState(QtCore.QByteArray(workspace.window_state))
        for panel_name, entry in workspace.panels.items():
            dock = self.docks.get(panel_name)
            if dock is None:
                continue
            dock.setVisible(bool(entry.get("visible", True)))
            saved = entry.get("state")
            if isinstance(dock.panel, Panel) and isinstance(saved, dict):
                dock.panel.restore_state(saved)
        if workspace.theme != self.context.theme.name:
            self.set_theme(workspace.theme)
        self.workspace_name = name
        return True

    def _report(self, message: str) -> None:
        log.warning(message)
        self.state.audit.add(self.state.now_ns(), Severity.WARNING, "desktop", message)
        self.statusBar().showMessage(message, 10_000)

    # --- menus, hotkeys ----------------------------------------------------------------------------------------------

    def _build_menus(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        self._action(file_menu, "Save workspace", lambda: self.save_workspace())
        self._action(file_menu, "Save workspace as…", self._save_as)
        self.workspace_menu = file_menu.addMenu("Open workspace")
        self.workspace_menu.aboutToShow.connect(self._fill_workspace_menu)
        self._action(file_menu, "Reset layout", self.reset_layout)
        file_menu.addSeparator()
        self._action(file_menu, "Quit", self.close)
        view = bar.addMenu("&View")
        for dock in self.docks.values():
            view.addAction(dock.toggleViewAction())
        view.addSeparator()
        themes = view.addMenu("Theme")
        for name in THEMES:
            self._action(themes, name.capitalize(), lambda checked=False, n=name: self.set_theme(n))
        trading = bar.addMenu("&Trading")
        commands = self.context.commands

        def guarded(what: str, slot: Callable[[], object]) -> Callable[[], object]:
            return lambda: self._trade(what, slot)

        self.actions_by_name = {
            "buy_at_best": self._action(trading, "Buy at best offer", guarded("Buy", lambda: self._at_best(Side.BUY))),
            "sell_at_best": self._action(
                trading, "Sell at best bid", guarded("Sell", lambda: self._at_best(Side.SELL))
            ),
            "cancel_all": self._action(trading, "Cancel all orders", guarded("Cancel all", commands.cancel_all)),
            "flatten_all": self._action(trading, "Flatten all…", guarded("Flatten all", commands.flatten_all)),
            "kill_switch": self._action(trading, "Kill switch…", guarded("Kill switch", commands.kill_switch)),
        }
        self._action(trading, "Release kill switch", guarded("Release kill switch", commands.release_kill_switch))

    def _trade(self, what: str, slot: Callable[[], object]) -> None:
        """Run a trading action; in a read-only session the commands refuse it and the status bar says why."""
        refusal = self.context.commands.refusal
        slot()  # refused inside the commands when read-only (and written to the audit log there)
        if refusal is not None:
            self.statusBar().showMessage(f"{what}: not sent, {refusal}", 10_000)

    def _action(self, menu: QtWidgets.QMenu, text: str, slot: Callable[[], object]) -> QtGui.QAction:
        action = menu.addAction(text)
        action.triggered.connect(lambda checked=False: slot())
        return action

    def bind_hotkeys(self) -> None:
        """(Re)bind the configurable hotkeys of the settings to their actions, application-wide."""
        for shortcut in self._shortcuts:
            shortcut.setEnabled(False)
            shortcut.deleteLater()
        self._shortcuts = []
        for name, keys in self.context.settings.hotkeys.items():
            action = self.actions_by_name.get(name)
            if action is None or not keys:
                continue
            action.setShortcut(QtGui.QKeySequence(keys))
            action.setShortcutContext(QtCore.Qt.ShortcutContext.ApplicationShortcut)

    def _save_as(self) -> None:
        name, accepted = QtWidgets.QInputDialog.getText(self, "Save workspace", "Name:", text=self.workspace_name)
        if accepted and name.strip():
            self.save_workspace(name.strip())

    def _fill_workspace_menu(self) -> None:
        self.workspace_menu.clear()
        for name in self.workspaces.names():
            self._action(self.workspace_menu, name, lambda n=name: self.load_workspace(n))

    def set_theme(self, name: str) -> None:
        """Switch the style sheet and colours (plots created before keep their background until reopened)."""
        try:
            theme = load_theme(name)
        except (OSError, ValueError) as error:
            self._report(f"theme {name} not applied: {error}")
            return
        self.context.theme = theme
        self.context.settings.theme = name
        app = QtWidgets.QApplication.instance()
        if isinstance(app, QtWidgets.QApplication):
            apply_theme(app, theme)

    # --- the active instrument ---------------------------------------------------------------------------------------

    def _focus_changed(self, _old: QtWidgets.QWidget | None, new: QtWidgets.QWidget | None) -> None:
        widget = new
        while widget is not None:
            if isinstance(widget, Panel) and widget.linkable:
                self._active_panel = widget
                return
            widget = widget.parentWidget()

    def active_instrument(self) -> str:
        """The instrument hotkeys trade: that of the panel last focused, else the order book's, else the first."""
        if self._active_panel is not None:
            return self._active_panel.instrument
        book = self.panel("order-book")
        if isinstance(book, Panel):
            return book.instrument
        return self.state.symbols[0]

    def _at_best(self, side: Side) -> None:
        self.context.commands.at_best(self.active_instrument(), side)

    # --- timers, closing ---------------------------------------------------------------------------------------------

    def _each_second(self) -> None:
        self.state.positions.sample_equity(self.state.now_ns())
        self.status.tick()

    def closeEvent(self, event: QtGui.QCloseEvent) -> None:
        """Keep the layout in the current workspace and the settings for next time."""
        self.frame_timer.stop()
        self.second_timer.stop()
        self.save_workspace()
        try:
            save_settings(self.paths, self.context.settings)
        except OSError as error:
            log.warning("settings not saved: %s", error)
        super().closeEvent(event)
