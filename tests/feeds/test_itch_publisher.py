"""The simulator's book as an ITCH feed: kernel events -> ITCH messages -> MoldUDP64 over loopback UDP -> a book
rebuilt by the ITCH decoder that equals the matching book."""

from __future__ import annotations

import asyncio
import random

import pytest

from engine.clock import AsyncioScheduler
from engine.itch.book import ItchBooks
from engine.itch.decode import decode_message
from engine.itch.messages import AddOrder, OrderCancel, OrderDelete, OrderExecuted, OrderReplace, StockDirectory
from engine.itch.moldudp64 import MoldSequencer, parse_packet
from engine.itch.publisher import ItchTranslator
from engine.itch.udp import MoldUdpSender
from engine.sim.matching import BUY, SELL, STP_CANCEL_INCOMING, STP_CANCEL_RESTING, STP_NONE, TIF_IOC, MatchingBook

LOCATE = 5
TS = 1_767_623_400_000_000_000
TIMEOUT = 5.0


def depth(book: MatchingBook) -> tuple[tuple[tuple[int, int], ...], tuple[tuple[int, int], ...]]:
    bids, asks = book.depth(1000)
    return tuple(map(tuple, bids.tolist())), tuple(map(tuple, asks.tolist()))  # type: ignore[arg-type]


class Flow:
    """Random operations on a book: adds (some crossing), IOCs, market orders, cancels and replaces (some keeping
    their place, some moving, some crossing, some to zero)."""

    def __init__(self, book: MatchingBook, seed: int) -> None:
        self.book = book
        self.rng = random.Random(seed)
        self.oids: list[int] = []
        self.next_oid = 1
        self.ts = TS

    def step(self) -> None:
        book, rng = self.book, self.rng
        self.ts += 1000
        roll = rng.random()
        side = rng.choice((BUY, SELL))
        if roll < 0.5 or not self.oids:
            price = 10_000 + rng.randint(-8, 8) * 100
            tif = TIF_IOC if rng.random() < 0.1 else 0
            book.add(self.ts, self.next_oid, rng.randint(0, 3), side, price, rng.randint(1, 9) * 10, tif)
            self.oids.append(self.next_oid)
            self.next_oid += 1
        elif roll < 0.6:
            book.market(self.ts, self.next_oid, rng.randint(0, 3), side, rng.randint(1, 20) * 10)
            self.next_oid += 1
        elif roll < 0.75:
            book.cancel(self.ts, rng.choice(self.oids))
        else:
            oid = rng.choice(self.oids)
            resting = book.order(oid)
            if resting is None:
                return
            if rng.random() < 0.3:
                book.replace(self.ts, oid, resting[1], max(resting[2] - 10, 1))
            else:
                book.replace(self.ts, oid, 10_000 + rng.randint(-8, 8) * 100, rng.randint(0, 9) * 10)


@pytest.mark.parametrize("stp", [STP_NONE, STP_CANCEL_INCOMING, STP_CANCEL_RESTING])
@pytest.mark.parametrize("seed", range(6))
def test_translated_events_keep_an_itch_book_equal_to_the_matching_book(seed: int, stp: int) -> None:
    book = MatchingBook(tick=100, stp_mode=stp, record_anonymous=True)
    flow = Flow(book, seed)
    translator = ItchTranslator(locate=LOCATE, stock="SIMX")
    itch = ItchBooks([LOCATE])
    kinds: set[str] = set()
    for _ in range(300):
        flow.step()
        for message in translator.translate(book.event_rows):
            itch.apply(message)
            kinds.add(message.TYPE)
        book.clear_events()
        assert itch.book(LOCATE).depth(1000).price_levels() == depth(book)
    assert translator.unknown_makers == 0
    assert kinds >= set("AED")


def test_the_mapping_of_each_kernel_event() -> None:
    book = MatchingBook(tick=100)
    translator = ItchTranslator(locate=LOCATE, stock="SIMX")
    book.add(TS, 1, 1, SELL, 10_100, 50)
    book.add(TS, 2, 2, BUY, 10_100, 20)  # crosses: an execution on order 1, nothing of order 2 rests
    book.replace(TS, 1, 10_100, 20)  # keeps its place: a partial cancel
    book.replace(TS, 1, 10_200, 20)  # moves: a replace with a new reference
    book.cancel(TS, 1)
    messages = translator.translate(book.event_rows)
    assert [type(m) for m in messages] == [AddOrder, OrderExecuted, OrderCancel, OrderReplace, OrderDelete]
    add, execution, cancel, replace, delete = messages
    assert (add.order_ref, add.side, add.shares, add.price, add.stock) == (1, "S", 50, 10_100, "SIMX")  # type: ignore[attr-defined]
    assert (execution.order_ref, execution.executed_shares, execution.match_number) == (1, 20, 1)  # type: ignore[attr-defined]
    assert cancel.cancelled_shares == 10  # type: ignore[attr-defined]
    assert (replace.original_order_ref, replace.new_order_ref, replace.shares) == (1, 2, 20)  # type: ignore[attr-defined]
    assert delete.order_ref == 2  # type: ignore[attr-defined]
    assert {m.stock_locate for m in messages} == {LOCATE}
    assert add.timestamp == TS % (86_400 * 10**9)


