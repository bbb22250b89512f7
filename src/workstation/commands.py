"""What the panels and hotkeys ask the engine to do, in one place.

Commands are sent through the engine client as tasks owned by this object, not by the panel that asked, so a
kill switch or a flatten goes through even if the panel is closed a moment later. Every failure to deliver is
written to the audit log. An order sent shows at once as PendingNew (greyed on the ladder) until the engine
reports on it.

A read-only session (``SessionInfo.read_only``) may watch but not act: every command that would trade or change the
engine's risk state (orders, cancels, replaces, flatten, the kill switch both ways, strategies, risk limits) is
refused here, before anything is sent, and the refusal is written to the audit log. Panels read :attr:`Commands.
refusal` to disable their controls and say why; they do not have to, since nothing gets past this object.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Mapping, Sequence
from typing import Any

from core.commands import CancelAll, CancelOrder, KillSwitch, ReplaceOrder, SubmitOrder
from core.enums import OrderType, OrdStatus, Side, TimeInForce
from core.numbers import Price, Quantity
from engine.client.protocol import EngineClient, StrategyState
from workstation.settings import DesktopSettings
from workstation.state import DesktopState, Severity

RiskLimits = Mapping[str, Mapping[str, Any]]
"""One account's risk checks and their parameters (as ``SessionInfo.risk_limits`` has them per account)."""

Confirm = Callable[[str, str], bool]
"""Asks the user ``(title, question)``; True to go ahead."""

READ_ONLY_REASON = "read-only session: this user may watch but not trade or change limits"
"""Why a read-only session's commands are refused (shown by the panels and written to the audit log)."""


class ReadOnlySession(ValueError):
    """A command refused because the session is read-only (the clients raise a ``ValueError`` for it too)."""


