"""The order manager: every order the engine has seen, its FIX state and who may still trade it."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from core.commands import SubmitOrder
from core.events import ExecutionReport
from core.numbers import Nanos
from core.orders import Order


class DuplicateOrderId(ValueError):
    """A client order id that the engine has already seen (the FIX rule: ClOrdID is unique)."""


class UnknownOrder(KeyError):
    """An order id or client order id the engine does not know."""


class OrderManager:
    """Keeps orders by id and by client order id, applies execution reports through the state machine and
    indexes the working ones. Order ids are ``O`` and a sequence number that continues after a recovery."""

    def __init__(self) -> None:
        self._by_id: dict[str, Order] = {}
        self._by_client_id: dict[str, Order] = {}
        self._working: dict[str, Order] = {}
        self._working_by_account: dict[str, dict[str, Order]] = {}
        self._next_id = 1

    def create(self, request: SubmitOrder, ts_ns: Nanos) -> Order:
        """A new order in PendingNew for ``request``; raises :class:`DuplicateOrderId` for a reused client id."""
        if request.client_order_id in self._by_client_id:
            raise DuplicateOrderId(f"duplicate client order id {request.client_order_id}")
        order_id = f"O{self._next_id:09d}"
        self._next_id += 1
        order = Order.from_request(request, order_id=order_id, ts_ns=ts_ns)
        self._by_id[order_id] = self._by_client_id[request.client_order_id] = self._working[order_id] = order
        self._account_orders(request.account)[order_id] = order
        return order

    def adopt(self, order: Order) -> None:
        """Track an order rebuilt from the journal (or just created), keeping id sequences ahead of it."""
        self._by_id[order.order_id] = order
        self._by_client_id[order.client_order_id] = order
        if not order.is_terminal:
            self._working[order.order_id] = order
            self._account_orders(order.account)[order.order_id] = order
        else:
            self._forget_working(order)
        if order.order_id.startswith("O") and order.order_id[1:].isdigit():
            self._next_id = max(self._next_id, int(order.order_id[1:]) + 1)

    def apply(self, report: ExecutionReport) -> Order:
        """Apply a venue's report to its order (state machine enforced) and return the order."""
        order = self._by_id.get(report.order_id)
        if order is None:
            raise UnknownOrder(f"execution report for unknown order {report.order_id}")
        order.apply(report)
        if order.is_terminal:
            self._forget_working(order)
        return order

    def _account_orders(self, account: str) -> dict[str, Order]:
        found = self._working_by_account.get(account)
        if found is None:
            found = self._working_by_account[account] = {}
        return found

    def _forget_working(self, order: Order) -> None:
        self._working.pop(order.order_id, None)
        self._working_by_account.get(order.account, {}).pop(order.order_id, None)

    def working_of_account(self, account: str) -> Iterable[Order]:
        """The account's unfinished orders, as a live view: do not change orders while iterating it."""
        return self._working_by_account.get(account, {}).values()

    def get(self, order_id: str) -> Order | None:
        return self._by_id.get(order_id)

    def by_client_id(self, client_order_id: str) -> Order | None:
        return self._by_client_id.get(client_order_id)

    def working(
        self, *, account: str | None = None, instrument: str | None = None, strategy_id: str | None = None
    ) -> Iterator[Order]:
        """Working orders, narrowed by account, instrument and/or strategy."""
        for order in list(self._working.values()):
            if account is not None and order.account != account:
                continue
            if instrument is not None and order.instrument != instrument:
                continue
            if strategy_id is not None and order.strategy_id != strategy_id:
                continue
            yield order

    def __len__(self) -> int:
        return len(self._by_id)

    def __iter__(self) -> Iterator[Order]:
        """Every order, working or finished, in creation order."""
        return iter(list(self._by_id.values()))
