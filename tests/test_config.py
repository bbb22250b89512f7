"""Engine configuration: defaults without a file, a full file, and an error naming the key for each mistake."""

from __future__ import annotations

import dataclasses
import pickle
import textwrap
from datetime import date, time
from decimal import Decimal
from pathlib import Path

import pytest

from core.instruments import Instrument
from core.trading_day import TradingCalendar
from engine.config import (
    AccountConfig,
    ConfigError,
    EngineConfig,
    InstrumentConfig,
    SimulatorConfig,
    default_config,
    default_risk_limits,
    dump_config,
    dump_default_config,
    load_config,
)

RISK_CHECKS = {
    "max_order_quantity",
    "max_order_notional",
    "price_band",
    "max_position",
    "max_gross_exposure",
    "daily_loss",
    "order_rate",
    "restricted_instruments",
}

FULL = """
database_url = "postgresql+psycopg://trader@db.example/workstation"

[simulator]
seed = 42
order_latency_us = 75
market_data_latency_us = 5
publish_interval_ms = 25
maker_fee_bps = "-0.25"
taker_fee_bps = 1
stp = "cancel-resting"

[[instruments]]
symbol = "ES"
tick_size = "0.25"
price_scale = 2
lot_size = 1
currency = "USD"
start_price = "5600.75"

[instruments.sim]
zi_rate = 120.5
zi_max_distance = 10

[[instruments]]
symbol = "VOD"
tick_size = "0.0005"
lot_size = 100
currency = "GBP"
start_price = 1

[[accounts]]
name = "prop"
currency = "GBP"

[accounts.risk.max_order_quantity]
limit = 500

[accounts.risk.price_band]
ticks = 20
percent = 2.5

[accounts.risk.restricted_instruments]
symbols = ["GME", "AMC"]

[[accounts]]
name = "client-7"
"""


def write(tmp_path: Path, text: str, name: str = "engine.toml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def config_error(tmp_path: Path, text: str) -> str:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: "), message
    return message


# --- defaults --------------------------------------------------------------------------------------------------


def test_without_a_file_the_defaults_are_four_liquid_us_equities() -> None:
    config = load_config(None)
    assert config == default_config()
    assert config.source == "<defaults>"
    assert config.database_url is None
    starts = {c.instrument.symbol: c.instrument.to_decimal(c.start_price) for c in config.instruments}
    assert starts == {"AAPL": Decimal("190"), "MSFT": Decimal("420"), "SPY": Decimal("560"), "QQQ": Decimal("480")}
    aapl = config.instruments[0].instrument
    assert aapl == Instrument(symbol="AAPL", tick_size=100, price_scale=4, lot_size=1, currency="USD")
    assert list(config.instrument_map()) == ["AAPL", "MSFT", "SPY", "QQQ"]


def test_the_default_account_has_every_risk_check() -> None:
    (account,) = default_config().accounts
    assert (account.name, account.currency) == ("main", "USD")
    assert set(account.risk) == RISK_CHECKS
    assert account.risk["daily_loss"] == {"limit": "50000", "flatten": False}
    assert account.risk["order_rate"] == {"max_orders": 50, "window_ms": 1_000}
    assert Decimal(str(account.risk["max_order_notional"]["limit"])) > 0


def test_the_default_simulator() -> None:
    simulator = default_config().simulator
    assert simulator == SimulatorConfig(
        seed=7,
        order_latency_ns=50_000,
        market_data_latency_ns=20_000,
        publish_interval_ns=10_000_000,
        maker_fee_bps=Decimal("-0.2"),
        taker_fee_bps=Decimal("0.3"),
        stp_mode="cancel-incoming",
    )


# --- files -----------------------------------------------------------------------------------------------------


