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


@dataclass(slots=True)
class _Totals:
    """Running sums over one account's positions, kept in step with every fill and mark."""

    realized: Money = 0
    fees: Money = 0
    unrealized: Money = 0
    exposure: Money = 0


class Portfolio:
    """Every position of every account, with the latest marks. Pure bookkeeping: no I/O, no clock.

    Per-account totals are maintained incrementally, so :meth:`pnl` and :meth:`gross_exposure` of an account
    cost the same with one position or a thousand (risk checks read them on every order). Book fills through
    :meth:`apply_fill`, never on a position object directly.
    """

    def __init__(self, instruments: Mapping[str, Instrument]) -> None:
        self._instruments = dict(instruments)
        self._positions: dict[tuple[str, str], Position] = {}
        self._by_symbol: dict[str, list[Position]] = {}
        self._totals: dict[str, _Totals] = {}
        self._marks: dict[str, Price] = {}

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
            if position.quantity:
                totals = self._totals[position.account]
                totals.unrealized += position.unrealized(price) - position.unrealized(old)
                totals.exposure += position.exposure(price) - position.exposure(old)

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

    def gross_exposure(self, account: str | None = None) -> Money:
        """Sum of absolute position values at their marks (at cost where there is no mark yet)."""
        if account is not None:
            totals = self._totals.get(account)
            return totals.exposure if totals is not None else 0
        return sum(t.exposure for t in self._totals.values())
