"""A thin header or status strip drawn like the ladder's, so widgets beside the ladder line up with its rows."""

from __future__ import annotations

from PySide6 import QtCore, QtGui, QtWidgets

from workstation.plugins.order_book.style import Palette, paint_strip


class TextStrip(QtWidgets.QWidget):
    """A fixed-height strip with a left text and a muted right text."""

    def __init__(
        self, palette: Palette, font: QtGui.QFont, height: int, *, bottom_line: bool = True,
        parent: QtWidgets.QWidget | None = None,
    ) -> None:  # fmt: skip
        super().__init__(parent)
        self._palette = palette
        self._font = font
        self._bottom_line = bottom_line
        self.left = ""
        self.right = ""
        self.setFixedHeight(height)
        self.setSizePolicy(QtWidgets.QSizePolicy.Policy.Ignored, QtWidgets.QSizePolicy.Policy.Fixed)

    def set_texts(self, left: str, right: str = "") -> None:
        """Show ``left`` and ``right``; repaints only when they changed."""
        if (left, right) != (self.left, self.right):
            self.left, self.right = left, right
            self.update()

    def paintEvent(self, event: QtGui.QPaintEvent) -> None:
        painter = QtGui.QPainter(self)
        try:
            painter.setFont(self._font)
            rect = QtCore.QRect(0, 0, self.width(), self.height())
            paint_strip(painter, rect, self._palette, self.left, self.right, bottom_line=self._bottom_line)
        finally:
            painter.end()
