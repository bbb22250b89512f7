"""Synthetic order and fill tables of any size, and the blotter's sort and filter timings on them."""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from core.enums import Liquidity, OrdStatus, Side
from core.instruments import Instrument
from workstation.plugins.blotter.columns import ExecutionColumns, OrderColumns
from workstation.plugins.blotter.views import WORKING, BlotterFilter, BlotterSort, select_rows
from workstation.state.orders import LIQUIDITIES, STATUSES, ExecutionTable, OrderTable

SYMBOLS = ("AAPL", "MSFT", "SPY", "QQQ", "NVDA", "AMZN", "TSLA", "META")
_START_NS = 1_700_000_000_000_000_000
_STATUS_SHARES = (
    (OrdStatus.FILLED, 0.40), (OrdStatus.CANCELED, 0.28), (OrdStatus.NEW, 0.15), (OrdStatus.PARTIALLY_FILLED, 0.06),
    (OrdStatus.REJECTED, 0.05), (OrdStatus.PENDING_NEW, 0.03), (OrdStatus.EXPIRED, 0.03),
)  # fmt: skip


def synthetic_instruments() -> dict[str, Instrument]:
    """The instruments of the synthetic tables (cent ticks, four-decimal prices)."""
    return {symbol: Instrument(symbol=symbol) for symbol in SYMBOLS}


