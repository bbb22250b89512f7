"""The order ticket: side, type, quantity, price, time in force and account, checked, then sent; and its fate.

Types are Limit, Market, IOC and FOK; IOC and FOK are limit orders with that time in force, a market order has no
price (and is sent immediate-or-cancel, as nothing of it may rest). The price is typed in the instrument's
decimals, stepped by its tick with the arrows, the wheel or the keyboard, or taken from the best bid or offer.
The ticket checks what it can before sending (a positive quantity in whole lots, a price on the tick grid) and
then follows the order it sent: working, filled, cancelled, or rejected with the engine's reason. In a read-only
session the send button is disabled and the ticket says why; nothing can be sent from it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from PySide6 import QtCore, QtWidgets

from core.enums import OrderType, OrdStatus, Side, TimeInForce
from core.instruments import Instrument
from core.numbers import Price
from engine.text import price_text
from workstation.hookspecs import hookimpl
from workstation.panel import Panel, PanelContext, PanelSpec
from workstation.plugins.pnl import average_price_text
from workstation.widgets import InstrumentBar

ORDER_KINDS: dict[str, tuple[OrderType, TimeInForce | None]] = {
    "Limit": (OrderType.LIMIT, None),
    "Market": (OrderType.MARKET, TimeInForce.IOC),
    "IOC": (OrderType.LIMIT, TimeInForce.IOC),
    "FOK": (OrderType.LIMIT, TimeInForce.FOK),
}
"""Ticket order kinds: the order type and the time in force they impose (None: the trader chooses)."""

LIMIT_TIFS: dict[str, TimeInForce] = {"Day": TimeInForce.DAY, "GTC": TimeInForce.GTC}
"""Times in force a resting limit order may have."""

_TIF_NAMES = {TimeInForce.DAY: "Day", TimeInForce.GTC: "GTC", TimeInForce.IOC: "IOC", TimeInForce.FOK: "FOK"}
MAX_QUANTITY = 1_000_000_000


def parse_price(instrument: Instrument, text: str) -> Price:
    """The integer price of decimal ``text``; ``ValueError`` says why it is not a valid limit price."""
    text = text.strip().replace(",", "")
    if not text:
        raise ValueError("enter a limit price")
    try:
        price = instrument.to_price(Decimal(text))
    except InvalidOperation:
        raise ValueError(f"price {text!r} is not a number") from None
    except ValueError:
        tick = price_text(instrument, instrument.tick_size)
        raise ValueError(f"price {text} is off the tick grid of {instrument.symbol} (tick {tick})") from None
    if price <= 0:
        raise ValueError("the price must be positive")
    if not instrument.is_on_tick(price):
        tick = price_text(instrument, instrument.tick_size)
        raise ValueError(f"price {text} is off the tick grid of {instrument.symbol} (tick {tick})")
    return price


class PriceBox(QtWidgets.QAbstractSpinBox):
    """A price field in the instrument's decimals whose arrows (and wheel, and keys) step by one tick."""

    def __init__(self, instrument: Instrument, start: Callable[[], Price | None]) -> None:
        super().__init__()
        self.instrument = instrument
        self._start = start
        self.setAlignment(QtCore.Qt.AlignmentFlag.AlignRight | QtCore.Qt.AlignmentFlag.AlignVCenter)
        self.setAccelerated(True)
        self.setKeyboardTracking(True)

    def price(self) -> Price | None:
        """The price typed, or None when the text is not a valid price."""
        try:
            return parse_price(self.instrument, self.text())
        except ValueError:
            return None

    def set_price(self, price: Price | None) -> None:
        """Show ``price`` at tick precision (None: empty the field)."""
        self.lineEdit().setText("" if price is None else price_text(self.instrument, price))

    def stepEnabled(self) -> QtWidgets.QAbstractSpinBox.StepEnabledFlag:
        if not self.isEnabled():
            return QtWidgets.QAbstractSpinBox.StepEnabledFlag.StepNone
        return QtWidgets.QAbstractSpinBox.StepEnabledFlag.StepUpEnabled | (
            QtWidgets.QAbstractSpinBox.StepEnabledFlag.StepDownEnabled
        )

    def stepBy(self, steps: int) -> None:
        """Move the price ``steps`` ticks (from the market's price when the field is empty)."""
        instrument = self.instrument
        try:
            price: Price | None = instrument.to_price(Decimal(self.text().strip().replace(",", "")))
        except (ArithmeticError, ValueError):
            price = None
        if price is None:
            price = self._start()
            if price is None:
                return
            steps = 0
        price = instrument.round_to_tick(price, up=steps < 0) + steps * instrument.tick_size
        self.set_price(max(instrument.tick_size, price))


