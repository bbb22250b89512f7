"""Example workstation plugin: the ``example-momentum`` strategy and the ``example_odd_lot`` risk check.

The workstation finds this module through the ``workstation`` entry-point group (see ``pyproject.toml``) and
calls the hooks below once at start-up; each returns specs from which the engine builds its instances.
"""

from __future__ import annotations

from core.contracts import RiskCheckSpec, StrategySpec
from core.hookspecs import hookimpl
from workstation_example_plugin.momentum import MOMENTUM_SPEC
from workstation_example_plugin.odd_lot import ODD_LOT_SPEC

__all__ = ["register_risk_checks", "register_strategies"]


@hookimpl
def register_strategies() -> list[StrategySpec]:
    """The strategies of this plugin."""
    return [MOMENTUM_SPEC]


@hookimpl
def register_risk_checks() -> list[RiskCheckSpec]:
    """The risk checks of this plugin."""
    return [ODD_LOT_SPEC]
