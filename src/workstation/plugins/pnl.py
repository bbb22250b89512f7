"""The P&L panel: positions with their P&L, totals, the equity curve and each account's daily-loss gauge.

Positions come from the engine's position updates; their open P&L is marked by the desktop on its own book
(:class:`workstation.state.PositionBook`), so the panel moves with the market between fills. The equity curve is
``PositionBook.equity_curve()``, which the main window samples once a second; this panel only reads it. (When it
finds no sample at all, it takes the first one itself so the curve has a start; it never samples after that, so
the curve is never sampled twice.)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

from core.instruments import Instrument
from core.numbers import EXACT, Money, decimal_to_money
from core.portfolio import Position
from engine.text import money_cents, tick_decimals
from workstation.hookspecs import hookimpl
from workstation.panel import Panel, PanelContext, PanelSpec
from workstation.state import DesktopState
from workstation.theme import Theme
from workstation.widgets import dense_table

DAILY_LOSS_CHECK = "daily_loss"
"""The risk check whose ``limit`` parameter the gauges show (see ``engine.risk.checks_account.DailyLoss``)."""
DAILY_LOSS_LIMIT = "limit"
WARNING_FRACTION = 0.5
"""Share of the daily loss limit used from which the gauge turns to the warning colour."""
DANGER_FRACTION = 0.8
"""Share of the daily loss limit used from which the gauge turns to the loss colour."""

MIN_CURVE_SECONDS = 60
"""The equity curve spans at least a minute (a fresh curve is not drawn in milliseconds)."""

COLUMNS = ("Account", "Symbol", "Qty", "Avg Px", "Mark", "Realized", "Unrealized", "Fees", "Net")
SHOWN_ORDER = (0, 1, 2, 3, 8, 6, 5, 7, 4)
"""The columns left to right: the P&L beside the position, the mark last (the first to be cut when narrow)."""
_MONEY_COLUMNS = frozenset({5, 6, 7, 8})
_RIGHT = QtCore.Qt.AlignmentFlag.AlignRight | QtCore.Qt.AlignmentFlag.AlignVCenter
_LEFT = QtCore.Qt.AlignmentFlag.AlignLeft | QtCore.Qt.AlignmentFlag.AlignVCenter
_BIG = "font-size: 15pt; font-weight: bold;"


def average_price_text(instrument: Instrument, cost: int, quantity: int) -> str:
    """The exact average price ``cost / quantity`` (price units) at the tick's precision plus two digits."""
    value = EXACT.divide(Decimal(cost), Decimal(quantity)).scaleb(-instrument.price_scale, EXACT)
    places = Decimal(1).scaleb(-(tick_decimals(instrument) + 2))
    return str(value.quantize(places, rounding=ROUND_HALF_EVEN, context=EXACT))


def daily_loss_limit(state: DesktopState, account: str) -> Money | None:
    """The configured daily loss limit of ``account`` in money units, or None when the check is not enabled."""
    value = state.risk_limit(account, DAILY_LOSS_CHECK, DAILY_LOSS_LIMIT)
    if value is None or isinstance(value, bool):
        return None
    try:
        return decimal_to_money(Decimal(str(value)))
    except (ArithmeticError, ValueError):
        return None


@dataclass(frozen=True, slots=True)
class PositionRow:
    """One line of the table: a position, or the totals (``quantity`` None)."""

    account: str
    instrument: str
    quantity: int | None
    average: str
    mark: str
    realized: Money
    unrealized: Money
    fees: Money

    @property
    def net(self) -> Money:
        """Realized plus unrealized minus fees."""
        return self.realized + self.unrealized - self.fees

    def money(self, column: int) -> Money:
        """The amount shown in money column ``column`` (realized, unrealized, fees or net)."""
        return (self.realized, self.unrealized, self.fees, self.net)[column - 5]


