"""Tests of the engine's persistence: database, journal, recovery and backtest runs."""

from __future__ import annotations

from core.commands import SubmitOrder
from core.enums import ExecType, Liquidity, OrderType, OrdStatus, Side
from core.events import ExecutionReport
from core.orders import Order


def new_order(
    order_id: str,
    *,
    client_order_id: str | None = None,
    instrument: str = "AAPL",
    side: Side = Side.BUY,
    quantity: int = 100,
    price: int | None = 1_900_000,
    order_type: OrderType = OrderType.LIMIT,
    ts_ns: int = 1_000,
) -> Order:
    """An accepted order in PendingNew, as the order manager creates it."""
    request = SubmitOrder(
        client_order_id=client_order_id or f"c-{order_id}",
        account="main",
        instrument=instrument,
        side=side,
        quantity=quantity,
        order_type=order_type,
        price=price,
        strategy_id="mm-1",
    )
    return Order.from_request(request, order_id=order_id, ts_ns=ts_ns)


class VenueReports:
    """Writes the execution reports a venue would send for one order, keeping cum/leaves consistent."""

    def __init__(self, order: Order, prefix: str = "X") -> None:
        self.order = order
        self.quantity = order.quantity
        self.price = order.price
        self.cum_qty = 0
        self.prefix = prefix
        self.count = 0
        self.ts_ns = order.created_ns

    def report(
        self,
        exec_type: ExecType,
        status: OrdStatus,
        *,
        last_qty: int = 0,
        last_price: int | None = None,
        fee: int = 0,
        reason: str = "",
    ) -> ExecutionReport:
        self.count += 1
        self.ts_ns += 1_000
        self.cum_qty += last_qty
        terminal = status in (OrdStatus.FILLED, OrdStatus.CANCELED, OrdStatus.REJECTED, OrdStatus.EXPIRED)
        return ExecutionReport(
            exec_id=f"{self.prefix}{self.order.order_id}-{self.count}",
            order_id=self.order.order_id,
            client_order_id=self.order.client_order_id,
            account=self.order.account,
            instrument=self.order.instrument,
            side=self.order.side,
            order_type=self.order.order_type,
            exec_type=exec_type,
            ord_status=status,
            quantity=self.quantity,
            price=self.price,
            cum_qty=self.cum_qty,
            leaves_qty=0 if terminal else self.quantity - self.cum_qty,
            ts_ns=self.ts_ns,
            last_qty=last_qty,
            last_price=last_price,
            fee=fee,
            liquidity=Liquidity.MAKER if last_qty else Liquidity.NONE,
            reason=reason,
            venue="SIM",
            strategy_id=self.order.strategy_id,
        )

    def ack(self) -> ExecutionReport:
        return self.report(ExecType.NEW, OrdStatus.NEW)

    def fill(self, quantity: int, price: int | None = None, fee: int = 0) -> ExecutionReport:
        done = self.cum_qty + quantity == self.quantity
        status = OrdStatus.FILLED if done else OrdStatus.PARTIALLY_FILLED
        fill_price = price if price is not None else self.price
        return self.report(ExecType.TRADE, status, last_qty=quantity, last_price=fill_price, fee=fee)

    def replace(self, quantity: int, price: int) -> list[ExecutionReport]:
        pending = self.report(ExecType.PENDING_REPLACE, OrdStatus.PENDING_REPLACE)
        self.quantity, self.price = quantity, price
        return [pending, self.report(ExecType.REPLACED, OrdStatus.REPLACED)]

    def cancel(self) -> list[ExecutionReport]:
        pending = self.report(ExecType.PENDING_CANCEL, OrdStatus.PENDING_CANCEL)
        return [pending, self.report(ExecType.CANCELED, OrdStatus.CANCELED, reason="canceled by user")]
