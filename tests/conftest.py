"""Shared fixtures: a real engine on the simulated exchange under a simulated clock."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator

import pytest

from core.events import CancelReject, ExecutionReport, RiskEvent
from engine.assembly import build_engine
from engine.backtest import SESSION_START_NS
from engine.clock import SimulatedScheduler
from engine.config import EngineConfig, load_config
from engine.engine import Engine
from engine.plugins import PluginRegistry, load_plugins

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # Qt tests run headless, whatever the user's session


@pytest.fixture(scope="session")
def registry() -> PluginRegistry:
    """The built-in plugins only: tests never load whatever happens to be installed."""
    return load_plugins(builtins=True, entry_points=False)


@pytest.fixture(scope="session")
def config() -> EngineConfig:
    return load_config(None)


class Recorder:
    """Collects what the engine publishes, for assertions."""

    def __init__(self, engine: Engine) -> None:
        self.reports: list[ExecutionReport] = []
        self.rejects: list[CancelReject] = []
        self.risk: list[RiskEvent] = []
        engine.bus.subscribe(ExecutionReport, self.reports.append)
        engine.bus.subscribe(CancelReject, self.rejects.append)
        engine.bus.subscribe(RiskEvent, self.risk.append)

    def for_order(self, client_order_id: str) -> list[ExecutionReport]:
        return [report for report in self.reports if report.client_order_id == client_order_id]


@pytest.fixture
def make_engine(registry: PluginRegistry, config: EngineConfig) -> Iterator[Callable[..., tuple[Engine, Recorder]]]:
    """Build and start an engine on the simulated exchange; stopped after the test."""
    started: list[Engine] = []

    def make(symbols: tuple[str, ...] = ("AAPL",), seed: int = 7, **kwargs: object) -> tuple[Engine, Recorder]:
        scheduler = SimulatedScheduler(SESSION_START_NS)
        engine = build_engine(config, registry, scheduler, symbols=symbols, seed=seed, **kwargs)  # type: ignore[arg-type]
        recorder = Recorder(engine)
        engine.start()
        started.append(engine)
        return engine, recorder

    yield make
    for engine in started:
        engine.stop()
