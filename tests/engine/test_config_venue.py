"""Choosing and configuring the venue from the engine's file: ``[venue]`` with each plugin's own settings, checked
by the plugin and reported against the file's key; ``[simulator.itch]`` checked key by key."""

from __future__ import annotations

import asyncio
import textwrap
from pathlib import Path

import pytest

from core.commands import SubmitOrder
from core.enums import ExecType, OrdStatus, Side
from core.events import ExecutionReport
from engine.assembly import AssemblyError, build_engine
from engine.clock import AsyncioScheduler, SimulatedScheduler
from engine.config import ConfigError, EngineConfig, VenueConfig, dump_config, load_config
from engine.engine import Engine
from engine.fix.venue import FixVenue
from engine.ouch.gateway import OuchGateway
from engine.ouch.venue import OuchVenue
from engine.plugins import PluginRegistry
from engine.sim.exchange import SimulatedExchange
from engine.sim.itch_feed import ItchFeedSettings
from tests.ouch.harness import SYMBOL, USERS, eventually, quiet_exchange

START_NS = 1_767_623_400_000_000_000
PASSWORD_VARIABLE = "WORKSTATION_TEST_VENUE_PASSWORD"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "engine.toml"
    path.write_text(textwrap.dedent(text))
    return path


def built(tmp_path: Path, registry: PluginRegistry, text: str) -> Engine:
    return build_engine(load_config(write(tmp_path, text)), registry, SimulatedScheduler(START_NS))


def refused(tmp_path: Path, registry: PluginRegistry, text: str) -> ConfigError:
    """The error of a file that loads but whose venue refuses its settings when the engine is built."""
    with pytest.raises(ConfigError) as caught:
        built(tmp_path, registry, text)
    return caught.value


OUCH = """
[venue]
name = "ouch"
host = "127.0.0.1"
port = 15000
username = "FIRM1"
password_env = "WORKSTATION_TEST_VENUE_PASSWORD"
heartbeat_s = 0.5
"""

FIX = """
[venue]
name = "fix"
port = 9878
sender_comp_id = "router"
password_env = "WORKSTATION_TEST_VENUE_PASSWORD"
symbols = ["AAPL"]
market_data = false
"""


@pytest.fixture(autouse=True)
def venue_password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PASSWORD_VARIABLE, "pw1")


def test_without_a_venue_table_the_engine_trades_on_the_simulator(tmp_path: Path, registry: PluginRegistry) -> None:
    config = load_config(write(tmp_path, "[simulator]\nseed = 3\n"))
    assert config.venue == VenueConfig(name="sim", settings={})
    assert config.simulator.itch is None
    engine = build_engine(config, registry, SimulatedScheduler(START_NS))
    assert list(engine.venues) == ["sim"]
    exchange = engine.venues["sim"]
    assert isinstance(exchange, SimulatedExchange)
    assert exchange.itch is None


def test_the_ouch_venue_is_chosen_and_configured_by_the_file(tmp_path: Path, registry: PluginRegistry) -> None:
    engine = built(tmp_path, registry, OUCH)
    venue = engine.venues["ouch"]
    assert isinstance(venue, OuchVenue)
    settings = venue.settings
    assert (settings.host, settings.port, settings.username, settings.password) == ("127.0.0.1", 15000, "FIRM1", "pw1")
    assert settings.heartbeat_s == 0.5
    assert "pw1" not in (tmp_path / "engine.toml").read_text()


def test_the_fix_venue_is_chosen_and_configured_by_the_file(tmp_path: Path, registry: PluginRegistry) -> None:
    engine = built(tmp_path, registry, FIX)
    venue = engine.venues["fix"]
    assert isinstance(venue, FixVenue)
    settings = venue.settings
    assert (settings.port, settings.sender_comp_id, settings.target_comp_id) == (9878, "router", "ENGINE")
    assert (settings.password, settings.symbols, settings.market_data) == ("pw1", ("AAPL",), False)
    assert [instrument.symbol for instrument in venue.instruments()] == ["AAPL"]


