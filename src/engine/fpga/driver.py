"""The tick-to-trade firmware's register map and a driver that speaks the engine's units.

The firmware (``firmware/rtl/tick_to_trade.v``) tracks the top of book of up to 4 ITCH stock locates, turns the
top of one of them into orders by a limit rule, runs the engine's order-level risk checks in hardware and sends
OUCH Enter Orders. :class:`FirmwareDriver` writes its configuration from instruments, a trigger rule and an
account's risk table, and reads its counters, over any :class:`RegisterBus` (a memory-mapped device, a simulator).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import IntEnum
from typing import Protocol

from core.instruments import Instrument
from core.numbers import Price, Quantity
from engine.config import RiskParam
from engine.ouch.messages import TIF_IOC

SLOTS = 4
"""Book slots of the firmware (stock locates tracked at once)."""
RATE_DEPTH = 16
"""Largest ``max_orders`` of the order-rate check the firmware holds."""
U32 = 0xFFFF_FFFF
FIRMWARE_CHECKS = frozenset({"kill_switch", "max_order_quantity", "price_band", "max_position", "order_rate"})
"""The engine's risk checks the firmware enforces; an account's other checks are not applied to its orders."""


class Reg(IntEnum):
    """Register byte addresses (32-bit registers; see firmware/README.md for every field)."""

    VERSION = 0x00
    CONTROL = 0x04  # bit 0 kill switch, 1 buy rule on, 2 sell rule on; writing bit 31 clears the counters
    SLOT = 0x08
    BUY_LIMIT = 0x0C
    SELL_LIMIT = 0x10
    SHARES = 0x14
    BOOK_ENABLE = 0x18
    REF_VALID = 0x1C
    LOCATE = 0x20  # + 4 x slot
    REF_PRICE = 0x30  # + 4 x slot
    HELD = 0x40  # + 4 x slot, two's complement
    MAX_SHARES = 0x50
    BAND = 0x54
    MAX_POSITION = 0x58
    RATE_MAX = 0x5C
    RATE_WINDOW = 0x60
    TOKEN_PREFIX = 0x64
    FIRM = 0x68
    TIF = 0x6C
    MIN_QTY = 0x70
    ORDER_FLAGS = 0x74  # display, capacity, intermarket sweep, cross type from bit 0 up
    CUSTOMER_TYPE = 0x78
    STOCK = 0x80  # + 8 x slot: first 4 bytes, then the last 4 at + 4
    PACKETS = 0xC0
    GAPS = 0xC4
    MALFORMED = 0xC8
    MESSAGES = 0xCC
    REQUESTS = 0xD0
    REJECTED = 0xD4
    SENT = 0xD8
    LATENCY = 0xDC
    CLOCK_PERIOD = 0xE0  # picoseconds: the order-rate window is counted in cycles of this clock
    BOOK_FLAGS = 0xE4  # bits 3:0 overflow of slots 0..3, bits 7:4 error


CONTROL_KILL = 1 << 0
CONTROL_BUY = 1 << 1
CONTROL_SELL = 1 << 2
CONTROL_CLEAR = 1 << 31


class RegisterBus(Protocol):
    """Access to the firmware's 32-bit registers by byte address (the firmware's AXI4-Lite port, or anything
    that reaches it)."""

    def read(self, addr: int) -> int:
        """The register at ``addr``."""
        ...

    def write(self, addr: int, value: int) -> None:
        """Write ``value`` (0 .. 2**32-1) to the register at ``addr``."""
        ...


@dataclass(frozen=True, slots=True, kw_only=True)
class BookSlot:
    """An instrument the firmware tracks, and its ITCH stock locate."""

    instrument: Instrument
    locate: int


@dataclass(frozen=True, slots=True, kw_only=True)
class TriggerRule:
    """Buy ``quantity`` at the best ask once it is at or below ``buy_at_or_below``; sell at the best bid once it
    is at or above ``sell_at_or_above`` (None turns a side off). Prices in ticks of the instrument's scale."""

    symbol: str
    quantity: Quantity
    buy_at_or_below: Price | None = None
    sell_at_or_above: Price | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderEntry:
    """The OUCH fields the firmware puts in every Enter Order; ``token_prefix`` leads each order token and must
    differ between restarts of one trading day (the number after it restarts at 1)."""

    token_prefix: str
    firm: str
    time_in_force: int = TIF_IOC
    display: str = "Y"
    capacity: str = "A"
    intermarket_sweep: str = "N"
    minimum_quantity: int = 0
    cross_type: str = "N"
    customer_type: str = "R"


