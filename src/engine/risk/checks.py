"""The built-in risk checks, gathered for registration, and the basic order validation.

Each built-in is a :class:`~core.contracts.RiskCheckSpec` named as the configuration names it:

- ``kill_switch`` (enabled for every account): blocks new orders and replaces while engaged.
- ``max_order_quantity``: ``limit`` quantity of one order.
- ``max_order_notional``: ``limit`` value of one order, in currency.
- ``price_band``: ``max_ticks`` and/or ``max_percent`` from the reference price; ``require_reference``.
- ``max_position``: ``limit`` absolute position per instrument, same-side working orders included.
- ``max_gross_exposure``: ``limit`` gross exposure of the account, in currency.
- ``daily_loss``: ``limit`` loss of the day in currency; ``flatten`` on breach; ``allow_reducing``.
- ``order_rate``: ``max_orders`` within a rolling ``window_ms``.
- ``restricted_instruments``: ``symbols``, one comma-separated text.

Limits have no usable default (0 means "not set" and is refused when the check is enabled), so an enabled
check always runs with an explicit limit.
"""

from __future__ import annotations

from core.contracts import RiskCheckSpec
from engine.risk.checks_account import (
    DAILY_LOSS,
    MAX_GROSS_EXPOSURE,
    MAX_POSITION,
    ORDER_RATE,
    DailyLoss,
    MaxGrossExposure,
    MaxPosition,
    OrderRate,
)
from engine.risk.checks_order import (
    MAX_ORDER_NOTIONAL,
    MAX_ORDER_QUANTITY,
    PRICE_BAND,
    RESTRICTED_INSTRUMENTS,
    MaxOrderNotional,
    MaxOrderQuantity,
    PriceBand,
    RestrictedInstruments,
)
from engine.risk.kill_switch import KILL_SWITCH, KillSwitchCheck
from engine.risk.validation import validate_replace, validate_request

BUILTIN_CHECKS: tuple[RiskCheckSpec, ...] = (
    KILL_SWITCH,
    MAX_ORDER_QUANTITY,
    MAX_ORDER_NOTIONAL,
    PRICE_BAND,
    MAX_POSITION,
    MAX_GROSS_EXPOSURE,
    DAILY_LOSS,
    ORDER_RATE,
    RESTRICTED_INSTRUMENTS,
)
"""Every built-in check spec, the kill switch first."""

__all__ = [
    "BUILTIN_CHECKS",
    "DAILY_LOSS",
    "KILL_SWITCH",
    "MAX_GROSS_EXPOSURE",
    "MAX_ORDER_NOTIONAL",
    "MAX_ORDER_QUANTITY",
    "MAX_POSITION",
    "ORDER_RATE",
    "PRICE_BAND",
    "RESTRICTED_INSTRUMENTS",
    "DailyLoss",
    "KillSwitchCheck",
    "MaxGrossExposure",
    "MaxOrderNotional",
    "MaxOrderQuantity",
    "MaxPosition",
    "OrderRate",
    "PriceBand",
    "RestrictedInstruments",
    "validate_replace",
    "validate_request",
]
