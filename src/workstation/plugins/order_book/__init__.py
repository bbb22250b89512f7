"""The order book panel plugin: price ladder with click-to-trade, depth heatmap with trades, volume profile."""

from __future__ import annotations

from collections.abc import Sequence

from workstation.hookspecs import hookimpl
from workstation.panel import PanelSpec
from workstation.plugins.order_book.panel import OrderBookPanel

__all__ = ["OrderBookPanel", "register_panels"]


@hookimpl
def register_panels() -> Sequence[PanelSpec]:
    """The ``order-book`` panel, docked on the left by default."""
    return [
        PanelSpec(
            name="order-book",
            title="Order Book",
            factory=OrderBookPanel,
            area="left",
            description="Price ladder with click-to-trade, depth heatmap with trades, and volume profile",
        )
    ]
