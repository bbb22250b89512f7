"""The lab's plots (pyqtgraph): a run's equity over its drawdown, stored runs' equity overlaid, a sweep heatmap."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import pyqtgraph as pg
from PySide6 import QtCore, QtGui

from workstation.theme import Theme

OVERLAY_ROLES = ("accent", "own_order", "profit", "position", "ask", "last_trade", "bid", "warning")
"""Theme roles that colour overlaid curves, in turn."""


def _style_plot(plot: pg.PlotItem, theme: Theme, *, left: str, bottom: str | None) -> None:
    plot.showGrid(x=True, y=True, alpha=0.25)
    plot.setMenuEnabled(False)
    plot.hideButtons()
    for name in ("left", "bottom"):
        axis = plot.getAxis(name)
        axis.setPen(pg.mkPen(theme.hex("grid")))
        axis.setTextPen(pg.mkPen(theme.hex("muted")))
    plot.getAxis("left").setWidth(64)
    plot.setLabel("left", left, color=theme.hex("muted"))
    if bottom is not None:
        plot.setLabel("bottom", bottom, color=theme.hex("muted"))


class EquityPlots(pg.GraphicsLayoutWidget):  # type: ignore[misc]  # pyqtgraph has no type information
    """A run's P&L over simulated time, with its drawdown below on the same time axis."""

    def __init__(self, theme: Theme) -> None:
        super().__init__()
        self.setBackground(theme.hex("background"))
        self.ci.setContentsMargins(2, 2, 6, 2)
        self.ci.setSpacing(0)
        self.equity_plot: pg.PlotItem = self.addPlot(row=0, col=0)
        self.drawdown_plot: pg.PlotItem = self.addPlot(row=1, col=0)
        self.ci.layout.setRowStretchFactor(0, 3)
        self.ci.layout.setRowStretchFactor(1, 1)
        _style_plot(self.equity_plot, theme, left="P&L $", bottom=None)
        _style_plot(self.drawdown_plot, theme, left="Drawdown $", bottom="simulated seconds")
        self.equity_plot.getAxis("bottom").setStyle(showValues=False)
        self.drawdown_plot.setXLink(self.equity_plot)
        zero = pg.mkPen(theme.hex("muted"), width=1, style=QtCore.Qt.PenStyle.DashLine)
        self.equity_plot.addItem(pg.InfiniteLine(pos=0, angle=0, pen=zero))
        self.equity_curve: pg.PlotDataItem = self.equity_plot.plot(pen=pg.mkPen(theme.hex("accent"), width=1.5))
        loss = theme.colour("loss")
        fill = QtGui.QColor(loss)
        fill.setAlpha(90)
        self.drawdown_curve: pg.PlotDataItem = self.drawdown_plot.plot(
            pen=pg.mkPen(loss, width=1), fillLevel=0, brush=pg.mkBrush(fill)
        )

    def show_run(self, seconds: Sequence[float], equity: Sequence[float], drawdown: Sequence[float]) -> None:
        """Draw one run (x in simulated seconds, y in currency)."""
        x = np.asarray(seconds, dtype=np.float64)
        self.equity_curve.setData(x, np.asarray(equity, dtype=np.float64))
        self.drawdown_curve.setData(x, np.asarray(drawdown, dtype=np.float64))
        self.equity_plot.enableAutoRange()
        self.drawdown_plot.enableAutoRange()

    def clear_run(self) -> None:
        self.equity_curve.setData([], [])
        self.drawdown_curve.setData([], [])


class OverlayPlot(pg.PlotWidget):  # type: ignore[misc]
    """Equity curves of several stored runs on one chart, each in its own colour, with a legend."""

    def __init__(self, theme: Theme) -> None:
        super().__init__(background=theme.hex("background"))
        self._theme = theme
        plot = self.getPlotItem()
        _style_plot(plot, theme, left="P&L $", bottom="simulated seconds")
        self.legend = plot.addLegend(offset=(8, 8), labelTextColor=theme.hex("foreground"))
        self.legend.setBrush(pg.mkBrush(theme.hex("surface")))
        self.curves: list[pg.PlotDataItem] = []

    def show_runs(self, runs: Sequence[tuple[str, Sequence[float], Sequence[float]]]) -> None:
        """Replace the curves with ``(label, seconds, equity)`` of each run."""
        plot = self.getPlotItem()
        for curve in self.curves:
            plot.removeItem(curve)
        self.legend.clear()
        self.curves = []
        for index, (label, seconds, equity) in enumerate(runs):
            colour = self._theme.hex(OVERLAY_ROLES[index % len(OVERLAY_ROLES)])
            curve = plot.plot(
                np.asarray(seconds, dtype=np.float64),
                np.asarray(equity, dtype=np.float64),
                pen=pg.mkPen(colour, width=1.5),
                name=label,
            )
            self.curves.append(curve)
        plot.enableAutoRange()


