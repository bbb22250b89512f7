"""Helpers shared by the built-in risk checks: reading declared limits and writing human reject reasons."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from core.instruments import Instrument
from core.numbers import Money, Price, decimal_to_money
from core.params import Param, ParamError, ParamValue
from engine.text import decimal_text


def ticks_text(instrument: Instrument, distance: Price) -> str:
    """A price distance counted in ticks; fractional when not a whole number of ticks (an off-grid mid)."""
    whole, rest = divmod(distance, instrument.tick_size)
    if rest == 0:
        return str(whole)
    return decimal_text(Decimal(distance) / Decimal(instrument.tick_size))


def limit_param(type_: type, description: str) -> Param:
    """The ``limit`` parameter of a check, ``int`` or ``Decimal``; its default 0 means "not set" (refused)."""
    zero = Decimal(0) if type_ is Decimal else 0
    return Param(name="limit", type=type_, default=zero, minimum=zero, description=description)


def positive_int(params: Mapping[str, ParamValue], name: str, *, owner: str) -> int:
    """The integer parameter ``name``; zero (its "not set" default) is refused: limits are explicit."""
    value = params[name]
    if not isinstance(value, int) or value <= 0:
        raise ParamError(f"{owner}: parameter {name} is required, a positive integer; got {value!r}")
    return value


def positive_money(params: Mapping[str, ParamValue], name: str, *, owner: str) -> Money:
    """The currency parameter ``name`` as integer money; zero ("not set") and excess decimals refused."""
    value = params[name]
    if not isinstance(value, Decimal) or value <= 0:
        raise ParamError(f"{owner}: parameter {name} is required, a positive amount; got {value!r}")
    try:
        return decimal_to_money(value)
    except ValueError as exc:
        raise ParamError(f"{owner}: parameter {name}: {exc}") from None
