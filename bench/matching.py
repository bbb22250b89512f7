"""Matching benchmark: replay an order stream through the matching kernel, and through peer libraries if present.

Usage: ``python -m bench matching [--stream FILE.npz] [--save-stream FILE.npz] [--runs N] [--json]
[--with-python] [--no-peers] [--exchange-orders N]``.

A stream holds equal-length arrays ``typ`` (int8: 0 add limit, 1 cancel, 2 market), ``oid`` (int64), ``side``
(int8: 0 buy, 1 sell), ``price`` (int64 ticks) and ``qty`` (int64). An add trades against the other side while
it crosses (FIFO within a level, at the resting price) and rests the rest; a cancel of an unknown or finished id
does nothing; a market order takes what it can and drops the rest. Without ``--stream`` a 1M-message stream is
generated from a fixed seed. The kernel replays it in one compiled loop with event recording off (the same
matching functions run); the figure is the median of ``--runs`` timed runs after a warm-up run.

A second figure is the simulated exchange's CPU time per engine order, with the exchange driven the way
``serve`` drives it (see :func:`replay_exchange`); ``--exchange-orders 0`` skips it.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from core.contracts import MarketData, VenueSetup
from core.enums import OrderType, Side, TimeInForce
from core.events import CancelReject, ExecutionReport, TradeTick
from core.numbers import NANOS_PER_MICRO, NANOS_PER_MILLI
from core.orders import Order
from engine.assembly import simulator_settings
from engine.backtest import SESSION_START_NS
from engine.clock import SimulatedScheduler
from engine.config import load_config
from engine.sim._idmap import map_find
from engine.sim._jit import ensure_fresh_cache, jit
from engine.sim._kernel import op_add, op_cancel, op_market
from engine.sim._layout import OK, TIF_DAY
from engine.sim.exchange import SimulatedExchange
from engine.sim.matching import MatchingBook

I64Array = npt.NDArray[np.int64]
I8Array = npt.NDArray[np.int8]
Stream = dict[str, np.ndarray[Any, Any]]

STREAM_FIELDS = ("typ", "oid", "side", "price", "qty")
DEFAULT_MESSAGES = 1_000_000
DEFAULT_SEED = 20_240_601
PYTHON_PREFIX = 100_000
PEER_PREFIX = 200_000
EXCHANGE_ORDERS = 20_000
EXCHANGE_SYMBOL = "AAPL"
EXCHANGE_GAP_NS = 100 * NANOS_PER_MICRO

ensure_fresh_cache(__file__)

# --- stream generation -------------------------------------------------------------------------------------------


@jit
def _build_stream(
    st: I64Array,
    orders: I64Array,
    levels: I64Array,
    bitmap: I64Array,
    touched: I64Array,
    idmap: I64Array,
    events: I64Array,
    draws: npt.NDArray[np.float64],
    sides: I8Array,
    dist: I64Array,
    lots: I64Array,
    mids: I64Array,
    typ: I8Array,
    oid: I64Array,
    side: I8Array,
    price: I64Array,
    qty: I64Array,
    pool: I64Array,
    gen: I64Array,
    start: int,
) -> tuple[int, int]:
    """Write messages from ``start`` on while playing them into a scratch book, so that cancels can pick live
    orders; stops early with ``(status, index)`` when the scratch book must grow."""
    for i in range(start, typ.shape[0]):
        u, pick = draws[i, 0], draws[i, 1]
        s = sides[i]
        size, next_id = gen[0], gen[1]
        if u < 0.48 or (u < 0.90 and size == 0):
            # Mostly passive around the mid; about 3% of adds are marketable limits that cross by a tick.
            d = dist[i]
            mid = mids[i]
            if d < 0:
                d = -2  # the price crosses the mid by one tick
            p = mid - 1 - d if s == 0 else mid + 1 + d
            status = op_add(st, orders, levels, bitmap, touched, idmap, events, i, next_id, 0, s, p, lots[i] * 100, 0)
            if status < OK:
                return status, i
            typ[i], oid[i], side[i], price[i], qty[i] = 0, next_id, s, p, lots[i] * 100
            if map_find(idmap, next_id) >= 0:
                pool[size] = next_id
                gen[0] = size + 1
            gen[1] = next_id + 1
        elif u < 0.90:
            target = -next_id  # about 5% of cancels name an id that is not resting
            if pick >= 0.05:
                for attempt in range(1, 9):
                    if size == 0:
                        break
                    k = int((pick * 1_000_003.0 * attempt) % 1.0 * size)
                    candidate = pool[k]
                    size -= 1
                    pool[k] = pool[size]
                    if map_find(idmap, candidate) >= 0:
                        target = candidate
                        break
            gen[0] = size
            op_cancel(st, orders, levels, bitmap, touched, idmap, events, i, target)
            typ[i], oid[i], side[i], price[i], qty[i] = 1, target, s, 0, 0
        else:
            q = (1 + lots[i] % 3) * 100  # takers are smaller than the resting orders
            op_market(st, orders, levels, bitmap, touched, idmap, events, i, next_id, 0, s, q)
            typ[i], oid[i], side[i], price[i], qty[i] = 2, next_id, s, 0, q
            gen[1] = next_id + 1
    return OK, typ.shape[0]


def generate_stream(n: int = DEFAULT_MESSAGES, seed: int = DEFAULT_SEED) -> Stream:
    """A synthetic stream of ``n`` messages: about 48% adds, 42% cancels (about 95% of them of resting orders),
    10% market orders, prices a few ticks around a slowly drifting mid (a two-sided book with trades)."""
    rng = np.random.default_rng(seed)
    draws = rng.random((n, 2))
    sides = rng.integers(0, 2, n).astype(np.int8)
    dist = rng.geometric(0.3, n).astype(np.int64) - 1
    dist[rng.random(n) < 0.03] = -1
    lots = rng.integers(1, 11, n).astype(np.int64)
    steps = np.where(rng.random(n) < 0.002, rng.choice(np.array([-1, 1], dtype=np.int64), n), 0)
    mids = (100_000 + np.cumsum(steps)).astype(np.int64)
    stream: Stream = {
        name: np.empty(n, dtype=np.int8 if name in ("typ", "side") else np.int64) for name in STREAM_FIELDS
    }
    scratch = MatchingBook(1, record_events=False, initial_orders=1 << 12)
    pool = np.empty(n, dtype=np.int64)
    gen = np.array([0, 1], dtype=np.int64)  # ids in the pool, next id
    start = 0
    while start < n:
        status, start = _build_stream(
            *scratch.arrays, draws, sides, dist, lots, mids,
            stream["typ"], stream["oid"], stream["side"], stream["price"], stream["qty"], pool, gen, start,
        )  # fmt: skip
        if status != OK:
            scratch.resolve(status)
    return stream


def load_stream(path: Path) -> Stream:
    """Read a stream file and check its arrays."""
    with np.load(path) as data:
        missing = [name for name in STREAM_FIELDS if name not in data]
        if missing:
            raise ValueError(f"{path}: missing arrays {', '.join(missing)}")
        stream: Stream = {
            "typ": data["typ"].astype(np.int8),
            "oid": data["oid"].astype(np.int64),
            "side": data["side"].astype(np.int8),
            "price": data["price"].astype(np.int64),
            "qty": data["qty"].astype(np.int64),
        }
    if len({len(a) for a in stream.values()}) != 1:
        raise ValueError(f"{path}: arrays of different lengths")
    return stream


def save_stream(path: Path, stream: Stream) -> None:
    """Write a stream file (``.npz``)."""
    np.savez(path, typ=stream["typ"], oid=stream["oid"], side=stream["side"], price=stream["price"], qty=stream["qty"])


def prefix(stream: Stream, n: int) -> Stream:
    """The first ``n`` messages of a stream."""
    return {name: array[:n] for name, array in stream.items()}


# --- replay through the kernel -----------------------------------------------------------------------------------


@jit
def _replay(
    st: I64Array,
    orders: I64Array,
    levels: I64Array,
    bitmap: I64Array,
    touched: I64Array,
    idmap: I64Array,
    events: I64Array,
    typ: I8Array,
    oid: I64Array,
    side: I8Array,
    price: I64Array,
    qty: I64Array,
    start: int,
) -> tuple[int, int]:
    """Apply messages from ``start`` on; stops early with ``(status, index)`` when the book must grow."""
    for i in range(start, typ.shape[0]):
        kind = typ[i]
        if kind == 0:
            status = op_add(
                st, orders, levels, bitmap, touched, idmap, events, i, oid[i], 0, side[i], price[i], qty[i], TIF_DAY
            )
        elif kind == 1:
            status = op_cancel(st, orders, levels, bitmap, touched, idmap, events, i, oid[i])
        else:
            status = op_market(st, orders, levels, bitmap, touched, idmap, events, i, oid[i], 0, side[i], qty[i])
        if status < OK and status > -10:  # a NEED_* status: grow and resume here; ERR_*: the message is skipped
            return status, i
    return OK, typ.shape[0]


def replay_kernel(stream: Stream, tick: int = 1) -> tuple[float, MatchingBook]:
    """Replay ``stream`` into a fresh book (events off); returns the seconds taken and the book."""
    book = MatchingBook(tick, record_events=False, initial_orders=1 << 12)
    typ, oid, side, price, qty = (stream[name] for name in STREAM_FIELDS)
    start = 0
    began = time.perf_counter()
    while start < typ.shape[0]:
        status, start = _replay(*book.arrays, typ, oid, side, price, qty, start)
        if status != OK:
            book.resolve(status)
    return time.perf_counter() - began, book


def summary(book: MatchingBook) -> dict[str, int]:
    """The stream's outcome: fills, filled quantity, successful cancels and orders left resting."""
    counters = book.counters()
    return {
        "fills": counters["fills"],
        "filled_qty": counters["filled_qty"],
        "cancels": counters["cancels"],
        "resting": book.resting_orders,
    }


