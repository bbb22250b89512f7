"""The simulated market a backtest runs on, and the engine configuration and plugins a worker process builds.

Imported by worker processes: it keeps to the engine's configuration and plugins (no storage, no Qt).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from engine.config import EngineConfig, load_config
from engine.plugins import PluginRegistry, load_plugins


@dataclass(frozen=True, slots=True, kw_only=True)
class Scenario:
    """A simulated market to test on: a configuration file's instruments and simulator, or the defaults."""

    name: str
    config_path: str | None = None

    def load(self) -> EngineConfig:
        """The engine configuration of this scenario (raises ``ConfigError`` for a bad file)."""
        return load_config(self.config_path)


@cache
def environment(config_path: str | None) -> tuple[EngineConfig, PluginRegistry]:
    """The configuration and plugin registry of a worker process, built once per process and scenario."""
    return load_config(config_path), load_plugins()