@pytest.mark.parametrize(("new_qty", "rests"), [(80, 30), (50, 0)])
def test_a_replace_that_trades_on_arrival_rests_only_what_is_left(new_qty: int, rests: int) -> None:
    book = MatchingBook(tick=100)
    translator = ItchTranslator(locate=LOCATE, stock="SIMX")
    book.add(TS, 1, 1, SELL, 10_100, 50)
    book.add(TS, 2, 2, BUY, 10_000, 30)
    book.replace(TS, 2, 10_100, new_qty)
    messages = translator.translate(book.event_rows)
    itch = ItchBooks([LOCATE])
    for message in messages:
        itch.apply(message)
    assert itch.book(LOCATE).depth(10).price_levels() == depth(book)
    assert isinstance(messages[2], OrderExecuted)
    assert messages[2].order_ref == 1
    if rests:
        assert isinstance(messages[3], OrderReplace)
        assert (messages[3].shares, messages[3].price) == (rests, 10_100)
    else:
        assert isinstance(messages[3], OrderDelete)


class _Receiver(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.queue: asyncio.Queue[bytes] = asyncio.Queue()

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        self.queue.put_nowait(data)


async def _receive_session(receiver: _Receiver) -> tuple[list[bytes], int]:
    """Every message of the session until its end mark, in sequence; and the number of heartbeats seen."""
    sequencer = MoldSequencer()
    messages: list[bytes] = []
    heartbeats = 0
    while not sequencer.ended:
        packet = parse_packet(await asyncio.wait_for(receiver.queue.get(), TIMEOUT))
        heartbeats += packet.is_heartbeat
        delivery = sequencer.accept(packet)
        assert delivery.gap is None
        messages.extend(message for _, message in delivery.messages)
    return messages, heartbeats


async def _publish_and_rebuild() -> None:
    loop = asyncio.get_running_loop()
    transport, receiver = await loop.create_datagram_endpoint(_Receiver, local_addr=("127.0.0.1", 0))
    port = transport.get_extra_info("sockname")[1]
    publisher = MoldUdpSender(session="SIM0001", port=port, heartbeat_ns=0, max_packet=300)
    book = MatchingBook(tick=100, record_anonymous=True)
    translator = ItchTranslator(locate=LOCATE, stock="SIMX")
    try:
        publisher.open(AsyncioScheduler())
        publisher.send([translator.directory(TS)])
        publisher.send_heartbeat()
        flow = Flow(book, 3)
        for _ in range(200):
            flow.step()
            publisher.send(translator.translate(book.event_rows))
            book.clear_events()
        publisher.close()
        raw, heartbeats = await _receive_session(receiver)
    finally:
        transport.close()
    assert heartbeats == 1
    assert publisher.packets_sent > 20  # small packets: many messages split over many datagrams
    decoded = [decode_message(message) for message in raw]
    assert isinstance(decoded[0], StockDirectory)
    assert decoded[0].stock == "SIMX"
    assert len(decoded) == publisher.next_sequence - 1
    itch = ItchBooks([LOCATE])
    for message in decoded:
        itch.apply(message)
    rebuilt = itch.book(LOCATE)
    bid, bid_qty, ask, ask_qty = book.top()
    assert rebuilt.best_bid() == (None if bid is None else (bid, bid_qty))
    assert rebuilt.best_ask() == (None if ask is None else (ask, ask_qty))
    assert rebuilt.depth(1000).price_levels() == depth(book)
    assert book.resting_orders > 0


def test_the_book_published_over_loopback_udp_is_rebuilt_by_a_receiver() -> None:
    asyncio.run(asyncio.wait_for(_publish_and_rebuild(), 4 * TIMEOUT))


def test_the_publisher_refuses_a_non_loopback_address_and_sending_before_start() -> None:
    with pytest.raises(ValueError, match="loopback"):
        MoldUdpSender(session="S", host="10.1.2.3", port=9)
    publisher = MoldUdpSender(session="S", port=9)
    with pytest.raises(RuntimeError, match="not open"):
        publisher.send_heartbeat()
    assert publisher.next_sequence == 1
