"""Rejects the ladder flashes: new entries of the state's ``last_rejects`` for the ladder's instrument, each shown
once, at its order's price, for a moment, with its reason for the status line. Knows nothing of Qt."""

from __future__ import annotations

from dataclasses import dataclass

from core.enums import OrdStatus, Side
from core.numbers import Nanos, Price
from engine.text import price_text
from workstation.state import DesktopState

FLASH_NS = 1_500_000_000
"""How long a reject flashes at its price."""


@dataclass(frozen=True, slots=True)
class RejectFlash:
    """A reject being flashed: the order's side and price, the message for the status line, and until when."""

    client_order_id: str
    side: Side
    price: Price | None
    message: str
    until_ns: Nanos


class RejectWatch:
    """Finds rejects not shown yet and keeps the ones flashing; times are monotonic nanoseconds."""

    def __init__(self, flash_ns: Nanos = FLASH_NS) -> None:
        self.flash_ns = flash_ns
        self._shown: set[tuple[str, str]] = set()
        self._seen_at: tuple[int, int] = (-1, -1)
        """(orders version, number of rejects) when last looked at: nothing new can appear while both hold."""
        self.flashes: list[RejectFlash] = []
        self.message = ""
        """The latest reject's text (kept after its flash ends, until the next one)."""

    def skip_existing(self, state: DesktopState) -> None:
        """Count every reject already in the state as shown (they happened before this view opened)."""
        self._shown.update(state.last_rejects.items())
        self._seen_at = (state.orders.version, len(state.last_rejects))

    def poll(self, state: DesktopState, symbol: str, now_ns: Nanos) -> bool:
        """Start flashing the new rejects of ``symbol``; True when there was one."""
        orders = state.orders
        seen_at = (orders.version, len(state.last_rejects))
        if seen_at == self._seen_at:
            return False
        self._seen_at = seen_at
        found = False
        for client_order_id, reason in state.last_rejects.items():
            if (client_order_id, reason) in self._shown:
                continue
            self._shown.add((client_order_id, reason))
            row = orders.row_of(client_order_id)
            if row is None or orders.instrument(row) != symbol:
                continue
            side, price = orders.side(row), orders.price(row)
            instrument = state.instruments[symbol]
            where = "" if price is None else f" @ {price_text(instrument, price)}"
            quantity = orders.columns.get(row, "quantity")
            if orders.status(row) is OrdStatus.REJECTED:
                what = f"{side.name.capitalize()} {quantity}{where} rejected"
            else:
                what = f"Cancel/replace of {side.name.lower()} {quantity}{where} refused"
            flash = RejectFlash(client_order_id, side, price, f"{what}: {reason}", now_ns + self.flash_ns)
            self.flashes.append(flash)
            self.message = flash.message
            found = True
        return found

    def active(self, now_ns: Nanos) -> list[RejectFlash]:
        """The flashes still running at ``now_ns`` (finished ones are dropped)."""
        self.flashes = [flash for flash in self.flashes if flash.until_ns > now_ns]
        return self.flashes

    def clear(self) -> None:
        """Stop every flash and forget the message (another instrument is shown)."""
        self.flashes.clear()
        self.message = ""