@pytest.mark.parametrize(
    ("text", "key", "problem"),
    [
        (OUCH.replace("port = 15000", 'port = "http"'), "venue.port", 'expected a TCP port, found "http"'),
        (
            OUCH.replace("port = 15000", "port = 70000"),
            "venue.port",
            "expected a TCP port within 1..65535, found 70000",
        ),
        (OUCH.replace("host =", "hots ="), "venue.hots", "did you mean 'host'?"),
        (OUCH.replace('username = "FIRM1"\n', ""), "venue.username", "found nothing (the OUCH venue needs"),
        (OUCH.replace("heartbeat_s = 0.5", "heartbeat_s = true"), "venue.heartbeat_s", "found the boolean true"),
        (OUCH.replace("password_env", "password_source"), "venue.password_source", "unknown setting"),
        (OUCH.replace(PASSWORD_VARIABLE, "NO_SUCH_VARIABLE_HERE"), "venue.password_env", "NO_SUCH_VARIABLE_HERE"),
        (FIX.replace("market_data = false", 'market_data = "no"'), "venue.market_data", "expected true or false"),
        (FIX.replace('["AAPL"]', '["ZZZZ"]'), "venue.symbols", "expected instruments of the engine"),
        (FIX.replace('sender_comp_id = "router"\n', ""), "venue.sender_comp_id", "expected a CompID, found nothing"),
        ('[venue]\nname = "nasdaq"\n', "venue.name", 'expected a venue plugin (sim, ouch, fix), found "nasdaq"'),
    ],
)
def test_a_setting_the_venue_refuses_names_the_file_and_the_key(
    tmp_path: Path, registry: PluginRegistry, text: str, key: str, problem: str
) -> None:
    error = refused(tmp_path, registry, text)
    assert (error.source, error.key) == (str(tmp_path / "engine.toml"), key)
    assert problem in error.problem
    assert str(error).startswith(f"{tmp_path / 'engine.toml'}: {key}: ")


@pytest.mark.parametrize(
    ("text", "key", "problem"),
    [
        (OUCH.replace("password_env =", "password ="), "venue.password", "expected no password in the file"),
        ('[venue]\nname = "sim"\nseed = 1\n', "venue.seed", "the simulated exchange is configured in [simulator]"),
        ("[venue]\nname = 3\n", "venue.name", "expected a venue plugin name"),
        ('venue = "ouch"\n', "venue", "expected a table"),
    ],
)
def test_a_venue_table_the_loader_refuses(tmp_path: Path, text: str, key: str, problem: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, text))
    assert caught.value.key == key
    assert problem in caught.value.problem


ITCH = """
[simulator.itch]
publish = "127.0.0.1:26400"
"""


def test_the_itch_feed_settings_and_their_defaults(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, ITCH))
    assert config.simulator.itch == ItchFeedSettings(host="127.0.0.1", port=26400)
    assert config.simulator.itch.heartbeat_ns == 1_000_000_000
    full = ITCH + 'session = "SIM01"\nmax_messages_per_packet = 20\nheartbeat_ms = 0\n'
    itch = load_config(write(tmp_path, full)).simulator.itch
    assert itch == ItchFeedSettings(
        host="127.0.0.1", port=26400, session="SIM01", max_messages_per_packet=20, heartbeat_ns=0
    )
    ipv6 = load_config(write(tmp_path, ITCH.replace("127.0.0.1", "[::1]"))).simulator.itch
    assert ipv6 is not None
    assert (ipv6.host, ipv6.port) == ("::1", 26400)


def test_a_remote_feed_needs_allow_remote(tmp_path: Path) -> None:
    remote = ITCH.replace("127.0.0.1", "239.1.1.1")
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, remote))
    assert caught.value.key == "simulator.itch.publish"
    assert caught.value.problem == 'expected a loopback address (or allow_remote = true), found "239.1.1.1:26400"'
    allowed = load_config(write(tmp_path, remote + "allow_remote = true\n")).simulator.itch
    assert allowed is not None
    assert (allowed.host, allowed.allow_remote) == ("239.1.1.1", True)


