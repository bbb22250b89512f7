"""``workstation-engine serve``: the engine live on the simulated exchange behind a FIX 4.4 server, and
``workstation-engine users add``.

The server prints the address it listens on (``listening on HOST:PORT``, the real port when 0 was asked) and runs
until SIGINT or SIGTERM; it then logs every session out, stops the engine and exits 0. Orders, executions and
the FIX sequence numbers are in the engine's database, so a restarted server continues where it stopped.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import signal
import ssl
import sys
from pathlib import Path
from typing import TextIO

from engine.busy_poll import event_loop_factory
from engine.clock import AsyncioScheduler
from engine.config import EngineConfig
from engine.fix.server import DEFAULT_HOST, DEFAULT_PORT, FixServer, tls_context
from engine.fix.users import UsersFileError, add_user, default_users_path
from engine.gc_tuning import tune_for_live_trading
from engine.plugins import PluginRegistry
from engine.runtime import LiveRuntime
from engine.storage.db import StorageError, open_database


class ServeError(ValueError):
    """A ``serve`` or ``users`` command line that cannot be carried out (the message says why)."""


def parse_listen(text: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[v6]:PORT`` for IPv6; ``:PORT`` is the loopback address) as a host and a port."""
    host, colon, port_text = text.rpartition(":")
    if not colon or not port_text.isdigit() or int(port_text) > 65_535:
        raise ServeError(f"--listen {text!r}: expected HOST:PORT, e.g. {DEFAULT_HOST}:{DEFAULT_PORT}")
    host = host.strip("[]") or DEFAULT_HOST
    return host, int(port_text)