@dataclass(frozen=True, slots=True, kw_only=True)
class FirmwareCounters:
    """The firmware's counters (32 bits, wrapping) and the latency of its last order in clock cycles (from the
    parser taking the triggering message to the first Enter Order beat)."""

    packets: int
    gaps: int
    malformed: int
    messages: int
    order_requests: int
    orders_rejected: int
    orders_sent: int
    last_latency_cycles: int


@dataclass(frozen=True, slots=True, kw_only=True)
class BookFlags:
    """Instruments whose firmware book is no longer exact: ``overflow`` went beyond its limits (levels per side,
    order table), ``error`` saw a message the engine's book rejects. Both are sticky until a reset; the firmware
    sends no order for a flagged instrument."""

    overflow: frozenset[str]
    error: frozenset[str]


class FirmwareDriver:
    """Configures the tick-to-trade firmware over ``bus``.

    Time windows become clock cycles: at ``clock_hz`` when given, else at the clock period the firmware reports
    in its ``CLOCK_PERIOD`` register (picoseconds). Change the configuration while no market data flows in: the
    blocks read it without synchronization.
    """

    __slots__ = ("_bus", "_clock_hz", "_slots")

    def __init__(self, bus: RegisterBus, *, clock_hz: int | None = None) -> None:
        if clock_hz is not None and clock_hz <= 0:
            raise ValueError(f"clock_hz must be positive, got {clock_hz}")
        self._bus = bus
        self._clock_hz = clock_hz
        self._slots: tuple[BookSlot, ...] = ()

    def version(self) -> int:
        """The firmware's version register."""
        return self._bus.read(Reg.VERSION)

    def clock_period_ps(self) -> int:
        """The firmware's clock period in picoseconds, as its ``CLOCK_PERIOD`` register reports it."""
        return self._bus.read(Reg.CLOCK_PERIOD)

    def window_cycles(self, window_ms: int) -> int:
        """A window of ``window_ms`` milliseconds in clock cycles (rounded down)."""
        if self._clock_hz is not None:
            return window_ms * self._clock_hz // 1000
        period = self.clock_period_ps()
        if period <= 0:
            raise ValueError("the firmware reports no clock period: give clock_hz")
        return window_ms * 1_000_000_000 // period

    # --- configuration ---------------------------------------------------------------------------------------

    def configure_books(self, slots: Sequence[BookSlot]) -> None:
        """Track these instruments (at most 4) in slot order; the other slots are disabled. Each instrument's
        symbol is the stock of its Enter Orders."""
        if len(slots) > SLOTS:
            raise ValueError(f"the firmware tracks {SLOTS} instruments, got {len(slots)}")
        symbols = [slot.instrument.symbol for slot in slots]
        if len(set(symbols)) != len(symbols):
            raise ValueError(f"an instrument is given twice: {symbols}")
        enable = 0
        for index, slot in enumerate(slots):
            if not 0 <= slot.locate <= 0xFFFF:
                raise ValueError(f"{slot.instrument.symbol}: locate {slot.locate} is not 16-bit")
            stock = _alpha(slot.instrument.symbol, 8)
            self._bus.write(Reg.LOCATE + 4 * index, slot.locate)
            self._bus.write(Reg.STOCK + 8 * index, int.from_bytes(stock[:4], "big"))
            self._bus.write(Reg.STOCK + 8 * index + 4, int.from_bytes(stock[4:], "big"))
            enable |= 1 << index
        self._bus.write(Reg.BOOK_ENABLE, enable)
        self._slots = tuple(slots)

    def set_trigger(self, rule: TriggerRule) -> None:
        """Watch ``rule.symbol`` (configured by :meth:`configure_books`) with the rule's limits."""
        index = self._slot_of(rule.symbol)
        _check_u32(rule.quantity, "quantity")
        control = self._bus.read(Reg.CONTROL) & CONTROL_KILL
        self._bus.write(Reg.SLOT, index)
        self._bus.write(Reg.SHARES, rule.quantity)
        if rule.buy_at_or_below is not None:
            self._bus.write(Reg.BUY_LIMIT, _check_u32(rule.buy_at_or_below, "buy_at_or_below"))
            control |= CONTROL_BUY
        if rule.sell_at_or_above is not None:
            self._bus.write(Reg.SELL_LIMIT, _check_u32(rule.sell_at_or_above, "sell_at_or_above"))
            control |= CONTROL_SELL
        self._bus.write(Reg.CONTROL, control)

    def configure_risk(
        self,
        limits: Mapping[str, Mapping[str, RiskParam]],
        *,
        positions: Mapping[str, Quantity] | None = None,
        references: Mapping[str, Price] | None = None,
    ) -> tuple[str, ...]:
        """Load an account's risk table (check name -> parameters, as in the engine's account configuration),
        its held ``positions`` and the ``references`` of the price band, by symbol of the instruments given to
        :meth:`configure_books` (call it first); returns the names of the account's checks the firmware does not
        enforce.

        A check the table does not name is off. The firmware has one price band for all slots: with several
        references the narrowest band of them is used. ``order_rate`` above 16 orders is held at 16 (stricter).
        Raises ``ValueError`` for a limit the firmware cannot represent.
        """
        positions = positions or {}
        references = references or {}
        kill = bool(limits.get("kill_switch", {}).get("engaged", False))
        self._write_limit(Reg.MAX_SHARES, limits.get("max_order_quantity"), "limit")
        self._write_limit(Reg.MAX_POSITION, limits.get("max_position"), "limit")
        self._write_band(limits.get("price_band"), references)
        rate = limits.get("order_rate")
        if rate is None:
            self._bus.write(Reg.RATE_MAX, RATE_DEPTH)
            self._bus.write(Reg.RATE_WINDOW, 0)
        else:
            window = self.window_cycles(int(rate["window_ms"]))
            if not 0 < window < 2**31:
                raise ValueError(f"order_rate: window of {window} cycles is outside 1 .. 2**31-1")
            self._bus.write(Reg.RATE_MAX, min(int(rate["max_orders"]), RATE_DEPTH))
            self._bus.write(Reg.RATE_WINDOW, window)
        for index, slot in enumerate(self._slots):
            held = positions.get(slot.instrument.symbol, 0)
            if not -(2**31) <= held < 2**31:
                raise ValueError(f"{slot.instrument.symbol}: position {held} is not 32-bit signed")
            self._bus.write(Reg.HELD + 4 * index, held & U32)
        self.set_kill_switch(kill)
        return tuple(name for name in limits if name not in FIRMWARE_CHECKS)

    def set_order_entry(self, entry: OrderEntry) -> None:
        """The OUCH fields of every Enter Order."""
        self._bus.write(Reg.TOKEN_PREFIX, int.from_bytes(_alpha(entry.token_prefix, 4, pad=False), "big"))
        self._bus.write(Reg.FIRM, int.from_bytes(_alpha(entry.firm, 4), "big"))
        self._bus.write(Reg.TIF, _check_u32(entry.time_in_force, "time_in_force"))
        self._bus.write(Reg.MIN_QTY, _check_u32(entry.minimum_quantity, "minimum_quantity"))
        letters = (entry.display, entry.capacity, entry.intermarket_sweep, entry.cross_type)
        self._bus.write(Reg.ORDER_FLAGS, int.from_bytes(b"".join(_alpha(c, 1) for c in reversed(letters)), "big"))
        self._bus.write(Reg.CUSTOMER_TYPE, _alpha(entry.customer_type, 1)[0])

    def set_kill_switch(self, engaged: bool) -> None:
        """Engage (every order rejected) or release the firmware's kill switch."""
        control = self._bus.read(Reg.CONTROL) & ~CONTROL_KILL & U32
        self._bus.write(Reg.CONTROL, control | (CONTROL_KILL if engaged else 0))

    def kill_switch_engaged(self) -> bool:
        """True while the kill switch is engaged (as it is after a reset)."""
        return bool(self._bus.read(Reg.CONTROL) & CONTROL_KILL)

    # --- counters --------------------------------------------------------------------------------------------

    def counters(self) -> FirmwareCounters:
        """Read every counter (one register at a time: not a snapshot of one cycle)."""
        read = self._bus.read
        return FirmwareCounters(
            packets=read(Reg.PACKETS),
            gaps=read(Reg.GAPS),
            malformed=read(Reg.MALFORMED),
            messages=read(Reg.MESSAGES),
            order_requests=read(Reg.REQUESTS),
            orders_rejected=read(Reg.REJECTED),
            orders_sent=read(Reg.SENT),
            last_latency_cycles=read(Reg.LATENCY),
        )

    def book_flags(self) -> BookFlags:
        """The instruments whose firmware book is flagged (see :class:`BookFlags`)."""
        flags = self._bus.read(Reg.BOOK_FLAGS)
        symbols = [slot.instrument.symbol for slot in self._slots]
        return BookFlags(
            overflow=frozenset(symbol for index, symbol in enumerate(symbols) if flags >> index & 1),
            error=frozenset(symbol for index, symbol in enumerate(symbols) if flags >> (4 + index) & 1),
        )

    def clear_counters(self) -> None:
        """Zero every counter; the configuration is kept."""
        self._bus.write(Reg.CONTROL, (self._bus.read(Reg.CONTROL) & 0x7) | CONTROL_CLEAR)

    # --- helpers ---------------------------------------------------------------------------------------------

    def _slot_of(self, symbol: str) -> int:
        for index, slot in enumerate(self._slots):
            if slot.instrument.symbol == symbol:
                return index
        raise ValueError(f"{symbol} is not tracked: configure_books first")

    def _write_limit(self, addr: Reg, params: Mapping[str, RiskParam] | None, name: str) -> None:
        if params is None:
            self._bus.write(addr, U32)
            return
        self._bus.write(addr, _check_u32(int(params[name]), f"{addr.name.lower()} {name}"))

    def _write_band(self, params: Mapping[str, RiskParam] | None, references: Mapping[str, Price]) -> None:
        valid = 0
        bands: list[int] = []
        for index, slot in enumerate(self._slots):
            instrument = slot.instrument
            reference = references.get(instrument.symbol)
            if params is None:
                continue
            if reference is None:
                if params.get("require_reference", False):
                    raise ValueError(f"price_band: {instrument.symbol} needs a reference price (require_reference)")
                continue
            self._bus.write(Reg.REF_PRICE + 4 * index, _check_u32(reference, "reference price"))
            valid |= 1 << index
            ticks = int(params.get("max_ticks", 0))
            if ticks:
                bands.append(ticks * instrument.tick_size)
            percent = Decimal(str(params.get("max_percent", 0)))
            if percent:
                num, den = percent.as_integer_ratio()
                # distance > reference * percent / 100  <=>  distance > floor of it, for an integer distance
                bands.append(num * abs(reference) // (100 * den))
        self._bus.write(Reg.BAND, min(min(bands, default=U32), U32))
        self._bus.write(Reg.REF_VALID, valid)


def _alpha(text: str, size: int, *, pad: bool = True) -> bytes:
    """An OUCH alpha field: ASCII, space padded on the right to ``size`` (exactly ``size`` when not ``pad``)."""
    raw = text.encode("ascii")
    if len(raw) > size or (not pad and len(raw) != size):
        raise ValueError(f"{text!r} does not fit {size} bytes")
    return raw.ljust(size, b" ")


def _check_u32(value: int, name: str) -> int:
    if not 0 <= value <= U32:
        raise ValueError(f"{name} {value} is not a 32-bit unsigned value")
    return value