def synthetic_orders(table: OrderTable, rows: int, *, seed: int = 1) -> range:
    """Append ``rows`` plausible orders to ``table`` in one go (consistent quantities, statuses and reasons)."""
    random = np.random.default_rng(seed)
    instruments = np.array([table.instruments.code(symbol) for symbol in SYMBOLS])
    accounts = np.array([table.accounts.code(account) for account in ("main", "hedge")])
    strategies = np.array([table.strategies.code(strategy) for strategy in ("", "market-maker-1", "twap-2")])
    statuses, shares = zip(*_STATUS_SHARES, strict=True)
    status = np.array([STATUSES.index(s) for s in statuses])[
        random.choice(len(statuses), size=rows, p=np.array(shares) / sum(shares))
    ]
    quantity = random.integers(1, 50, size=rows) * 100
    filled_code, partial_code = STATUSES.index(OrdStatus.FILLED), STATUSES.index(OrdStatus.PARTIALLY_FILLED)
    cum = np.where(status == filled_code, quantity, np.where(status == partial_code, quantity // 2, 0))
    working = np.isin(status, [STATUSES.index(s) for s in (OrdStatus.NEW, OrdStatus.PARTIALLY_FILLED,
                                                              OrdStatus.PENDING_NEW)])  # fmt: skip
    price = 1_000_000 + random.integers(0, 20_000, size=rows) * 100
    entered = _START_NS + np.cumsum(random.integers(1_000, 5_000_000, size=rows))
    columns = {
        "entered_ns": entered,
        "updated_ns": entered + random.integers(0, 2_000_000_000, size=rows),
        "instrument": instruments[random.integers(0, len(instruments), size=rows)],
        "account": accounts[random.integers(0, len(accounts), size=rows)],
        "strategy": strategies[random.integers(0, len(strategies), size=rows)],
        "side": random.integers(0, 2, size=rows),
        "order_type": np.full(rows, 1),
        "price": price,
        "quantity": quantity,
        "cum_qty": cum,
        "leaves_qty": np.where(working, quantity - cum, 0),
        "filled_cost": cum * price,
        "status": status,
    }
    start = len(table)
    rejected = STATUSES.index(OrdStatus.REJECTED)
    pending = STATUSES.index(OrdStatus.PENDING_NEW)
    canceled = STATUSES.index(OrdStatus.CANCELED)
    codes = status.tolist()
    reasons = [
        "max_order_quantity: 12000 above the limit 10000" if code == rejected
        else "canceled by user" if code == canceled else ""
        for code in codes
    ]  # fmt: skip
    return table.extend(
        columns,
        client_order_ids=[f"SYN-{start + i}" for i in range(rows)],
        order_ids=["" if code == pending else f"O-{start + i:08d}" for i, code in enumerate(codes)],
        reasons=reasons,
    )


def synthetic_executions(table: ExecutionTable, rows: int, *, seed: int = 2) -> range:
    """Append ``rows`` plausible fills to ``table`` in one go."""
    random = np.random.default_rng(seed)
    instruments = np.array([table.instruments.code(symbol) for symbol in SYMBOLS])
    accounts = np.array([table.accounts.code(account) for account in ("main", "hedge")])
    strategies = np.array([table.strategies.code(strategy) for strategy in ("", "market-maker-1", "twap-2")])
    start = len(table)
    quantity = random.integers(1, 20, size=rows) * 100
    columns = {
        "ts_ns": _START_NS + np.cumsum(random.integers(1_000, 5_000_000, size=rows)),
        "instrument": instruments[random.integers(0, len(instruments), size=rows)],
        "account": accounts[random.integers(0, len(accounts), size=rows)],
        "strategy": strategies[random.integers(0, len(strategies), size=rows)],
        "side": random.integers(0, 2, size=rows),
        "price": 1_000_000 + random.integers(0, 20_000, size=rows) * 100,
        "quantity": quantity,
        "fee": quantity * 30_000,
        "liquidity": random.choice([LIQUIDITIES.index(Liquidity.MAKER), LIQUIDITIES.index(Liquidity.TAKER)], rows),
    }
    return table.extend(
        columns,
        exec_ids=[f"E-{start + i:08d}" for i in range(rows)],
        client_order_ids=[f"SYN-{(start + i) // 2}" for i in range(rows)],
    )


def _best_ms(action: Callable[[], object], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        best = min(best, time.perf_counter() - started)
    return best * 1e3


def benchmark_blotter(rows: int, *, repeat: int = 3) -> dict[str, float]:
    """Milliseconds (best of ``repeat``) to build ``rows`` synthetic orders and to sort and filter them.

    Keys: ``build``; ``first_text_filter`` and ``first_sort_client_order_id``, which include building the search
    lines and the id sort keys once (later filters and sorts reuse them); then ``sort_<column>`` for
    price, entered time, instrument, status and client order id, and ``filter_<what>`` for instrument, side,
    working status, free text, and everything at once.
    """
    table = OrderTable()
    started = time.perf_counter()
    synthetic_orders(table, rows)
    timings = {"build": (time.perf_counter() - started) * 1e3}
    columns = OrderColumns(table, synthetic_instruments())
    everything = BlotterFilter()

    def run(view: BlotterFilter, sort: BlotterSort) -> Callable[[], object]:
        return lambda: select_rows(table, columns, view, sort)

    timings["first_text_filter"] = _best_ms(run(BlotterFilter(text="o-0001"), BlotterSort()), 1)
    first_id_sort = BlotterSort(columns.index("client_order_id"))
    timings["first_sort_client_order_id"] = _best_ms(run(everything, first_id_sort), 1)
    for name in ("price", "entered", "instrument", "status", "client_order_id"):
        timings[f"sort_{name}"] = _best_ms(run(everything, BlotterSort(columns.index(name), descending=True)), repeat)
    filters = {
        "instrument": BlotterFilter(instrument="MSFT"),
        "side": BlotterFilter(side=Side.SELL),
        "working": BlotterFilter(status=WORKING),
        "text": BlotterFilter(text="o-0001"),
        "all": BlotterFilter(instrument="MSFT", side=Side.BUY, status=WORKING, text="syn-1"),
    }
    for name, view in filters.items():
        timings[f"filter_{name}"] = _best_ms(run(view, BlotterSort()), repeat)
    executions = ExecutionTable()
    synthetic_executions(executions, rows)
    execution_columns = ExecutionColumns(executions, synthetic_instruments())
    timings["executions_sort_price"] = _best_ms(
        lambda: select_rows(executions, execution_columns, everything, BlotterSort(execution_columns.index("price"))),
        repeat,
    )
    return timings
