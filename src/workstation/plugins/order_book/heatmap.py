"""The depth heatmap: resting size by price over the last minute, with the trades and the inside market on top.

The book is sampled on the display frame when a new 100 ms slot of wall time has begun (a
:class:`DepthHistory`), and the image, the trade bubbles and the best bid/ask lines are updated at most once per
frame, only after a new sample. The price axis follows the ladder beside it: the same prices at the same
heights, so a row of the heatmap continues the ladder's row.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pyqtgraph as pg  # type: ignore[import-untyped]
from PySide6 import QtCore, QtGui, QtWidgets

from core.numbers import Nanos
from workstation.panel import PanelContext
from workstation.plugins.order_book.depth_history import DepthHistory
from workstation.plugins.order_book.ladder import PriceLadder
from workstation.plugins.order_book.strip import TextStrip
from workstation.plugins.order_book.style import Palette, with_alpha
from workstation.widgets import time_text

NANOS_PER_SECOND = 1_000_000_000
LEVEL_PERCENTILES = (2.0, 99.5)
"""Percentiles of the resting sizes (log) mapped to the ends of the colour map."""
LEVEL_EASING = 0.2
"""Share of the way the colour levels move towards the latest image's at each sample."""
MIN_SPAN_S = 10.0
"""The shortest time span shown, while the history is younger than that."""
MIN_TRADE_SIZE = 5.0
MAX_TRADE_SIZE = 26.0
"""Trade bubble diameters in pixels, the size growing with the square root of the quantity."""


