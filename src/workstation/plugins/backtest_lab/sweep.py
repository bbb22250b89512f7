"""Parameter sweeps: one backtest per point of a two-parameter grid, run on any ``concurrent.futures.Executor``.

Plain functions and data, no Qt: :func:`grid` spaces the values of one axis, :func:`submit_sweep` puts every
point on an executor and returns a handle to poll and cancel, :func:`run_sweep` waits for all of them, and
:func:`metric_grid` lays the chosen metric out as a 2-D array for a heatmap. The executor is a
``ProcessPoolExecutor`` by default (:func:`process_executor`), but anything with ``submit`` returning
``concurrent.futures.Future`` objects will do (a thread pool, a Dask client's executor).
"""

from __future__ import annotations

import collections
import math
import multiprocessing
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from dataclasses import dataclass, replace
from decimal import Decimal

import numpy as np
import numpy.typing as npt

from core.numbers import MONEY_DECIMALS
from core.params import Param, ParamValue
from engine.backtest import BacktestRequest, run_backtest
from engine.metrics import RunMetrics
from workstation.plugins.backtest_lab.scenario import Scenario, environment

SWEEP_METRICS: dict[str, str] = {
    "pnl": "P&L",
    "sharpe": "Sharpe",
    "max_drawdown": "Max drawdown",
    "fees": "Fees",
    "trades": "Trades",
    "fill_ratio": "Fill ratio",
}
"""Metrics a sweep can chart: attribute of :class:`RunMetrics` -> label."""
_MONEY_METRICS = frozenset({"pnl", "max_drawdown", "fees"})
_MONEY_UNIT: int = 10**MONEY_DECIMALS


def grid(start: float, stop: float, steps: int, *, integer: bool = False) -> tuple[float, ...] | tuple[int, ...]:
    """``steps`` evenly spaced values from ``start`` to ``stop`` inclusive (one step: ``start`` alone).

    With ``integer`` the values are rounded to whole numbers and repeats dropped, so a grid over a narrow
    integer range may have fewer points than asked for.
    """
    if steps < 1:
        raise ValueError(f"a grid needs at least one step, got {steps}")
    if not (math.isfinite(start) and math.isfinite(stop)):
        raise ValueError(f"grid bounds must be finite, got {start} and {stop}")
    values = [start + (stop - start) * index / (steps - 1) for index in range(steps)] if steps > 1 else [start]
    if not integer:
        return tuple(values)
    whole: list[int] = []
    for value in values:
        rounded = round(value)
        if rounded not in whole:
            whole.append(rounded)
    return tuple(whole)


def axis_values(param: Param, start: float, stop: float, steps: int) -> tuple[ParamValue, ...]:
    """The grid of ``param`` (a numeric parameter) from ``start`` to ``stop``, each value coerced to its type.

    Raises ``core.params.ParamError`` when a value lies outside the parameter's bounds.
    """
    if param.type not in (int, float, Decimal):
        raise ValueError(f"parameter {param.name} is not numeric")
    values = grid(start, stop, steps, integer=param.type is int)
    return tuple(param.coerce(str(value) if param.type is Decimal else value) for value in values)


def metric_value(metrics: RunMetrics, name: str) -> float:
    """A metric as a plain number: money in currency units, the others as they are."""
    if name not in SWEEP_METRICS:
        raise KeyError(f"unknown metric {name!r}; known: {', '.join(SWEEP_METRICS)}")
    value = float(getattr(metrics, name))
    return value / _MONEY_UNIT if name in _MONEY_METRICS else value


