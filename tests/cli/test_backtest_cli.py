"""``workstation-engine backtest``: summary, JSON, reproducibility, stored runs, bad input."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import create_engine

from engine.storage.runs import RunStore
from tests.cli.conftest import run_engine

pytestmark = pytest.mark.slow

KEYS = {"pnl", "fees", "sharpe", "max_drawdown", "trades", "fill_ratio", "events", "events_per_s", "run_id"}


def test_json_summary_is_reproducible_and_stored(db_url: str) -> None:
    args = ("--db", db_url, "backtest", "--strategy", "market-maker", "--seed", "7", "--duration", "120", "--json")
    first = run_engine(*args)
    second = run_engine(*args)
    assert first.returncode == 0, first.stderr
    one, two = json.loads(first.stdout), json.loads(second.stdout)
    assert set(one) == KEYS
    assert one["trades"] > 0
    assert one["events"] > 100_000
    assert one["run_id"] != two["run_id"]
    for volatile in ("events_per_s", "run_id"):
        one.pop(volatile), two.pop(volatile)
    assert one == two, "the same seed must give the same run"
    stored = RunStore(create_engine(db_url)).get(json.loads(first.stdout)["run_id"])
    assert stored is not None
    assert stored.strategy == "market-maker"
    assert stored.seed == 7
    assert stored.metrics["pnl"] == one["pnl"]


def test_another_seed_gives_another_market(db_url: str) -> None:
    base = ("--db", db_url, "backtest", "--strategy", "market-maker", "--duration", "60", "--json")
    seven = json.loads(run_engine(*base, "--seed", "7").stdout)
    eight = json.loads(run_engine(*base, "--seed", "8").stdout)
    assert seven["events"] != eight["events"]


def test_human_summary_and_parameters(db_url: str) -> None:
    result = run_engine(
        "--db", db_url, "backtest", "--strategy", "market-maker", "--duration", "30",
        "--instrument", "MSFT", "--param", "quote_size=200", "--param", "half_spread_ticks=2",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    for label in ("P&L", "Sharpe", "max drawdown", "trades", "fill ratio", "events/s", "run id"):
        assert label in result.stdout
    assert "MSFT" in result.stdout
    assert "quote_size=200" in result.stdout


def test_pairs_and_twap_run(db_url: str) -> None:
    pairs = run_engine(
        "--db",
        db_url,
        "backtest",
        "--strategy",
        "pairs",
        "--instrument",
        "SPY",
        "--instrument",
        "QQQ",
        "--duration",
        "120",
        "--param",
        "window=20",
        "--json",
    )
    assert pairs.returncode == 0, pairs.stderr
    twap = run_engine(
        "--db",
        db_url,
        "backtest",
        "--strategy",
        "twap",
        "--duration",
        "90",
        "--param",
        "quantity=2000",
        "--param",
        "duration_s=60",
        "--json",
    )
    assert twap.returncode == 0, twap.stderr
    assert json.loads(twap.stdout)["trades"] > 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--strategy", "no-such-thing"), "no strategy named 'no-such-thing'"),
        (("--strategy", "market-maker", "--param", "quote_size=-3"), "quote_size"),
        (("--strategy", "market-maker", "--param", "bogus=1"), "unknown parameter"),
        (("--strategy", "market-maker", "--instrument", "XXXX"), "XXXX"),
        (("--strategy", "market-maker", "--param", "novalue"), "key=value"),
    ],
)
def test_bad_arguments_get_a_clear_error(db_url: str, args: tuple[str, ...], message: str) -> None:
    result = run_engine("--db", db_url, "backtest", "--duration", "1", *args)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr
