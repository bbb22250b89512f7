"""Checks that judge an order against the account: position, gross exposure, daily loss, order rate."""

from __future__ import annotations

from core.commands import SubmitOrder
from core.contracts import Breach
from core.enums import Side
from core.numbers import NANOS_PER_MILLI
from engine.risk import RiskEngine

from .conftest import ACCOUNT, PortfolioView, engine_with, market, reasons, replace, submit

MONEY_UNIT = 10**8  # one currency unit in integer money

# --- max_position -------------------------------------------------------------------------------------------


def test_max_position_passes_at_the_limit_and_vetoes_above(view: PortfolioView) -> None:
    engine = engine_with({"max_position": {"limit": 1000}})
    assert reasons(engine, submit(quantity=1000), view) == ()
    assert reasons(engine, submit(quantity=1001), view) == (
        "max_position: AAPL could reach 1001 (held 0, working 0, order 1001), beyond limit 1000",
    )
    assert reasons(engine, submit(Side.SELL, 1000), view) == ()
    assert reasons(engine, submit(Side.SELL, 1001), view) == (
        "max_position: AAPL could reach -1001 (held 0, working 0, order 1001), beyond limit 1000",
    )


def test_max_position_counts_the_position_and_working_orders_on_the_same_side(view: PortfolioView) -> None:
    engine = engine_with({"max_position": {"limit": 1000}})
    view.fill(Side.BUY, 400, 1_500_000)
    view.add_working(submit(Side.BUY, 300))
    view.add_working(submit(Side.SELL, 900))  # the other side cannot add to a long
    view.add_working(submit(Side.BUY, 900, symbol="LOTS"))  # another instrument
    assert reasons(engine, submit(quantity=300), view) == ()
    assert reasons(engine, submit(quantity=301), view) == (
        "max_position: AAPL could reach 1001 (held 400, working 300, order 301), beyond limit 1000",
    )


def test_max_position_lets_a_position_beyond_the_limit_be_reduced(view: PortfolioView) -> None:
    view.fill(Side.BUY, 1500, 1_500_000)
    engine = engine_with({"max_position": {"limit": 1000}})
    assert reasons(engine, submit(Side.SELL, 100), view) == ()
    assert reasons(engine, submit(Side.SELL, 1499), view) == ()
    assert reasons(engine, submit(Side.SELL, 2500), view) == ()  # to -1000: within the limit
    assert reasons(engine, submit(Side.SELL, 2501), view) == (  # to -1001: crossing flat is no reduction
        "max_position: AAPL could reach -1001 (held 1500, working 0, order 2501), beyond limit 1000",
    )
    assert len(reasons(engine, submit(Side.BUY, 100), view)) == 1


def test_max_position_does_not_count_a_replaced_order_twice(view: PortfolioView) -> None:
    engine = engine_with({"max_position": {"limit": 1000}})
    view.fill(Side.BUY, 200, 1_500_000)  # the fill of the working order below
    order = view.add_working(submit(Side.BUY, 600), cum_qty=200)
    view.fill(Side.BUY, 200, 1_500_000)  # held 400 in all, 400 of the order still open
    assert engine.check_replace(order, replace(order, quantity=800), view).approved  # 400 held + 600 open
    decision = engine.check_replace(order, replace(order, quantity=801), view)
    assert decision.reasons == (
        "max_position: AAPL could reach 1001 (held 400, working 0, order 601), beyond limit 1000",
    )


# --- max_gross_exposure -------------------------------------------------------------------------------------


def test_max_gross_exposure_passes_at_the_limit_and_vetoes_above(view: PortfolioView) -> None:
    engine = engine_with({"max_gross_exposure": {"limit": "100000"}})
    view.fill(Side.SELL, 500, 10_000, symbol="FINE")  # short 500 FINE at 100.00
    view.set_reference("FINE", 10_000)  # a 50000 exposure
    assert reasons(engine, submit(quantity=333, price=1_500_000), view) == ()  # 49950
    assert reasons(engine, submit(quantity=334, price=1_500_000), view) == (
        "max_gross_exposure: 100100.00 after the order exceeds limit 100000.00",
    )


def test_max_gross_exposure_passes_an_order_that_does_not_add_exposure(view: PortfolioView) -> None:
    engine = engine_with({"max_gross_exposure": {"limit": "10000"}})
    view.fill(Side.BUY, 500, 1_500_000)
    view.set_reference("AAPL", 1_500_000)  # 75000, far beyond the limit
    assert reasons(engine, submit(Side.SELL, 1000), view) == ()  # long 500 to short 500: no growth
    assert reasons(engine, submit(Side.SELL, 1001), view) == (
        "max_gross_exposure: 75150.00 after the order exceeds limit 10000.00",
    )
    assert len(reasons(engine, submit(Side.BUY, 1), view)) == 1


def test_max_gross_exposure_values_a_market_order_at_the_reference(view: PortfolioView) -> None:
    engine = engine_with({"max_gross_exposure": {"limit": "15000"}})
    assert reasons(engine, market(quantity=100), view) == (
        "max_gross_exposure: no reference price to value a market order in AAPL",
    )
    view.set_reference("AAPL", 1_500_000)
    assert reasons(engine, market(quantity=100), view) == ()
    assert reasons(engine, market(quantity=101), view) == (
        "max_gross_exposure: 15150.00 after the order exceeds limit 15000.00",
    )


# --- daily_loss ---------------------------------------------------------------------------------------------


def _losing(view: PortfolioView, mark: int, *, fee: int = 0) -> None:
    """Long 100 AAPL bought at 150.0000, marked at ``mark``."""
    view.fill(Side.BUY, 100, 1_500_000, fee=fee)
    view.set_reference("AAPL", mark)