class OrderTicket(Panel):
    """Enter an order, check it and send it; then show what became of it."""

    def __init__(self, context: PanelContext, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(context, parent)
        self.side = Side.BUY
        self.sent_id: str | None = None
        self._read_only: bool | None = None
        self._fate_key: tuple[str | None, int, int] | None = None
        self._quote_version = -1
        theme = context.theme
        layout = QtWidgets.QGridLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.setHorizontalSpacing(6)
        layout.setVerticalSpacing(5)
        layout.addWidget(InstrumentBar(self), 0, 0, 1, 4)

        self.bid_button = QtWidgets.QPushButton("Bid")
        self.bid_button.setToolTip("Use the best bid as the price")
        self.bid_button.setStyleSheet(f"color: {theme.hex('bid')};")
        self.bid_button.clicked.connect(lambda: self.fill_price(Side.SELL))
        self.ask_button = QtWidgets.QPushButton("Ask")
        self.ask_button.setToolTip("Use the best offer as the price")
        self.ask_button.setStyleSheet(f"color: {theme.hex('ask')};")
        self.ask_button.clicked.connect(lambda: self.fill_price(Side.BUY))
        layout.addWidget(self.bid_button, 1, 0, 1, 2)
        layout.addWidget(self.ask_button, 1, 2, 1, 2)

        self.buy_button = self._side_button("Buy", "buy", Side.BUY)
        self.sell_button = self._side_button("Sell", "sell", Side.SELL)
        sides = QtWidgets.QButtonGroup(self)
        sides.setExclusive(True)
        sides.addButton(self.buy_button)
        sides.addButton(self.sell_button)
        layout.addWidget(self._caption("Side"), 2, 0)
        layout.addWidget(self.buy_button, 2, 1, 1, 1)
        layout.addWidget(self.sell_button, 2, 2, 1, 2)

        self.kind = QtWidgets.QComboBox()
        self.kind.addItems(list(ORDER_KINDS))
        self.kind.currentTextChanged.connect(lambda _text: self._kind_changed())
        self.tif = QtWidgets.QComboBox()
        self.tif.addItems(list(LIMIT_TIFS))
        self.tif.currentTextChanged.connect(lambda _text: self._update_submit())
        layout.addWidget(self._caption("Type"), 3, 0)
        layout.addWidget(self.kind, 3, 1)
        layout.addWidget(self._caption("TIF"), 3, 2)
        layout.addWidget(self.tif, 3, 3)

        self.quantity = QtWidgets.QSpinBox()
        self.quantity.setRange(0, MAX_QUANTITY)
        self.quantity.setGroupSeparatorShown(True)
        self.quantity.setAlignment(QtCore.Qt.AlignmentFlag.AlignRight | QtCore.Qt.AlignmentFlag.AlignVCenter)
        self.quantity.setValue(context.settings.default_quantity)
        self.quantity.valueChanged.connect(lambda _value: self._update_submit())
        layout.addWidget(self._caption("Qty"), 4, 0)
        layout.addWidget(self.quantity, 4, 1, 1, 3)
        quick = QtWidgets.QHBoxLayout()
        quick.setSpacing(3)
        self.quick_buttons: list[QtWidgets.QPushButton] = []
        for amount in context.settings.quick_quantities:
            button = QtWidgets.QPushButton(_short_quantity(amount))
            button.setToolTip(f"Quantity {amount:,}")
            button.setMinimumWidth(36)
            button.clicked.connect(lambda _=False, q=amount: self.quantity.setValue(q))
            quick.addWidget(button)
            self.quick_buttons.append(button)
        layout.addLayout(quick, 5, 1, 1, 3)

        self.price = PriceBox(self._instrument(), self._start_price)
        self.price.lineEdit().textChanged.connect(lambda _text: self._update_submit())
        layout.addWidget(self._caption("Price"), 6, 0)
        layout.addWidget(self.price, 6, 1, 1, 3)

        self.account = QtWidgets.QComboBox()
        self.account.addItems(list(context.state.accounts))
        self.account.setCurrentText(context.settings.account)
        layout.addWidget(self._caption("Account"), 7, 0)
        layout.addWidget(self.account, 7, 1, 1, 3)

        self.submit_button = QtWidgets.QPushButton()
        self.submit_button.setMinimumHeight(32)
        # Disabled (read-only session), the send button must not look like a live buy or sell button.
        self.submit_button.setStyleSheet(
            f"QPushButton:disabled {{ background-color: {theme.hex('surface')}; color: {theme.hex('muted')}; "
            f"border-color: {theme.hex('grid')}; font-weight: normal; }}"
        )
        self.submit_button.clicked.connect(self.submit)
        layout.addWidget(self.submit_button, 8, 0, 1, 4)

        self.status = QtWidgets.QLabel()
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        self.status.setMinimumHeight(34)
        self.status.setAlignment(QtCore.Qt.AlignmentFlag.AlignLeft | QtCore.Qt.AlignmentFlag.AlignTop)
        layout.addWidget(self.status, 9, 0, 1, 4)
        layout.setRowStretch(10, 1)
        layout.setColumnStretch(1, 1)
        layout.setColumnStretch(3, 1)
        self.buy_button.setChecked(True)
        self._kind_changed()
        self._update_quotes()
        self._update_read_only()

    # --- building ------------------------------------------------------------------------------------------------

    def _caption(self, text: str) -> QtWidgets.QLabel:
        label = QtWidgets.QLabel(text)
        label.setStyleSheet(f"color: {self.context.theme.hex('muted')};")
        return label

    def _side_button(self, text: str, role: str, side: Side) -> QtWidgets.QPushButton:
        button = QtWidgets.QPushButton(text)
        button.setCheckable(True)
        button.setProperty("role", role)
        theme = self.context.theme
        # The theme draws role buttons in full colour; the side not chosen is drawn quiet.
        button.setStyleSheet(
            f"QPushButton:!checked {{ background-color: {theme.hex('surface')}; color: {theme.hex(role)}; "
            f"border-color: {theme.hex('grid')}; font-weight: normal; }}"
        )
        button.toggled.connect(lambda checked, s=side: self._side_toggled(s, checked))
        return button

    def _instrument(self) -> Instrument:
        return self.context.state.instruments[self.instrument]

    # --- reacting ------------------------------------------------------------------------------------------------

    def _side_toggled(self, side: Side, checked: bool) -> None:
        if checked:
            self.set_side(side)

    def set_side(self, side: Side) -> None:
        """Make the ticket a buy or a sell."""
        self.side = side
        button = self.buy_button if side is Side.BUY else self.sell_button
        if not button.isChecked():
            button.setChecked(True)
        self._update_submit()

    def set_kind(self, kind: str) -> None:
        """Choose the order kind: ``Limit``, ``Market``, ``IOC`` or ``FOK``."""
        self.kind.setCurrentText(kind)

    def _kind_changed(self) -> None:
        order_type, forced = ORDER_KINDS[self.kind.currentText()]
        self.price.setEnabled(order_type is OrderType.LIMIT)
        self.tif.blockSignals(True)
        if forced is None:
            if not self.tif.isEnabled() or self.tif.count() != len(LIMIT_TIFS):
                self.tif.clear()
                self.tif.addItems(list(LIMIT_TIFS))
            self.tif.setEnabled(True)
        else:
            self.tif.clear()
            self.tif.addItem(_TIF_NAMES[forced])
            self.tif.setEnabled(False)
        self.tif.blockSignals(False)
        self._update_submit()

    def instrument_changed(self, symbol: str) -> None:
        self.price.instrument = self._instrument()
        self.price.set_price(None)
        self.quantity.setSingleStep(self._instrument().lot_size)
        self._quote_version = -1
        self._update_quotes()
        self._update_submit()

    def _start_price(self) -> Price | None:
        """Where stepping an empty price starts: the best price on the ticket's side, else the mid."""
        price = self.context.commands.best_price(self.instrument, self.side)
        return price if price is not None else self.context.state.market(self.instrument).mid()

    def fill_price(self, side: Side) -> None:
        """Put the price a ``side`` order would take at in the field: the best offer to buy, the best bid to sell."""
        price = self.context.commands.best_price(self.instrument, side)
        if price is not None:
            self.price.set_price(price)

    # --- the order -----------------------------------------------------------------------------------------------

    def order_type(self) -> OrderType:
        """The type of the order the ticket would send."""
        return ORDER_KINDS[self.kind.currentText()][0]

    def time_in_force(self) -> TimeInForce:
        """The time in force the ticket would send: the one its kind imposes, else the chosen one."""
        forced = ORDER_KINDS[self.kind.currentText()][1]
        return forced if forced is not None else LIMIT_TIFS.get(self.tif.currentText(), TimeInForce.DAY)

    def problem(self) -> str | None:
        """Why the ticket cannot be sent as it is, or None."""
        instrument = self._instrument()
        quantity = self.quantity.value()
        if quantity <= 0:
            return "the quantity must be positive"
        if not instrument.is_whole_lots(quantity):
            return f"the quantity must be a whole number of lots of {instrument.lot_size}"
        if self.order_type() is OrderType.LIMIT:
            try:
                parse_price(instrument, self.price.text())
            except ValueError as error:
                return str(error)
        if self.account.currentText() not in self.context.state.accounts:
            return "choose an account"
        return None

    def submit(self) -> str | None:
        """Check the ticket and send the order; returns its client order id (None when it was not sent)."""
        refusal = self.context.commands.refusal
        if refusal is not None:
            self._show(f"Not sent: {refusal}", "reject")
            return None
        problem = self.problem()
        if problem is not None:
            self._show(f"Not sent: {problem}", "reject")
            return None
        order_type = self.order_type()
        price = parse_price(self._instrument(), self.price.text()) if order_type is OrderType.LIMIT else None
        self.sent_id = self.context.commands.submit(
            self.instrument, self.side, self.quantity.value(), price, order_type=order_type,
            time_in_force=self.time_in_force(), account=self.account.currentText(),
        )  # fmt: skip
        self._fate_key = None
        self._update_fate()
        return self.sent_id

    def _update_submit(self) -> None:
        side = "BUY" if self.side is Side.BUY else "SELL"
        what = f"{side} {self.quantity.value():,} {self.instrument}"
        if self.order_type() is OrderType.MARKET:
            what += "  MKT"
        else:
            price = self.price.price()
            what += f" @ {price_text(self._instrument(), price) if price is not None else '—'}"
            what += f"  {_TIF_NAMES[self.time_in_force()]}"
        self.submit_button.setText(what)
        role = "buy" if self.side is Side.BUY else "sell"
        if self.submit_button.property("role") != role:
            self.submit_button.setProperty("role", role)
            self.submit_button.style().unpolish(self.submit_button)
            self.submit_button.style().polish(self.submit_button)

    # --- the frame -----------------------------------------------------------------------------------------------

    def refresh(self) -> None:
        self._update_read_only()
        self._update_quotes()
        self._update_fate()

    def _update_read_only(self) -> None:
        """Disable sending (and say why) while the session is read-only."""
        refusal = self.context.commands.refusal
        read_only = refusal is not None
        if read_only == self._read_only:
            return
        self._read_only = read_only
        self.submit_button.setEnabled(not read_only)
        self.submit_button.setToolTip(f"Not allowed: {refusal}" if refusal else "Send the order")
        if refusal:
            self._show(f"{refusal[0].upper()}{refusal[1:]}.", "warning")
        elif self.sent_id is None:
            self._show("", "muted")

    def _update_quotes(self) -> None:
        market = self.context.state.market(self.instrument)
        if market.version == self._quote_version:
            return
        self._quote_version = market.version
        instrument = market.instrument
        for button, level, name in (
            (self.bid_button, market.best_bid(), "Bid"),
            (self.ask_button, market.best_ask(), "Ask"),
        ):
            button.setText(name if level is None else f"{name}  {price_text(instrument, level[0])}  x {level[1]:,}")
            button.setEnabled(level is not None)

    def _update_fate(self) -> None:
        state = self.context.state
        key = (self.sent_id, state.orders.version, len(state.last_rejects))
        if self.sent_id is None or key == self._fate_key:
            return
        self._fate_key = key
        text, role = self.fate()
        self._show(text, role)

    def fate(self) -> tuple[str, str]:
        """What became of the last order sent, and the theme role to show it in."""
        state = self.context.state
        client_order_id = self.sent_id or ""
        reason = state.last_rejects.get(client_order_id)
        row = state.orders.row_of(client_order_id)
        if row is None:
            return (f"Rejected: {reason}", "reject") if reason else (f"{client_order_id} sent", "muted")
        orders = state.orders
        status = orders.status(row)
        if status is OrdStatus.REJECTED:
            return f"Rejected: {reason or orders.reasons[row]}", "reject"
        name = orders.order_ids[row] or client_order_id
        quantity, filled = orders.columns.get(row, "quantity"), orders.columns.get(row, "cum_qty")
        average = orders.average_price(row)
        at = "" if average is None else f" @ {_average_text(self._instrument_of(row), *average)}"
        if status is OrdStatus.PENDING_NEW:
            return f"{client_order_id} sent, waiting for the exchange", "muted"
        if status is OrdStatus.FILLED:
            return f"filled {name}: {filled:,}{at}", "profit"
        if status in (OrdStatus.CANCELED, OrdStatus.EXPIRED):
            return f"{status.name.lower()} {name}: filled {filled:,} of {quantity:,}{at}", "warning"
        if filled:
            return f"working {name}: filled {filled:,} of {quantity:,}{at}", "accent"
        return f"working {name}: {quantity:,} open", "accent"

    def _instrument_of(self, row: int) -> Instrument:
        return self.context.state.instruments[self.context.state.orders.instrument(row)]

    def _show(self, text: str, role: str) -> None:
        self.status.setText(text)
        self.status.setProperty("fate", role)
        self.status.setStyleSheet(f"color: {self.context.theme.hex(role)};")

    # --- workspace -----------------------------------------------------------------------------------------------

    def save_state(self) -> Mapping[str, Any]:
        return {
            **super().save_state(),
            "side": self.side.name.lower(),
            "kind": self.kind.currentText(),
            "tif": self.tif.currentText(),
            "quantity": self.quantity.value(),
            "account": self.account.currentText(),
        }

    def restore_state(self, state: Mapping[str, Any]) -> None:
        super().restore_state(state)
        if state.get("side") in ("buy", "sell"):
            self.set_side(Side.BUY if state["side"] == "buy" else Side.SELL)
        if state.get("kind") in ORDER_KINDS:
            self.set_kind(str(state["kind"]))
        if state.get("tif") in LIMIT_TIFS and self.tif.isEnabled():
            self.tif.setCurrentText(str(state["tif"]))
        if isinstance(state.get("quantity"), int) and not isinstance(state.get("quantity"), bool):
            self.quantity.setValue(int(state["quantity"]))
        if state.get("account") in self.context.state.accounts:
            self.account.setCurrentText(str(state["account"]))


def _average_text(instrument: Instrument, cost: int, quantity: int) -> str:
    """An average fill price: at tick precision when it falls on the grid, else to two more digits."""
    if cost % quantity == 0:
        return price_text(instrument, cost // quantity)
    return average_price_text(instrument, cost, quantity)


def _short_quantity(amount: int) -> str:
    """``500``, ``1K``, ``2.5K``, ``1M``."""
    for size, suffix in ((1_000_000, "M"), (1_000, "K")):
        if amount >= size and (amount * 10) % size == 0:
            return f"{amount / size:g}{suffix}"
    return f"{amount:,}"


def _factory(context: PanelContext) -> QtWidgets.QWidget:
    return OrderTicket(context)


SPEC = PanelSpec(
    name="order-ticket",
    title="Order Ticket",
    factory=_factory,
    area="right",
    description="Enter limit, market, IOC and FOK orders with checks before sending, and follow their fate.",
)


@hookimpl
def register_panels() -> Sequence[PanelSpec]:
    """The order ticket."""
    return [SPEC]
