"""Colours, fonts, row metrics and small painting helpers the order book's widgets share, all from the theme."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6 import QtCore, QtGui

from core.numbers import Quantity
from workstation.theme import Theme


@dataclass(frozen=True, slots=True)
class Palette:
    """The theme colours the order book paints with."""

    background: QtGui.QColor
    surface: QtGui.QColor
    foreground: QtGui.QColor
    muted: QtGui.QColor
    grid: QtGui.QColor
    accent: QtGui.QColor
    bid: QtGui.QColor
    ask: QtGui.QColor
    bid_background: QtGui.QColor
    ask_background: QtGui.QColor
    buy: QtGui.QColor
    sell: QtGui.QColor
    own_order: QtGui.QColor
    pending: QtGui.QColor
    reject: QtGui.QColor
    position: QtGui.QColor
    last_trade: QtGui.QColor
    volume: QtGui.QColor

    @classmethod
    def from_theme(cls, theme: Theme) -> Palette:
        """The palette of ``theme`` (each field is the theme role of the same name)."""
        return cls(**{name: theme.colour(name) for name in cls.__dataclass_fields__})

    def text_on(self, fill: QtGui.QColor) -> QtGui.QColor:
        """The theme's foreground or background colour, whichever reads better on ``fill``."""
        fill_light = _luminance(fill)
        return max(self.foreground, self.background, key=lambda colour: abs(_luminance(colour) - fill_light))


def _luminance(colour: QtGui.QColor) -> float:
    return 0.2126 * colour.redF() + 0.7152 * colour.greenF() + 0.0722 * colour.blueF()


def with_alpha(colour: QtGui.QColor, alpha: int) -> QtGui.QColor:
    """``colour`` with its alpha channel set to ``alpha`` (0-255)."""
    copy = QtGui.QColor(colour)
    copy.setAlpha(alpha)
    return copy


def number_font(base: QtGui.QFont) -> QtGui.QFont:
    """A fixed-pitch font the size of ``base``, so digits line up column by column."""
    font = QtGui.QFontDatabase.systemFont(QtGui.QFontDatabase.SystemFont.FixedFont)
    size = base.pointSizeF()
    if size > 0:
        font.setPointSizeF(size)
    return font


@dataclass(frozen=True, slots=True)
class RowMetrics:
    """Heights in pixels shared by every widget drawn against the ladder's rows: a header with the column
    titles, the rows, and a status line at the bottom."""

    row_height: int
    header_height: int
    footer_height: int

    @classmethod
    def from_font(cls, font: QtGui.QFont) -> RowMetrics:
        """Rows tall enough for ``font`` with a little air."""
        height = QtGui.QFontMetrics(font).height()
        return cls(row_height=height + 4, header_height=height + 8, footer_height=height + 10)

    def rows_in(self, height: int) -> int:
        """How many rows (the last possibly cut) fit in a widget ``height`` pixels tall."""
        space = max(0, height - self.header_height - self.footer_height)
        return max(1, -(-space // self.row_height))


def quantity_text(quantity: Quantity) -> str:
    """A quantity for a narrow cell: empty for 0, in full below a million, else in thousands or millions."""
    if quantity == 0:
        return ""
    size = abs(quantity)
    if size < 1_000_000:
        return str(quantity)
    if size < 100_000_000:
        return f"{quantity / 1_000:.0f}k"
    return f"{quantity / 1_000_000:.0f}M"


def paint_strip(
    painter: QtGui.QPainter,
    rect: QtCore.QRect,
    palette: Palette,
    left: str,
    right: str = "",
    *,
    colour: QtGui.QColor | None = None,
    bottom_line: bool = True,
) -> None:
    """A header or status strip: surface fill, a grid line, ``left`` text (in ``colour``) and muted ``right``."""
    painter.fillRect(rect, palette.surface)
    painter.setPen(palette.grid)
    edge = rect.bottom() if bottom_line else rect.top()
    painter.drawLine(rect.left(), edge, rect.right(), edge)
    inner = rect.adjusted(6, 0, -6, 0)
    align_v = QtCore.Qt.AlignmentFlag.AlignVCenter
    if right:
        painter.setPen(palette.muted)
        painter.drawText(inner, align_v | QtCore.Qt.AlignmentFlag.AlignRight, right)
        inner.setRight(inner.right() - painter.fontMetrics().horizontalAdvance(right) - 8)
    painter.setPen(colour if colour is not None else palette.muted)
    elided = painter.fontMetrics().elidedText(left, QtCore.Qt.TextElideMode.ElideRight, max(0, inner.width()))
    painter.drawText(inner, align_v | QtCore.Qt.AlignmentFlag.AlignLeft, elided)
