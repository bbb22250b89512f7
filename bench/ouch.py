"""OUCH benchmark: encode and decode rates of Enter Order (inbound) and Executed (outbound) messages.

Usage: ``python -m bench ouch [--messages N] [--runs N] [--json]``. Each figure is the median of ``--runs`` timed
runs (after a warm-up) over ``--messages`` distinct messages, in messages per second.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable, Sequence

from engine.ouch.codec import decode_inbound, decode_outbound, encode
from engine.ouch.messages import EnterOrder, Executed, Message

DEFAULT_MESSAGES = 200_000
DEFAULT_RUNS = 5


def _enter_orders(count: int) -> list[EnterOrder]:
    return [
        EnterOrder(
            order_token=f"B{index:013d}", side="BS"[index & 1], shares=100 * (1 + index % 9), stock="AAPL",
            price=1_900_000 + 100 * (index % 50), time_in_force=99_998, firm="FRM1", display="Y", capacity="A",
            intermarket_sweep="N", minimum_quantity=0, cross_type="N", customer_type=" ",
        )
        for index in range(count)
    ]  # fmt: skip


def _executions(count: int) -> list[Executed]:
    return [
        Executed(
            timestamp=34_200_000_000_000 + index, order_token=f"B{index:013d}", executed_shares=100,
            execution_price=1_900_000 + 100 * (index % 50), liquidity_flag="AR"[index & 1], match_number=index,
        )
        for index in range(count)
    ]  # fmt: skip


def _rate(work: Callable[[], object], count: int, runs: int) -> float:
    work()
    timings = []
    for _ in range(runs):
        start = time.perf_counter()
        work()
        timings.append(time.perf_counter() - start)
    return count / statistics.median(timings)


def measure(messages: int, runs: int) -> dict[str, float]:
    """Messages per second of each operation."""
    orders: Sequence[Message] = _enter_orders(messages)
    fills: Sequence[Message] = _executions(messages)
    order_bytes = [encode(message) for message in orders]
    fill_bytes = [encode(message) for message in fills]
    return {
        "enter_order_encode": _rate(lambda: [encode(message) for message in orders], messages, runs),
        "enter_order_decode": _rate(lambda: [decode_inbound(data) for data in order_bytes], messages, runs),
        "executed_encode": _rate(lambda: [encode(message) for message in fills], messages, runs),
        "executed_decode": _rate(lambda: [decode_outbound(data) for data in fill_bytes], messages, runs),
    }


def main(argv: list[str]) -> int:
    """Run the benchmark and print its figures (one JSON object with ``--json``)."""
    parser = argparse.ArgumentParser(prog="python -m bench ouch", description=__doc__)
    parser.add_argument("--messages", type=int, default=DEFAULT_MESSAGES)
    parser.add_argument("--runs", type=int, default=DEFAULT_RUNS)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if args.messages <= 0 or args.runs <= 0:
        parser.error("--messages and --runs must be positive")
    rates = measure(args.messages, args.runs)
    if args.json:
        print(json.dumps({"benchmark": "ouch", "messages": args.messages, "runs": args.runs, "msgs_per_s": rates}))
    else:
        for name, rate in rates.items():
            print(f"{name:20s} {rate:12,.0f} msgs/s")
    return 0
