"""Backtest runs kept for later: what ran, with which parameters and seed, and what came out.

Run ids are ``bt-000001``, ``bt-000002``, ... in the order runs are saved in one database (more digits once
past 999999). Two processes saving at once cannot get the same id: the id is the table's primary key and a
save that loses the race takes the next number.
"""

from __future__ import annotations

import builtins
import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeAlias

from sqlalchemy import Engine, RowMapping, delete, func, insert, select
from sqlalchemy.exc import IntegrityError

from core.clock import Clock
from core.numbers import Money, Nanos
from engine.storage.models import BacktestRun, table_of

JsonValue: TypeAlias = str | int | float | bool | list["JsonValue"] | dict[str, "JsonValue"] | None
"""A value that JSON stores as is (tuples come back as lists)."""
EquityPoint: TypeAlias = tuple[Nanos, Money]
"""One equity sample: time and account equity in money units."""

MAX_EQUITY_POINTS = 2_000
"""Equity samples kept per run; longer curves are thinned evenly, keeping the first and the last sample."""
RUN_ID_PREFIX = "bt-"
_SAVE_ATTEMPTS = 20

RUNS = table_of(BacktestRun)


@dataclass(frozen=True, slots=True, kw_only=True)
class BacktestRunRecord:
    """One backtest run as stored. ``metrics`` hold money as decimal strings (``"1234.50"``) and counts as
    integers; ``params`` and ``settings`` hold JSON values. ``run_id`` and ``created_ns`` are assigned by
    :meth:`RunStore.save` when left empty (``""`` and 0)."""

    strategy: str
    instruments: tuple[str, ...]
    params: Mapping[str, JsonValue]
    seed: int
    duration_ns: Nanos
    settings: Mapping[str, JsonValue] = field(default_factory=dict)
    metrics: Mapping[str, str | int] = field(default_factory=dict)
    events: int = 0
    equity: tuple[EquityPoint, ...] = ()
    created_ns: Nanos = 0
    run_id: str = ""


class _WallClock:
    def now_ns(self) -> Nanos:
        return time.time_ns()


class RunStore:
    """Saves and finds backtest runs in the ``backtest_runs`` table. ``clock`` stamps ``created_ns``."""

    def __init__(self, engine: Engine, *, clock: Clock | None = None) -> None:
        self._engine = engine
        self._clock: Clock = clock if clock is not None else _WallClock()

    def save(self, run: BacktestRunRecord) -> str:
        """Store ``run`` under a new id and return it. The equity curve is thinned to
        :data:`MAX_EQUITY_POINTS`; a run that is not JSON-storable raises ``TypeError`` naming the field."""
        if run.run_id:
            raise ValueError(f"save assigns run ids; got a record with run_id {run.run_id!r}")
        row = _to_row(run)
        row["created_ns"] = run.created_ns or self._clock.now_ns()
        for _ in range(_SAVE_ATTEMPTS):
            row["run_id"] = self._next_id()
            try:
                with self._engine.begin() as conn:
                    conn.execute(insert(RUNS), row)
            except IntegrityError:
                continue  # another writer took this id first
            return str(row["run_id"])
        raise RuntimeError(f"no free run id after {_SAVE_ATTEMPTS} attempts")

    def get(self, run_id: str) -> BacktestRunRecord | None:
        """The run saved as ``run_id``, or None."""
        with self._engine.connect() as conn:
            row = conn.execute(select(RUNS).where(RUNS.c.run_id == run_id)).first()
        return None if row is None else _from_row(row._mapping)

    def list(self, limit: int = 50, *, with_equity: bool = False) -> builtins.list[BacktestRunRecord]:
        """The latest runs, newest first. Equity curves are left out (empty) unless ``with_equity``."""
        columns = [c for c in RUNS.columns if with_equity or c.name != "equity"]
        query = select(*columns).order_by(RUNS.c.created_ns.desc(), RUNS.c.run_id.desc()).limit(limit)
        with self._engine.connect() as conn:
            rows = conn.execute(query).all()
        return [_from_row(row._mapping) for row in rows]

    def delete(self, run_id: str) -> bool:
        """Remove a run; False when there was none with that id."""
        with self._engine.begin() as conn:
            return conn.execute(delete(RUNS).where(RUNS.c.run_id == run_id)).rowcount > 0

    def _next_id(self) -> str:
        # Zero-padded ids sort as text until they outgrow the padding; ordering by length first keeps it numeric.
        query = (
            select(RUNS.c.run_id)
            .where(RUNS.c.run_id.like(f"{RUN_ID_PREFIX}%"))
            .order_by(func.length(RUNS.c.run_id).desc(), RUNS.c.run_id.desc())
            .limit(1)
        )
        with self._engine.connect() as conn:
            last = conn.execute(query).scalar()
        number = int(last.removeprefix(RUN_ID_PREFIX)) if last else 0
        return f"{RUN_ID_PREFIX}{number + 1:06d}"


def thin_equity(points: Sequence[EquityPoint], max_points: int = MAX_EQUITY_POINTS) -> tuple[EquityPoint, ...]:
    """At most ``max_points`` samples of ``points``, evenly spaced, always keeping the first and the last."""
    if max_points < 2:
        raise ValueError(f"max_points must be at least 2, got {max_points}")
    count = len(points)
    if count <= max_points:
        return tuple(points)
    return tuple(points[i * (count - 1) // (max_points - 1)] for i in range(max_points))


def _to_row(run: BacktestRunRecord) -> dict[str, Any]:
    for name, value in run.metrics.items():
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise TypeError(f"metric {name!r}: expected a decimal string or an integer, got {value!r}")
    row: dict[str, Any] = {
        "strategy": run.strategy,
        "instruments": list(run.instruments),
        "params": dict(run.params),
        "seed": run.seed,
        "duration_ns": run.duration_ns,
        "settings": dict(run.settings),
        "metrics": dict(run.metrics),
        "events": run.events,
        "equity": [[ts, equity] for ts, equity in thin_equity(run.equity)],
    }
    for name in ("params", "settings"):
        try:
            json.dumps(row[name], allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"backtest run {name}: not storable as JSON ({exc})") from None
    return row


def _from_row(row: RowMapping) -> BacktestRunRecord:
    return BacktestRunRecord(
        run_id=row["run_id"],
        created_ns=row["created_ns"],
        strategy=row["strategy"],
        instruments=tuple(row["instruments"]),
        params=row["params"],
        seed=row["seed"],
        duration_ns=row["duration_ns"],
        settings=row["settings"],
        metrics=row["metrics"],
        events=row["events"],
        equity=tuple((ts, equity) for ts, equity in row.get("equity", ())),
    )
