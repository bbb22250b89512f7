"""Positions and P&L per account and instrument, in exact integers.

A position's ``cost`` is the signed sum of price x quantity of what is still open (positive long, negative
short), so the average price is ``cost / quantity`` and nothing is rounded until a partial close, where the
closed share of the cost is taken with floor division and the remainder stays in the position (no money is lost).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import NamedTuple

from core.enums import Side
from core.instruments import Instrument
from core.numbers import MONEY_PER_PRICE_UNIT, Money, Price, Quantity


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

    @property
    def _money_factor(self) -> int:
        return MONEY_PER_PRICE_UNIT[self.instrument.price_scale]

    def apply_fill(self, side: Side, quantity: Quantity, price: Price, fee: Money) -> Money:
        """Book a fill; returns the P&L it realized (before fees)."""
        if quantity <= 0:
            raise ValueError(f"fill quantity must be positive, got {quantity}")
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
        self, account: str, symbol: str, side: Side, quantity: Quantity, price: Price, fee: Money
    ) -> Position:
        """Book a fill and return the updated position."""
        position = self.position(account, symbol)
        totals = self._totals[account]
        mark = self._marks.get(symbol)
        totals.unrealized -= position.unrealized(mark)
        totals.exposure -= position.exposure(mark)
        realized = position.apply_fill(side, quantity, price, fee)
        totals.realized += realized
        totals.fees += fee
        totals.unrealized += position.unrealized(mark)
        totals.exposure += position.exposure(mark)
        return position

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
