"""The desktop's own settings (account, default quantities, hotkeys, theme) and where it keeps its files.

Settings live in ``desktop.json`` in the user's config directory (platformdirs), next to the saved workspaces.
A file that cannot be read is reported and left alone; the defaults are used for that run.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import platformdirs

APP_NAME = "workstation"

DEFAULT_HOTKEYS: dict[str, str] = {
    "buy_at_best": "F1",
    "sell_at_best": "F2",
    "cancel_all": "F3",
    "flatten_all": "Ctrl+Shift+F",
    "kill_switch": "Ctrl+Shift+K",
    "recenter": "Space",
}
"""Action -> key sequence (Qt's portable text form)."""


class SettingsError(ValueError):
    """A settings file that cannot be used, with the path and the reason."""


@dataclass(slots=True, kw_only=True)
class DesktopSettings:
    """What a trader sets once: the account to trade, quantities, hotkeys, theme and the ladder's depth."""

    account: str = "main"
    default_quantity: int = 100
    quick_quantities: tuple[int, ...] = (100, 500, 1_000, 5_000)
    hotkeys: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_HOTKEYS))
    theme: str = "dark"
    stale_feed_ms: int = 2_000
    """A feed older than this is shown as stale in the status bar."""
    confirm_dangerous: bool = True
    """Ask before the kill switch and flatten-all."""

    @classmethod
    def from_mapping(cls, data: dict[str, Any], source: str) -> DesktopSettings:
        known = {item.name for item in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise SettingsError(f"{source}: unknown setting(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        settings = cls()
        for key, value in data.items():
            current = getattr(settings, key)
            if key == "quick_quantities":
                value = tuple(value) if isinstance(value, list) else value
            if key == "hotkeys" and isinstance(value, dict):
                value = {**DEFAULT_HOTKEYS, **value}
            if type(value) is not type(current):
                raise SettingsError(f"{source}: {key} must be {type(current).__name__}, got {type(value).__name__}")
            setattr(settings, key, value)
        if settings.default_quantity <= 0 or any(q <= 0 for q in settings.quick_quantities):
            raise SettingsError(f"{source}: quantities must be positive")
        return settings

    def to_mapping(self) -> dict[str, Any]:
        data = asdict(self)
        data["quick_quantities"] = list(self.quick_quantities)
        return data


@dataclass(frozen=True, slots=True)
class DesktopPaths:
    """Where the desktop keeps its settings and workspaces."""

    config_dir: Path

    @classmethod
    def default(cls) -> DesktopPaths:
        return cls(Path(platformdirs.user_config_dir(APP_NAME)))

    @property
    def settings_file(self) -> Path:
        return self.config_dir / "desktop.json"

    @property
    def workspaces_dir(self) -> Path:
        return self.config_dir / "workspaces"


def load_settings(paths: DesktopPaths) -> tuple[DesktopSettings, str | None]:
    """The saved settings, or the defaults with the reason when the file is missing-but-fine (None) or bad."""
    path = paths.settings_file
    if not path.exists():
        return DesktopSettings(), None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict):
            raise SettingsError(f"{path}: expected a JSON object")
        return DesktopSettings.from_mapping(data, str(path)), None
    except (OSError, ValueError) as error:
        return DesktopSettings(), f"settings not loaded, defaults used: {error}"


def save_settings(paths: DesktopPaths, settings: DesktopSettings) -> None:
    """Write the settings atomically (a crash never leaves half a file)."""
    paths.config_dir.mkdir(parents=True, exist_ok=True)
    temporary = paths.settings_file.with_suffix(".tmp")
    temporary.write_text(json.dumps(settings.to_mapping(), indent=2), encoding="utf-8")
    temporary.replace(paths.settings_file)
