"""The desktop over FIX: the same panel scenarios as on the embedded engine, with the panels' client a
:class:`RemoteClient` logged on to an engine server on 127.0.0.1 (server and desktop share the qasync loop).

The scenarios are the panel tests themselves, run against the remote session: a panel cannot tell the clients
apart, so what a trader checks on the embedded engine holds over FIX too.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import qasync
from PySide6 import QtWidgets
from pytestqt.qtbot import QtBot

from engine.client.protocol import ConnectionState
from engine.client.remote import RemoteClient, RemoteEndpoint
from engine.clock import AsyncioScheduler
from engine.config import EngineConfig
from engine.fix.server import FixServer
from engine.fix.users import add_user
from engine.plugins import PluginRegistry
from engine.runtime import LiveRuntime
from engine.storage.db import open_database
from tests.workstation import test_blotter as blotter
from tests.workstation import test_order_book as order_book
from tests.workstation import test_pnl_panel as pnl
from tests.workstation.conftest import Desktop
from workstation.app import PASSWORD_VARIABLE
from workstation.session import open_session
from workstation.settings import DesktopSettings
from workstation.state import Severity
from workstation.theme import apply_theme, load_theme

PASSWORD = "desk-password"


class RemoteDesktop(Desktop):
    """A desktop session over FIX, with the engine server behind it."""

    def __init__(self, desktop: Desktop, server: FixServer, client: RemoteClient) -> None:
        super().__init__(desktop.loop, desktop.session)
        self.server = server
        self.client = client


@pytest.fixture
def remote_desktop(
    qapp: QtWidgets.QApplication, tmp_path: Path, registry: PluginRegistry, config: EngineConfig
) -> Iterator[RemoteDesktop]:
    """An engine server on the default simulated market and a desktop session connected to it as ``trader``."""
    loop = qasync.QEventLoop(qapp)
    asyncio.set_event_loop(loop)
    theme = load_theme("dark")
    apply_theme(qapp, theme)
    users = add_user_file(tmp_path / "users.toml")
    url = f"sqlite:///{tmp_path / 'engine.db'}"
    runtime = LiveRuntime(config, registry, AsyncioScheduler(loop), db_url=url, seed=11, commit_loop=loop)
    runtime.open()
    server = FixServer(runtime, database=open_database(url), users_path=users, host="127.0.0.1", port=0)
    runtime.start()
    _, port = loop.run_until_complete(server.start())
    client = RemoteClient(RemoteEndpoint(user="trader", host="127.0.0.1", port=port), PASSWORD, reconnect=False)
    holder: list[Desktop] = []

    def confirm(title: str, question: str) -> bool:
        holder[0].confirmations.append(title)
        return True

    session = loop.run_until_complete(open_session(client, DesktopSettings(), theme, confirm))
    harness = RemoteDesktop(Desktop(loop, session), server, client)
    holder.append(harness)
    harness.pump(0.3)
    yield harness
    loop.run_until_complete(session.commands.drain())
    loop.run_until_complete(client.close())
    loop.run_until_complete(server.stop())
    runtime.stop()
    asyncio.set_event_loop(None)
    loop.close()


def add_user_file(path: Path) -> Path:
    add_user(path, "trader", PASSWORD, accounts=["*"])
    return path


def test_the_session_is_the_servers(remote_desktop: RemoteDesktop) -> None:
    state = remote_desktop.state
    assert state.info.endpoint.startswith("fix://trader@127.0.0.1:")
    assert state.symbols == ("AAPL", "MSFT", "SPY", "QQQ")
    assert state.accounts == ("main",)
    assert state.connection is ConnectionState.CONNECTED
    remote_desktop.wait_for(lambda: state.market("AAPL").best_bid() is not None)


def test_ladder_click_to_trade_and_click_to_cancel(remote_desktop: RemoteDesktop, qtbot: QtBot) -> None:
    order_book.test_a_click_in_the_bid_column_buys_there_and_a_click_on_the_order_cancels_it(remote_desktop, qtbot)


def test_ladder_drag_moves_an_order(remote_desktop: RemoteDesktop, qtbot: QtBot) -> None:
    order_book.test_dragging_an_own_order_to_another_row_moves_it_there(remote_desktop, qtbot)


def test_ladder_marketable_click_fills_and_shows_the_position(remote_desktop: RemoteDesktop, qtbot: QtBot) -> None:
    order_book.test_a_marketable_click_fills_and_the_position_marker_appears(remote_desktop, qtbot)


def test_blotter_shows_orders_and_fills(remote_desktop: RemoteDesktop, qtbot: QtBot) -> None:
    blotter.test_orders_and_fills_appear_live_with_their_status(remote_desktop, qtbot)


def test_a_fill_moves_the_pnl(remote_desktop: RemoteDesktop, qtbot: QtBot) -> None:
    pnl.test_a_fill_shows_as_a_position_with_its_pnl(remote_desktop, qtbot)


def test_a_stopped_server_shows_as_disconnected(remote_desktop: RemoteDesktop) -> None:
    state = remote_desktop.state
    remote_desktop.run(remote_desktop.server.stop("maintenance"))
    remote_desktop.wait_for(lambda: state.connection is ConnectionState.DISCONNECTED, timeout=5)
    assert "maintenance" in state.connection_message
    entries = [entry for entry in state.audit.entries if entry.source == "connection"]
    assert entries[-1].severity is Severity.WARNING


@pytest.mark.slow
def test_the_workstation_connects_to_a_served_engine_with_the_password_from_the_environment(tmp_path: Path) -> None:
    users = add_user_file(tmp_path / "users.toml")
    serve = [
        sys.executable, "-m", "engine.cli", "serve", "--listen", "127.0.0.1:0", "--users", str(users),
        "--db", f"sqlite:///{tmp_path / 'server.db'}",
    ]  # fmt: skip
    server = subprocess.Popen(serve, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert server.stdout is not None
        line = ""
        for _ in range(20):
            line = server.stdout.readline()
            if line.startswith("listening on") or not line:
                break
        address = line.removeprefix("listening on").split()[0]
        url = f"fix://trader@{address}"
        env = {key: value for key, value in os.environ.items() if key != "QT_QPA_PLATFORM"}
        desk = [
            sys.executable, "-m", "workstation", "--connect", url, "--screenshot", str(tmp_path / "remote.png"),
            "--after", "0.5", "--config-dir", str(tmp_path / "config"),
        ]  # fmt: skip
        done = subprocess.run(
            desk, capture_output=True, text=True, timeout=120, check=False, env={**env, PASSWORD_VARIABLE: PASSWORD}
        )
        assert done.returncode == 0, done.stderr
        assert (tmp_path / "remote.png").stat().st_size > 10_000
    finally:
        server.send_signal(signal.SIGTERM)
        server.communicate(timeout=30)
