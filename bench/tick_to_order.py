"""Tick-to-order latency: from a book update entering the engine to the strategy's order leaving the risk
checks toward the venue (every built-in risk check enabled, the default account), p50/p99 in microseconds."""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Mapping, Sequence

import numpy as np

from core.clock import Scheduler
from core.contracts import Strategy, StrategySpec, Venue, VenueListener
from core.enums import ExecType, OrdStatus, Side, TimeInForce
from core.events import BookUpdate
from core.instruments import Instrument
from core.numbers import NANOS_PER_MILLI, Price, Quantity
from core.orders import Order, report_for
from core.params import ParamValue
from engine.clock import SimulatedScheduler
from engine.config import load_config
from engine.engine import Engine
from engine.plugins import load_plugins
from engine.risk.engine import RiskEngine
from engine.routing import DirectRouter
from engine.strategy_host import StrategyHost

EMPTY_DELTAS = np.zeros((0, 3), dtype=np.int64)
EMPTY_DELTAS.flags.writeable = False


class ProbeVenue(Venue):
    """Stamps the moment an order reaches it, then acknowledges and cancels it so nothing accumulates."""

    name = "probe"

    def __init__(self, instruments: Sequence[Instrument]) -> None:
        self._instruments = list(instruments)
        self.arrivals: list[int] = []
        self._listener: VenueListener | None = None
        self._exec = 0

    def instruments(self) -> Sequence[Instrument]:
        return self._instruments

    def start(self, listener: VenueListener, scheduler: Scheduler) -> None:
        self._listener = listener

    def stop(self) -> None:
        self._listener = None

    def submit(self, order: Order) -> None:
        self.arrivals.append(time.perf_counter_ns())
        assert self._listener is not None
        for exec_type, status in ((ExecType.NEW, OrdStatus.NEW), (ExecType.CANCELED, OrdStatus.CANCELED)):
            self._exec += 1
            self._listener.on_execution(
                report_for(
                    order, exec_id=f"P{self._exec}", exec_type=exec_type, ord_status=status, ts_ns=order.created_ns
                )
            )

    def cancel(self, order: Order) -> None:
        raise NotImplementedError

    def replace(self, order: Order, quantity: Quantity, price: Price | None) -> None:
        raise NotImplementedError


class JoinTheBid(Strategy):
    """Sends one limit order at the touch for every book update (buy and sell alternately)."""

    def __init__(self, ctx: object, params: Mapping[str, ParamValue]) -> None:
        super().__init__(ctx, params)  # type: ignore[arg-type]
        self._buy = True

    def on_book(self, update: BookUpdate) -> None:
        price = update.best_bid if self._buy else update.best_ask
        side = Side.BUY if self._buy else Side.SELL
        self._buy = not self._buy
        self.ctx.submit(update.instrument, side, 100, price, time_in_force=TimeInForce.DAY)


def measure(events: int) -> dict[str, float]:
    config = load_config(None)
    instrument = config.instruments[0].instrument
    registry = load_plugins(entry_points=False)
    scheduler = SimulatedScheduler(1_700_000_000 * 1_000_000_000)
    venue = ProbeVenue([instrument])
    engine = Engine(
        instruments={instrument.symbol: instrument},
        scheduler=scheduler,
        risk=RiskEngine(registry.risk_checks, {account.name: account.risk for account in config.accounts}),
        router=DirectRouter(),
        venues={venue.name: venue},
    )
    spec = StrategySpec(name="join", factory=JoinTheBid)
    host = StrategyHost(engine, spec, strategy_id="join", account="main", instruments=(instrument.symbol,), params={})
    engine.start()
    host.start()
    mid = config.instruments[0].start_price
    tick = instrument.tick_size
    updates = [
        BookUpdate(
            instrument=instrument.symbol,
            ts_ns=0,
            sequence=index,
            deltas=EMPTY_DELTAS,
            best_bid=mid - tick * (1 + index % 3),
            best_bid_qty=500,
            best_ask=mid + tick * (1 + index % 2),
            best_ask_qty=400,
        )
        for index in range(events)
    ]
    starts: list[int] = []
    now = scheduler.now_ns()
    for update in updates:
        now += 50 * NANOS_PER_MILLI
        scheduler.run_until(now)
        starts.append(time.perf_counter_ns())
        engine.on_market_data(update)
    latencies = (np.array(venue.arrivals, dtype=np.int64) - np.array(starts, dtype=np.int64)) / 1000.0
    if len(venue.arrivals) != events:
        raise RuntimeError(f"only {len(venue.arrivals)} of {events} orders reached the venue")
    return {
        "p50_us": round(float(np.percentile(latencies, 50)), 2),
        "p99_us": round(float(np.percentile(latencies, 99)), 2),
        "mean_us": round(float(latencies.mean()), 2),
        "orders": events,
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench tick-to-order")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--events", type=int, default=50_000)
    args = parser.parse_args(argv)
    measure(2_000)  # warm-up
    figures = {"benchmark": "tick_to_order", **measure(args.events)}
    if args.json:
        print(json.dumps(figures))
    else:
        print(
            f"tick-to-order over {args.events:,} book updates: p50 {figures['p50_us']} us, "
            f"p99 {figures['p99_us']} us, mean {figures['mean_us']} us"
        )
    return 0
