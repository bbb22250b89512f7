"""SoupBinTCP 3.0 over real loopback sockets: framing, login, heartbeats, replay after reconnection, bad input."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from engine.ouch import soupbintcp as sb
from engine.ouch.soupbintcp import (
    LoginAccepted,
    LoginRejected,
    LoginRequest,
    PacketReader,
    SoupBinClient,
    SoupBinServer,
)
from tests.ouch.harness import eventually

RUN_S = 10.0


class EchoApplication:
    """Accepts password ``secret``; records client messages; refuses those starting with ``bad``."""

    def __init__(self) -> None:
        self.received: list[tuple[str, bytes]] = []

    def authenticate(self, username: str, password: str) -> bool:
        return password == "secret"

    def on_message(self, username: str, payload: bytes) -> None:
        if payload.startswith(b"bad"):
            raise ValueError(f"cannot handle {payload!r}")
        self.received.append((username, payload))


class Recorder:
    def __init__(self) -> None:
        self.messages: list[tuple[int, bytes]] = []
        self.closed: list[str] = []

    def client(self, port: int, username: str = "ALICE", password: str = "secret", **timers: float) -> SoupBinClient:
        return SoupBinClient(
            host="127.0.0.1", port=port, username=username, password=password,
            on_message=lambda seq, payload: self.messages.append((seq, payload)), on_closed=self.closed.append,
            **timers,
        )  # fmt: skip


def run(coroutine_function: object) -> None:
    asyncio.run(asyncio.wait_for(coroutine_function(), RUN_S))  # type: ignore[operator]


# --- framing ------------------------------------------------------------------------------------------------


def test_packets_are_framed_with_a_big_endian_length_that_counts_the_type() -> None:
    assert sb.packet(sb.UNSEQUENCED, b"abc") == b"\x00\x04Uabc"
    assert sb.packet(sb.SERVER_HEARTBEAT) == b"\x00\x01H"
    login = LoginRequest(username="ALICE", password="secret", session="", sequence=42).encode()
    assert login == b"\x00\x2fL" + b"ALICE " + b"secret    " + b" " * 10 + b" " * 18 + b"42"
    assert LoginRequest.decode(login[3:]) == LoginRequest(username="ALICE", password="secret", sequence=42)
    accepted = LoginAccepted(session="DAY1", sequence=7).encode()
    assert accepted == b"\x00\x1fA" + b"      DAY1" + b" " * 19 + b"7"
    assert LoginAccepted.decode(accepted[3:]) == LoginAccepted(session="DAY1", sequence=7)


def test_a_stream_split_at_every_byte_gives_the_same_packets() -> None:
    stream = (
        sb.packet(sb.SEQUENCED, b"first") + sb.packet(sb.SERVER_HEARTBEAT) + sb.packet(sb.SEQUENCED, bytes(300))
        + sb.packet(sb.END_OF_SESSION)
    )  # fmt: skip
    expected = [
        (sb.SEQUENCED, b"first"),
        (sb.SERVER_HEARTBEAT, b""),
        (sb.SEQUENCED, bytes(300)),
        (sb.END_OF_SESSION, b""),
    ]
    for cut in range(len(stream) + 1):
        reader = PacketReader(sb.SERVER_TYPES)
        assert reader.feed(stream[:cut]) + reader.feed(stream[cut:]) == expected
    reader = PacketReader(sb.SERVER_TYPES)
    assert [packet for byte in stream for packet in reader.feed(bytes((byte,)))] == expected
    assert reader.pending == 0


def test_bad_framing_names_the_stream_offset() -> None:
    reader = PacketReader(sb.SERVER_TYPES)
    assert reader.feed(sb.packet(sb.SERVER_HEARTBEAT) + sb.packet(sb.LOGIN_REQUEST, b"x")) == [
        (sb.SERVER_HEARTBEAT, b"")
    ]
    with pytest.raises(sb.SoupBinError, match="unexpected packet type 'L' at stream offset 3"):
        reader.feed(b"")
    with pytest.raises(sb.SoupBinError, match="packet of length 0"):
        PacketReader(sb.SERVER_TYPES).feed(b"\x00\x00")
    with pytest.raises(sb.SoupBinError, match="login request payload is 3 bytes, expected 46"):
        LoginRequest.decode(b"abc")


def test_packets_split_across_tcp_reads_reach_the_server_whole() -> None:
    async def scenario() -> None:
        app = EchoApplication()
        server = SoupBinServer(app)
        port = await server.start()
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        data = LoginRequest(username="ALICE", password="secret").encode()
        data += sb.packet(sb.UNSEQUENCED, b"hello") + sb.packet(sb.UNSEQUENCED, b"world" * 50)
        for index in range(len(data)):
            writer.write(data[index : index + 1])
            await writer.drain()
            await asyncio.sleep(0)
        await eventually(lambda: len(app.received) == 2)
        assert app.received == [("ALICE", b"hello"), ("ALICE", b"world" * 50)]
        answer = PacketReader(sb.SERVER_TYPES).feed(await reader.read(100))
        assert answer[0] == (sb.LOGIN_ACCEPTED, LoginAccepted(session="1", sequence=1).encode()[3:])
        writer.close()
        await server.close()

    run(scenario)


# --- login --------------------------------------------------------------------------------------------------


def test_login_accepted_then_messages_both_ways() -> None:
    async def scenario() -> None:
        app = EchoApplication()
        server = SoupBinServer(app, session="DAY1")
        port = await server.start()
        seen = Recorder()
        client = seen.client(port)
        accepted = await client.connect()
        assert accepted == LoginAccepted(session="DAY1", sequence=1)
        assert client.session == "DAY1"
        client.send(b"order")
        await eventually(lambda: app.received == [("ALICE", b"order")])
        assert server.send("ALICE", b"ack") == 1
        await eventually(lambda: seen.messages == [(1, b"ack")])
        await client.logout()
        await eventually(lambda: server.logouts == [("ALICE", "logout requested")])
        assert seen.closed == []
        await server.close()

    run(scenario)


def test_login_rejected_for_a_bad_password_or_an_unknown_session() -> None:
    async def scenario() -> None:
        server = SoupBinServer(EchoApplication(), session="DAY1")
        port = await server.start()
        with pytest.raises(LoginRejected, match=r"'A' \(not authorized\)") as info:
            await Recorder().client(port, password="wrong").connect()
        assert info.value.reason == "A"
        client = Recorder().client(port)
        client.session = "DAY0"
        with pytest.raises(LoginRejected, match=r"'S' \(session not available\)"):
            await client.connect()
        assert not client.connected
        assert server.logged_in("ALICE") == 0
        await server.close()

    run(scenario)


# --- heartbeats ---------------------------------------------------------------------------------------------


def test_heartbeats_keep_a_quiet_connection_alive() -> None:
    async def scenario() -> None:
        server = SoupBinServer(EchoApplication(), heartbeat_s=0.02, timeout_s=0.5)
        port = await server.start()
        seen = Recorder()
        client = seen.client(port, heartbeat_s=0.02, timeout_s=0.5)
        await client.connect()
        await asyncio.sleep(1.5)  # three timeouts of silence but for the heartbeats
        assert client.connected
        assert server.logged_in("ALICE") == 1
        assert seen.closed == []
        await client.close()
        await server.close()

    run(scenario)


def test_the_server_heartbeats_and_drops_a_silent_client() -> None:
    async def scenario() -> None:
        server = SoupBinServer(EchoApplication(), heartbeat_s=0.02, timeout_s=0.3)
        port = await server.start()
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(LoginRequest(username="ALICE", password="secret").encode())
        packets = PacketReader(sb.SERVER_TYPES)
        kinds: list[int] = []
        while data := await reader.read(1000):
            kinds += [kind for kind, _ in packets.feed(data)]
        assert kinds[0] == sb.LOGIN_ACCEPTED
        assert kinds.count(sb.SERVER_HEARTBEAT) >= 3
        assert server.logouts == [("ALICE", "no data from the client for 0.3 s")]
        writer.close()
        await server.close()

    run(scenario)


def test_the_client_drops_a_silent_server() -> None:
    async def scenario() -> None:
        async def mute(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await reader.read(49)
            writer.write(LoginAccepted(session="X", sequence=1).encode())
            with contextlib.suppress(ConnectionError):
                await reader.read()  # heartbeats from the client, until it gives up
            writer.close()

        server = await asyncio.start_server(mute, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        seen = Recorder()
        client = seen.client(port, heartbeat_s=0.02, timeout_s=0.3)
        await client.connect()
        await eventually(lambda: bool(seen.closed))
        assert seen.closed == ["no data from the server for 0.3 s"]
        assert not client.connected
        server.close()
        await server.wait_closed()

    run(scenario)


# --- sequencing and replay ----------------------------------------------------------------------------------


def test_a_reconnecting_client_gets_the_messages_it_missed_and_no_others() -> None:
    async def scenario() -> None:
        server = SoupBinServer(EchoApplication())
        port = await server.start()
        for index in range(1, 4):
            server.send("ALICE", b"m%d" % index)
        seen = Recorder()
        client = seen.client(port)
        await client.connect()
        await eventually(lambda: len(seen.messages) == 3)
        await client.close()
        await eventually(lambda: server.logged_in("ALICE") == 0)
        for index in range(4, 7):
            server.send("ALICE", b"m%d" % index)
        accepted = await client.connect()
        assert accepted.sequence == 4
        await eventually(lambda: len(seen.messages) == 6)
        assert seen.messages == [(index, b"m%d" % index) for index in range(1, 7)]
        # Another client asks for message 5 on: replayed from memory.
        later = Recorder()
        await later.client(port).connect(sequence=5)
        await eventually(lambda: len(later.messages) == 2)
        assert later.messages == [(5, b"m5"), (6, b"m6")]
        # Sequence 0 asks for new messages only.
        fresh = Recorder()
        assert (await fresh.client(port).connect(sequence=0)).sequence == 7
        server.send("ALICE", b"m7")
        await eventually(lambda: len(fresh.messages) == 1)
        assert fresh.messages == [(7, b"m7")]
        assert seen.messages[-1] == (7, b"m7")
        await server.close()

    run(scenario)


def test_a_client_with_bad_input_is_logged_out_and_the_others_go_on() -> None:
    async def scenario() -> None:
        app = EchoApplication()
        server = SoupBinServer(app)
        port = await server.start()
        bad, good = Recorder(), Recorder()
        bad_client, good_client = bad.client(port, username="BAD"), good.client(port, username="GOOD")
        await bad_client.connect()
        await good_client.connect()
        bad_client.send(b"bad news")
        await eventually(lambda: bool(bad.closed))
        assert "cannot handle b'bad news'" in bad.closed[0]
        assert server.logouts[0][0] == "BAD"
        # A framing error (a packet type a client may not send) is handled the same way.
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(LoginRequest(username="RAW", password="secret").encode() + sb.packet(sb.SEQUENCED, b"x"))
        while await reader.read(1000):
            pass
        assert "unexpected packet type 'S'" in server.logouts[-1][1]
        good_client.send(b"still here")
        await eventually(lambda: app.received == [("GOOD", b"still here")])
        assert good_client.connected
        writer.close()
        await good_client.close()
        await server.close()

    run(scenario)