def test_a_full_file(tmp_path: Path) -> None:
    path = write(tmp_path, FULL)
    config = load_config(path)
    assert config.source == str(path)
    assert config.database_url == "postgresql+psycopg://trader@db.example/workstation"
    assert config.simulator == SimulatorConfig(
        seed=42,
        order_latency_ns=75_000,
        market_data_latency_ns=5_000,
        publish_interval_ns=25_000_000,
        maker_fee_bps=Decimal("-0.25"),
        taker_fee_bps=Decimal(1),
        stp_mode="cancel-resting",
    )
    es, vod = config.instruments
    assert es == InstrumentConfig(
        instrument=Instrument(symbol="ES", tick_size=25, price_scale=2, lot_size=1, currency="USD"),
        start_price=560_075,
        sim={"zi_rate": 120.5, "zi_max_distance": 10},
    )
    assert vod.instrument == Instrument(symbol="VOD", tick_size=5, price_scale=4, lot_size=100, currency="GBP")
    assert (vod.start_price, vod.sim) == (10_000, {})
    prop, client = config.accounts
    assert prop == AccountConfig(
        name="prop",
        currency="GBP",
        risk={
            "max_order_quantity": {"limit": 500},
            "price_band": {"ticks": 20, "percent": 2.5},
            "restricted_instruments": {"symbols": "GME,AMC"},
        },
    )
    assert client == AccountConfig(name="client-7", risk=default_risk_limits())


def test_what_a_file_leaves_out_keeps_its_default(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, "[simulator]\nseed = 3\n"))
    defaults = default_config()
    assert config.simulator == dataclasses.replace(defaults.simulator, seed=3)
    assert (config.instruments, config.accounts) == (defaults.instruments, defaults.accounts)


def test_an_empty_risk_table_means_no_checks(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, '[[accounts]]\nname = "free"\nrisk = {}\n'))
    assert config.accounts == (AccountConfig(name="free", risk={}),)


def test_the_default_file_loads_back_as_the_defaults(tmp_path: Path) -> None:
    text = dump_default_config()
    assert "# " in text
    loaded = load_config(write(tmp_path, text))
    assert dataclasses.replace(loaded, source="<defaults>") == default_config()


TRADING_DAY = """
[trading_day]
roll = "06:30"
timezone = "Europe/London"
weekdays = ["Sun", "mon", 2, "WED", 4]
holidays = ["2026-12-25", 2026-12-28, "2027-01-01", "2026-04-03"]
"""


@pytest.mark.parametrize("trading_day", ["", TRADING_DAY, TRADING_DAY.replace(', "2027-01-01", "2026-04-03"', "")])
def test_any_configuration_dumps_and_loads_back_equal(tmp_path: Path, trading_day: str) -> None:
    original = load_config(write(tmp_path, FULL + '\n[[accounts]]\nname = "bare"\nrisk = {}\n' + trading_day))
    again = load_config(write(tmp_path, dump_config(original), name="again.toml"))
    assert dataclasses.replace(again, source=original.source) == original


def test_the_trading_day_rolls_on_the_weekdays_but_the_holidays(tmp_path: Path) -> None:
    calendar = load_config(write(tmp_path, TRADING_DAY)).trading_day
    assert calendar == TradingCalendar(
        time(6, 30),
        "Europe/London",
        weekdays=frozenset({7, 1, 2, 3, 4}),
        holidays=frozenset({date(2026, 12, 25), date(2026, 12, 28), date(2027, 1, 1), date(2026, 4, 3)}),
    )
    assert not calendar.is_trading_date(date(2026, 12, 28))  # a Monday holiday
    assert calendar.is_trading_date(date(2026, 12, 27))  # a Sunday
    assert default_config().trading_day.weekdays == frozenset({1, 2, 3, 4, 5})
    assert default_config().trading_day.holidays == frozenset()


def test_a_configuration_travels_to_worker_processes() -> None:
    config = load_config(None)
    assert pickle.loads(pickle.dumps(config)) == config


