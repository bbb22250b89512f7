"""Positions and P&L in exact integer money units."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.enums import Side
from core.instruments import Instrument
from core.numbers import MONEY_DECIMALS, decimal_to_money
from core.portfolio import PnL, Portfolio, Position

AAPL = Instrument(symbol="AAPL")  # price scale 4: 1_000_000 is 100.0000 USD
BUND = Instrument(symbol="BUND", price_scale=2, tick_size=1, currency="EUR")  # 13_250 is 132.50

USD = 10**MONEY_DECIMALS  # one currency unit in money units


def position(instrument: Instrument = AAPL) -> Position:
    return Position("acc", instrument)


def test_long_open() -> None:
    pos = position()
    assert pos.apply_fill(Side.BUY, 10, 1_000_000, fee=0) == 0
    assert (pos.quantity, pos.cost, pos.realized) == (10, 10_000_000, 0)
    assert pos.average_price() == (10_000_000, 10)
    assert pos.unrealized(1_010_000) == 10 * USD  # +1.0000 on 10 shares
    assert pos.unrealized(990_000) == -10 * USD
    assert pos.exposure(1_010_000) == 101 * 10 * USD


def test_short_open() -> None:
    pos = position()
    pos.apply_fill(Side.SELL, 5, 1_000_000, fee=0)
    assert (pos.quantity, pos.cost) == (-5, -5_000_000)
    assert pos.average_price() == (5_000_000, 5)
    assert pos.unrealized(990_000) == 5 * USD
    assert pos.unrealized(1_020_000) == -10 * USD
    assert pos.exposure(1_000_000) == 500 * USD


def test_adding_keeps_the_exact_average() -> None:
    pos = position()
    pos.apply_fill(Side.BUY, 10, 1_000_000, fee=0)
    pos.apply_fill(Side.BUY, 20, 1_000_100, fee=0)
    assert pos.quantity == 30
    assert pos.average_price() == (30_002_000, 30)  # 100.00666..., kept as a fraction
    assert pos.realized == 0


def test_partial_close_then_close() -> None:
    pos = position()
    pos.apply_fill(Side.BUY, 10, 1_000_000, fee=0)
    assert pos.apply_fill(Side.SELL, 4, 1_100_000, fee=0) == 40 * USD
    assert (pos.quantity, pos.cost, pos.realized) == (6, 6_000_000, 40 * USD)
    assert pos.apply_fill(Side.SELL, 6, 950_000, fee=0) == -30 * USD
    assert (pos.quantity, pos.cost, pos.realized) == (0, 0, 10 * USD)
    assert pos.unrealized(2_000_000) == 0
    assert pos.average_price() is None


def test_short_cover_realizes_the_fall() -> None:
    pos = position()
    pos.apply_fill(Side.SELL, 10, 1_000_000, fee=0)
    assert pos.apply_fill(Side.BUY, 4, 900_000, fee=0) == 40 * USD
    assert (pos.quantity, pos.cost) == (-6, -6_000_000)


def test_uneven_partial_close_keeps_the_remainder_in_the_position() -> None:
    pos = position()
    pos.apply_fill(Side.BUY, 3, 1, fee=0)
    pos.apply_fill(Side.BUY, 1, 2, fee=0)  # 4 lots costing 5 units: 1.25 each
    pos.apply_fill(Side.SELL, 1, 2, fee=0)  # removes floor(5 / 4) = 1 unit of cost
    assert (pos.quantity, pos.cost) == (3, 4)
    pos.apply_fill(Side.SELL, 3, 2, fee=0)
    assert pos.cost == 0
    assert pos.realized == (2 * 4 - 5) * 10**4  # sold 4 x 2 units, paid 5 units: nothing lost


def test_flip_through_zero() -> None:
    pos = position()
    pos.apply_fill(Side.BUY, 10, 1_000_000, fee=0)
    assert pos.apply_fill(Side.SELL, 15, 1_100_000, fee=0) == 100 * USD
    assert (pos.quantity, pos.cost) == (-5, -5_500_000)
    assert pos.average_price() == (5_500_000, 5)
    assert pos.apply_fill(Side.BUY, 7, 1_000_000, fee=0) == 50 * USD
    assert (pos.quantity, pos.cost, pos.realized) == (2, 2_000_000, 150 * USD)


def test_fees_and_rebates_accumulate_apart_from_realized() -> None:
    pos = position()
    pos.apply_fill(Side.BUY, 100, 1_000_000, fee=decimal_to_money("0.35"))
    pos.apply_fill(Side.SELL, 100, 1_000_100, fee=decimal_to_money("-0.20"))  # a maker rebate
    assert pos.realized == 1 * USD
    assert pos.fees == decimal_to_money("0.15")
    assert pos.traded_qty == 200


@pytest.mark.parametrize("quantity", [0, -1])
def test_a_fill_needs_a_positive_quantity(quantity: int) -> None:
    pos = position()
    with pytest.raises(ValueError, match="fill quantity must be positive"):
        pos.apply_fill(Side.BUY, quantity, 1_000_000, fee=0)
    assert (pos.quantity, pos.cost, pos.fees, pos.traded_qty) == (0, 0, 0, 0)


def test_without_a_mark_unrealized_is_zero_and_exposure_is_at_cost() -> None:
    pos = position()
    pos.apply_fill(Side.SELL, 3, 1_000_000, fee=0)
    assert pos.unrealized(None) == 0
    assert pos.exposure(None) == 300 * USD


def test_portfolio_totals_across_instruments_of_different_scales() -> None:
    book = Portfolio({"AAPL": AAPL, "BUND": BUND})
    book.apply_fill("acc", "AAPL", Side.BUY, 10, 1_000_000, fee=decimal_to_money("0.10"))
    book.apply_fill("acc", "AAPL", Side.SELL, 10, 1_000_500, fee=decimal_to_money("0.10"))  # +0.05 x 10
    book.apply_fill("acc", "BUND", Side.SELL, 4, 13_250, fee=decimal_to_money("1"))
    book.apply_fill("other", "BUND", Side.BUY, 1, 13_000, fee=0)
    book.set_mark("BUND", 13_200)  # the short gains 0.50 x 4

    assert book.mark("BUND") == 13_200
    assert book.mark("AAPL") is None
    flat_aapl = PnL(realized=decimal_to_money("0.5"), unrealized=0, fees=decimal_to_money("0.2"))
    assert book.pnl("acc", "AAPL") == flat_aapl
    assert book.pnl("acc", "BUND") == PnL(realized=0, unrealized=2 * USD, fees=1 * USD)
    acc = book.pnl("acc")
    assert acc == PnL(realized=decimal_to_money("0.5"), unrealized=2 * USD, fees=decimal_to_money("1.2"))
    assert acc.net == decimal_to_money("1.3")
    assert book.pnl().unrealized == 2 * USD + 2 * USD  # the other account's long gains 2.00
    assert book.pnl(symbol="BUND").fees == 1 * USD
    assert book.gross_exposure("acc") == decimal_to_money("528")  # |-4 x 132.00|; AAPL is flat
    assert book.gross_exposure() == decimal_to_money("660")


def test_portfolio_positions_by_account() -> None:
    book = Portfolio({"AAPL": AAPL})
    book.apply_fill("a", "AAPL", Side.BUY, 1, 1_000_000, fee=0)
    book.apply_fill("b", "AAPL", Side.BUY, 2, 1_000_000, fee=0)
    assert [p.account for p in book.positions()] == ["a", "b"]
    assert [p.quantity for p in book.positions("b")] == [2]
    assert book.position("c", "AAPL").quantity == 0
    with pytest.raises(KeyError):
        book.position("a", "UNKNOWN")


Fill = tuple[Side, int, int]
FILLS = st.lists(
    st.tuples(
        st.sampled_from([Side.BUY, Side.SELL]),
        st.integers(min_value=1, max_value=1_000),
        st.integers(min_value=1, max_value=10**7),
    ),
    max_size=30,
)


@given(FILLS, st.integers(min_value=0, max_value=8), st.integers(min_value=1, max_value=10**7))
def test_pnl_is_cash_flow_plus_marked_position(fills: list[Fill], scale: int, mark: int) -> None:
    """Always realized + unrealized(mark) == cash flow + mark x position; once flat, realized == cash."""
    instrument = Instrument(symbol="XYZ", price_scale=scale, tick_size=1)
    factor = 10 ** (MONEY_DECIMALS - scale)
    pos = Position("acc", instrument)
    cash = 0  # in price units x quantity
    held = 0
    for side, quantity, price in fills:
        pos.apply_fill(side, quantity, price, fee=1)
        held += side.sign * quantity
        cash -= side.sign * quantity * price
        assert pos.quantity == held
        assert pos.realized + pos.unrealized(mark) == (cash + mark * held) * factor
    if held:  # close at the mark to end flat
        side = Side.SELL if held > 0 else Side.BUY
        pos.apply_fill(side, abs(held), mark, fee=1)
        cash += held * mark
    assert (pos.quantity, pos.cost) == (0, 0)
    assert pos.realized == cash * factor
    assert pos.fees == len(fills) + (1 if held else 0)


_FILL_OR_MARK = st.one_of(
    st.tuples(
        st.just("fill"),
        st.sampled_from(["a", "b"]),
        st.sampled_from(["X", "Y"]),
        st.sampled_from([Side.BUY, Side.SELL]),
        st.integers(1, 500),
        st.integers(1, 5_000),
        st.integers(-50, 50),
    ),
    st.tuples(st.just("mark"), st.sampled_from(["X", "Y"]), st.integers(1, 5_000)),
)


@given(st.lists(_FILL_OR_MARK, max_size=60))
def test_running_account_totals_equal_a_recomputation(steps: list[tuple[object, ...]]) -> None:
    instruments = {"X": Instrument(symbol="X", tick_size=1, price_scale=2), "Y": Instrument(symbol="Y", tick_size=1)}
    portfolio = Portfolio(instruments)
    for step in steps:
        if step[0] == "fill":
            _, account, symbol, side, qty, price, fee = step
            portfolio.apply_fill(account, symbol, side, qty, price, fee)  # type: ignore[arg-type]
        else:
            portfolio.set_mark(step[1], step[2])  # type: ignore[arg-type]
    for account in ("a", "b", None):
        chosen = list(portfolio.positions(account))
        expected_unrealized = sum(p.unrealized(portfolio.mark(p.instrument.symbol)) for p in chosen)
        pnl = portfolio.pnl(account)
        assert pnl.realized == sum(p.realized for p in chosen)
        assert pnl.fees == sum(p.fees for p in chosen)
        assert pnl.unrealized == expected_unrealized
        assert portfolio.gross_exposure(account) == sum(p.exposure(portfolio.mark(p.instrument.symbol)) for p in chosen)
