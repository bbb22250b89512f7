"""Registers the built-in risk checks through the same hook a third-party plugin implements."""

from __future__ import annotations

from core.contracts import RiskCheckSpec
from core.hookspecs import hookimpl
from engine.risk.checks import BUILTIN_CHECKS


@hookimpl
def register_risk_checks() -> list[RiskCheckSpec]:
    """The built-in checks: kill switch, order size, value and price band, position, exposure, daily loss,
    order rate and restricted instruments."""
    return list(BUILTIN_CHECKS)