def trade_sizes(quantities: npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
    """Bubble diameters for trade quantities: area roughly proportional to quantity, clipped to a readable range."""
    diameters = MIN_TRADE_SIZE + 0.6 * np.sqrt(np.abs(quantities).astype(np.float64))
    clipped: npt.NDArray[np.float64] = np.clip(diameters, MIN_TRADE_SIZE, MAX_TRADE_SIZE)
    return clipped


class DepthHeatmap(QtWidgets.QWidget):
    """Heatmap of the ladder's instrument, drawn against the ladder's rows."""

    def __init__(self, context: PanelContext, ladder: PriceLadder, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self.ladder = ladder
        palette = Palette.from_theme(context.theme)
        self.history = DepthHistory(ladder.axis.tick)
        self._origin_slot: int | None = None
        self._sampled_version = -1
        self._y_range: tuple[float, float] | None = None
        self._levels: tuple[float, float] | None = None
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        font = ladder.text_font
        self.header = TextStrip(palette, font, ladder.metrics.header_height)
        self.footer = TextStrip(palette, font, ladder.metrics.footer_height, bottom_line=False)
        self.plot = pg.PlotWidget(background=context.theme.hex("background"))
        self.plot.setFrameShape(QtWidgets.QFrame.Shape.NoFrame)
        item = self.plot.getPlotItem()
        for side in ("left", "bottom"):
            item.hideAxis(side)
        item.hideButtons()
        item.setMenuEnabled(False)
        item.layout.setContentsMargins(0, 0, 0, 0)
        item.layout.setSpacing(0)
        self.view = item.getViewBox()
        self.view.setMouseEnabled(x=False, y=False)
        self.view.setDefaultPadding(0.0)
        self.view.enableAutoRange(enable=False)
        self.image_item = pg.ImageItem(axisOrder="col-major")
        colours = [QtGui.QColor(colour) for colour in context.theme.heatmap_colours()]
        self.image_item.setColorMap(pg.ColorMap(np.linspace(0.0, 1.0, len(colours)), colours))
        self.view.addItem(self.image_item)
        # Each inside line runs over a wider background-coloured one so it stays visible on any heat colour.
        casing = pg.mkPen(with_alpha(palette.background, 220), width=4)
        self.bid_casing = pg.PlotDataItem(pen=casing, connect="finite")
        self.ask_casing = pg.PlotDataItem(pen=casing, connect="finite")
        self.bid_line = pg.PlotDataItem(pen=pg.mkPen(palette.bid, width=2), connect="finite")
        self.ask_line = pg.PlotDataItem(pen=pg.mkPen(palette.ask, width=2), connect="finite")
        outline = pg.mkPen(with_alpha(palette.background, 200), width=1)
        self.buys = pg.ScatterPlotItem(pen=outline, brush=pg.mkBrush(with_alpha(palette.buy, 210)), pxMode=True)
        self.sells = pg.ScatterPlotItem(pen=outline, brush=pg.mkBrush(with_alpha(palette.sell, 210)), pxMode=True)
        for overlay in (self.bid_casing, self.ask_casing, self.bid_line, self.ask_line, self.buys, self.sells):
            self.view.addItem(overlay)
        layout.addWidget(self.header)
        layout.addWidget(self.plot, 1)
        layout.addWidget(self.footer)
        self.setMinimumWidth(80)

    @property
    def trade_count(self) -> int:
        """Trades drawn over the heatmap."""
        return len(self.buys.data) + len(self.sells.data)

    def set_instrument(self, symbol: str) -> None:
        """Start over for another instrument."""
        self.history.clear(self.ladder.axis.tick)
        self._origin_slot = None
        self._sampled_version = -1
        self.image_item.clear()
        for item in (self.bid_casing, self.ask_casing, self.bid_line, self.ask_line, self.buys, self.sells):
            item.setData([], [])
        self._y_range = None
        self._levels = None

    def refresh(self) -> None:
        """Sample the book when a new slot began and redraw; keep the price range in line with the ladder."""
        now = self.context.state.now_ns()
        market = self.ladder.market
        # The newest column follows the book every frame (a Bookmap-style live edge); older ones are 100 ms slots.
        if market.version != self._sampled_version or self.history.due(now):
            self._sampled_version = market.version
            depth = market.book.depth(self.history.levels)
            if self.history.sample(now, depth, market.mid(), live=True):
                self._redraw(now)
        self._follow_ladder()

    def _seconds(self, ts_ns: npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
        """Times as x coordinates: seconds since the start of the first slot sampled."""
        assert self._origin_slot is not None
        return (ts_ns - self._origin_slot * self.history.interval_ns) / NANOS_PER_SECOND

    def _redraw(self, now: Nanos) -> None:
        history = self.history
        assert history.slot is not None
        assert history.low is not None
        if self._origin_slot is None:
            self._origin_slot = history.slot
        interval_s = history.interval_ns / NANOS_PER_SECOND
        image = history.image()
        self.image_item.setImage(image, autoLevels=False, levels=self._colour_levels(image))
        first = history.first_slot()
        x0 = (first - self._origin_slot) * interval_s
        y0 = history.low / history.tick - 0.5
        self.image_item.setRect(QtCore.QRectF(x0, y0, history.slots * interval_s, history.levels))
        xs = x0 + (np.arange(history.slots) + 0.5) * interval_s
        bids, asks = history.best_lines()
        for line, values in (
            (self.bid_casing, bids),
            (self.ask_casing, asks),
            (self.bid_line, bids),
            (self.ask_line, asks),
        ):
            line.setData(xs, values, connect="finite")
        # Show the time sampled so far (at least MIN_SPAN_S), up to the whole ring: no empty minute at start-up.
        sampled = history.slot - self._origin_slot + 1
        shown = min(history.slots, max(sampled, round(MIN_SPAN_S / interval_s)))
        x_end = (history.slot + 1 - self._origin_slot) * interval_s
        self.view.setXRange(x_end - shown * interval_s, x_end, padding=0.0)
        times, prices, signed = self.ladder.market.trades.since((history.slot + 1 - shown) * history.interval_ns)
        x = self._seconds(times)
        y = prices / history.tick
        buys = signed > 0
        self.buys.setData(x=x[buys], y=y[buys], size=trade_sizes(signed[buys]))
        self.sells.setData(x=x[~buys], y=y[~buys], size=trade_sizes(signed[~buys]))
        seconds = shown * interval_s
        self.header.set_texts(f"Depth {seconds:.0f} s", f"{len(times)} trades")
        self.footer.set_texts(f"-{seconds:.0f} s", time_text(now)[:12])

    def _colour_levels(self, image: npt.NDArray[np.float32]) -> tuple[float, float]:
        """The (log) sizes mapped to the first and last colours: the thinnest and the busiest levels seen lately,
        eased from frame to frame so the colours do not flicker as levels come and go."""
        resting = image[image > 0]
        if resting.size == 0:
            return self._levels or (0.0, 1.0)
        low, high = (float(value) for value in np.percentile(resting, LEVEL_PERCENTILES))
        low = max(0.0, low - 0.5)  # the thinnest levels stay visible above the empty background
        high = max(high, low + 1.0)
        if self._levels is not None:
            low = self._levels[0] + LEVEL_EASING * (low - self._levels[0])
            high = self._levels[1] + LEVEL_EASING * (high - self._levels[1])
        self._levels = (low, high)
        return self._levels

    def _follow_ladder(self) -> None:
        axis = self.ladder.axis
        if axis.top is None:
            return
        pixels = max(1, self.plot.height())
        top = axis.top / axis.tick + 0.5
        bottom = top - pixels / self.ladder.metrics.row_height
        if (bottom, top) != self._y_range:
            self._y_range = (bottom, top)
            self.view.setYRange(bottom, top, padding=0.0)
