"""One order's life through the real engine and the simulated exchange: ack, fills, cancels, rejects."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from core.commands import CancelOrder, ReplaceOrder, SubmitOrder
from core.enums import ExecType, Liquidity, OrderType, OrdStatus, Side, TimeInForce
from core.numbers import NANOS_PER_MILLI, NANOS_PER_SECOND
from engine.clock import SimulatedScheduler
from engine.engine import Engine
from tests.conftest import Recorder

Make = Callable[..., tuple[Engine, Recorder]]


def advance(engine: Engine, nanos: int) -> None:
    scheduler = engine.scheduler
    assert isinstance(scheduler, SimulatedScheduler)
    scheduler.run_until(scheduler.now_ns() + nanos)


def order(client_id: str, side: Side, quantity: int, price: int | None, **extra: object) -> SubmitOrder:
    return SubmitOrder(
        client_order_id=client_id,
        account="main",
        instrument="AAPL",
        side=side,
        quantity=quantity,
        price=price,
        **extra,  # type: ignore[arg-type]
    )


def touch(engine: Engine) -> tuple[int, int]:
    advance(engine, 50 * NANOS_PER_MILLI)
    book = engine.last_book("AAPL")
    assert book is not None
    assert book.best_bid is not None
    assert book.best_ask is not None
    return book.best_bid, book.best_ask


def test_passive_order_is_acknowledged_then_cancelled(make_engine: Make) -> None:
    engine, seen = make_engine()
    bid, _ = touch(engine)
    engine.submit(order("c1", Side.BUY, 100, bid - 50 * 100))
    advance(engine, NANOS_PER_MILLI)
    assert [r.exec_type for r in seen.for_order("c1")] == [ExecType.NEW]
    engine.cancel(CancelOrder(client_order_id="c1", account="main"))
    assert engine.orders.by_client_id("c1").status is OrdStatus.PENDING_CANCEL  # type: ignore[union-attr]
    advance(engine, NANOS_PER_MILLI)
    final = seen.for_order("c1")[-1]
    assert final.exec_type is ExecType.CANCELED
    assert final.leaves_qty == 0
    assert engine.orders.by_client_id("c1").status is OrdStatus.CANCELED  # type: ignore[union-attr]


def test_marketable_order_fills_against_the_book_and_pays_taker_fee(make_engine: Make) -> None:
    engine, seen = make_engine()
    _, ask = touch(engine)
    engine.submit(order("c1", Side.BUY, 200, ask + 5 * 100, time_in_force=TimeInForce.IOC))
    advance(engine, NANOS_PER_MILLI)
    reports = seen.for_order("c1")
    fills = [r for r in reports if r.exec_type is ExecType.TRADE]
    assert fills, reports
    assert all(r.liquidity is Liquidity.TAKER and r.fee > 0 for r in fills)
    assert all(r.last_price is not None and r.last_price <= ask + 5 * 100 for r in fills)
    filled = sum(r.last_qty for r in fills)
    position = engine.position("main", "AAPL")
    assert position.quantity == filled
    assert position.fees == sum(r.fee for r in fills)
    assert reports[-1].ord_status in (OrdStatus.FILLED, OrdStatus.CANCELED)


def test_market_order_walks_the_book(make_engine: Make) -> None:
    engine, seen = make_engine()
    touch(engine)
    engine.submit(order("m1", Side.SELL, 3000, None, order_type=OrderType.MARKET, time_in_force=TimeInForce.IOC))
    advance(engine, NANOS_PER_MILLI)
    fills = [r for r in seen.for_order("m1") if r.exec_type is ExecType.TRADE]
    prices = [r.last_price for r in fills]
    assert sum(r.last_qty for r in fills) == 3000
    assert prices == sorted(prices, reverse=True), "a sell walks down the bids"
    assert len(set(prices)) > 1, "3000 shares should take more than one level"


def test_resting_order_is_filled_by_background_takers(make_engine: Make) -> None:
    engine, seen = make_engine()
    bid, _ = touch(engine)
    engine.submit(order("p1", Side.BUY, 100, bid))
    advance(engine, 30 * NANOS_PER_SECOND)
    fills = [r for r in seen.for_order("p1") if r.exec_type is ExecType.TRADE]
    assert fills, "a bid at the touch should trade within half a minute of background flow"
    assert all(r.liquidity is Liquidity.MAKER and r.fee <= 0 for r in fills), "makers earn the rebate"


def test_replace_moves_a_working_order(make_engine: Make) -> None:
    engine, seen = make_engine()
    bid, _ = touch(engine)
    engine.submit(order("r1", Side.BUY, 100, bid - 20 * 100))
    advance(engine, NANOS_PER_MILLI)
    engine.replace(ReplaceOrder(client_order_id="r1", account="main", quantity=300, price=bid - 30 * 100))
    advance(engine, NANOS_PER_MILLI)
    replaced = seen.for_order("r1")[-1]
    assert replaced.exec_type is ExecType.REPLACED
    assert (replaced.quantity, replaced.price) == (300, bid - 30 * 100)
    working = engine.orders.by_client_id("r1")
    assert working is not None
    assert working.status is OrdStatus.REPLACED
    assert working.leaves_qty == 300


@pytest.mark.parametrize(
    ("request_", "reason"),
    [
        (order("b1", Side.BUY, 100, 1_000_050), "tick"),
        (order("b2", Side.BUY, 0, 1_000_000), "quantity"),
        (order("b3", Side.BUY, -5, 1_000_000), "quantity"),
        (
            SubmitOrder(client_order_id="b4", account="main", instrument="NOPE", side=Side.BUY, quantity=1, price=100),
            "NOPE",
        ),
        (order("b5", Side.BUY, 100, None), "price"),
    ],
)
def test_bad_orders_are_rejected_with_a_reason(make_engine: Make, request_: SubmitOrder, reason: str) -> None:
    engine, seen = make_engine()
    engine.submit(request_)
    reports = seen.for_order(request_.client_order_id)
    assert [r.ord_status for r in reports] == [OrdStatus.REJECTED]
    assert reason.lower() in reports[0].reason.lower()
    assert seen.risk
    assert seen.risk[-1].client_order_id == request_.client_order_id
    bid, _ = touch(engine)
    engine.submit(order("good", Side.BUY, 100, bid - 10 * 100))
    advance(engine, NANOS_PER_MILLI)
    assert seen.for_order("good")[-1].exec_type is ExecType.NEW, "the engine goes on"


def test_duplicate_client_order_id_is_rejected(make_engine: Make) -> None:
    engine, seen = make_engine()
    bid, _ = touch(engine)
    engine.submit(order("d1", Side.BUY, 100, bid - 10 * 100))
    engine.submit(order("d1", Side.SELL, 100, bid + 10 * 100))
    advance(engine, NANOS_PER_MILLI)
    reports = seen.for_order("d1")
    assert any(r.ord_status is OrdStatus.REJECTED and "duplicate" in r.reason for r in reports)
    original = engine.orders.by_client_id("d1")
    assert original is not None
    assert original.side is Side.BUY
    assert original.status is OrdStatus.NEW


def test_cancel_of_unknown_or_finished_order_gets_a_cancel_reject(make_engine: Make) -> None:
    engine, seen = make_engine()
    engine.cancel(CancelOrder(client_order_id="ghost", account="main"))
    assert seen.rejects
    assert "unknown order ghost" in seen.rejects[-1].reason
    _, ask = touch(engine)
    engine.submit(order("f1", Side.BUY, 1, ask, time_in_force=TimeInForce.IOC))
    advance(engine, NANOS_PER_MILLI)
    engine.cancel(CancelOrder(client_order_id="f1", account="main"))
    assert "f1" in seen.rejects[-1].reason
    assert engine.orders.by_client_id("f1").is_terminal  # type: ignore[union-attr]
