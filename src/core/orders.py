"""Orders and the FIX 4.4 order state machine (Volume 4, Appendix D).

An order's status changes only through :func:`check_transition`; an illegal move raises
:class:`IllegalTransition` and the order is left as it was. Filled, Canceled, Rejected and Expired are terminal.
Replaced is a working status: the order keeps its identity and rests with its new price or quantity.

A trade cancel (a bust, ExecType H) is the one report a terminal order still takes: it removes one earlier fill
and moves the status by its own rules (see :meth:`Order.apply`), not by the transition table.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from core.commands import SubmitOrder
from core.enums import ExecType, Liquidity, OrderType, OrdStatus, Side, TimeInForce
from core.events import ExecutionReport
from core.numbers import Nanos, Price, Quantity

S = OrdStatus

TERMINAL: frozenset[OrdStatus] = frozenset({S.FILLED, S.CANCELED, S.REJECTED, S.EXPIRED})
"""Statuses an order never leaves."""

WORKING: frozenset[OrdStatus] = frozenset({S.NEW, S.PARTIALLY_FILLED, S.REPLACED, S.PENDING_CANCEL, S.PENDING_REPLACE})
"""Statuses of an order that rests at (or is being changed on) a venue."""

_RESTING = {S.NEW, S.PARTIALLY_FILLED, S.REPLACED}
_ENDINGS = {S.FILLED, S.CANCELED, S.EXPIRED}
_PENDING_CHANGE = (S.PENDING_CANCEL, S.PENDING_REPLACE)
_TRADE, _TRADE_CANCEL, _REPLACED = ExecType.TRADE, ExecType.TRADE_CANCEL, ExecType.REPLACED

TRANSITIONS: dict[OrdStatus, frozenset[OrdStatus]] = {
    S.PENDING_NEW: frozenset({S.NEW, S.REJECTED, S.PARTIALLY_FILLED, S.PENDING_CANCEL} | _ENDINGS),
    # A venue may report Replaced (or Canceled) without a Pending status first.
    S.NEW: frozenset({S.PARTIALLY_FILLED, S.PENDING_CANCEL, S.PENDING_REPLACE, S.REPLACED} | _ENDINGS),
    S.REPLACED: frozenset({S.PARTIALLY_FILLED, S.PENDING_CANCEL, S.PENDING_REPLACE, S.REPLACED} | _ENDINGS),
    S.PARTIALLY_FILLED: frozenset({S.PARTIALLY_FILLED, S.PENDING_CANCEL, S.PENDING_REPLACE} | _ENDINGS),
    # A cancel or replace request may be refused (back to where it was) or overtaken by fills.
    S.PENDING_CANCEL: frozenset({S.PENDING_CANCEL, S.PENDING_NEW} | _RESTING | _ENDINGS),
    S.PENDING_REPLACE: frozenset({S.PENDING_REPLACE, S.PENDING_CANCEL} | _RESTING | _ENDINGS),
    S.FILLED: frozenset(),
    S.CANCELED: frozenset(),
    S.REJECTED: frozenset(),
    S.EXPIRED: frozenset(),
}


class IllegalTransition(ValueError):
    """Raised when an order would move to a status the state machine does not allow from its current one."""


def check_transition(current: OrdStatus, new: OrdStatus) -> None:
    """Raise :class:`IllegalTransition` unless ``current -> new`` is a legal move."""
    if new not in TRANSITIONS[current]:
        raise IllegalTransition(f"illegal order transition {current.name} -> {new.name}")


@dataclass(slots=True, kw_only=True)
class Order:
    """An order as the order manager tracks it. Mutated only by :meth:`apply` (and the manager's pending marks)."""

    order_id: str
    client_order_id: str
    account: str
    instrument: str
    side: Side
    order_type: OrderType
    quantity: Quantity
    price: Price | None
    time_in_force: TimeInForce
    strategy_id: str | None
    created_ns: Nanos
    status: OrdStatus = OrdStatus.PENDING_NEW
    cum_qty: Quantity = 0
    filled_cost: int = 0
    """Sum of fill price x fill quantity, for the average fill price."""
    updated_ns: Nanos = 0
    venue: str = ""
    reason: str = ""
    fills: list[tuple[Nanos, Price, Quantity]] = field(default_factory=list)
    fill_exec_ids: list[str] | None = None
    """The exec id of each of ``fills``, in the same order (None until the first fill: most orders never fill)."""
    status_before_pending: OrdStatus | None = None

    @classmethod
    def from_request(cls, request: SubmitOrder, *, order_id: str, ts_ns: Nanos) -> Order:
        """A new order in PendingNew for an accepted request."""
        return cls(
            order_id=order_id,
            client_order_id=request.client_order_id,
            account=request.account,
            instrument=request.instrument,
            side=request.side,
            order_type=request.order_type,
            quantity=request.quantity,
            price=request.price,
            time_in_force=request.time_in_force,
            strategy_id=request.strategy_id,
            created_ns=ts_ns,
            updated_ns=ts_ns,
        )

    @property
    def leaves_qty(self) -> Quantity:
        """Quantity still open: zero once the order is terminal."""
        return 0 if self.status in TERMINAL else self.quantity - self.cum_qty

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL

    @property
    def is_working(self) -> bool:
        return self.status in WORKING

    def average_price_x(self, scale: int = 1) -> int | None:
        """Average fill price times ``scale``, rounded down; None before the first fill."""
        if self.cum_qty == 0:
            return None
        return self.filled_cost * scale // self.cum_qty

    def mark_pending(self, status: OrdStatus, ts_ns: Nanos) -> None:
        """Move to PendingCancel or PendingReplace when a request leaves for the venue."""
        check_transition(self.status, status)
        if self.status not in (S.PENDING_CANCEL, S.PENDING_REPLACE):
            self.status_before_pending = self.status
        self.status = status
        self.updated_ns = ts_ns

    def apply(self, report: ExecutionReport) -> None:
        """Apply a venue's execution report; raises :class:`IllegalTransition` and changes nothing if illegal.

        A trade cancel (``TRADE_CANCEL``, a bust) removes the fill its ``ref_exec_id`` names: cum qty, filled
        cost and :attr:`fills` lose it exactly. It must describe that fill (``last_qty``/``last_price``); a bust of
        an execution that is not one of this order's fills (unknown, not a fill, already busted) or that would
        take cum qty below zero is refused. Leaves and status:

        - A done order (Filled, Canceled, Expired) stays done with no leaves, and the report must keep its
          status: an exchange does not reinstate the busted quantity of an order it has finished. FIX 4.4
          Volume 4 says a bust lowers CumQty and raises LeavesQty by the busted quantity with OrderQty unchanged,
          and its Appendix D keeps a canceled order Canceled after a bust ("a canceled order followed by a
          busted execution") but takes a filled one back to Partially Filled with leaves ("filled order, followed
          by correction and cancellation of executions"): a broker that will work the quantity again; no
          exchange does, and a done order that came back to life would hold leaves nobody works.
        - A working order takes the report's quantity, as after any report in a resting status, so its leaves
          are what the venue says: FIX's rule (OrderQty kept, leaves up by the busted quantity) from a venue that
          works the quantity again, or OrderQty down by it (leaves unchanged) from one that, like an exchange,
          does not. The status must be Partially Filled while fills remain and New (or Replaced) once none do;
          a pending cancel or replace may stay pending (the order's quantity then stays as it is).
        """
        exec_type = report.exec_type
        if exec_type is _TRADE_CANCEL:
            self._bust(report)
        else:
            check_transition(self.status, report.ord_status)
            if exec_type is _TRADE:
                self._check_fill(report)
                assert report.last_price is not None
                self.cum_qty += report.last_qty
                self.filled_cost += report.last_qty * report.last_price
                self.fills.append((report.ts_ns, report.last_price, report.last_qty))
                if self.fill_exec_ids is None:
                    self.fill_exec_ids = [report.exec_id]
                else:
                    self.fill_exec_ids.append(report.exec_id)
            elif exec_type is _REPLACED and report.quantity <= self.cum_qty:
                raise IllegalTransition(f"replace to {report.quantity} is not above the filled {self.cum_qty}")
        if exec_type is _REPLACED or report.ord_status in _RESTING:
            self.quantity = report.quantity
            self.price = report.price
        if report.ord_status not in _PENDING_CHANGE:
            self.status_before_pending = None
        self.status = report.ord_status
        self.updated_ns = report.ts_ns
        if report.reason:
            self.reason = report.reason
        if report.venue:
            self.venue = report.venue

    def _check_fill(self, report: ExecutionReport) -> None:
        if report.last_qty <= 0 or report.last_price is None:
            raise IllegalTransition("a trade report needs a positive last_qty and a last_price")
        cum = self.cum_qty + report.last_qty
        if cum > report.quantity:
            raise IllegalTransition(
                f"overfill: {self.cum_qty} + {report.last_qty} exceeds order quantity {report.quantity}"
            )
        # A complete fill must say Filled; a partial one must not (pending statuses may persist through fills).
        if (cum == report.quantity) != (report.ord_status is S.FILLED):
            raise IllegalTransition(
                f"a fill to {cum} of {report.quantity} cannot leave the order {report.ord_status.name}"
            )

    def _bust(self, report: ExecutionReport) -> None:
        """Check a trade cancel (see :meth:`apply`), then take its fill out; raises before changing anything."""
        ref = report.ref_exec_id
        ids = self.fill_exec_ids or []
        try:
            index = ids.index(ref)
        except ValueError:
            raise IllegalTransition(f"trade cancel of {ref or 'no execution'}, not a fill of this order") from None
        if report.last_qty > self.cum_qty:
            raise IllegalTransition(f"trade cancel of {report.last_qty} would take the filled {self.cum_qty} below 0")
        _, price, quantity = self.fills[index]
        if (report.last_qty, report.last_price) != (quantity, price):
            raise IllegalTransition(
                f"trade cancel of {report.last_qty} at {report.last_price} does not match fill {ref} of {quantity} "
                f"at {price}"
            )
        cum = self.cum_qty - quantity
        self._check_bust_status(report, cum)
        del self.fills[index], ids[index]
        self.cum_qty = cum
        self.filled_cost -= quantity * price
        if cum == 0 and self.status_before_pending is S.PARTIALLY_FILLED:
            self.status_before_pending = S.NEW

    def _check_bust_status(self, report: ExecutionReport, cum: Quantity) -> None:
        status, new = self.status, report.ord_status
        if status in TERMINAL or new in _PENDING_CHANGE:
            legal = new is status
        else:
            legal = new in _RESTING and (new is not S.PARTIALLY_FILLED or cum > 0) and (new is not S.NEW or cum == 0)
        if not legal:
            raise IllegalTransition(f"a trade cancel leaving {cum} filled cannot move {status.name} to {new.name}")
        if new in _RESTING and report.quantity < cum:
            raise IllegalTransition(f"a trade cancel leaving {cum} filled cannot make the quantity {report.quantity}")

    def restore_after_reject(self, ts_ns: Nanos, reason: str) -> None:
        """A cancel or replace was refused: return to the status held before the request."""
        previous = self.status_before_pending
        if previous is None:
            raise IllegalTransition(f"order {self.client_order_id} has no pending request to refuse")
        if self.cum_qty > 0 and previous in (S.NEW, S.REPLACED):
            previous = S.PARTIALLY_FILLED
        check_transition(self.status, previous)
        self.status = previous
        self.status_before_pending = None
        self.updated_ns = ts_ns
        self.reason = reason


def fill_cost(report: ExecutionReport) -> int:
    """Price x quantity a report adds to its order's filled cost: a fill's (``TRADE``), less a busted fill's
    (``TRADE_CANCEL``), 0 for any other report or one without a price."""
    if report.last_price is None:
        return 0
    exec_type = report.exec_type
    if exec_type is _TRADE:
        return report.last_qty * report.last_price
    if exec_type is _TRADE_CANCEL:
        return -report.last_qty * report.last_price
    return 0


def report_for(
    order: Order,
    *,
    exec_id: str,
    exec_type: ExecType,
    ord_status: OrdStatus,
    ts_ns: Nanos,
    quantity: Quantity | None = None,
    price: Price | None = None,
    cum_qty: Quantity | None = None,
    last_qty: Quantity = 0,
    last_price: Price | None = None,
    fee: int = 0,
    liquidity: Liquidity = Liquidity.NONE,
    reason: str = "",
    venue: str | None = None,
) -> ExecutionReport:
    """An execution report about ``order``: its identity copied, the rest as given.

    ``quantity``, ``price`` and ``cum_qty`` default to the order's; leaves are derived (zero for a terminal
    status); ``venue`` defaults to the order's venue.
    """
    total = order.quantity if quantity is None else quantity
    cum = order.cum_qty if cum_qty is None else cum_qty
    return ExecutionReport(
        exec_id=exec_id,
        order_id=order.order_id,
        client_order_id=order.client_order_id,
        account=order.account,
        instrument=order.instrument,
        side=order.side,
        order_type=order.order_type,
        exec_type=exec_type,
        ord_status=ord_status,
        quantity=total,
        price=order.price if quantity is None and price is None else price,
        cum_qty=cum,
        leaves_qty=0 if ord_status in TERMINAL else total - cum,
        ts_ns=ts_ns,
        last_qty=last_qty,
        last_price=last_price,
        fee=fee,
        liquidity=liquidity,
        reason=reason,
        venue=order.venue if venue is None else venue,
        strategy_id=order.strategy_id,
    )
