"""The backtest lab: runs in a worker process with progress and cancel, stored runs side by side, sweeps."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from PySide6 import QtCore, QtWidgets
from pytestqt.qtbot import QtBot

from core.numbers import NANOS_PER_SECOND
from engine.backtest import BacktestRequest, run_backtest
from engine.cli import backtest_record
from engine.config import EngineConfig
from engine.plugins import PluginRegistry
from engine.storage.db import open_database
from engine.storage.runs import RunStore
from tests.workstation.conftest import Desktop
from workstation.plugins.backtest_lab import register_panels
from workstation.plugins.backtest_lab.panel import BacktestLabPanel
from workstation.plugins.backtest_lab.scenario import Scenario
from workstation.plugins.backtest_lab.sweep import (
    SweepAxis,
    SweepSpec,
    grid,
    metric_grid,
    run_sweep,
)

RUN_TIMEOUT = 90.0
"""Generous: a worker process starts a fresh interpreter and imports the engine on a busy machine."""


@pytest.fixture
def lab(desktop: Desktop, qtbot: QtBot, tmp_path: Path) -> Iterator[BacktestLabPanel]:
    panel = BacktestLabPanel(desktop.context, database_url=f"sqlite:///{tmp_path / 'runs.db'}")
    qtbot.addWidget(panel)
    panel.resize(1400, 860)
    panel.show()
    yield panel
    panel.shutdown()


def _set_up(panel: BacktestLabPanel, *, seconds: float, quote_size: int = 100) -> None:
    setup = panel.setup
    setup.strategy.setCurrentText("market-maker")
    setup.set_instruments(["AAPL"])
    setup.seed.setValue(7)
    setup.duration_unit.setCurrentText("s")
    setup.duration.setValue(seconds)
    editor = setup.params_area.widget().findChild(QtWidgets.QSpinBox, "quote_size")
    assert editor is not None
    editor.setValue(quote_size)


def test_the_panel_is_registered_as_the_backtest_lab() -> None:
    (spec,) = register_panels()
    assert (spec.name, spec.title, spec.area, spec.visible) == ("backtest-lab", "Backtest Lab", "right", True)
    assert BacktestLabPanel.linkable is False


def test_a_short_backtest_runs_in_a_worker_and_its_results_are_drawn_and_stored(
    desktop: Desktop, qtbot: QtBot, lab: BacktestLabPanel
) -> None:
    _set_up(lab, seconds=30, quote_size=200)
    qtbot.mouseClick(lab.run_button, QtCore.Qt.MouseButton.LeftButton)
    assert lab.run_state == "running"
    assert not lab.run_button.isEnabled()
    desktop.wait_for(lambda: lab.run_state != "running", timeout=RUN_TIMEOUT)
    assert lab.run_state == "finished", lab.status.text()
    assert lab.progress.value() == lab.progress.maximum()

    outcome = lab.outcome
    assert outcome is not None
    assert outcome.run_id is not None
    assert outcome.result.params["quote_size"] == 200
    x, _y = lab.result_view.plots.equity_curve.getData()
    assert x is not None
    assert len(x) == len(outcome.result.equity) > 20
    _, drawdown = lab.result_view.plots.drawdown_curve.getData()
    assert drawdown is not None
    assert float(np.max(drawdown)) <= 0.0

    metrics = lab.result_view.metrics
    shown = {metrics.cell(row, 0).text: metrics.cell(row, 1).text for row in range(metrics.rowCount())}
    assert shown["Trades"] == str(outcome.result.metrics.trades)
    assert shown["Run id"] == outcome.run_id
    assert shown["P&L"]
    assert shown["Sharpe"]
    assert shown["Fill ratio"].endswith("%")
    assert lab.result_view.fills.rowCount() == outcome.result.metrics.trades > 0
    assert lab.result_view.fills.cell(0, 1).text == "AAPL"

    stored = [lab.runs_view.model.cell(row, 0).text for row in range(lab.runs_view.model.rowCount())]
    assert stored == [outcome.run_id]
    assert "Finished" in lab.status.text()

    lab.grab().save("/tmp/backtest_lab.png")


def test_cancel_stops_a_long_run_and_reports_it_canceled(desktop: Desktop, qtbot: QtBot, lab: BacktestLabPanel) -> None:
    _set_up(lab, seconds=3600)
    qtbot.mouseClick(lab.run_button, QtCore.Qt.MouseButton.LeftButton)
    desktop.wait_for(lambda: lab.progress.value() > 0 or lab.run_state != "running", timeout=RUN_TIMEOUT)
    qtbot.mouseClick(lab.cancel_button, QtCore.Qt.MouseButton.LeftButton)
    desktop.wait_for(lambda: lab.run_state not in ("running", "canceling"), timeout=RUN_TIMEOUT)

    assert lab.run_state == "canceled"
    assert "Canceled" in lab.status.text()
    assert lab.outcome is not None
    assert lab.outcome.canceled
    assert lab.outcome.run_id is None
    assert lab.progress.value() < lab.progress.maximum()
    assert lab.runs_view.model.rowCount() == 0  # a canceled run is not stored
    assert lab.run_button.isEnabled()
    assert not lab.cancel_button.isEnabled()


def test_a_two_by_two_sweep_draws_its_heatmap(desktop: Desktop, qtbot: QtBot, lab: BacktestLabPanel) -> None:
    _set_up(lab, seconds=20)
    sweep = lab.sweep_view
    lab.tabs.setCurrentWidget(sweep)
    sweep.x_axis.param.setCurrentText("half_spread_ticks")
    sweep.x_axis.set_range(1, 2, 2)
    sweep.y_axis.param.setCurrentText("quote_size")
    sweep.y_axis.set_range(100, 200, 2)
    sweep.workers.setValue(2)
    qtbot.mouseClick(sweep.run_button, QtCore.Qt.MouseButton.LeftButton)
    assert sweep.state == "running", sweep.status.text()
    desktop.wait_for(lambda: sweep.state != "running", timeout=RUN_TIMEOUT)

    assert sweep.state == "finished", sweep.status.text()
    assert sweep.progress.value() == sweep.progress.maximum() == 4
    image = sweep.heatmap.image.image
    assert image.shape == (2, 2)
    assert np.isfinite(image).all()
    assert sweep.model.rowCount() == 4
    assert [sweep.model.cell(row, 0).text for row in range(4)] == ["1", "1", "2", "2"]
    assert [sweep.model.cell(row, 1).text for row in range(4)] == ["100", "200", "100", "200"]
    lab.grab().save("/tmp/backtest_lab_sweep.png")


def test_selected_stored_runs_are_compared_side_by_side(
    lab: BacktestLabPanel, config: EngineConfig, registry: PluginRegistry
) -> None:
    store = RunStore(open_database(lab.database_url))
    ids = []
    for half_spread in (1, 3):
        request = BacktestRequest(
            strategy="market-maker",
            instruments=("MSFT",),
            params={"half_spread_ticks": half_spread},
            duration_ns=20 * NANOS_PER_SECOND,
        )
        ids.append(store.save(backtest_record(run_backtest(request, config, registry))))
    lab.runs_view.reload()
    assert lab.runs_view.model.rowCount() == 2

    lab.tabs.setCurrentWidget(lab.runs_view)
    lab.runs_view.select_runs(ids)
    comparison = lab.runs_view.comparison
    assert comparison.columnCount() == 3  # the labels, then one column per run
    assert {comparison.headerData(column, QtCore.Qt.Orientation.Horizontal) for column in (1, 2)} == set(ids)
    labels = [comparison.cell(row, 0).text for row in range(comparison.rowCount())]
    spread = (
        comparison.cell(labels.index("half spread ticks"), 1).text,
        comparison.cell(labels.index("half spread ticks"), 2).text,
    )
    assert sorted(spread) == ["1", "3"]
    assert comparison.cell(labels.index("P&L"), 1).text
    assert len(lab.runs_view.overlay.curves) == 2
    assert all(len(curve.getData()[0]) > 10 for curve in lab.runs_view.overlay.curves)
    lab.grab().save("/tmp/backtest_lab_runs.png")


def test_the_set_up_is_kept_in_the_workspace(desktop: Desktop, qtbot: QtBot, lab: BacktestLabPanel) -> None:
    lab.setup.strategy.setCurrentText("pairs")
    lab.setup.set_instruments(["SPY", "QQQ"])
    lab.setup.seed.setValue(42)
    lab.setup.duration.setValue(5)
    lab.setup.duration_unit.setCurrentText("min")
    saved = lab.save_state()

    other = BacktestLabPanel(desktop.context, database_url=lab.database_url)
    qtbot.addWidget(other)
    other.restore_state(saved)
    request = other.setup.build_request()
    assert (request.strategy, request.instruments, request.seed) == ("pairs", ("SPY", "QQQ"), 42)
    assert request.duration_ns == 300 * NANOS_PER_SECOND
    other.shutdown()


def test_grid_spaces_values_evenly_and_rounds_integer_axes() -> None:
    assert grid(1.0, 2.0, 3) == (1.0, 1.5, 2.0)
    assert grid(5, 9, 1) == (5,)
    assert grid(1, 2, 4, integer=True) == (1, 2)
    with pytest.raises(ValueError, match="at least one step"):
        grid(0, 1, 0)


def test_run_sweep_runs_every_point_on_any_executor(config: EngineConfig, registry: PluginRegistry) -> None:
    spec = SweepSpec(
        base=BacktestRequest(strategy="market-maker", instruments=("AAPL",), duration_ns=10 * NANOS_PER_SECOND),
        x=SweepAxis(param="half_spread_ticks", values=(1, 2)),
        y=SweepAxis(param="quote_size", values=(100,)),
        scenario=Scenario(name="default"),
    )
    seen: list[tuple[int, int]] = []
    with ThreadPoolExecutor(max_workers=1) as executor:
        cells = run_sweep(executor, spec, progress=lambda done, total: seen.append((done, total)), timeout=60)
    assert sorted((cell.i, cell.j) for cell in cells) == [(0, 0), (1, 0)]
    assert all(cell.error == "" and cell.metrics is not None for cell in cells)
    assert seen[-1] == (2, 2)
    assert metric_grid(cells, spec.shape, "trades").shape == (2, 1)


def test_a_stopped_sweep_cancels_the_points_not_started(config: EngineConfig, registry: PluginRegistry) -> None:
    spec = SweepSpec(
        base=BacktestRequest(strategy="market-maker", instruments=("AAPL",), duration_ns=10 * NANOS_PER_SECOND),
        x=SweepAxis(param="half_spread_ticks", values=(1, 2, 3)),
        y=SweepAxis(param="quote_size", values=(100,)),
        scenario=Scenario(name="default"),
    )
    with ThreadPoolExecutor(max_workers=1) as executor:
        cells = run_sweep(executor, spec, should_stop=lambda: True, timeout=60)
    assert len(cells) < spec.total
