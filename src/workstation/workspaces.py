"""Named workspaces: the dock layout, each panel's own state and the theme, saved as JSON files.

Files live in the desktop's config directory (``workspaces/<name>.json``); the workspace in use when the window
closed is reopened next time. A file that cannot be read raises :class:`WorkspaceError` naming it; the window
then keeps its current layout and reports the problem.
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DEFAULT_WORKSPACE = "default"
_LAST = "last-workspace.txt"
_NAME = re.compile(r"^[\w][\w .-]{0,63}$")


class WorkspaceError(ValueError):
    """A workspace that cannot be saved or read, with the file and the reason."""


@dataclass(slots=True, kw_only=True)
class Workspace:
    """One saved layout: Qt's dock state and geometry, each panel's state (by panel name), the theme."""

    name: str
    window_state: bytes
    geometry: bytes
    panels: dict[str, dict[str, Any]] = field(default_factory=dict)
    theme: str = "dark"

    def to_json(self) -> str:
        return json.dumps(
            {
                "name": self.name,
                "window_state": base64.b64encode(self.window_state).decode("ascii"),
                "geometry": base64.b64encode(self.geometry).decode("ascii"),
                "panels": self.panels,
                "theme": self.theme,
            },
            indent=2,
        )

    @classmethod
    def from_json(cls, text: str, source: str) -> Workspace:
        try:
            data = json.loads(text)
            return cls(
                name=str(data["name"]),
                window_state=base64.b64decode(data["window_state"], validate=True),
                geometry=base64.b64decode(data["geometry"], validate=True),
                panels={str(key): dict(value) for key, value in dict(data.get("panels", {})).items()},
                theme=str(data.get("theme", "dark")),
            )
        except (ValueError, KeyError, TypeError) as error:
            raise WorkspaceError(f"{source}: not a workspace file ({type(error).__name__}: {error})") from error


class WorkspaceStore:
    """The workspaces of one user, in ``directory``."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def _path(self, name: str) -> Path:
        if not _NAME.match(name):
            raise WorkspaceError(f"workspace name {name!r}: use letters, digits, spaces, dots and dashes")
        return self.directory / f"{name}.json"

    def names(self) -> list[str]:
        if not self.directory.is_dir():
            return []
        return sorted(path.stem for path in self.directory.glob("*.json"))

    def save(self, workspace: Workspace) -> Path:
        """Write ``workspace`` atomically and remember it as the one in use."""
        path = self._path(workspace.name)
        self.directory.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(".tmp")
        temporary.write_text(workspace.to_json(), encoding="utf-8")
        temporary.replace(path)
        (self.directory / _LAST).write_text(workspace.name, encoding="utf-8")
        return path

    def load(self, name: str) -> Workspace:
        path = self._path(name)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as error:
            raise WorkspaceError(f"{path}: cannot read ({error.strerror or error})") from error
        return Workspace.from_json(text, str(path))

    def last_used(self) -> str | None:
        """The workspace in use when the window last closed, if it still exists."""
        marker = self.directory / _LAST
        try:
            name = marker.read_text(encoding="utf-8").strip()
        except OSError:
            return None
        return name if name in self.names() else None
