"""Themes: a Qt style sheet and the colours panels and plots draw with, from ``resources/themes``."""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import pyqtgraph as pg
from PySide6 import QtGui, QtWidgets

THEMES = ("dark", "light")


def resource_dir() -> Path:
    """The ``resources`` directory: inside the installed package, or at the top of a source checkout."""
    packaged = Path(str(resources.files("workstation"))) / "resources"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[2] / "resources"


@dataclass(frozen=True, slots=True)
class Theme:
    """A named theme: its style sheet and its colours by role (``bid``, ``ask``, ``heatmap``...)."""

    name: str
    style_sheet: str
    colours: dict[str, Any]

    def colour(self, role: str) -> QtGui.QColor:
        """The colour of ``role`` (``foreground`` for an unknown role)."""
        value = self.colours.get(role, self.colours["foreground"])
        return QtGui.QColor(value)

    def hex(self, role: str) -> str:
        return str(self.colours.get(role, self.colours["foreground"]))

    def heatmap_colours(self) -> list[str]:
        return list(self.colours["heatmap"])


def load_theme(name: str) -> Theme:
    """The theme ``name``; raises ``ValueError`` naming the known ones when there is no such theme."""
    if name not in THEMES:
        raise ValueError(f"no theme named {name!r}; available: {', '.join(THEMES)}")
    folder = resource_dir() / "themes"
    colours = json.loads((folder / f"{name}.json").read_text(encoding="utf-8"))
    return Theme(name, (folder / f"{name}.qss").read_text(encoding="utf-8"), colours)


def apply_theme(app: QtWidgets.QApplication, theme: Theme) -> None:
    """Style the application and pyqtgraph's defaults with ``theme``."""
    app.setStyleSheet(theme.style_sheet)
    pg.setConfigOptions(background=theme.hex("background"), foreground=theme.hex("foreground"), antialias=False)
