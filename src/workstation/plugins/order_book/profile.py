"""The volume profile: this session's traded volume at each price, split by aggressor side, drawn on the ladder's
rows so a bar continues the ladder's row of the same price."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6 import QtCore, QtGui, QtWidgets

from core.numbers import Price, Quantity
from engine.text import price_text
from workstation.panel import PanelContext
from workstation.plugins.order_book.ladder import PriceLadder
from workstation.plugins.order_book.rows import volume_peak
from workstation.plugins.order_book.style import Palette, paint_strip, quantity_text, with_alpha

_ALIGN_RIGHT = QtCore.Qt.AlignmentFlag.AlignRight | QtCore.Qt.AlignmentFlag.AlignVCenter
_ALIGN_LEFT = QtCore.Qt.AlignmentFlag.AlignLeft | QtCore.Qt.AlignmentFlag.AlignVCenter


class VolumeProfile(QtWidgets.QWidget):
    """Horizontal bars of buy (buyer-initiated) and sell volume per price, scaled to the busiest price."""

    def __init__(self, context: PanelContext, ladder: PriceLadder, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self.ladder = ladder
        self._palette = Palette.from_theme(context.theme)
        self._key: tuple[object, ...] | None = None
        self._volume_version = -1
        self._peak: Quantity = 0
        self._peak_price: Price | None = None
        self.setMinimumWidth(60)
        self.setAttribute(QtCore.Qt.WidgetAttribute.WA_OpaquePaintEvent)

    def sizeHint(self) -> QtCore.QSize:
        return QtCore.QSize(130, self.ladder.sizeHint().height())

    def set_instrument(self, symbol: str) -> None:
        """Show another instrument's volume."""
        self._key = None
        self._volume_version = -1
        self.update()

    def refresh(self) -> None:
        """Repaint when the market's volume or the ladder's rows changed."""
        market = self.ladder.market
        key = (self.ladder.symbol, market.version, self.ladder.axis.version)
        if key != self._key:
            self._key = key
            self._update_peak()
            self.update()

    def bars(self) -> Sequence[tuple[Price, Quantity, Quantity]]:
        """``(price, buy volume, sell volume)`` of each visible row, top first."""
        market = self.ladder.market
        axis = self.ladder.axis
        if axis.top is None:
            return ()
        prices = [axis.top - row * axis.tick for row in range(axis.rows)]
        return [(price, market.buy_volume_at.get(price, 0), market.sell_volume_at.get(price, 0)) for price in prices]

    @property
    def point_of_control(self) -> Price | None:
        """The price with the most volume this session."""
        self._update_peak()
        return self._peak_price

    def _update_peak(self) -> None:
        market = self.ladder.market
        if market.version == self._volume_version:
            return
        self._volume_version = market.version
        self._peak_price, self._peak = volume_peak(market)

    def paintEvent(self, event: QtGui.QPaintEvent) -> None:
        painter = QtGui.QPainter(self)
        try:
            self._paint(painter)
        finally:
            painter.end()

    def _paint(self, painter: QtGui.QPainter) -> None:
        palette = self._palette
        metrics = self.ladder.metrics
        painter.fillRect(self.rect(), palette.background)
        painter.setFont(self.ladder.text_font)
        market = self.ladder.market
        peak = max(self._peak, 1)
        row_height = metrics.row_height
        usable = max(1, self.width() - 8)
        rows_bottom = self.height() - metrics.footer_height
        for index, (price, buy, sell) in enumerate(self.bars()):
            y = metrics.header_height + index * row_height
            if y >= rows_bottom:
                break
            painter.setPen(with_alpha(palette.grid, 160))
            painter.drawLine(0, y, self.width(), y)
            total = buy + sell
            if total == 0:
                continue
            width = max(2, usable * total // peak)
            buy_width = width * buy // total
            bar = QtCore.QRect(2, y + 2, width, row_height - 3)
            painter.fillRect(QtCore.QRect(bar.left(), bar.top(), buy_width, bar.height()), with_alpha(palette.buy, 200))
            sell_rect = QtCore.QRect(bar.left() + buy_width, bar.top(), width - buy_width, bar.height())
            painter.fillRect(sell_rect, with_alpha(palette.sell, 200))
            if price == self._peak_price:
                painter.setPen(QtGui.QPen(palette.accent, 1.5))
                painter.drawRect(bar.adjusted(0, 0, -1, -1))
            text = quantity_text(total)
            text_width = painter.fontMetrics().horizontalAdvance(text) + 6
            painter.setPen(palette.foreground)
            cell = QtCore.QRect(bar.left() + 3, y, self.width() - 6, row_height)
            if text_width <= width:
                painter.setPen(palette.text_on(palette.buy if buy >= sell else palette.sell))
                painter.drawText(QtCore.QRect(bar.left(), y, width - 3, row_height), _ALIGN_RIGHT, text)
            elif bar.right() + text_width < self.width():
                painter.drawText(cell.adjusted(width + 1, 0, 0, 0), _ALIGN_LEFT, text)
        header = QtCore.QRect(0, 0, self.width(), metrics.header_height)
        poc = "" if self._peak_price is None else price_text(market.instrument, self._peak_price)
        paint_strip(painter, header, palette, f"POC {poc}" if poc else "Volume")
        footer = QtCore.QRect(0, rows_bottom, self.width(), metrics.footer_height)
        bought = sum(market.buy_volume_at.values())
        sold = sum(market.sell_volume_at.values())
        paint_strip(painter, footer, palette, f"B {quantity_text(bought) or 0}  S {quantity_text(sold) or 0}",
                    bottom_line=False)  # fmt: skip
