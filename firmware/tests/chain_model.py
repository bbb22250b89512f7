"""A model of the whole tick-to-trade chain built on the engine's own code, and seeded random feeds for it.

Given the MoldUDP64 packets and the configuration the firmware gets through :class:`FirmwareDriver`, the model says
which order requests the trigger rule makes, how the engine's risk checks judge each one, and the bytes of the
OUCH Enter Orders the chain must send, in order:

- framing: :func:`engine.itch.moldudp64.parse_packet` and ``MoldSequencer(hold_gaps=False)`` (the framer's replay
  mode: gaps skipped, duplicates dropped), messages decoded by :func:`engine.itch.decode.decode_message`;
- book: :class:`engine.itch.book.ItchBooks` of the configured locates (its ``best_bid``/``best_ask``), with
  book_top's limits and sticky flags from :class:`book_model.BookTopModel` (a slot flagged overflow or error
  sends no order; its engine book may reject messages, which the block flags as errors);
- trigger: the rule of :class:`TriggerRule` after every message of the watched locate (buy first);
- risk: the engine's ``KillSwitchCheck``, ``MaxOrderQuantity``, ``PriceBand``, ``MaxPosition`` and ``OrderRate``
  over a view of the held positions and the accepted orders (working, nothing filled);
- encoding: :func:`engine.ouch.codec.encode` of the :class:`EnterOrder` with the token the firmware numbers.

Time: the firmware counts the order-rate window in cycles of its clock, whose period it reports in its
CLOCK_PERIOD register (the driver converts ``window_ms`` with it). pretrade_risk judges a request
:data:`JUDGE_DELAY` cycles after the input beat holding the triggering message's last byte is taken: the chain
runs at a fixed latency and never holds its input back for an ITCH stream while fewer than 16 accepted orders wait
for the output. The model's clock for a request is that cycle times the period, so the engine's ``OrderRate``
sees what the firmware counts; the window must be a whole number of cycles and the period of nanoseconds.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from book_model import BookTopModel
from book_streams import TABLE_BITS, BookStream, table_index

from core.commands import SubmitOrder
from core.contracts import RiskCheck
from core.enums import Side
from core.instruments import Instrument
from core.portfolio import Position
from engine.config import RiskParam
from engine.fpga.driver import BookSlot, FirmwareDriver, OrderEntry, TriggerRule
from engine.itch.book import ItchBookError, ItchBooks
from engine.itch.decode import decode_message
from engine.itch.encode import encode_message
from engine.itch.messages import AddOrder, Message, OrderCancel, OrderDelete, OrderExecuted
from engine.itch.moldudp64 import MoldSequencer, build_heartbeat, build_packet, parse_packet
from engine.ouch.codec import encode
from engine.ouch.messages import EnterOrder
from engine.risk.checks_account import MaxPosition, OrderRate
from engine.risk.checks_order import MaxOrderQuantity, PriceBand
from engine.risk.kill_switch import KillSwitchCheck

ACCOUNT = "FPGA"
JUDGE_DELAY = 10
"""Cycles from the input beat holding a message's last byte to pretrade_risk judging its request: framer 1,
itch_parser 1, book_top 6, trigger 1, and the cycle pretrade_risk takes the request."""
PS_PER_MS = 1_000_000_000


@dataclass(frozen=True, slots=True, kw_only=True)
class ChainConfig:
    """What :func:`configure` writes through the driver: tracked instruments, the rule, the OUCH fields and an
    account's risk table (with its held positions and price-band references, by symbol)."""

    slots: tuple[BookSlot, ...]
    rule: TriggerRule
    entry: OrderEntry
    risk: Mapping[str, Mapping[str, RiskParam]]
    positions: Mapping[str, int] = field(default_factory=dict)
    references: Mapping[str, int] = field(default_factory=dict)
    clock_period_ps: int = 4_000


def configure(driver: FirmwareDriver, config: ChainConfig) -> tuple[str, ...]:
    """Configure the firmware for ``config`` (whose clock period must be the firmware's); returns the account's
    checks the firmware does not enforce."""
    if driver.clock_period_ps() != config.clock_period_ps:
        raise ValueError(f"the firmware's clock period is {driver.clock_period_ps()} ps, not {config.clock_period_ps}")
    driver.configure_books(config.slots)
    driver.set_trigger(config.rule)
    driver.set_order_entry(config.entry)
    return driver.configure_risk(config.risk, positions=config.positions, references=config.references)


@dataclass(frozen=True, slots=True, kw_only=True)
class Request:
    """An order the trigger asked for after the message numbered ``sequence``; ``vetoes`` names the engine's
    checks that reject it (empty: accepted, and ``message`` is its Enter Order)."""

    sequence: int
    side: Side
    price: int
    quantity: int
    vetoes: tuple[str, ...]
    message: bytes | None


