"""Spread Monitor: an example third-party panel showing the spread and touch sizes of an instrument over time."""

from __future__ import annotations

import time
from collections import deque

import pyqtgraph as pg
from PySide6 import QtWidgets

from workstation.hookspecs import hookimpl
from workstation.panel import Panel, PanelContext, PanelSpec
from workstation.widgets import InstrumentBar

SAMPLE_INTERVAL_NS = 100_000_000
HISTORY = 600


class SpreadMonitor(Panel):
    """The bid-ask spread in ticks of the linked instrument, sampled every 100 ms, with the current touch."""

    def __init__(self, context: PanelContext) -> None:
        super().__init__(context)
        self.samples: deque[tuple[float, int]] = deque(maxlen=HISTORY)
        self._next_sample = 0
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        top = QtWidgets.QHBoxLayout()
        top.addWidget(InstrumentBar(self))
        self.touch = QtWidgets.QLabel("–")
        top.addWidget(self.touch, 1)
        layout.addLayout(top)
        self.plot = pg.PlotWidget()
        self.plot.setLabel("left", "spread (ticks)")
        self.plot.showGrid(x=True, y=True, alpha=0.2)
        self.curve = self.plot.plot(pen=pg.mkPen(context.theme.hex("accent"), width=1.5), stepMode=None)
        layout.addWidget(self.plot)

    def instrument_changed(self, symbol: str) -> None:
        self.samples.clear()

    def refresh(self) -> None:
        now = time.monotonic_ns()
        if now < self._next_sample:
            return
        self._next_sample = now + SAMPLE_INTERVAL_NS
        market = self.context.state.market(self.instrument)
        bid, ask = market.best_bid(), market.best_ask()
        if bid is None or ask is None:
            self.touch.setText(f"{self.instrument}: one side empty")
            return
        spread = (ask[0] - bid[0]) // market.instrument.tick_size
        self.samples.append((now / 1e9, spread))
        self.touch.setText(f"{bid[1]:,} × {ask[1]:,}   spread {spread} tick{'s' if spread != 1 else ''}")
        xs = [x - self.samples[-1][0] for x, _ in self.samples]
        self.curve.setData(xs, [y for _, y in self.samples])


@hookimpl
def register_panels() -> list[PanelSpec]:
    return [
        PanelSpec(
            name="spread-monitor",
            title="Spread Monitor",
            factory=SpreadMonitor,
            area="right",
            description="Spread in ticks and touch sizes of the linked instrument over time.",
        )
    ]
