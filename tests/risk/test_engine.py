"""The risk engine: every check runs, any may veto, failures close, the kill switch, configuration errors."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import pluggy
import pytest

from core import hookspecs
from core.commands import SubmitOrder
from core.contracts import Breach, RiskCheck, RiskCheckSpec, RiskView
from core.enums import Side
from core.params import Param, ParamValue
from engine.risk import APPROVED, BUILTIN_CHECKS, RiskConfigError, RiskEngine
from engine.risk import plugin as builtin_plugin

from .conftest import ACCOUNT, PortfolioView, engine_with, market, reasons, replace, submit

EVERY_CHECK: dict[str, dict[str, Any]] = {
    "max_order_quantity": {"limit": 1000},
    "max_order_notional": {"limit": "100000"},
    "price_band": {"max_ticks": 50, "max_percent": "1"},
    "max_position": {"limit": 2000},
    "max_gross_exposure": {"limit": "250000"},
    "daily_loss": {"limit": "5000", "flatten": True},
    "order_rate": {"max_orders": 100, "window_ms": 1000},
    "restricted_instruments": {"symbols": "LOTS"},
}


class Exploding(RiskCheck):
    """A third-party check with a bug."""

    name = "exploding"

    def __init__(self, params: Mapping[str, ParamValue]) -> None:
        self.params = params

    def check_order(self, request: SubmitOrder, view: RiskView) -> str | None:
        raise ZeroDivisionError("division by zero")

    def on_accepted(self, request: SubmitOrder, view: RiskView) -> None:
        raise RuntimeError("counter broke")

    def monitor(self, account: str, view: RiskView) -> Breach | None:
        raise KeyError("mark")


class Silent(RiskCheck):
    """A check that vetoes with an empty reason."""

    name = "silent"

    def __init__(self, params: Mapping[str, ParamValue]) -> None:
        pass

    def check_order(self, request: SubmitOrder, view: RiskView) -> str | None:
        return ""


EXPLODING = RiskCheckSpec(name="exploding", factory=Exploding)
SILENT = RiskCheckSpec(name="silent", factory=Silent)


def engine_plus(*extra: RiskCheckSpec, limits: Mapping[str, Mapping[str, object]]) -> RiskEngine:
    specs = {spec.name: spec for spec in (*BUILTIN_CHECKS, *extra)}
    return RiskEngine(specs, {ACCOUNT: limits})


def test_an_order_within_every_limit_is_approved(view: PortfolioView) -> None:
    engine = engine_with(EVERY_CHECK)
    view.set_reference("AAPL", 1_500_000)
    decision = engine.check_order(submit(quantity=100), view)
    assert decision.approved
    assert decision is APPROVED
    assert engine.enabled_checks(ACCOUNT) == ("kill_switch", *EVERY_CHECK)


def test_every_check_runs_and_every_veto_is_reported(view: PortfolioView) -> None:
    tighter: dict[str, Any] = {"order_rate": {"max_orders": 1}, "max_gross_exposure": {"limit": "200000"}}
    engine = engine_with({**EVERY_CHECK, **tighter})
    first = submit()
    assert engine.check_order(first, view).approved
    engine.on_accepted(first, view)
    engine.engage_kill_switch("desk halted")
    view.set_reference("LOTS", 1_000_000)
    view.fill(Side.BUY, 1000, 1_500_000, symbol="LOTS")  # marked at 100: a 50000 loss, 100000 exposure
    decision = engine.check_order(submit(Side.BUY, 1100, 1_200_000, symbol="LOTS"), view)
    assert not decision.approved
    assert decision.reasons == (
        "kill switch engaged: desk halted",
        "max_order_quantity: 1100 exceeds limit 1000",
        "max_order_notional: 132000.00 exceeds limit 100000.00",
        "price_band: price 120.00 is 2000 ticks from reference 100.00, beyond 50 ticks",
        "max_position: LOTS could reach 2100 (held 1000, working 0, order 1100), beyond limit 2000",
        "max_gross_exposure: 232000.00 after the order exceeds limit 200000.00",
        "daily_loss: loss 50000.00 is at or past limit 5000.00",
        "order_rate: 1 orders in the last 1000 ms, limit 1",
        "restricted_instruments: LOTS is restricted",
    )


def test_a_raising_check_vetoes_the_order_and_the_others_still_run(view: PortfolioView) -> None:
    engine = engine_plus(EXPLODING, limits={"exploding": {}, "max_order_quantity": {"limit": 10}})
    decision = engine.check_order(submit(quantity=11), view)
    assert decision.reasons == (
        "risk check exploding failed: ZeroDivisionError: division by zero",
        "max_order_quantity: 11 exceeds limit 10",
    )
    order = view.add_working(submit(quantity=5))
    assert engine.check_replace(order, replace(order, quantity=6), view).reasons == (
        "risk check exploding failed: ZeroDivisionError: division by zero",
    )


def test_a_raising_view_rejects_the_order(view: PortfolioView) -> None:
    class BrokenView(PortfolioView):
        def instrument(self, symbol: str) -> None:
            raise OSError("state unavailable")

    decision = engine_with({}).check_order(submit(), BrokenView())
    assert decision.reasons == ("risk check validation failed: OSError: state unavailable",)


def test_a_check_vetoing_without_a_reason_still_vetoes(view: PortfolioView) -> None:
    engine = engine_plus(SILENT, limits={"silent": {}})
    assert reasons(engine, submit(), view) == ("risk check silent vetoed without a reason",)


def test_a_raising_on_accepted_is_logged_and_does_not_propagate(
    view: PortfolioView, caplog: pytest.LogCaptureFixture
) -> None:
    engine = engine_plus(EXPLODING, limits={"exploding": {}})
    request = submit()
    with caplog.at_level(logging.ERROR, logger="engine.risk"):
        engine.on_accepted(request, view)
    assert f"risk check exploding failed in on_accepted for {request.client_order_id}" in caplog.text


def test_a_raising_monitor_is_reported_as_a_breach(view: PortfolioView) -> None:
    engine = engine_plus(EXPLODING, limits={"exploding": {}, "daily_loss": {"limit": "1"}})
    breach = Breach("risk check exploding failed: KeyError: 'mark'")
    assert engine.monitor(ACCOUNT, view) == [("exploding", breach)]


# --- accounts -----------------------------------------------------------------------------------------------


def test_an_unknown_account_is_refused(view: PortfolioView) -> None:
    engine = engine_with({})
    assert reasons(engine, submit(), view) == ()
    decision = engine.check_order(submit(account="OTHER"), view)
    assert decision.reasons == ("account OTHER has no risk configuration",)
    order = view.add_working(submit())
    order.account = "OTHER"
    assert engine.check_replace(order, replace(order, quantity=1), view).reasons == decision.reasons
    assert engine.monitor("OTHER", view) == []
    assert engine.enabled_checks("OTHER") == ()
    engine.on_accepted(submit(account="OTHER"), view)  # nothing to count


def test_accounts_are_configured_and_counted_independently(view: PortfolioView) -> None:
    specs = {spec.name: spec for spec in BUILTIN_CHECKS}
    limits = {"A": {"max_order_quantity": {"limit": 10}}, "B": {"order_rate": {"max_orders": 1}}}
    engine = RiskEngine(specs, limits)
    assert engine.accounts == ("A", "B")
    a, b = (submit(quantity=20, account=name) for name in ("A", "B"))
    assert engine.check_order(a, view).reasons == ("max_order_quantity: 20 exceeds limit 10",)
    assert engine.check_order(b, view).approved
    engine.on_accepted(b, view)
    assert not engine.check_order(b, view).approved
    assert engine.check_order(submit(quantity=5, account="A"), view).approved


# --- kill switch --------------------------------------------------------------------------------------------


def test_the_kill_switch_blocks_orders_and_replaces_until_released(view: PortfolioView) -> None:
    engine = engine_with({})
    order = view.add_working(submit())
    assert not engine.kill_switch_engaged(ACCOUNT)
    engine.engage_kill_switch("fat finger on the desk")
    assert engine.kill_switch_engaged(ACCOUNT)
    assert reasons(engine, submit(), view) == ("kill switch engaged: fat finger on the desk",)
    assert reasons(engine, market(), view) == ("kill switch engaged: fat finger on the desk",)
    assert engine.check_replace(order, replace(order, price=1_490_000), view).reasons == (
        "kill switch engaged: fat finger on the desk",
    )
    engine.release_kill_switch()
    assert not engine.kill_switch_engaged(ACCOUNT)
    assert engine.check_order(submit(), view).approved
    assert engine.check_replace(order, replace(order, price=1_490_000), view).approved


def test_the_kill_switch_of_one_account_leaves_the_others_trading(view: PortfolioView) -> None:
    specs = {spec.name: spec for spec in BUILTIN_CHECKS}
    engine = RiskEngine(specs, {"A": {}, "B": {}})
    a, b = (submit(account=name) for name in ("A", "B"))
    engine.engage_kill_switch("limit review", account="A")
    assert engine.check_order(a, view).reasons == ("kill switch engaged: limit review",)
    assert engine.check_order(b, view).approved
    assert (engine.kill_switch_engaged("A"), engine.kill_switch_engaged("B")) == (True, False)


def test_the_global_and_the_account_switches_are_independent(view: PortfolioView) -> None:
    engine = engine_with({})
    engine.engage_kill_switch("account breach", account=ACCOUNT)
    engine.engage_kill_switch("exchange outage")
    assert engine.kill_switch_reason(ACCOUNT) == "account breach"
    engine.release_kill_switch(account=ACCOUNT)
    assert reasons(engine, submit(), view) == ("kill switch engaged: exchange outage",)
    engine.engage_kill_switch("account breach", account=ACCOUNT)
    engine.release_kill_switch()
    assert reasons(engine, submit(), view) == ("kill switch engaged: account breach",)
    engine.release_kill_switch(account=ACCOUNT)
    assert reasons(engine, submit(), view) == ()


def test_the_kill_switch_can_start_engaged_and_needs_a_reason(view: PortfolioView) -> None:
    engine = engine_with({"kill_switch": {"engaged": True}})
    assert reasons(engine, submit(), view) == ("kill switch engaged: engaged by configuration",)
    engine.release_kill_switch(account=ACCOUNT)
    assert engine.check_order(submit(), view).approved
    engine.engage_kill_switch("   ")
    assert reasons(engine, submit(), view) == ("kill switch engaged: no reason given",)


def test_the_kill_switch_works_when_no_spec_was_registered_for_it(view: PortfolioView) -> None:
    engine = RiskEngine({}, {ACCOUNT: {}})
    assert engine.enabled_checks(ACCOUNT) == ("kill_switch",)
    engine.engage_kill_switch("halt")
    assert reasons(engine, submit(), view) == ("kill switch engaged: halt",)


# --- configuration errors -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("limits", "message"),
    [
        (
            {"max_order_qty": {"limit": 5}},
            "account ACC1: unknown risk check(s) max_order_qty (known: daily_loss, ",
        ),
        ({"max_order_quantity": {}}, "max_order_quantity: parameter limit is required"),
        ({"max_order_quantity": {"limit": -1}}, "parameter limit: -1 is below the minimum 0"),
        ({"max_order_quantity": {"limit": "ten"}}, "parameter limit: expected int, got 'ten'"),
        ({"max_order_quantity": {"limit": 10, "lmit": 5}}, "unknown parameter(s) lmit"),
        ({"max_order_notional": {"limit": "0.000000001"}}, "has more than 8 decimals"),
        ({"daily_loss": {"limit": "100", "flatten": "maybe"}}, "expected a boolean, got 'maybe'"),
        ({"order_rate": {"max_orders": 5, "window_ms": 0}}, "window_ms: 0 is below the minimum 1"),
        ({"price_band": {}}, "set max_ticks and/or max_percent"),
        ({"max_position": 1000}, "parameters must be a mapping, got 1000"),
    ],
)
def test_a_bad_configuration_is_refused_at_construction(limits: dict[str, object], message: str) -> None:
    with pytest.raises(RiskConfigError) as raised:
        engine_with(limits)  # type: ignore[arg-type]
    text = str(raised.value)
    assert message in text
    assert text.startswith(f"account {ACCOUNT}")
    assert text.count(f"account {ACCOUNT}") == 1


def test_an_account_whose_checks_are_not_a_mapping_is_refused() -> None:
    specs = {spec.name: spec for spec in BUILTIN_CHECKS}
    with pytest.raises(RiskConfigError, match="account A: risk checks must be a mapping, got None"):
        RiskEngine(specs, {"A": None})  # type: ignore[dict-item]


def test_a_spec_registered_under_another_name_is_refused() -> None:
    with pytest.raises(RiskConfigError, match="registered as 'other' is named 'silent'"):
        RiskEngine({"other": SILENT}, {})


def test_a_factory_that_returns_no_risk_check_is_refused() -> None:
    odd = RiskCheckSpec(name="odd", factory=lambda params: "no check")  # type: ignore[arg-type,return-value]
    with pytest.raises(RiskConfigError, match="its factory returned str, not a RiskCheck"):
        engine_plus(odd, limits={"odd": {}})


def test_a_kill_switch_spec_must_build_the_kill_switch() -> None:
    impostor = RiskCheckSpec(name="kill_switch", factory=Silent, enabled_by_default=True)
    with pytest.raises(RiskConfigError, match="kill_switch must build a KillSwitchCheck"):
        RiskEngine({"kill_switch": impostor}, {ACCOUNT: {}})


def test_declared_parameters_accept_text_as_the_command_line_gives_it(view: PortfolioView) -> None:
    limits: dict[str, Any] = {
        "max_order_quantity": {"limit": "10"},
        "max_order_notional": {"limit": Decimal(2000)},
    }
    engine = engine_with(limits)
    request = submit(quantity=11, price=1_000_000)
    assert reasons(engine, request, view) == ("max_order_quantity: 11 exceeds limit 10",)


# --- registration -------------------------------------------------------------------------------------------


def test_the_builtins_register_through_the_plugin_hook() -> None:
    manager = pluggy.PluginManager(hookspecs.PROJECT)
    manager.add_hookspecs(hookspecs)
    manager.register(builtin_plugin)
    manager.check_pending()
    registered = [spec for answer in manager.hook.register_risk_checks() for spec in answer]
    assert [spec.name for spec in registered] == [
        "kill_switch",
        "max_order_quantity",
        "max_order_notional",
        "price_band",
        "max_position",
        "max_gross_exposure",
        "daily_loss",
        "order_rate",
        "restricted_instruments",
    ]
    assert [spec.name for spec in registered if spec.enabled_by_default] == ["kill_switch"]
    for spec in registered:
        assert spec.description
        assert all(isinstance(param, Param) and param.description for param in spec.params)
