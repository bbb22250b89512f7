"""The matching kernel through MatchingBook: priority, order types, replace rules, STP, L2 deltas, growth."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from engine.sim.matching import (
    BUY,
    EV_ADD,
    EV_CANCEL,
    EV_FILL,
    EV_REPLACE,
    MAX_LEVELS,
    REASON_FOK,
    REASON_IOC,
    REASON_NO_LIQUIDITY,
    REASON_REPLACE_ZERO,
    REASON_STP,
    REASON_USER,
    SELL,
    STP_CANCEL_INCOMING,
    STP_CANCEL_RESTING,
    STP_NONE,
    TIF_FOK,
    TIF_IOC,
    MatchingBook,
)

ROOT = Path(__file__).resolve().parents[2]


def fills(book: MatchingBook) -> list[tuple[int, int, int, int]]:
    """(maker oid, taker oid, price, qty) of every fill since the last clear."""
    ev = book.events
    rows = ev[ev["kind"] == EV_FILL]
    columns = (rows[name].tolist() for name in ("maker_oid", "taker_oid", "price", "qty"))
    return list(zip(*columns, strict=True))


def cancels(book: MatchingBook) -> list[tuple[int, int, int]]:
    """(oid, qty removed, reason) of every cancel since the last clear."""
    ev = book.events
    rows = ev[ev["kind"] == EV_CANCEL]
    return list(zip(rows["oid"].tolist(), rows["qty"].tolist(), rows["reason"].tolist(), strict=True))


def levels(book: MatchingBook, n: int = 10) -> tuple[list[list[int]], list[list[int]]]:
    bids, asks = book.depth(n)
    return bids.tolist(), asks.tolist()


@pytest.fixture
def book() -> MatchingBook:
    return MatchingBook(tick=5, record_anonymous=True)


# --- priority and fills ------------------------------------------------------------------------------------------


def test_better_price_then_earlier_order_fills_first(book: MatchingBook) -> None:
    book.add(1, 1, 0, BUY, 100, 10)
    book.add(2, 2, 0, BUY, 105, 10)
    book.add(3, 3, 0, BUY, 105, 10)
    book.add(4, 4, 0, SELL, 100, 25)
    assert fills(book) == [(2, 4, 105, 10), (3, 4, 105, 10), (1, 4, 100, 5)]
    assert book.order(1) == (BUY, 100, 5, 0)
    assert book.order(2) is None
    assert book.top() == (100, 5, None, 0)


def test_partial_fill_leaves_maker_and_rests_taker_remainder(book: MatchingBook) -> None:
    book.add(1, 1, 0, SELL, 110, 30)
    book.add(2, 2, 0, BUY, 110, 10)
    assert book.order(1) == (SELL, 110, 20, 0)
    book.clear_events()
    book.add(3, 3, 0, BUY, 115, 50)
    ev = book.events
    assert ev["kind"].tolist() == [EV_FILL, EV_ADD]
    assert (ev[0]["maker_leaves"], ev[0]["taker_leaves"]) == (0, 30)
    assert (ev[1]["oid"], ev[1]["price"], ev[1]["qty"]) == (3, 115, 30)
    assert book.top() == (115, 30, None, 0)


def test_sweep_trades_each_level_at_its_resting_price(book: MatchingBook) -> None:
    for i, price in enumerate((100, 105, 110, 120), start=1):
        book.add(i, i, 0, SELL, price, 10)
    book.add(9, 9, 0, BUY, 110, 35)
    assert fills(book) == [(1, 9, 100, 10), (2, 9, 105, 10), (3, 9, 110, 10)]
    assert levels(book) == ([[110, 5]], [[120, 10]])
    match_ids = book.events[book.events["kind"] == EV_FILL]["match_id"].tolist()
    assert match_ids == [1, 2, 3]
    assert set(book.events[book.events["kind"] == EV_FILL]["side"].tolist()) == {BUY}


def test_ioc_takes_what_crosses_and_cancels_the_rest(book: MatchingBook) -> None:
    book.add(1, 1, 0, SELL, 100, 10)
    book.add(2, 2, 0, SELL, 110, 10)
    book.add(3, 3, 0, BUY, 105, 25, TIF_IOC)
    assert fills(book) == [(1, 3, 100, 10)]
    assert cancels(book) == [(3, 15, REASON_IOC)]
    assert book.order(3) is None
    assert levels(book) == ([], [[110, 10]])


def test_fok_fills_completely_when_it_can(book: MatchingBook) -> None:
    book.add(1, 1, 0, SELL, 100, 10)
    book.add(2, 2, 0, SELL, 105, 10)
    book.add(3, 3, 0, BUY, 105, 20, TIF_FOK)
    assert fills(book) == [(1, 3, 100, 10), (2, 3, 105, 10)]
    assert book.resting_orders == 0


def test_fok_that_cannot_fill_does_nothing_but_cancel(book: MatchingBook) -> None:
    book.add(1, 1, 0, SELL, 100, 10)
    book.add(2, 2, 0, SELL, 110, 10)
    book.clear_events()
    book.add(3, 3, 0, BUY, 105, 11, TIF_FOK)
    assert fills(book) == []
    assert cancels(book) == [(3, 11, REASON_FOK)]
    assert levels(book) == ([], [[100, 10], [110, 10]])


def test_market_order_with_and_without_liquidity(book: MatchingBook) -> None:
    book.add(1, 1, 0, BUY, 100, 10)
    book.add(2, 2, 0, BUY, 95, 10)
    book.market(3, 3, 0, SELL, 15)
    assert fills(book) == [(1, 3, 100, 10), (2, 3, 95, 5)]
    book.clear_events()
    book.market(4, 4, 0, SELL, 20)
    assert fills(book) == [(2, 4, 95, 5)]
    ev = book.events
    assert cancels(book) == [(4, 15, REASON_NO_LIQUIDITY)]
    assert ev[ev["kind"] == EV_CANCEL]["price"].tolist() == [0]
    book.clear_events()
    book.market(5, 5, 0, BUY, 7)
    assert cancels(book) == [(5, 7, REASON_NO_LIQUIDITY)]
    assert book.resting_orders == 0


# --- cancel and replace ------------------------------------------------------------------------------------------


def test_cancel_unknown_or_finished_id_is_a_no_op(book: MatchingBook) -> None:
    assert book.cancel(1, 12345) == 0
    book.add(1, 1, 0, BUY, 100, 10)
    assert book.cancel(2, 1) == 10
    assert book.cancel(3, 1) == 0
    assert cancels(book) == [(1, 10, REASON_USER)]
    assert book.top() == (None, 0, None, 0)


def test_replace_down_keeps_priority(book: MatchingBook) -> None:
    book.add(1, 1, 0, BUY, 100, 10)
    book.add(2, 2, 0, BUY, 100, 10)
    assert book.replace(3, 1, 100, 4)
    replaced = book.events[book.events["kind"] == EV_REPLACE]
    assert replaced["kept_priority"].tolist() == [1]
    book.market(4, 9, 0, SELL, 5)
    assert fills(book) == [(1, 9, 100, 4), (2, 9, 100, 1)]


def test_replace_up_or_to_a_new_price_loses_priority(book: MatchingBook) -> None:
    book.add(1, 1, 0, BUY, 100, 10)
    book.add(2, 2, 0, BUY, 100, 10)
    book.add(3, 3, 0, BUY, 100, 10)
    assert book.replace(4, 1, 100, 11)  # more quantity: to the back
    assert book.replace(5, 2, 95, 10)  # new price
    assert book.replace(6, 2, 100, 10)  # and back: behind 3 and 1 now
    assert book.events[book.events["kind"] == EV_REPLACE]["kept_priority"].tolist() == [0, 0, 0]
    book.market(7, 9, 0, SELL, 31)
    assert [maker for maker, *_ in fills(book)] == [3, 1, 2]


def test_replace_to_a_crossing_price_trades_as_aggressor(book: MatchingBook) -> None:
    book.add(1, 1, 0, SELL, 110, 10)
    book.add(2, 2, 0, BUY, 100, 15)
    book.clear_events()
    assert book.replace(3, 2, 110, 15)
    ev = book.events
    assert ev["kind"].tolist() == [EV_REPLACE, EV_FILL]
    assert fills(book) == [(1, 2, 110, 10)]
    assert ev[1]["taker_leaves"] == 5
    assert book.order(2) == (BUY, 110, 5, 0)
    assert book.top() == (110, 5, None, 0)


def test_replace_to_zero_cancels_and_unknown_replace_is_refused(book: MatchingBook) -> None:
    book.add(1, 1, 0, SELL, 110, 10)
    assert book.replace(2, 1, 110, 0)
    assert cancels(book) == [(1, 10, REASON_REPLACE_ZERO)]
    assert not book.replace(3, 1, 110, 5)
    assert not book.replace(3, 777, 110, 5)
    assert book.resting_orders == 0


# --- self-trade prevention ---------------------------------------------------------------------------------------


def test_stp_cancel_incoming_stops_at_own_order() -> None:
    book = MatchingBook(1, stp_mode=STP_CANCEL_INCOMING)
    book.add(1, 1, 0, SELL, 100, 5)
    book.add(2, 2, 7, SELL, 100, 5)
    book.add(3, 3, 0, SELL, 100, 5)
    book.add(4, 4, 7, BUY, 100, 15)
    assert fills(book) == [(1, 4, 100, 5)]
    assert cancels(book) == [(4, 10, REASON_STP)]
    assert book.order(2) == (SELL, 100, 5, 7)
    assert book.order(4) is None


def test_stp_cancel_resting_removes_own_order_and_goes_on() -> None:
    book = MatchingBook(1, stp_mode=STP_CANCEL_RESTING)
    book.add(1, 1, 7, SELL, 100, 5)
    book.add(2, 2, 0, SELL, 100, 5)
    book.add(3, 3, 7, BUY, 100, 8)
    assert cancels(book) == [(1, 5, REASON_STP)]
    assert fills(book) == [(2, 3, 100, 5)]
    assert book.order(3) == (BUY, 100, 3, 7)


def test_stp_off_trades_with_itself_and_owner_zero_never_triggers_it() -> None:
    book = MatchingBook(1, stp_mode=STP_NONE)
    book.add(1, 1, 7, SELL, 100, 5)
    book.add(2, 2, 7, BUY, 100, 5)
    assert fills(book) == [(1, 2, 100, 5)]
    crowd = MatchingBook(1, stp_mode=STP_CANCEL_INCOMING, record_anonymous=True)
    crowd.add(1, 1, 0, SELL, 100, 5)
    crowd.add(2, 2, 0, BUY, 100, 5)
    assert fills(crowd) == [(1, 2, 100, 5)]


def test_fok_counts_only_what_stp_lets_it_trade() -> None:
    book = MatchingBook(1, stp_mode=STP_CANCEL_INCOMING)
    book.add(1, 1, 0, SELL, 100, 5)
    book.add(2, 2, 7, SELL, 100, 5)
    book.add(3, 3, 0, SELL, 101, 5)
    book.add(4, 4, 7, BUY, 101, 10, TIF_FOK)
    assert fills(book) == []
    assert cancels(book) == [(4, 10, REASON_FOK)]
    assert book.resting_orders == 3


# --- events and deltas -------------------------------------------------------------------------------------------


def test_anonymous_adds_are_not_recorded_by_default_but_fills_are() -> None:
    book = MatchingBook(1)
    book.add(1, 1, 0, SELL, 100, 5)
    book.add(2, 2, 3, SELL, 101, 5)
    book.add(3, 3, 0, BUY, 100, 5)
    kinds = book.events["kind"].tolist()
    assert kinds == [EV_ADD, EV_FILL]
    assert book.events[0]["owner"] == 3
    book.clear_events()
    assert len(book.events) == 0


def test_events_carry_the_operation_time(book: MatchingBook) -> None:
    book.add(1_000, 1, 0, SELL, 100, 5)
    book.add(2_000, 2, 0, BUY, 100, 5)
    assert book.events["ts"].tolist() == [1_000, 2_000]


def test_deltas_list_each_touched_level_once_with_its_final_quantity(book: MatchingBook) -> None:
    book.add(1, 1, 0, BUY, 100, 10)
    book.add(2, 2, 0, BUY, 100, 10)
    book.add(3, 3, 0, SELL, 110, 7)
    book.cancel(4, 1)
    assert sorted(book.drain_deltas().tolist()) == [[0, 100, 10], [1, 110, 7]]
    assert book.drain_deltas().shape == (0, 3)
    book.market(5, 5, 0, SELL, 10)
    assert book.drain_deltas().tolist() == [[0, 100, 0]]


def test_a_level_that_changes_side_reports_both_sides(book: MatchingBook) -> None:
    book.add(1, 1, 0, SELL, 100, 5)
    book.drain_deltas()
    book.add(2, 2, 0, BUY, 100, 8)
    assert sorted(book.drain_deltas().tolist()) == [[0, 100, 3], [1, 100, 0]]


def test_event_buffer_grows_for_a_long_sweep() -> None:
    book = MatchingBook(1)
    for i in range(3_000):
        book.add(i, i + 1, 0, SELL, 1_000 + i % 50, 1)
    book.market(10_000, 99_999, 5, BUY, 3_000)
    assert len(fills(book)) == 3_000
    assert book.resting_orders == 0


# --- growth ------------------------------------------------------------------------------------------------------


def test_ladder_moves_and_grows_for_far_prices() -> None:
    book = MatchingBook(100, initial_levels=64)
    book.add(1, 1, 0, BUY, 1_000_000, 5)
    book.add(2, 2, 0, SELL, 1_000_100, 5)
    book.drain_deltas()
    book.add(3, 3, 0, SELL, 1_000_200, 7)  # a pending delta must survive the move below
    book.add(4, 4, 0, BUY, 100, 3)  # ten thousand levels below
    book.add(5, 5, 0, SELL, 90_000_000, 2)  # almost a million levels above
    book.add(6, 6, 0, BUY, -5_000, 1)  # below zero is a price too
    assert book.top() == (1_000_000, 5, 1_000_100, 5)
    bids, asks = levels(book)
    assert bids == [[1_000_000, 5], [100, 3], [-5_000, 1]]
    assert asks == [[1_000_100, 5], [1_000_200, 7], [90_000_000, 2]]
    expected = [[0, -5_000, 1], [0, 100, 3], [1, 1_000_200, 7], [1, 90_000_000, 2]]
    assert sorted(book.drain_deltas().tolist()) == expected
    book.market(7, 7, 0, SELL, 9)
    assert fills(book)[-1] == (6, 7, -5_000, 1)
    book.market(8, 8, 0, BUY, 14)
    assert book.top() == (None, 0, None, 0)


def test_a_price_beyond_the_ladder_limit_is_refused() -> None:
    book = MatchingBook(1)
    book.add(1, 1, 0, BUY, 0, 5)
    with pytest.raises(ValueError, match="too far"):
        book.add(2, 2, 0, SELL, MAX_LEVELS, 5)
    assert book.top() == (0, 5, None, 0)
    book.add(3, 3, 0, SELL, MAX_LEVELS, 5, TIF_IOC)  # never rests, so it needs no ladder
    assert book.resting_orders == 1


def test_id_map_and_order_pool_grow_for_many_arbitrary_ids() -> None:
    rng = np.random.default_rng(5)
    ids = np.unique(rng.integers(-(2**63), 2**63 - 1, size=60_000, dtype=np.int64))
    rng.shuffle(ids)
    book = MatchingBook(1, initial_orders=16)
    for i, oid in enumerate(ids.tolist()):
        book.add(i, oid, 1, BUY if i % 2 else SELL, 1_000 - 1 - i % 40 if i % 2 else 1_000 + i % 40, 1 + i % 3)
    assert book.resting_orders == len(ids)
    assert book.order(int(ids[123])) is not None
    total = sum(book.cancel(0, oid) for oid in ids.tolist())
    assert total == sum(1 + i % 3 for i in range(len(ids)))
    assert book.resting_orders == 0
    assert book.top() == (None, 0, None, 0)


def test_invalid_orders_raise_and_change_nothing(book: MatchingBook) -> None:
    book.add(1, 1, 0, BUY, 100, 5)
    with pytest.raises(ValueError, match="tick"):
        book.add(2, 2, 0, BUY, 101, 5)
    with pytest.raises(ValueError, match="quantity"):
        book.add(2, 2, 0, BUY, 100, 0)
    with pytest.raises(ValueError, match="already resting"):
        book.add(2, 1, 0, SELL, 200, 5)
    with pytest.raises(ValueError, match="side"):
        book.market(2, 2, 0, 2, 5)
    with pytest.raises(ValueError, match="tick"):
        book.replace(2, 1, 102, 5)
    assert levels(book) == ([[100, 5]], [])


# --- the kernel runs the same without the JIT --------------------------------------------------------------------

SCENARIO = """
import json
from engine.sim.flow import BackgroundFlow, FlowParams
from engine.sim.matching import MatchingBook