@dataclass(frozen=True, slots=True, kw_only=True)
class ModelFlags:
    """book_top's sticky flags by symbol of the tracked instruments."""

    overflow: frozenset[str]
    error: frozenset[str]


@dataclass(frozen=True, slots=True, kw_only=True)
class ModelCounts:
    """The firmware counters the model predicts (all but the latency)."""

    packets: int
    gaps: int
    malformed: int
    messages: int
    order_requests: int
    orders_rejected: int
    orders_sent: int


@dataclass(frozen=True, slots=True)
class _Working:
    """An accepted order as the engine's checks see a working order: nothing filled."""

    client_order_id: str
    instrument: str
    side: Side
    quantity: int
    cum_qty: int = 0


class ChainModel:
    """The chain of :class:`ChainConfig`, fed packet by packet with :meth:`packet`."""

    def __init__(self, config: ChainConfig) -> None:
        self.config = config
        self.requests: list[Request] = []
        self.packets = 0
        self.gaps = 0
        self.messages = 0
        self.triggered: list[bool] = []
        """For every update of the watched book, whether it asked for an order."""
        self._locates = [slot.locate for slot in config.slots]
        if len(set(self._locates)) != len(self._locates):
            raise ValueError(f"a locate is in two slots: {self._locates}")
        watched = [slot for slot in config.slots if slot.instrument.symbol == config.rule.symbol]
        if not watched:
            raise ValueError(f"{config.rule.symbol} is not tracked")
        self._watched = watched[0]
        self._books = ItchBooks(self._locates)
        self._block = BookTopModel(self._locates)
        self._slot = self._locates.index(self._watched.locate)
        self._sequencer = MoldSequencer(hold_gaps=False)
        self._working: list[_Working] = []
        others = set(config.references) - {self._watched.instrument.symbol}
        if "price_band" in config.risk and others:
            # The firmware keeps one band, the narrowest of every reference's: only the watched one is modelled.
            raise ValueError(f"price band references of unwatched instruments: {sorted(others)}")
        self._checks = self._risk_checks()
        self._time_ns = 0

    # --- feed ------------------------------------------------------------------------------------------------

    def packet(self, raw: bytes, ends: Sequence[int] = ()) -> list[Request]:
        """Take one MoldUDP64 packet; returns the order requests its messages make. ``ends[k]`` is the cycle the
        input beat holding the last byte of message block ``k`` was taken: needed when ``order_rate`` is on."""
        self.packets += 1
        packet = parse_packet(raw)
        delivery = self._sequencer.accept(packet)
        if delivery.gap is not None:
            self.gaps += 1
        out = []
        for sequence, data in delivery.messages:
            self.messages += 1
            if "order_rate" in self.config.risk:
                if not ends:
                    raise ValueError("order_rate: the model needs the cycle every message came in")
                self._time_ns = (ends[sequence - packet.sequence] + JUDGE_DELAY) * self.config.clock_period_ps // 1000
            request = self._message(sequence, decode_message(data, 0, len(data)))
            if request is not None:
                out.append(request)
        self.requests.extend(out)
        return out

    @property
    def orders(self) -> list[bytes]:
        """Every Enter Order the chain must send so far, in order."""
        return [request.message for request in self.requests if request.message is not None]

    def flags(self) -> ModelFlags:
        """book_top's flags as they stand."""
        symbols = [slot.instrument.symbol for slot in self.config.slots]
        return ModelFlags(
            overflow=frozenset(symbol for symbol, flag in zip(symbols, self._block.overflow, strict=True) if flag),
            error=frozenset(symbol for symbol, flag in zip(symbols, self._block.error, strict=True) if flag),
        )

    def counts(self) -> ModelCounts:
        """The counters the firmware must read back."""
        rejected = sum(1 for request in self.requests if request.vetoes)
        return ModelCounts(
            packets=self.packets,
            gaps=self.gaps,
            malformed=0,
            messages=self.messages,
            order_requests=len(self.requests),
            orders_rejected=rejected,
            orders_sent=len(self.requests) - rejected,
        )

    # --- book and trigger ------------------------------------------------------------------------------------

    def _message(self, sequence: int, message: Message) -> Request | None:
        locate = message.stock_locate
        if not self._books.tracks(locate):
            return None
        if self._block.apply(message) != self._slot:
            self._engine_apply(message)
            return None
        rejected = self._engine_apply(message)
        if self._block.flagged(self._slot):
            self.triggered.append(False)
            return None
        book = self._books.book(locate)
        rule = self.config.rule
        ask, bid = book.best_ask(), book.best_bid()
        # While a slot is clear, book_top holds what the engine holds: a rejection is an error flag there.
        assert not rejected, f"the engine rejected message {sequence} and book_top did not flag it"
        assert self._block.best(self._slot) == (bid, ask), f"book_top's top differs from the engine's at {sequence}"
        order: tuple[Side, int] | None = None
        if rule.buy_at_or_below is not None and ask is not None and ask[0] <= rule.buy_at_or_below:
            order = (Side.BUY, ask[0])
        elif rule.sell_at_or_above is not None and bid is not None and bid[0] >= rule.sell_at_or_above:
            order = (Side.SELL, bid[0])
        self.triggered.append(order is not None)
        return None if order is None else self._judge(sequence, *order)

    def _engine_apply(self, message: Message) -> bool:
        """Apply to the engine's books; True when they reject the message (they are left as they were)."""
        try:
            self._books.apply(message)
        except ItchBookError:
            return True
        return False

    # --- risk and encoding -----------------------------------------------------------------------------------

    def _risk_checks(self) -> tuple[RiskCheck, ...]:
        risk = self.config.risk
        # A check the table does not name is off in the firmware: its register holds the widest value.
        kill = KillSwitchCheck(risk.get("kill_switch", {}))
        checks: list[RiskCheck] = [kill]
        if "max_order_quantity" in risk:
            checks.append(MaxOrderQuantity(risk["max_order_quantity"]))
        if "price_band" in risk:
            band = risk["price_band"]
            checks.append(
                PriceBand(
                    {
                        "max_ticks": band.get("max_ticks", 0),
                        "max_percent": Decimal(str(band.get("max_percent", 0))),
                        "require_reference": bool(band.get("require_reference", False)),
                    }
                )
            )
        if "max_position" in risk:
            checks.append(MaxPosition(risk["max_position"]))
        if "order_rate" in risk:
            rate = risk["order_rate"]
            window_ms = int(rate["window_ms"])
            period = self.config.clock_period_ps
            if (window_ms * PS_PER_MS) % period or period % 1000:
                raise ValueError(f"order_rate: {window_ms} ms is not a whole number of {period} ps cycles")
            checks.append(OrderRate({"max_orders": min(int(rate["max_orders"]), 16), "window_ms": window_ms}))
        return tuple(checks)

    def _judge(self, sequence: int, side: Side, price: int) -> Request:
        quantity = self.config.rule.quantity
        symbol = self._watched.instrument.symbol
        view = _View(self, clock_ns=self._time_ns)
        request = SubmitOrder(
            client_order_id=f"o{len(self.requests)}",
            account=ACCOUNT,
            instrument=symbol,
            side=side,
            quantity=quantity,
            price=price,
        )
        vetoes = tuple(check.name for check in self._checks if check.check_order(request, view) is not None)
        message = None
        if not vetoes:
            for check in self._checks:
                check.on_accepted(request, view)
            self._working.append(_Working(request.client_order_id, symbol, side, quantity))
            message = self._enter_order(len(self._working), side, price)
        return Request(sequence=sequence, side=side, price=price, quantity=quantity, vetoes=vetoes, message=message)

    def _enter_order(self, number: int, side: Side, price: int) -> bytes:
        entry = self.config.entry
        return encode(
            EnterOrder(
                order_token=f"{entry.token_prefix}{number % 10**10:010d}",
                side="B" if side is Side.BUY else "S",
                shares=self.config.rule.quantity,
                stock=self._watched.instrument.symbol,
                price=price,
                time_in_force=entry.time_in_force,
                firm=entry.firm,
                display=entry.display,
                capacity=entry.capacity,
                intermarket_sweep=entry.intermarket_sweep,
                minimum_quantity=entry.minimum_quantity,
                cross_type=entry.cross_type,
                customer_type=entry.customer_type,
            )
        )


