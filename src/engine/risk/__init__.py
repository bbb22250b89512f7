"""Pre-trade risk: the risk engine, the built-in checks and their plugin registration.

Orders reach venues only through :meth:`RiskEngine.check_order` (and replaces through
:meth:`RiskEngine.check_replace`): every enabled check of the account runs, any may veto, and a check that
raises vetoes the order (fail closed).
"""

from __future__ import annotations

from engine.risk.checks import BUILTIN_CHECKS, validate_replace, validate_request
from engine.risk.engine import APPROVED, RiskConfigError, RiskDecision, RiskEngine

__all__ = [
    "APPROVED",
    "BUILTIN_CHECKS",
    "RiskConfigError",
    "RiskDecision",
    "RiskEngine",
    "validate_replace",
    "validate_request",
]
