"""The log panel: the desktop's audit trail (engine status, risk events, rejects with their reasons, plugin
failures, connection changes) in a virtual table, newest at the bottom, filterable by severity, source and text."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from itertools import islice
from typing import Any

from PySide6 import QtCore, QtGui, QtWidgets

from workstation.hookspecs import hookimpl
from workstation.panel import Panel, PanelContext, PanelSpec
from workstation.state.audit import AuditEntry, AuditLog, Severity
from workstation.theme import Theme
from workstation.widgets import dense_table, time_text

Qt = QtCore.Qt
COLUMNS = ("Time", "Severity", "Source", "Message")
WARNINGS_AND_ERRORS = "warning+"
"""Severity filter: warnings and errors."""
_SEVERITY_ROLE = {Severity.INFO: "foreground", Severity.WARNING: "warning", Severity.ERROR: "reject"}


@dataclass(frozen=True, slots=True)
class LogFilter:
    """Which entries to show: a severity (a :class:`Severity` value or :data:`WARNINGS_AND_ERRORS`), a source,
    and whitespace-separated terms that must all appear in the source or message (case-insensitive)."""

    severity: str | None = None
    source: str | None = None
    text: str = ""

    def accepts(self, entry: AuditEntry) -> bool:
        """Whether ``entry`` passes the filter."""
        if self.severity == WARNINGS_AND_ERRORS:
            if entry.severity is Severity.INFO:
                return False
        elif self.severity is not None and entry.severity != self.severity:
            return False
        if self.source is not None and entry.source != self.source:
            return False
        if self.text:
            line = f"{entry.source} {entry.message}".lower()
            return all(term in line for term in self.text.lower().split())
        return True


class AuditModel(QtCore.QAbstractTableModel):
    """The entries of an :class:`AuditLog` that pass a :class:`LogFilter`, oldest first.

    New entries are appended as rows (no reset), the oldest dropped beyond the log's capacity; a filter change
    rebuilds the list once.
    """

    def __init__(self, log: AuditLog, theme: Theme, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self.log = log
        self._entries: list[AuditEntry] = []
        self._filter = LogFilter()
        self._seen = 0
        self._dirty = True
        self._capacity = log.entries.maxlen or 100_000
        self._colours = {severity: theme.colour(role) for severity, role in _SEVERITY_ROLE.items()}
        self._muted = theme.colour("muted")
        self.sources: list[str] = []
        """Every source seen, in order of first appearance."""

    @property
    def entries(self) -> list[AuditEntry]:
        """The entries shown, oldest first (read-only)."""
        return self._entries

    @property
    def log_filter(self) -> LogFilter:
        return self._filter

    def set_filter(self, log_filter: LogFilter) -> None:
        """Show only the entries ``log_filter`` accepts (from the next :meth:`refresh`)."""
        if log_filter != self._filter:
            self._filter = log_filter
            self._dirty = True

    def refresh(self) -> bool:
        """Take the entries added since the last call; True when rows were added or the list rebuilt."""
        added = self.log.total - self._seen
        if not self._dirty and added == 0:
            return False
        held = self.log.entries
        if self._dirty or added > len(held):
            self._seen = self.log.total
            self._dirty = False
            self._note_sources(held)
            self.beginResetModel()
            self._entries = [entry for entry in held if self._filter.accepts(entry)]
            self.endResetModel()
            return True
        self._seen = self.log.total
        new = list(islice(reversed(held), added))[::-1]
        self._note_sources(new)
        accepted = [entry for entry in new if self._filter.accepts(entry)]
        if not accepted:
            return False
        overflow = len(self._entries) + len(accepted) - self._capacity
        if overflow > 0:
            self.beginRemoveRows(QtCore.QModelIndex(), 0, overflow - 1)
            del self._entries[:overflow]
            self.endRemoveRows()
        first = len(self._entries)
        self.beginInsertRows(QtCore.QModelIndex(), first, first + len(accepted) - 1)
        self._entries.extend(accepted)
        self.endInsertRows()
        return True

    def _note_sources(self, entries: Any) -> None:
        known = set(self.sources)
        for entry in entries:
            if entry.source not in known:
                known.add(entry.source)
                self.sources.append(entry.source)

    def rowCount(self, parent: QtCore.QModelIndex | QtCore.QPersistentModelIndex = QtCore.QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._entries)

    def columnCount(self, parent: QtCore.QModelIndex | QtCore.QPersistentModelIndex = QtCore.QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section] if 0 <= section < len(COLUMNS) else None
        return None

    def data(
        self, index: QtCore.QModelIndex | QtCore.QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if not index.isValid() or index.row() >= len(self._entries):
            return None
        entry = self._entries[index.row()]
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return self.text(entry, column)
        if role == Qt.ItemDataRole.ForegroundRole:
            if column == 0:
                return self._muted
            return self._colours[entry.severity] if column in (1, 3) or entry.severity is not Severity.INFO else None
        if role == Qt.ItemDataRole.ToolTipRole and column == 3:
            return entry.message
        return None

    @staticmethod
    def text(entry: AuditEntry, column: int) -> str:
        """The cell of ``entry`` in ``column`` as shown."""
        if column == 0:
            return time_text(entry.ts_ns)
        if column == 1:
            return entry.severity.value.upper()
        if column == 2:
            return entry.source
        return entry.message


class AuditLogPanel(Panel):
    """The log: every audit entry with its time to the microsecond, severity, source and message.

    Follows the newest entry unless the trader has scrolled up to read older ones.
    """

    linkable = False

    def __init__(self, context: PanelContext, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(context, parent)
        self.model = AuditModel(context.state.audit, context.theme, self)
        self.severity_combo = QtWidgets.QComboBox()
        for label, value in (("All severities", None), ("Warnings and errors", WARNINGS_AND_ERRORS),
                             ("Info", Severity.INFO.value), ("Warning", Severity.WARNING.value),
                             ("Error", Severity.ERROR.value)):  # fmt: skip
            self.severity_combo.addItem(label, value)
        self.source_combo = QtWidgets.QComboBox()
        self.source_combo.addItem("All sources", None)
        self.source_combo.setMinimumContentsLength(10)
        self.search = QtWidgets.QLineEdit()
        self.search.setPlaceholderText("Search messages")
        self.search.setClearButtonEnabled(True)
        self.count_label = QtWidgets.QLabel()
        self.count_label.setStyleSheet(f"color: {context.theme.hex('muted')};")

        self.view = dense_table(self.model)
        metrics = self.view.fontMetrics()
        header = self.view.horizontalHeader()
        header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        for section, sample in enumerate(("00:00:00.000000", "WARNING", "connection")):
            header.resizeSection(section, metrics.horizontalAdvance(sample) + 18)

        bar = QtWidgets.QHBoxLayout()
        bar.setContentsMargins(4, 4, 4, 2)
        bar.setSpacing(4)
        bar.addWidget(self.severity_combo)
        bar.addWidget(self.source_combo)
        bar.addWidget(self.search, 1)
        bar.addWidget(self.count_label)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addLayout(bar)
        layout.addWidget(self.view, 1)

        self.severity_combo.currentIndexChanged.connect(self._filters_changed)
        self.source_combo.currentIndexChanged.connect(self._filters_changed)
        self.search.textChanged.connect(self._filters_changed)
        copy = QtGui.QShortcut(QtGui.QKeySequence.StandardKey.Copy, self.view)
        copy.setContext(Qt.ShortcutContext.WidgetShortcut)
        copy.activated.connect(self.copy_selection)
        self._counted: tuple[int, int] = (-1, -1)

    def set_filter(self, *, severity: str | None = None, source: str | None = None, text: str = "") -> None:
        """Set the bar's filters (None: all)."""
        self._add_sources()
        for combo, value in ((self.severity_combo, severity), (self.source_combo, source)):
            if value is not None and combo.findData(value) < 0:
                combo.addItem(value, value)
            combo.setCurrentIndex(max(combo.findData(value), 0))
        self.search.setText(text)

    def _filters_changed(self) -> None:
        self.model.set_filter(
            LogFilter(self.severity_combo.currentData(), self.source_combo.currentData(), self.search.text())
        )

    def _add_sources(self) -> None:
        for source in self.model.sources[self.source_combo.count() - 1 :]:
            if self.source_combo.findData(source) < 0:
                self.source_combo.addItem(source, source)

    @property
    def following(self) -> bool:
        """Whether the view shows the newest entry (it then keeps doing so as entries arrive)."""
        bar = self.view.verticalScrollBar()
        return bar.value() >= bar.maximum()

    def refresh(self) -> None:
        """Take the new entries; stay at the bottom if the trader was there."""
        follow = self.following
        if self.model.refresh():
            self._add_sources()
            if follow:
                self.view.scrollToBottom()
        counted = (len(self.model.entries), self.model.log.total)
        if counted != self._counted:
            self._counted = counted
            self.count_label.setText(f"{counted[0]:,} of {len(self.model.log.entries):,} entries")

    def copy_selection(self) -> None:
        """Copy the selected entries to the clipboard as tab-separated lines."""
        rows = sorted({index.row() for index in self.view.selectionModel().selectedRows()})
        lines = ["\t".join(AuditModel.text(self.model.entries[row], column) for column in range(len(COLUMNS)))
                 for row in rows]  # fmt: skip
        QtWidgets.QApplication.clipboard().setText("\n".join(lines))

    def save_state(self) -> Mapping[str, Any]:
        log_filter = self.model.log_filter
        return {"severity": log_filter.severity, "source": log_filter.source, "text": log_filter.text}

    def restore_state(self, state: Mapping[str, Any]) -> None:
        severity, source, text = (state.get(key) for key in ("severity", "source", "text"))
        self.set_filter(
            severity=severity if isinstance(severity, str) else None,
            source=source if isinstance(source, str) else None,
            text=text if isinstance(text, str) else "",
        )


@hookimpl
def register_panels() -> list[PanelSpec]:
    """The log, tabbed with the blotter."""
    return [
        PanelSpec(
            name="audit-log", title="Log", factory=AuditLogPanel, area="bottom", tab_with="blotter",
            description="Audit trail: rejects with their reasons, risk events, engine and connection status",
        )
    ]  # fmt: skip
