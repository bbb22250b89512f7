"""FIX benchmarks: the codec's parse and encode rates, and the engine's FIX server over loopback.

Usage: ``python -m bench fix [--messages N] [--runs N] [--round-trips N] [--orders N] [--busy-poll-us US]
[--client-spin] [--no-server] [--json]``.

Codec: parse and encode rates of a ~165-byte NewOrderSingle, ours against ``simplefix``; the median of ``--runs``
timed runs (messages per second). ``parse`` feeds one frame at a time to :class:`engine.fix.codec.FixParser`
(framing, BodyLength and CheckSum checks, field split); ``encode`` writes a frame from its field list.
``simplefix`` is measured when importable (``uv pip install simplefix==1.0.17``), else skipped with a note.

Server (``workstation-engine serve`` in a child process, the engine on the simulated exchange trading AAPL,
journal and FIX sequence numbers in SQLite in a temporary directory; the client a blocking socket here):

* ``round_trip``: a NewOrderSingle sent, its acknowledgement (ExecutionReport 150=0) received, one at a time;
  p50/p99 over ``--round-trips`` orders after a warm-up. The orders rest away from the market (no fills).
* ``sustained``: ``--orders`` NewOrderSingles written as fast as the socket takes them on one session; orders
  per second until every one is acknowledged, checking that each got exactly one acknowledgement. With it, the
  server's CPU time per order over that burst (from ``/proc``, on Linux): its event-loop thread's
  (``server_loop_cpu_us_per_order``, steadier than the rate on a shared machine) and all its threads'.
* ``echo_round_trip``: the floor of this machine, measured in the same run: the same client and message size
  against a plain Python echo server in a child process (blocking sockets). What the server's round trip adds
  to it is the engine's and the FIX layer's own time.

``--busy-poll-us`` starts the server with ``serve --busy-poll-us``: its event loop polls instead of sleeping.
``--client-spin`` makes the client of the round trips (and of the echo floor) poll its socket instead of blocking
on it, as a low-latency FIX client does: neither end then pays an idle CPU's wake-up. Both need a core each.

The account has no risk checks but the kill switch (the default order-rate limit would refuse a burst). The
simulated venue's order latency is ``--venue-latency-us`` (0 by default: the figures are the engine's and the
server's own; any latency below a millisecond costs about a millisecond, as asyncio sleeps in whole
milliseconds).
"""

from __future__ import annotations

import argparse
import json
import socket
import statistics
import time
from collections.abc import Callable

from engine.fix.codec import FixParser, encode
from engine.fix.message import FixMessage

NEW_ORDER_SINGLE: list[tuple[int, bytes]] = [
    (35, b"D"), (49, b"CLIENT1"), (56, b"EXCHANGE"), (34, b"1234"), (52, b"20240601-13:30:00.123"),
    (11, b"ORD-0000012"), (21, b"1"), (55, b"AAPL"), (54, b"1"), (60, b"20240601-13:30:00.123"),
    (38, b"100"), (40, b"2"), (44, b"187.25"), (59, b"0"),
]  # fmt: skip


