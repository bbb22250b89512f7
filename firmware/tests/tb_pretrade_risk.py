"""cocotb tests of pretrade_risk.v against the engine's own risk checks (``engine.risk``): every verdict, check
by check, and the accepted orders that leave, with the kill switch engaged and released mid-stream."""

from __future__ import annotations

import itertools
import os
import random
from dataclasses import dataclass, field
from decimal import Decimal

import cocotb
from fields_bench import FieldBench

from core.commands import SubmitOrder
from core.enums import Side
from core.instruments import Instrument
from core.portfolio import Position
from engine.risk.checks_account import MaxPosition, OrderRate
from engine.risk.checks_order import MaxOrderQuantity, PriceBand
from engine.risk.kill_switch import KillSwitchCheck

SEED = int(os.environ.get("FIRMWARE_SEED", "20260101"))
LATENCY = 2
"""Cycles from a request's handshake to its verdict, and to its order while the output is taken."""
INPUTS = ("slot", "sell", "price", "shares")
ACCOUNT = "FPGA"
TICK = 100
NS_PER_CYCLE = 1_000_000
"""The model's clock: one cycle is one millisecond, so the rate window in cycles is the engine's window_ms."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Limits:
    """The block's configuration, in the engine's terms (band in ticks of TICK price units)."""

    max_shares: int
    references: tuple[int | None, int | None, int | None, int | None]
    band_ticks: int
    held: tuple[int, int, int, int]
    max_position: int
    rate_max: int
    rate_window: int

    def ports(self) -> dict[str, int]:
        """The configuration ports."""
        return {
            "cfg_max_shares": self.max_shares,
            "cfg_ref_prices": sum((ref or 0) << (32 * k) for k, ref in enumerate(self.references)),
            "cfg_ref_valid": sum(1 << k for k, ref in enumerate(self.references) if ref is not None),
            "cfg_band": self.band_ticks * TICK,
            "cfg_held": sum((held & 0xFFFF_FFFF) << (32 * k) for k, held in enumerate(self.held)),
            "cfg_max_position": self.max_position,
            "cfg_rate_max": self.rate_max,
            "cfg_rate_window": self.rate_window,
            "kill": 0,
            "s_tag": 0,
        }


@dataclass(frozen=True, slots=True)
class _Working:
    """An accepted order as the engine's checks see a working order (nothing filled)."""

    client_order_id: str
    instrument: str
    side: Side
    quantity: int
    cum_qty: int = 0


@dataclass(slots=True)
class EngineRisk:
    """The engine's checks over a view of what the block knows: held positions, accepted orders, the cycle."""

    limits: Limits
    now: int = 0
    working: list[_Working] = field(default_factory=list)
    kill_switch: KillSwitchCheck = field(default_factory=lambda: KillSwitchCheck({}))
    checks: tuple[object, ...] = ()

    def __post_init__(self) -> None:
        limits = self.limits
        self.checks = (
            self.kill_switch,
            MaxOrderQuantity({"limit": limits.max_shares}),
            PriceBand({"max_ticks": limits.band_ticks, "max_percent": Decimal(0), "require_reference": False}),
            MaxPosition({"limit": limits.max_position}),
            OrderRate({"max_orders": limits.rate_max, "window_ms": limits.rate_window}),
        )

    # RiskView
    def now_ns(self) -> int:
        return self.now * NS_PER_CYCLE

    def instrument(self, symbol: str) -> Instrument:
        return Instrument(symbol=symbol, tick_size=TICK)

    def reference_price(self, symbol: str) -> int | None:
        return self.limits.references[int(symbol[1:])]

    def position(self, account: str, symbol: str) -> Position:
        return Position(account=account, instrument=self.instrument(symbol), quantity=self.limits.held[int(symbol[1:])])

    def working_orders(self, account: str) -> list[_Working]:
        return self.working

    def verdict(self, order: dict[str, int], cycle: int, kill: bool) -> int:
        """The reasons bit mask of the engine's checks for one order at ``cycle``; records an acceptance."""
        self.now = cycle
        self.kill_switch.set_reason("engaged" if kill else None)
        request = SubmitOrder(
            client_order_id=f"o{len(self.working)}",
            account=ACCOUNT,
            instrument=f"S{order['slot']}",
            side=Side.SELL if order["sell"] else Side.BUY,
            quantity=order["shares"],
            price=order["price"],
        )
        reasons = 0
        for bit, check in enumerate(self.checks):
            if check.check_order(request, self) is not None:  # type: ignore[attr-defined]
                reasons |= 1 << bit
        if reasons == 0:
            self.checks[-1].on_accepted(request, self)  # type: ignore[attr-defined]
            self.working.append(_Working(request.client_order_id, request.instrument, request.side, request.quantity))
        return reasons


def random_orders(rng: random.Random, limits: Limits, count: int) -> list[dict[str, int]]:
    """Orders around the band and size edges: prices at the reference +- the band +- 1 unit or tick, and others."""
    band = limits.band_ticks * TICK
    orders = []
    for _ in range(count):
        slot = rng.randrange(4)
        ref = limits.references[slot] or 500_000
        offset = rng.choice(
            (band - 1, band, band + 1, band - TICK, band + TICK, 0, rng.randint(0, 3 * band), rng.randint(0, 2**20))
        )
        price = max(1, ref + offset if rng.random() < 0.5 else ref - offset)
        shares = rng.choice((1, limits.max_shares, limits.max_shares + 1, rng.randint(1, limits.max_shares + 50)))
        orders.append({"slot": slot, "sell": rng.randrange(2), "price": price, "shares": shares})
    return orders


