"""Instruments: validation, the tick grid and exact price conversions."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.instruments import Instrument

AAPL = Instrument(symbol="AAPL")  # scale 4, tick 100: one cent


def test_defaults_are_a_cent_tick_on_a_four_decimal_scale() -> None:
    assert (AAPL.price_scale, AAPL.tick_size, AAPL.lot_size, AAPL.currency) == (4, 100, 1, "USD")


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"symbol": ""}, "symbol must not be empty"),
        ({"symbol": "   "}, "symbol must not be empty"),
        ({"tick_size": 0}, "tick_size must be positive"),
        ({"tick_size": -100}, "tick_size must be positive"),
        ({"price_scale": -1}, "price_scale must be within 0..8"),
        ({"price_scale": 9}, "price_scale must be within 0..8"),
        ({"lot_size": 0}, "lot_size must be positive"),
    ],
)
def test_invalid_instruments_are_refused(fields: dict[str, object], message: str) -> None:
    arguments: dict[str, object] = {"symbol": "XYZ", **fields}
    with pytest.raises(ValueError, match=message):
        Instrument(**arguments)  # type: ignore[arg-type]


@pytest.mark.parametrize("scale", [0, 8])
def test_price_scale_bounds_are_inclusive(scale: int) -> None:
    assert Instrument(symbol="XYZ", price_scale=scale, tick_size=1).price_scale == scale


def test_instrument_is_immutable() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        AAPL.tick_size = 1  # type: ignore[misc]


def test_tick_grid() -> None:
    assert AAPL.is_on_tick(1_500_000)
    assert AAPL.is_on_tick(0)
    assert not AAPL.is_on_tick(1_500_050)
    assert AAPL.is_on_tick(-1_500_100)


def test_whole_lots() -> None:
    board = Instrument(symbol="7203.T", price_scale=0, tick_size=1, lot_size=100, currency="JPY")
    assert board.is_whole_lots(300)
    assert not board.is_whole_lots(250)
    assert not board.is_whole_lots(0)
    assert not board.is_whole_lots(-100)


def test_to_price_is_exact() -> None:
    assert AAPL.to_price("150.25") == 1_502_500
    assert AAPL.to_price(Decimal("0.0001")) == 1
    assert AAPL.to_price(3) == 30_000
    assert AAPL.to_price("-1.5") == -15_000


@pytest.mark.parametrize("value", ["150.00001", Decimal("0.00005")])
def test_to_price_refuses_digits_beyond_the_scale(value: str | Decimal) -> None:
    with pytest.raises(ValueError, match="more than 4 decimals"):
        AAPL.to_price(value)


def test_to_decimal_is_exact() -> None:
    assert AAPL.to_decimal(1_502_500) == Decimal("150.25")
    assert str(AAPL.to_decimal(1_502_500)) == "150.2500"
    assert str(Instrument(symbol="JPY", price_scale=0, tick_size=1).to_decimal(1234)) == "1234"


@given(st.integers(min_value=-(2**63), max_value=2**63 - 1), st.integers(min_value=0, max_value=8))
def test_price_decimal_round_trip(price: int, scale: int) -> None:
    instrument = Instrument(symbol="XYZ", price_scale=scale, tick_size=1)
    assert instrument.to_price(instrument.to_decimal(price)) == price
    assert instrument.to_price(str(instrument.to_decimal(price))) == price


@given(st.decimals(min_value=-(10**9), max_value=10**9, places=4, allow_nan=False, allow_infinity=False))
def test_decimal_price_round_trip(value: Decimal) -> None:
    assert AAPL.to_decimal(AAPL.to_price(value)) == value


@pytest.mark.parametrize(
    ("price", "down", "up"),
    [
        (1_500_000, 1_500_000, 1_500_000),  # on the grid: unchanged both ways
        (1_500_001, 1_500_000, 1_500_100),
        (1_500_099, 1_500_000, 1_500_100),
        (-150, -200, -100),  # below zero "down" still means towards minus infinity
        (0, 0, 0),
    ],
)
def test_round_to_tick(price: int, down: int, up: int) -> None:
    assert AAPL.round_to_tick(price) == down
    assert AAPL.round_to_tick(price, up=True) == up


@given(st.integers(min_value=-(10**12), max_value=10**12), st.integers(min_value=1, max_value=10**6))
def test_round_to_tick_lands_on_the_nearest_grid_point_in_its_direction(price: int, tick: int) -> None:
    instrument = Instrument(symbol="XYZ", tick_size=tick)
    down = instrument.round_to_tick(price)
    up = instrument.round_to_tick(price, up=True)
    assert instrument.is_on_tick(down)
    assert instrument.is_on_tick(up)
    assert down <= price <= up
    assert up - down == (0 if instrument.is_on_tick(price) else tick)


def test_instrument_notional_uses_its_scale() -> None:
    euro_bond = Instrument(symbol="BUND", price_scale=2, tick_size=1, currency="EUR")
    assert euro_bond.notional(13_250, 4) == 530 * 10**8  # 132.50 x 4
    assert AAPL.notional(1_502_500, 2) == 30_050 * 10**6  # 150.25 x 2
