"""The status bar: connection, engine round-trip latency, feed age per instrument (stale warning), kill switch,
the engine's trading day, event rate and the clock."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime

from PySide6 import QtWidgets

from engine.client.protocol import ConnectionState, TradingDay
from workstation.panel import PanelContext


def _latency_text(nanos: int) -> str:
    return f"{nanos / 1_000:.0f} µs" if nanos < 1_000_000 else f"{nanos / 1_000_000:.1f} ms"


def trading_day_text(trading_day: TradingDay | None, now_ns: int) -> tuple[str, str]:
    """The status bar's text for the engine's trading day, and its tooltip (when the day rolls, and how soon)."""
    if trading_day is None:
        return "", ""
    text = f"Day {trading_day.day:%a %Y-%m-%d}"
    rolls_at = trading_day.rolls_at_ns
    if rolls_at is None:
        return text, f"Trading day {trading_day.day}"
    minutes = max(rolls_at - now_ns, 0) // 60_000_000_000
    when = datetime.fromtimestamp(rolls_at / 1e9, UTC)
    countdown = f"{minutes // 60} h {minutes % 60} min"
    return text, f"Trading day {trading_day.day}; it rolls {when:%a %Y-%m-%d %H:%M} UTC, in {countdown}"


class StatusBar(QtWidgets.QStatusBar):
    """Updated once a second by :meth:`tick` (the round trip is measured in the background)."""

    def __init__(self, context: PanelContext) -> None:
        super().__init__()
        self.context = context
        self.connection = QtWidgets.QLabel()
        self.latency = QtWidgets.QLabel("RTT –")
        self.latency.setToolTip("Round trip to the engine, measured every second")
        self.kill_switch = QtWidgets.QLabel()
        self.trading_day = QtWidgets.QLabel()
        self.rate = QtWidgets.QLabel()
        self.clock = QtWidgets.QLabel()
        self.feeds: dict[str, QtWidgets.QLabel] = {}
        self.addWidget(self.connection)
        self.addWidget(self.latency)
        for symbol in context.state.symbols:
            label = QtWidgets.QLabel()
            label.setToolTip(f"Time since the last {symbol} book update")
            # Wide enough for the usual ages, so that the bar does not shift as they change every second.
            label.setMinimumWidth(label.fontMetrics().horizontalAdvance(f"{symbol} 0000 ms") + 8)
            self.feeds[symbol] = label
            self.addWidget(label)
        self.addPermanentWidget(self.kill_switch)
        self.addPermanentWidget(self.trading_day)
        self.addPermanentWidget(self.rate)
        self.addPermanentWidget(self.clock)
        self.round_trip_ns: int | None = None
        self._ping: asyncio.Task[int] | None = None
        self._events = context.state.events
        self._last_tick = time.monotonic()
        self.tick()

    def _coloured(self, label: QtWidgets.QLabel, text: str, role: str | None) -> None:
        label.setText(text)
        label.setStyleSheet("" if role is None else f"color: {self.context.theme.hex(role)};")

    def tick(self) -> None:
        """Refresh every field; start the next round-trip measurement."""
        state = self.context.state
        connected = state.connection is ConnectionState.CONNECTED
        endpoint = state.info.endpoint
        rights = " · read-only" if state.info.read_only else ""
        self._coloured(
            self.connection,
            f"● {state.connection.value} · {endpoint} · {state.info.user}{rights}",
            "profit" if connected else "loss",
        )
        if self.round_trip_ns is not None:
            self.latency.setText(f"RTT {_latency_text(self.round_trip_ns)}")
        stale_ns = self.context.settings.stale_feed_ms * 1_000_000
        for symbol, label in self.feeds.items():
            age = state.market(symbol).feed_age_ns()
            if age is None:
                self._coloured(label, f"{symbol} no data", "warning")
            elif age > stale_ns:
                self._coloured(label, f"{symbol} STALE {age / 1e9:.1f} s", "warning")
            else:
                self._coloured(label, f"{symbol} {age / 1e6:.0f} ms", "muted")
        if state.kill_switch_engaged:
            self._coloured(self.kill_switch, "KILL SWITCH ON", "reject")
        else:
            self.kill_switch.setText("")
        day_text, day_tip = trading_day_text(self.context.client.info.trading_day, time.time_ns())
        self.trading_day.setText(day_text)
        self.trading_day.setToolTip(day_tip)
        now = time.monotonic()
        elapsed = max(now - self._last_tick, 1e-3)
        self.rate.setText(f"{(state.events - self._events) / elapsed:,.0f} events/s")
        self._events, self._last_tick = state.events, now
        self.clock.setText(f"{datetime.now(UTC):%H:%M:%S} UTC")
        if connected and (self._ping is None or self._ping.done()):
            self._ping = asyncio.ensure_future(self.context.client.ping())
            self._ping.add_done_callback(self._pinged)

    def _pinged(self, task: asyncio.Task[int]) -> None:
        if not task.cancelled() and task.exception() is None:
            self.round_trip_ns = task.result()