# --- peers -------------------------------------------------------------------------------------------------------


def _replay_lightmatchingengine(stream: Stream) -> float:
    engine = importlib.import_module("lightmatchingengine.lightmatchingengine").LightMatchingEngine()
    orders: dict[int, Any] = {}
    rows = zip(*(stream[name].tolist() for name in STREAM_FIELDS), strict=True)
    began = time.perf_counter()
    for kind, oid, side, price, qty in rows:
        if kind == 0:
            order, _ = engine.add_order("X", price, qty, 1 + side)
            if order.leaves_qty:
                orders[oid] = order
        elif kind == 1:
            order = orders.pop(oid, None)
            if order is not None and order.leaves_qty:  # it keeps filled orders in its id map
                engine.cancel_order(order.order_id, "X")
        else:
            order, _ = engine.add_order("X", 0, qty, 1 + side)
            if order.leaves_qty:  # a market order never rests
                engine.cancel_order(order.order_id, "X")
    return time.perf_counter() - began


def _replay_pyorderbook(stream: Stream) -> float:
    pyorderbook = importlib.import_module("pyorderbook")
    logging.getLogger("pyorderbook").setLevel(logging.WARNING)
    book = pyorderbook.Book()
    orders: dict[int, Any] = {}
    far = {0: 10**15, 1: 1}
    rows = zip(*(stream[name].tolist() for name in STREAM_FIELDS), strict=True)
    began = time.perf_counter()
    for kind, oid, side, price, qty in rows:
        if kind == 0:
            order = pyorderbook.Order(pyorderbook.Side.BID if side == 0 else pyorderbook.Side.ASK, "X", price, qty)
            book.match(order)
            if order.quantity:
                orders[oid] = order
        elif kind == 1:
            order = orders.pop(oid, None)
            if order is not None and book.get_order(order.id) is not None:
                book.cancel(order)
        else:
            order = pyorderbook.Order(pyorderbook.Side.BID if side == 0 else pyorderbook.Side.ASK, "X", far[side], qty)
            book.match(order)
            if order.quantity:  # a market order never rests
                book.cancel(order)
    return time.perf_counter() - began


