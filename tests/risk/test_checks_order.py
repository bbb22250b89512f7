"""Checks that judge an order on its own: quantity, notional, price band, restricted instruments."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.enums import Side
from core.instruments import Instrument
from engine.risk import RiskConfigError

from .conftest import PortfolioView, engine_with, market, reasons, replace, submit

# --- max_order_quantity -------------------------------------------------------------------------------------


def test_max_order_quantity_passes_at_the_limit_and_vetoes_above(view: PortfolioView) -> None:
    engine = engine_with({"max_order_quantity": {"limit": 1000}})
    assert reasons(engine, submit(quantity=1000), view) == ()
    assert reasons(engine, submit(quantity=1001), view) == ("max_order_quantity: 1001 exceeds limit 1000",)


def test_max_order_quantity_judges_the_new_total_of_a_replace(view: PortfolioView) -> None:
    engine = engine_with({"max_order_quantity": {"limit": 1000}})
    order = view.add_working(submit(quantity=1000), cum_qty=600)
    assert engine.check_replace(order, replace(order, quantity=1000, price=1_490_000), view).approved
    decision = engine.check_replace(order, replace(order, quantity=1001), view)
    assert decision.reasons == ("max_order_quantity: 1001 exceeds limit 1000",)


# --- max_order_notional -------------------------------------------------------------------------------------


def test_max_order_notional_passes_at_the_limit_and_vetoes_above(view: PortfolioView) -> None:
    engine = engine_with({"max_order_notional": {"limit": "15000.5"}})
    assert reasons(engine, submit(quantity=100, price=1_500_000), view) == ()  # 15000
    # FINE has two decimals and a tick of 0.01: 100 x 150.05 = 15005.00 > 15000.5
    assert reasons(engine, submit(quantity=100, price=15005, symbol="FINE"), view) == (
        "max_order_notional: 15005.00 exceeds limit 15000.50",
    )
    assert reasons(engine, submit(quantity=100, price=15000, symbol="FINE"), view) == ()


def test_max_order_notional_is_exact_to_the_smallest_money_unit(view: PortfolioView) -> None:
    engine = engine_with({"max_order_notional": {"limit": "150.0001"}})
    assert reasons(engine, submit(quantity=1, price=1, symbol="FINE"), view) == ()
    assert reasons(engine, submit(quantity=15001, price=1, symbol="FINE"), view) == (
        "max_order_notional: 150.01 exceeds limit 150.0001",
    )
    assert reasons(engine, submit(quantity=1, price=1_500_100), view) == (
        "max_order_notional: 150.01 exceeds limit 150.0001",
    )
    assert reasons(engine, submit(quantity=1, price=1_500_000), view) == ()


def test_max_order_notional_values_a_market_order_at_the_reference_price(view: PortfolioView) -> None:
    engine = engine_with({"max_order_notional": {"limit": "15000"}})
    assert reasons(engine, market(quantity=100), view) == (
        "max_order_notional: no reference price to value a market order in AAPL",
    )
    view.set_reference("AAPL", 1_500_000)
    assert reasons(engine, market(quantity=100), view) == ()
    view.set_reference("AAPL", 1_500_100)
    assert reasons(engine, market(quantity=100), view) == ("max_order_notional: 15001.00 exceeds limit 15000.00",)


# --- price_band ---------------------------------------------------------------------------------------------


def test_price_band_in_ticks_passes_on_the_edge_and_vetoes_one_tick_beyond(view: PortfolioView) -> None:
    engine = engine_with({"price_band": {"max_ticks": 5}})
    view.set_reference("AAPL", 1_500_000)
    assert reasons(engine, submit(price=1_500_500), view) == ()
    assert reasons(engine, submit(Side.SELL, price=1_499_500), view) == ()
    assert reasons(engine, submit(price=1_500_600), view) == (
        "price_band: price 150.06 is 6 ticks from reference 150.00, beyond 5 ticks",
    )
    assert reasons(engine, submit(Side.SELL, price=1_499_400), view) == (
        "price_band: price 149.94 is 6 ticks from reference 150.00, beyond 5 ticks",
    )


def test_price_band_counts_fractional_ticks_from_an_off_grid_mid(view: PortfolioView) -> None:
    engine = engine_with({"price_band": {"max_ticks": 2}})
    view.set_reference("AAPL", 1_500_050)  # a mid between two ticks
    assert reasons(engine, submit(price=1_500_200), view) == ()  # 1.5 ticks away
    assert reasons(engine, submit(price=1_500_300), view) == (
        "price_band: price 150.03 is 2.5 ticks from reference 150.005, beyond 2 ticks",
    )


def test_price_band_in_percent_passes_on_the_edge_and_vetoes_beyond(view: PortfolioView) -> None:
    engine = engine_with({"price_band": {"max_percent": "1.5"}})
    view.set_reference("AAPL", 1_000_000)  # 100.0000: the band is 98.50 .. 101.50
    assert reasons(engine, submit(price=1_015_000), view) == ()
    assert reasons(engine, submit(Side.SELL, price=985_000), view) == ()
    assert reasons(engine, submit(price=1_015_100), view) == (
        "price_band: price 101.51 is 1.51% from reference 100.00, beyond 1.5%",
    )
    assert reasons(engine, submit(Side.SELL, price=984_900), view) == (
        "price_band: price 98.49 is 1.51% from reference 100.00, beyond 1.5%",
    )


def test_price_band_with_both_limits_vetoes_beyond_either(view: PortfolioView) -> None:
    engine = engine_with({"price_band": {"max_ticks": 10, "max_percent": "0.05"}})
    view.set_reference("AAPL", 1_000_000)  # 0.05% of 100.00 is 0.05: five ticks, tighter than ten
    assert reasons(engine, submit(price=1_000_500), view) == ()
    assert reasons(engine, submit(price=1_000_600), view)[0].startswith("price_band: price 100.06 is 0.06%")


def test_price_band_ignores_market_orders(view: PortfolioView) -> None:
    engine = engine_with({"price_band": {"max_ticks": 1, "require_reference": True}})
    assert reasons(engine, market(), view) == ()


def test_price_band_without_reference_passes_unless_one_is_required(view: PortfolioView) -> None:
    lenient = engine_with({"price_band": {"max_ticks": 1}})
    strict = engine_with({"price_band": {"max_ticks": 1, "require_reference": "true"}})
    assert reasons(lenient, submit(), view) == ()
    assert reasons(strict, submit(), view) == ("price_band: no reference price for AAPL",)


def test_price_band_needs_at_least_one_band() -> None:
    with pytest.raises(RiskConfigError, match="price_band: set max_ticks and/or max_percent"):
        engine_with({"price_band": {"require_reference": True}})


@settings(deadline=None)
@given(
    reference=st.integers(min_value=1, max_value=10**9),
    price=st.integers(min_value=1, max_value=2 * 10**9),
    percent=st.decimals(min_value="0.0001", max_value="50", places=4),
)
def test_price_band_percent_agrees_with_exact_fractions(reference: int, price: int, percent: Decimal) -> None:
    view = PortfolioView([Instrument(symbol="X", tick_size=1)])
    view.set_reference("X", reference)
    engine = engine_with({"price_band": {"max_percent": percent}})
    within = Fraction(abs(price - reference), reference) <= Fraction(str(percent)) / 100
    assert engine.check_order(submit(price=price, symbol="X"), view).approved == within


# --- restricted_instruments ---------------------------------------------------------------------------------


def test_restricted_instruments_vetoes_only_the_listed_symbols(view: PortfolioView) -> None:
    engine = engine_with({"restricted_instruments": {"symbols": " LOTS , FINE,,"}})
    assert reasons(engine, submit(), view) == ()
    lots, fine = submit(quantity=100, symbol="LOTS"), submit(price=15000, symbol="FINE")
    assert reasons(engine, lots, view) == ("restricted_instruments: LOTS is restricted",)
    assert reasons(engine, fine, view) == ("restricted_instruments: FINE is restricted",)


def test_restricted_instruments_match_symbols_exactly(view: PortfolioView) -> None:
    engine = engine_with({"restricted_instruments": {"symbols": "aapl"}})
    assert reasons(engine, submit(), view) == ()
