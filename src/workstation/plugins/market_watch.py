"""The market watch: one line per instrument with its best prices, sizes, last trade, change, volume and feed age.

Choosing a line (click or keyboard) makes that instrument the one of the panel's link group, so a ladder or chart
of the same colour follows. A price that moves flashes its cell briefly, green up and red down; flashes and
values are computed on the display frame from the latest state, and only instruments whose market changed are
recomputed.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from PySide6 import QtCore, QtGui, QtWidgets

from core.instruments import Instrument
from core.numbers import Price
from engine.text import price_text, tick_decimals
from workstation.hookspecs import hookimpl
from workstation.panel import Panel, PanelContext, PanelSpec
from workstation.state import DesktopState, InstrumentMarket
from workstation.theme import Theme
from workstation.widgets import InstrumentBar, Selection, dense_table

COLUMNS = ("Symbol", "Bid Sz", "Bid", "Ask", "Ask Sz", "Last", "Chg", "Chg %", "Volume", "Age")
SYMBOL, BID_QTY, BID, ASK, ASK_QTY, LAST, CHANGE, CHANGE_PCT, VOLUME, AGE = range(len(COLUMNS))
FLASHING = (BID, ASK, LAST)
"""Columns whose cell flashes when their price moves."""
HIDE_ORDER = (AGE, VOLUME, CHANGE, BID_QTY, ASK_QTY, LAST)
"""Columns dropped, in this order, when the panel is too narrow to show every one (widen it to see them)."""
FLASH_NS = 300_000_000
"""How long a flash lasts (it fades out over that time)."""
FLASH_ALPHA = 110

_RIGHT = QtCore.Qt.AlignmentFlag.AlignRight | QtCore.Qt.AlignmentFlag.AlignVCenter
_LEFT = QtCore.Qt.AlignmentFlag.AlignLeft | QtCore.Qt.AlignmentFlag.AlignVCenter


def age_text(age_ns: int | None) -> str:
    """A feed age for a glance: milliseconds below a second, then seconds, then minutes."""
    if age_ns is None:
        return "—"
    millis = age_ns // 1_000_000
    if millis < 1_000:
        return f"{millis} ms"
    if millis < 60_000:
        return f"{millis / 1_000:.1f} s"
    return f"{millis // 60_000} min"


def change_text(instrument: Instrument, reference: Price, change: Price) -> str:
    """A price change at the precision of the tick, or of the reference when it is finer (a mid between ticks),
    so an instrument's changes keep one number of decimals all session."""
    exponent = instrument.to_decimal(reference).normalize().as_tuple().exponent
    places = max(tick_decimals(instrument), -exponent if isinstance(exponent, int) else 0)
    return str(instrument.to_decimal(change).quantize(Decimal(1).scaleb(-places)))


@dataclass(slots=True)
class QuoteLine:
    """What one line shows, with the prices it last showed (to flash moves) and its live flashes."""

    market: InstrumentMarket
    texts: list[str] = field(default_factory=lambda: [""] * len(COLUMNS))
    prices: list[Price | None] = field(default_factory=lambda: [None] * len(COLUMNS))
    change: int = 0
    """Sign of the change since the reference price (-1, 0, +1)."""
    stale: bool = False
    flashes: dict[int, tuple[int, int]] = field(default_factory=dict)
    """Column -> (flash end, monotonic ns; direction +1/-1)."""
    version: int = -1

    def update(self, now_ns: int, stale_after_ns: int) -> bool:
        """Bring the texts up to the market; True when anything shown changed."""
        market = self.market
        changed = False
        if market.version != self.version:
            self.version = market.version
            self._prices(now_ns)
            changed = True
        age = market.feed_age_ns()
        text = age_text(age)
        stale = age is None or age > stale_after_ns
        if text != self.texts[AGE] or stale != self.stale:
            self.texts[AGE], self.stale = text, stale
            changed = True
        if self.flashes:
            changed = True  # fading
            for column, (until, _) in list(self.flashes.items()):
                if until <= now_ns:
                    del self.flashes[column]
        return changed

    def _prices(self, now_ns: int) -> None:
        market = self.market
        instrument = market.instrument
        bid, ask = market.best_bid(), market.best_ask()
        last = market.last_price
        for column, price in ((BID, None if bid is None else bid[0]), (ASK, None if ask is None else ask[0]),
                              (LAST, last)):  # fmt: skip
            before = self.prices[column]
            if price is not None and before is not None and price != before:
                self.flashes[column] = (now_ns + FLASH_NS, 1 if price > before else -1)
            self.prices[column] = price
            self.texts[column] = "" if price is None else price_text(instrument, price)
        self.texts[SYMBOL] = instrument.symbol
        self.texts[BID_QTY] = "" if bid is None else f"{bid[1]:,}"
        self.texts[ASK_QTY] = "" if ask is None else f"{ask[1]:,}"
        self.texts[VOLUME] = f"{market.volume:,}"
        current = last if last is not None else market.mid()
        reference = market.reference_price
        if current is None or not reference:
            self.texts[CHANGE] = self.texts[CHANGE_PCT] = ""
            self.change = 0
            return
        change = current - reference
        self.change = (change > 0) - (change < 0)
        sign = "+" if change > 0 else "-" if change < 0 else ""
        self.texts[CHANGE] = sign + change_text(instrument, reference, abs(change))
        self.texts[CHANGE_PCT] = f"{change / reference:+.2%}"


