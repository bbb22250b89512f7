"""Starting the desktop: the Qt application on a qasync loop, the engine client, the session, the window.

The engine is embedded (it runs in the desktop's process on the simulated market) unless ``--connect
fix://USER@HOST:PORT`` names an engine server to reach over FIX (``--tls-ca FILE``: over TLS, trusting that CA).
The password is never on the command line: it comes from the ``WORKSTATION_FIX_PASSWORD`` environment variable
(for scripts and tests), else from the OS keyring when the ``keyring`` package is installed and holds one for
service ``workstation`` and user ``fix://USER@HOST:PORT``, else the desktop asks for it (a dialog; on the
terminal when Qt has no screen).
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import importlib
import json
import logging
import os
import sys
import tempfile
from pathlib import Path

from PySide6 import QtCore, QtGui, QtWidgets

from engine.client.protocol import EngineClient
from engine.client.remote import RemoteClient, RemoteEndpoint
from engine.config import ConfigError, load_config
from engine.gc_tuning import tune_for_live_trading
from engine.plugins import load_plugins
from engine.storage.db import StorageError
from workstation.main_window import MainWindow
from workstation.panel_loader import load_panels
from workstation.session import embedded_client, open_session
from workstation.settings import DesktopPaths, load_settings
from workstation.state import Severity
from workstation.theme import THEMES, apply_theme, load_theme

log = logging.getLogger(__name__)

PASSWORD_VARIABLE = "WORKSTATION_FIX_PASSWORD"
"""Environment variable with the password of ``--connect`` (for scripts and tests)."""
KEYRING_SERVICE = "workstation"
"""Keyring service under which a ``--connect`` password may be stored (user: the ``fix://`` URL)."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="workstation",
        description="The trading workstation: dockable panels over an embedded engine on a simulated market.",
        epilog=f"With --connect, the password comes from ${PASSWORD_VARIABLE}, else the OS keyring (service "
        f"{KEYRING_SERVICE!r}, user the fix:// URL, when the keyring package is installed), else a prompt.",
    )
    parser.add_argument("--config", help="engine configuration file (TOML); the defaults need none")
    parser.add_argument("--db", help="database URL of the embedded engine (default: SQLite in the data directory)")
    parser.add_argument("--seed", type=int, help="seed of the simulated market")
    parser.add_argument("--theme", choices=THEMES, help="colour theme (default: the saved one, else dark)")
    parser.add_argument("--workspace", help="open this saved workspace instead of the last one used")
    parser.add_argument("--config-dir", help="where settings and workspaces live (default: the user's config dir)")
    parser.add_argument("--connect", metavar="URL", help="connect to a remote engine, fix://USER@HOST:PORT")
    parser.add_argument("--tls-ca", metavar="FILE", help="with --connect: use TLS, trusting this CA file (PEM)")
    parser.add_argument("--screenshot", metavar="PNG", help="run offscreen, save a screenshot of the window, exit")
    parser.add_argument("--after", type=float, default=5.0, help="seconds of market before the screenshot")
    return parser