def test_a_configuration_built_in_code_is_checked_too() -> None:
    aapl = default_config().instruments[0]
    with pytest.raises(ValueError, match="duplicate instrument AAPL"):
        EngineConfig(instruments=(aapl, aapl))
    with pytest.raises(ValueError, match="not a positive tick"):
        InstrumentConfig(instrument=aapl.instrument, start_price=1_900_050)
    with pytest.raises(ValueError, match="stp_mode"):
        SimulatorConfig(stp_mode="sometimes")  # type: ignore[arg-type]


def test_configs_are_frozen() -> None:
    config = default_config()
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.database_url = "sqlite://"  # type: ignore[misc]
    assert EngineConfig() == config


# --- errors ----------------------------------------------------------------------------------------------------


def test_a_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.toml"
    with pytest.raises(ConfigError, match=r"nowhere\.toml: no such configuration file"):
        load_config(path)


def test_invalid_toml_names_the_line(tmp_path: Path) -> None:
    message = config_error(tmp_path, '[simulator]\nseed = 7\nstp = "off\n')
    assert "invalid TOML" in message
    assert "line 3" in message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "colour = 1\n",
            "colour: unknown key (expected one of: database_url, instruments, accounts, simulator, fix, venue, "
            "trading_day)",
        ),
        (
            '[[instruments]]\nsymbol = "X"\nstart_price = "1"\ntick_sise = "0.01"\n',
            "instruments[0].tick_sise: unknown key (expected one of: symbol, tick_size, price_scale, lot_size, "
            "currency, start_price, sim; did you mean 'tick_size'?)",
        ),
        ("[simulator]\nseeed = 1\n", "simulator.seeed: unknown key"),
        ('[[accounts]]\nname = "a"\nlimits = 1\n', "accounts[0].limits: unknown key"),
    ],
)
def test_unknown_keys_are_errors(tmp_path: Path, text: str, expected: str) -> None:
    assert expected in config_error(tmp_path, text)


def test_a_float_price_says_to_quote_it(tmp_path: Path) -> None:
    message = config_error(tmp_path, '[[instruments]]\nsymbol = "AAPL"\nstart_price = 190.25\n')
    assert "instruments[0].start_price: expected a decimal string or an integer, found the float 190.25" in message
    assert 'quote it: "190.25"' in message


def test_a_tick_size_finer_than_the_price_scale(tmp_path: Path) -> None:
    text = """
    [[instruments]]
    symbol = "AAPL"
    start_price = "190.00"

    [[instruments]]
    symbol = "PENNY"
    tick_size = "0.00001"
    start_price = "1"
    """
    message = config_error(tmp_path, text)
    assert (
        'instruments[1].tick_size: expected a tick size with at most 4 decimals (price_scale 4), found "0.00001"'
        in message
    )


def test_a_start_price_off_the_tick_grid(tmp_path: Path) -> None:
    message = config_error(tmp_path, '[[instruments]]\nsymbol = "AAPL"\nstart_price = "190.005"\n')
    assert 'instruments[0].start_price: expected a positive price on the tick grid of 0.01, found "190.005"' in message


def test_duplicate_symbols(tmp_path: Path) -> None:
    text = '[[instruments]]\nsymbol = "AAPL"\nstart_price = 1\n[[instruments]]\nsymbol = "AAPL"\nstart_price = 2\n'
    message = config_error(tmp_path, text)
    assert 'instruments[1].symbol: expected a symbol not used before (also at instruments[0]), found "AAPL"' in message


