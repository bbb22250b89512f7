"""An ITCH 5.0 replay as a market-data feed of the engine (:class:`core.contracts.Feed`).

The input (a file in NASDAQ's historical framing, or the MoldUDP64 packets of a libpcap capture) is indexed and
gathered with numpy once, then replayed message by message into one :class:`core.book.OrderBook` per instrument.
Instruments come from the Stock Directory ('R') messages.

What is published, to the listener, on the injected scheduler:

* a :class:`core.events.BookUpdate` per instrument per batch of messages, with the L2 deltas the batch caused
  (an update whose changes cancel out is not sent);
* a :class:`core.events.TradeTick` for each execution (E, printable C) and non-displayed trade (P);
* an :class:`core.events.OrderBookAction` per book message, only when the listener wants them.

Timing: with ``speed`` > 0 a message with ITCH timestamp ``t`` is replayed at
``start + (t - first timestamp) / speed`` on the scheduler, and the messages due at one moment form a batch.
With ``speed`` 0 the replay goes as fast as possible: batches of ``batch_size`` messages, one after another, at
the scheduler's current time. Events are stamped with the scheduler's time when they are published.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from core.book import OrderBook
from core.clock import Scheduler, TimerHandle
from core.contracts import Feed, FeedSpec, VenueListener, VenueSetup
from core.enums import Side
from core.events import BookUpdate, OrderAction, OrderBookAction, TradeTick
from core.instruments import Instrument
from engine.itch.book import book_ops
from engine.itch.bulk import FramedFile
from engine.itch.sources import load

FEED_NAME = "itch-replay"
DEFAULT_BATCH = 256
"""Messages per batch when replaying as fast as possible (speed 0)."""

_A, _F, _E, _C, _X, _D, _U, _P = (ord(letter) for letter in "AFECXDUP")
_REPLAYED = np.array([_A, _F, _E, _C, _X, _D, _U, _P], dtype=np.uint8)


@dataclass(frozen=True, slots=True, kw_only=True)
class ReplayConfig:
    """Settings of an ITCH replay.

    ``speed`` is how many times faster than the file's own timing to replay (0: as fast as possible);
    ``symbols`` restricts the replay to those instruments (empty: every instrument of the directory);
    ``tick_size`` is the tick of instruments the engine does not already know (prices have 4 decimals).
    """

    path: Path
    pcap: bool = False
    speed: Fraction = Fraction(1)
    symbols: tuple[str, ...] = ()
    batch_size: int = DEFAULT_BATCH
    tick_size: int = 100

    def __post_init__(self) -> None:
        if self.speed < 0:
            raise ValueError(f"speed must not be negative, got {self.speed}")
        if self.batch_size <= 0:
            raise ValueError(f"batch_size must be positive, got {self.batch_size}")

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> ReplayConfig:
        """Read ``path``, ``pcap``, ``speed``, ``symbols`` (a list or a comma-separated string) and the optional
        ``batch_size`` and ``tick_size`` from a feed's settings."""
        if "path" not in settings:
            raise ValueError(f"{FEED_NAME}: the 'path' setting is required")
        symbols = settings.get("symbols") or ()
        if isinstance(symbols, str):
            symbols = [part for part in (s.strip() for s in symbols.split(",")) if part]
        # The speed comes from configuration as text or a number; read it exactly, via its decimal text.
        speed = Fraction(str(settings.get("speed", 1)))
        return cls(
            path=Path(settings["path"]),
            pcap=bool(settings.get("pcap", False)),
            speed=speed,
            symbols=tuple(str(symbol) for symbol in symbols),
            batch_size=int(settings.get("batch_size", DEFAULT_BATCH)),
            tick_size=int(settings.get("tick_size", 100)),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class _Tape:
    """The replayed messages (book messages and P trades of the chosen locates) as parallel lists."""

    kind: list[int]
    locate: list[int]
    timestamp: list[int]
    ref: list[int]
    new_ref: list[int]
    shares: list[int]
    price: list[int]
    buy: list[int]
    match: list[int]
    printable: list[bool]


def _tape(framed: FramedFile, locates: Iterable[int]) -> _Tape:
    ops = book_ops(framed, locates)
    keep = np.flatnonzero(np.isin(ops.kind, _REPLAYED))
    kind = ops.kind[keep]
    shares, price, buy = ops.shares[keep].copy(), ops.price[keep].copy(), ops.buy[keep].copy()
    match = np.zeros(keep.size, dtype=np.uint64)
    printable = kind != _C
    for letter in "ECP":
        where = np.flatnonzero(kind == ord(letter))
        if where.size == 0:
            continue
        cols = framed.columns(letter, ops.index[keep[where]])
        match[where] = cols["match_number"]
        if letter == "C":
            price[where] = cols["execution_price"]
            printable[where] = cols["printable"] == b"Y"
        elif letter == "P":
            shares[where], price[where] = cols["shares"], cols["price"]
            buy[where] = cols["side"] == b"B"
    return _Tape(
        kind=kind.tolist(),
        locate=ops.locate[keep].tolist(),
        timestamp=ops.timestamp[keep].tolist(),
        ref=ops.ref[keep].tolist(),
        new_ref=ops.new_ref[keep].tolist(),
        shares=shares.tolist(),
        price=price.tolist(),
        buy=buy.tolist(),
        match=match.tolist(),
        printable=printable.tolist(),
    )


class _Instrument:
    """Replay state of one instrument."""

    __slots__ = ("book", "count", "sequence", "symbol")

    def __init__(self, symbol: str) -> None:
        self.symbol = symbol
        self.book = OrderBook()
        self.sequence = 0
        self.count = 0


class ItchReplayFeed(Feed):
    """Replays an ITCH 5.0 file or capture to the engine (see the module documentation).

    The input is indexed at construction, so :meth:`instruments` is known before :meth:`start`. Messages about
    an order the book does not hold (a file cut mid-session, a capture with gaps) are skipped and counted in
    :attr:`skipped`.
    """

    name = FEED_NAME

    def __init__(self, config: ReplayConfig, known: Mapping[str, Instrument] | None = None) -> None:
        self.config = config
        framed = load(config.path, pcap=config.pcap)
        directory = framed.directory()
        by_symbol = {symbol: locate for locate, symbol in sorted(directory.items(), reverse=True)}
        wanted = config.symbols or tuple(directory[locate] for locate in sorted(directory))
        missing = [symbol for symbol in wanted if symbol not in by_symbol]
        if missing:
            raise ValueError(f"{FEED_NAME}: {', '.join(missing)} not in the stock directory of {config.path}")
        known = known or {}
        self._instruments: list[Instrument] = []
        self._states: dict[int, _Instrument] = {}
        for symbol in dict.fromkeys(wanted):
            instrument = known.get(symbol) or Instrument(symbol=symbol, tick_size=config.tick_size, price_scale=4)
            if instrument.price_scale != 4:
                raise ValueError(f"{FEED_NAME}: {symbol} has price scale {instrument.price_scale}; ITCH prices have 4")
            self._instruments.append(instrument)
            self._states[by_symbol[symbol]] = _Instrument(symbol)
        self._tape = _tape(framed, self._states)
        self._position = 0
        self._listener: VenueListener | None = None
        self._scheduler: Scheduler | None = None
        self._timer: TimerHandle | None = None
        self._start_ns = 0
        self._actions = False
        self._trades = False
        self.skipped = 0

    # --- Feed -------------------------------------------------------------------------------------------------

    def instruments(self) -> Sequence[Instrument]:
        """The instruments replayed, in directory (or ``symbols``) order."""
        return tuple(self._instruments)

    def start(self, listener: VenueListener, scheduler: Scheduler) -> None:
        """Schedule the first batch; the rest follows batch by batch."""
        if self._scheduler is not None:
            raise RuntimeError(f"{FEED_NAME} feed already started")
        self._listener, self._scheduler = listener, scheduler
        self._actions = listener.wants(OrderBookAction)
        self._trades = listener.wants(TradeTick)
        self._start_ns = scheduler.now_ns()
        self._schedule()

    def stop(self) -> None:
        """Stop replaying (the next batch is not run)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._position = len(self._tape.kind)

    # --- state ------------------------------------------------------------------------------------------------

    @property
    def finished(self) -> bool:
        """True once every message was replayed (or the feed was stopped)."""
        return self._position >= len(self._tape.kind)

    @property
    def messages(self) -> int:
        """Number of messages of the chosen instruments to replay (book messages and trades)."""
        return len(self._tape.kind)

    def book(self, symbol: str) -> OrderBook:
        """The order book of ``symbol`` as replayed so far."""
        for state in self._states.values():
            if state.symbol == symbol:
                return state.book
        raise KeyError(symbol)

    # --- replay -----------------------------------------------------------------------------------------------

    def _due_ns(self, index: int) -> int:
        speed = self.config.speed
        elapsed = self._tape.timestamp[index] - self._tape.timestamp[0]
        return self._start_ns + elapsed * speed.denominator // speed.numerator

    def _schedule(self) -> None:
        assert self._scheduler is not None
        if self.finished:
            self._timer = None
            return
        if self.config.speed == 0:
            self._timer = self._scheduler.call_later(0, self._run_batch)
        else:
            self._timer = self._scheduler.call_at(self._due_ns(self._position), self._run_batch)

    def _batch_end(self) -> int:
        start, total = self._position, len(self._tape.kind)
        if self.config.speed == 0:
            return min(start + self.config.batch_size, total)
        due = self._due_ns(start)
        end = start + 1
        while end < total and self._due_ns(end) == due:
            end += 1
        return end

    def _run_batch(self) -> None:
        assert self._listener is not None
        assert self._scheduler is not None
        end = self._batch_end()
        now = self._scheduler.now_ns()
        touched: dict[int, _Instrument] = {}
        for index in range(self._position, end):
            locate = self._tape.locate[index]
            state = touched[locate] = self._states[locate]
            self._replay(index, state, now)
            state.count += 1
        self._position = end
        publish = self._listener.on_market_data
        for state in touched.values():
            deltas = state.book.drain_deltas()
            count, state.count = state.count, 0
            if len(deltas) == 0:
                continue
            state.sequence += 1
            bid, ask = state.book.best_bid(), state.book.best_ask()
            publish(
                BookUpdate(
                    instrument=state.symbol,
                    ts_ns=now,
                    sequence=state.sequence,
                    deltas=deltas,
                    best_bid=None if bid is None else bid[0],
                    best_bid_qty=0 if bid is None else bid[1],
                    best_ask=None if ask is None else ask[0],
                    best_ask_qty=0 if ask is None else ask[1],
                    message_count=count,
                )
            )
        self._schedule()

    def _replay(self, index: int, state: _Instrument, now: int) -> None:
        tape, book = self._tape, state.book
        kind, ref, shares = tape.kind[index], tape.ref[index], tape.shares[index]
        try:
            if kind == _P:
                if self._trades:
                    self._trade(state, now, index, Side.SELL if tape.buy[index] else Side.BUY, tape.price[index])
                return
            if kind in (_A, _F):
                side = Side.BUY if tape.buy[index] else Side.SELL
                book.add(ref, side, tape.price[index], shares)
                self._action(state, now, OrderAction.ADD, ref, side, tape.price[index], shares)
            elif kind in (_E, _C):
                order = book.get(ref)
                book.execute(ref, shares)
                self._action(state, now, OrderAction.EXECUTE, ref, order.side, order.price, shares)
                if self._trades and tape.printable[index]:
                    price = order.price if kind == _E else tape.price[index]
                    self._trade(state, now, index, order.side.opposite, price)
            elif kind == _X:
                order = book.get(ref)
                book.cancel(ref, shares)
                self._action(state, now, OrderAction.CANCEL, ref, order.side, order.price, shares)
            elif kind == _D:
                order = book.delete(ref)
                self._action(state, now, OrderAction.DELETE, ref, order.side, order.price, order.quantity)
            elif kind == _U:
                side = book.get(ref).side
                new_ref = tape.new_ref[index]
                book.replace(ref, new_ref, tape.price[index], shares)
                self._action(state, now, OrderAction.REPLACE, new_ref, side, tape.price[index], shares)
        except (KeyError, ValueError):
            self.skipped += 1

    def _action(
        self, state: _Instrument, now: int, action: OrderAction, ref: int, side: Side, price: int, qty: int
    ) -> None:
        if self._actions:
            assert self._listener is not None
            self._listener.on_market_data(
                OrderBookAction(
                    instrument=state.symbol,
                    ts_ns=now,
                    action=action,
                    order_ref=ref,
                    side=side,
                    price=price,
                    quantity=qty,
                )
            )

    def _trade(self, state: _Instrument, now: int, index: int, aggressor: Side, price: int) -> None:
        assert self._listener is not None
        self._listener.on_market_data(
            TradeTick(
                instrument=state.symbol,
                ts_ns=now,
                price=price,
                quantity=self._tape.shares[index],
                aggressor=aggressor,
                match_id=self._tape.match[index],
            )
        )


def create_feed(setup: VenueSetup) -> ItchReplayFeed:
    """The factory of the ``itch-replay`` feed spec: settings as :meth:`ReplayConfig.from_settings` reads them;
    instruments the engine already knows keep their definition."""
    return ItchReplayFeed(ReplayConfig.from_settings(setup.settings), setup.instruments)


FEED_SPEC = FeedSpec(
    name=FEED_NAME,
    factory=create_feed,
    description="Replays an ITCH 5.0 file or MoldUDP64 capture (settings: path, pcap, speed, symbols)",
)
"""The feed spec registered by :mod:`engine.itch.plugin`."""
