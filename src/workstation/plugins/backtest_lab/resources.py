"""What the lab holds outside Qt: the backtest process, the sweep executor, the database connection pool.

Kept in a plain object so that the panel can release them when its widget is destroyed or the application quits,
without touching a Qt object that may already be gone.
"""

from __future__ import annotations

from concurrent.futures import Executor
from dataclasses import dataclass

from sqlalchemy import Engine

from workstation.plugins.backtest_lab.worker import BacktestProcess


@dataclass(slots=True)
class LabResources:
    """The lab's processes and connections; :meth:`release` frees them all (safe to call more than once)."""

    process: BacktestProcess | None = None
    executor: Executor | None = None
    executor_workers: int = 0
    database: Engine | None = None

    def release_executor(self, *, wait: bool = False) -> None:
        """Shut the sweep executor down, cancelling what has not started."""
        executor, self.executor, self.executor_workers = self.executor, None, 0
        if executor is not None:
            executor.shutdown(wait=wait, cancel_futures=True)

    def release(self) -> None:
        """Stop the backtest process, shut the executor down and close the database."""
        process, self.process = self.process, None
        if process is not None:
            process.terminate()
        self.release_executor()
        database, self.database = self.database, None
        if database is not None:
            database.dispose()
