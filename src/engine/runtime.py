"""A live engine with its journal, recovery, market-data cache and strategy instances, ready to be driven.

``workstation-engine sim``, the desktop's embedded engine and the FIX server all run the engine this way: open
the journal, rebuild orders and positions from it, expire orders whose simulated venue is gone, then start the
venues and whichever strategies are asked for. Runs on the scheduler it is given (the asyncio one for live use).

Given ``commit_loop`` and trading on the in-process simulated exchange, the journal commits in groups: a
:class:`~engine.storage.commit_group.CommitGroup`, shared with the FIX server's session stores, writes a turn
of the event loop before any byte that depends on it is sent. On a SQLite file the group writes a turn as one
record of a write log beside the database file (``<file>-writes/``, see :mod:`engine.storage.write_log`) and
a process of its own applies it to the database behind; on another database, as one transaction. An engine
routing to an outside venue commits every write before the order can leave the process.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Engine as SqlEngine

from core.clock import Scheduler
from core.commands import KillSwitch
from core.enums import FILL_EXEC_TYPES, ExecType, OrdStatus
from core.events import ExecutionReport
from core.orders import Order, report_for
from core.portfolio import DayStart, Portfolio
from engine.assembly import build_engine
from engine.client.protocol import StrategyState
from engine.config import SIM_VENUE, EngineConfig
from engine.engine import Engine
from engine.market_data import MarketDataCache
from engine.order_manager import OrderManager
from engine.plugins import PluginRegistry
from engine.storage.commit_group import CommitGroup
from engine.storage.db import StorageError, open_database, write_log_beside
from engine.storage.journal import Journal, recover
from engine.storage.trading_days import load_day_starts, save_day_starts
from engine.strategy_host import StrategyHost

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RecoveryReport:
    """What the journal gave back on start: orders, fills, orders expired and problems met."""

    orders: int
    fills: int
    expired: int
    problems: tuple[str, ...]


class _StrategyRun:
    """A strategy instance and the P&L of its own fills."""

    def __init__(self, host: StrategyHost, name: str, portfolio: Portfolio) -> None:
        self.host = host
        self.name = name
        self.portfolio = portfolio


class LiveRuntime:
    """An engine on ``scheduler`` with everything around it. Call :meth:`open`, then :meth:`start`."""

    def __init__(
        self,
        config: EngineConfig,
        registry: PluginRegistry,
        scheduler: Scheduler,
        *,
        db_url: str | None = None,
        seed: int | None = None,
        symbols: Sequence[str] | None = None,
        commit_loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        self.config = config
        self.registry = registry
        self.scheduler = scheduler
        self._db_url = db_url if db_url is not None else config.database_url
        self._seed = seed
        self.symbols = list(symbols) if symbols else [entry.instrument.symbol for entry in config.instruments]
        self._runs: dict[str, _StrategyRun] = {}
        self._run_numbers = itertools.count(1)
        self._engine: Engine | None = None
        self._market: MarketDataCache | None = None
        self._commit_loop = commit_loop
        self._halted = False
        self.journal: Journal | None = None
        self.commit_group: CommitGroup | None = None
        """The group the journal commits in, once open (None: every write is committed on its own)."""

    @property
    def db_url(self) -> str | None:
        """The database URL in use (None: the default SQLite file)."""
        return self._db_url

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            raise RuntimeError("the runtime is not open")
        return self._engine

    @property
    def market(self) -> MarketDataCache:
        if self._market is None:
            raise RuntimeError("the runtime is not open")
        return self._market

    def open(self) -> RecoveryReport:
        """Open the journal, rebuild state from it and build the engine (nothing runs yet)."""
        instruments = self.config.instrument_map()
        database = open_database(self._db_url)
        if self._commit_loop is not None and self.config.venue.name == SIM_VENUE:
            self.commit_group = CommitGroup(
                database, self._commit_loop, on_failure=self._on_commit_failure, write_log=write_log_beside(database)
            )
        self.journal = Journal(database, group=self.commit_group)
        recovered = recover(self.journal, instruments)
        orders = OrderManager()
        for order in recovered.orders.values():
            orders.adopt(order)
        self._engine = build_engine(
            self.config, self.registry, self.scheduler, symbols=self.symbols, journal=self.journal,
            seed=self._seed, orders=orders, portfolio=recovered.portfolio, calendar=self.config.trading_day,
        )  # fmt: skip
        self._begin_day(database)
        self._market = MarketDataCache(self._engine.bus, self.symbols)
        self._engine.bus.subscribe(ExecutionReport, self._book_strategy_fill)
        expired = self._expire_orphans()
        self._recall_done_orders()
        fills = sum(len(order.fills) for order in recovered.orders.values())
        return RecoveryReport(len(recovered.orders), fills, expired, tuple(recovered.problems))

    def start(self) -> None:
        """Start the venues: market data and executions begin to flow."""
        self.engine.start()

    def stop(self) -> None:
        """Stop every strategy (cancelling its orders), then the venues."""
        for run in self._runs.values():
            run.host.stop("stopped with the engine")
        self.engine.stop()
        if self.commit_group is not None:
            self.commit_group.close()

    def _on_commit_failure(self, error: BaseException) -> None:
        """A commit failed or the write log could not be applied: what the engine holds is ahead of what is
        stored, so stop all trading."""
        reason = f"the journal could not be written: {error}"
        log.critical("engaging the kill switch: %s", reason)
        if self._engine is not None and not self._halted:
            self._halted = True
            self._engine.kill_switch(KillSwitch(engaged=True, reason=reason, ts_ns=self.scheduler.now_ns()))

    def _begin_day(self, database: SqlEngine) -> None:
        """Count the day's P&L from where the positions stood when today began (kept in the database), or from
        now when today begins with this start; every later day's start is kept as it begins."""
        engine = self.engine
        assert engine.trading_day is not None
        day = engine.trading_day
        kept = load_day_starts(database, day)

        def keep(day: date, starts: Mapping[tuple[str, str], DayStart]) -> None:
            try:
                save_day_starts(database, day, starts)
            except StorageError as error:
                # The day goes on with the right figures in memory; a restart today would count from then.
                log.critical("%s", error)

        engine.start_day(day, kept)
        if kept is None:
            keep(day, engine.portfolio.day_starts())
        engine.day_listeners.append(keep)

    def _recall_done_orders(self) -> None:
        """Tell each venue of its orders recovered as done (``Venue.recall``), so that a bust of one of their
        fills, heard after the restart, still finds its order."""
        engine = self.engine
        done: dict[str, list[Order]] = {}
        for order in engine.orders:
            if order.is_terminal:
                done.setdefault(order.venue, []).append(order)
        for name, venue in engine.venues.items():
            if done.get(name):
                venue.recall(done[name])

    def _expire_orphans(self) -> int:
        """Hand the recovered working orders to the venue that held them (``Venue.adopt``: a FIX venue takes
        them over and reconciles them at its Logon) and expire the rest, gone with the previous process (the
        simulated exchange keeps nothing)."""
        engine = self.engine
        now = engine.scheduler.now_ns()
        working = list(engine.orders.working())
        adopted: set[str] = set()
        for name, venue in engine.venues.items():
            held = [order for order in working if order.venue == name]
            if held:
                adopted.update(order.order_id for order in venue.adopt(held))
        working = [order for order in working if order.order_id not in adopted]
        for index, order in enumerate(working):
            engine.on_execution(
                report_for(
                    order,
                    exec_id=f"RECOVERY-{now}-{index}",
                    exec_type=ExecType.EXPIRED,
                    ord_status=OrdStatus.EXPIRED,
                    ts_ns=now,
                    reason="venue session ended before the engine restarted",
                )
            )
        return len(working)

    # --- strategies ------------------------------------------------------------------------------------------

    def start_strategy(
        self,
        name: str,
        *,
        account: str,
        instruments: Sequence[str],
        params: Mapping[str, Any],
        strategy_id: str | None = None,
    ) -> StrategyState:
        """Start an instance of strategy ``name``; raises ``ValueError``/``LookupError`` naming the problem."""
        spec = self.registry.strategies.get(name)
        if spec is None:
            raise LookupError(f"no strategy named {name!r}; available: {', '.join(self.registry.strategies)}")
        if account not in self.engine.risk.accounts:
            raise ValueError(f"unknown account {account!r}; configured: {', '.join(self.engine.risk.accounts)}")
        strategy_id = strategy_id or f"{name}-{next(self._run_numbers)}"
        existing = self._runs.get(strategy_id)
        if existing is not None and existing.host.running:
            raise ValueError(f"strategy {strategy_id} is already running")
        host = StrategyHost(
            self.engine, spec, strategy_id=strategy_id, account=account, instruments=tuple(instruments),
            params=params, order_id_prefix=f"{strategy_id}-{self.scheduler.now_ns() // 1_000_000}",
        )  # fmt: skip
        portfolio = Portfolio({symbol: self.engine.instruments[symbol] for symbol in instruments})
        self._runs[strategy_id] = _StrategyRun(host, name, portfolio)
        host.start()
        return self.strategy_state(strategy_id)

    def stop_strategy(self, strategy_id: str, reason: str = "stopped by the user") -> StrategyState:
        """Stop a strategy instance; its working orders are cancelled."""
        run = self._runs.get(strategy_id)
        if run is None:
            raise LookupError(f"no strategy instance {strategy_id!r}")
        run.host.stop(reason)
        return self.strategy_state(strategy_id)

    def strategy_state(self, strategy_id: str) -> StrategyState:
        """The state and own P&L of one strategy instance."""
        run = self._runs[strategy_id]
        host = run.host
        realized = unrealized = fees = 0
        for position in run.portfolio.positions():
            realized += position.realized
            fees += position.fees
            unrealized += position.unrealized(self.engine.portfolio.mark(position.instrument.symbol))
        return StrategyState(
            strategy_id=strategy_id,
            strategy=run.name,
            account=host.account,
            instruments=tuple(instrument.symbol for instrument in host.instruments),
            params=dict(host.resolved_params),
            running=host.running,
            error=host.error,
            realized=realized,
            unrealized=unrealized,
            fees=fees,
            ts_ns=self.scheduler.now_ns(),
        )

    def strategy_states(self) -> list[StrategyState]:
        return [self.strategy_state(strategy_id) for strategy_id in self._runs]

    def _book_strategy_fill(self, report: ExecutionReport) -> None:
        """Book a strategy's fill, or take a busted one out, in that strategy instance's own P&L."""
        if report.strategy_id is None or report.exec_type not in FILL_EXEC_TYPES:
            return
        run = self._runs.get(report.strategy_id)
        if run is not None:
            # A bust of a fill from before this instance (one started again under the same id) is not in its P&L.
            with contextlib.suppress(KeyError):
                run.portfolio.book(report)