def scenario():
    out = {}
    for stp in (0, 1, 2):
        book = MatchingBook(5, stp_mode=stp, record_anonymous=True, initial_levels=64, initial_orders=16)
        x = 12345
        oids = []
        for step in range(400):
            x = (x * 1103515245 + 12345) % 2**31
            op, side, owner = x % 7, (x >> 3) % 2, (x >> 5) % 3
            price = 5 * (100 + (x >> 7) % 21 - 10)
            qty = 1 + (x >> 13) % 9
            oid = 1 + step
            if op <= 2:
                book.add(step, oid, owner, side, price, qty, (x >> 17) % 3)
                oids.append(oid)
            elif op == 3:
                book.market(step, oid, owner, side, qty * 3)
            elif op == 4 and oids:
                book.cancel(step, oids[(x >> 9) % len(oids)])
            elif oids:
                book.replace(step, oids[(x >> 9) % len(oids)], price, qty - 2)
        bids, asks = book.depth(50)
        out[stp] = [book.event_rows.tolist(), bids.tolist(), asks.tolist(), book.drain_deltas().tolist()]
    book = MatchingBook(100)
    flow = BackgroundFlow(book, FlowParams(), seed=3, start_ns=0)
    flow.run_until(100_000_000)
    bids, asks = book.depth(20)
    out["flow"] = [flow.messages, flow.fundamental, bids.tolist(), asks.tolist(), book.event_rows.tolist()]
    return json.loads(json.dumps(out))

if __name__ == "__main__":
    print(json.dumps(scenario()))
"""


@pytest.mark.slow
def test_same_results_with_the_jit_disabled() -> None:
    namespace: dict[str, object] = {"__name__": "scenario"}
    exec(SCENARIO, namespace)
    jitted = namespace["scenario"]()  # type: ignore[operator]
    env = {**os.environ, "NUMBA_DISABLE_JIT": "1"}
    done = subprocess.run(
        [sys.executable, "-c", SCENARIO], env=env, cwd=ROOT, capture_output=True, text=True, check=True, timeout=300
    )
    plain = json.loads(done.stdout)
    assert plain == jitted
