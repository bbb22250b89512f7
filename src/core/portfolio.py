"""Positions and P&L per account and instrument, in exact integers.

A position's ``cost`` is the signed sum of price x quantity of what is still open (positive long, negative
short), so the average price is ``cost / quantity`` and nothing is rounded until a partial close, where the
closed share of the cost is taken with floor division and the remainder stays in the position (no money is lost).

With an average cost, what a fill does depends on every fill before it: a bust (a fill the venue broke) is taken
out by booking the position's other fills again from flat, so that afterwards everything is exactly as if the
busted fill had never been booked.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import NamedTuple

from core.enums import ExecType, Side
from core.events import ExecutionReport
from core.instruments import Instrument
from core.numbers import MONEY_PER_PRICE_UNIT, Money, Price, Quantity

_TRADE, _TRADE_CANCEL = ExecType.TRADE, ExecType.TRADE_CANCEL


@dataclass(slots=True)
class Position:
    """One account's position in one instrument."""

    account: str
    instrument: Instrument
    quantity: Quantity = 0
    cost: int = 0
    realized: Money = 0
    fees: Money = 0
    traded_qty: Quantity = 0
    fills: list[tuple[str, Side, Quantity, Price, Money]] = field(default_factory=list)
    """Every fill booked, in order, as (exec id, side, quantity, price, fee): what :meth:`bust_fill` books again."""

    @property
    def _money_factor(self) -> int:
        return MONEY_PER_PRICE_UNIT[self.instrument.price_scale]

    def apply_fill(self, side: Side, quantity: Quantity, price: Price, fee: Money, exec_id: str = "") -> Money:
        """Book a fill; returns the P&L it realized (before fees). ``exec_id`` names it for a later bust."""
        if quantity <= 0:
            raise ValueError(f"fill quantity must be positive, got {quantity}")
        self.fills.append((exec_id, side, quantity, price, fee))
        return self._book(side, quantity, price, fee)

    def bust_fill(self, exec_id: str) -> None:
        """Take out the fill ``exec_id``: quantity, cost (so the average price), realized P&L, fees and traded
        quantity become exactly what they would be had it never been booked. Raises ``KeyError`` (and changes
        nothing) when no fill of the position has that exec id."""
        fills = self.fills
        ids = [booked[0] for booked in fills]
        if not exec_id or exec_id not in ids:
            raise KeyError(f"no fill {exec_id!r} in the position of {self.account} in {self.instrument.symbol}")
        del fills[ids.index(exec_id)]
        self.quantity = self.cost = self.realized = self.fees = self.traded_qty = 0
        for _, side, quantity, price, fee in fills:
            self._book(side, quantity, price, fee)

    def _book(self, side: Side, quantity: Quantity, price: Price, fee: Money) -> Money:
        signed = quantity if side is Side.BUY else -quantity
        self.fees += fee
        self.traded_qty += quantity
        held = self.quantity
        if held == 0 or (held > 0) == (signed > 0):
            self.quantity += signed
            self.cost += price * signed
            return 0
        closing = min(quantity, abs(held))
        removed = self.cost if closing == abs(held) else self.cost * closing // abs(held)
        direction = 1 if held > 0 else -1
        realized_units = direction * price * closing - removed
        self.cost -= removed
        self.quantity += direction * -closing
        opening = quantity - closing
        if opening:
            self.quantity = signed // quantity * opening
            self.cost = price * self.quantity
        realized = realized_units * self._money_factor
        self.realized += realized
        return realized

    def unrealized(self, mark: Price | None) -> Money:
        """Open P&L at ``mark``; zero when flat or when there is no mark yet."""
        if self.quantity == 0 or mark is None:
            return 0
        return (mark * self.quantity - self.cost) * self._money_factor

    def exposure(self, mark: Price | None) -> Money:
        """Absolute market value of the position at ``mark`` (at its cost when there is no mark)."""
        value = self.cost if mark is None else mark * self.quantity
        return abs(value) * self._money_factor

    def average_price(self) -> tuple[int, int] | None:
        """Average open price as the exact fraction (cost, quantity) with a positive quantity; None when flat."""
        if self.quantity == 0:
            return None
        return (self.cost, self.quantity) if self.quantity > 0 else (-self.cost, -self.quantity)


class PnL(NamedTuple):
    """P&L totals in money units. ``net`` is realized plus unrealized minus fees. (A named tuple: risk checks
    build one per order, and it is three times cheaper than a frozen dataclass.)"""

    realized: Money
    unrealized: Money
    fees: Money

    @property
    def net(self) -> Money:
        return self.realized + self.unrealized - self.fees