def _replay_cython_orderbook(stream: Stream) -> float:
    peer = importlib.import_module("cython_orderbook")
    Order, OrderSide = peer.Order, peer.OrderSide
    book = peer.OrderBook()
    ids: dict[int, str] = {}
    rows = zip(*(stream[name].tolist() for name in STREAM_FIELDS), strict=True)
    began = time.perf_counter()
    for kind, oid, side, price, qty in rows:
        if kind == 0:
            order = Order(OrderSide.BID if side == 0 else OrderSide.ASK, qty, price)
            book.add_limit_order(order)
            if order.remaining_quantity:
                ids[oid] = order.order_id
        elif kind == 1:
            own = ids.pop(oid, None)
            if own is not None:
                book.cancel_order(own)
        else:
            book.add_market_order(Order(OrderSide.BID if side == 0 else OrderSide.ASK, qty))
    return time.perf_counter() - began


PEERS: dict[str, tuple[str, Callable[[Stream], float]]] = {
    "lightmatchingengine": ("lightmatchingengine", _replay_lightmatchingengine),
    "pyorderbook": ("pyorderbook", _replay_pyorderbook),
    "cython-orderbook": ("cython_orderbook", _replay_cython_orderbook),
}


def run_peers(stream: Stream, n: int = PEER_PREFIX) -> dict[str, float]:
    """msgs/s of every importable peer library on the first ``n`` messages (one run each)."""
    part = prefix(stream, n)
    count = len(part["typ"])
    results: dict[str, float] = {}
    for name, (module, replay) in PEERS.items():
        if importlib.util.find_spec(module) is None:
            continue
        results[name] = count / replay(part)
    return results


