"""The kill switch check: while engaged, every new order and replace of its account is vetoed."""

from __future__ import annotations

from collections.abc import Mapping

from core.commands import ReplaceOrder, SubmitOrder
from core.contracts import RiskCheck, RiskCheckSpec, RiskView
from core.orders import Order
from core.params import Param, ParamValue

CONFIGURED_REASON = "engaged by configuration"


class KillSwitchCheck(RiskCheck):
    """One account's kill switch. The risk engine engages and releases it (for the account or globally);
    cancels never pass through risk checks, so they always go out.

    With the ``engaged`` parameter the account starts blocked (reason: "engaged by configuration").
    """

    name = "kill_switch"
    __slots__ = ("_reason",)

    def __init__(self, params: Mapping[str, ParamValue]) -> None:
        self._reason: str | None = CONFIGURED_REASON if params.get("engaged", False) else None

    @property
    def reason(self) -> str | None:
        """Why the switch is engaged, or None when it is released."""
        return self._reason

    def set_reason(self, reason: str | None) -> None:
        """Engage with ``reason`` or, with None, release."""
        self._reason = reason

    def check_order(self, request: SubmitOrder, view: RiskView) -> str | None:
        """Veto every order while engaged."""
        return None if self._reason is None else f"kill switch engaged: {self._reason}"

    def check_replace(self, order: Order, request: ReplaceOrder, view: RiskView) -> str | None:
        """Veto every replace while engaged."""
        return None if self._reason is None else f"kill switch engaged: {self._reason}"


KILL_SWITCH = RiskCheckSpec(
    name=KillSwitchCheck.name,
    factory=KillSwitchCheck,
    params=(Param(name="engaged", type=bool, default=False, description="start with the account blocked"),),
    description="Blocks every new order and replace while engaged; cancels always pass.",
    enabled_by_default=True,
)
