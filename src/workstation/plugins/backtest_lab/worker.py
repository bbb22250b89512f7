"""One backtest in its own process: progress and the result come back over a queue, a shared event cancels it.

Nothing here imports Qt. The child process builds its own engine configuration and plugin registry from the
scenario (a configuration file or the defaults), runs :func:`engine.backtest.run_backtest`, stores a completed
run in the database and sends the outcome back. The desktop polls :meth:`BacktestProcess.poll` on a timer.
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import queue
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from multiprocessing.context import SpawnProcess
from multiprocessing.synchronize import Event as EventType
from typing import Any, TypeAlias

from core.instruments import Instrument
from engine.backtest import BacktestRequest, BacktestResult, run_backtest
from engine.cli import backtest_record
from engine.storage.db import open_database
from engine.storage.runs import RunStore
from workstation.plugins.backtest_lab.scenario import Scenario, environment

JOIN_TIMEOUT_S = 5.0
"""How long a finished or cancelled worker is given to exit before it is terminated."""


@dataclass(frozen=True, slots=True, kw_only=True)
class LabJob:
    """A backtest to run in a worker: the request, the market, and where a completed run is stored
    (``store`` False: nowhere; ``database_url`` None: the default database)."""

    request: BacktestRequest
    scenario: Scenario
    database_url: str | None = None
    store: bool = True


@dataclass(frozen=True, slots=True, kw_only=True)
class LabOutcome:
    """What a run gave: its result, the stored run id (None when cancelled or not stored), its instruments."""

    result: BacktestResult
    run_id: str | None
    instruments: Mapping[str, Instrument]

    @property
    def canceled(self) -> bool:
        return not self.result.completed


@dataclass(frozen=True, slots=True)
class Progress:
    """Fraction of the run's simulated time done (0 to 1)."""

    fraction: float


@dataclass(frozen=True, slots=True)
class Finished:
    """The run ended, completed or cancelled."""

    outcome: LabOutcome


@dataclass(frozen=True, slots=True)
class Failed:
    """The run could not be carried out; ``message`` says why."""

    message: str


WorkerMessage: TypeAlias = Progress | Finished | Failed


def execute_job(
    job: LabJob,
    *,
    progress: Callable[[float], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> LabOutcome:
    """Run ``job`` here and now; a completed run is stored when the job asks for it."""
    config, registry = environment(job.scenario.config_path)
    result = run_backtest(job.request, config, registry, progress=progress, should_stop=should_stop)
    run_id = None
    if job.store and result.completed:
        run_id = store_result(result, job.database_url, scenario=job.scenario.name)
    instruments = config.instrument_map()
    return LabOutcome(
        result=result, run_id=run_id, instruments={symbol: instruments[symbol] for symbol in result.instruments}
    )


def store_result(result: BacktestResult, database_url: str | None, *, scenario: str) -> str:
    """Save ``result`` as a backtest run (as the command line does, with the scenario noted) and return its id."""
    record = backtest_record(result)
    record = dataclasses.replace(record, settings={**record.settings, "scenario": scenario})
    database = open_database(database_url)
    try:
        return RunStore(database).save(record)
    finally:
        database.dispose()


def _job_main(job: LabJob, messages: Any, stop: EventType) -> None:
    """Entry point of the worker process."""
    try:
        outcome = execute_job(job, progress=lambda fraction: messages.put(Progress(fraction)), should_stop=stop.is_set)
    except Exception as error:  # noqa: BLE001 - anything the run raises is reported to the desktop
        last = traceback.extract_tb(error.__traceback__)[-1:]
        where = f" ({last[0].filename.rsplit('/', 1)[-1]}:{last[0].lineno})" if last else ""
        messages.put(Failed(f"{type(error).__name__}: {error}{where}"))
    else:
        messages.put(Finished(outcome))


class BacktestProcess:
    """A backtest running in a spawned process. Poll it for messages; cancel it through a shared event.

    One instance runs one job. :meth:`poll` returns what arrived since the last call; once it has returned a
    :class:`Finished` or :class:`Failed` message the process is joined and :attr:`done` is true.
    """

    def __init__(self, job: LabJob) -> None:
        context = multiprocessing.get_context("spawn")
        self.job = job
        self._messages = context.Queue()
        self._stop = context.Event()
        self._process: SpawnProcess = context.Process(
            target=_job_main, args=(job, self._messages, self._stop), name="backtest", daemon=True
        )
        self.done = False
        self.canceling = False

    def start(self) -> None:
        """Start the worker process."""
        self._process.start()

    def cancel(self) -> None:
        """Ask the run to stop at its next step; it then reports a cancelled outcome."""
        self.canceling = True
        self._stop.set()

    def poll(self) -> list[WorkerMessage]:
        """Messages that arrived since the last poll (never blocks)."""
        if self.done:
            return []
        received: list[WorkerMessage] = []
        while True:
            try:
                message = self._messages.get_nowait()
            except queue.Empty:
                break
            received.append(message)
            if isinstance(message, Finished | Failed):
                self._finish()
                return received
        if not self._process.is_alive() and self._messages.empty():
            # Died without a word (killed, crashed interpreter): say so rather than wait forever.
            self._finish()
            received.append(Failed(f"the backtest process exited with code {self._process.exitcode}"))
        return received

    def _finish(self) -> None:
        self.done = True
        self._process.join(JOIN_TIMEOUT_S)
        if self._process.is_alive():
            self._process.terminate()
            self._process.join(JOIN_TIMEOUT_S)
        self._messages.close()

    def terminate(self) -> None:
        """Stop the worker at once (the desktop is closing); nothing more is reported."""
        if self.done:
            return
        self.done = True
        self._stop.set()
        if self._process.is_alive():
            self._process.terminate()
            self._process.join(JOIN_TIMEOUT_S)
        self._messages.close()
        self._messages.cancel_join_thread()
