"""The main window as a trader uses it: docks, workspaces across restarts, hotkeys, the kill switch, link
groups, contained panel failures, and a third-party panel installed for real."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import types
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PySide6 import QtCore, QtGui, QtWidgets

from core.enums import OrdStatus, Side
from workstation.hookspecs import hookimpl
from workstation.main_window import MainWindow
from workstation.panel import Panel, PanelContext, PanelSpec
from workstation.panel_host import PanelError
from workstation.panel_loader import load_panels
from workstation.settings import DesktopPaths

from .conftest import Desktop

REPO = Path(__file__).resolve().parents[2]


class Follower(Panel):
    """A minimal linkable panel: shows its instrument, counts its frames."""

    def __init__(self, context: PanelContext) -> None:
        super().__init__(context)
        self.frames = 0

    def refresh(self) -> None:
        self.frames += 1


class BrokenOnRepaint(Panel):
    def refresh(self) -> None:
        raise RuntimeError("cannot draw this")


def _raise(context: PanelContext) -> QtWidgets.QWidget:
    raise ValueError("factory exploded")


def _plugin(name: str, specs: Callable[[], list[PanelSpec]]) -> types.ModuleType:
    module = types.ModuleType(name)
    module.register_panels = hookimpl(specs)  # type: ignore[attr-defined]
    return module


TEST_PANELS = _plugin(
    "test_panels",
    lambda: [
        PanelSpec(name="follower-a", title="Follower A", factory=Follower, area="right"),
        PanelSpec(name="follower-b", title="Follower B", factory=Follower, area="right"),
        PanelSpec(name="broken-open", title="Broken Open", factory=_raise, area="right"),
        PanelSpec(name="broken-repaint", title="Broken Repaint", factory=BrokenOnRepaint, area="right"),
    ],
)


def _raising_hook() -> list[PanelSpec]:
    raise RuntimeError("no panels today")


BROKEN_PLUGIN = _plugin("broken_plugin", _raising_hook)


@pytest.fixture
def make_window(desktop: Desktop, tmp_path: Path, qtbot: object) -> Iterator[Callable[[], MainWindow]]:
    windows: list[MainWindow] = []
    paths = DesktopPaths(tmp_path / "config")

    def make() -> MainWindow:
        panels = load_panels(builtins=True, entry_points=False, extra=[TEST_PANELS, BROKEN_PLUGIN])
        window = MainWindow(desktop.session, panels, paths)
        window.show()
        windows.append(window)
        desktop.pump(0.1)
        return window

    yield make
    for window in windows:
        if window.isVisible():
            window.close()


def test_every_built_in_panel_opens_in_its_dock(make_window: Callable[[], MainWindow]) -> None:
    window = make_window()

    names = set(window.docks)

    expected = {"order-book", "market-watch", "order-ticket", "pnl", "strategies", "backtest-lab", "blotter"}
    assert expected | {"audit-log", "plugins"} <= names
    for name in expected | {"audit-log", "plugins"}:
        assert not window.docks[name].failed, window.docks[name].error and window.docks[name].error.details


def test_a_broken_panel_shows_its_error_in_its_own_dock_and_the_rest_goes_on(
    make_window: Callable[[], MainWindow], desktop: Desktop
) -> None:
    window = make_window()
    desktop.frame()

    opened = window.docks["broken-open"]
    repainted = window.docks["broken-repaint"]
    follower = window.panel("follower-a")

    assert isinstance(opened.widget(), PanelError)
    assert "factory exploded" in opened.error.details  # type: ignore[union-attr]
    assert isinstance(repainted.widget(), PanelError)
    assert "cannot draw this" in repainted.error.details  # type: ignore[union-attr]
    assert isinstance(follower, Follower)
    assert follower.frames >= 1
    failed = [plugin for plugin in desktop.state.plugins if plugin["status"] == "failed"]
    assert [plugin["name"] for plugin in failed] == ["broken_plugin"]
    assert "no panels today" in failed[0]["reason"]
    messages = [entry.message for entry in desktop.state.audit.entries]
    assert any("broken-repaint failed while repainting" in message for message in messages)
    desktop.frame()  # a contained panel is not called again
    assert window.isVisible()


def test_the_layout_survives_a_restart(make_window: Callable[[], MainWindow], desktop: Desktop) -> None:
    window = make_window()
    window.docks["follower-b"].setVisible(False)
    window.docks["follower-a"].setFloating(True)
    follower = window.panel("follower-a")
    assert isinstance(follower, Panel)
    follower.set_link_group("blue")
    follower.set_instrument("QQQ")
    window.close()

    restarted = make_window()

    assert not restarted.docks["follower-b"].isVisible()
    assert restarted.docks["follower-a"].isFloating()
    again = restarted.panel("follower-a")
    assert isinstance(again, Panel)
    assert again.link_group == "blue"
    assert again.instrument == "QQQ"
    restarted.reset_layout()
    assert restarted.docks["follower-b"].isVisible()
    assert not restarted.docks["follower-a"].isFloating()


def test_linked_panels_follow_the_instrument_chosen_in_one_of_them(make_window: Callable[[], MainWindow]) -> None:
    window = make_window()
    a, b = window.panel("follower-a"), window.panel("follower-b")
    assert isinstance(a, Panel)
    assert isinstance(b, Panel)
    a.set_link_group("red")
    b.set_link_group("red")

    a.set_instrument("MSFT")

    assert b.instrument == "MSFT"
    b.set_link_group("green")  # joining a group takes its instrument
    assert b.instrument == "AAPL"
    a.set_instrument("SPY")
    assert b.instrument == "AAPL"


def test_the_buy_hotkey_buys_the_active_instrument_at_the_best_offer(
    make_window: Callable[[], MainWindow], desktop: Desktop
) -> None:
    window = make_window()
    offer = desktop.state.market("AAPL").best_ask()
    assert offer is not None
    before = len(desktop.state.orders)

    window.actions_by_name["buy_at_best"].trigger()
    desktop.pump(0.2)

    assert window.actions_by_name["buy_at_best"].shortcut() == QtGui.QKeySequence("F1")
    assert len(desktop.state.orders) == before + 1
    row = len(desktop.state.orders) - 1
    assert desktop.state.orders.side(row) is Side.BUY
    assert desktop.state.orders.instrument(row) == window.active_instrument()


def test_the_kill_switch_asks_then_leaves_no_working_order_even_with_its_panels_closed(
    make_window: Callable[[], MainWindow], desktop: Desktop
) -> None:
    window = make_window()
    for offset in range(1, 4):
        bid = desktop.state.market("MSFT").best_bid()
        assert bid is not None
        desktop.commands.submit("MSFT", Side.BUY, 100, bid[0] - offset * 500)
    orders = desktop.state.orders

    def all_acknowledged() -> bool:
        ids = orders.working_ids()
        return len(ids) == 3 and all(orders.status(orders.row_of(cid)) is OrdStatus.NEW for cid in ids)  # type: ignore[arg-type]

    desktop.wait_for(all_acknowledged)

    window.actions_by_name["kill_switch"].trigger()
    for dock in window.docks.values():
        dock.close()
    desktop.wait_for(lambda: not desktop.state.orders.working_ids())

    assert desktop.confirmations == ["Kill switch"]
    assert desktop.state.kill_switch_engaged
    runtime = desktop.session.client.runtime  # type: ignore[attr-defined]
    assert list(runtime.engine.orders.working()) == []
    refused = desktop.commands.at_best("MSFT", Side.BUY, 100)
    desktop.pump(0.2)
    assert refused is not None
    assert desktop.state.orders.status(desktop.state.orders.row_of(refused)) is OrdStatus.REJECTED  # type: ignore[arg-type]
    assert "kill switch" in desktop.state.last_rejects[refused].lower()


def _uv() -> str | None:
    return os.environ.get("UV") or shutil.which("uv")


@pytest.mark.slow
def test_a_third_party_panel_installed_with_pip_appears_in_the_window(
    desktop: Desktop, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, qtbot: object
) -> None:
    uv = _uv()
    if uv is None:
        pytest.skip("no uv binary: neither the UV environment variable nor uv on PATH")
    target = tmp_path / "site"
    example = REPO / "examples" / "workstation-example-panel"
    command = [uv, "pip", "install", "--no-deps", "--python", sys.executable, "--target", str(target), str(example)]
    subprocess.run(command, check=True, capture_output=True, timeout=120)
    monkeypatch.syspath_prepend(str(target))

    panels = load_panels(builtins=False, entry_points=True)
    window = MainWindow(desktop.session, panels, DesktopPaths(tmp_path / "config"))
    window.show()
    desktop.pump(0.5)
    desktop.frame()

    dock = window.docks["spread-monitor"]
    assert not dock.failed
    assert dock.windowTitle() == "Spread Monitor"
    report = next(plugin for plugin in panels.plugins if plugin["name"] == "example-panel")
    assert report["source"] == "entry point workstation-example-panel 0.1.0"
    assert report["registers"] == ["panel spread-monitor"]
    window.close()
    for name in [name for name in sys.modules if name.startswith("workstation_example_panel")]:
        del sys.modules[name]


@pytest.mark.slow
def test_the_screenshot_command_writes_a_non_blank_image(tmp_path: Path) -> None:
    out = tmp_path / "window.png"
    env = {key: value for key, value in os.environ.items() if key != "QT_QPA_PLATFORM"}
    command = [
        sys.executable, "-m", "workstation", "--screenshot", str(out), "--after", "2",
        "--config-dir", str(tmp_path / "config"), "--db", f"sqlite:///{tmp_path / 'engine.db'}",
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=180, env=env, check=False)

    assert done.returncode == 0, done.stderr
    image = QtGui.QImage(str(out))
    assert image.width() >= 1200
    assert image.height() >= 700
    colours = {image.pixel(x, y) for x in range(0, image.width(), 37) for y in range(0, image.height(), 23)}
    assert len(colours) > 50, "the screenshot is (nearly) blank"
    assert QtCore.QFileInfo(str(out)).size() > 50_000
