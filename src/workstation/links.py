"""Instrument link groups: panels joined by a colour follow the instrument chosen in any of them."""

from __future__ import annotations

from PySide6 import QtCore

LINK_COLOURS: dict[str, str] = {"red": "#e05252", "green": "#4caf50", "blue": "#4a90e2", "yellow": "#e0c341"}
"""The link groups and the colour each is drawn with."""


class LinkGroups(QtCore.QObject):
    """The current instrument of each link group; ``changed(group, symbol)`` when one changes."""

    changed = QtCore.Signal(str, str)

    def __init__(self, default_symbol: str = "") -> None:
        super().__init__()
        self._current = dict.fromkeys(LINK_COLOURS, default_symbol)

    def instrument(self, group: str) -> str:
        return self._current.get(group, "")

    def set_instrument(self, group: str, symbol: str) -> None:
        """Make ``symbol`` the instrument of ``group`` and tell every panel of it."""
        if group not in self._current or self._current[group] == symbol:
            return
        self._current[group] = symbol
        self.changed.emit(group, symbol)
