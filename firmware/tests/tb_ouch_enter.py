"""cocotb tests of ouch_enter.v: every message byte for byte equal to ``engine.ouch.codec.encode`` of the same
``EnterOrder``."""

from __future__ import annotations

import os
import random
import string
from dataclasses import dataclass
from itertools import pairwise

import cocotb
from axis import from_beat
from fields_bench import FieldBench

from engine.ouch.codec import encode
from engine.ouch.messages import PRICE_MAX, TIF_MARKET_HOURS, EnterOrder

SEED = int(os.environ.get("FIRMWARE_SEED", "20260101"))
LATENCY = 1
BEATS = 7
INPUTS = ("slot", "sell", "price", "shares", "tag")
OUTPUTS = ("tdata", "tkeep", "tlast", "tag")
QUEUE = 16
"""Orders the block holds while a message is being sent."""


def _ascii(text: str, size: int) -> int:
    """A space-padded ASCII field as a port value, first byte in the top lane."""
    return int.from_bytes(text.encode("ascii").ljust(size, b" "), "big")


@dataclass(frozen=True, slots=True, kw_only=True)
class Config:
    """The encoder's configuration, in the engine's field values."""

    stocks: tuple[str, str, str, str]
    token_prefix: str
    firm: str
    tif: int
    display: str
    capacity: str
    iso: str
    min_qty: int
    cross_type: str
    customer_type: str

    def ports(self) -> dict[str, int]:
        """The configuration ports."""
        return {
            "cfg_stocks": sum(_ascii(stock, 8) << (64 * k) for k, stock in enumerate(self.stocks)),
            "cfg_token_prefix": _ascii(self.token_prefix, 4),
            "cfg_firm": _ascii(self.firm, 4),
            "cfg_tif": self.tif,
            "cfg_display": ord(self.display),
            "cfg_capacity": ord(self.capacity),
            "cfg_iso": ord(self.iso),
            "cfg_min_qty": self.min_qty,
            "cfg_cross_type": ord(self.cross_type),
            "cfg_customer_type": ord(self.customer_type),
        }

    def enter_order(self, number: int, order: dict[str, int]) -> EnterOrder:
        """The engine's Enter Order for the ``number``-th order since reset."""
        return EnterOrder(
            order_token=f"{self.token_prefix}{number % 10**10:010d}",
            side="S" if order["sell"] else "B",
            shares=order["shares"],
            stock=self.stocks[order["slot"]],
            price=order["price"],
            time_in_force=self.tif,
            firm=self.firm,
            display=self.display,
            capacity=self.capacity,
            intermarket_sweep=self.iso,
            minimum_quantity=self.min_qty,
            cross_type=self.cross_type,
            customer_type=self.customer_type,
        )


def random_orders(rng: random.Random, count: int) -> list[dict[str, int]]:
    """Orders with random and extreme prices and sizes."""
    return [
        {
            "slot": rng.randrange(4),
            "sell": rng.randrange(2),
            "price": rng.choice((1, PRICE_MAX, rng.randint(0, PRICE_MAX))),
            "shares": rng.choice((1, 2**32 - 1, rng.randint(0, 2**32 - 1))),
        }
        for _ in range(count)
    ]


async def check(dut, config: Config, orders: list[dict[str, int]], *, idle: float, stall: float) -> FieldBench:
    """Run the orders; every message equals the engine's encoding, with its order's tag; its first beat LATENCY
    after the order is taken, or the cycle after the previous message's last beat when it waited."""
    bench = FieldBench(
        dut, random.Random(SEED), OUTPUTS, idle=idle, stall=stall, valid_name="m_tvalid", ready_name="m_tready"
    )
    await bench.start(config.ports(), INPUTS)
    orders = [{**order, "tag": index * 7919 % 2**32} for index, order in enumerate(orders)]
    await bench.run(orders, lambda: len(bench.taken) == BEATS * len(orders))
    assert len(bench.taken) == BEATS * len(orders)
    messages: list[bytes] = []
    current = b""
    for beat in bench.taken:
        current += from_beat(beat["tdata"], beat["tkeep"])
        if beat["tlast"]:
            messages.append(current)
            current = b""
    assert not current
    for number, (got, order) in enumerate(zip(messages, orders, strict=True), start=1):
        want = encode(config.enter_order(number, order))
        assert len(want) == 49
        assert got == want, f"order {number}: got {got!r}, want {want!r}"
    tags = [beat["tag"] for beat in bench.taken]
    assert tags == [order["tag"] for order in orders for _ in range(BEATS)]
    firsts = bench.valid_since[::BEATS]
    ends = [0, *bench.taken_cycles[BEATS - 1 :: BEATS]]
    assert firsts == [max(cycle + LATENCY, end + 1) for cycle, end in zip(bench.accepted, ends, strict=False)]
    return bench


CONFIG = Config(
    stocks=("AAPL", "MSFT", "ZVZZT", "ABCDEFGH"),
    token_prefix="FP01",
    firm="FIRM",
    tif=TIF_MARKET_HOURS,
    display="Y",
    capacity="A",
    iso="N",
    min_qty=0,
    cross_type="N",
    customer_type="R",
)


@cocotb.test()
async def random_orders_with_idle_and_backpressure(dut):
    """Hundreds of random orders over the 4 slots' stocks, idle input and output backpressure."""
    await check(dut, CONFIG, random_orders(random.Random(SEED), 400), idle=0.3, stall=0.3)


@cocotb.test()
async def full_rate(dut):
    """Input always valid, ready always high: one beat every cycle, a message every 7; orders are taken every
    cycle until the queue is full, then one every 7 cycles."""
    bench = await check(dut, CONFIG, random_orders(random.Random(SEED + 1), 100), idle=0.0, stall=0.0)
    start = bench.valid_since[0]
    assert bench.valid_since == list(range(start, start + BEATS * 100))
    first = bench.accepted[0]
    assert bench.accepted[: QUEUE + 1] == list(range(first, first + QUEUE + 1))
    tail = bench.accepted[-50:]
    assert {later - earlier for earlier, later in pairwise(tail)} == {BEATS}


@cocotb.test()
async def other_configuration_values(dut):
    """Every configuration field at other values: full-width alpha fields, all-ones integers, an IOC order."""
    rng = random.Random(SEED + 2)
    letters = string.ascii_uppercase
    config = Config(
        stocks=tuple("".join(rng.choice(letters) for _ in range(8)) for _ in range(4)),  # type: ignore[arg-type]
        token_prefix="ZZ99",
        firm="ABCD",
        tif=2**32 - 1,
        display="N",
        capacity="P",
        iso="Y",
        min_qty=2**32 - 1,
        cross_type="O",
        customer_type="N",
    )
    await check(dut, config, random_orders(rng, 30), idle=0.0, stall=0.5)
