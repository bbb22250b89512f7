"""The backtest lab panel: run strategy plugins on the simulated market in worker processes, compare stored runs,
and sweep two parameters over a grid.

Importing this package does not import the panel's widgets: the worker processes import :mod:`.worker` and
:mod:`.sweep` through it and need no plotting.
"""

from __future__ import annotations

from PySide6 import QtWidgets

from workstation.hookspecs import hookimpl
from workstation.panel import PanelContext, PanelSpec

PANEL_NAME = "backtest-lab"


def _build(context: PanelContext) -> QtWidgets.QWidget:
    from workstation.plugins.backtest_lab.panel import BacktestLabPanel, lab_config_source, lab_database_url

    return BacktestLabPanel(
        context, database_url=lab_database_url(context.client), config_source=lab_config_source(context.client)
    )


@hookimpl
def register_panels() -> list[PanelSpec]:
    """The backtest lab."""
    return [
        PanelSpec(
            name=PANEL_NAME,
            title="Backtest Lab",
            factory=_build,
            area="right",
            visible=True,
            description="Backtest strategy plugins in worker processes: results, stored runs side by side, sweeps.",
        )
    ]
