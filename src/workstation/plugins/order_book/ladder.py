"""The price ladder: one row per tick on a fixed price axis, the book, own orders, trades and the position, with
click-to-trade.

Columns, left to right: own working buys, bid size, price, ask size, own working sells, last traded quantity
(on the last trade's row) and volume at price. A left click in the bid column buys at the row's price (the
desktop's default quantity), in the ask column sells. A click on an own order cell cancels the orders of that
side at that price; dragging the cell to another row and releasing moves them there (replace). The wheel scrolls
the prices; the axis recentres on the mid only when asked (:meth:`PriceLadder.recenter`) or when the inside
market leaves the view. In a read-only session clicks and drags send nothing: the status line says why, in the
reject colour, for a moment.

The ladder is painted from a snapshot of its rows (:meth:`PriceLadder.rows`) rebuilt on the display frame when
the state's version counters or the axis moved, never once per market event.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from PySide6 import QtCore, QtGui, QtWidgets

from core.enums import OrdStatus, Side
from core.numbers import Price
from workstation.panel import PanelContext
from workstation.plugins.order_book.axis import PriceAxis
from workstation.plugins.order_book.rejects import RejectFlash, RejectWatch
from workstation.plugins.order_book.rows import LadderRow, OwnLevel, build_rows, own_levels, volume_peak
from workstation.plugins.order_book.style import (
    Palette,
    RowMetrics,
    number_font,
    paint_strip,
    quantity_text,
    with_alpha,
)
from workstation.state import InstrumentMarket

WHEEL_ROWS = 3
"""Rows scrolled per wheel notch."""
BLINK_NS = 250_000_000
"""Half-period of a reject's flash."""
NOTICE_NS = 2_000_000_000
"""How long the status line shows why a click did nothing (read-only session)."""
_ALIGN_RIGHT = QtCore.Qt.AlignmentFlag.AlignRight | QtCore.Qt.AlignmentFlag.AlignVCenter
_ALIGN_LEFT = QtCore.Qt.AlignmentFlag.AlignLeft | QtCore.Qt.AlignmentFlag.AlignVCenter
_ALIGN_CENTER = QtCore.Qt.AlignmentFlag.AlignCenter


class Column(StrEnum):
    """The ladder's columns, left to right."""

    OWN_BUY = "buys"
    BID = "bid"
    PRICE = "price"
    ASK = "ask"
    OWN_SELL = "sells"
    LAST = "last"
    VOLUME = "volume"


_TITLES = {
    Column.OWN_BUY: "Buys",
    Column.BID: "Bid",
    Column.PRICE: "Price",
    Column.ASK: "Ask",
    Column.OWN_SELL: "Sells",
    Column.LAST: "LTQ",
    Column.VOLUME: "Volume",
}
_SAMPLES = {
    Column.OWN_BUY: "00000",
    Column.BID: "000000",
    Column.PRICE: "+00000 0000.00",
    Column.ASK: "000000",
    Column.OWN_SELL: "00000",
    Column.LAST: "00000",
    Column.VOLUME: "000000",
}
"""The widest text each column must fit without clipping."""
_WEIGHTS = {
    Column.OWN_BUY: 1.0,
    Column.BID: 1.2,
    Column.PRICE: 1.0,
    Column.ASK: 1.2,
    Column.OWN_SELL: 1.0,
    Column.LAST: 0.8,
    Column.VOLUME: 1.3,
}
"""How the width beyond the minimum is shared out."""
_OWN_SIDE = {Column.OWN_BUY: Side.BUY, Column.OWN_SELL: Side.SELL}
_CELL_PAD = 5


@dataclass(slots=True)
class _Drag:
    """Own orders picked up by the mouse: their side and price, and the row price under the cursor."""

    side: Side
    price: Price
    target: Price