def _rate(run: Callable[[int], None], count: int, runs: int) -> float:
    run(max(1, count // 10))
    rates = []
    for _ in range(runs):
        start = time.perf_counter()
        run(count)
        rates.append(count / (time.perf_counter() - start))
    return statistics.median(rates)


def _ours(frame: bytes) -> tuple[Callable[[int], None], Callable[[int], None]]:
    parser = FixParser()

    def parse(count: int) -> None:
        feed = parser.feed
        for _ in range(count):
            feed(frame)

    def write(count: int) -> None:
        for _ in range(count):
            encode(NEW_ORDER_SINGLE)

    return parse, write


def _simplefix(frame: bytes) -> tuple[Callable[[int], None], Callable[[int], None]] | None:
    try:
        import simplefix  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        return None
    parser = simplefix.FixParser()

    def parse(count: int) -> None:
        for _ in range(count):
            parser.append_buffer(frame)
            parser.get_message()

    def write(count: int) -> None:
        for _ in range(count):
            message = simplefix.FixMessage()
            message.append_pair(8, b"FIX.4.4", header=True)
            for tag, value in NEW_ORDER_SINGLE:
                message.append_pair(tag, value, header=tag in (35, 49, 56, 34, 52))
            message.encode()

    return parse, write


def _server_benchmarks(
    round_trips: int, orders: int, venue_latency_us: int, busy_poll_us: int, client_spin: bool
) -> dict[str, object]:
    """Round trip and sustained rate of orders through ``workstation-engine serve`` (see the module docs)."""
    import re
    import shutil
    import subprocess
    import sys
    import tempfile
    from pathlib import Path

    from engine.fix.users import add_user

    work = Path(tempfile.mkdtemp(prefix="bench-fix-"))
    users = work / "users.toml"
    add_user(users, "bench", "bench-password", accounts=["main"])
    config = work / "engine.toml"
    config.write_text(
        f"[simulator]\norder_latency_us = {venue_latency_us}\n\n"
        '[[instruments]]\nsymbol = "AAPL"\nstart_price = "190.00"\n\n[[accounts]]\nname = "main"\nrisk = {}\n'
    )
    command = [sys.executable, "-m", "engine.cli", "--config", str(config), "--db", f"sqlite:///{work / 'engine.db'}"]
    command += ["serve", "--listen", "127.0.0.1:0", "--users", str(users), "--seed", "3"]
    command += ["--busy-poll-us", str(busy_poll_us)]
    server = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert server.stdout is not None
        port = 0
        for line in server.stdout:
            match = re.match(r"listening on 127\.0\.0\.1:(\d+)", line)
            if match:
                port = int(match.group(1))
                break
        if not port:
            raise RuntimeError("the FIX server did not start")
        client = _BenchClient(socket.create_connection(("127.0.0.1", port)))
        try:
            client.logon()
            latencies = client.round_trips(round_trips, spin=client_spin)
            cpu_before = _thread_cpu_s(server.pid)
            rate = client.sustained(orders)
            cpu_after = _thread_cpu_s(server.pid)
        finally:
            client.close()
    finally:
        server.terminate()
        server.wait(60)
        shutil.rmtree(work, ignore_errors=True)
    latencies.sort()
    return {
        "venue_latency_us": venue_latency_us,
        "server_busy_poll_us": busy_poll_us,
        "client_spin": client_spin,
        "round_trips": round_trips,
        "round_trip_p50_us": round(latencies[len(latencies) // 2] / 1000, 1),
        "round_trip_p99_us": round(latencies[min(len(latencies) - 1, len(latencies) * 99 // 100)] / 1000, 1),
        "sustained_orders": orders,
        "sustained_orders_per_s": round(rate),
        **_cpu_per_order(server.pid, cpu_before, cpu_after, orders),
    }


_ECHO_SERVER = """
import socket, sys
listener = socket.create_server(("127.0.0.1", 0))
print(listener.getsockname()[1], flush=True)
connection, _ = listener.accept()
connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
while data := connection.recv(1 << 16):
    connection.sendall(data)
"""


def _echo_floor(round_trips: int, message_bytes: int, spin: bool) -> dict[str, float]:
    """Round trips of ``message_bytes`` through a plain Python echo server in a child process (blocking sockets;
    the client polls with ``spin``): the loopback floor of this machine for a client like the benchmark's."""
    import subprocess
    import sys

    server = subprocess.Popen([sys.executable, "-c", _ECHO_SERVER], stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        port = int(server.stdout.readline())
        with socket.create_connection(("127.0.0.1", port)) as sock:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            message = b"x" * message_bytes
            latencies = []
            for index in range(round_trips + round_trips // 10):
                start = time.perf_counter_ns()
                sock.sendall(message)
                received = 0
                while received < message_bytes:
                    received += len(_recv(sock, spin))
                if index >= round_trips // 10:
                    latencies.append(time.perf_counter_ns() - start)
    finally:
        server.kill()
        server.wait(30)
    latencies.sort()
    return {
        "echo_round_trip_p50_us": round(latencies[len(latencies) // 2] / 1000, 1),
        "echo_round_trip_p99_us": round(latencies[min(len(latencies) - 1, len(latencies) * 99 // 100)] / 1000, 1),
    }


def _thread_cpu_s(pid: int) -> dict[int, float]:
    """CPU seconds (user + system) of each thread of process ``pid``; empty where ``/proc`` is not there."""
    import os
    from pathlib import Path

    tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    seconds: dict[int, float] = {}
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        seconds[int(task.name)] = (int(fields[11]) + int(fields[12])) / tick
    return seconds


def _cpu_per_order(pid: int, before: dict[int, float], after: dict[int, float], orders: int) -> dict[str, float]:
    """The server's CPU microseconds per order between two readings: its main (event-loop) thread's and all."""
    if pid not in before or pid not in after:
        return {}
    total = sum(after.values()) - sum(before.get(task, 0.0) for task in after)
    return {
        "server_loop_cpu_us_per_order": round((after[pid] - before[pid]) / orders * 1e6, 1),
        "server_cpu_us_per_order": round(total / orders * 1e6, 1),
    }


def _recv(sock: socket.socket, spin: bool) -> bytes:
    """What the socket holds (b"" at its end): waits blocked in the kernel, or with ``spin`` polls until it comes."""
    if not spin:
        return sock.recv(1 << 20)
    while True:
        try:
            return sock.recv(1 << 20, socket.MSG_DONTWAIT)
        except BlockingIOError:
            continue


class _BenchClient:
    """A minimal blocking FIX client for the server benchmarks."""

    def __init__(self, sock: socket.socket) -> None:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock = sock
        self.seq = 1
        self.parser = FixParser()
        self.next_id = 0

    def frame(self, msg_type: bytes, body: list[tuple[int, bytes]]) -> bytes:
        from engine.fix.message import format_utc_timestamp

        header = [(35, msg_type), (49, b"bench"), (56, b"ENGINE"), (34, b"%d" % self.seq)]
        self.seq += 1
        return encode([*header, (52, format_utc_timestamp(time.time_ns())), *body])

    def order(self) -> tuple[bytes, bytes]:
        """A resting limit order (buy below or sell above the market, which opens at 190.00) and its ClOrdID."""
        self.next_id += 1
        cl_ord_id = b"B-%d" % self.next_id
        level = b"%02d" % (self.next_id % 100)  # spread over 100 price levels per side
        side, price = (b"1", b"185." + level) if self.next_id % 2 else (b"2", b"195." + level)
        body = [(11, cl_ord_id), (55, b"AAPL"), (54, side), (60, b"20240601-13:30:00"), (38, b"1"), (40, b"2")]
        return self.frame(b"D", [*body, (44, price)]), cl_ord_id

    def receive(self, spin: bool = False) -> list[FixMessage]:
        data = _recv(self.sock, spin)
        if not data:
            raise ConnectionError("the server closed the connection")
        return self.parser.feed(data)

    def logon(self) -> None:
        body = [(98, b"0"), (108, b"30"), (553, b"bench"), (554, b"bench-password")]
        self.sock.sendall(self.frame(b"A", body))
        while not any(message.msg_type == "A" for message in self.receive()):
            pass

    def round_trips(self, count: int, spin: bool) -> list[int]:
        latencies: list[int] = []
        for index in range(count + count // 10):
            frame, cl_ord_id = self.order()
            start = time.perf_counter_ns()
            self.sock.sendall(frame)
            while not any(m.get(11) == cl_ord_id and m.get(150) == b"0" for m in self.receive(spin)):
                pass
            if index >= count // 10:  # after the warm-up
                latencies.append(time.perf_counter_ns() - start)
        return latencies

    def sustained(self, count: int) -> float:
        import threading

        frames = [self.order() for _ in range(count)]
        expected = {cl_ord_id for _, cl_ord_id in frames}
        acked: list[bytes] = []

        def read() -> None:
            while len(acked) < count:
                acked.extend(m.get(11) or b"" for m in self.receive() if m.get(150) in (b"0", b"8"))

        reader = threading.Thread(target=read, daemon=True)
        start = time.perf_counter()
        reader.start()
        for offset in range(0, count, 200):
            self.sock.sendall(b"".join(frame for frame, _ in frames[offset : offset + 200]))
        reader.join(300)
        elapsed = time.perf_counter() - start
        if sorted(acked) != sorted(expected):
            raise AssertionError(f"{len(acked)} acknowledgements for {count} orders")
        return count / elapsed

    def close(self) -> None:
        self.sock.close()


def main(argv: list[str]) -> int:
    """Run the benchmark and print its figures (one JSON object with ``--json``)."""
    parser = argparse.ArgumentParser(prog="bench fix", description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=200_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--round-trips", type=int, default=2_000)
    parser.add_argument("--orders", type=int, default=20_000)
    parser.add_argument("--venue-latency-us", type=int, default=0, help="the simulated venue's order latency")
    parser.add_argument(
        "--busy-poll-us", type=int, default=0, help="the server's busy poll (serve --busy-poll-us; 0: off)"
    )
    parser.add_argument(
        "--client-spin", action="store_true", help="the round trips' client polls its socket instead of blocking"
    )
    parser.add_argument("--no-server", action="store_true", help="only the codec figures")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    frame = encode(NEW_ORDER_SINGLE)
    assert len(FixParser().feed(frame)) == 1
    results: dict[str, object] = {"benchmark": "fix", "message_bytes": len(frame), "messages": args.messages}
    parse, write = _ours(frame)
    results["ours_parse_per_s"] = round(_rate(parse, args.messages, args.runs))
    results["ours_encode_per_s"] = round(_rate(write, args.messages, args.runs))
    peer = _simplefix(frame)
    if peer is None:
        results["simplefix"] = "not installed: uv pip install simplefix==1.0.17 (or uv run --with simplefix ...)"
    else:
        count = max(1, args.messages // 10)
        results["simplefix_parse_per_s"] = round(_rate(peer[0], count, args.runs))
        results["simplefix_encode_per_s"] = round(_rate(peer[1], count, args.runs))
    if not args.no_server:
        results.update(
            _server_benchmarks(
                args.round_trips, args.orders, args.venue_latency_us, args.busy_poll_us, args.client_spin
            )
        )
        results.update(_echo_floor(args.round_trips, len(frame), args.client_spin))
    if args.json:
        print(json.dumps(results))
    else:
        for key, value in results.items():
            print(
                f"{key:>28}: {value:,}"
                if isinstance(value, int) and not isinstance(value, bool)
                else f"{key:>28}: {value}"
            )
    return 0
