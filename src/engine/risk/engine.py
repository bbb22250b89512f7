"""The risk engine: runs every enabled check of an account on each new order and replace, and fails closed.

Configuration is per account: ``{account: {check name: {param: value}}}``. A check named for an account is
enabled for it with those parameters; checks with ``enabled_by_default`` (the kill switch) are enabled for
every account. Everything is resolved and built at construction, so an unknown check or a bad parameter
stops the engine before it trades, and the hot path is a flat tuple of bound methods per account.

An account the engine was not configured with is refused: its orders are rejected with a reason saying so
(an empty mapping enables an account with only the default checks).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from core.commands import ReplaceOrder, SubmitOrder
from core.contracts import Breach, RiskCheck, RiskCheckSpec, RiskView
from core.orders import Order
from core.params import ParamError, resolve_params
from engine.risk.kill_switch import KILL_SWITCH, KillSwitchCheck
from engine.risk.validation import validate_replace, validate_request

logger = logging.getLogger(__name__)

OrderCheck = Callable[[SubmitOrder, RiskView], str | None]
ReplaceCheck = Callable[[Order, ReplaceOrder, RiskView], str | None]
AcceptedHook = Callable[[SubmitOrder, RiskView], None]
MonitorHook = Callable[[str, RiskView], Breach | None]


class RiskConfigError(ValueError):
    """The risk configuration names an unknown check, gives a bad parameter, or a check cannot be built."""


@dataclass(frozen=True, slots=True, kw_only=True)
class RiskDecision:
    """The verdict on one order or replace: approved, or rejected with every veto's reason."""

    approved: bool
    reasons: tuple[str, ...] = ()


APPROVED = RiskDecision(approved=True)
"""The one decision every approved order shares (nothing to allocate on the common path)."""


@dataclass(frozen=True, slots=True)
class _AccountChecks:
    """One account's built checks, as flat tuples of (name, bound method) for the hot path."""

    names: tuple[str, ...]
    order: tuple[tuple[str, OrderCheck], ...]
    replace: tuple[tuple[str, ReplaceCheck], ...]
    accepted: tuple[tuple[str, AcceptedHook], ...]
    monitor: tuple[tuple[str, MonitorHook], ...]
    kill_switch: KillSwitchCheck


