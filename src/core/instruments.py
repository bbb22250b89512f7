"""Instruments: what is traded, on which price grid, in which lots and currency."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from core.numbers import EXACT, Money, Price, Quantity, notional


@dataclass(frozen=True, slots=True, kw_only=True)
class Instrument:
    """A tradable instrument.

    ``price_scale`` is the number of decimals of one price unit (4: a price of 1_500_000 is 150.0000).
    ``tick_size`` is the minimum price increment in price units (100 at scale 4 is one cent).
    ``lot_size`` is the quantity increment; orders must be whole multiples of it.
    """

    symbol: str
    tick_size: Price = 100
    price_scale: int = 4
    lot_size: Quantity = 1
    currency: str = "USD"

    def __post_init__(self) -> None:
        if not self.symbol or not self.symbol.strip():
            raise ValueError("instrument symbol must not be empty")
        if self.tick_size <= 0:
            raise ValueError(f"{self.symbol}: tick_size must be positive, got {self.tick_size}")
        if not 0 <= self.price_scale <= 8:
            raise ValueError(f"{self.symbol}: price_scale must be within 0..8, got {self.price_scale}")
        if self.lot_size <= 0:
            raise ValueError(f"{self.symbol}: lot_size must be positive, got {self.lot_size}")

    def is_on_tick(self, price: Price) -> bool:
        """True when ``price`` lies on the tick grid."""
        return price % self.tick_size == 0

    def is_whole_lots(self, quantity: Quantity) -> bool:
        """True when ``quantity`` is a positive whole number of lots."""
        return quantity > 0 and quantity % self.lot_size == 0

    def to_decimal(self, price: Price) -> Decimal:
        """Exact decimal value of an integer price, for display and the edges."""
        return Decimal(price).scaleb(-self.price_scale, EXACT)

    def to_price(self, value: Decimal | str | int) -> Price:
        """Integer price of a decimal value; raises when it is not representable on the price scale."""
        scaled = Decimal(value).scaleb(self.price_scale, EXACT)
        if scaled != scaled.to_integral_value():
            raise ValueError(f"{self.symbol}: {value} has more than {self.price_scale} decimals")
        return int(scaled)

    def round_to_tick(self, price: Price, *, up: bool = False) -> Price:
        """``price`` moved to the tick grid, down (default) or up."""
        below = price - price % self.tick_size
        return below + self.tick_size if up and below != price else below

    def notional(self, price: Price, quantity: Quantity) -> Money:
        """Money value of ``quantity`` at ``price``."""
        return notional(price, quantity, self.price_scale)
