"""Positions and P&L as the desktop shows them: each position as last reported, marked to the desktop's book."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping

import numpy as np

from core.events import PositionUpdate
from core.instruments import Instrument
from core.numbers import Money, Nanos, Price
from core.portfolio import DayStart, Position

EQUITY_HISTORY = 86_400
"""Equity samples kept (one a second: a day)."""


class PositionBook:
    """Positions by (account, instrument), updated from the engine's position updates and marked locally.

    The engine reports a position when a fill changes it; between fills the open P&L moves with the market,
    which the desktop marks itself (mid of its book) so the P&L panel moves every frame, not every fill. Each
    report also says where the position stood when the trading day began, so the day's P&L (what the daily loss
    limit judges) is what changed since: as the engine counts it, with the desktop's marks.
    """

    def __init__(self, instruments: Mapping[str, Instrument], mark: Callable[[str], Price | None]) -> None:
        self._instruments = instruments
        self._mark = mark
        self._positions: dict[tuple[str, str], Position] = {}
        self._starts: dict[tuple[str, str], DayStart] = {}
        self.equity_ts = np.zeros(EQUITY_HISTORY, dtype=np.int64)
        self.equity = np.zeros(EQUITY_HISTORY, dtype=np.int64)
        self.samples = 0
        self.version = 0

    def apply(self, update: PositionUpdate) -> None:
        instrument = self._instruments.get(update.instrument)
        if instrument is None:
            return
        key = (update.account, update.instrument)
        position = self._positions.get(key)
        if position is None:
            position = self._positions[key] = Position(update.account, instrument)
        position.quantity = update.quantity
        position.cost = update.cost
        position.realized = update.realized
        position.fees = update.fees
        self._starts[key] = DayStart(update.start_realized, update.start_fees, update.start_unrealized)
        self.version += 1

    def positions(self, account: str | None = None) -> Iterator[Position]:
        for (owner, _), position in self._positions.items():
            if account is None or owner == account:
                yield position

    def position(self, account: str, symbol: str) -> Position | None:
        return self._positions.get((account, symbol))

    def mark(self, symbol: str) -> Price | None:
        return self._mark(symbol)

    def unrealized(self, position: Position) -> Money:
        return position.unrealized(self._mark(position.instrument.symbol))

    def totals(self, account: str | None = None) -> tuple[Money, Money, Money]:
        """``(realized, unrealized, fees)`` over the positions of ``account`` (all accounts when None)."""
        realized = unrealized = fees = 0
        for position in self.positions(account):
            realized += position.realized
            unrealized += self.unrealized(position)
            fees += position.fees
        return realized, unrealized, fees

    def day_totals(self, account: str | None = None) -> tuple[Money, Money, Money]:
        """``(realized, unrealized, fees)`` since the trading day began, over the positions of ``account`` (all
        accounts when None). A position without a mark counts no open P&L; one whose open P&L at the start of
        the day is not known counts it from the first mark the desktop sees."""
        realized = unrealized = fees = 0
        for position in self.positions(account):
            key = (position.account, position.instrument.symbol)
            start = self._starts.get(key) or DayStart(0, 0, 0)
            realized += position.realized - start.realized
            fees += position.fees - start.fees
            mark = self._mark(key[1])
            if mark is None:
                continue
            if start.unrealized is None:
                start = self._starts[key] = start._replace(unrealized=position.unrealized(mark))
            unrealized += position.unrealized(mark) - (start.unrealized or 0)
        return realized, unrealized, fees

    def day_net(self, account: str | None = None) -> Money:
        """The day's net P&L (see :meth:`day_totals`)."""
        realized, unrealized, fees = self.day_totals(account)
        return realized + unrealized - fees

    def net(self, account: str | None = None) -> Money:
        realized, unrealized, fees = self.totals(account)
        return realized + unrealized - fees

    def sample_equity(self, now_ns: Nanos) -> None:
        """Record the net P&L of every account at ``now_ns`` on the equity curve (a ring buffer)."""
        i = self.samples % EQUITY_HISTORY
        self.equity_ts[i] = now_ns
        self.equity[i] = self.net()
        self.samples += 1

    def equity_curve(self) -> tuple[np.ndarray, np.ndarray]:
        """``(times ns, net P&L money units)`` of the kept samples, oldest first."""
        n = min(self.samples, EQUITY_HISTORY)
        order = (np.arange(n) + (self.samples - n)) % EQUITY_HISTORY
        return self.equity_ts[order], self.equity[order]
