"""Positions and P&L per account and instrument, in exact integers.

A position's ``cost`` is the signed sum of price x quantity of what is still open (positive long, negative
short), so the average price is ``cost / quantity`` and nothing is rounded until a partial close, where the
closed share of the cost is taken with floor division and the remainder stays in the position (no money is lost).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from core.enums import Side
from core.instruments import Instrument
from core.numbers import MONEY_DECIMALS, Money, Price, Quantity


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
        return int(10 ** (MONEY_DECIMALS - self.instrument.price_scale))

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


@dataclass(frozen=True, slots=True)
class PnL:
    """P&L totals in money units. ``net`` is realized plus unrealized minus fees."""

    realized: Money
    unrealized: Money
    fees: Money

    @property
    def net(self) -> Money:
        return self.realized + self.unrealized - self.fees


class Portfolio:
    """Every position of every account, with the latest marks. Pure bookkeeping: no I/O, no clock."""

    def __init__(self, instruments: Mapping[str, Instrument]) -> None:
        self._instruments = dict(instruments)
        self._positions: dict[tuple[str, str], Position] = {}
        self._marks: dict[str, Price] = {}

    def position(self, account: str, symbol: str) -> Position:
        """The position of ``account`` in ``symbol``, created flat on first use."""
        key = (account, symbol)
        found = self._positions.get(key)
        if found is None:
            found = self._positions[key] = Position(account, self._instruments[symbol])
        return found

    def apply_fill(
        self, account: str, symbol: str, side: Side, quantity: Quantity, price: Price, fee: Money
    ) -> Position:
        """Book a fill and return the updated position."""
        position = self.position(account, symbol)
        position.apply_fill(side, quantity, price, fee)
        return position

    def set_mark(self, symbol: str, price: Price) -> None:
        """Record the latest mark price of an instrument (usually the mid or the last trade)."""
        self._marks[symbol] = price

    def mark(self, symbol: str) -> Price | None:
        return self._marks.get(symbol)

    def positions(self, account: str | None = None) -> Iterator[Position]:
        """Positions, of one account when given."""
        for (owner, _), position in self._positions.items():
            if account is None or owner == account:
                yield position

    def pnl(self, account: str | None = None, symbol: str | None = None) -> PnL:
        """P&L totals over the positions selected by account and/or instrument."""
        realized = unrealized = fees = 0
        for position in self.positions(account):
            if symbol is not None and position.instrument.symbol != symbol:
                continue
            realized += position.realized
            unrealized += position.unrealized(self._marks.get(position.instrument.symbol))
            fees += position.fees
        return PnL(realized, unrealized, fees)

    def gross_exposure(self, account: str | None = None) -> Money:
        """Sum of absolute position values at their marks."""
        return sum(p.exposure(self._marks.get(p.instrument.symbol)) for p in self.positions(account))
