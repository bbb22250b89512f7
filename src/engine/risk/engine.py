"""The risk engine: runs every enabled check of an account on each new order and replace, and fails closed.

Configuration is per account: ``{account: {check name: {param: value}}}``. A check named for an account is
enabled for it with those parameters; checks with ``enabled_by_default`` (the kill switch) are enabled for
every account. Everything is resolved and built at construction, so an unknown check or a bad parameter
stops the engine before it trades, and the hot path is a flat tuple of bound methods per account.

An account the engine was not configured with is refused: its orders are rejected with a reason saying so
(an empty mapping enables an account with only the default checks).

Limits change while the engine runs through :meth:`RiskEngine.set_limits`: every change is validated first (so a
bad one changes nothing), then only the checks whose parameters changed are rebuilt and swapped in. A rebuilt
check takes over what the old one counted (:meth:`~core.contracts.RiskCheck.carry_over`): ``order_rate`` keeps
the orders already in its window, so a change never lets a burst through;
``daily_loss`` judges the day's loss against its new limit
(a breach it had latched lifts when the loss is now below the new limit, and latches again at once when it is
not). Checks that did not change keep their state, and the kill switch is never rebuilt: it keeps its state and
is changed only by engaging and releasing it. Changes live in memory: a restarted engine starts from its
configuration again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TypeAlias

from core.commands import ReplaceOrder, SubmitOrder
from core.contracts import Breach, RiskCheck, RiskCheckSpec, RiskView
from core.orders import Order
from core.params import ParamError, ParamValue, resolve_params
from engine.risk.kill_switch import KILL_SWITCH, KillSwitchCheck
from engine.risk.validation import validate_replace, validate_request

logger = logging.getLogger(__name__)

OrderCheck = Callable[[SubmitOrder, RiskView], str | None]
ReplaceCheck = Callable[[Order, ReplaceOrder, RiskView], str | None]
AcceptedHook = Callable[[SubmitOrder, RiskView], None]
MonitorHook = Callable[[str, RiskView], Breach | None]

LimitValue: TypeAlias = int | float | str | bool
"""A risk parameter as the configuration writes it (money amounts as decimal strings)."""
AccountLimits: TypeAlias = Mapping[str, Mapping[str, LimitValue]]
"""One account's risk checks, each with its parameters: check name -> parameter name -> value."""


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
    """One account's built checks, as flat tuples of (name, bound method) for the hot path, and what built them."""

    names: tuple[str, ...]
    built: Mapping[str, RiskCheck]
    resolved: Mapping[str, Mapping[str, ParamValue]]
    given: Mapping[str, Mapping[str, Any]]
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
        self._accounts = {account: self._configure(account, limits) for account, limits in account_limits.items()}
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

    def limits(self, account: str) -> dict[str, dict[str, LimitValue]]:
        """The live limits of ``account``: each check the configuration named (or a change enabled), with the
        parameters it gave as it wrote them, updated by every :meth:`set_limits` since. Checks enabled by default
        (the kill switch) appear only when given parameters. Raises :class:`RiskConfigError` for an unknown
        account."""
        checks = self._account(account)
        return {
            check: {name: _as_limit(value) for name, value in params.items()} for check, params in checks.given.items()
        }

    def validate_limits(self, account: str, changes: Mapping[str, Mapping[str, Any]]) -> None:
        """Raise :class:`RiskConfigError` naming the problem when :meth:`set_limits` would refuse ``changes``;
        changes nothing."""
        self._prepare(account, changes)

    def set_limits(self, account: str, changes: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, LimitValue]]:
        """Change ``account``'s limits while the engine runs; returns its full live limits (:meth:`limits`).

        ``changes`` maps a check name to the parameters to change (typed values or their text); parameters not
        named keep their value. A check not enabled for the account is enabled with the given parameters, the
        others at their defaults (an empty mapping enables it with defaults only). Everything is validated before
        anything changes: an unknown account, an unknown check, an unknown parameter, a bad value or a check
        that cannot be built raises :class:`RiskConfigError` naming it, and the limits stay as they were. The
        kill switch is not a limit (engage or release it instead). Only checks whose parameters change are
        rebuilt, taking over what the old one counted (see the module documentation).
        """
        self._accounts[account] = self._prepare(account, changes)
        return self.limits(account)

    def _account(self, account: str) -> _AccountChecks:
        checks = self._accounts.get(account)
        if checks is None:
            known = ", ".join(self._accounts) or "none"
            raise RiskConfigError(f"unknown account {account!r} (configured: {known})")
        return checks

    def _prepare(self, account: str, changes: Mapping[str, Mapping[str, Any]]) -> _AccountChecks:
        """The account's checks after ``changes``, every changed check built; raises before anything changes."""
        current = self._account(account)
        self._check_names(account, changes, "risk limit changes")
        if KILL_SWITCH.name in changes:
            raise RiskConfigError(
                f"account {account}: risk check {KILL_SWITCH.name} is engaged and released, not set as a limit"
            )
        given = {check: dict(params) for check, params in current.given.items()}
        built = dict(current.built)
        resolved = dict(current.resolved)
        for check, params in changes.items():
            owner = _owner(account, check, params)
            merged = {**given.get(check, {}), **params}
            values = self._resolve(owner, check, merged)
            given[check] = {**given.get(check, {}), **_typed(values, params)}
            if check not in built or values != resolved[check]:
                rebuilt = self._instantiate(owner, check, values)
                if check in built:
                    rebuilt.carry_over(built[check])
                built[check] = rebuilt
                resolved[check] = values
        names = [*current.names, *(check for check in changes if check not in current.names)]
        return self._assemble(names, built, resolved, given)

    def _configure(self, account: str, limits: Mapping[str, Mapping[str, Any]]) -> _AccountChecks:
        self._check_names(account, limits, "risk checks")
        # The kill switch runs first, so its reason leads; then the other default checks, then the configured.
        defaults = [name for name, spec in self._specs.items() if spec.enabled_by_default]
        names = list(dict.fromkeys([KILL_SWITCH.name, *defaults, *limits]))
        built: dict[str, RiskCheck] = {}
        resolved: dict[str, Mapping[str, ParamValue]] = {}
        for name in names:
            given = limits.get(name, {})
            owner = _owner(account, name, given)
            resolved[name] = self._resolve(owner, name, given)
            built[name] = self._instantiate(owner, name, resolved[name])
        given_limits = {check: dict(params) for check, params in limits.items()}
        return self._assemble(names, built, resolved, given_limits)

    def _check_names(self, account: str, checks: object, what: str) -> None:
        """Raises unless ``checks`` is a mapping whose keys are all known risk checks."""
        if not isinstance(checks, Mapping):
            raise RiskConfigError(f"account {account}: {what} must be a mapping, got {checks!r}")
        unknown = sorted(set(checks) - set(self._specs))
        if unknown:
            known = ", ".join(sorted(self._specs))
            raise RiskConfigError(f"account {account}: unknown risk check(s) {', '.join(unknown)} (known: {known})")

    @staticmethod
    def _assemble(
        names: list[str],
        built: Mapping[str, RiskCheck],
        resolved: Mapping[str, Mapping[str, ParamValue]],
        given: Mapping[str, Mapping[str, Any]],
    ) -> _AccountChecks:
        checks = [(name, built[name]) for name in names]
        kill_switch = built[KILL_SWITCH.name]
        if not isinstance(kill_switch, KillSwitchCheck):
            raise RiskConfigError(f"risk check {KILL_SWITCH.name} must build a {KillSwitchCheck.__name__}")
        return _AccountChecks(
            names=tuple(names),
            built=built,
            resolved=resolved,
            given=given,
            order=tuple((name, check.check_order) for name, check in checks),
            replace=tuple((name, check.check_replace) for name, check in checks),
            accepted=tuple(
                (name, check.on_accepted)
                for name, check in checks
                if type(check).on_accepted is not RiskCheck.on_accepted
            ),
            monitor=tuple(
                (name, check.monitor) for name, check in checks if type(check).monitor is not RiskCheck.monitor
            ),
            kill_switch=kill_switch,
        )

    def _resolve(self, owner: str, name: str, given: Mapping[str, Any]) -> dict[str, ParamValue]:
        try:
            return resolve_params(self._specs[name].params, given, owner=owner)
        except ParamError as exc:
            raise RiskConfigError(f"{owner}: {str(exc).removeprefix(f'{owner}: ')}") from exc

    def _instantiate(self, owner: str, name: str, params: Mapping[str, ParamValue]) -> RiskCheck:
        try:
            check = self._specs[name].factory(params)
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

    def start_day(self) -> None:
        """A new trading day began: every account's checks forget the day that ended (``RiskCheck.start_day``).
        A check that raises is logged and skipped."""
        for account, checks in self._accounts.items():
            for name, check in checks.built.items():
                try:
                    check.start_day()
                except Exception:
                    logger.exception("risk check %s of account %s failed to start the day", name, account)

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

    def engaged_kill_switches(self) -> dict[str | None, str]:
        """Every engaged switch and its reason: the global one under None, then each account's own."""
        engaged: dict[str | None, str] = {} if self._global_reason is None else {None: self._global_reason}
        engaged.update(self._account_reasons)
        return engaged

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


def _owner(account: str, check: str, params: object) -> str:
    """How errors name one check of an account; raises unless its parameters are a mapping."""
    owner = f"account {account}: risk check {check}"
    if not isinstance(params, Mapping):
        raise RiskConfigError(f"{owner}: parameters must be a mapping, got {params!r}")
    return owner


def _typed(values: Mapping[str, ParamValue], names: Mapping[str, Any]) -> dict[str, LimitValue]:
    """The values of the parameters ``names`` lists, after validation, in the configuration's form."""
    return {name: _as_limit(values[name]) for name in names}


def _as_limit(value: Any) -> LimitValue:
    """A parameter value in the configuration's form: money (a ``Decimal``) as its decimal text."""
    return str(value) if isinstance(value, Decimal) else value


def _failure(name: str, exc: Exception) -> str:
    return f"risk check {name} failed: {type(exc).__name__}: {exc}"


def _unknown_account(account: str) -> RiskDecision:
    return RiskDecision(approved=False, reasons=(f"account {account} has no risk configuration",))