async def check(dut, limits: Limits, orders: list[dict[str, int]], kill_cycles: set[int], *, idle: float, stall: float):
    """Run orders through the block with ``kill`` high on the given edges; compare with the engine's checks."""
    verdicts: list[tuple[int, int, int]] = []

    def before_edge(bench: FieldBench) -> None:
        if int(dut.v_valid.value):
            verdicts.append((bench.cycle, int(dut.v_accept.value), int(dut.v_reasons.value)))
        dut.kill.value = int(bench.cycle + 1 in kill_cycles)

    bench = FieldBench(dut, random.Random(SEED), INPUTS, idle=idle, stall=stall, before_edge=before_edge)
    await bench.start(limits.ports(), INPUTS)
    await bench.run(orders, lambda: True)
    model = EngineRisk(limits)
    want = [
        model.verdict(order, cycle, cycle in kill_cycles) for order, cycle in zip(orders, bench.accepted, strict=True)
    ]
    assert [cycle for cycle, _, _ in verdicts] == [cycle + LATENCY for cycle in bench.accepted]
    assert [(accept, reasons) for _, accept, reasons in verdicts] == [(int(w == 0), w) for w in want]
    passed = [order for order, reasons in zip(orders, want, strict=True) if reasons == 0]
    assert bench.taken == passed, "the accepted orders, and only they, leave the block"
    starts = [cycle + LATENCY for cycle, reasons in zip(bench.accepted, want, strict=True) if reasons == 0]
    first_seen = bench.valid_since
    if stall == 0.0:
        assert first_seen == starts
    else:  # an order waits behind the ones not yet taken
        assert all(seen >= start for seen, start in zip(first_seen, starts, strict=True))
    return want


LIMITS = Limits(
    max_shares=1000,
    references=(1_000_000, 2_500_000, 64_000, None),
    band_ticks=50,
    held=(0, 15_000, -15_000, 3_000),
    max_position=20_000,
    rate_max=6,
    rate_window=40,
)


@cocotb.test()
async def random_orders_with_kill_switch_mid_stream(dut):
    """Seeded random orders on the band, size, position and rate edges; the kill switch engaged for two spells
    (one a single cycle) while orders flow; idle input and output backpressure."""
    rng = random.Random(SEED)
    orders = random_orders(rng, LIMITS, 3000)
    kill = set(range(2000, 2600)) | {4000}
    want = await check(dut, LIMITS, orders, kill, idle=0.5, stall=0.3)
    for bit in range(5):
        assert any(reasons == 1 << bit for reasons in want), f"check {bit} never vetoed alone"
    assert sum(1 for reasons in want if reasons == 0) > 300


@cocotb.test()
async def band_edges_one_tick_either_side(dut):
    """Only the band limits: the reference +- the band passes, one tick or one price unit beyond is vetoed,
    inside passes; a slot without a reference is not judged."""
    limits = Limits(
        max_shares=2**32 - 1,
        references=(1_000_000, 2**31, 10_000, None),
        band_ticks=50,
        held=(0, 0, 0, 0),
        max_position=2**32 - 1,
        rate_max=16,
        rate_window=1,
    )
    band = limits.band_ticks * TICK
    orders = []
    for slot in range(4):
        ref = limits.references[slot] or 1_000_000
        for delta in (
            -band - TICK,
            -band - 1,
            -band,
            -band + 1,
            -band + TICK,
            0,
            band - TICK,
            band,
            band + 1,
            band + TICK,
        ):
            orders.append({"slot": slot, "sell": slot % 2, "price": ref + delta, "shares": 1})
    want = await check(dut, limits, orders, set(), idle=0.0, stall=0.0)
    assert [reasons == 0 for reasons in want[:10]] == [False, False, True, True, True, True, True, True, False, False]
    assert all(reasons == 0 for reasons in want[30:])


@cocotb.test()
async def order_rate_at_full_rate(dut):
    """Input always valid, output always ready: the rate limit admits its quota per window, exactly."""
    limits = Limits(
        max_shares=1000,
        references=(None, None, None, None),
        band_ticks=1,
        held=(0, 0, 0, 0),
        max_position=2**31,
        rate_max=3,
        rate_window=10,
    )
    rng = random.Random(SEED + 1)
    orders = [{"slot": rng.randrange(4), "sell": rng.randrange(2), "price": 100, "shares": 10} for _ in range(200)]
    want = await check(dut, limits, orders, {50, 51, 52}, idle=0.0, stall=0.0)
    assert sum(1 for reasons in want if reasons == 0) >= 200 // 10 * 3 - 3


@cocotb.test()
async def position_limit_back_to_back(dut):
    """Requests every cycle in runs on one side: each acceptance lowers the room the next request of the run,
    judged the very next cycle, must be compared with; zero-share orders on a side beyond the limit are vetoed,
    orders that only reduce a position beyond it pass."""
    limits = Limits(
        max_shares=2**32 - 1,
        references=(None, None, None, None),
        band_ticks=1,
        held=(0, 1_500, -2_500, 2_500),
        max_position=2_000,
        rate_max=16,
        rate_window=1,
    )
    rng = random.Random(SEED + 2)
    orders = []
    for _ in range(80):
        slot, sell = rng.randrange(4), rng.randrange(2)
        for _ in range(rng.randint(2, 8)):
            orders.append({"slot": slot, "sell": sell, "price": 100, "shares": rng.choice((0, 1, 50, 300, 700))})
    want = await check(dut, limits, orders, set(), idle=0.0, stall=0.0)
    accepted_then_vetoed = sum(1 for before, after in itertools.pairwise(want) if before == 0 and after == 1 << 3)
    assert accepted_then_vetoed >= 5, "too few runs cross the limit from one request to the next"