class PriceLadder(QtWidgets.QWidget):
    """The custom-painted price ladder of one instrument."""

    def __init__(self, context: PanelContext, symbol: str, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self.symbol = symbol
        self.colours = Palette.from_theme(context.theme)
        self.axis = PriceAxis(self._instrument_tick(symbol))
        self.rejects = RejectWatch()
        self.rejects.skip_existing(context.state)
        self._rows: Sequence[LadderRow] = ()
        self._own: dict[tuple[Side, Price], OwnLevel] = {}
        self._key: tuple[object, ...] | None = None
        self._flashes: list[RejectFlash] = []
        self._volume_max = 1
        self._volume_version = -1
        self._hover_row: int | None = None
        self._drag: _Drag | None = None
        self._wheel_rest = 0
        self._notice = ""
        self._notice_until = 0
        self._font = number_font(self.font())
        self._bold = QtGui.QFont(self._font)
        self._bold.setBold(True)
        self._small = QtGui.QFont(self._font)
        self._small.setPointSizeF(max(6.0, self._font.pointSizeF() - 1.5))
        self.metrics = RowMetrics.from_font(self._font)
        self._columns: dict[Column, tuple[int, int]] = {}
        self.setMouseTracking(True)
        self.setFocusPolicy(QtCore.Qt.FocusPolicy.ClickFocus)  # a click focuses the panel, for its Recenter key
        self.setSizePolicy(QtWidgets.QSizePolicy.Policy.Preferred, QtWidgets.QSizePolicy.Policy.Expanding)
        self.setAttribute(QtCore.Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self._layout_columns()

    # --- public API --------------------------------------------------------------------------------------------

    def set_instrument(self, symbol: str) -> None:
        """Show ``symbol``: the axis recentres on its mid at the next frame."""
        self.symbol = symbol
        self.axis.reset(self._instrument_tick(symbol))
        self.rejects.clear()
        self._drag = None
        self._volume_version = -1
        self._rebuild()
        self.update()

    def recenter(self) -> None:
        """Put the mid price in the middle row and follow the market again."""
        mid = self.market.mid()
        if mid is not None:
            self.axis.center_on(mid)
        self.refresh()

    def refresh(self) -> None:
        """Catch up with the state (called on every display frame); repaints only when something changed."""
        market = self.market
        self.axis.set_rows(self.metrics.rows_in(self.height()))
        bid, ask = market.best_bid(), market.best_ask()
        self.axis.keep_inside(None if bid is None else bid[0], None if ask is None else ask[0], market.mid())
        now = time.monotonic_ns()
        self.rejects.poll(self.context.state, self.symbol, now)
        self._flashes = list(self.rejects.active(now))
        state = self.context.state
        key = (
            self.symbol, market.version, state.orders.version, state.positions.version, self.axis.version,
            len(self._flashes), self.rejects.message, self._notice_on(now), self.context.commands.refusal,
        )  # fmt: skip
        if key != self._key:
            self._key = key
            self._rebuild()
            self.update()
        elif self._flashes:
            self.update()  # the flash blinks

    def rows(self) -> Sequence[LadderRow]:
        """What each visible row shows, top first, as of the last frame."""
        if self._key is None:
            self._rebuild()
        return self._rows

    def row_at_price(self, price: Price) -> int | None:
        """The visible row of ``price``, or None when it is out of view."""
        return self.axis.row_at_price(price)

    def price_at_row(self, row: int) -> Price | None:
        """The price of ``row`` (0 is the top row), None before the first price is known."""
        return self.axis.price_at_row(row)

    def column_rect(self, column: Column | str, price: Price) -> QtCore.QRect:
        """The cell of ``column`` on the row of ``price`` in widget coordinates (a null rect when not visible)."""
        row = self.axis.row_at_price(price)
        if row is None:
            return QtCore.QRect()
        x, width = self._columns[Column(column)]
        return QtCore.QRect(x, self._row_y(row), width, self.metrics.row_height)

    @property
    def status_text(self) -> str:
        """The status line: why the last click did nothing, the latest reject's reason, or how to trade."""
        if self._notice_on(time.monotonic_ns()):
            return self._notice
        if self.rejects.message:
            return self.rejects.message
        if self.context.commands.refusal is not None:
            return "Read-only session: watching only, click-to-trade is off"
        return "Bid: buy · Ask: sell · own order: click cancels, drag moves"

    def _notice_on(self, now_ns: int) -> bool:
        return bool(self._notice) and now_ns < self._notice_until

    def _refused(self, what: str) -> bool:
        """True, and the status line says why for a moment, when the session may not ``what``."""
        refusal = self.context.commands.refusal
        if refusal is None:
            return False
        # Short enough for the footer of a narrow ladder; the audit log has the full reason from the commands.
        self._notice = f"Not sent: read-only session, {what} is off"
        self._notice_until = time.monotonic_ns() + NOTICE_NS
        self._key = None
        self.update()
        return True

    @property
    def text_font(self) -> QtGui.QFont:
        """The ladder's fixed-pitch font (widgets beside it use it for their strips)."""
        return self._font

    @property
    def market(self) -> InstrumentMarket:
        """The market state of the ladder's instrument."""
        return self.context.state.market(self.symbol)

    # --- state to rows -----------------------------------------------------------------------------------------

    def _instrument_tick(self, symbol: str) -> Price:
        instrument = self.context.state.instruments.get(symbol)
        return 1 if instrument is None else instrument.tick_size

    def _rebuild(self) -> None:
        state = self.context.state
        market = self.market
        self._own = own_levels(state.orders.working(self.symbol))
        position = state.positions.position(self.context.settings.account, self.symbol)
        flashing = {flash.price for flash in self._flashes if flash.price is not None}
        self._rows = build_rows(self.axis, market, self._own, position, flashing)
        if market.version != self._volume_version:
            self._volume_version = market.version
            self._volume_max = max(1, volume_peak(market)[1])

    # --- geometry ----------------------------------------------------------------------------------------------

    def _layout_columns(self) -> None:
        metrics = QtGui.QFontMetrics(self._font)
        minimum = {column: metrics.horizontalAdvance(_SAMPLES[column]) + 2 * _CELL_PAD for column in Column}
        spare = max(0, self.width() - sum(minimum.values()))
        total_weight = sum(_WEIGHTS.values())
        x = 0
        for column in Column:
            width = minimum[column] + int(spare * _WEIGHTS[column] / total_weight)
            self._columns[column] = (x, width)
            x += width
        last_x, _ = self._columns[Column.VOLUME]
        self._columns[Column.VOLUME] = (last_x, max(self.width(), x) - last_x)

    def minimumSizeHint(self) -> QtCore.QSize:
        metrics = QtGui.QFontMetrics(self._font)
        width = sum(metrics.horizontalAdvance(_SAMPLES[column]) + 2 * _CELL_PAD for column in Column)
        return QtCore.QSize(
            width, self.metrics.header_height + self.metrics.footer_height + 8 * self.metrics.row_height
        )

    def sizeHint(self) -> QtCore.QSize:
        hint = self.minimumSizeHint()
        return QtCore.QSize(hint.width() + 60, self.metrics.header_height + 40 * self.metrics.row_height)

    def resizeEvent(self, event: QtGui.QResizeEvent) -> None:
        self._layout_columns()
        self.axis.set_rows(self.metrics.rows_in(self.height()))
        super().resizeEvent(event)

    def _row_y(self, row: int) -> int:
        return self.metrics.header_height + row * self.metrics.row_height

    def _hit(self, point: QtCore.QPoint) -> tuple[Column, int] | None:
        row = self._row_of_y(point.y())
        if row is None:
            return None
        for column, (x, width) in self._columns.items():
            if x <= point.x() < x + width:
                return column, row
        return None

    def _row_of_y(self, y: int) -> int | None:
        top = self.metrics.header_height
        if y < top or y >= self.height() - self.metrics.footer_height:
            return None
        row = (y - top) // self.metrics.row_height
        return row if row < self.axis.rows else None

    # --- mouse -------------------------------------------------------------------------------------------------

    def mousePressEvent(self, event: QtGui.QMouseEvent) -> None:
        if event.button() is not QtCore.Qt.MouseButton.LeftButton:
            super().mousePressEvent(event)
            return
        hit = self._hit(event.position().toPoint())
        if hit is None:
            return
        column, row = hit
        price = self.axis.price_at_row(row)
        if price is None:
            return
        commands = self.context.commands
        quantity = self.context.settings.default_quantity
        book_side = column in (Column.BID, Column.ASK)
        own = column in _OWN_SIDE and (_OWN_SIDE[column], price) in self._own
        if (book_side or own) and self._refused("click-to-trade" if book_side else "cancel/move"):
            return
        if column is Column.BID:
            commands.submit(self.symbol, Side.BUY, quantity, price)
            self._key = None  # show the pending order on the next frame even if nothing else moved
        elif column is Column.ASK:
            commands.submit(self.symbol, Side.SELL, quantity, price)
            self._key = None
        elif column in _OWN_SIDE and (_OWN_SIDE[column], price) in self._own:
            self._drag = _Drag(_OWN_SIDE[column], price, price)
            self.setCursor(QtCore.Qt.CursorShape.ClosedHandCursor)
            self.update()

    def mouseMoveEvent(self, event: QtGui.QMouseEvent) -> None:
        row = self._row_of_y(event.position().toPoint().y())
        if row != self._hover_row:
            self._hover_row = row
            self.update()
        if self._drag is not None and row is not None:
            target = self.axis.price_at_row(row)
            if target is not None and target != self._drag.target:
                self._drag.target = target
                self.update()

    def mouseReleaseEvent(self, event: QtGui.QMouseEvent) -> None:
        drag, self._drag = self._drag, None
        if drag is None or event.button() is not QtCore.Qt.MouseButton.LeftButton:
            super().mouseReleaseEvent(event)
            return
        self.unsetCursor()
        row = self._row_of_y(event.position().toPoint().y())
        target = None if row is None else self.axis.price_at_row(row)
        self.update()
        if target is None:
            return  # dropped outside the rows: nothing happens
        if target == drag.price:
            self.cancel_at(drag.side, drag.price)
        else:
            self.move_orders(drag.side, drag.price, target)

    def leaveEvent(self, event: QtCore.QEvent) -> None:
        self._hover_row = None
        self.update()
        super().leaveEvent(event)

    def wheelEvent(self, event: QtGui.QWheelEvent) -> None:
        self._wheel_rest += event.angleDelta().y()
        notches = int(self._wheel_rest / 120)
        if notches:
            self._wheel_rest -= notches * 120
            bid, ask = self.market.best_bid(), self.market.best_ask()
            inside = (None if bid is None else bid[0], None if ask is None else ask[0])
            self.axis.scroll(notches * WHEEL_ROWS, inside)
            self.refresh()
        event.accept()

    # --- order actions -----------------------------------------------------------------------------------------

    def cancel_at(self, side: Side, price: Price) -> None:
        """Cancel the working orders of ``side`` at ``price`` (those not already being cancelled)."""
        ids = self._order_ids(side, price, skip=(OrdStatus.PENDING_CANCEL,))
        self.context.commands.cancel_many(ids)
        self._key = None

    def move_orders(self, side: Side, price: Price, target: Price) -> None:
        """Move the working orders of ``side`` at ``price`` to ``target`` (those not already being changed)."""
        for client_order_id in self._order_ids(side, price, skip=(OrdStatus.PENDING_CANCEL, OrdStatus.PENDING_REPLACE)):
            self.context.commands.replace(client_order_id, price=target)
        self._key = None

    def _order_ids(self, side: Side, price: Price, *, skip: tuple[OrdStatus, ...]) -> list[str]:
        return [
            order.client_order_id
            for order in self.context.state.orders.working(self.symbol)
            if order.side is side and order.price == price and order.status not in skip
        ]

    # --- painting ----------------------------------------------------------------------------------------------

    def paintEvent(self, event: QtGui.QPaintEvent) -> None:
        painter = QtGui.QPainter(self)
        try:
            self._paint(painter)
        finally:
            painter.end()

    def _paint(self, painter: QtGui.QPainter) -> None:
        palette = self.colours
        metrics = self.metrics
        painter.fillRect(self.rect(), palette.background)
        painter.setFont(self._font)
        rows = self.rows()
        depth_max = max((max(row.bid, row.ask) for row in rows), default=0) or 1
        blink_on = self._blink_on()
        for index, row in enumerate(rows):
            self._paint_row(painter, index, row, depth_max, blink_on)
        self._paint_grid(painter, len(rows))
        if self._drag is not None:
            self._paint_drag(painter, self._drag)
        self._paint_header(painter)
        footer = QtCore.QRect(0, self.height() - metrics.footer_height, self.width(), metrics.footer_height)
        alert = bool(self._flashes) or self._notice_on(time.monotonic_ns())
        colour = palette.reject if alert else None
        painter.setFont(self._bold if alert else self._font)
        paint_strip(painter, footer, palette, self.status_text, colour=colour, bottom_line=False)

    def _blink_on(self) -> bool:
        if not self._flashes:
            return False
        started = self._flashes[-1].until_ns - self.rejects.flash_ns
        return (time.monotonic_ns() - started) // BLINK_NS % 2 == 0

    def _paint_header(self, painter: QtGui.QPainter) -> None:
        palette = self.colours
        rect = QtCore.QRect(0, 0, self.width(), self.metrics.header_height)
        painter.fillRect(rect, palette.surface)
        painter.setPen(palette.grid)
        painter.drawLine(0, rect.bottom(), self.width(), rect.bottom())
        painter.setFont(self._bold)
        for column, (x, width) in self._columns.items():
            colour = {Column.BID: palette.bid, Column.ASK: palette.ask}.get(column, palette.muted)
            painter.setPen(colour)
            painter.drawText(QtCore.QRect(x, 0, width, rect.height()), _ALIGN_CENTER, _TITLES[column])
        painter.setFont(self._font)

    def _paint_grid(self, painter: QtGui.QPainter, count: int) -> None:
        palette = self.colours
        top = self.metrics.header_height
        bottom = min(self.height() - self.metrics.footer_height, top + count * self.metrics.row_height)
        painter.setPen(with_alpha(palette.grid, 160))
        for row in range(1, count):
            y = self._row_y(row)
            painter.drawLine(0, y, self.width(), y)
        painter.setPen(palette.grid)
        for x, _ in list(self._columns.values())[1:]:
            painter.drawLine(x, top, x, bottom)

    def _cell(self, column: Column, index: int) -> QtCore.QRect:
        x, width = self._columns[column]
        return QtCore.QRect(x, self._row_y(index), width, self.metrics.row_height)

    def _paint_row(self, painter: QtGui.QPainter, index: int, row: LadderRow, depth_max: int, blink_on: bool) -> None:
        palette = self.colours
        self._paint_side(painter, self._cell(Column.BID, index), row.bid, row.best_bid, depth_max, Side.BUY)
        self._paint_side(painter, self._cell(Column.ASK, index), row.ask, row.best_ask, depth_max, Side.SELL)
        self._paint_price(painter, self._cell(Column.PRICE, index), row)
        self._paint_own(painter, self._cell(Column.OWN_BUY, index), row.own_buy, row.own_buy_pending)
        self._paint_own(painter, self._cell(Column.OWN_SELL, index), row.own_sell, row.own_sell_pending)
        self._paint_last(painter, self._cell(Column.LAST, index), row)
        self._paint_volume(painter, self._cell(Column.VOLUME, index), row)
        whole = QtCore.QRect(0, self._row_y(index), self.width(), self.metrics.row_height)
        if row.position is not None:
            painter.setPen(QtGui.QPen(palette.position, 2))
            painter.setBrush(QtCore.Qt.BrushStyle.NoBrush)
            painter.drawRect(whole.adjusted(1, 1, -1, -1))
        if index == self._hover_row and self._drag is None:
            painter.fillRect(whole, with_alpha(palette.foreground, 22))
        if row.rejected:
            painter.fillRect(whole, with_alpha(palette.reject, 150 if blink_on else 60))
            for flash in self._flashes:
                if flash.price == row.price:
                    own = Column.OWN_BUY if flash.side is Side.BUY else Column.OWN_SELL
                    painter.fillRect(self._cell(own, index), palette.reject if blink_on else palette.background)
                    painter.setPen(palette.text_on(palette.reject) if blink_on else palette.reject)
                    painter.setFont(self._bold)
                    painter.drawText(self._cell(own, index), _ALIGN_CENTER, "REJ")
                    painter.setFont(self._font)

    def _paint_side(
        self, painter: QtGui.QPainter, cell: QtCore.QRect, quantity: int, best: bool, depth_max: int, side: Side
    ) -> None:
        palette = self.colours
        strong = palette.bid if side is Side.BUY else palette.ask
        painter.fillRect(cell, palette.bid_background if side is Side.BUY else palette.ask_background)
        if quantity <= 0:
            return
        if best:
            painter.fillRect(cell, strong)
            painter.setPen(palette.text_on(strong))
            painter.setFont(self._bold)
        else:
            width = max(2, cell.width() * quantity // depth_max)
            bar = QtCore.QRect(cell.right() - width + 1, cell.top() + 2, width, cell.height() - 3)
            if side is Side.SELL:
                bar.moveLeft(cell.left())
            painter.fillRect(bar, with_alpha(strong, 90))
            painter.setPen(palette.foreground)
        painter.drawText(cell.adjusted(_CELL_PAD, 0, -_CELL_PAD, 0), _ALIGN_RIGHT, quantity_text(quantity))
        painter.setFont(self._font)

    def _paint_price(self, painter: QtGui.QPainter, cell: QtCore.QRect, row: LadderRow) -> None:
        palette = self.colours
        painter.fillRect(cell, palette.surface)
        text_colour = palette.foreground
        if row.position is not None:
            painter.fillRect(cell, palette.position)
            text_colour = palette.text_on(palette.position)
        elif row.last_trade:
            text_colour = palette.last_trade
        elif not (row.bid or row.ask):
            text_colour = palette.muted
        inner = cell.adjusted(_CELL_PAD, 0, -_CELL_PAD, 0)
        if row.position is not None:
            painter.setFont(self._small)
            painter.setPen(text_colour)
            painter.drawText(inner, _ALIGN_LEFT, f"{row.position:+d}")
        painter.setFont(self._bold if row.last_trade or row.position is not None else self._font)
        painter.setPen(text_colour)
        painter.drawText(inner, _ALIGN_RIGHT, row.price_text)
        painter.setFont(self._font)

    def _paint_own(self, painter: QtGui.QPainter, cell: QtCore.QRect, quantity: int, pending: bool) -> None:
        if quantity <= 0:
            return
        palette = self.colours
        fill = palette.pending if pending else palette.own_order
        box = cell.adjusted(3, 2, -3, -2)
        painter.setPen(QtCore.Qt.PenStyle.NoPen)
        painter.setBrush(fill)
        painter.drawRoundedRect(box, 3, 3)
        painter.setBrush(QtCore.Qt.BrushStyle.NoBrush)
        painter.setPen(palette.text_on(fill))
        painter.setFont(self._bold)
        painter.drawText(box, _ALIGN_CENTER, quantity_text(quantity))
        painter.setFont(self._font)

    def _paint_last(self, painter: QtGui.QPainter, cell: QtCore.QRect, row: LadderRow) -> None:
        if not row.last_trade or row.last_qty <= 0:
            return
        palette = self.colours
        painter.fillRect(cell.adjusted(1, 1, 0, 0), palette.last_trade)
        painter.setPen(palette.text_on(palette.last_trade))
        painter.setFont(self._bold)
        painter.drawText(cell.adjusted(_CELL_PAD, 0, -_CELL_PAD, 0), _ALIGN_RIGHT, quantity_text(row.last_qty))
        painter.setFont(self._font)

    def _paint_volume(self, painter: QtGui.QPainter, cell: QtCore.QRect, row: LadderRow) -> None:
        volume = row.volume
        if volume <= 0:
            return
        palette = self.colours
        width = max(2, (cell.width() - 2) * volume // self._volume_max)
        buy_width = width * row.buy_volume // volume
        bar = QtCore.QRect(cell.left() + 1, cell.top() + 3, width, cell.height() - 5)
        painter.fillRect(bar, with_alpha(palette.volume, 170))
        painter.fillRect(QtCore.QRect(bar.left(), bar.bottom(), buy_width, 2), palette.buy)
        painter.fillRect(QtCore.QRect(bar.left() + buy_width, bar.bottom(), width - buy_width, 2), palette.sell)
        painter.setPen(palette.foreground)
        painter.drawText(cell.adjusted(_CELL_PAD, 0, -_CELL_PAD, 0), _ALIGN_RIGHT, quantity_text(volume))

    def _paint_drag(self, painter: QtGui.QPainter, drag: _Drag) -> None:
        row = self.axis.row_at_price(drag.target)
        if row is None or drag.target == drag.price:
            return
        palette = self.colours
        column = Column.OWN_BUY if drag.side is Side.BUY else Column.OWN_SELL
        box = self._cell(column, row).adjusted(3, 2, -3, -2)
        pen = QtGui.QPen(palette.own_order, 1.5, QtCore.Qt.PenStyle.DashLine)
        painter.setPen(pen)
        painter.setBrush(QtCore.Qt.BrushStyle.NoBrush)
        painter.drawRoundedRect(box, 3, 3)
        level = self._own.get((drag.side, drag.price))
        if level is not None:
            painter.drawText(box, _ALIGN_CENTER, quantity_text(level.quantity))
