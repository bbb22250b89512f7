"""Built-in strategies: a market maker, a pairs trader and a TWAP execution algorithm.

Each module declares its parameters (``PARAMS``), its strategy class and the :class:`core.contracts.StrategySpec`
(``SPEC``) that :mod:`engine.strategies.plugin` registers.
"""

from __future__ import annotations

from engine.strategies.market_maker import MarketMaker
from engine.strategies.pairs import PairsTrader
from engine.strategies.twap import Twap

__all__ = ["MarketMaker", "PairsTrader", "Twap"]
