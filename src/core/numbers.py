"""Integer numbers of the domain: prices in ticks, quantities, money and nanosecond times.

Prices are integers on an instrument's price scale (``10**-price_scale`` of the currency per unit, e.g. 1e-4 USD
as ITCH and OUCH use). Money (P&L, fees, notional) is an integer count of ``10**-MONEY_DECIMALS`` currency units,
so sums across instruments of different price scales stay exact. Times are integer nanoseconds since the epoch, UTC.
Conversions to ``Decimal`` exist for the edges (display, JSON, config); no float ever enters the order path.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Context, Decimal
from typing import TypeAlias

Price: TypeAlias = int
"""A price in integer units of the instrument's price scale."""
Quantity: TypeAlias = int
"""A quantity in shares or contracts (whole lots are checked by the instrument)."""
Money: TypeAlias = int
"""An amount in ``10**-MONEY_DECIMALS`` units of the account currency."""
Nanos: TypeAlias = int
"""A time in integer nanoseconds since the Unix epoch, UTC, or a duration in nanoseconds."""

MONEY_DECIMALS = 8
NANOS_PER_SECOND = 1_000_000_000
NANOS_PER_MILLI = 1_000_000
NANOS_PER_MICRO = 1_000

EXACT = Context(prec=80)
"""Decimal context wide enough that scaling any int64 amount is exact (the default 28 digits is not)."""


MONEY_PER_PRICE_UNIT: tuple[int, ...] = tuple(10 ** (MONEY_DECIMALS - scale) for scale in range(MONEY_DECIMALS + 1))
"""Money units in one price unit, indexed by price scale (0 to ``MONEY_DECIMALS``)."""


def notional(price: Price, quantity: Quantity, price_scale: int) -> Money:
    """Money value of ``quantity`` at ``price`` (both integers) for an instrument with ``price_scale`` decimals."""
    if not 0 <= price_scale <= MONEY_DECIMALS:
        raise ValueError(f"price scale {price_scale} is negative or finer than the money scale {MONEY_DECIMALS}")
    return price * quantity * MONEY_PER_PRICE_UNIT[price_scale]


def money_to_decimal(amount: Money) -> Decimal:
    """Exact decimal value of an integer money amount, in currency units."""
    return Decimal(amount).scaleb(-MONEY_DECIMALS, EXACT)


def decimal_to_money(value: Decimal | str | int) -> Money:
    """Integer money amount of a decimal value in currency units; raises if it is finer than the money scale."""
    scaled = Decimal(value).scaleb(MONEY_DECIMALS, EXACT)
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{value} has more than {MONEY_DECIMALS} decimals")
    return int(scaled)


def round_half_even_div(numerator: int, denominator: int) -> int:
    """Integer division rounded half to even (banker's rounding), for fees and averages."""
    if denominator <= 0:
        raise ValueError("denominator must be positive")
    quotient, remainder = divmod(numerator, denominator)
    twice = 2 * remainder
    if twice > denominator or (twice == denominator and quotient % 2 == 1):
        quotient += 1
    return quotient


def nanos_to_datetime(ts: Nanos) -> datetime:
    """Timezone-aware UTC datetime of a nanosecond timestamp (microsecond precision, as datetime allows)."""
    seconds, rest = divmod(ts, NANOS_PER_SECOND)
    return datetime.fromtimestamp(seconds, tz=UTC).replace(microsecond=rest // NANOS_PER_MICRO)


def datetime_to_nanos(moment: datetime) -> Nanos:
    """Nanoseconds since the epoch of a timezone-aware datetime; a naive one is refused."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime: attach a timezone at the edge")
    delta = moment - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * NANOS_PER_SECOND + delta.microseconds * NANOS_PER_MICRO
