"""cocotb tests of trigger.v, fed with the top of book the engine's ``ItchBooks`` keeps from random ITCH streams."""

from __future__ import annotations

import os
import random
from dataclasses import asdict, dataclass

import cocotb
from book_streams import BookStream, GoldenTops, Top
from fields_bench import FieldBench

SEED = int(os.environ.get("FIRMWARE_SEED", "20260101"))
LOCATES = [7, 3, 300, 65535]
LATENCY = 1
INPUTS = ("tracked", "slot", "bid_valid", "bid_price", "ask_valid", "ask_price", "overflow", "error")
OUTPUTS = ("slot", "sell", "price", "shares")


@dataclass(frozen=True, slots=True, kw_only=True)
class Rule:
    """The trigger's configuration."""

    slot: int
    buy_enable: int
    buy_limit: int
    sell_enable: int
    sell_limit: int
    shares: int

    def request(self, top: Top) -> dict[str, int] | None:
        """The order request a top of book must produce: buy at the ask when it is at or below the buy limit,
        else sell at the bid when it is at or above the sell limit; nothing for a flagged or other slot."""
        if not top.tracked or top.slot != self.slot or top.overflow or top.error:
            return None
        if self.buy_enable and top.ask_valid and top.ask_price <= self.buy_limit:
            return {"slot": self.slot, "sell": 0, "price": top.ask_price, "shares": self.shares}
        if self.sell_enable and top.bid_valid and top.bid_price >= self.sell_limit:
            return {"slot": self.slot, "sell": 1, "price": top.bid_price, "shares": self.shares}
        return None


def engine_tops(seed: int, count: int) -> list[Top]:
    """Tops after every message of a random stream (nine prices a side, so some slots overflow)."""
    stream = BookStream(random.Random(seed), LOCATES, prices_per_side=9)
    golden = GoldenTops(LOCATES)
    return [golden.apply(message) for message in stream.messages(count)]


async def check(dut, rule: Rule, tops: list[Top], *, idle: float, stall: float) -> int:
    """Run the tops through the block; requests equal the rule's, each exactly LATENCY after its update."""
    bench = FieldBench(dut, random.Random(SEED), OUTPUTS, idle=idle, stall=stall)
    await bench.start({f"cfg_{name}": value for name, value in asdict(rule).items()}, INPUTS)
    inputs = [{name: getattr(top, name) for name in INPUTS} for top in tops]
    await bench.run(inputs, lambda: True)
    wanted = [(index, rule.request(top)) for index, top in enumerate(tops)]
    produced = [(index, request) for index, request in wanted if request is not None]
    assert bench.taken == [request for _, request in produced]
    assert bench.valid_since == [bench.accepted[index] + LATENCY for index, _ in produced]
    return len(produced)


@cocotb.test()
async def buy_and_sell_rules_on_engine_tops(dut):
    """Both rules on one slot of a random stream, with idle input and backpressure; limits inside the range of
    prices, so the edges (price equal to the limit) come up."""
    tops = engine_tops(SEED, 3000)
    rule = Rule(slot=1, buy_enable=1, buy_limit=103_900, sell_enable=1, sell_limit=103_700, shares=250)
    fired = await check(dut, rule, tops, idle=0.2, stall=0.3)
    edges = sum(1 for top in tops if top.slot == 1 and top.tracked and rule.buy_limit in (top.ask_price,))
    assert fired > 20
    assert edges > 0


@cocotb.test()
async def one_rule_at_full_rate(dut):
    """Sell rule only on another slot, input always valid, output always ready."""
    tops = engine_tops(SEED + 1, 1500)
    rule = Rule(slot=3, buy_enable=0, buy_limit=2**32 - 1, sell_enable=1, sell_limit=166_000, shares=2**32 - 1)
    assert await check(dut, rule, tops, idle=0.0, stall=0.0) > 20


@cocotb.test()
async def disabled_rules_send_nothing(dut):
    """With both rules off nothing leaves, whatever the limits."""
    tops = engine_tops(SEED + 2, 300)
    rule = Rule(slot=0, buy_enable=0, buy_limit=2**32 - 1, sell_enable=0, sell_limit=0, shares=1)
    assert await check(dut, rule, tops, idle=0.0, stall=0.5) == 0
