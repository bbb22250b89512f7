"""A real desktop session for panel tests: an embedded engine on the simulated market, on a qasync loop."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
import qasync
from PySide6 import QtWidgets

from engine.config import EngineConfig
from engine.plugins import PluginRegistry
from workstation.session import DesktopSession, embedded_client, open_session
from workstation.settings import DesktopSettings
from workstation.theme import apply_theme, load_theme

T = TypeVar("T")


class Desktop:
    """A connected session and its loop. ``pump`` lets the market (and Qt) run for a while."""

    def __init__(self, loop: qasync.QEventLoop, session: DesktopSession) -> None:
        self.loop = loop
        self.session = session
        self.state = session.state
        self.context = session.context
        self.commands = session.commands
        self.confirmations: list[str] = []

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return self.loop.run_until_complete(coroutine)

    def pump(self, seconds: float) -> None:
        """Run the event loop (engine, market, Qt) for ``seconds``, then deliver every pending command."""
        self.run(asyncio.sleep(seconds))
        self.run(self.commands.drain())

    def frame(self) -> None:
        """Fire one display frame: every visible panel repaints from the state."""
        self.context.frames.frame.emit()

    def wait_for(self, condition: Any, timeout: float = 10.0, step: float = 0.02) -> None:
        """Pump until ``condition()`` is true; fails the test after ``timeout`` seconds."""
        for _ in range(int(timeout / step)):
            if condition():
                return
            self.pump(step)
        assert condition(), f"condition not met within {timeout} s"


@pytest.fixture
def desktop(
    qapp: QtWidgets.QApplication, tmp_path: Path, registry: PluginRegistry, config: EngineConfig
) -> Iterator[Desktop]:
    """An embedded engine on the default simulated market (fresh database), connected and loaded."""
    loop = qasync.QEventLoop(qapp)
    asyncio.set_event_loop(loop)
    theme = load_theme("dark")
    apply_theme(qapp, theme)
    client = embedded_client(config, registry, loop, db_url=f"sqlite:///{tmp_path / 'engine.db'}", seed=11)
    settings = DesktopSettings()
    holder: list[Desktop] = []

    def confirm(title: str, question: str) -> bool:
        holder[0].confirmations.append(title)
        return True

    session = loop.run_until_complete(open_session(client, settings, theme, confirm))
    harness = Desktop(loop, session)
    holder.append(harness)
    harness.pump(0.3)
    yield harness
    loop.run_until_complete(session.commands.drain())
    loop.run_until_complete(client.close())
    asyncio.set_event_loop(None)
    loop.close()