@dataclass(slots=True)
class _View:
    """The engine's risk view of what the firmware knows: held positions, accepted orders, references."""

    model: ChainModel
    clock_ns: int

    def now_ns(self) -> int:
        return self.clock_ns

    def instrument(self, symbol: str) -> Instrument | None:
        for slot in self.model.config.slots:
            if slot.instrument.symbol == symbol:
                return slot.instrument
        return None

    def reference_price(self, symbol: str) -> int | None:
        return self.model.config.references.get(symbol)

    def position(self, account: str, symbol: str) -> Position:
        instrument = self.instrument(symbol)
        assert instrument is not None
        return Position(account=account, instrument=instrument, quantity=self.model.config.positions.get(symbol, 0))

    def working_orders(self, account: str) -> list[_Working]:
        return self.model._working


# --- seeded random feeds -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Feed:
    """Packets to send, with the number of idle cycles to leave before each."""

    packets: list[bytes]
    idle_before: list[int]


def random_feed(
    rng: random.Random,
    locates: list[int],
    messages: int,
    *,
    thin: int | None = None,
    faults: float = 0.0,
    late: tuple[int, ...] = (),
    late_from: int = 0,
    session: str = "TICK2TRADE",
) -> Feed:
    """``messages`` book messages (A F E C X D U P, some of untracked locates) in packets of 1 to 8, with sequence
    gaps, re-sent (duplicate) packets and heartbeats between them.

    With ``thin`` (a locate), that book is kept near 8 resting orders, so that its best levels empty and fill
    again often (the top crosses a trigger's limit back and forth). ``faults`` of the messages are faults for
    book_top (:func:`fault`): on the tracked locates not in ``late`` before message ``late_from``, on those in
    ``late`` from it on."""
    stream = BookStream(rng, locates)
    pool = []
    for index in range(messages):
        mine = [ref for ref, order in stream.live.items() if order[0] == thin]
        if rng.random() < faults:
            pool.append(
                encode_message(fault(rng, stream, [loc for loc in locates if (loc in late) == (index >= late_from)]))
            )
        elif len(mine) > 8 and rng.random() < 0.5:
            pool.append(encode_message(stream._change(rng.choice(mine))))  # an execute, cancel, delete or replace
        else:
            pool.append(encode_message(stream.next()))
    packets: list[bytes] = []
    idle: list[int] = []
    sent: list[bytes] = []
    sequence = rng.randint(1, 1 << 32)
    pos = 0
    for gap in _idle(rng):
        if pos >= len(pool):
            break
        roll = rng.random()
        if roll < 0.04:
            packets.append(build_heartbeat(session, sequence))
        elif roll < 0.08 and sent:
            packets.append(rng.choice(sent[-3:]))
        else:
            if roll < 0.12:
                sequence += rng.randint(1, 4)  # messages lost on the way: a gap
            size = min(rng.randint(1, 8), len(pool) - pos)
            packet = build_packet(session, sequence, pool[pos : pos + size])
            packets.append(packet)
            sent.append(packet)
            sequence += size
            pos += size
        idle.append(gap)
    return Feed(packets=packets, idle_before=idle)