@dataclass(frozen=True, slots=True, kw_only=True)
class SweepAxis:
    """One swept parameter and its values."""

    param: str
    values: tuple[ParamValue, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class SweepSpec:
    """A sweep: the base request (strategy, fixed parameters, market, seed, duration), the two axes, the market."""

    base: BacktestRequest
    x: SweepAxis
    y: SweepAxis
    scenario: Scenario

    @property
    def shape(self) -> tuple[int, int]:
        return len(self.x.values), len(self.y.values)

    @property
    def total(self) -> int:
        return len(self.x.values) * len(self.y.values)


@dataclass(frozen=True, slots=True, kw_only=True)
class SweepTask:
    """One grid point to run: its indices on the axes and the full request."""

    i: int
    j: int
    request: BacktestRequest
    scenario: Scenario


@dataclass(frozen=True, slots=True, kw_only=True)
class SweepCell:
    """The outcome of one grid point: its metrics, or the error that stopped it."""

    i: int
    j: int
    params: dict[str, ParamValue]
    metrics: RunMetrics | None = None
    orders: int = 0
    wall_seconds: float = 0.0
    error: str = ""


def sweep_tasks(spec: SweepSpec) -> list[SweepTask]:
    """Every point of the grid, row by row of the first axis."""
    if spec.x.param == spec.y.param:
        raise ValueError(f"the two axes must sweep different parameters, both are {spec.x.param!r}")
    tasks = []
    for i, x in enumerate(spec.x.values):
        for j, y in enumerate(spec.y.values):
            params = {**spec.base.params, spec.x.param: x, spec.y.param: y}
            tasks.append(SweepTask(i=i, j=j, request=replace(spec.base, params=params), scenario=spec.scenario))
    return tasks


def run_cell(task: SweepTask) -> SweepCell:
    """Run one grid point (in whichever process the executor chose)."""
    config, registry = environment(task.scenario.config_path)
    params = dict(task.request.params)
    started = time.perf_counter()
    try:
        result = run_backtest(task.request, config, registry)
    except Exception as error:  # noqa: BLE001 - one failing point must not sink the sweep
        return SweepCell(i=task.i, j=task.j, params=params, error=f"{type(error).__name__}: {error}")
    return SweepCell(
        i=task.i,
        j=task.j,
        params=params,
        metrics=result.metrics,
        orders=result.orders,
        wall_seconds=time.perf_counter() - started,
    )


class SweepHandle:
    """A sweep on its way: poll it for finished points, cancel what has not started.

    Finished points are queued by the executor's callbacks (on whatever thread it uses) and handed out by
    :meth:`poll` on the caller's thread.
    """

    def __init__(self, spec: SweepSpec, futures: Sequence[Future[SweepCell]]) -> None:
        self.spec = spec
        self.total = len(futures)
        self.cells: list[SweepCell] = []
        self.canceled = False
        self._futures = list(futures)
        self._arrived: collections.deque[Future[SweepCell]] = collections.deque()
        self._settled = 0
        for future in self._futures:
            future.add_done_callback(self._arrived.append)

    @property
    def done(self) -> int:
        """Points finished (with metrics or an error)."""
        return len(self.cells)

    @property
    def finished(self) -> bool:
        """Every point has finished or was cancelled, and :meth:`poll` has handed out every result."""
        return self._settled == self.total

    def poll(self) -> list[SweepCell]:
        """Points that finished since the last poll."""
        new: list[SweepCell] = []
        while self._arrived:
            future = self._arrived.popleft()
            self._settled += 1
            if future.cancelled():
                continue
            error = future.exception()
            if error is not None:
                new.append(SweepCell(i=-1, j=-1, params={}, error=f"{type(error).__name__}: {error}"))
            else:
                new.append(future.result())
        self.cells.extend(new)
        return new

    def cancel(self) -> int:
        """Cancel every point not yet started; returns how many were cancelled (running ones finish)."""
        self.canceled = True
        return sum(1 for future in self._futures if future.cancel())


def submit_sweep(executor: Executor, spec: SweepSpec, task: Callable[[SweepTask], SweepCell] = run_cell) -> SweepHandle:
    """Put every point of ``spec`` on ``executor`` and return at once."""
    return SweepHandle(spec, [executor.submit(task, item) for item in sweep_tasks(spec)])


def run_sweep(
    executor: Executor,
    spec: SweepSpec,
    *,
    progress: Callable[[int, int], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    timeout: float = 600.0,
    poll_interval: float = 0.02,
) -> list[SweepCell]:
    """Run the whole sweep and return its points. ``progress(done, total)`` follows each finished point;
    when ``should_stop`` turns true the points not yet started are cancelled. Raises ``TimeoutError`` when
    the sweep has not settled within ``timeout`` seconds."""
    handle = submit_sweep(executor, spec)
    deadline = time.monotonic() + timeout
    while not handle.finished:
        if time.monotonic() > deadline:
            handle.cancel()
            raise TimeoutError(f"sweep not finished within {timeout} s ({handle.done}/{handle.total} points)")
        if handle.poll() and progress is not None:
            progress(handle.done, handle.total)
        if should_stop is not None and not handle.canceled and should_stop():
            handle.cancel()
        time.sleep(poll_interval)
    return handle.cells


def metric_grid(cells: Sequence[SweepCell], shape: tuple[int, int], metric: str) -> npt.NDArray[np.float64]:
    """``metric`` of each point at ``[i, j]``; NaN where a point did not finish."""
    values = np.full(shape, np.nan, dtype=np.float64)
    for cell in cells:
        if cell.metrics is not None and 0 <= cell.i < shape[0] and 0 <= cell.j < shape[1]:
            values[cell.i, cell.j] = metric_value(cell.metrics, metric)
    return values


def process_executor(workers: int) -> ProcessPoolExecutor:
    """A pool of ``workers`` spawned processes (spawn: no Qt state is forked into the workers)."""
    return ProcessPoolExecutor(max_workers=max(1, workers), mp_context=multiprocessing.get_context("spawn"))