class Commands:
    """The desktop's commands; each returns at once and delivers in the background."""

    def __init__(self, client: EngineClient, state: DesktopState, settings: DesktopSettings, confirm: Confirm) -> None:
        self.client = client
        self.state = state
        self.settings = settings
        self.confirm = confirm
        self._tasks: set[asyncio.Task[Any]] = set()

    def _spawn(self, coroutine: Coroutine[Any, Any, Any], what: str) -> asyncio.Task[Any]:
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)

        def done(finished: asyncio.Task[Any]) -> None:
            self._tasks.discard(finished)
            if finished.cancelled():
                return
            error = finished.exception()
            if error is not None:
                self.state.audit.add(self.state.now_ns(), Severity.ERROR, "desktop", f"{what} failed: {error}")

        task.add_done_callback(done)
        return task

    @property
    def refusal(self) -> str | None:
        """Why this session may not trade or change limits (:data:`READ_ONLY_REASON`), or None when it may."""
        return READ_ONLY_REASON if self.state.info.read_only else None

    def _refused(self, what: str) -> bool:
        """True, with an audit line naming ``what``, when the session may not act; nothing is sent then."""
        reason = self.refusal
        if reason is None:
            return False
        self.state.audit.add(self.state.now_ns(), Severity.WARNING, "desktop", f"{what} not sent: {reason}")
        return True

    def _refused_task(self, what: str) -> asyncio.Task[Any] | None:
        """For commands answered by a task: a task failing with :class:`ReadOnlySession` when refused."""
        reason = self.refusal
        if reason is None:
            return None

        async def refuse() -> Any:
            raise ReadOnlySession(reason)

        return self._spawn(refuse(), what)

    async def drain(self) -> None:
        """Wait until every command sent so far has been delivered (tests, shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    # --- orders --------------------------------------------------------------------------------------------------

    def submit(
        self,
        instrument: str,
        side: Side,
        quantity: Quantity,
        price: Price | None,
        *,
        order_type: OrderType = OrderType.LIMIT,
        time_in_force: TimeInForce = TimeInForce.DAY,
        account: str | None = None,
    ) -> str | None:
        """Send a new order; returns its client order id (None when the session is read-only: nothing is sent)."""
        if self._refused(f"{side.name.lower()} {quantity} {instrument}"):
            return None
        request = SubmitOrder(
            client_order_id=self.client.new_order_id(),
            account=account or self.settings.account,
            instrument=instrument,
            side=side,
            quantity=quantity,
            order_type=order_type,
            price=None if order_type is OrderType.MARKET else price,
            time_in_force=time_in_force,
            ts_ns=self.state.now_ns(),
        )
        self.state.orders.add_pending(request, request.ts_ns)
        self._spawn(self.client.submit(request), f"order {request.client_order_id}")
        return request.client_order_id

    def best_price(self, instrument: str, side: Side) -> Price | None:
        """The price a marketable order of ``side`` would trade at: the best offer to buy, the best bid to sell."""
        market = self.state.market(instrument)
        level = market.best_ask() if side is Side.BUY else market.best_bid()
        return None if level is None else level[0]

    def at_best(self, instrument: str, side: Side, quantity: Quantity | None = None) -> str | None:
        """Buy at the best offer or sell at the best bid with the default quantity; None when that side is empty
        or the session is read-only."""
        if self._refused(f"{side.name.lower()} at best {instrument}"):
            return None
        price = self.best_price(instrument, side)
        if price is None:
            self.state.audit.add(
                self.state.now_ns(), Severity.WARNING, "desktop", f"no {side.name.lower()} price for {instrument}"
            )
            return None
        return self.submit(instrument, side, quantity or self.settings.default_quantity, price)

    def cancel(self, client_order_id: str) -> None:
        """Cancel a working order (refused in a read-only session)."""
        if self._refused(f"cancel {client_order_id}"):
            return
        row = self.state.orders.row_of(client_order_id)
        account = self.state.orders.account(row) if row is not None else self.settings.account
        self.state.orders.mark(client_order_id, OrdStatus.PENDING_CANCEL)
        request = CancelOrder(client_order_id=client_order_id, account=account, ts_ns=self.state.now_ns())
        self._spawn(self.client.cancel(request), f"cancel {client_order_id}")

    def cancel_many(self, client_order_ids: Sequence[str]) -> None:
        """Cancel each of ``client_order_ids`` (refused as a whole, with one audit line, when read-only)."""
        if client_order_ids and self._refused(f"cancel of {len(client_order_ids)} order(s)"):
            return
        for client_order_id in client_order_ids:
            self.cancel(client_order_id)

    def replace(self, client_order_id: str, *, price: Price | None = None, quantity: Quantity | None = None) -> None:
        """Move a working order to ``price`` and/or change its total quantity (refused when read-only)."""
        if self._refused(f"replace {client_order_id}"):
            return
        row = self.state.orders.row_of(client_order_id)
        account = self.state.orders.account(row) if row is not None else self.settings.account
        self.state.orders.mark(client_order_id, OrdStatus.PENDING_REPLACE)
        request = ReplaceOrder(
            client_order_id=client_order_id, account=account, price=price, quantity=quantity, ts_ns=self.state.now_ns()
        )
        self._spawn(self.client.replace(request), f"replace {client_order_id}")

    def cancel_all(self, instrument: str | None = None) -> None:
        """Cancel every working order of the desktop's accounts (of one instrument when given); refused when
        read-only."""
        if self._refused("cancel all"):
            return
        for account in self.state.accounts:
            request = CancelAll(account=account, instrument=instrument, ts_ns=self.state.now_ns())
            self._spawn(self.client.cancel_all(request), f"cancel all {account}")

    # --- emergency -----------------------------------------------------------------------------------------------

    def kill_switch(self, *, ask: bool = True) -> bool:
        """Engage the kill switch engine-side (every order cancelled, new ones refused) after confirmation.

        Refused (False) in a read-only session: observers neither engage nor release it; the engine refuses them
        too."""
        if self._refused("kill switch"):
            return False
        question = "Cancel every working order and block new orders on every account?"
        if ask and self.settings.confirm_dangerous and not self.confirm("Kill switch", question):
            return False
        request = KillSwitch(engaged=True, reason="kill switch from the desktop", ts_ns=self.state.now_ns())
        self._spawn(self.client.kill_switch(request), "kill switch")
        return True

    def release_kill_switch(self) -> None:
        """Release the kill switch (refused when read-only)."""
        if self._refused("release kill switch"):
            return
        request = KillSwitch(engaged=False, reason="released from the desktop", ts_ns=self.state.now_ns())
        self._spawn(self.client.kill_switch(request), "release kill switch")

    def flatten_all(self, *, ask: bool = True) -> bool:
        """Cancel every working order and close every position at market, after confirmation (refused, False,
        when read-only)."""
        if self._refused("flatten all"):
            return False
        question = "Cancel every working order and close every position at market?"
        if ask and self.settings.confirm_dangerous and not self.confirm("Flatten all", question):
            return False
        for account in self.state.accounts:
            self._spawn(self.client.flatten(account, "flatten all from the desktop"), f"flatten {account}")
        return True

    # --- strategies ----------------------------------------------------------------------------------------------

    def start_strategy(
        self, strategy: str, *, account: str, instruments: Sequence[str], params: Mapping[str, Any]
    ) -> asyncio.Task[StrategyState]:
        """Start a strategy instance; the task fails with the reason when it cannot start (or when read-only)."""
        refused = self._refused_task(f"start {strategy}")
        if refused is not None:
            return refused
        coroutine = self.client.start_strategy(strategy, account=account, instruments=instruments, params=params)
        return self._spawn(coroutine, f"start {strategy}")

    def stop_strategy(self, strategy_id: str) -> asyncio.Task[StrategyState]:
        """Stop a strategy instance; the task fails when the session is read-only."""
        refused = self._refused_task(f"stop {strategy_id}")
        if refused is not None:
            return refused
        return self._spawn(self.client.stop_strategy(strategy_id), f"stop {strategy_id}")

    # --- risk limits ---------------------------------------------------------------------------------------------

    def set_risk_limits(self, account: str, changes: RiskLimits) -> asyncio.Task[RiskLimits]:
        """Change ``account``'s live risk limits: check name -> parameters to change (typed values or their text).

        The engine validates the whole change; the task's result is the account's full live limits, or it fails
        with the engine's reason (a ``ValueError``) and nothing changed. The new values also come back as a
        ``RiskLimitsChanged`` event, which is what panels should draw from. Refused when read-only.
        """
        refused = self._refused_task(f"risk limits of {account}")
        if refused is not None:
            return refused
        return self._spawn(self.client.set_risk_limits(account, changes), f"risk limits of {account}")
