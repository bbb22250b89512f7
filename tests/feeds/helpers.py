"""A listener that records what a feed publishes, and the reference books the feed's output is checked against."""

from __future__ import annotations

from core.book import L2Book
from core.contracts import MarketData
from core.events import BookUpdate, CancelReject, ExecutionReport, OrderBookAction, TradeTick


class Recorder:
    """A :class:`core.contracts.VenueListener` keeping every market-data event, and an L2 book per instrument
    built from the BookUpdates alone."""

    def __init__(self, *, actions: bool = True) -> None:
        self.actions = actions
        self.updates: list[BookUpdate] = []
        self.trades: list[TradeTick] = []
        self.book_actions: list[OrderBookAction] = []
        self.l2: dict[str, L2Book] = {}

    def on_execution(self, report: ExecutionReport) -> None:
        raise AssertionError(f"a feed sent an execution report: {report}")

    def on_cancel_reject(self, reject: CancelReject) -> None:
        raise AssertionError(f"a feed sent a cancel reject: {reject}")

    def on_market_data(self, event: MarketData) -> None:
        if isinstance(event, BookUpdate):
            self.updates.append(event)
            self.l2.setdefault(event.instrument, L2Book()).apply_deltas(event.deltas)
        elif isinstance(event, TradeTick):
            self.trades.append(event)
        else:
            self.book_actions.append(event)

    def wants(self, event_type: type) -> bool:
        return self.actions or event_type is not OrderBookAction
