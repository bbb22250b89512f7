"""Backtest runs: saved, found again, listed newest first."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import Engine, update

from engine.storage import BacktestRunRecord, RunStore, open_database
from engine.storage.models import BacktestRun
from engine.storage.runs import MAX_EQUITY_POINTS, thin_equity


class StepClock:
    """A clock that advances one second each time it is read."""

    def __init__(self) -> None:
        self.ts_ns = 1_700_000_000_000_000_000

    def now_ns(self) -> int:
        self.ts_ns += 1_000_000_000
        return self.ts_ns


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    database = open_database(f"sqlite:///{tmp_path / 'runs.db'}")
    yield database
    database.dispose()


def a_run(**changes: object) -> BacktestRunRecord:
    run = BacktestRunRecord(
        strategy="market_maker",
        instruments=("AAPL", "MSFT"),
        params={"spread_ticks": 2, "size": 100, "skew": 0.5, "hedge": True, "name": "mm"},
        seed=7,
        duration_ns=3_600 * 10**9,
        settings={"scenario": "calm", "latency_us": [50, 20]},
        metrics={"net_pnl": "1234.56780000", "fees": "-12.5", "fills": 812, "max_drawdown": "-300.10"},
        events=1_234_567,
        equity=tuple((i * 10**9, i * 10**8) for i in range(100)),
    )
    return replace(run, **changes)  # type: ignore[arg-type]


def test_a_saved_run_comes_back_equal_with_its_id_and_time(engine: Engine) -> None:
    store = RunStore(engine, clock=StepClock())
    run = a_run()
    run_id = store.save(run)
    assert run_id == "bt-000001"
    assert store.get(run_id) == replace(run, run_id=run_id, created_ns=1_700_000_001_000_000_000)


def test_ids_increase_and_continue_after_reopening(tmp_path: Path, engine: Engine) -> None:
    store = RunStore(engine)
    assert [store.save(a_run()) for _ in range(3)] == ["bt-000001", "bt-000002", "bt-000003"]
    reopened = open_database(f"sqlite:///{tmp_path / 'runs.db'}")
    assert RunStore(reopened).save(a_run()) == "bt-000004"
    reopened.dispose()


def test_ids_keep_counting_past_six_digits(engine: Engine) -> None:
    store = RunStore(engine)
    first, second = store.save(a_run()), store.save(a_run())
    with engine.begin() as conn:
        conn.execute(update(BacktestRun).where(BacktestRun.run_id == first).values(run_id="bt-999999"))
    assert second == "bt-000002"
    assert store.save(a_run()) == "bt-1000000"
    assert store.save(a_run()) == "bt-1000001"


def test_the_list_is_newest_first_and_limited(engine: Engine) -> None:
    store = RunStore(engine, clock=StepClock())
    ids = [store.save(a_run(seed=seed)) for seed in range(5)]
    listed = store.list(limit=3)
    assert [run.run_id for run in listed] == ids[::-1][:3]
    assert [run.seed for run in listed] == [4, 3, 2]
    assert all(run.equity == () for run in listed)
    assert listed[0].metrics == a_run().metrics
    assert store.list(limit=1, with_equity=True)[0].equity == a_run().equity


def test_an_unknown_run_is_none_and_a_deleted_run_is_gone(engine: Engine) -> None:
    store = RunStore(engine)
    assert store.get("bt-000001") is None
    run_id = store.save(a_run())
    assert store.delete(run_id) is True
    assert store.delete(run_id) is False
    assert store.get(run_id) is None


def test_a_long_equity_curve_is_thinned_keeping_both_ends(engine: Engine) -> None:
    curve = tuple((i, 1_000 + i) for i in range(10 * MAX_EQUITY_POINTS + 3))
    store = RunStore(engine)
    saved = store.get(store.save(a_run(equity=curve)))
    assert saved is not None
    assert len(saved.equity) == MAX_EQUITY_POINTS
    assert saved.equity[0] == curve[0]
    assert saved.equity[-1] == curve[-1]
    assert list(saved.equity) == sorted(set(saved.equity))


def test_thinning_leaves_short_curves_alone() -> None:
    curve = [(1, 10), (2, 20), (3, 30)]
    assert thin_equity(curve, max_points=3) == tuple(curve)
    assert thin_equity(curve, max_points=2) == ((1, 10), (3, 30))


def test_what_cannot_be_stored_is_refused_before_writing(engine: Engine) -> None:
    store = RunStore(engine)
    with pytest.raises(TypeError, match="metric 'sharpe': expected a decimal string or an integer"):
        store.save(a_run(metrics={"sharpe": 1.5}))
    with pytest.raises(TypeError, match="params: not storable as JSON"):
        store.save(a_run(params={"when": object()}))
    with pytest.raises(ValueError, match="save assigns run ids"):
        store.save(a_run(run_id="mine"))
    assert store.list() == []