# --- the simulated exchange, per engine order --------------------------------------------------------------------


class _CountingListener:
    """Takes the venue's output in the engine's place and only counts it: the engine's own work is not measured.
    It listens to trades, as the engine's market data does."""

    def __init__(self) -> None:
        self.reports = 0
        self.market_data = 0

    def on_execution(self, report: ExecutionReport) -> None:
        self.reports += 1

    def on_cancel_reject(self, reject: CancelReject) -> None:
        pass

    def on_market_data(self, event: MarketData) -> None:
        self.market_data += 1

    def wants(self, event_type: type) -> bool:
        return event_type is TradeTick


def _far_order(index: int, start_price: int, tick: int) -> Order:
    """The ``index``-th engine order: a buy 500 to 401 ticks below ``start_price`` or a sell 500 to 599 above."""
    buy = index % 2 == 1
    price = start_price + (-500 if buy else 500) * tick + index % 100 * tick
    return Order(
        order_id=f"O{index}", client_order_id=f"C{index}", account="main", instrument=EXCHANGE_SYMBOL,
        side=Side.BUY if buy else Side.SELL, order_type=OrderType.LIMIT, quantity=1, price=price,
        time_in_force=TimeInForce.DAY, strategy_id=None, created_ns=0,
    )  # fmt: skip


def replay_exchange(count: int) -> float:
    """CPU seconds per engine order of the simulated exchange driven as ``serve`` drives it.

    AAPL with the default configuration's flow and no order latency; ``count`` limit orders of one share, far
    from the market so that they rest (as ``bench fix`` sends them: buys at 185.00 to 185.99, sells at 195.00 to
    195.99 around an opening at 190.00), arrive every 100 us of simulated time and are each reported New, while
    the background flow runs and the book is published.
    """
    config = load_config(None)
    settings = {**simulator_settings(config, (EXCHANGE_SYMBOL,)), "order_latency_ns": 0}
    entry = next(entry for entry in config.instruments if entry.instrument.symbol == EXCHANGE_SYMBOL)
    tick = entry.instrument.tick_size
    exchange = SimulatedExchange(VenueSetup(instruments={EXCHANGE_SYMBOL: entry.instrument}, settings=settings, seed=3))
    scheduler = SimulatedScheduler(SESSION_START_NS)
    listener = _CountingListener()
    exchange.start(listener, scheduler)
    orders = [_far_order(index, entry.start_price, tick) for index in range(count)]
    now = SESSION_START_NS + NANOS_PER_MILLI
    scheduler.run_until(now)
    began = time.process_time()
    for order in orders:
        now += EXCHANGE_GAP_NS
        exchange.submit(order)
        scheduler.run_until(now)
    seconds = time.process_time() - began
    exchange.stop()
    if listener.reports < count:
        raise AssertionError(f"{listener.reports} reports for {count} orders")
    return seconds / count


# --- pure Python (JIT off) ---------------------------------------------------------------------------------------


def run_python(stream_path: Path) -> float:
    """msgs/s of the same replay with ``NUMBA_DISABLE_JIT=1``, in a subprocess, on a prefix of the stream."""
    env = {**os.environ, "NUMBA_DISABLE_JIT": "1"}
    command = [sys.executable, "-m", "bench.matching", "--internal-python-run", str(stream_path)]
    root = Path(__file__).resolve().parent.parent
    done = subprocess.run(command, env=env, cwd=root, capture_output=True, text=True, check=True)
    return float(done.stdout.strip().splitlines()[-1])


