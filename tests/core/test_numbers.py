"""Integer money, prices and times of core.numbers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import ROUND_HALF_EVEN, Decimal, localcontext

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.numbers import (
    MONEY_DECIMALS,
    NANOS_PER_MICRO,
    NANOS_PER_SECOND,
    datetime_to_nanos,
    decimal_to_money,
    money_to_decimal,
    nanos_to_datetime,
    notional,
    round_half_even_div,
)

INT64 = st.integers(min_value=-(2**63), max_value=2**63 - 1)


def test_notional_of_shares_at_a_four_decimal_price() -> None:
    # 10 shares at 150.0000 USD are 1500 USD, i.e. 1500 * 10**8 money units.
    assert notional(1_500_000, 10, 4) == 1500 * 10**MONEY_DECIMALS


@pytest.mark.parametrize(
    ("price", "quantity", "scale", "expected"),
    [
        (12_345, 3, 2, 37_035 * 10**6),  # 123.45 x 3 = 370.35
        (7, 2, 0, 14 * 10**8),
        (1, 1, 8, 1),  # one unit of the finest scale is one money unit
        (1_500_000, -10, 4, -1500 * 10**8),
    ],
)
def test_notional_scales_to_money_units(price: int, quantity: int, scale: int, expected: int) -> None:
    assert notional(price, quantity, scale) == expected


def test_notional_refuses_a_price_scale_finer_than_money() -> None:
    with pytest.raises(ValueError, match="finer than the money scale"):
        notional(1, 1, MONEY_DECIMALS + 1)


def test_money_to_decimal_is_exact() -> None:
    assert money_to_decimal(123_456_789) == Decimal("1.23456789")
    assert money_to_decimal(-1) == Decimal("-0.00000001")
    assert str(money_to_decimal(150_000_000)) == "1.50000000"


@pytest.mark.parametrize(
    ("value", "expected"),
    [("1", 10**8), (Decimal("-2.5"), -250_000_000), (3, 300_000_000), ("0.00000001", 1), ("0", 0)],
)
def test_decimal_to_money(value: Decimal | str | int, expected: int) -> None:
    assert decimal_to_money(value) == expected


@pytest.mark.parametrize("value", ["0.000000001", Decimal("1.123456789"), "-0.000000005"])
def test_decimal_to_money_refuses_digits_beyond_the_money_scale(value: Decimal | str) -> None:
    with pytest.raises(ValueError, match="more than 8 decimals"):
        decimal_to_money(value)


@given(INT64)
def test_money_decimal_round_trip(amount: int) -> None:
    assert decimal_to_money(money_to_decimal(amount)) == amount
    assert decimal_to_money(str(money_to_decimal(amount))) == amount


def test_decimal_to_money_never_rounds_silently() -> None:
    value = "12345678901234567890.123456789"  # 29 significant digits, the 9th decimal is not representable
    with pytest.raises(ValueError, match="more than 8 decimals"):
        decimal_to_money(value)


@pytest.mark.parametrize(
    ("numerator", "denominator", "expected"),
    [
        (5, 2, 2),  # 2.5 -> 2 (even)
        (7, 2, 4),  # 3.5 -> 4 (even)
        (-5, 2, -2),
        (-7, 2, -4),
        (1, 3, 0),
        (2, 3, 1),
        (-1, 3, 0),
        (-2, 3, -1),
        (0, 5, 0),
        (10, 5, 2),
        (15, 10, 2),
        (25, 10, 2),
    ],
)
def test_round_half_even_div_table(numerator: int, denominator: int, expected: int) -> None:
    assert round_half_even_div(numerator, denominator) == expected


@given(INT64, st.integers(min_value=1, max_value=10**12))
def test_round_half_even_div_matches_decimal_rounding(numerator: int, denominator: int) -> None:
    with localcontext() as ctx:
        ctx.prec = 60
        exact = Decimal(numerator) / Decimal(denominator)
        expected = int(exact.quantize(Decimal(1), rounding=ROUND_HALF_EVEN))
    assert round_half_even_div(numerator, denominator) == expected


@pytest.mark.parametrize("denominator", [0, -3])
def test_round_half_even_div_refuses_a_non_positive_denominator(denominator: int) -> None:
    with pytest.raises(ValueError, match="positive"):
        round_half_even_div(1, denominator)


def test_nanos_to_datetime_is_aware_utc() -> None:
    moment = nanos_to_datetime(1_700_000_000 * NANOS_PER_SECOND + 123_456_789)
    assert moment == datetime(2023, 11, 14, 22, 13, 20, 123_456, tzinfo=UTC)
    assert moment.utcoffset() == timedelta(0)
    assert nanos_to_datetime(0) == datetime(1970, 1, 1, tzinfo=UTC)


def test_datetime_to_nanos_of_a_non_utc_zone() -> None:
    paris_winter = timezone(timedelta(hours=1))
    local = datetime(2024, 1, 1, 1, 0, 0, 250_000, tzinfo=paris_winter)
    assert datetime_to_nanos(local) == datetime_to_nanos(datetime(2024, 1, 1, 0, 0, 0, 250_000, tzinfo=UTC))
    assert datetime_to_nanos(datetime(1970, 1, 1, 0, 0, 1, tzinfo=UTC)) == NANOS_PER_SECOND


def test_datetime_to_nanos_refuses_a_naive_datetime() -> None:
    with pytest.raises(ValueError, match="naive"):
        datetime_to_nanos(datetime(2024, 1, 1))


@given(st.integers(min_value=-(10**18), max_value=4 * 10**18))
def test_nanos_datetime_round_trip_keeps_microseconds(ts: int) -> None:
    # datetime holds microseconds: the round trip truncates towards the past, to the microsecond.
    assert datetime_to_nanos(nanos_to_datetime(ts)) == ts - ts % NANOS_PER_MICRO


@given(st.datetimes(timezones=st.just(UTC)))
def test_datetime_nanos_round_trip_is_exact(moment: datetime) -> None:
    assert nanos_to_datetime(datetime_to_nanos(moment)) == moment
