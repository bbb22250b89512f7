"""Risk limits changed while the engine runs: validated before anything changes, only changed checks rebuilt."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import pytest

from core.enums import Side
from core.events import RiskEventKind
from engine.client.risk_limits import limits_event
from engine.risk import RiskConfigError

from .conftest import ACCOUNT, PortfolioView, engine_with, reasons, submit

LIMITS = {
    "max_order_quantity": {"limit": 1_000},
    "max_order_notional": {"limit": "1000000"},
    "order_rate": {"max_orders": 2, "window_ms": 1_000},
}


def test_a_tightened_limit_rejects_the_next_order_above_it_and_passes_one_below(view: PortfolioView) -> None:
    engine = engine_with(LIMITS)
    assert reasons(engine, submit(quantity=600), view) == ()
    live = engine.set_limits(ACCOUNT, {"max_order_quantity": {"limit": 500}})
    assert live == {**LIMITS, "max_order_quantity": {"limit": 500}}
    assert engine.limits(ACCOUNT) == live
    assert reasons(engine, submit(quantity=600), view) == ("max_order_quantity: 600 exceeds limit 500",)
    assert reasons(engine, submit(quantity=400), view) == ()
    engine.set_limits(ACCOUNT, {"max_order_quantity": {"limit": "2000"}})  # text, as a command line gives it
    assert engine.limits(ACCOUNT)["max_order_quantity"] == {"limit": 2_000}
    assert reasons(engine, submit(quantity=1_500), view) == ()


def test_money_limits_are_kept_as_decimal_text_as_the_configuration_writes_them(view: PortfolioView) -> None:
    engine = engine_with(LIMITS)
    engine.set_limits(ACCOUNT, {"max_order_notional": {"limit": Decimal("10000.50")}})
    assert engine.limits(ACCOUNT)["max_order_notional"] == {"limit": "10000.50"}
    assert reasons(engine, submit(quantity=100, price=1_500_000), view) == (
        "max_order_notional: 15000.00 exceeds limit 10000.50",
    )


@pytest.mark.parametrize(
    ("account", "changes", "message"),
    [
        ("NOPE", {"max_order_quantity": {"limit": 5}}, "unknown account 'NOPE'"),
        (ACCOUNT, {"max_order_quantity": {"limit": 5}, "max_orders_qty": {"limit": 5}}, "unknown risk check(s) max_"),
        (ACCOUNT, {"max_order_quantity": {"limit": 5}, "order_rate": {"per_second": 5}}, "unknown parameter(s) per_s"),
        (ACCOUNT, {"max_order_quantity": {"limit": 5}, "order_rate": {"max_orders": "many"}}, "max_orders: expected"),
        (ACCOUNT, {"max_order_quantity": {"limit": 5}, "order_rate": {"max_orders": -1}}, "below the minimum 0"),
        (ACCOUNT, {"max_order_quantity": {"limit": 0}}, "parameter limit is required"),
        (ACCOUNT, {"max_position": {}}, "max_position: parameter limit is required"),
        (ACCOUNT, {"kill_switch": {"engaged": True}}, "kill_switch is engaged and released"),
        (ACCOUNT, {"max_order_quantity": 5}, "parameters must be a mapping"),
    ],
    ids=["account", "check", "param", "type", "minimum", "zero-limit", "required", "kill-switch", "not-a-mapping"],
)
def test_a_bad_change_names_the_problem_and_changes_nothing(
    view: PortfolioView, account: str, changes: dict[str, Any], message: str
) -> None:
    engine = engine_with(LIMITS)
    checks = engine.enabled_checks(ACCOUNT)
    with pytest.raises(RiskConfigError, match=_escaped(message)):
        engine.set_limits(account, changes)
    with pytest.raises(RiskConfigError, match=_escaped(message)):
        engine.validate_limits(account, changes)
    # The good part of the change (max_order_quantity 5) was not applied either.
    assert engine.limits(ACCOUNT) == LIMITS
    assert engine.enabled_checks(ACCOUNT) == checks
    assert reasons(engine, submit(quantity=600), view) == ()


def test_a_check_not_enabled_is_enabled_with_the_given_parameters_and_the_rest_default(view: PortfolioView) -> None:
    engine = engine_with(LIMITS)
    assert "price_band" not in engine.enabled_checks(ACCOUNT)
    live = engine.set_limits(ACCOUNT, {"price_band": {"max_ticks": 10}})
    assert live["price_band"] == {"max_ticks": 10}
    assert engine.enabled_checks(ACCOUNT)[-1] == "price_band"
    view.set_reference("AAPL", 1_500_000)
    (reason,) = reasons(engine, submit(price=1_502_000), view)  # 20 ticks away, band 10
    assert reason.startswith("price_band:")
    assert reasons(engine, submit(price=1_500_500), view) == ()


def test_the_kill_switch_stays_engaged_through_a_change_of_limits(view: PortfolioView) -> None:
    engine = engine_with(LIMITS)
    engine.engage_kill_switch("desk halt", account=ACCOUNT)
    engine.set_limits(ACCOUNT, {"max_order_quantity": {"limit": 50}, "price_band": {"max_percent": 5}})
    assert engine.kill_switch_engaged(ACCOUNT)
    assert reasons(engine, submit(quantity=10), view)[0] == "kill switch engaged: desk halt"
    engine.release_kill_switch(account=ACCOUNT)
    assert reasons(engine, submit(quantity=10), view) == ()
    assert reasons(engine, submit(quantity=60), view) == ("max_order_quantity: 60 exceeds limit 50",)
    engine.engage_kill_switch("market halt")  # the global switch reaches the account's (kept) switch
    assert reasons(engine, submit(quantity=10), view) == ("kill switch engaged: market halt",)


def test_a_check_that_did_not_change_keeps_its_state(view: PortfolioView) -> None:
    engine = engine_with(LIMITS)
    for _ in range(2):
        accepted = submit(quantity=10)
        assert engine.check_order(accepted, view).approved
        engine.on_accepted(accepted, view)
    assert reasons(engine, submit(quantity=10), view)[0].startswith("order_rate:")
    engine.set_limits(ACCOUNT, {"max_order_quantity": {"limit": 500}})
    engine.set_limits(ACCOUNT, {"order_rate": {"max_orders": 2}})  # the same value: not rebuilt
    assert reasons(engine, submit(quantity=10), view)[0].startswith("order_rate:")


def test_a_rebuilt_order_rate_keeps_the_orders_already_in_its_window(view: PortfolioView) -> None:
    """A change of the throttle never opens a gap: what the old check counted still counts."""
    engine = engine_with(LIMITS)
    for _ in range(2):
        accepted = submit(quantity=10)
        engine.on_accepted(accepted, view)
    assert reasons(engine, submit(quantity=10), view)[0].startswith("order_rate:")
    engine.set_limits(ACCOUNT, {"order_rate": {"max_orders": 1}})
    assert reasons(engine, submit(quantity=10), view) == ("order_rate: 1 orders in the last 1000 ms, limit 1",)
    engine.set_limits(ACCOUNT, {"order_rate": {"max_orders": 3}})  # room for one more, not three
    third = submit(quantity=10)
    assert reasons(engine, third, view) == ()
    engine.on_accepted(third, view)
    assert reasons(engine, submit(quantity=10), view) == ("order_rate: 3 orders in the last 1000 ms, limit 3",)


def test_a_rebuilt_daily_loss_judges_the_loss_against_its_new_limit(view: PortfolioView) -> None:
    engine = engine_with({"daily_loss": {"limit": "100"}})
    view.set_reference("AAPL", 1_500_000)
    view.fill(Side.BUY, 100, 1_500_000)
    view.set_reference("AAPL", 1_480_000)  # 200 lost
    assert reasons(engine, submit(quantity=1), view)[0].startswith("daily_loss:")
    engine.set_limits(ACCOUNT, {"daily_loss": {"limit": "150"}})
    assert reasons(engine, submit(quantity=1), view)[0].startswith("daily_loss:")
    engine.set_limits(ACCOUNT, {"daily_loss": {"limit": "500"}})
    assert reasons(engine, submit(quantity=1), view) == ()


def test_the_audit_event_names_each_change_and_who_made_it() -> None:
    before = {"max_order_quantity": {"limit": 1_000}, "order_rate": {"max_orders": 2, "window_ms": 1_000}}
    after = {**before, "max_order_quantity": {"limit": 500}, "price_band": {"max_ticks": 10}}
    event = limits_event("main", before, after, ts_ns=7, by="risk-desk")
    assert event is not None
    assert (event.kind, event.account, event.ts_ns) == (RiskEventKind.LIMITS, "main", 7)
    assert event.check == "max_order_quantity,price_band"
    assert event.reason == "max_order_quantity limit 1000 -> 500; price_band enabled (max_ticks 10) by risk-desk"
    assert limits_event("main", before, before, ts_ns=7) is None


def _escaped(text: str) -> str:
    return re.escape(text)