def add_serve_parsers(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Adds ``serve`` and ``users`` to the command line."""
    serve = commands.add_parser("serve", help="run the engine on the simulated exchange as a FIX 4.4 server")
    serve.add_argument("--listen", default=f"{DEFAULT_HOST}:{DEFAULT_PORT}", metavar="HOST:PORT")
    serve.add_argument("--users", metavar="FILE", help=f"users file (default: {default_users_path()})")
    serve.add_argument("--tls-cert", metavar="CERT", help="serve TLS with this certificate (PEM)")
    serve.add_argument("--tls-key", metavar="KEY", help="the certificate's private key (PEM)")
    serve.add_argument("--client-ca", metavar="CA", help="require client certificates signed by this CA (PEM)")
    serve.add_argument("--seed", type=int, help="simulator seed (default: the configuration's)")
    serve.add_argument(
        "--busy-poll-us", type=int, default=0, metavar="US",
        help="poll the sockets for up to US microseconds before sleeping: lower latency for a core kept busy "
        "(default 0: off)",
    )  # fmt: skip
    # Also accepted after the command; the values given before it are kept when these are absent.
    serve.add_argument("--config", metavar="FILE", default=argparse.SUPPRESS, help="engine configuration (TOML)")
    serve.add_argument("--db", metavar="URL", default=argparse.SUPPRESS, help="SQLAlchemy database URL")

    users = commands.add_parser("users", help="manage the users of the FIX server")
    actions = users.add_subparsers(dest="users_command", required=True)
    add = actions.add_parser(
        "add", help="add a user (the password is asked twice, or read as one line from a non-terminal stdin)"
    )
    add.add_argument("name")
    add.add_argument("--read-only", action="store_true", help="may see, may not trade or control")
    add.add_argument(
        "--account", action="append", default=[], metavar="A", help="an account the user may use (repeat; * = all)"
    )
    add.add_argument(
        "--no-cancel-on-disconnect", action="store_true", help="keep the user's orders when a session drops"
    )
    add.add_argument("--replace", action="store_true", help="replace an existing user (new password and settings)")
    add.add_argument("--users", metavar="FILE", help=f"users file (default: {default_users_path()})")


# --- users add ------------------------------------------------------------------------------------------------


def read_password(stdin: TextIO | None = None) -> str:
    """The new password: asked twice on a terminal, else the first line of stdin (for scripts)."""
    stream = sys.stdin if stdin is None else stdin
    if stream.isatty():
        first = getpass.getpass("Password: ")
        if first != getpass.getpass("Password again: "):
            raise ServeError("the passwords differ")
        password = first
    else:
        password = stream.readline().rstrip("\r\n")
    if not password:
        raise ServeError("the password must not be empty")
    return password


def run_users(args: argparse.Namespace) -> int:
    """``users add``: adds the user to the users file; returns the exit code."""
    path = Path(args.users) if args.users else default_users_path()
    password = read_password()
    try:
        user = add_user(
            path, args.name, password, read_only=args.read_only, accounts=args.account,
            cancel_on_disconnect=not args.no_cancel_on_disconnect, replace=args.replace,
        )  # fmt: skip
    except UsersFileError as error:
        raise ServeError(str(error)) from None
    rights = "read-only" if user.read_only else "trading"
    accounts = ", ".join(user.accounts) or "none"
    print(f"added {user.name} ({rights}; accounts: {accounts}) to {path}", flush=True)
    return 0


# --- serve ----------------------------------------------------------------------------------------------------


def run_serve(args: argparse.Namespace, config: EngineConfig, registry: PluginRegistry) -> int:
    """Run the server until SIGINT or SIGTERM; returns the exit code."""
    host, port = parse_listen(args.listen)
    if bool(args.tls_cert) != bool(args.tls_key):
        raise ServeError("--tls-cert and --tls-key go together")
    if args.client_ca and not args.tls_cert:
        raise ServeError("--client-ca needs --tls-cert and --tls-key")
    if args.busy_poll_us < 0:
        raise ServeError(f"--busy-poll-us must be 0 (off) or positive, not {args.busy_poll_us}")
    with asyncio.Runner(loop_factory=lambda: event_loop_factory(args.busy_poll_us)) as runner:
        return runner.run(_serve(args, config, registry, host, port))


async def _serve(args: argparse.Namespace, config: EngineConfig, registry: PluginRegistry, host: str, port: int) -> int:
    db_url = args.db or config.database_url
    try:
        tls = tls_context(args.tls_cert, args.tls_key, args.client_ca) if args.tls_cert else None
    except (OSError, ssl.SSLError) as error:
        raise ServeError(f"cannot load the TLS certificate or key: {error}") from None
    users = Path(args.users) if args.users else default_users_path()
    loop = asyncio.get_running_loop()
    runtime = LiveRuntime(config, registry, AsyncioScheduler(), db_url=db_url, seed=args.seed, commit_loop=loop)
    try:
        server = FixServer(
            runtime, database=open_database(db_url), users_path=users, sessions=config.fix.sessions, host=host,
            port=port, tls=tls, resend_retention_days=config.fix.resend_retention_days,
        )  # fmt: skip
    except (UsersFileError, StorageError, ValueError) as error:
        raise ServeError(str(error)) from None
    recovered = runtime.open()
    print(f"recovered {recovered.orders} orders and {recovered.fills} fills from the journal", flush=True)
    print(f"trading day {runtime.engine.trading_day}; the day rolls at {config.trading_day.describe()}", flush=True)
    for problem in recovered.problems:
        print(f"recovery problem: {problem}", file=sys.stderr)
    stop = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    tune_for_live_trading()
    runtime.start()
    try:
        try:
            bound_host, bound_port = await server.start()
        except OSError as error:
            raise ServeError(f"cannot listen on {host}:{port}: {error.strerror or error}") from None
        shown = f"[{bound_host}]" if ":" in bound_host else bound_host
        print(f"listening on {shown}:{bound_port}{' (TLS)' if tls else ''}", flush=True)
        await stop.wait()
        print("stopping: logging every session out", flush=True)
    finally:
        await server.stop()
        runtime.stop()
    print("stopped", flush=True)
    return 0
