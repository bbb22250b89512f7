"""The example third-party package, built and installed for real, found through its entry point and run."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from core.commands import SubmitOrder
from core.contracts import Strategy
from core.enums import OrderType, Side, TimeInForce
from core.events import BookUpdate
from core.instruments import Instrument
from core.params import resolve_params
from core.portfolio import Position
from engine.plugins import PluginRegistry, load_plugins

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "workstation-example-plugin"
DIST = "workstation-example-plugin"

pytestmark = pytest.mark.slow


def _uv() -> str | None:
    return os.environ.get("UV") or shutil.which("uv")


@pytest.fixture(scope="session")
def example_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory holding the example package as ``uv pip install --target`` installs it."""
    uv = _uv()
    if uv is None:
        pytest.skip("no uv binary: neither the UV environment variable nor uv on PATH")
    target = tmp_path_factory.mktemp("example-site")
    command = [uv, "pip", "install", "--no-deps", "--python", sys.executable, "--refresh-package", DIST]
    subprocess.run([*command, "--target", str(target), str(EXAMPLE)], check=True, capture_output=True)
    return target


@pytest.fixture
def example(example_site: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[PluginRegistry]:
    """The plugins found through entry points with the example on ``sys.path`` (and no built-ins)."""
    monkeypatch.syspath_prepend(str(example_site))
    yield load_plugins(builtins=False, entry_points=True)
    for name in [name for name in sys.modules if name.startswith("workstation_example_plugin")]:
        del sys.modules[name]


def test_the_example_is_found_through_its_entry_point(example: PluginRegistry) -> None:
    (info,) = (item for item in example.plugins if item.name == "example")

    assert info.source == "entry point workstation-example-plugin 0.1.0"
    assert info.status == "loaded"
    assert info.registers == ("strategy example-momentum", "risk check example_odd_lot")
    momentum = example.strategies["example-momentum"]
    assert [param.name for param in momentum.params] == ["run_length", "quantity", "max_position"]
    assert "example_odd_lot" in example.risk_checks


def test_the_odd_lot_check_rejects_what_is_not_a_round_lot(example: PluginRegistry) -> None:
    spec = example.risk_checks["example_odd_lot"]
    check = spec.factory(resolve_params(spec.params, {}, owner=spec.name))

    def order(quantity: int) -> SubmitOrder:
        return SubmitOrder(
            client_order_id=f"c{quantity}",
            account="acct",
            instrument="ACME",
            side=Side.BUY,
            quantity=quantity,
            order_type=OrderType.LIMIT,
            price=1_000_000,
        )

    view = None  # this check judges the order alone and never consults the engine's state
    assert check.check_order(order(300), view) is None  # type: ignore[arg-type]
    assert check.check_order(order(150), view) == "quantity 150 is not a multiple of the round lot 100"  # type: ignore[arg-type]
    odd_lots_of_ten = spec.factory(resolve_params(spec.params, {"round_lot": "10"}, owner=spec.name))
    assert odd_lots_of_ten.check_order(order(150), view) is None  # type: ignore[arg-type]


class RecordingContext:
    """The part of a strategy context the momentum strategy uses: positions and order submission."""

    strategy_id = "momentum-1"
    account = "acct"

    def __init__(self) -> None:
        self.instrument = Instrument(symbol="ACME")
        self.held = 0
        self.sent: list[tuple[Side, int, int | None, TimeInForce]] = []

    def position(self, instrument: str) -> Position:
        return Position(account=self.account, instrument=self.instrument, quantity=self.held)

    def submit(
        self,
        instrument: str,
        side: Side,
        quantity: int,
        price: int | None = None,
        *,
        order_type: OrderType = OrderType.LIMIT,
        time_in_force: TimeInForce = TimeInForce.DAY,
    ) -> str:
        self.sent.append((side, quantity, price, time_in_force))
        return f"c{len(self.sent)}"


def feed(strategy: Strategy, quotes: list[tuple[int, int]]) -> None:
    for sequence, (bid, ask) in enumerate(quotes):
        update = BookUpdate(
            instrument="ACME",
            ts_ns=sequence,
            sequence=sequence,
            deltas=np.zeros((0, 3), dtype=np.int64),
            best_bid=bid,
            best_bid_qty=100,
            best_ask=ask,
            best_ask_qty=100,
        )
        strategy.on_book(update)


def build(example: PluginRegistry, ctx: RecordingContext, **given: object) -> Strategy:
    spec = example.strategies["example-momentum"]
    return spec.factory(ctx, resolve_params(spec.params, given, owner=spec.name))  # type: ignore[arg-type]


def test_momentum_buys_after_a_run_of_rising_mids_and_sells_after_a_run_of_falls(
    example: PluginRegistry,
) -> None:
    ctx = RecordingContext()
    strategy = build(example, ctx, run_length=3, quantity=100)

    feed(strategy, [(100, 102), (101, 103), (101, 103), (102, 104)])  # two rises, an unchanged mid between
    assert ctx.sent == []
    feed(strategy, [(103, 105)])  # the third rise in a row
    assert ctx.sent == [(Side.BUY, 100, 105, TimeInForce.IOC)]

    feed(strategy, [(102, 104), (101, 103), (102, 104)])  # two falls, then a rise breaks the run
    assert len(ctx.sent) == 1
    feed(strategy, [(101, 103), (100, 102), (99, 101)])
    assert ctx.sent[-1] == (Side.SELL, 100, 99, TimeInForce.IOC)


def test_momentum_stays_within_its_position_limit(example: PluginRegistry) -> None:
    ctx = RecordingContext()
    ctx.held = 200
    strategy = build(example, ctx, run_length=1, quantity=100, max_position=200)

    feed(strategy, [(100, 102), (101, 103)])  # a rise would take the position to 300
    assert ctx.sent == []
    feed(strategy, [(100, 102)])  # a fall takes it to 100
    assert ctx.sent == [(Side.SELL, 100, 100, TimeInForce.IOC)]
