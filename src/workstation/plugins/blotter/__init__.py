"""The blotter: every order and fill of the session in virtual tables over the columnar order and execution tables.

Also :func:`benchmark_blotter`, the sort and filter timings on a synthetic million-row table.
"""

from __future__ import annotations

from workstation.hookspecs import hookimpl
from workstation.panel import PanelSpec
from workstation.plugins.blotter.bench import benchmark_blotter, synthetic_executions, synthetic_orders
from workstation.plugins.blotter.models import BlotterModel, ExecutionModel, OrderModel
from workstation.plugins.blotter.panel import BlotterPanel
from workstation.plugins.blotter.views import DONE, WORKING, BlotterFilter, BlotterSort, select_rows

__all__ = [
    "DONE",
    "WORKING",
    "BlotterFilter",
    "BlotterModel",
    "BlotterPanel",
    "BlotterSort",
    "ExecutionModel",
    "OrderModel",
    "benchmark_blotter",
    "register_panels",
    "select_rows",
    "synthetic_executions",
    "synthetic_orders",
]


@hookimpl
def register_panels() -> list[PanelSpec]:
    """The blotter, docked at the bottom."""
    return [
        PanelSpec(
            name="blotter", title="Blotter", factory=BlotterPanel, area="bottom",
            description="Orders and executions: filter, sort, cancel, export to CSV",
        )
    ]  # fmt: skip
