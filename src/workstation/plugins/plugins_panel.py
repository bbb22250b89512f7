"""The plugins panel: every plugin of the engine and of the desktop, where it came from, whether it loaded, what
it registers, and why a failed one failed."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from PySide6 import QtCore, QtWidgets

from workstation.hookspecs import hookimpl
from workstation.panel import Panel, PanelContext, PanelSpec
from workstation.theme import Theme
from workstation.widgets import dense_table

Qt = QtCore.Qt
COLUMNS = ("Plugin", "Source", "Status", "Registers", "Reason")
_STATUS_ROLE = {"loaded": "profit", "failed": "reject", "disabled": "muted"}


def _registers_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, Sequence):
        return ", ".join(str(item) for item in value)
    return "" if value is None else str(value)


class PluginModel(QtCore.QAbstractTableModel):
    """The plugin report (dicts with ``name``, ``source``, ``status``, ``registers``, ``reason``) as a table;
    failed plugins in the theme's reject colour."""

    def __init__(self, theme: Theme, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self._plugins: list[dict[str, Any]] = []
        self._colours = {status: theme.colour(role) for status, role in _STATUS_ROLE.items()}
        self._muted = theme.colour("muted")

    @property
    def plugins(self) -> list[dict[str, Any]]:
        """The plugins shown, in report order (read-only)."""
        return self._plugins

    def set_plugins(self, plugins: Sequence[Mapping[str, Any]]) -> bool:
        """Show ``plugins``; False when they are what is shown already."""
        fresh = [dict(plugin) for plugin in plugins]
        if fresh == self._plugins:
            return False
        self.beginResetModel()
        self._plugins = fresh
        self.endResetModel()
        return True

    def rowCount(self, parent: QtCore.QModelIndex | QtCore.QPersistentModelIndex = QtCore.QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._plugins)

    def columnCount(self, parent: QtCore.QModelIndex | QtCore.QPersistentModelIndex = QtCore.QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section] if 0 <= section < len(COLUMNS) else None
        return None

    def text(self, row: int, column: int) -> str:
        """The cell at ``row``, ``column`` as shown."""
        plugin = self._plugins[row]
        if column == 3:
            return _registers_text(plugin.get("registers"))
        key = ("name", "source", "status", "registers", "reason")[column]
        value = plugin.get(key)
        return "" if value is None else str(value)

    def data(
        self, index: QtCore.QModelIndex | QtCore.QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if not index.isValid() or index.row() >= len(self._plugins):
            return None
        row, column = index.row(), index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return self.text(row, column)
        if role == Qt.ItemDataRole.ToolTipRole and column in (3, 4):
            return self.text(row, column) or None
        if role == Qt.ItemDataRole.ForegroundRole:
            status = str(self._plugins[row].get("status", ""))
            if status == "failed":
                return self._colours["failed"]
            if column == 2:
                return self._colours.get(status)
            if column == 1:
                return self._muted
        return None


class PluginsPanel(Panel):
    """Every plugin the engine and the desktop loaded or refused, with the reason for each failure."""

    linkable = False

    def __init__(self, context: PanelContext, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(context, parent)
        self.model = PluginModel(context.theme, self)
        self.summary = QtWidgets.QLabel()
        self.summary.setStyleSheet(f"color: {context.theme.hex('muted')};")
        self.view = dense_table(self.model)
        # Few rows: what a plugin registers and why it failed wrap onto as many lines as they need.
        self.view.setWordWrap(True)
        metrics = self.view.fontMetrics()
        rows = self.view.verticalHeader()
        rows.setSectionResizeMode(QtWidgets.QHeaderView.ResizeMode.ResizeToContents)
        rows.setMinimumSectionSize(metrics.height() + 4)
        header = self.view.horizontalHeader()
        header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        for section, sample in enumerate(("market-maker-plugin", "entry point package 0.0.0", "disabled")):
            header.resizeSection(section, metrics.horizontalAdvance(sample) + 18)
        header.resizeSection(3, metrics.horizontalAdvance("risk check max_order_quantity, " * 3) + 18)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        bar = QtWidgets.QHBoxLayout()
        bar.setContentsMargins(6, 4, 6, 4)
        bar.addWidget(self.summary, 1)
        layout.addLayout(bar)
        layout.addWidget(self.view, 1)
        self._shown: object = None
        self.refresh()

    def refresh(self) -> None:
        """Show the state's plugin report when it changed (the desktop replaces it when its own plugins load)."""
        plugins = self.context.state.plugins
        if plugins is self._shown and len(plugins) == self.model.rowCount():
            return
        self._shown = plugins
        if not self.model.set_plugins(plugins):
            return
        statuses = [str(plugin.get("status", "")) for plugin in self.model.plugins]
        failed = statuses.count("failed")
        text = f"{len(statuses)} plugins: {statuses.count('loaded')} loaded"
        if failed:
            text += f", {failed} failed"
        if statuses.count("disabled"):
            text += f", {statuses.count('disabled')} disabled"
        self.summary.setText(text)
        self.summary.setStyleSheet(f"color: {self.context.theme.hex('reject' if failed else 'muted')};")


@hookimpl
def register_panels() -> list[PanelSpec]:
    """The plugins panel, tabbed with the blotter."""
    return [
        PanelSpec(
            name="plugins", title="Plugins", factory=PluginsPanel, area="bottom", tab_with="blotter", visible=True,
            description="Every engine and desktop plugin: source, status, what it registers, why it failed",
        )
    ]  # fmt: skip