class QuotesModel(QtCore.QAbstractTableModel):
    """The market watch's lines, as a virtual table."""

    def __init__(self, state: DesktopState, theme: Theme, stale_after_ms: int, parent: QtCore.QObject | None = None):
        super().__init__(parent)
        self._theme = theme
        self._stale_after_ns = stale_after_ms * 1_000_000
        self.lines = [QuoteLine(state.markets[symbol]) for symbol in state.symbols]
        self._bold = QtGui.QFont()
        self._bold.setBold(True)
        self._colours = {role: theme.colour(role) for role in ("bid", "ask", "profit", "loss", "muted", "warning")}

    def symbol(self, row: int) -> str:
        """The instrument of line ``row``."""
        return self.lines[row].market.symbol

    def row_of(self, symbol: str) -> int | None:
        """The line of ``symbol``, or None."""
        for row, line in enumerate(self.lines):
            if line.market.symbol == symbol:
                return row
        return None

    def update(self) -> int:
        """Refresh every line from its market; returns how many lines changed (and repaints those)."""
        now = time.monotonic_ns()
        changed = [row for row, line in enumerate(self.lines) if line.update(now, self._stale_after_ns)]
        if changed:
            self.dataChanged.emit(self.index(changed[0], 0), self.index(changed[-1], len(COLUMNS) - 1))
        return len(changed)

    def rowCount(self, parent: QtCore.QModelIndex | QtCore.QPersistentModelIndex = QtCore.QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.lines)

    def columnCount(self, parent: QtCore.QModelIndex | QtCore.QPersistentModelIndex = QtCore.QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: QtCore.Qt.Orientation, role: int = 0) -> Any:
        if orientation is not QtCore.Qt.Orientation.Horizontal:
            return None
        if role == QtCore.Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        if role == QtCore.Qt.ItemDataRole.TextAlignmentRole:
            return _LEFT if section == SYMBOL else _RIGHT
        return None

    def data(self, index: QtCore.QModelIndex | QtCore.QPersistentModelIndex, role: int = 0) -> Any:
        if not index.isValid():
            return None
        line, column = self.lines[index.row()], index.column()
        if role == QtCore.Qt.ItemDataRole.DisplayRole:
            return line.texts[column]
        if role == QtCore.Qt.ItemDataRole.TextAlignmentRole:
            return _LEFT if column == SYMBOL else _RIGHT
        if role == QtCore.Qt.ItemDataRole.ForegroundRole:
            return self._foreground(line, column)
        if role == QtCore.Qt.ItemDataRole.BackgroundRole:
            return self._flash(line, column)
        if role == QtCore.Qt.ItemDataRole.FontRole and column in (SYMBOL, BID, ASK, LAST):
            return self._bold
        return None

    def _foreground(self, line: QuoteLine, column: int) -> QtGui.QColor | None:
        if column in (BID, BID_QTY):
            return self._colours["bid"]
        if column in (ASK, ASK_QTY):
            return self._colours["ask"]
        if column in (CHANGE, CHANGE_PCT):
            return self._colours["muted" if line.change == 0 else "profit" if line.change > 0 else "loss"]
        if column == AGE:
            return self._colours["warning" if line.stale else "muted"]
        if column == VOLUME:
            return self._colours["muted"]
        return None

    def _flash(self, line: QuoteLine, column: int) -> QtGui.QColor | None:
        flash = line.flashes.get(column)
        if flash is None:
            return None
        until, direction = flash
        left = max(0, until - time.monotonic_ns())
        colour = QtGui.QColor(self._colours["profit" if direction > 0 else "loss"])
        colour.setAlpha(int(FLASH_ALPHA * left / FLASH_NS))
        return colour