def run(argv: list[str] | None = None) -> int:
    """Run the desktop until its window closes; returns the exit code."""
    args = build_parser().parse_args(argv)
    try:
        endpoint = _endpoint(args)
    except ValueError as error:
        print(f"workstation: {error}", file=sys.stderr)
        return 2
    if args.screenshot:
        os.environ["QT_QPA_PLATFORM"] = _offscreen_platform()
    try:
        config = load_config(args.config)
    except ConfigError as error:
        print(f"workstation: {error}", file=sys.stderr)
        return 2
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(sys.argv[:1])
    assert isinstance(app, QtWidgets.QApplication)
    app.setApplicationName("Workstation")
    import qasync  # after QApplication: qasync picks the Qt binding already in use

    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    paths = DesktopPaths(Path(args.config_dir)) if args.config_dir else DesktopPaths.default()
    settings, problem = load_settings(paths)
    if args.theme:
        settings.theme = args.theme
    theme = load_theme(settings.theme)
    apply_theme(app, theme)
    registry = load_plugins()
    panels = load_panels()
    client: EngineClient
    if endpoint is None:
        client = embedded_client(config, registry, loop, db_url=args.db, seed=args.seed)
    else:
        password = fix_password(endpoint)
        if password is None:
            print("workstation: no password given", file=sys.stderr)
            return 2
        client = RemoteClient(endpoint, password, tls_ca=args.tls_ca)
    holder: list[MainWindow] = []

    def confirm(title: str, question: str) -> bool:
        parent = holder[0] if holder else None
        buttons = QtWidgets.QMessageBox.StandardButton.Yes | QtWidgets.QMessageBox.StandardButton.No
        answer = QtWidgets.QMessageBox.question(
            parent, title, question, buttons, QtWidgets.QMessageBox.StandardButton.No
        )
        return answer == QtWidgets.QMessageBox.StandardButton.Yes

    try:
        session = loop.run_until_complete(open_session(client, settings, theme, confirm))
    except (StorageError, ValueError, LookupError) as error:
        print(f"workstation: cannot start the engine: {error}", file=sys.stderr)
        return 2
    except (OSError, TimeoutError) as error:
        print(
            f"workstation: cannot connect to {endpoint or 'the engine'}: {error or type(error).__name__}",
            file=sys.stderr,
        )
        return 2
    if problem is not None:
        session.state.audit.add(session.state.now_ns(), Severity.WARNING, "desktop", problem)
    window = MainWindow(session, panels, paths, workspace=args.workspace)
    holder.append(window)
    window.show()
    tune_for_live_trading()  # the engine, the window and the panels are built
    closed: asyncio.Future[None] = loop.create_future()
    app.lastWindowClosed.connect(lambda: closed.done() or closed.set_result(None))
    if args.screenshot:
        QtCore.QTimer.singleShot(int(args.after * 1_000), lambda: _screenshot(window, Path(args.screenshot)))
    try:
        loop.run_until_complete(closed)
        loop.run_until_complete(session.commands.drain())
    finally:
        loop.run_until_complete(client.close())
    return 0


SCREENSHOT_SCREEN = (1920, 1080)
"""The screen a ``--screenshot`` renders on: a common desktop's, so the window opens at its usual size (Qt's
offscreen screen is 800x800 by default, which squeezes every panel to its minimum)."""


def _offscreen_platform() -> str:
    """The Qt platform for ``--screenshot``: offscreen, on a screen of :data:`SCREENSHOT_SCREEN`."""
    width, height = SCREENSHOT_SCREEN
    screen = {"name": "screenshot", "x": 0, "y": 0, "width": width, "height": height, "logicalDpi": 96}
    config = Path(tempfile.gettempdir()) / "workstation-screenshot-screen.json"
    config.write_text(json.dumps({"screens": [screen]}))
    return f"offscreen:configfile={config}"


def _screenshot(window: MainWindow, path: Path) -> None:
    window.context.frames.frame.emit()
    QtWidgets.QApplication.processEvents()
    if window.grab().save(str(path)):
        print(f"screenshot saved to {path}")
    else:
        print(f"workstation: could not write {path}", file=sys.stderr)
    window.close()


def _endpoint(args: argparse.Namespace) -> RemoteEndpoint | None:
    """The engine server of ``--connect`` (None: embedded engine); raises ValueError for a bad URL."""
    if not args.connect:
        if args.tls_ca:
            raise ValueError("--tls-ca goes with --connect")
        return None
    try:
        return RemoteEndpoint.parse(args.connect)
    except ValueError as error:
        raise ValueError(f"--connect: {error}") from None


def fix_password(endpoint: RemoteEndpoint) -> str | None:
    """The password of ``endpoint``'s user: from the environment, the OS keyring, or asked (None: not given)."""
    password = os.environ.get(PASSWORD_VARIABLE)
    if password:
        return password
    password = _keyring_password(str(endpoint))
    if password:
        return password
    if QtGui.QGuiApplication.platformName() in ("offscreen", "minimal"):
        try:
            return getpass.getpass(f"Password for {endpoint}: ") or None
        except EOFError:
            return None
    text, accepted = QtWidgets.QInputDialog.getText(
        None, "Connect to the engine", f"Password for {endpoint}:", QtWidgets.QLineEdit.EchoMode.Password
    )
    return text if accepted and text else None


def _keyring_password(user: str) -> str | None:
    """The keyring's password for ``user`` under :data:`KEYRING_SERVICE`, when the ``keyring`` package is there."""
    try:
        keyring = importlib.import_module("keyring")
    except ImportError:
        return None
    try:
        found = keyring.get_password(KEYRING_SERVICE, user)
    except Exception as error:  # noqa: BLE001 - any keyring backend failure means: ask instead
        log.warning("the keyring could not be read: %s", error)
        return None
    return found if isinstance(found, str) else None
