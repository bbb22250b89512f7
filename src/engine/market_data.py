"""The engine's market-data cache: every instrument's full L2 book and its last trade.

Book updates carry deltas; a client that joins late (a desktop, a FIX session asking for a snapshot) needs the
whole book. The cache applies every update as it is published and answers snapshots as a :class:`BookUpdate`
whose deltas list every level.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.book import L2Book
from core.events import ASK, BID, BookUpdate, TradeTick
from core.numbers import Nanos, Price, Quantity
from engine.bus import MessageBus


@dataclass(slots=True)
class _Instrument:
    book: L2Book
    sequence: int = 0
    ts_ns: Nanos = 0
    last_price: Price | None = None
    last_qty: Quantity = 0


class MarketDataCache:
    """Keeps the latest full book and trade statistics of each instrument published on ``bus``."""

    def __init__(self, bus: MessageBus, symbols: list[str] | tuple[str, ...]) -> None:
        self._state = {symbol: _Instrument(L2Book()) for symbol in symbols}
        bus.subscribe(BookUpdate, self._on_book)
        bus.subscribe(TradeTick, self._on_trade)

    def _on_book(self, update: BookUpdate) -> None:
        state = self._state.get(update.instrument)
        if state is None:
            return
        state.book.apply_deltas(update.deltas)
        state.sequence = update.sequence
        state.ts_ns = update.ts_ns

    def _on_trade(self, trade: TradeTick) -> None:
        state = self._state.get(trade.instrument)
        if state is None:
            return
        state.last_price = trade.price
        state.last_qty = trade.quantity

    def snapshot(self, symbol: str, levels: int = 1_000) -> BookUpdate:
        """The whole book of ``symbol`` (up to ``levels`` per side) as one update whose deltas set every level."""
        state = self._state[symbol]
        depth = state.book.depth(levels)
        rows = [(BID, price, qty) for price, qty, _ in depth.bids] + [(ASK, price, qty) for price, qty, _ in depth.asks]
        deltas = np.array(rows, dtype=np.int64).reshape(-1, 3)
        deltas.flags.writeable = False
        best_bid = depth.bids[0] if depth.bids else None
        best_ask = depth.asks[0] if depth.asks else None
        return BookUpdate(
            instrument=symbol,
            ts_ns=state.ts_ns,
            sequence=state.sequence,
            deltas=deltas,
            best_bid=best_bid[0] if best_bid else None,
            best_bid_qty=best_bid[1] if best_bid else 0,
            best_ask=best_ask[0] if best_ask else None,
            best_ask_qty=best_ask[1] if best_ask else 0,
        )

    def last_trade(self, symbol: str) -> tuple[Price | None, Quantity]:
        """The last traded price and quantity of ``symbol`` (``(None, 0)`` before the first trade)."""
        state = self._state[symbol]
        return state.last_price, state.last_qty