def test_duplicate_account_names(tmp_path: Path) -> None:
    message = config_error(tmp_path, '[[accounts]]\nname = "main"\n[[accounts]]\nname = "main"\n')
    assert 'accounts[1].name: expected a name not used before (also at accounts[0]), found "main"' in message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            '[[instruments]]\nsymbol = "A"\nstart_price = "1"\nlot_size = "1"\n',
            'instruments[0].lot_size: expected an integer, found "1"',
        ),
        (
            '[[instruments]]\nsymbol = "A"\nstart_price = "1"\nlot_size = 0\n',
            "instruments[0].lot_size: expected an integer >= 1, found 0",
        ),
        (
            '[[instruments]]\nsymbol = "A"\nstart_price = "1"\nprice_scale = 9\n',
            "price_scale: expected an integer within 0..8, found 9",
        ),
        ('[[instruments]]\nstart_price = "1"\n', "instruments[0].symbol: expected a symbol, found nothing (required)"),
        ('[[instruments]]\nsymbol = "A"\n', "instruments[0].start_price: expected a price, found nothing (required)"),
        (
            '[[instruments]]\nsymbol = "A"\nstart_price = "-1"\n',
            "start_price: expected a positive price on the tick grid",
        ),
        (
            '[[instruments]]\nsymbol = "A"\nstart_price = "1"\ncurrency = "usd"\n',
            'currency: expected a currency code such as "USD", found "usd"',
        ),
        (
            '[[instruments]]\nsymbol = "A"\nstart_price = "1"\ntick_size = "0"\n',
            'tick_size: expected a positive tick size, found "0"',
        ),
        (
            '[[instruments]]\nsymbol = "A"\nstart_price = "abc"\n',
            'start_price: expected a decimal string or an integer, found "abc"',
        ),
        (
            '[[instruments]]\nsymbol = "A"\nstart_price = "1"\n[instruments.sim]\nzi_rate = "fast"\n',
            'instruments[0].sim.zi_rate: expected a finite number, found "fast"',
        ),
        ("instruments = []\n", "instruments: expected at least one entry ([[instruments]]), found an empty array"),
        ('instruments = "AAPL"\n', 'instruments: expected an array of tables ([[instruments]]), found "AAPL"'),
        (
            '[simulator]\nstp = "sometimes"\n',
            'simulator.stp: expected "cancel-incoming" or "cancel-resting" or "off", found "sometimes"',
        ),
        ("[simulator]\nseed = true\n", "simulator.seed: expected an integer, found the boolean true"),
        (
            "[simulator]\norder_latency_us = 1.5\n",
            "simulator.order_latency_us: expected an integer, found the float 1.5",
        ),
        ("[simulator]\npublish_interval_ms = 0\n", "simulator.publish_interval_ms: expected an integer >= 1, found 0"),
        (
            "[simulator]\ntaker_fee_bps = 0.3\n",
            'simulator.taker_fee_bps: expected a decimal string or an integer, found the float 0.3 (quote it: "0.3")',
        ),
        ("simulator = 3\n", "simulator: expected a table, found 3"),
        ('database_url = ""\n', 'database_url: expected a database URL string, found ""'),
        (
            '[[accounts]]\nname = "a"\n[accounts.risk]\nmax_position = 5\n',
            "accounts[0].risk.max_position: expected a table, found 5",
        ),
        (
            '[[accounts]]\nname = "a"\n[accounts.risk.order_rate]\nmax_orders = [1, 2]\n',
            "accounts[0].risk.order_rate.max_orders: expected a number, a string, a boolean or an array of "
            "strings, found an array",
        ),
        ('[trading_day]\nroll = "5pm"\n', "trading_day.roll: '5pm' is not a time of day as HH:MM (e.g. 17:00)"),
        ("[trading_day]\nroll = 17\n", 'trading_day.roll: expected a time of day as "HH:MM", found 17'),
        (
            '[trading_day]\ntimezone = "New York"\n',
            "trading_day.timezone: unknown time zone 'New York' (an IANA name, e.g. America/New_York or UTC)",
        ),
        (
            '[trading_day]\nweekdays = "mon-fri"\n',
            'trading_day.weekdays: expected an array of ISO weekdays such as [1, 2, 3, 4, 5] or ["mon", "tue"], '
            'found "mon-fri"',
        ),
        (
            "[trading_day]\nweekdays = []\n",
            "trading_day.weekdays: expected at least one trading weekday, found an empty array",
        ),
        (
            "[trading_day]\nweekdays = [1, 2, 8]\n",
            'trading_day.weekdays[2]: expected an ISO weekday (1 = Monday .. 7 = Sunday) or its name ("mon" .. "sun"), '
            "found 8",
        ),
        ('[trading_day]\nweekdays = [1, "monday"]\n', "trading_day.weekdays[1]: expected an ISO weekday"),
        ("[trading_day]\nweekdays = [0]\n", "trading_day.weekdays[0]: expected an ISO weekday"),
        ("[trading_day]\nweekdays = [true]\n", "trading_day.weekdays[0]: expected an ISO weekday"),
        ("[trading_day]\nweekdays = [1.0]\n", "trading_day.weekdays[0]: expected an ISO weekday"),
        (
            '[trading_day]\nweekdays = [1, 2, "Mon"]\n',
            "trading_day.weekdays[2]: expected a weekday not listed before (also at trading_day.weekdays[0]), "
            'found "Mon"',
        ),
        (
            '[trading_day]\nholidays = "2026-12-25"\n',
            'trading_day.holidays: expected an array of dates such as ["2026-12-25"], found "2026-12-25"',
        ),
        (
            '[trading_day]\nholidays = ["2026-12-25", "2026-02-30"]\n',
            'trading_day.holidays[1]: expected a date as "YYYY-MM-DD", found "2026-02-30"',
        ),
        (
            '[trading_day]\nholidays = ["25/12/2026"]\n',
            'trading_day.holidays[0]: expected a date as "YYYY-MM-DD", found "25/12/2026"',
        ),
        (
            "[trading_day]\nholidays = [2026-12-25T00:00:00]\n",
            'trading_day.holidays[0]: expected a date as "YYYY-MM-DD", found a datetime',
        ),
        ("[trading_day]\nholidays = [20261225]\n", 'trading_day.holidays[0]: expected a date as "YYYY-MM-DD"'),
        (
            '[trading_day]\nholidays = ["2026-12-25", 2026-12-25]\n',
            "trading_day.holidays[1]: expected a date not listed before (also at trading_day.holidays[0])",
        ),
        ("[trading_day]\nholiday = []\n", "trading_day.holiday: unknown key"),
    ],
)
def test_wrong_values_name_the_key_and_what_was_expected(tmp_path: Path, text: str, expected: str) -> None:
    assert expected in config_error(tmp_path, text)


