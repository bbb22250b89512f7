"""A risk view over a real portfolio, and small builders of orders and engines for the risk tests."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import pytest

from core.commands import ReplaceOrder, SubmitOrder
from core.enums import OrderType, OrdStatus, Side
from core.instruments import Instrument
from core.numbers import Money, Nanos, Price, Quantity
from core.orders import Order
from core.portfolio import PnL, Portfolio, Position
from engine.risk import BUILTIN_CHECKS, RiskEngine

ACCOUNT = "ACC1"
AAPL = Instrument(symbol="AAPL")  # scale 4, tick 100 (one cent)
LOTS = Instrument(symbol="LOTS", lot_size=100)
FINE = Instrument(symbol="FINE", tick_size=1, price_scale=2)


class PortfolioView:
    """The engine state a risk check reads, kept in a real :class:`Portfolio` plus a settable clock,
    reference prices and the account's working orders."""

    def __init__(self, instruments: Iterable[Instrument] = (AAPL, LOTS, FINE)) -> None:
        self.instruments = {instrument.symbol: instrument for instrument in instruments}
        self.portfolio = Portfolio(self.instruments)
        self.now: Nanos = 1_700_000_000_000_000_000
        self.references: dict[str, Price] = {}
        self.orders: list[Order] = []
        self._next_id = 0

    # RiskView
    def now_ns(self) -> Nanos:
        return self.now

    def instrument(self, symbol: str) -> Instrument | None:
        return self.instruments.get(symbol)

    def reference_price(self, symbol: str) -> Price | None:
        return self.references.get(symbol)

    def position(self, account: str, symbol: str) -> Position:
        return self.portfolio.position(account, symbol)

    def pnl(self, account: str) -> PnL:
        return self.portfolio.pnl(account)

    def gross_exposure(self, account: str) -> Money:
        return self.portfolio.gross_exposure(account)

    def working_orders(self, account: str) -> list[Order]:
        return [order for order in self.orders if order.account == account and not order.is_terminal]

    # driving the state
    def set_reference(self, symbol: str, price: Price) -> None:
        """The reference price, which is also the mark of open positions."""
        self.references[symbol] = price
        self.portfolio.set_mark(symbol, price)

    def fill(self, side: Side, qty: Quantity, price: Price, *, symbol: str = "AAPL", fee: int = 0) -> None:
        self.portfolio.apply_fill(ACCOUNT, symbol, side, qty, price, fee)

    def add_working(self, request: SubmitOrder, *, cum_qty: Quantity = 0) -> Order:
        """``request`` as an order resting at the venue, partly filled by ``cum_qty``."""
        self._next_id += 1
        order = Order.from_request(request, order_id=f"O{self._next_id}", ts_ns=self.now)
        order.status = OrdStatus.PARTIALLY_FILLED if cum_qty else OrdStatus.NEW
        order.cum_qty = cum_qty
        self.orders.append(order)
        return order


_ids = iter(range(1, 10**9))


def submit(
    side: Side = Side.BUY,
    quantity: Quantity = 100,
    price: Price | None = 1_500_000,
    *,
    symbol: str = "AAPL",
    order_type: OrderType = OrderType.LIMIT,
    account: str = ACCOUNT,
) -> SubmitOrder:
    """A new order request (limit at 150.0000 for 100 AAPL unless told otherwise)."""
    return SubmitOrder(
        client_order_id=f"C{next(_ids)}",
        account=account,
        instrument=symbol,
        side=side,
        quantity=quantity,
        order_type=order_type,
        price=price,
    )


def market(side: Side = Side.BUY, quantity: Quantity = 100, *, symbol: str = "AAPL") -> SubmitOrder:
    """A market order request."""
    return submit(side, quantity, None, symbol=symbol, order_type=OrderType.MARKET)


def replace(order: Order, *, quantity: Quantity | None = None, price: Price | None = None) -> ReplaceOrder:
    cl_ord_id, account = order.client_order_id, order.account
    return ReplaceOrder(client_order_id=cl_ord_id, account=account, quantity=quantity, price=price)


def engine_with(limits: Mapping[str, Mapping[str, Any]], account: str = ACCOUNT) -> RiskEngine:
    """A risk engine over the built-in checks with ``limits`` for one account."""
    return RiskEngine({spec.name: spec for spec in BUILTIN_CHECKS}, {account: limits})


def reasons(engine: RiskEngine, request: SubmitOrder, view: PortfolioView) -> tuple[str, ...]:
    """The reject reasons of ``request`` (empty when approved), checking approval and reasons agree."""
    decision = engine.check_order(request, view)
    assert decision.approved == (not decision.reasons)
    return decision.reasons


@pytest.fixture
def view() -> PortfolioView:
    return PortfolioView()
