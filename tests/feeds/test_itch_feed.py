"""The ITCH replay feed: a generated trading day replayed on a simulated scheduler, checked against books built
independently from the same messages."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import pytest

from core.contracts import VenueSetup
from core.enums import Side
from core.instruments import Instrument
from engine.clock import SimulatedScheduler
from engine.itch import plugin
from engine.itch.book import ItchBooks
from engine.itch.encode import encode_framed
from engine.itch.feed import FEED_NAME, ItchReplayFeed, ReplayConfig
from engine.itch.messages import Message, OrderExecutedWithPrice, Trade
from tests.feeds.helpers import Recorder
from tests.itch.capture import write_capture
from tests.itch.scenario import SYMBOLS, session

START = 1_767_623_400_000_000_000
END = START + 10**15
Top = tuple[int | None, int, int | None, int]


@pytest.fixture(scope="module")
def day() -> list[Message]:
    return session(seed=11, count=800)


@pytest.fixture
def day_file(day: list[Message], tmp_path: Path) -> Path:
    path = tmp_path / "day.itch"
    path.write_bytes(encode_framed(day))
    return path


def replay(
    path: Path, *, speed: str = "1", symbols: tuple[str, ...] = (), **options: object
) -> tuple[ItchReplayFeed, Recorder]:
    feed = ItchReplayFeed(
        ReplayConfig(path=path, speed=Fraction(speed), symbols=symbols, **options)  # type: ignore[arg-type]
    )
    recorder = Recorder()
    scheduler = SimulatedScheduler(START)
    feed.start(recorder, scheduler)
    scheduler.run_until(END)
    assert feed.finished
    return feed, recorder


def replayed(message: Message) -> bool:
    return message.TYPE in "AFECXDUP" and message.stock_locate in SYMBOLS


def reference_tops(messages: list[Message]) -> dict[tuple[str, int], Top]:
    """Top of each symbol's book after each ITCH timestamp, from the live decoder's book path."""
    books = ItchBooks(SYMBOLS)
    tops: dict[tuple[str, int], Top] = {}
    for message in messages:
        books.apply(message)
        if replayed(message):
            book = books.book(message.stock_locate)
            bid, ask = book.best_bid(), book.best_ask()
            tops[SYMBOLS[message.stock_locate], message.timestamp] = (
                None if bid is None else bid[0],
                0 if bid is None else bid[1],
                None if ask is None else ask[0],
                0 if ask is None else ask[1],
            )
    return tops


def test_instruments_come_from_the_stock_directory(day_file: Path) -> None:
    feed = ItchReplayFeed(ReplayConfig(path=day_file))
    assert [i.symbol for i in feed.instruments()] == list(SYMBOLS.values())
    assert all(i.price_scale == 4 and i.tick_size == 100 for i in feed.instruments())


def test_every_book_update_carries_the_top_of_an_independently_built_book(day: list[Message], day_file: Path) -> None:
    first = next(m.timestamp for m in day if replayed(m))
    tops = reference_tops(day)
    _, recorder = replay(day_file)
    assert len(recorder.updates) > 100
    for update in recorder.updates:
        itch_time = update.ts_ns - START + first  # speed 1: the file's own timing
        top = (update.best_bid, update.best_bid_qty, update.best_ask, update.best_ask_qty)
        assert top == tops[update.instrument, itch_time]
    sequences = [u.sequence for u in recorder.updates if u.instrument == "AAPL"]
    assert sequences == list(range(1, len(sequences) + 1))


def test_the_deltas_alone_rebuild_each_book(day: list[Message], day_file: Path) -> None:
    feed, recorder = replay(day_file)
    books = ItchBooks(SYMBOLS)
    for message in day:
        books.apply(message)
    for locate, symbol in SYMBOLS.items():
        expected = books.book(locate).depth(100).price_levels()
        assert recorder.l2[symbol].depth(100).price_levels() == expected
        assert feed.book(symbol).depth(100).price_levels() == expected


def test_as_fast_as_possible_ends_with_the_same_books_in_fewer_updates(day_file: Path) -> None:
    timed_feed, timed = replay(day_file, speed="1")
    fast_feed, fast = replay(day_file, speed="0", batch_size=50)
    assert len(fast.updates) < len(timed.updates)
    assert {u.ts_ns for u in fast.updates} == {START}  # no waiting at all
    for symbol in SYMBOLS.values():
        assert fast_feed.book(symbol).depth(100) == timed_feed.book(symbol).depth(100)
        assert fast.l2[symbol].depth(100) == timed.l2[symbol].depth(100)
    assert sum(u.message_count for u in fast.updates) <= timed_feed.messages
    assert fast.trades == [t for t in fast.trades if t.ts_ns == START]
    assert len(fast.trades) == len(timed.trades)


def test_speed_scales_the_file_timing(day: list[Message], day_file: Path) -> None:
    stamps = [m.timestamp for m in day if replayed(m)]
    _, recorder = replay(day_file, speed="2.5")
    last = max(u.ts_ns for u in recorder.updates)
    assert last <= START + (stamps[-1] - stamps[0]) * 2 // 5
    assert last >= START + (stamps[-1] - stamps[0]) * 2 // 5 - 50_000


def test_trades_are_printed_for_executions_and_hidden_trades(day: list[Message], day_file: Path) -> None:
    _, recorder = replay(day_file)
    printed = [
        m
        for m in day
        if (replayed(m) and m.TYPE in "EP") or (isinstance(m, OrderExecutedWithPrice) and m.printable == "Y")
    ]
    assert [t.match_id for t in recorder.trades] == [m.match_number for m in printed]  # type: ignore[attr-defined]
    hidden = next(t for t, m in zip(recorder.trades, printed, strict=True) if isinstance(m, Trade))
    assert hidden.aggressor is Side.SELL  # the scenario's hidden orders are buys: a seller hit them
    assert all(t.quantity > 0 and t.price > 0 for t in recorder.trades)


def test_order_level_actions_only_for_a_listener_that_wants_them(day_file: Path) -> None:
    _, recorder = replay(day_file)
    assert len(recorder.book_actions) > 100
    feed = ItchReplayFeed(ReplayConfig(path=day_file))
    quiet = Recorder(actions=False)
    scheduler = SimulatedScheduler(START)
    feed.start(quiet, scheduler)
    scheduler.run_until(END)
    assert quiet.book_actions == []
    assert len(quiet.updates) == len(recorder.updates)


def test_symbols_restrict_the_replay(day_file: Path) -> None:
    feed, recorder = replay(day_file, symbols=("MSFT",))
    assert [i.symbol for i in feed.instruments()] == ["MSFT"]
    assert {u.instrument for u in recorder.updates} == {"MSFT"}
    with pytest.raises(ValueError, match="NOPE"):
        ItchReplayFeed(ReplayConfig(path=day_file, symbols=("NOPE",)))


def test_a_capture_replays_to_the_same_books_as_the_file(day: list[Message], day_file: Path, tmp_path: Path) -> None:
    capture = tmp_path / "day.pcap"
    write_capture(capture, day)
    from_file, _ = replay(day_file)
    feed = ItchReplayFeed(ReplayConfig(path=capture, pcap=True))
    recorder = Recorder()
    scheduler = SimulatedScheduler(START)
    feed.start(recorder, scheduler)
    scheduler.run_until(END)
    for symbol in SYMBOLS.values():
        assert feed.book(symbol).depth(100) == from_file.book(symbol).depth(100)


def test_stop_ends_the_replay(day_file: Path) -> None:
    feed = ItchReplayFeed(ReplayConfig(path=day_file))
    recorder = Recorder()
    scheduler = SimulatedScheduler(START)
    feed.start(recorder, scheduler)
    scheduler.run_until(START + 1)
    feed.stop()
    seen = len(recorder.updates)
    scheduler.run_until(END)
    assert len(recorder.updates) == seen
    assert feed.finished


def test_the_plugin_registers_the_feed_and_reads_its_settings(day_file: Path) -> None:
    (spec,) = plugin.register_feeds()
    assert spec.name == FEED_NAME
    known = {"AAPL": Instrument(symbol="AAPL", tick_size=1)}
    feed = spec.factory(
        VenueSetup(instruments=known, settings={"path": str(day_file), "speed": 0, "symbols": "AAPL, ZVZZT"})
    )
    assert [i.symbol for i in feed.instruments()] == ["AAPL", "ZVZZT"]
    assert feed.instruments()[0] is known["AAPL"]
    with pytest.raises(ValueError, match="path"):
        spec.factory(VenueSetup(instruments={}, settings={}))
    with pytest.raises(ValueError, match="speed"):
        spec.factory(VenueSetup(instruments={}, settings={"path": str(day_file), "speed": -1}))