def test_daily_loss_rejects_at_the_limit_and_passes_just_below(view: PortfolioView) -> None:
    engine = engine_with({"daily_loss": {"limit": "1000"}})
    _losing(view, 1_400_100)  # loss 999
    assert reasons(engine, submit(), view) == ()
    view.set_reference("AAPL", 1_400_000)  # loss 1000
    assert reasons(engine, submit(), view) == ("daily_loss: loss 1000.00 is at or past limit 1000.00",)


def test_daily_loss_breach_stops_trading_for_the_day_even_if_the_loss_recovers(view: PortfolioView) -> None:
    engine = engine_with({"daily_loss": {"limit": "1000"}})
    _losing(view, 1_400_000)  # loss 1000: breached
    breached = ("daily_loss: loss 1000.00 is at or past limit 1000.00",)
    assert reasons(engine, submit(), view) == breached
    view.set_reference("AAPL", 1_450_000)  # the loss recovers to 500
    assert reasons(engine, submit(), view) == breached
    assert [name for name, _ in engine.monitor(ACCOUNT, view)] == ["daily_loss"]


def test_daily_loss_counts_realized_pnl_and_fees(view: PortfolioView) -> None:
    engine = engine_with({"daily_loss": {"limit": "1000"}})
    _losing(view, 1_400_100, fee=MONEY_UNIT // 2)  # 999 + 0.5
    assert reasons(engine, submit(), view) == ()
    view.fill(Side.SELL, 100, 1_400_100, fee=MONEY_UNIT // 2)  # realized 999, fees 1
    assert view.pnl(ACCOUNT).net == -1000 * MONEY_UNIT
    assert reasons(engine, submit(), view) == ("daily_loss: loss 1000.00 is at or past limit 1000.00",)


def test_daily_loss_monitor_reports_the_breach_with_the_flatten_wish(view: PortfolioView) -> None:
    flattening = engine_with({"daily_loss": {"limit": "1000", "flatten": True}})
    alerting = engine_with({"daily_loss": {"limit": "1000"}})
    _losing(view, 1_400_100)
    assert flattening.monitor(ACCOUNT, view) == []
    view.set_reference("AAPL", 1_399_900)
    reason = "daily_loss: loss 1001.00 is at or past limit 1000.00"
    assert flattening.monitor(ACCOUNT, view) == [("daily_loss", Breach(reason, flatten=True))]
    assert alerting.monitor(ACCOUNT, view) == [("daily_loss", Breach(reason, flatten=False))]


def test_daily_loss_may_let_reducing_orders_through(view: PortfolioView) -> None:
    strict = engine_with({"daily_loss": {"limit": "1000"}})
    reducing = engine_with({"daily_loss": {"limit": "1000", "allow_reducing": True}})
    _losing(view, 1_000_000)
    assert len(reasons(strict, submit(Side.SELL, 100), view)) == 1
    assert reasons(reducing, submit(Side.SELL, 100), view) == ()
    assert len(reasons(reducing, submit(Side.SELL, 101), view)) == 1  # would open a short
    assert len(reasons(reducing, submit(Side.BUY, 1), view)) == 1
    working = view.add_working(submit(Side.SELL, 60))
    assert len(reasons(reducing, submit(Side.SELL, 41), view)) == 1  # 60 + 41 > 100
    assert reducing.check_replace(working, replace(working, quantity=100), view).approved
    assert not reducing.check_replace(working, replace(working, quantity=101), view).approved


# --- order_rate ---------------------------------------------------------------------------------------------


def _send(engine: RiskEngine, request: SubmitOrder, view: PortfolioView) -> bool:
    """What the kernel does: check the order and, when approved, tell the engine it left."""
    decision = engine.check_order(request, view)
    if decision.approved:
        engine.on_accepted(request, view)
    return decision.approved


def test_order_rate_rejects_beyond_the_limit_and_the_window_rolls(view: PortfolioView) -> None:
    engine = engine_with({"order_rate": {"max_orders": 3, "window_ms": 1000}})
    start = view.now
    for step in range(3):
        view.now = start + step * 100 * NANOS_PER_MILLI
        assert _send(engine, submit(), view)
    view.now = start + 1000 * NANOS_PER_MILLI - 1  # the first order is still in the window
    assert reasons(engine, submit(), view) == ("order_rate: 3 orders in the last 1000 ms, limit 3",)
    view.now = start + 1000 * NANOS_PER_MILLI  # ... and now it has left
    assert _send(engine, submit(), view)
    assert not _send(engine, submit(), view)
    view.now = start + 1100 * NANOS_PER_MILLI  # the second has left too
    assert _send(engine, submit(), view)
    assert not _send(engine, submit(), view)


def test_order_rate_counts_only_orders_that_passed_every_check(view: PortfolioView) -> None:
    engine = engine_with({"order_rate": {"max_orders": 2}, "max_order_quantity": {"limit": 100}})
    for _ in range(5):
        assert not _send(engine, submit(quantity=101), view)
    assert _send(engine, submit(), view)
    assert _send(engine, submit(), view)
    assert reasons(engine, submit(quantity=101), view) == (  # in the configuration's order
        "order_rate: 2 orders in the last 1000 ms, limit 2",
        "max_order_quantity: 101 exceeds limit 100",
    )


def test_order_rate_does_not_throttle_replaces(view: PortfolioView) -> None:
    engine = engine_with({"order_rate": {"max_orders": 1}})
    request = submit()
    assert _send(engine, request, view)
    order = view.add_working(request)
    assert not _send(engine, submit(), view)
    assert engine.check_replace(order, replace(order, price=1_490_000), view).approved
