"""Basic order validation: always on, first, and the only reason given for a malformed order."""

from __future__ import annotations

import pytest

from core.enums import OrderType, Side
from engine.risk import validate_replace, validate_request

from .conftest import PortfolioView, engine_with, market, replace, submit


def test_a_well_formed_limit_and_market_order_pass(view: PortfolioView) -> None:
    assert validate_request(submit(), view) is None
    assert validate_request(market(), view) is None


@pytest.mark.parametrize(
    ("request_kwargs", "expected"),
    [
        ({"symbol": "NOPE"}, "unknown instrument NOPE"),
        ({"quantity": 0}, "quantity must be positive, got 0"),
        ({"quantity": -5}, "quantity must be positive, got -5"),
        ({"symbol": "LOTS", "quantity": 150}, "quantity 150 is not a whole number of lots of 100"),
        ({"price": None}, "a limit order needs a price"),
        ({"price": 0}, "limit price must be positive, got 0.00"),
        ({"price": -100}, "limit price must be positive, got -0.01"),
        ({"price": 1_500_050}, "limit price 150.005 is off the tick grid (tick 0.01)"),
        ({"order_type": OrderType.MARKET, "price": 1_500_000}, "a market order must not carry a price"),
    ],
)
def test_malformed_orders_are_refused_with_a_reason(
    view: PortfolioView, request_kwargs: dict[str, object], expected: str
) -> None:
    request = submit(**request_kwargs)  # type: ignore[arg-type]
    assert validate_request(request, view) == expected


def test_whole_lots_pass(view: PortfolioView) -> None:
    assert validate_request(submit(quantity=300, symbol="LOTS"), view) is None


def test_the_engine_rejects_a_malformed_order_with_the_validation_reason_alone(view: PortfolioView) -> None:
    engine = engine_with({"max_order_quantity": {"limit": 10}})
    engine.engage_kill_switch("halt")
    decision = engine.check_order(submit(quantity=0), view)
    assert not decision.approved
    assert decision.reasons == ("quantity must be positive, got 0",)


def test_a_replace_is_validated_like_a_new_order(view: PortfolioView) -> None:
    order = view.add_working(submit(Side.BUY, 500, symbol="LOTS"), cum_qty=200)
    assert validate_replace(order, replace(order, quantity=400, price=1_499_900), view) is None
    assert validate_replace(order, replace(order, quantity=450), view) == (
        "quantity 450 is not a whole number of lots of 100"
    )
    assert validate_replace(order, replace(order, quantity=200), view) == (
        "new quantity 200 does not exceed the filled quantity 200"
    )
    assert validate_replace(order, replace(order, price=1_499_950), view) == (
        "limit price 149.995 is off the tick grid (tick 0.01)"
    )
    zero = replace(order, price=0)
    assert validate_replace(order, zero, view) == "limit price must be positive, got 0.00"


def test_a_market_order_cannot_be_given_a_price_by_a_replace(view: PortfolioView) -> None:
    order = view.add_working(market())
    assert validate_replace(order, replace(order, quantity=200), view) is None
    priced = replace(order, price=1_500_000)
    assert validate_replace(order, priced, view) == "a market order must not carry a price"
