"""``example_odd_lot``: reject orders whose quantity is not a whole number of round lots."""

from __future__ import annotations

from collections.abc import Mapping

from core.commands import SubmitOrder
from core.contracts import RiskCheck, RiskCheckSpec, RiskView
from core.params import Param, ParamValue


class OddLotCheck(RiskCheck):
    """Lets only multiples of ``round_lot`` through (100 shares by default)."""

    name = "example_odd_lot"

    def __init__(self, round_lot: int) -> None:
        if round_lot <= 0:
            raise ValueError(f"round_lot must be positive, got {round_lot}")
        self.round_lot = round_lot

    def check_order(self, request: SubmitOrder, view: RiskView) -> str | None:
        """None for a whole number of round lots, else the reason to reject."""
        if request.quantity % self.round_lot:
            return f"quantity {request.quantity} is not a multiple of the round lot {self.round_lot}"
        return None


def _build(params: Mapping[str, ParamValue]) -> OddLotCheck:
    return OddLotCheck(int(params["round_lot"]))


ODD_LOT_SPEC = RiskCheckSpec(
    name="example_odd_lot",
    factory=_build,
    params=(Param(name="round_lot", type=int, default=100, minimum=1, description="shares in a round lot"),),
    description="Rejects orders that are not a whole number of round lots.",
)
