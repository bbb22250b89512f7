"""The built-in strategies, registered through the plugin hooks like a third-party plugin's."""

from __future__ import annotations

from core.contracts import StrategySpec
from core.hookspecs import hookimpl
from engine.strategies import market_maker, pairs, twap


@hookimpl
def register_strategies() -> list[StrategySpec]:
    """The market maker, the pairs trader and the TWAP."""
    return [market_maker.SPEC, pairs.SPEC, twap.SPEC]
