"""The Qt binding in use must not corrupt the interpreter: PySide6 6.12 on Python 3.11 drops a reference to None on
every call that returns nothing, and the desktop aborts after a few thousand repaints (hence the pin in
pyproject.toml)."""

from __future__ import annotations

import sys

from PySide6 import QtCore, QtGui, QtWidgets


def test_painting_keeps_none_alive(qapp: QtWidgets.QApplication) -> None:
    image = QtGui.QImage(64, 32, QtGui.QImage.Format.Format_ARGB32)
    painter = QtGui.QPainter(image)
    colour = QtGui.QColor("#3d8bfd")
    rect = QtCore.QRect(0, 0, 30, 10)
    before = sys.getrefcount(None)
    for _ in range(500):
        painter.setPen(colour)
        painter.fillRect(rect, colour)
        painter.drawLine(0, 0, 5, 5)
        painter.save()
        painter.restore()
    after = sys.getrefcount(None)
    painter.end()

    assert after >= before - 50, f"None lost {before - after} references in 2,500 Qt calls"