def position_row(state: DesktopState, position: Position) -> PositionRow:
    """The table line of ``position``, marked to the desktop's book."""
    instrument = position.instrument
    mark = state.positions.mark(instrument.symbol)
    average = position.average_price()
    return PositionRow(
        account=position.account,
        instrument=instrument.symbol,
        quantity=position.quantity,
        average="" if average is None else average_price_text(instrument, *average),
        mark="" if mark is None else average_price_text(instrument, mark, 1),  # a mid may be half a tick
        realized=position.realized,
        unrealized=state.positions.unrealized(position),
        fees=position.fees,
    )


class PositionsModel(QtCore.QAbstractTableModel):
    """Positions and a totals line, as a virtual table."""

    def __init__(self, theme: Theme, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self._theme = theme
        self.rows: list[PositionRow] = []
        self._bold = QtGui.QFont()
        self._bold.setBold(True)

    def set_rows(self, rows: Sequence[PositionRow]) -> None:
        """Show ``rows`` (the totals line last); a same-sized update repaints in place."""
        if len(rows) == len(self.rows):
            self.rows = list(rows)
            if rows:
                self.dataChanged.emit(self.index(0, 0), self.index(len(rows) - 1, len(COLUMNS) - 1))
            return
        self.beginResetModel()
        self.rows = list(rows)
        self.endResetModel()

    def rowCount(self, parent: QtCore.QModelIndex | QtCore.QPersistentModelIndex = QtCore.QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: QtCore.QModelIndex | QtCore.QPersistentModelIndex = QtCore.QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: QtCore.Qt.Orientation, role: int = 0) -> Any:
        if orientation is QtCore.Qt.Orientation.Horizontal and role == QtCore.Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        if orientation is QtCore.Qt.Orientation.Horizontal and role == QtCore.Qt.ItemDataRole.TextAlignmentRole:
            return _LEFT if section < 2 else _RIGHT
        return None

    def data(self, index: QtCore.QModelIndex | QtCore.QPersistentModelIndex, role: int = 0) -> Any:
        if not index.isValid():
            return None
        row, column = self.rows[index.row()], index.column()
        if role == QtCore.Qt.ItemDataRole.DisplayRole:
            return self._text(row, column)
        if role == QtCore.Qt.ItemDataRole.TextAlignmentRole:
            return _LEFT if column < 2 else _RIGHT
        if role == QtCore.Qt.ItemDataRole.ForegroundRole:
            return self._colour(row, column)
        if role == QtCore.Qt.ItemDataRole.FontRole and row.quantity is None:
            return self._bold
        if role == QtCore.Qt.ItemDataRole.BackgroundRole and row.quantity is None:
            return self._theme.colour("surface")
        return None

    @staticmethod
    def _text(row: PositionRow, column: int) -> str:
        if column in _MONEY_COLUMNS:
            return money_cents(row.money(column))
        if column == 2:
            return "" if row.quantity is None else f"{row.quantity:,}"
        return (row.account, row.instrument, "", row.average, row.mark)[column]

    def _colour(self, row: PositionRow, column: int) -> QtGui.QColor | None:
        if column in _MONEY_COLUMNS and column != 7:
            value = row.money(column)
            return self._theme.colour("muted" if value == 0 else "profit" if value > 0 else "loss")
        if column == 2 and row.quantity:
            return self._theme.colour("bid" if row.quantity > 0 else "ask")
        if column in (2, 3, 4, 7):
            return self._theme.colour("muted") if row.quantity == 0 else None
        return None


class LossGauge(QtWidgets.QWidget):
    """One account's use of its daily loss limit as a bar: green below half, amber below 80 %, red beyond."""

    def __init__(self, theme: Theme, account: str, limit: Money | None, parent: QtWidgets.QWidget | None = None):
        super().__init__(parent)
        self._theme = theme
        self.account = account
        self.limit = limit
        self.used: Money = 0
        self.setMinimumHeight(18)
        self.setSizePolicy(QtWidgets.QSizePolicy.Policy.Expanding, QtWidgets.QSizePolicy.Policy.Fixed)

    def set_used(self, used: Money) -> None:
        """Show ``used`` (the account's loss of the trading day, zero when in profit)."""
        used = max(0, used)
        if used != self.used:
            self.used = used
            self.setToolTip(self.text())
            self.update()

    def fraction(self) -> float:
        """Share of the limit used (may pass 1); zero without a limit."""
        return 0.0 if not self.limit else self.used / self.limit

    def role(self) -> str:
        """The theme colour role of the bar."""
        fraction = self.fraction()
        return "loss" if fraction >= DANGER_FRACTION else "warning" if fraction >= WARNING_FRACTION else "profit"

    def text(self) -> str:
        """``used X of Y`` (or why there is no limit to show)."""
        if self.limit is None:
            return f"{self.account}: no daily loss limit"
        return f"used {money_cents(self.used)} of {money_cents(self.limit)}"

    def minimumSizeHint(self) -> QtCore.QSize:
        """Wide enough for the text at a loss as large as the limit, so that it is never clipped."""
        widest = self._shown(self.limit or 0) if self.limit is not None else self.text()
        width = max(160, self.fontMetrics().horizontalAdvance(widest) + 16)
        return QtCore.QSize(width, 18)

    def _shown(self, used: Money) -> str:
        """The text drawn on the bar for a loss of ``used``."""
        if self.limit is None:
            return self.text()
        fraction = 0.0 if not self.limit else used / self.limit
        return f"used {money_cents(used)} of {money_cents(self.limit)}  ({fraction:.0%})"

    def paintEvent(self, event: QtGui.QPaintEvent) -> None:
        painter = QtGui.QPainter(self)
        rect = self.rect().adjusted(0, 1, -1, -2)
        painter.setPen(self._theme.colour("grid"))
        painter.setBrush(self._theme.colour("surface"))
        painter.drawRoundedRect(rect, 3, 3)
        if self.limit:
            filled = QtCore.QRect(rect)
            filled.setWidth(round(rect.width() * min(1.0, self.fraction())))
            colour = self._theme.colour(self.role())
            colour.setAlpha(170)
            painter.setPen(QtCore.Qt.PenStyle.NoPen)
            painter.setBrush(colour)
            painter.drawRoundedRect(filled, 3, 3)
        painter.setPen(self._theme.colour("foreground"))
        painter.drawText(rect, QtCore.Qt.AlignmentFlag.AlignCenter, self._shown(self.used))
        painter.end()


class PnlPanel(Panel):
    """Positions with realized/unrealized P&L and fees, totals, the equity curve and the daily loss gauges."""

    linkable = False

    def __init__(self, context: PanelContext, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(context, parent)
        theme = context.theme
        self._key: tuple[int, int] | None = None
        self._samples = -1
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(4)
        layout.addLayout(self._build_summary())
        self.model = PositionsModel(theme, self)
        self.table = dense_table(self.model, row_height=20)
        header = self.table.horizontalHeader()
        # Every column as wide as its widest text (a few lines: cheap), so no symbol or total is cut short; the
        # spare width goes to the last one, whose figures are right-aligned.
        header.setMinimumSectionSize(40)
        header.setSectionResizeMode(QtWidgets.QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        for shown, column in enumerate(SHOWN_ORDER):
            header.moveSection(header.visualIndex(column), shown)
        self.plot = pg.PlotWidget(axisItems={"bottom": pg.DateAxisItem(orientation="bottom")})
        self.plot.setBackground(theme.hex("background"))
        self.plot.showGrid(x=True, y=True, alpha=0.15)
        self.plot.setMenuEnabled(False)
        self.plot.getPlotItem().hideButtons()
        self.plot.setLabel("left", "net P&L")
        self.plot.getAxis("left").enableAutoSIPrefix(False)
        self.plot.addLine(y=0, pen=pg.mkPen(theme.hex("muted"), style=QtCore.Qt.PenStyle.DashLine))
        self.curve = self.plot.plot(pen=pg.mkPen(theme.hex("accent"), width=2))
        splitter = QtWidgets.QSplitter(QtCore.Qt.Orientation.Vertical)
        splitter.addWidget(self.table)
        splitter.addWidget(self.plot)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        layout.addWidget(splitter, 1)

    def _build_summary(self) -> QtWidgets.QGridLayout:
        theme, state = self.context.theme, self.context.state
        grid = QtWidgets.QGridLayout()
        grid.setHorizontalSpacing(12)
        grid.setVerticalSpacing(2)
        self.net_label = QtWidgets.QLabel("0.00")
        self.net_label.setToolTip("Net P&L of every account: realized + unrealized - fees")
        caption = QtWidgets.QLabel("NET P&L")
        caption.setStyleSheet(f"color: {theme.hex('muted')};")
        self.breakdown = QtWidgets.QLabel()
        self.breakdown.setStyleSheet(f"color: {theme.hex('muted')};")
        self.day_label = QtWidgets.QLabel("day 0.00")
        self.day_label.setToolTip("Net P&L since the trading day began: what the daily loss limit judges")
        grid.addWidget(caption, 0, 0)
        grid.addWidget(self.net_label, 1, 0)
        grid.addWidget(self.breakdown, 2, 0)
        grid.addWidget(self.day_label, 3, 0)
        self.gauges: dict[str, LossGauge] = {}
        for row, account in enumerate(state.accounts):
            label = QtWidgets.QLabel(f"{account} daily loss")
            label.setStyleSheet(f"color: {theme.hex('muted')};")
            gauge = LossGauge(theme, account, daily_loss_limit(state, account))
            self.gauges[account] = gauge
            grid.addWidget(label, row, 1, QtCore.Qt.AlignmentFlag.AlignRight)
            grid.addWidget(gauge, row, 2)
        grid.setColumnStretch(2, 1)
        return grid

    def _change_key(self) -> tuple[int, int]:
        """Changes when a position or the market of a held instrument does."""
        state = self.context.state
        marks = sum(state.markets[p.instrument.symbol].version for p in state.positions.positions() if p.quantity)
        return state.positions.version, marks

    def refresh(self) -> None:
        state = self.context.state
        key = self._change_key()
        if key != self._key:
            self._key = key
            self._update_positions()
        positions = state.positions
        if positions.samples == 0:
            positions.sample_equity(state.now_ns())  # only the first sample: the window takes the rest
        if positions.samples != self._samples:
            self._samples = positions.samples
            times, equity = positions.equity_curve()
            seconds = times.astype(np.float64) / 1e9
            self.curve.setData(seconds, equity.astype(np.float64) / 1e8)
            if len(seconds) and seconds[-1] - seconds[0] < MIN_CURVE_SECONDS:
                self.plot.setXRange(seconds[-1] - MIN_CURVE_SECONDS, seconds[-1], padding=0.02)
            else:
                self.plot.enableAutoRange(axis="x")

    def _update_positions(self) -> None:
        state = self.context.state
        rows = [position_row(state, position) for position in state.positions.positions()]
        rows.sort(key=lambda row: (row.account, row.instrument))
        realized, unrealized, fees = state.positions.totals()
        count = f"{len(rows)} position{'' if len(rows) == 1 else 's'}"
        rows.append(PositionRow("Total", count, None, "", "", realized, unrealized, fees))
        self.model.set_rows(rows)
        net = realized + unrealized - fees
        self.net_label.setText(money_cents(net))
        role = "muted" if net == 0 else "profit" if net > 0 else "loss"
        self.net_label.setStyleSheet(f"color: {self.context.theme.hex(role)}; {_BIG}")
        self.breakdown.setText(
            f"realized {money_cents(realized)}   unrealized {money_cents(unrealized)}   fees {money_cents(fees)}"
        )
        day = state.positions.day_net()
        self.day_label.setText(f"day {money_cents(day)}")
        day_role = "muted" if day == 0 else "profit" if day > 0 else "loss"
        self.day_label.setStyleSheet(f"color: {self.context.theme.hex(day_role)};")
        for account, gauge in self.gauges.items():
            gauge.set_used(-state.positions.day_net(account))


def _factory(context: PanelContext) -> QtWidgets.QWidget:
    return PnlPanel(context)


SPEC = PanelSpec(
    name="pnl",
    title="P&L",
    factory=_factory,
    area="right",
    description="Positions, realized and open P&L, fees, the equity curve and the daily loss limit in use.",
)


@hookimpl
def register_panels() -> Sequence[PanelSpec]:
    """The P&L panel."""
    return [SPEC]
