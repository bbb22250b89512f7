"""The simulator's book published as an ITCH 5.0 feed: MoldUDP64 packets over UDP to a loopback address.

Two parts:

* :class:`ItchTranslator` turns the event rows of an :class:`engine.sim.matching.MatchingBook` (``E_*``
  columns, ``EV_ADD``/``EV_FILL``/``EV_CANCEL``/``EV_REPLACE``) into ITCH messages of one stock locate: Add Order
  (A), Order Executed (E), Order Cancel (X), Order Delete (D) and Order Replace (U). It gives each resting order
  its own ITCH order reference, as the exchange would.
* :class:`engine.itch.udp.MoldUdpSender` packs messages into MoldUDP64 packets with sequence numbers and sends
  them, with heartbeats while idle and an end-of-session mark at close, to a loopback address unless told
  ``allow_remote``.

Mapping of the kernel's events: a rest is an A; a fill is an E on the resting (maker) order; a cancel of a resting
order is a D (orders that never rested are not in the ITCH book and produce nothing); a replace that keeps its
place is an X of the reduced quantity; one that moves is a U with a new reference and what is left of it. When
the moved order trades on arrival, its fills (E on their makers) come first and the U (or a D, when nothing is
left) after them, so the U always carries the quantity that rests.

The book's prices are published as they are (ITCH prices have 4 decimals) and its times as nanoseconds since
midnight UTC. Fills against orders whose rest was not recorded (anonymous orders of a book made without
``record_anonymous``) cannot be published and are counted in :attr:`ItchTranslator.unknown_makers`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from core.numbers import NANOS_PER_SECOND, Nanos
from engine.itch.messages import (
    AddOrder,
    Message,
    OrderCancel,
    OrderDelete,
    OrderExecuted,
    OrderReplace,
    StockDirectory,
)
from engine.sim.matching import (
    BUY,
    E_AUX,
    E_KIND,
    E_LEAVES,
    E_LEAVES2,
    E_OID,
    E_OID2,
    E_PRICE,
    E_QTY,
    E_SIDE,
    E_TS,
    EV_ADD,
    EV_CANCEL,
    EV_FILL,
    EV_REPLACE,
    REASON_STP,
)

NANOS_PER_DAY = 86_400 * NANOS_PER_SECOND


@dataclass(slots=True)
class _Resting:
    ref: int
    side: str
    price: int
    leaves: int


@dataclass(slots=True)
class _Crossing:
    """A replaced order trading on arrival: where it will rest, if anything is left."""

    oid: int
    side: str
    price: int
    left: int
    ts: int


class ItchTranslator:
    """Turns a matching book's event rows into the ITCH messages of one stock locate (see the module notes).

    It remembers the book's resting orders between calls, so every event of the book must pass through it, in
    order, and each call must hold whole operations (as :attr:`MatchingBook.event_rows` does between clears).
    """

    def __init__(self, *, locate: int, stock: str, first_ref: int = 1) -> None:
        if not 0 < locate <= 0xFFFF:
            raise ValueError(f"stock locate must be within 1..65535, got {locate}")
        self.locate = locate
        self.stock = stock
        self._next_ref = first_ref
        self._resting: dict[int, _Resting] = {}
        self.unknown_makers = 0

    def directory(self, ts_ns: Nanos) -> StockDirectory:
        """The Stock Directory message announcing the locate's symbol (send it first)."""
        return StockDirectory(
            stock_locate=self.locate,
            tracking_number=0,
            timestamp=ts_ns % NANOS_PER_DAY,
            stock=self.stock,
            market_category="Q",
            financial_status="N",
            round_lot_size=100,
            round_lots_only="N",
            issue_classification="C",
            issue_subtype="Z",
            authenticity="T",
            short_sale_threshold="N",
            ipo_flag="N",
            luld_tier="1",
            etp_flag="N",
            etp_leverage_factor=0,
            inverse_indicator="N",
        )

    def translate(self, rows: npt.NDArray[np.int64]) -> list[Message]:
        """The ITCH messages of ``rows`` (an ``(n, 12)`` array as :attr:`MatchingBook.event_rows` gives)."""
        out: list[Message] = []
        crossing: _Crossing | None = None
        for row in np.asarray(rows, dtype=np.int64).tolist():
            kind, oid = row[E_KIND], row[E_OID]
            if crossing is not None and not _belongs(row, crossing.oid):
                self._settle(crossing, out)
                crossing = None
            if kind == EV_ADD:
                self._add(oid, _side(row[E_SIDE]), row[E_PRICE], row[E_QTY], row[E_TS], out)
            elif kind == EV_FILL:
                self._fill(row, out)
                if crossing is not None and row[E_OID2] == crossing.oid:
                    crossing.left = row[E_LEAVES2]
            elif kind == EV_CANCEL:
                if crossing is not None and oid == crossing.oid:
                    crossing.left = 0
                self._delete(oid, row[E_TS], out)
            elif kind == EV_REPLACE:
                crossing = self._replace(row, out)
        if crossing is not None:
            self._settle(crossing, out)
        return out

    # --- one event ------------------------------------------------------------------------------------------

    def _stamp(self, ts: int) -> tuple[int, int, int]:
        return self.locate, 0, ts % NANOS_PER_DAY

    def _new_ref(self) -> int:
        ref = self._next_ref
        self._next_ref += 1
        return ref

    def _add(self, oid: int, side: str, price: int, qty: int, ts: int, out: list[Message]) -> None:
        ref = self._new_ref()
        self._resting[oid] = _Resting(ref=ref, side=side, price=price, leaves=qty)
        locate, tracking, stamp = self._stamp(ts)
        out.append(
            AddOrder(
                stock_locate=locate,
                tracking_number=tracking,
                timestamp=stamp,
                order_ref=ref,
                side=side,
                shares=qty,
                stock=self.stock,
                price=price,
            )
        )

    def _fill(self, row: list[int], out: list[Message]) -> None:
        maker = self._resting.get(row[E_OID])
        if maker is None:
            self.unknown_makers += 1
            return
        locate, tracking, stamp = self._stamp(row[E_TS])
        out.append(
            OrderExecuted(
                stock_locate=locate,
                tracking_number=tracking,
                timestamp=stamp,
                order_ref=maker.ref,
                executed_shares=row[E_QTY],
                match_number=row[E_AUX],
            )
        )
        maker.leaves = row[E_LEAVES]
        if maker.leaves == 0:
            del self._resting[row[E_OID]]

    def _delete(self, oid: int, ts: int, out: list[Message]) -> None:
        order = self._resting.pop(oid, None)
        if order is None:
            return  # an order that never rested (IOC, FOK, market, stopped on arrival)
        locate, tracking, stamp = self._stamp(ts)
        out.append(OrderDelete(stock_locate=locate, tracking_number=tracking, timestamp=stamp, order_ref=order.ref))

    def _replace(self, row: list[int], out: list[Message]) -> _Crossing | None:
        oid, price, qty, ts = row[E_OID], row[E_PRICE], row[E_QTY], row[E_TS]
        order = self._resting.get(oid)
        if order is None:
            return None
        locate, tracking, stamp = self._stamp(ts)
        if row[E_AUX] == 1:  # kept its place: at most a reduction
            if qty < order.leaves:
                out.append(
                    OrderCancel(
                        stock_locate=locate,
                        tracking_number=tracking,
                        timestamp=stamp,
                        order_ref=order.ref,
                        cancelled_shares=order.leaves - qty,
                    )
                )
                order.leaves = qty
            return None
        # Whether the moved order trades on arrival shows only in the rows that follow: settle it then.
        return _Crossing(oid=oid, side=order.side, price=price, left=qty, ts=ts)

    def _settle(self, crossing: _Crossing, out: list[Message]) -> None:
        order = self._resting.get(crossing.oid)
        if order is None:
            return
        locate, tracking, stamp = self._stamp(crossing.ts)
        if crossing.left == 0:
            self._delete(crossing.oid, crossing.ts, out)
            return
        new_ref = self._new_ref()
        out.append(
            OrderReplace(
                stock_locate=locate,
                tracking_number=tracking,
                timestamp=stamp,
                original_order_ref=order.ref,
                new_order_ref=new_ref,
                shares=crossing.left,
                price=crossing.price,
            )
        )
        self._resting[crossing.oid] = _Resting(ref=new_ref, side=order.side, price=crossing.price, leaves=crossing.left)


def _side(side: int) -> str:
    return "B" if side == BUY else "S"


def _belongs(row: list[int], oid: int) -> bool:
    """True when ``row`` is part of the replace of ``oid``: its fills as taker, and self-trade cancels."""
    if row[E_KIND] == EV_FILL:
        return bool(row[E_OID2] == oid)
    return bool(row[E_KIND] == EV_CANCEL and row[E_AUX] == REASON_STP)