class RiskEngine:
    """Pre-trade risk for every configured account.

    ``specs`` are the available checks by name (as plugins registered them); ``account_limits`` maps each
    account to the checks enabled for it and their parameters. Raises :class:`RiskConfigError` when the
    configuration cannot be honoured. A ``kill_switch`` spec is added when ``specs`` has none, since the
    engine's kill switch depends on it.
    """

    def __init__(
        self,
        specs: Mapping[str, RiskCheckSpec],
        account_limits: Mapping[str, Mapping[str, Mapping[str, Any]]],
    ) -> None:
        self._specs = _checked_specs(specs)
        self._accounts = {account: self._build(account, limits) for account, limits in account_limits.items()}
        self._global_reason: str | None = None
        self._account_reasons: dict[str, str] = {}
        for account, checks in self._accounts.items():
            if checks.kill_switch.reason is not None:
                self._account_reasons[account] = checks.kill_switch.reason

    # --- configuration --------------------------------------------------------------------------------------

    @property
    def accounts(self) -> tuple[str, ...]:
        """The configured accounts."""
        return tuple(self._accounts)

    def enabled_checks(self, account: str) -> tuple[str, ...]:
        """Names of the checks that run for ``account``, in running order (empty for an unknown account)."""
        checks = self._accounts.get(account)
        return () if checks is None else checks.names

    def _build(self, account: str, limits: Mapping[str, Mapping[str, Any]]) -> _AccountChecks:
        if not isinstance(limits, Mapping):
            raise RiskConfigError(f"account {account}: risk checks must be a mapping, got {limits!r}")
        unknown = sorted(set(limits) - set(self._specs))
        if unknown:
            known = ", ".join(sorted(self._specs))
            listed = ", ".join(unknown)
            raise RiskConfigError(f"account {account}: unknown risk check(s) {listed} (known: {known})")
        # The kill switch runs first, so its reason leads; then the other default checks, then the configured.
        defaults = [name for name, spec in self._specs.items() if spec.enabled_by_default]
        names = list(dict.fromkeys([KILL_SWITCH.name, *defaults, *limits]))
        built = [(name, self._make(account, name, limits.get(name, {}))) for name in names]
        kill_switch = next(check for name, check in built if name == KILL_SWITCH.name)
        if not isinstance(kill_switch, KillSwitchCheck):
            raise RiskConfigError(f"risk check {KILL_SWITCH.name} must build a {KillSwitchCheck.__name__}")
        return _AccountChecks(
            names=tuple(names),
            order=tuple((name, check.check_order) for name, check in built),
            replace=tuple((name, check.check_replace) for name, check in built),
            accepted=tuple(
                (name, check.on_accepted)
                for name, check in built
                if type(check).on_accepted is not RiskCheck.on_accepted
            ),
            monitor=tuple(
                (name, check.monitor) for name, check in built if type(check).monitor is not RiskCheck.monitor
            ),
            kill_switch=kill_switch,
        )

    def _make(self, account: str, name: str, given: Mapping[str, Any]) -> RiskCheck:
        owner = f"account {account}: risk check {name}"
        if not isinstance(given, Mapping):
            raise RiskConfigError(f"{owner}: parameters must be a mapping, got {given!r}")
        spec = self._specs[name]
        try:
            params = resolve_params(spec.params, given, owner=owner)
        except ParamError as exc:
            raise RiskConfigError(f"{owner}: {str(exc).removeprefix(f'{owner}: ')}") from exc
        try:
            check = spec.factory(params)
        except Exception as exc:
            message = str(exc).removeprefix(f"{name}: ")
            raise RiskConfigError(f"{owner}: {message}") from exc
        if not isinstance(check, RiskCheck):
            raise RiskConfigError(f"{owner}: its factory returned {type(check).__name__}, not a RiskCheck")
        return check

    # --- the hot path ---------------------------------------------------------------------------------------

    def check_order(self, request: SubmitOrder, view: RiskView) -> RiskDecision:
        """Validate ``request`` and run every enabled check of its account; never raises.

        An invalid request is rejected with the validation reason alone; otherwise every check runs and the
        decision lists every veto. A check that raises vetoes with
        "risk check <name> failed: <type>: <message>".
        """
        checks = self._accounts.get(request.account)
        if checks is None:
            return _unknown_account(request.account)
        try:
            invalid = validate_request(request, view)
        except Exception as exc:  # noqa: BLE001 - fail closed: a failing view rejects the order
            invalid = _failure("validation", exc)
        if invalid is not None:
            return RiskDecision(approved=False, reasons=(invalid,))
        reasons: list[str] | None = None
        for name, check in checks.order:
            try:
                reason = check(request, view)
            except Exception as exc:  # noqa: BLE001 - fail closed: the order is vetoed, the engine carries on
                reason = _failure(name, exc)
            if reason is not None:
                if reasons is None:
                    reasons = []
                reasons.append(reason or f"risk check {name} vetoed without a reason")
        return APPROVED if reasons is None else RiskDecision(approved=False, reasons=tuple(reasons))

    def check_replace(self, order: Order, request: ReplaceOrder, view: RiskView) -> RiskDecision:
        """Validate a replace of ``order`` and run every enabled check on it, as :meth:`check_order` does."""
        checks = self._accounts.get(order.account)
        if checks is None:
            return _unknown_account(order.account)
        try:
            invalid = validate_replace(order, request, view)
        except Exception as exc:  # noqa: BLE001 - fail closed: a failing view rejects the replace
            invalid = _failure("validation", exc)
        if invalid is not None:
            return RiskDecision(approved=False, reasons=(invalid,))
        reasons: list[str] | None = None
        for name, check in checks.replace:
            try:
                reason = check(order, request, view)
            except Exception as exc:  # noqa: BLE001 - fail closed: the replace is vetoed, the engine goes on
                reason = _failure(name, exc)
            if reason is not None:
                if reasons is None:
                    reasons = []
                reasons.append(reason or f"risk check {name} vetoed without a reason")
        return APPROVED if reasons is None else RiskDecision(approved=False, reasons=tuple(reasons))

    def on_accepted(self, request: SubmitOrder, view: RiskView) -> None:
        """Tell the account's checks that ``request`` passed every check and leaves for the venue.

        A check that raises here is logged and skipped: the order has already been approved.
        """
        checks = self._accounts.get(request.account)
        if checks is None:
            return
        for name, hook in checks.accepted:
            try:
                hook(request, view)
            except Exception:
                logger.exception("risk check %s failed in on_accepted for %s", name, request.client_order_id)

    def monitor(self, account: str, view: RiskView) -> list[tuple[str, Breach]]:
        """Standing breaches of ``account``'s limits as (check name, breach); a check that raises is reported
        as a breach naming the failure. Empty for an unknown account."""
        checks = self._accounts.get(account)
        if checks is None:
            return []
        breaches: list[tuple[str, Breach]] = []
        for name, hook in checks.monitor:
            try:
                breach = hook(account, view)
            except Exception as exc:  # noqa: BLE001 - a failing monitor is itself worth an alert
                breach = Breach(_failure(name, exc))
            if breach is not None:
                breaches.append((name, breach))
        return breaches

    # --- kill switch ----------------------------------------------------------------------------------------

    def engage_kill_switch(self, reason: str, account: str | None = None) -> None:
        """Block every new order and replace, of one account or (``account`` None) of all accounts.

        The global switch and each account's switch are independent: releasing one leaves the others as they
        are. Engaging again replaces the reason.
        """
        reason = reason.strip() or "no reason given"
        if account is None:
            self._global_reason = reason
        else:
            self._account_reasons[account] = reason
        self._apply_kill_switch()

    def release_kill_switch(self, account: str | None = None) -> None:
        """Release the global switch (``account`` None) or one account's own switch."""
        if account is None:
            self._global_reason = None
        else:
            self._account_reasons.pop(account, None)
        self._apply_kill_switch()

    def kill_switch_engaged(self, account: str) -> bool:
        """True while ``account`` is blocked by its own switch or the global one."""
        return self.kill_switch_reason(account) is not None

    def kill_switch_reason(self, account: str) -> str | None:
        """Why ``account`` is blocked (its own switch first, then the global one), or None."""
        return self._account_reasons.get(account) or self._global_reason

    def _apply_kill_switch(self) -> None:
        for account, checks in self._accounts.items():
            checks.kill_switch.set_reason(self.kill_switch_reason(account))


def _checked_specs(specs: Mapping[str, RiskCheckSpec]) -> dict[str, RiskCheckSpec]:
    for name, spec in specs.items():
        if name != spec.name:
            raise RiskConfigError(f"risk check spec registered as {name!r} is named {spec.name!r}")
    checked = dict(specs)
    checked.setdefault(KILL_SWITCH.name, KILL_SWITCH)
    return checked


def _failure(name: str, exc: Exception) -> str:
    return f"risk check {name} failed: {type(exc).__name__}: {exc}"


def _unknown_account(account: str) -> RiskDecision:
    return RiskDecision(approved=False, reasons=(f"account {account} has no risk configuration",))
