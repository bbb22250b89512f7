"""The dock that hosts one panel, and contains it: a panel that fails to build or to repaint shows its error
inside its own dock while the rest of the window goes on."""

from __future__ import annotations

import logging
import traceback

from PySide6 import QtCore, QtWidgets

from workstation.panel import Panel, PanelContext, PanelSpec
from workstation.state import Severity

log = logging.getLogger(__name__)


LARGE_PANEL = QtCore.QSize(600, 360)
"""A panel whose minimum size is beyond this scrolls inside its dock rather than forcing the layout around it."""


def _is_large(widget: QtWidgets.QWidget) -> bool:
    hint = widget.minimumSizeHint()
    return hint.width() > LARGE_PANEL.width() or hint.height() > LARGE_PANEL.height()


def _scrollable(widget: QtWidgets.QWidget) -> QtWidgets.QScrollArea:
    area = QtWidgets.QScrollArea()
    area.setWidgetResizable(True)
    area.setFrameShape(QtWidgets.QFrame.Shape.NoFrame)
    area.setWidget(widget)
    return area


class PanelError(QtWidgets.QWidget):
    """What a failed panel's dock shows: which panel, what went wrong, the traceback."""

    def __init__(self, spec: PanelSpec, what: str, details: str, colour: str) -> None:
        super().__init__()
        layout = QtWidgets.QVBoxLayout(self)
        title = QtWidgets.QLabel(f"Panel '{spec.title}' failed {what}")
        title.setStyleSheet(f"color: {colour}; font-weight: bold;")
        title.setObjectName("panel-error-title")
        text = QtWidgets.QPlainTextEdit(details)
        text.setReadOnly(True)
        layout.addWidget(title)
        layout.addWidget(text)
        self.details = details


class PanelDock(QtWidgets.QDockWidget):
    """A dock for ``spec``'s panel, built at once; failures are shown in place and written to the audit log."""

    def __init__(self, spec: PanelSpec, context: PanelContext, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(spec.title.replace("&", "&&"), parent)
        self.spec = spec
        self.context = context
        self.setObjectName(f"panel:{spec.name}")
        self.setFeatures(
            QtWidgets.QDockWidget.DockWidgetFeature.DockWidgetClosable
            | QtWidgets.QDockWidget.DockWidgetFeature.DockWidgetMovable
            | QtWidgets.QDockWidget.DockWidgetFeature.DockWidgetFloatable
        )
        self.panel: QtWidgets.QWidget | None = None
        self.error: PanelError | None = None
        try:
            widget = spec.factory(context)
            if not isinstance(widget, QtWidgets.QWidget):
                raise TypeError(f"the factory returned {type(widget).__name__}, not a QWidget")
        except Exception:  # noqa: BLE001 - plugin code: contain it in this dock
            self._fail("to open", traceback.format_exc())
            return
        self.panel = widget
        if isinstance(widget, Panel):
            widget.failed.connect(lambda details: self._fail("while repainting", details))
        self.setWidget(_scrollable(widget) if _is_large(widget) else widget)

    def _fail(self, what: str, details: str) -> None:
        log.error("panel %s failed %s:\n%s", self.spec.name, what, details)
        last_line = details.strip().splitlines()[-1] if details.strip() else "unknown error"
        state = self.context.state
        state.audit.add(state.now_ns(), Severity.ERROR, "panel", f"{self.spec.name} failed {what}: {last_line}")
        self.error = PanelError(self.spec, what, details, self.context.theme.hex("reject"))
        old = self.widget()
        self.setWidget(self.error)
        if old is not None:
            old.deleteLater()
        self.panel = None

    @property
    def failed(self) -> bool:
        return self.error is not None

    def sizeHint(self) -> QtCore.QSize:
        return QtCore.QSize(360, 240)