def fault(rng: random.Random, stream: BookStream, locates: list[int]) -> Message:
    """A message of one of ``locates`` that book_top flags: an error (unknown reference, over-execution, duplicate
    reference, zero size) or an overflow (an add on the table entry of another locate's resting order, an add at a
    price beyond the stream's 8 a side). The stream does not keep the order an overflowing add makes: the engine
    rests it, book_top has flagged the locate."""
    locate = rng.choice(locates)
    head = {"stock_locate": locate, "tracking_number": 0, "timestamp": 0}
    mine = [ref for ref, order in stream.live.items() if order[0] == locate]
    others = [ref for ref, order in stream.live.items() if order[0] != locate]
    side = rng.choice("BS")
    kind = rng.randrange(6)
    if kind == 0 or (kind in (1, 2) and not mine):
        unknown = stream._new_ref()
        return rng.choice(
            (
                OrderDelete(order_ref=unknown, **head),
                OrderExecuted(order_ref=unknown, executed_shares=1, match_number=0, **head),
                OrderCancel(order_ref=unknown, cancelled_shares=1, **head),
            )
        )
    if kind == 1:
        ref = rng.choice(mine)
        return OrderExecuted(order_ref=ref, executed_shares=stream.live[ref][3] + 1, match_number=0, **head)
    if kind == 2:
        return AddOrder(order_ref=rng.choice(mine), side=side, shares=10, stock="F", price=100_000, **head)
    if kind == 3:
        return AddOrder(order_ref=stream._new_ref(), side=side, shares=0, stock="F", price=100_000, **head)
    if kind == 4 and others:
        taken = rng.choice(others)
        ref = taken ^ (1 << TABLE_BITS) ^ 1  # the same fold: the entry of a resting order
        assert table_index(ref) == table_index(taken)
        return AddOrder(order_ref=ref, side=side, shares=10, stock="F", price=stream._price(locate, side), **head)
    price = 100_000 + 1_000 * locate - 100 * rng.randint(1, 3)
    return AddOrder(order_ref=stream._new_ref(), side=side, shares=10, stock="F", price=price, **head)


def _idle(rng: random.Random) -> Iterator[int]:
    while True:
        yield rng.choice((0, 0, 0, 1, 3, rng.randint(0, 40)))