class DayStart(NamedTuple):
    """Where one position stood when the trading day began: its realized P&L and fees so far, and its open P&L at
    the mark of that moment (None when it had no mark yet: it is then taken at the first mark it gets)."""

    realized: Money
    fees: Money
    unrealized: Money | None


_FLAT_START = DayStart(0, 0, 0)

_Standing = tuple[Money, Money, Money, Money]
"""What a position adds to its account's totals: realized P&L, fees, open P&L and exposure."""


def _standing(position: Position, mark: Price | None) -> _Standing:
    return position.realized, position.fees, position.unrealized(mark), position.exposure(mark)


@dataclass(slots=True)
class _Totals:
    """Running sums over one account's positions, kept in step with every fill and mark."""

    realized: Money = 0
    fees: Money = 0
    unrealized: Money = 0
    exposure: Money = 0
    day_realized: Money = 0
    """Realized P&L and fees as they stood when the day began, summed over the account's positions."""
    day_fees: Money = 0
    day_unrealized: Money = 0
    """Open P&L at the start of the day of the positions that have a mark now (the others count none)."""


class Portfolio:
    """Every position of every account, with the latest marks. Pure bookkeeping: no I/O, no clock.

    Per-account totals are maintained incrementally, so :meth:`pnl`, :meth:`day_pnl` and :meth:`gross_exposure`
    of an account cost the same with one position or a thousand (risk checks read them on every order). Book
    fills through :meth:`apply_fill`, never on a position object directly.

    :meth:`pnl` counts from the first fill; :meth:`day_pnl` from the start of the trading day
    (:meth:`start_day`): what was realized since, less the fees since, plus the change of open P&L since (a
    position carried over is valued at its mark of that moment). A position with no mark counts no open P&L.
    """

    def __init__(self, instruments: Mapping[str, Instrument]) -> None:
        self._instruments = dict(instruments)
        self._positions: dict[tuple[str, str], Position] = {}
        self._by_symbol: dict[str, list[Position]] = {}
        self._totals: dict[str, _Totals] = {}
        self._marks: dict[str, Price] = {}
        self._day_starts: dict[tuple[str, str], DayStart] = {}
        self.resolved_starts: list[tuple[str, str]] = []
        """Positions (account, symbol) whose open P&L at the start of the day was taken at their first mark since
        the owner last emptied this list (to keep and to report the start now known)."""

    def position(self, account: str, symbol: str) -> Position:
        """The position of ``account`` in ``symbol``, created flat on first use."""
        key = (account, symbol)
        found = self._positions.get(key)
        if found is None:
            found = self._positions[key] = Position(account, self._instruments[symbol])
            self._by_symbol.setdefault(symbol, []).append(found)
            self._totals.setdefault(account, _Totals())
        return found

    def apply_fill(
        self, account: str, symbol: str, side: Side, quantity: Quantity, price: Price, fee: Money, exec_id: str = ""
    ) -> Position:
        """Book a fill and return the updated position. ``exec_id`` names the fill for a later :meth:`bust_fill`."""
        position = self.position(account, symbol)
        mark = self._marks.get(symbol)
        before = _standing(position, mark)
        position.apply_fill(side, quantity, price, fee, exec_id)
        self._restate(position, mark, before)
        return position

    def book(self, report: ExecutionReport) -> Position | None:
        """Book what an execution report changes in its position: a fill (``TRADE``) is applied, a bust
        (``TRADE_CANCEL``) takes the fill it names out. Returns the position, or None for a report that books
        nothing (any other kind, a fill without price or quantity). Raises ``KeyError`` (and changes nothing) for a
        bust of a fill the position does not hold."""
        exec_type = report.exec_type
        if exec_type is _TRADE:
            if report.last_price is None or report.last_qty <= 0:
                return None
            return self.apply_fill(
                report.account, report.instrument, report.side, report.last_qty, report.last_price, report.fee,
                report.exec_id,
            )  # fmt: skip
        if exec_type is _TRADE_CANCEL:
            return self.bust_fill(report.account, report.instrument, report.ref_exec_id)
        return None

    def bust_fill(self, account: str, symbol: str, exec_id: str) -> Position:
        """Take the fill ``exec_id`` out of the position of ``account`` in ``symbol`` (see
        :meth:`Position.bust_fill`) and return the position; raises ``KeyError`` (and changes nothing) when the
        position has no such fill. The day's start stays as it was: a bust of an earlier day's fill counts in
        today's P&L."""
        position = self._positions.get((account, symbol))
        if position is None:
            raise KeyError(f"{account} has no position in {symbol} to bust {exec_id!r} from")
        mark = self._marks.get(symbol)
        before = _standing(position, mark)
        position.bust_fill(exec_id)
        self._restate(position, mark, before)
        return position

    def _restate(self, position: Position, mark: Price | None, before: _Standing) -> None:
        """Move the account's totals by how much ``position`` changed since it stood at ``before``."""
        totals = self._totals[position.account]
        totals.realized += position.realized - before[0]
        totals.fees += position.fees - before[1]
        totals.unrealized += position.unrealized(mark) - before[2]
        totals.exposure += position.exposure(mark) - before[3]

    def set_mark(self, symbol: str, price: Price) -> None:
        """Record the latest mark price of an instrument (usually the mid or the last trade)."""
        old = self._marks.get(symbol)
        if old == price:
            return
        self._marks[symbol] = price
        for position in self._by_symbol.get(symbol, ()):
            if old is None:
                self._count_day_start(position, price)
            if position.quantity:
                totals = self._totals[position.account]
                totals.unrealized += position.unrealized(price) - position.unrealized(old)
                totals.exposure += position.exposure(price) - position.exposure(old)

    def _count_day_start(self, position: Position, price: Price) -> None:
        """Counts the open P&L at the start of the day of a position now marked (taken at ``price`` when it was
        not known: the first mark of a position carried into the day without one)."""
        key = (position.account, position.instrument.symbol)
        start = self._day_starts.get(key)
        if start is None:
            return
        if start.unrealized is None:
            start = self._day_starts[key] = start._replace(unrealized=position.unrealized(price))
            self.resolved_starts.append(key)
        self._totals[position.account].day_unrealized += start.unrealized or 0

    def mark(self, symbol: str) -> Price | None:
        return self._marks.get(symbol)

    def positions(self, account: str | None = None) -> Iterator[Position]:
        """Positions, of one account when given."""
        for (owner, _), position in self._positions.items():
            if account is None or owner == account:
                yield position

    def pnl(self, account: str | None = None, symbol: str | None = None) -> PnL:
        """P&L totals over the positions selected by account and/or instrument."""
        if symbol is None:
            if account is not None:
                totals = self._totals.get(account)
                return PnL(0, 0, 0) if totals is None else PnL(totals.realized, totals.unrealized, totals.fees)
            every = self._totals.values()
            return PnL(sum(t.realized for t in every), sum(t.unrealized for t in every), sum(t.fees for t in every))
        realized = unrealized = fees = 0
        for position in self._by_symbol.get(symbol, ()):
            if account is None or position.account == account:
                realized += position.realized
                unrealized += position.unrealized(self._marks.get(symbol))
                fees += position.fees
        return PnL(realized, unrealized, fees)

    def day_starts(self) -> dict[tuple[str, str], DayStart]:
        """Where every position stood when the trading day began, by (account, symbol)."""
        return dict(self._day_starts)

    def day_start(self, account: str, symbol: str) -> DayStart:
        """Where the position stood when the trading day began (flat when it did not exist then)."""
        return self._day_starts.get((account, symbol), _FLAT_START)

    def day_pnl(self, account: str) -> PnL:
        """The account's P&L since the start of the trading day (all of it before :meth:`start_day` is called)."""
        totals = self._totals.get(account)
        if totals is None:
            return PnL(0, 0, 0)
        return PnL(
            totals.realized - totals.day_realized,
            totals.unrealized - totals.day_unrealized,
            totals.fees - totals.day_fees,
        )

    def start_day(self, starts: Mapping[tuple[str, str], DayStart] | None = None) -> dict[tuple[str, str], DayStart]:
        """Begin a trading day now, or, given ``starts`` (as a previous call returned them, e.g. kept across a
        restart), from where the positions stood then (a position not in ``starts`` began the day flat).
        Returns where every position starts the day, keyed by (account, symbol)."""
        if starts is None:
            starts = {
                key: DayStart(
                    position.realized,
                    position.fees,
                    None if position.quantity and mark is None else position.unrealized(mark),
                )
                for key, position in self._positions.items()
                for mark in (self._marks.get(key[1]),)
            }
        self._day_starts = dict(starts)
        for totals in self._totals.values():
            totals.day_realized = totals.day_fees = totals.day_unrealized = 0
        for (account, symbol), start in self._day_starts.items():
            held = self._totals.get(account)
            if held is None:
                continue
            held.day_realized += start.realized
            held.day_fees += start.fees
            mark = self._marks.get(symbol)
            if mark is not None:
                self._count_day_start(self.position(account, symbol), mark)
        return dict(self._day_starts)

    def gross_exposure(self, account: str | None = None) -> Money:
        """Sum of absolute position values at their marks (at cost where there is no mark yet)."""
        if account is not None:
            totals = self._totals.get(account)
            return totals.exposure if totals is not None else 0
        return sum(t.exposure for t in self._totals.values())