class MarketWatch(Panel):
    """Every instrument at a glance; choosing one drives the panel's link group."""

    linkable = True

    def __init__(self, context: PanelContext, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(context, parent)
        self._syncing = False
        self._widths = [0] * len(COLUMNS)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(4)
        self.bar = InstrumentBar(self)
        layout.addWidget(self.bar)
        self.model = QuotesModel(context.state, context.theme, context.settings.stale_feed_ms, self)
        self.table = dense_table(self.model, selection=Selection.SingleSelection, row_height=21)
        self.table.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        header = self.table.horizontalHeader()
        header.setStretchLastSection(False)  # measure the last column at its natural width
        self.model.update()
        self._size_columns()
        header.setStretchLastSection(True)
        self.table.clicked.connect(lambda index: self.choose_row(index.row()))
        self.table.selectionModel().currentRowChanged.connect(lambda current, _old: self.choose_row(current.row()))
        layout.addWidget(self.table, 1)
        self.table.viewport().installEventFilter(self)
        self._select(self.instrument)

    def choose_row(self, row: int) -> None:
        """Make the instrument of ``row`` the panel's, and its link group's."""
        if self._syncing or not 0 <= row < self.model.rowCount():
            return
        self.set_instrument(self.model.symbol(row))

    def instrument_changed(self, symbol: str) -> None:
        self._select(symbol)

    def _select(self, symbol: str) -> None:
        row = self.model.row_of(symbol)
        if row is None:
            return
        self._syncing = True
        try:
            self.table.selectRow(row)
        finally:
            self._syncing = False

    def refresh(self) -> None:
        self.model.update()

    def sizeHint(self) -> QtCore.QSize:
        """Wide enough for every column, so a dock opens showing the whole line."""
        base = super().sizeHint()
        width = sum(self._widths) + 12
        return QtCore.QSize(max(base.width(), width), base.height())

    def _size_columns(self) -> None:
        """Widths from the widest text each column is likely to hold, set once (no per-frame measuring)."""
        self.table.resizeColumnsToContents()
        header = self.table.horizontalHeader()
        metrics = self.table.fontMetrics()
        samples = (
            *((column, "0000.00") for column in (BID, ASK, LAST)),  # before the first trade, Last is empty
            (CHANGE, "+000.000"), (CHANGE_PCT, "+00.00%"), (AGE, "000 ms"), (VOLUME, "00,000,000"),
        )  # fmt: skip
        for column, sample in samples:
            header.resizeSection(column, max(header.sectionSize(column), metrics.horizontalAdvance(sample) + 16))
        self._widths = [header.sectionSize(column) for column in range(len(COLUMNS))]

    def eventFilter(self, watched: QtCore.QObject, event: QtCore.QEvent) -> bool:
        """Fits the columns when the table's viewport has its new width (the panel's own resize comes before
        its layout resizes the table, so the viewport's width would be the old one)."""
        if event.type() == QtCore.QEvent.Type.Resize and watched is self.table.viewport():
            self._fit_columns()
        return super().eventFilter(watched, event)

    def _fit_columns(self) -> None:
        """Show as many columns as fit the width, dropping the least needed first."""
        available = self.table.viewport().width()
        hidden: set[int] = set()
        total = sum(self._widths)
        for column in HIDE_ORDER:
            if total <= available:
                break
            hidden.add(column)
            total -= self._widths[column]
        for column in range(len(COLUMNS)):
            self.table.setColumnHidden(column, column in hidden)


def _factory(context: PanelContext) -> QtWidgets.QWidget:
    return MarketWatch(context)


SPEC = PanelSpec(
    name="market-watch",
    title="Market Watch",
    factory=_factory,
    area="left",
    description="Best bid and offer, last trade, change, volume and feed age of every instrument.",
)


@hookimpl
def register_panels() -> Sequence[PanelSpec]:
    """The market watch."""
    return [SPEC]
