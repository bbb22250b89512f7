"""Text for people: prices at the instrument's tick precision, money in currency, decimals without noise.

The engine keeps integers; these turn them into what a trader reads in a terminal, a log or a reject reason.
"""

from __future__ import annotations

from decimal import Decimal

from core.instruments import Instrument
from core.numbers import Money, Price, money_to_decimal

CENT = Decimal("0.01")


def decimal_text(value: Decimal) -> str:
    """A decimal without trailing zeros or exponent ("1.5", "150000")."""
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "0") else text


def money_text(amount: Money) -> str:
    """An exact money amount in currency, at least to the cent ("-12.50", "0.43215")."""
    value = money_to_decimal(amount)
    cents = value.quantize(CENT)
    return str(cents) if cents == value else decimal_text(value)


def money_cents(amount: Money) -> str:
    """A money amount rounded to the cent, for dense displays ("-10.70")."""
    return str(money_to_decimal(amount).quantize(CENT))


def tick_decimals(instrument: Instrument) -> int:
    """How many decimals the instrument's tick needs (a 0.01 tick: 2; a 0.25 tick: 2; a 5 tick: 0)."""
    exponent = instrument.to_decimal(instrument.tick_size).normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def price_text(instrument: Instrument, price: Price) -> str:
    """A price as the market quotes it: at tick precision when on the grid ("190.01"), else in full."""
    value = instrument.to_decimal(price)
    if price % instrument.tick_size == 0:
        return str(value.quantize(Decimal(1).scaleb(-tick_decimals(instrument))))
    return decimal_text(value)