def _short(value: float) -> str:
    """A cell's value in at most about six characters."""
    magnitude = abs(value)
    if magnitude >= 1e6:
        return f"{value / 1e6:.1f}M"
    if magnitude >= 1e4:
        return f"{value / 1e3:.1f}k"
    if magnitude >= 100:
        return f"{value:.0f}"
    return f"{value:.2f}"


class Heatmap(pg.PlotWidget):  # type: ignore[misc]
    """A metric over a two-parameter grid: one cell per point, labelled axes, the value written in each cell."""

    MAX_LABELLED_CELLS = 144
    """Above this many cells the values are not written in (they would not fit)."""

    def __init__(self, theme: Theme) -> None:
        super().__init__(background=theme.hex("background"))
        self._theme = theme
        plot = self.getPlotItem()
        _style_plot(plot, theme, left="", bottom="")
        plot.showGrid(x=False, y=False)
        plot.setMouseEnabled(x=False, y=False)
        self.image = pg.ImageItem(axisOrder="col-major")
        colours = theme.heatmap_colours()
        positions = np.linspace(0.0, 1.0, len(colours))
        colour_map = pg.ColorMap(positions, [QtGui.QColor(colour) for colour in colours])
        self.image.setColorMap(colour_map)
        plot.addItem(self.image)
        self.colour_bar = pg.ColorBarItem(values=(0.0, 1.0), colorMap=colour_map, interactive=False, width=14)
        self.colour_bar.setImageItem(self.image, insert_in=plot)
        self.colour_bar.getAxis("right").setTextPen(pg.mkPen(theme.hex("muted")))
        self.colour_bar.getAxis("right").setPen(pg.mkPen(theme.hex("grid")))
        self._labels: list[pg.TextItem] = []

    def show_values(
        self,
        values: npt.NDArray[np.float64],
        x_labels: Sequence[str],
        y_labels: Sequence[str],
        *,
        x_name: str,
        y_name: str,
    ) -> None:
        """Draw ``values[i, j]`` at column ``i`` (x) and row ``j`` (y); NaN cells stay empty."""
        plot = self.getPlotItem()
        columns, rows = values.shape
        finite = values[np.isfinite(values)]
        low, high = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
        if high <= low:
            low, high = low - 1.0, high + 1.0
        self.image.setImage(values, levels=(low, high), autoLevels=False)
        self.colour_bar.setLevels((low, high))
        self.image.setRect(QtCore.QRectF(0, 0, columns, rows))
        plot.getAxis("bottom").setTicks([[(i + 0.5, text) for i, text in enumerate(x_labels)]])
        plot.getAxis("left").setTicks([[(j + 0.5, text) for j, text in enumerate(y_labels)]])
        plot.setLabel("bottom", x_name, color=self._theme.hex("muted"))
        plot.setLabel("left", y_name, color=self._theme.hex("muted"))
        plot.setRange(xRange=(0, columns), yRange=(0, rows), padding=0.02)
        self._write_values(values, low, high)

    def _write_values(self, values: npt.NDArray[np.float64], low: float, high: float) -> None:
        plot = self.getPlotItem()
        for label in self._labels:
            plot.removeItem(label)
        self._labels = []
        if values.size > self.MAX_LABELLED_CELLS:
            return
        light, dark = self._theme.colours["heatmap"][-1], self._theme.colours["heatmap"][0]
        for (i, j), value in np.ndenumerate(values):
            if not math.isfinite(value):
                continue
            bright = (value - low) / (high - low) > 0.6
            label = pg.TextItem(_short(float(value)), color=dark if bright else light, anchor=(0.5, 0.5))
            label.setPos(i + 0.5, j + 0.5)
            plot.addItem(label)
            self._labels.append(label)
