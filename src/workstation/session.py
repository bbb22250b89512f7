"""One desktop session: an engine client connected, the state loaded and fed, and the panel context around it."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from engine.client.embedded import EmbeddedClient
from engine.client.protocol import EngineClient
from engine.clock import AsyncioScheduler
from engine.config import EngineConfig
from engine.plugins import PluginRegistry
from engine.runtime import LiveRuntime
from workstation.commands import Commands, Confirm
from workstation.links import LinkGroups
from workstation.panel import FrameClock, PanelContext
from workstation.settings import DesktopSettings
from workstation.state import DesktopState
from workstation.theme import Theme


def embedded_client(
    config: EngineConfig,
    registry: PluginRegistry,
    loop: asyncio.AbstractEventLoop,
    *,
    db_url: str | None = None,
    seed: int | None = None,
) -> EmbeddedClient:
    """A client over an engine that will run on ``loop`` (started by ``connect``)."""
    runtime = LiveRuntime(config, registry, AsyncioScheduler(loop), db_url=db_url, seed=seed)
    return EmbeddedClient(runtime)


@dataclass(slots=True)
class DesktopSession:
    """The connected client, the desktop's state and the context every panel is built with."""

    client: EngineClient
    state: DesktopState
    context: PanelContext

    @property
    def commands(self) -> Commands:
        return self.context.commands


async def open_session(
    client: EngineClient, settings: DesktopSettings, theme: Theme, confirm: Confirm
) -> DesktopSession:
    """Connect ``client``, load the engine's snapshots into a new state and start feeding it events.

    Events that arrive while the snapshots load are applied as they come; the book applies only updates newer
    than its snapshot and the tables key rows by id, so nothing is counted twice.
    """
    info = await client.connect()
    state = DesktopState(info)
    client.subscribe(state.on_event)
    await state.load(client)
    if settings.account not in info.accounts and info.accounts:
        settings.account = info.accounts[0]
    commands = Commands(client, state, settings, confirm)
    links = LinkGroups(state.symbols[0] if state.symbols else "")
    context = PanelContext(
        client=client, state=state, commands=commands, links=links, settings=settings, theme=theme,
        frames=FrameClock(),
    )  # fmt: skip
    return DesktopSession(client, state, context)