@pytest.mark.parametrize(
    ("text", "key", "problem"),
    [
        (ITCH.replace("127.0.0.1:26400", "localhost:26400"), "simulator.itch.publish", "expected an IP address and"),
        (ITCH.replace(":26400", ""), "simulator.itch.publish", 'found "127.0.0.1"'),
        (ITCH.replace("26400", "99999"), "simulator.itch.publish", "port within 1..65535"),
        ('[simulator.itch]\nsession = "S"\n', "simulator.itch.publish", "found nothing (required)"),
        (ITCH + 'session = "TOO-LONG-NAME"\n', "simulator.itch.session", "1 to 10 ASCII letters or digits"),
        (ITCH + "max_messages_per_packet = 0\n", "simulator.itch.max_messages_per_packet", "within 1..65534"),
        (ITCH + "heartbeat_ms = -1\n", "simulator.itch.heartbeat_ms", "an integer >= 0"),
        (ITCH + "allow_remote = 1\n", "simulator.itch.allow_remote", "expected true or false"),
        (ITCH + "pubish = 1\n", "simulator.itch.pubish", "did you mean 'publish'?"),
        (
            ITCH + '[[instruments]]\nsymbol = "ES"\ntick_size = "0.25"\nprice_scale = 2\nstart_price = "5600.00"\n',
            "instruments[0].price_scale",
            "ITCH 5.0 prices have 4 decimals; ES's price scale is 2",
        ),
        (
            ITCH + '[[instruments]]\nsymbol = "LONGSYMBOL"\nstart_price = "10.00"\n',
            "instruments[0].symbol",
            "at most 8 ASCII characters",
        ),
    ],
)
def test_itch_settings_name_the_key(tmp_path: Path, text: str, key: str, problem: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, text))
    assert caught.value.key == key
    assert problem in caught.value.problem


def test_venue_and_itch_settings_dump_and_load_back_equal(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, OUCH + 'symbols = ["AAPL", "MSFT"]\n'))
    with_itch = load_config(
        write(tmp_path, ITCH + 'session = "X1"\nmax_messages_per_packet = 5\nallow_remote = true\n')
    )
    for original in (config, with_itch, EngineConfig()):
        (tmp_path / "dumped.toml").write_text(dump_config(original))
        again = load_config(tmp_path / "dumped.toml")
        assert (again.venue, again.simulator) == (original.venue, original.simulator)
    assert config.venue.settings["symbols"] == ["AAPL", "MSFT"]


def test_an_explicit_venue_overrides_the_file(tmp_path: Path, registry: PluginRegistry) -> None:
    config = load_config(write(tmp_path, OUCH))
    engine = build_engine(config, registry, SimulatedScheduler(START_NS), venue="sim")
    assert isinstance(engine.venues["sim"], SimulatedExchange)
    with pytest.raises(AssemblyError, match="no venue named 'nasdaq'"):
        build_engine(config, registry, SimulatedScheduler(START_NS), venue="nasdaq")


def test_an_engine_started_from_the_file_trades_through_an_ouch_gateway(
    tmp_path: Path, registry: PluginRegistry, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(PASSWORD_VARIABLE, USERS["FIRM1"])

    async def main() -> None:
        gateway = OuchGateway(quiet_exchange(), users=USERS, heartbeat_s=0.2, timeout_s=5.0)
        port = await gateway.start()
        text = f"""
            [[instruments]]
            symbol = "{SYMBOL}"
            start_price = "100.00"

            [[accounts]]
            name = "main"
            risk = {{}}

            [venue]
            name = "ouch"
            port = {port}
            username = "FIRM1"
            password_env = "{PASSWORD_VARIABLE}"
            reconnect_s = 0.05
            """
        engine = build_engine(load_config(write(tmp_path, text)), registry, AsyncioScheduler())
        venue = engine.venues["ouch"]
        assert isinstance(venue, OuchVenue)
        reports: list[ExecutionReport] = []
        engine.bus.subscribe(ExecutionReport, reports.append)
        engine.start()
        try:
            await asyncio.wait_for(venue.wait_logged_in(), 5.0)
            request = SubmitOrder(
                client_order_id="buy-1", account="main", instrument=SYMBOL, side=Side.BUY, quantity=300, price=1_005_000
            )
            engine.submit(request)
            await eventually(lambda: any(report.ord_status is OrdStatus.NEW for report in reports))
        finally:
            engine.stop()
            await asyncio.wait_for(venue.wait_stopped(), 5.0)
            await gateway.close()
        [accepted] = reports
        assert (accepted.exec_type, accepted.venue, accepted.leaves_qty) == (ExecType.NEW, "ouch", 300)

    asyncio.run(asyncio.wait_for(main(), 20.0))
