"""Desktop under load: the whole window on the busy simulated market (resources/scenarios/busy.toml).

Measures, over a run of ``--seconds`` (default 10) with every built-in panel open in the default layout:
- market data delivered to the desktop: exchange book messages, level changes and updates per second;
- repaints per second of the ladder and the depth heatmap (real paint events of their widgets);
- the frame's cost (every visible panel refreshing from the latest state), p50/p99;
- the event loop's lag (how late a 5 ms timer fires), p50/p99/max;
and the blotter's sort and filter times on a million orders.

Runs offscreen (Qt's offscreen platform renders for real, without a display). ``--json`` prints one object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
BUSY = REPO / "resources" / "scenarios" / "busy.toml"


def _percentiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {"p50": float("nan"), "p99": float("nan"), "max": float("nan")}
    array = np.asarray(values)
    return {"p50": float(np.percentile(array, 50)), "p99": float(np.percentile(array, 99)), "max": float(array.max())}


def measure_window(seconds: float, config_path: Path) -> dict[str, Any]:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    import qasync
    from PySide6 import QtCore, QtWidgets

    from engine.config import load_config
    from engine.gc_tuning import tune_for_live_trading
    from engine.plugins import load_plugins
    from workstation.main_window import MainWindow
    from workstation.panel_loader import load_panels
    from workstation.session import embedded_client, open_session
    from workstation.settings import DesktopPaths, DesktopSettings
    from workstation.theme import apply_theme, load_theme

    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication([])
    assert isinstance(app, QtWidgets.QApplication)
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    theme = load_theme("dark")
    apply_theme(app, theme)
    workdir = Path(tempfile.mkdtemp(prefix="bench-desktop-"))
    client = embedded_client(
        load_config(config_path), load_plugins(entry_points=False), loop, db_url=f"sqlite:///{workdir / 'e.db'}"
    )
    session = loop.run_until_complete(open_session(client, DesktopSettings(), theme, lambda *_: True))
    window = MainWindow(session, load_panels(entry_points=False), DesktopPaths(workdir / "config"))
    window.show()
    tune_for_live_trading()  # as the app does once its window is up

    paints: dict[str, int] = {}

    class PaintCounter(QtCore.QObject):
        def __init__(self, name: str) -> None:
            super().__init__()
            self.name = name

        def eventFilter(self, watched: QtCore.QObject, event: QtCore.QEvent) -> bool:
            if event.type() == QtCore.QEvent.Type.Paint:
                paints[self.name] = paints.get(self.name, 0) + 1
            return False

    counters = []
    book = window.panel("order-book")
    if book is not None:
        for widget in book.findChildren(QtWidgets.QWidget):
            kind = type(widget).__name__
            if "Ladder" in kind:
                name = "ladder"
            elif kind == "QWidget" and type(widget.parent()).__name__ == "PlotWidget":
                name = "heatmap"  # the viewport of the heatmap's graphics view
            else:
                continue
            counter = PaintCounter(name)
            widget.installEventFilter(counter)
            counters.append(counter)

    frame_costs: list[float] = []
    frames = session.context.frames
    window.frame_timer.timeout.disconnect()

    def timed_frame() -> None:
        started = time.perf_counter()
        frames.frame.emit()
        frame_costs.append((time.perf_counter() - started) * 1e3)

    window.frame_timer.timeout.connect(timed_frame)
    lags: list[float] = []

    async def lag_probe(until: float) -> None:
        while time.perf_counter() < until:
            expected = time.perf_counter() + 0.005
            await asyncio.sleep(0.005)
            lags.append(max(0.0, (time.perf_counter() - expected) * 1e3))

    state = session.state
    loop.run_until_complete(asyncio.sleep(2.0))  # warm-up: JIT, first books
    paints.clear()
    frame_costs.clear()
    before = {symbol: (m.messages, m.level_changes, m.updates) for symbol, m in state.markets.items()}
    events_before = state.events
    started = time.perf_counter()
    loop.run_until_complete(lag_probe(started + seconds))
    elapsed = time.perf_counter() - started
    messages = sum(m.messages - before[s][0] for s, m in state.markets.items())
    levels = sum(m.level_changes - before[s][1] for s, m in state.markets.items())
    updates = sum(m.updates - before[s][2] for s, m in state.markets.items())
    result = {
        "seconds": round(elapsed, 2),
        "book_messages_per_s": round(messages / elapsed),
        "level_changes_per_s": round(levels / elapsed),
        "book_updates_per_s": round(updates / elapsed),
        "events_per_s": round((state.events - events_before) / elapsed),
        "ladder_repaints_per_s": round(paints.get("ladder", 0) / elapsed, 1),
        "heatmap_repaints_per_s": round(paints.get("heatmap", 0) / elapsed, 1),
        "frames_per_s": round(len(frame_costs) / elapsed, 1),
        "frame_cost_ms": {key: round(value, 2) for key, value in _percentiles(frame_costs).items()},
        "loop_lag_ms": {key: round(value, 2) for key, value in _percentiles(lags).items()},
    }
    window.close()
    loop.run_until_complete(client.close())
    return result


def measure_blotter(rows: int) -> dict[str, float]:
    from workstation.plugins.blotter import benchmark_blotter

    return benchmark_blotter(rows)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench desktop", description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rows", type=int, default=1_000_000, help="orders in the blotter benchmark")
    parser.add_argument("--config", type=Path, default=BUSY)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    window = measure_window(args.seconds, args.config)
    blotter = measure_blotter(args.rows)
    if args.json:
        print(json.dumps({"benchmark": "desktop", "window": window, "blotter": blotter}))
        return 0
    print(f"desktop on {args.config.name}, {window['seconds']} s, every built-in panel open (offscreen)")
    print(
        f"  market data in   {window['book_messages_per_s']:>10,} book messages/s  "
        f"{window['level_changes_per_s']:>8,} level changes/s  {window['book_updates_per_s']:>6,} updates/s"
    )
    print(
        f"  repaints         ladder {window['ladder_repaints_per_s']}/s   heatmap {window['heatmap_repaints_per_s']}/s"
        f"   frames {window['frames_per_s']}/s (target >= 30)"
    )
    cost, lag = window["frame_cost_ms"], window["loop_lag_ms"]
    print(f"  frame cost       p50 {cost['p50']} ms  p99 {cost['p99']} ms  max {cost['max']} ms")
    print(f"  event loop lag   p50 {lag['p50']} ms  p99 {lag['p99']} ms  max {lag['max']} ms (target p99 < 50 ms)")
    print(f"blotter, {args.rows:,} orders (target < 200 ms each)")
    for name, value in blotter.items():
        print(f"  {name:<28} {value:8.1f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