def _python_run(stream_path: Path) -> None:
    part = prefix(load_stream(stream_path), PYTHON_PREFIX)
    seconds, _ = replay_kernel(part)
    print(len(part["typ"]) / seconds)


# --- command line ------------------------------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench matching", description=__doc__.split("\n\n")[0])
    parser.add_argument("--stream", type=Path, help="replay this .npz stream instead of the generated one")
    parser.add_argument("--save-stream", type=Path, help="write the generated stream to this .npz file")
    parser.add_argument("--runs", type=int, default=5, help="timed runs after the warm-up (median reported)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--with-python", action="store_true", help="also time the replay with the JIT off")
    parser.add_argument("--no-peers", action="store_true", help="skip peer libraries even if importable")
    parser.add_argument(
        "--exchange-orders", type=int, default=EXCHANGE_ORDERS, help="engine orders per exchange run (0: skip it)"
    )
    parser.add_argument("--internal-python-run", type=Path, help=argparse.SUPPRESS)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; returns the process exit code."""
    args = _parser().parse_args(argv)
    if args.internal_python_run is not None:
        _python_run(args.internal_python_run)
        return 0
    if args.runs < 1:
        raise SystemExit("--runs must be at least 1")
    stream = load_stream(args.stream) if args.stream else generate_stream()
    if args.save_stream:
        save_stream(args.save_stream, stream)
    messages = len(stream["typ"])
    replay_kernel(prefix(stream, 10_000))  # compile (or load the cache) outside the timed runs
    replay_kernel(stream)
    timings = []
    book = None
    for _ in range(args.runs):
        seconds, book = replay_kernel(stream)
        timings.append(seconds)
    assert book is not None
    seconds = statistics.median(timings)
    result: dict[str, Any] = {"messages": messages, **summary(book), "seconds": seconds}
    result["msgs_per_s"] = messages / seconds
    peers = {} if args.no_peers else run_peers(stream)
    if peers:
        result["peers"] = peers
        result["peer_messages"] = min(messages, PEER_PREFIX)
    if args.with_python:
        result["pure_python_msgs_per_s"] = _python_figure(stream, args.stream)
    if args.exchange_orders > 0:
        replay_exchange(min(args.exchange_orders, 2_000))  # warm-up
        per_order = statistics.median(replay_exchange(args.exchange_orders) for _ in range(args.runs))
        result["exchange_orders"] = args.exchange_orders
        result["exchange_cpu_us_per_order"] = per_order * 1e6
    _report(result, as_json=args.json)
    return 0


def _python_figure(stream: Stream, path: Path | None) -> float:
    if path is not None:
        return run_python(path)
    with tempfile.TemporaryDirectory() as scratch:
        part = Path(scratch) / "stream.npz"
        save_stream(part, prefix(stream, PYTHON_PREFIX))
        return run_python(part)


def _report(result: dict[str, Any], *, as_json: bool) -> None:
    if as_json:
        print(json.dumps(result))
        return
    rate = result["msgs_per_s"]
    print(
        f"matching: {result['messages']:,} msgs in {result['seconds'] * 1e3:.1f} ms = {rate / 1e6:.1f}M msgs/s "
        f"(fills {result['fills']:,}, filled qty {result['filled_qty']:,}, cancels {result['cancels']:,}, "
        f"resting {result['resting']:,})"
    )
    for name, peer_rate in result.get("peers", {}).items():
        print(
            f"  {name}: {peer_rate / 1e3:,.0f}k msgs/s on the first {result['peer_messages']:,} msgs "
            f"(ours {rate / peer_rate:,.0f}x)"
        )
    if "exchange_cpu_us_per_order" in result:
        print(
            f"simulated exchange: {result['exchange_cpu_us_per_order']:.1f} us CPU per engine order "
            f"({result['exchange_orders']:,} resting limit orders, 100 us apart)"
        )
    if "pure_python_msgs_per_s" in result:
        python_rate = result["pure_python_msgs_per_s"]
        print(
            f"  same kernel, JIT off: {python_rate / 1e3:,.1f}k msgs/s on the first {PYTHON_PREFIX:,} msgs "
            f"(JIT {rate / python_rate:,.0f}x)"
        )


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
