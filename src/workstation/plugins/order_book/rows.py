"""What each visible ladder row shows, built from the desktop's state: a plain snapshot the ladder paints and
tests read. Knows nothing of Qt."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass

from core.enums import Side
from core.numbers import Price, Quantity
from core.portfolio import Position
from engine.text import price_text
from workstation.plugins.order_book.axis import PriceAxis
from workstation.state import InstrumentMarket, WorkingOrder
from workstation.state.orders import PENDING


@dataclass(frozen=True, slots=True, kw_only=True)
class LadderRow:
    """One price row of the ladder as the trader sees it (quantities are 0 where the cell is empty)."""

    price: Price
    price_text: str
    bid: Quantity
    ask: Quantity
    own_buy: Quantity
    """Leaves quantity of the account's working buy orders at this price."""
    own_sell: Quantity
    own_buy_pending: bool
    """Some of those buy orders wait for the engine's answer (PendingNew/Cancel/Replace): drawn greyed."""
    own_sell_pending: bool
    last_qty: Quantity
    """The last trade's quantity, on the last trade's price row only."""
    buy_volume: Quantity
    sell_volume: Quantity
    best_bid: bool
    best_ask: bool
    last_trade: bool
    position: Quantity | None
    """The position's signed quantity on the row nearest its average price, else None."""
    rejected: bool
    """A reject is flashing at this price."""

    @property
    def volume(self) -> Quantity:
        """Traded volume at this price this session."""
        return self.buy_volume + self.sell_volume


@dataclass(frozen=True, slots=True)
class OwnLevel:
    """The account's working orders of one side at one price."""

    quantity: Quantity
    pending: bool
    client_order_ids: tuple[str, ...]


def own_levels(working: Iterable[WorkingOrder]) -> dict[tuple[Side, Price], OwnLevel]:
    """Working limit orders grouped by ``(side, price)`` (market orders have no row and are left out)."""
    grouped: dict[tuple[Side, Price], list[WorkingOrder]] = {}
    for order in working:
        if order.price is not None and order.leaves_qty > 0:
            grouped.setdefault((order.side, order.price), []).append(order)
    return {
        key: OwnLevel(
            quantity=sum(order.leaves_qty for order in orders),
            pending=any(order.status in PENDING for order in orders),
            client_order_ids=tuple(order.client_order_id for order in orders),
        )
        for key, orders in grouped.items()
    }


def volume_peak(market: InstrumentMarket) -> tuple[Price | None, Quantity]:
    """The price with the most volume traded this session and that volume (None and 0 before any trade)."""
    totals: dict[Price, Quantity] = dict(market.buy_volume_at)
    for price, quantity in market.sell_volume_at.items():
        totals[price] = totals.get(price, 0) + quantity
    if not totals:
        return None, 0
    return max(totals.items(), key=lambda item: item[1])


def average_price_row(position: Position | None, tick: Price) -> Price | None:
    """The grid price nearest the position's average price (None when flat), in exact integer arithmetic."""
    if position is None or position.quantity == 0:
        return None
    numerator, denominator = position.cost, position.quantity * tick
    if denominator < 0:
        numerator, denominator = -numerator, -denominator
    return ((2 * numerator + denominator) // (2 * denominator)) * tick


MAX_DEPTH_LEVELS = 5_000
"""Most book levels read per side for one repaint (a view scrolled far from the inside shows empty rows)."""


def _levels_to_cover(
    axis: PriceAxis, best_bid: tuple[Price, Quantity] | None, best_ask: tuple[Price, Quantity] | None
) -> int:
    """How many levels from the inside reach the far edge of the view (each level is at least one tick)."""
    assert axis.top is not None
    bottom = axis.top - (axis.rows - 1) * axis.tick
    needed = 0
    if best_bid is not None:
        needed = max(needed, (best_bid[0] - bottom) // axis.tick + 1)
    if best_ask is not None:
        needed = max(needed, (axis.top - best_ask[0]) // axis.tick + 1)
    return min(max(needed, 0), MAX_DEPTH_LEVELS)


def build_rows(
    axis: PriceAxis,
    market: InstrumentMarket,
    own: dict[tuple[Side, Price], OwnLevel],
    position: Position | None,
    rejected_prices: Collection[Price],
) -> Sequence[LadderRow]:
    """The visible rows of ``axis``, top (highest price) first; empty before the first price is known."""
    if axis.top is None:
        return ()
    inside_bid, inside_ask = market.best_bid(), market.best_ask()
    depth = market.book.depth(_levels_to_cover(axis, inside_bid, inside_ask))
    bids = {price: qty for price, qty, _ in depth.bids}
    asks = {price: qty for price, qty, _ in depth.asks}
    best_bid = None if inside_bid is None else inside_bid[0]
    best_ask = None if inside_ask is None else inside_ask[0]
    position_price = average_price_row(position, axis.tick)
    none = OwnLevel(0, False, ())
    rows = []
    for row in range(axis.rows):
        price = axis.top - row * axis.tick
        own_buy = own.get((Side.BUY, price), none)
        own_sell = own.get((Side.SELL, price), none)
        last = price == market.last_price
        rows.append(
            LadderRow(
                price=price,
                price_text=price_text(market.instrument, price),
                bid=bids.get(price, 0),
                ask=asks.get(price, 0),
                own_buy=own_buy.quantity,
                own_sell=own_sell.quantity,
                own_buy_pending=own_buy.pending,
                own_sell_pending=own_sell.pending,
                last_qty=market.last_qty if last else 0,
                buy_volume=market.buy_volume_at.get(price, 0),
                sell_volume=market.sell_volume_at.get(price, 0),
                best_bid=price == best_bid,
                best_ask=price == best_ask,
                last_trade=last,
                position=position.quantity if position is not None and price == position_price else None,
                rejected=price in rejected_prices,
            )
        )
    return tuple(rows)
