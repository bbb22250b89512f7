"""The order book panel: an instrument bar and, side by side, the price ladder, the depth heatmap and the volume
profile, all drawn against the same price rows."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from PySide6 import QtCore, QtGui, QtWidgets

from core.numbers import EXACT
from engine.text import money_cents, tick_decimals
from workstation.panel import Panel, PanelContext
from workstation.plugins.order_book.heatmap import DepthHeatmap
from workstation.plugins.order_book.ladder import PriceLadder
from workstation.plugins.order_book.profile import VolumeProfile
from workstation.widgets import InstrumentBar


class OrderBookPanel(Panel):
    """Ladder, heatmap and volume profile of the panel's instrument, with click-to-trade on the ladder."""

    def __init__(self, context: PanelContext, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(context, parent)
        self.ladder = PriceLadder(context, self.instrument)
        self.heatmap = DepthHeatmap(context, self.ladder)
        self.profile = VolumeProfile(context, self.ladder)
        self.bar = InstrumentBar(self)
        self.recenter_button = QtWidgets.QPushButton("Recenter")
        self.recenter_button.setToolTip("Put the mid price in the middle of the ladder")
        self.recenter_button.clicked.connect(self.recenter)
        self.info = QtWidgets.QLabel()
        self.info.setTextFormat(QtCore.Qt.TextFormat.PlainText)
        top = QtWidgets.QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        top.setSpacing(6)
        top.addWidget(self.bar)
        top.addWidget(self.recenter_button)
        top.addWidget(self.info, 1)
        self.splitter = QtWidgets.QSplitter(QtCore.Qt.Orientation.Horizontal)
        self.splitter.setChildrenCollapsible(False)
        self.splitter.setHandleWidth(3)
        for widget in (self.ladder, self.heatmap, self.profile):
            self.splitter.addWidget(widget)
        self.splitter.setStretchFactor(0, 0)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setStretchFactor(2, 0)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.setSpacing(2)
        layout.addLayout(top)
        layout.addWidget(self.splitter, 1)
        self.splitter.setSizes([self.ladder.sizeHint().width(), 360, self.profile.sizeHint().width()])
        recenter_key = context.settings.hotkeys.get("recenter", "")
        if recenter_key:
            shortcut = QtGui.QShortcut(QtGui.QKeySequence(recenter_key), self)
            shortcut.setContext(QtCore.Qt.ShortcutContext.WidgetWithChildrenShortcut)
            shortcut.activated.connect(self.recenter)
        self._info_text = ""

    def instrument_changed(self, symbol: str) -> None:
        """Show ``symbol`` in the ladder, heatmap and profile."""
        self.ladder.set_instrument(symbol)
        self.heatmap.set_instrument(symbol)
        self.profile.set_instrument(symbol)

    def recenter(self) -> None:
        """Put the mid price in the ladder's middle row (the heatmap and profile follow)."""
        self.ladder.recenter()
        self.heatmap.refresh()
        self.profile.refresh()

    def refresh(self) -> None:
        """Bring the ladder, heatmap, profile and the position line up to date with the state."""
        self.ladder.refresh()
        self.heatmap.refresh()
        self.profile.refresh()
        self._refresh_info()

    def _refresh_info(self) -> None:
        state = self.context.state
        position = state.positions.position(self.context.settings.account, self.instrument)
        quantity = f"Qty {self.context.settings.default_quantity}"
        if position is None or position.quantity == 0:
            text = f"{quantity}   Flat"
        else:
            instrument = position.instrument
            average = EXACT.divide(Decimal(position.cost), Decimal(position.quantity)).scaleb(
                -instrument.price_scale, EXACT
            )
            places = Decimal(1).scaleb(-(tick_decimals(instrument) + 2))
            shown = average.quantize(places, rounding=ROUND_HALF_EVEN, context=EXACT)
            pnl = money_cents(state.positions.unrealized(position))
            text = f"{quantity}   Pos {position.quantity:+d} @ {shown}   Open P&L {pnl}"
        if text != self._info_text:
            self._info_text = text
            self.info.setText(text)

    def save_state(self) -> Mapping[str, Any]:
        """The instrument and link group, and how the ladder, heatmap and profile share the width."""
        return {**super().save_state(), "splitter": list(self.splitter.sizes())}

    def restore_state(self, state: Mapping[str, Any]) -> None:
        """Restore what :meth:`save_state` returned (unknown or malformed entries are ignored)."""
        super().restore_state(state)
        sizes = state.get("splitter")
        if isinstance(sizes, list) and len(sizes) == 3 and all(isinstance(size, int) and size >= 0 for size in sizes):
            self.splitter.setSizes(sizes)