def test_a_directory_is_not_a_configuration_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read the configuration file"):
        load_config(tmp_path)


def test_a_file_that_is_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin1.toml"
    path.write_bytes('[[accounts]]\nname = "caf\xe9"\n'.encode("latin-1"))
    with pytest.raises(ConfigError, match="expected UTF-8 text, found byte 0xe9"):
        load_config(path)


def test_config_errors_carry_the_file_and_the_key(tmp_path: Path) -> None:
    path = write(tmp_path, "[simulator]\nseed = -1\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert (caught.value.source, caught.value.key) == (str(path), "simulator.seed")
    assert caught.value.problem == "expected an integer >= 0, found -1"


def test_simulator_settings_are_checked_by_name_and_type(tmp_path: Path) -> None:
    base = '[[instruments]]\nsymbol = "A"\nstart_price = "1"\n[instruments.sim]\n'
    with pytest.raises(ConfigError, match=r"instruments\[0\]\.sim\.zi_rat: unknown key .*did you mean 'zi_rate'"):
        load_config(write(tmp_path, base + "zi_rat = 10\n"))
    with pytest.raises(ConfigError, match=r"instruments\[0\]\.sim\.zi_max_distance: expected an integer"):
        load_config(write(tmp_path, base + "zi_max_distance = 2.5\n"))
