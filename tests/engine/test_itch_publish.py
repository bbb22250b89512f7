"""The simulated exchange configured to publish ITCH: an engine started from a TOML file sends its books over
MoldUDP64 on loopback UDP, and a receiver that decodes them rebuilds the exchange's books order by order."""

from __future__ import annotations

import asyncio
import socket
import textwrap
from pathlib import Path

from core.commands import SubmitOrder
from core.enums import ExecType, Side
from core.events import ExecutionReport
from engine.assembly import build_engine
from engine.clock import AsyncioScheduler
from engine.config import load_config
from engine.itch.book import ItchBooks
from engine.itch.decode import decode_message
from engine.itch.encode import encode_message
from engine.itch.messages import (
    AddOrder,
    Message,
    OrderCancel,
    OrderDelete,
    OrderExecuted,
    OrderReplace,
    StockDirectory,
    SystemEvent,
)
from engine.itch.moldudp64 import MoldPacket, MoldSequencer, parse_packet
from engine.itch.publisher import ItchTranslator
from engine.itch.udp import encode_trusted
from engine.plugins import PluginRegistry
from engine.sim.exchange import SimulatedExchange
from engine.sim.matching import MatchingBook
from tests.feeds.test_itch_publisher import Flow
from tests.ouch.harness import eventually

TIMEOUT_S = 10.0
START_NS = 1_767_623_400_000_000_000
SYMBOLS = ("AAPL", "MSFT")


class _Receiver:
    """A UDP socket on loopback read by a thread of its own, with a buffer deep enough for the bursts of the first
    seconds (while the kernel compiles, the exchange catches up in one go), so that no datagram is lost."""

    def __init__(self) -> None:
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        self.socket.bind(("127.0.0.1", 0))
        self.socket.settimeout(TIMEOUT_S)
        self.port: int = self.socket.getsockname()[1]
        self.packets: list[MoldPacket] = []

    def receive_session(self) -> None:
        """Receive until the end-of-session mark (a timeout raises)."""
        while not (self.packets and self.packets[-1].is_end_of_session):
            self.packets.append(parse_packet(self.socket.recv(65_536)))


def _config_file(tmp_path: Path, port: int) -> Path:
    path = tmp_path / "engine.toml"
    path.write_text(
        textwrap.dedent(
            f"""
            [simulator]
            seed = 11
            order_latency_us = 0
            publish_interval_ms = 5

            [simulator.itch]
            publish = "127.0.0.1:{port}"
            session = "TEST01"
            max_messages_per_packet = 16
            heartbeat_ms = 20

            [[instruments]]
            symbol = "AAPL"
            start_price = "190.00"

            [[instruments]]
            symbol = "MSFT"
            start_price = "420.00"

            [[accounts]]
            name = "main"
            risk = {{}}
            """
        )
    )
    return path


def _session(packets: list[MoldPacket]) -> tuple[list[Message], set[str]]:
    """Every message of the session up to its end mark, in sequence (asserting no gap); and the session names."""
    sequencer = MoldSequencer()
    messages: list[Message] = []
    for packet in packets:
        delivery = sequencer.accept(packet)
        assert delivery.gap is None
        messages.extend(decode_message(raw) for _, raw in delivery.messages)
    assert sequencer.ended
    return messages, {packet.session for packet in packets}


async def _run(tmp_path: Path, registry: PluginRegistry) -> None:
    receiver = _Receiver()
    receiving = asyncio.create_task(asyncio.to_thread(receiver.receive_session))
    try:
        config = load_config(_config_file(tmp_path, receiver.port))
        engine = build_engine(config, registry, AsyncioScheduler())
        exchange = engine.venues["sim"]
        assert isinstance(exchange, SimulatedExchange)
        reports: list[ExecutionReport] = []
        engine.bus.subscribe(ExecutionReport, reports.append)
        engine.start()
        try:
            await eventually(lambda: len(receiver.packets) > 100)  # the background traders' traffic
            for symbol in SYMBOLS:  # and the engine's own orders, resting at and crossing the touch
                bid, _, ask, _ = exchange.book(symbol).top()
                assert bid is not None
                assert ask is not None
                for number, (side, price) in enumerate([(Side.BUY, bid), (Side.SELL, ask), (Side.BUY, ask)]):
                    engine.submit(
                        SubmitOrder(
                            client_order_id=f"{symbol}-{number}", account="main", instrument=symbol, side=side,
                            quantity=300, price=price,
                        )
                    )  # fmt: skip
            await eventually(lambda: len({report.client_order_id for report in reports}) == 3 * len(SYMBOLS))
            seen = len(receiver.packets)
            await eventually(lambda: len(receiver.packets) > seen + 50)
        finally:
            engine.stop()
        await receiving
    finally:
        receiver.socket.close()
    messages, sessions = _session(receiver.packets)

    assert sessions == {"TEST01"}
    assert isinstance(messages[0], SystemEvent)
    assert messages[0].event_code == "O"
    assert isinstance(messages[-1], SystemEvent)
    assert messages[-1].event_code == "C"
    directory = {m.stock_locate: m.stock.strip() for m in messages if isinstance(m, StockDirectory)}
    assert directory == {1: "AAPL", 2: "MSFT"}
    assert {type(m) for m in messages} >= {AddOrder, OrderExecuted, OrderDelete}
    books = ItchBooks(list(directory))
    for message in messages:
        books.apply(message)
    for locate, symbol in directory.items():
        matching = exchange.book(symbol)
        bids, asks = matching.depth(10_000)
        rebuilt = books.book(locate).depth(10_000).price_levels()
        assert rebuilt == (tuple(map(tuple, bids.tolist())), tuple(map(tuple, asks.tolist())))
        assert len(books.book(locate)) == matching.resting_orders
        assert matching.resting_orders > 10
    assert exchange.itch is not None
    assert exchange.itch.sender is None  # closed at stop
    # The engine's own orders were in the books the feed carried: resting ones acknowledged, crossing ones filled.
    assert {r.exec_type for r in reports} >= {ExecType.NEW, ExecType.TRADE}


def test_the_exchange_configured_from_a_file_publishes_books_a_receiver_rebuilds(
    tmp_path: Path, registry: PluginRegistry
) -> None:
    asyncio.run(asyncio.wait_for(_run(tmp_path, registry), 6 * TIMEOUT_S))


def test_the_publishers_encoding_is_the_codecs() -> None:
    book = MatchingBook(tick=100, record_anonymous=True)
    flow = Flow(book, 5)
    translator = ItchTranslator(locate=3, stock="ZVZZT")
    messages: list[Message] = [translator.directory(START_NS)]
    for _ in range(400):
        flow.step()
        messages += translator.translate(book.event_rows)
        book.clear_events()
    assert {type(m) for m in messages} >= {AddOrder, OrderExecuted, OrderCancel, OrderDelete, OrderReplace}
    assert [encode_trusted(m) for m in messages] == [encode_message(m) for m in messages]
