"""Changing an in-process engine's risk limits while it runs, and describing a change for the audit log.

:func:`apply_risk_limits` is the one way the embedded client and the FIX server change limits: the risk engine
validates and applies the change, then a ``RiskEvent`` of kind ``LIMITS`` goes on the engine's bus naming what
changed and who changed it (nothing is published when the values were already so).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from core.events import RiskEvent, RiskEventKind

if TYPE_CHECKING:
    from engine.engine import Engine

Limits = Mapping[str, Mapping[str, Any]]
"""One account's risk checks and their parameters (as :attr:`SessionInfo.risk_limits` has them per account)."""


def apply_risk_limits(engine: Engine, account: str, changes: Limits, *, by: str) -> dict[str, dict[str, Any]]:
    """Change ``account``'s limits (see :meth:`engine.risk.engine.RiskEngine.set_limits`) and publish the audit
    event naming ``by``; returns the account's full live limits. Raises ``RiskConfigError`` (a ``ValueError``)
    naming the problem, and then nothing changes and nothing is published."""
    before = engine.risk.limits(account)
    after = engine.risk.set_limits(account, changes)
    event = limits_event(account, before, after, ts_ns=engine.scheduler.now_ns(), by=by)
    if event is not None:
        engine.bus.publish(event)
    return dict(after)


def limits_event(account: str, before: Limits, after: Limits, *, ts_ns: int, by: str = "") -> RiskEvent | None:
    """The ``LIMITS`` risk event of a change of ``account``'s limits from ``before`` to ``after`` (None when
    nothing differs): ``check`` lists the changed checks, ``reason`` each change, e.g.
    ``"max_order_quantity limit 10000 -> 50 by alice"``."""
    changes: list[str] = []
    checks: list[str] = []
    for check, params in after.items():
        old = before.get(check)
        if old is None:
            listed = ", ".join(f"{name} {value}" for name, value in params.items())
            changes.append(f"{check} enabled" + (f" ({listed})" if listed else ""))
            checks.append(check)
            continue
        moved = [
            f"{check} {name} {old.get(name, 'default')} -> {value}"
            for name, value in params.items()
            if name not in old or old[name] != value
        ]
        if moved:
            changes.extend(moved)
            checks.append(check)
    if not changes:
        return None
    reason = "; ".join(changes) + (f" by {by}" if by else "")
    return RiskEvent(ts_ns=ts_ns, kind=RiskEventKind.LIMITS, check=",".join(checks), reason=reason, account=account)
