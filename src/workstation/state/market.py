"""The market state of one instrument as the desktop knows it: the full L2 book, trades and volume by price."""

from __future__ import annotations

import time
from collections import defaultdict

import numpy as np
import numpy.typing as npt

from core.book import L2Book
from core.enums import Side
from core.events import BookUpdate, TradeTick
from core.instruments import Instrument
from core.numbers import Nanos, Price, Quantity

TRADE_HISTORY = 65_536
"""Trades kept per instrument for the heatmap overlay (a ring buffer)."""


class TradeRing:
    """The latest trades of one instrument in fixed numpy arrays: time, price, quantity, aggressor (+1/-1)."""

    def __init__(self, capacity: int = TRADE_HISTORY) -> None:
        self.ts_ns = np.zeros(capacity, dtype=np.int64)
        self.price = np.zeros(capacity, dtype=np.int64)
        self.quantity = np.zeros(capacity, dtype=np.int64)
        self.aggressor = np.zeros(capacity, dtype=np.int8)
        self.count = 0

    def append(self, trade: TradeTick) -> None:
        i = self.count % len(self.ts_ns)
        self.ts_ns[i] = trade.ts_ns
        self.price[i] = trade.price
        self.quantity[i] = trade.quantity
        self.aggressor[i] = 1 if trade.aggressor is Side.BUY else -1
        self.count += 1

    def since(self, ts_ns: Nanos) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """``(times, prices, quantities)`` of the kept trades at or after ``ts_ns``, oldest first (quantities are
        signed by aggressor: positive for buyer-initiated)."""
        capacity = len(self.ts_ns)
        n = min(self.count, capacity)
        order = (np.arange(n) + (self.count - n)) % capacity
        times = self.ts_ns[order]
        keep = times >= ts_ns
        signed = self.quantity[order] * self.aggressor[order]
        return times[keep], self.price[order][keep], signed[keep]


class InstrumentMarket:
    """Book, last trade, session volume, volume at price and feed age of one instrument.

    ``version`` changes whenever anything does, so a panel can skip a repaint when nothing moved.
    """

    def __init__(self, instrument: Instrument) -> None:
        self.instrument = instrument
        self.book = L2Book()
        self.trades = TradeRing()
        self.last_price: Price | None = None
        self.last_qty: Quantity = 0
        self.volume: Quantity = 0
        self.reference_price: Price | None = None
        """The first price seen this session (the base of the change column)."""
        self.buy_volume_at: defaultdict[Price, Quantity] = defaultdict(int)
        self.sell_volume_at: defaultdict[Price, Quantity] = defaultdict(int)
        self.updates = 0
        self.level_changes = 0
        self.messages = 0
        self.sequence = -1
        self.ts_ns: Nanos = 0
        self.received_monotonic_ns = 0
        self.version = 0

    @property
    def symbol(self) -> str:
        return self.instrument.symbol

    def on_book(self, update: BookUpdate, *, snapshot: bool = False) -> None:
        """Apply an update (``snapshot``: its deltas are the whole book, replacing what was there)."""
        if snapshot:
            self.book.clear()
        elif update.sequence <= self.sequence:
            return  # already in a snapshot taken after it
        self.book.apply_deltas(update.deltas)
        self.sequence = update.sequence
        self.ts_ns = update.ts_ns
        self.updates += 1
        self.level_changes += len(update.deltas)
        self.messages += update.message_count
        self.received_monotonic_ns = time.monotonic_ns()
        if self.reference_price is None and update.best_bid is not None and update.best_ask is not None:
            self.reference_price = (update.best_bid + update.best_ask) // 2
        self.version += 1

    def on_trade(self, trade: TradeTick) -> None:
        self.trades.append(trade)
        self.last_price = trade.price
        self.last_qty = trade.quantity
        self.volume += trade.quantity
        if trade.aggressor is Side.BUY:
            self.buy_volume_at[trade.price] += trade.quantity
        else:
            self.sell_volume_at[trade.price] += trade.quantity
        if self.reference_price is None:
            self.reference_price = trade.price
        self.version += 1

    def best_bid(self) -> tuple[Price, Quantity] | None:
        return self.book.best_bid()

    def best_ask(self) -> tuple[Price, Quantity] | None:
        return self.book.best_ask()

    def mid(self) -> Price | None:
        """The mid price rounded down to an integer, or the last trade when a side is empty."""
        bid, ask = self.book.best_bid(), self.book.best_ask()
        if bid is not None and ask is not None:
            return (bid[0] + ask[0]) // 2
        return self.last_price

    def feed_age_ns(self) -> Nanos | None:
        """Wall time since the last book update arrived, or None before the first."""
        if self.received_monotonic_ns == 0:
            return None
        return time.monotonic_ns() - self.received_monotonic_ns
