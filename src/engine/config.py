"""Engine configuration: a TOML file, or defaults that need no file at all.

Every section and key of the file is optional. ``[[instruments]]`` and ``[[accounts]]``, when given, replace the
default lists; an account without a ``risk`` table gets the default limits, and one with a ``risk`` table gets
exactly the checks it lists. ``[[fix.sessions]]`` declares the FIX sessions the engine's server accepts (none:
any user of the users file, see ``docs/fix.md``). ``[venue]`` chooses the venue plugin by ``name`` (default: the
simulated exchange, configured by ``[simulator]``) and holds that venue's own settings, which its factory checks
when the engine is built (:func:`venue_error` turns its :class:`SettingError` into a :class:`ConfigError` naming
``venue.<key>``); a password is never written there, only the environment variable that holds it.
``[simulator.itch]`` makes the simulated exchange publish its books as ITCH 5.0 over MoldUDP64. Prices and fees
are decimal strings (``"190.00"``) or integers, never floats, so they stay exact. The whole file is checked before
anything is returned; a :class:`ConfigError` names the file, the key (``instruments[1].tick_size``) and what was
expected against what was found.
"""

from __future__ import annotations

import difflib
import ipaddress
import json
import math
import os
import re
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Literal, NoReturn, TypeAlias, TypeVar, cast, get_args

from core.contracts import SettingError
from core.instruments import Instrument
from core.numbers import NANOS_PER_MICRO, NANOS_PER_MILLI, NANOS_PER_SECOND, Nanos, Price
from core.settings import child_key, describe_value
from core.trading_day import TradingCalendar, TradingDayError, parse_holiday, parse_roll, parse_weekday, zone
from engine.itch.udp import MAX_MESSAGES_PER_PACKET
from engine.sim.flow import FlowParams
from engine.sim.itch_feed import ItchFeedSettings, check_publishable, session_name_ok

FixAuth: TypeAlias = Literal["password", "none"]
"""How a FIX session's Logon is checked: Username/Password against the users file, or not at all (loopback only)."""
FIX_AUTH_MODES: tuple[str, ...] = get_args(FixAuth)
StpMode: TypeAlias = Literal["cancel-incoming", "cancel-resting", "off"]
"""Self-trade prevention: cancel the incoming order, cancel the resting one, or let them trade."""
STP_MODES: tuple[str, ...] = get_args(StpMode)
RiskParam: TypeAlias = int | float | str | bool
"""A risk check parameter as written in the file (money limits are decimal strings)."""
SimSetting: TypeAlias = int | float
"""A simulator order-flow setting of one instrument."""
SIM_SETTINGS: tuple[str, ...] = tuple(
    field.name for field in fields(FlowParams) if field.name not in ("start_price", "tick", "mm_offsets")
)
"""Order-flow settings an instrument's ``[instruments.sim]`` table may set (see :class:`FlowParams`)."""
_INTEGER_SIM_SETTINGS = frozenset(field.name for field in fields(FlowParams) if field.type in (int, "int"))

DEFAULTS_SOURCE = "<defaults>"
SIM_VENUE = "sim"
"""The simulated exchange's venue name: the default venue, configured by ``[simulator]``."""
DEFAULT_RESEND_RETENTION_DAYS = 7
"""How many days the FIX server keeps the messages it sent, for resends (``[fix] resend_retention_days``)."""


class ConfigError(ValueError):
    """A configuration that cannot be used. ``source`` is the file, ``key`` the key path ("" for the whole
    file) and ``problem`` what was expected against what was found."""

    def __init__(self, source: str, key: str, problem: str) -> None:
        super().__init__(f"{source}: {key}: {problem}" if key else f"{source}: {problem}")
        self.source = source
        self.key = key
        self.problem = problem


def default_risk_limits() -> dict[str, dict[str, RiskParam]]:
    """Risk checks and limits an account gets when its configuration names none."""
    return {
        "max_order_quantity": {"limit": 10_000},
        "max_order_notional": {"limit": "1000000"},
        "price_band": {"max_percent": 5},
        "max_position": {"limit": 50_000},
        "max_gross_exposure": {"limit": "10000000"},
        "daily_loss": {"limit": "50000", "flatten": False},
        "order_rate": {"max_orders": 50, "window_ms": 1_000},
        "restricted_instruments": {"symbols": ""},
    }


@dataclass(frozen=True, slots=True, kw_only=True)
class InstrumentConfig:
    """An instrument, the price its simulated market opens at, and its simulator order-flow settings."""

    instrument: Instrument
    start_price: Price
    sim: Mapping[str, SimSetting] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.start_price <= 0 or not self.instrument.is_on_tick(self.start_price):
            raise ValueError(f"{self.instrument.symbol}: start price {self.start_price} is not a positive tick")
        object.__setattr__(self, "sim", dict(self.sim))


@dataclass(frozen=True, slots=True, kw_only=True)
class AccountConfig:
    """A trading account and its risk checks: check name -> that check's parameters."""

    name: str
    currency: str = "USD"
    risk: Mapping[str, Mapping[str, RiskParam]] = field(default_factory=default_risk_limits)

    def __post_init__(self) -> None:
        object.__setattr__(self, "risk", {check: dict(params) for check, params in self.risk.items()})


@dataclass(frozen=True, slots=True, kw_only=True)
class SimulatorConfig:
    """The simulated exchange: seed, latencies, publication interval, fees (basis points of notional; a
    negative fee is a rebate), and self-trade prevention."""

    seed: int = 7
    order_latency_ns: Nanos = 50 * NANOS_PER_MICRO
    market_data_latency_ns: Nanos = 20 * NANOS_PER_MICRO
    publish_interval_ns: Nanos = 10 * NANOS_PER_MILLI
    maker_fee_bps: Decimal = Decimal("-0.2")
    taker_fee_bps: Decimal = Decimal("0.3")
    stp_mode: StpMode = "cancel-incoming"
    itch: ItchFeedSettings | None = None
    """Publish the books as ITCH 5.0 over MoldUDP64 while the exchange runs (``[simulator.itch]``; None: not)."""

    def __post_init__(self) -> None:
        if min(self.order_latency_ns, self.market_data_latency_ns) < 0 or self.publish_interval_ns <= 0:
            raise ValueError("latencies must not be negative and the publish interval must be positive")
        if self.stp_mode not in STP_MODES:
            raise ValueError(f"stp_mode must be one of {', '.join(STP_MODES)}, got {self.stp_mode!r}")


@dataclass(frozen=True, slots=True, kw_only=True)
class FixSessionSettings:
    """One FIX session the engine's server accepts: the CompID pair and how the session behaves.

    ``cancel_on_disconnect`` None follows the user's setting (users file); ``accounts`` None allows every account
    of the user, otherwise the session may use only these (within the user's; ``"*"`` is every account).
    """

    sender_comp_id: str = "ENGINE"
    """The engine's CompID on this session (the client's TargetCompID, 56)."""
    target_comp_id: str
    """The client's CompID (its SenderCompID, 49)."""
    reset_on_logon: bool = False
    reset_on_logout: bool = False
    reset_on_disconnect: bool = False
    reset_at_roll: bool = False
    """Log the session out at the trading day's roll and start both sequences again at 1 (a daily FIX session)."""
    auth: FixAuth = "password"
    cancel_on_disconnect: bool | None = None
    accounts: tuple[str, ...] | None = None
    sending_time_tolerance_s: int = 120

    def __post_init__(self) -> None:
        if not self.sender_comp_id or not self.target_comp_id:
            raise ValueError("sender_comp_id and target_comp_id must not be empty")
        if self.auth not in FIX_AUTH_MODES:
            raise ValueError(f"auth must be one of {', '.join(FIX_AUTH_MODES)}, got {self.auth!r}")
        if self.sending_time_tolerance_s < 0:
            raise ValueError(f"sending_time_tolerance_s must not be negative, got {self.sending_time_tolerance_s}")
        if self.accounts is not None:
            object.__setattr__(self, "accounts", tuple(self.accounts))


@dataclass(frozen=True, slots=True, kw_only=True)
class FixConfig:
    """The ``[fix]`` table: the declared sessions (empty: any user of the users file may log on)."""

    sessions: tuple[FixSessionSettings, ...] = ()
    resend_retention_days: int = DEFAULT_RESEND_RETENTION_DAYS
    """How long sent messages are kept for resends; older ones are deleted at the trading day's roll and at start
    (a ResendRequest for them gets a SequenceReset-GapFill)."""

    def __post_init__(self) -> None:
        if self.resend_retention_days < 1:
            raise ValueError(f"resend_retention_days must be at least 1, got {self.resend_retention_days}")
        pairs = [(session.sender_comp_id, session.target_comp_id) for session in self.sessions]
        repeated = sorted({f"{s}->{t}" for s, t in pairs if pairs.count((s, t)) > 1})
        if repeated:
            raise ValueError(f"duplicate FIX session {', '.join(repeated)}")


@dataclass(frozen=True, slots=True, kw_only=True)
class VenueConfig:
    """The ``[venue]`` table: the venue plugin by name and its own settings, as TOML values, for its factory to
    check (:class:`core.contracts.VenueSetup`). The simulated exchange takes none here: ``[simulator]`` is its table."""

    name: str = SIM_VENUE
    settings: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.name.strip():
            raise ValueError("the venue name must not be empty")
        if self.name == SIM_VENUE and self.settings:
            raise ValueError("the simulated exchange takes its settings from [simulator], not [venue]")
        written = sorted(key for key in self.settings if _is_password(key))
        if written:
            raise ValueError(f"a venue password is never configured in clear ({', '.join(written)})")
        object.__setattr__(self, "settings", dict(self.settings))


def _is_password(key: str) -> bool:
    return key.lower().removeprefix("fix_") == "password"


def _default_instruments() -> tuple[InstrumentConfig, ...]:
    # Opening price, daily volatility and correlation with the market of liquid US names: an index ETF moves about
    # half as much as a stock and almost only with the market (SPY and QQQ correlate about 0.9), a large-cap stock
    # moderately (about 0.6; AAPL and MSFT then correlate about 0.35 with each other).
    opening = {
        "AAPL": ("190.00", 0.02, 0.6),
        "MSFT": ("420.00", 0.015, 0.6),
        "SPY": ("560.00", 0.01, 0.95),
        "QQQ": ("480.00", 0.012, 0.95),
    }
    configs = []
    for symbol, (price, volatility, correlation) in opening.items():
        instrument = Instrument(symbol=symbol, tick_size=100, price_scale=4, lot_size=1, currency="USD")
        sim: dict[str, SimSetting] = {"daily_volatility": volatility, "market_correlation": correlation}
        configs.append(InstrumentConfig(instrument=instrument, start_price=instrument.to_price(price), sim=sim))
    return tuple(configs)


@dataclass(frozen=True, slots=True, kw_only=True)
class EngineConfig:
    """Everything the engine needs to start. ``source`` is the file it came from, or ``"<defaults>"``;
    ``database_url`` None means the default SQLite file."""

    instruments: tuple[InstrumentConfig, ...] = field(default_factory=_default_instruments)
    accounts: tuple[AccountConfig, ...] = field(default_factory=lambda: (AccountConfig(name="main"),))
    simulator: SimulatorConfig = field(default_factory=SimulatorConfig)
    database_url: str | None = None
    fix: FixConfig = field(default_factory=FixConfig)
    venue: VenueConfig = field(default_factory=VenueConfig)
    trading_day: TradingCalendar = field(default_factory=TradingCalendar)
    """When the trading day rolls (``[trading_day]``: ``roll`` as HH:MM, ``timezone`` as an IANA name, on the
    ``weekdays`` that are trading dates but for the ``holidays``)."""
    source: str = DEFAULTS_SOURCE

    def __post_init__(self) -> None:
        for what, names in (
            ("instrument", [config.instrument.symbol for config in self.instruments]),
            ("account", [account.name for account in self.accounts]),
        ):
            repeated = sorted({name for name in names if names.count(name) > 1})
            if repeated:
                raise ValueError(f"duplicate {what} {', '.join(repeated)}")

    def instrument_map(self) -> dict[str, Instrument]:
        """Symbol -> instrument, in configuration order (as ``Portfolio`` and ``recover`` take them)."""
        return {config.instrument.symbol: config.instrument for config in self.instruments}


def venue_error(config: EngineConfig, venue: str, error: SettingError) -> ConfigError:
    """The :class:`SettingError` of venue ``venue``'s factory as the configuration error it is: the file,
    ``venue.<key>`` (``simulator.<key>`` for the simulated exchange) and the problem."""
    table = "simulator" if venue == SIM_VENUE else "venue"
    return ConfigError(config.source, f"{table}.{error.key}" if error.key else table, error.problem)


def default_config() -> EngineConfig:
    """The configuration used when there is no file."""
    return EngineConfig()


def load_config(path: str | os.PathLike[str] | None) -> EngineConfig:
    """The configuration in the TOML file at ``path``, or the defaults when ``path`` is None.

    Raises :class:`ConfigError` for a missing or unreadable file, invalid TOML (with its line), an unknown key
    and any value of the wrong type or out of range.
    """
    if path is None:
        return default_config()
    source = os.fspath(path)
    try:
        data = Path(source).read_bytes()
    except FileNotFoundError:
        raise ConfigError(source, "", "no such configuration file") from None
    except OSError as exc:
        raise ConfigError(source, "", f"cannot read the configuration file ({exc.strerror})") from None
    try:
        document = tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ConfigError(source, "", f"expected UTF-8 text, found byte 0x{data[exc.start]:02x}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(source, "", f"invalid TOML: {exc}") from None
    return _Reader(source).engine(document)


# --- reading ---------------------------------------------------------------------------------------------------

_T = TypeVar("_T")


def _weekday_or_none(item: object) -> int | None:
    try:
        return parse_weekday(item) if isinstance(item, int | str) else None
    except TradingDayError:
        return None


def _date_or_none(item: object) -> date | None:
    if isinstance(item, str):
        try:
            return parse_holiday(item)
        except TradingDayError:
            return None
    return item if isinstance(item, date) and not isinstance(item, datetime) else None


_TOP_KEYS = ("database_url", "instruments", "accounts", "simulator", "fix", "venue", "trading_day")
_TRADING_DAY_KEYS = ("roll", "timezone", "weekdays", "holidays")
_FIX_KEYS = ("sessions", "resend_retention_days")
_FIX_SESSION_KEYS = (
    "sender_comp_id",
    "target_comp_id",
    "reset_on_logon",
    "reset_on_logout",
    "reset_on_disconnect",
    "reset_at_roll",
    "auth",
    "cancel_on_disconnect",
    "accounts",
    "sending_time_tolerance_s",
)
_COMP_ID = re.compile(r"[!-9;-~]{1,64}")
_INSTRUMENT_KEYS = ("symbol", "tick_size", "price_scale", "lot_size", "currency", "start_price", "sim")
_ACCOUNT_KEYS = ("name", "currency", "risk")
_SIMULATOR_KEYS = (
    "seed",
    "order_latency_us",
    "market_data_latency_us",
    "publish_interval_ms",
    "maker_fee_bps",
    "taker_fee_bps",
    "stp",
    "itch",
)
_ITCH_KEYS = ("publish", "session", "max_messages_per_packet", "heartbeat_ms", "allow_remote")
_ADDRESS = re.compile(r"(?P<host>[0-9.]+|\[[0-9A-Fa-f:.]+\]):(?P<port>[0-9]{1,5})")
_SYMBOL = re.compile(r"\S+")
_CURRENCY = re.compile(r"[A-Z][A-Z0-9]{2,9}")
_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


_describe = describe_value
_child = child_key


class _Reader:
    """Checks a parsed TOML document key by key; every failure names the key path."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, key: str, expected: str, found: object) -> NoReturn:
        raise ConfigError(self.source, key, f"expected {expected}, found {_describe(found)}")

    def table(self, value: object, key: str, allowed: Sequence[str] | None = None) -> dict[str, Any]:
        if not isinstance(value, dict):
            self.fail(key, "a table", value)
        for name in value:
            if allowed is not None and name not in allowed:
                close = difflib.get_close_matches(name, allowed, n=1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                problem = f"unknown key (expected one of: {', '.join(allowed)}{hint})"
                raise ConfigError(self.source, _child(key, name), problem)
        return value

    def tables(self, value: object, key: str) -> list[dict[str, Any]]:
        if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
            self.fail(key, f"an array of tables ([[{key}]])", value)
        if not value:
            raise ConfigError(self.source, key, f"expected at least one entry ([[{key}]]), found an empty array")
        return value

    def required(self, table: dict[str, Any], key: str, name: str, what: str) -> Any:
        if name not in table:
            raise ConfigError(self.source, _child(key, name), f"expected {what}, found nothing (required)")
        return table[name]

    def integer(self, value: object, key: str, minimum: int, maximum: int | None = None) -> int:
        if not isinstance(value, int) or isinstance(value, bool):
            self.fail(key, "an integer", value)
        if value < minimum or (maximum is not None and value > maximum):
            bounds = f"within {minimum}..{maximum}" if maximum is not None else f">= {minimum}"
            self.fail(key, f"an integer {bounds}", value)
        return value

    def text(self, value: object, key: str, pattern: re.Pattern[str], what: str) -> str:
        if not isinstance(value, str) or not pattern.fullmatch(value):
            self.fail(key, what, value)
        return value

    def decimal(self, value: object, key: str) -> Decimal:
        expected = "a decimal string or an integer"
        if isinstance(value, float):
            raise ConfigError(
                self.source, key, f'expected {expected}, found {_describe(value)} (quote it: "{value!r}")'
            )
        if isinstance(value, int) and not isinstance(value, bool):
            return Decimal(value)
        if not isinstance(value, str):
            self.fail(key, expected, value)
        try:
            number = Decimal(value.strip())
        except InvalidOperation:
            self.fail(key, expected, value)
        if not number.is_finite():
            self.fail(key, "a finite decimal", value)
        return number

    def number(self, value: object, key: str) -> int | float:
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            self.fail(key, "a finite number", value)
        return value

    def scaled(self, value: object, key: str, scale: int, what: str) -> int:
        """A decimal of currency as an integer count of ``10**-scale`` units."""
        units = self.decimal(value, key).scaleb(scale)
        if units != units.to_integral_value():
            self.fail(key, f"{what} with at most {scale} decimals (price_scale {scale})", value)
        return int(units)

    # --- sections ----------------------------------------------------------------------------------------------

    def engine(self, document: dict[str, Any]) -> EngineConfig:
        top = self.table(document, "", _TOP_KEYS)
        defaults = default_config()
        url = top.get("database_url")
        if url is not None and (not isinstance(url, str) or not url.strip()):
            self.fail("database_url", "a database URL string", url)
        instruments = defaults.instruments
        if "instruments" in top:
            entries = self.tables(top["instruments"], "instruments")
            instruments = tuple(self.instrument(entry, f"instruments[{i}]") for i, entry in enumerate(entries))
            self.unique([c.instrument.symbol for c in instruments], "instruments", "symbol")
        accounts = defaults.accounts
        if "accounts" in top:
            entries = self.tables(top["accounts"], "accounts")
            accounts = tuple(self.account(entry, f"accounts[{i}]") for i, entry in enumerate(entries))
            self.unique([account.name for account in accounts], "accounts", "name")
        simulator = self.simulator(top.get("simulator", {}), "simulator")
        if simulator.itch is not None:
            self.publishable(instruments)
        fix = self.fix(top.get("fix", {}), "fix")
        venue = self.venue(top.get("venue", {}), "venue")
        trading_day = self.trading_day(top.get("trading_day", {}), "trading_day")
        return EngineConfig(
            instruments=instruments,
            accounts=accounts,
            simulator=simulator,
            database_url=url,
            fix=fix,
            venue=venue,
            trading_day=trading_day,
            source=self.source,
        )

    def trading_day(self, value: object, key: str) -> TradingCalendar:
        table = self.table(value, key, _TRADING_DAY_KEYS)
        defaults = TradingCalendar()
        roll, timezone = table.get("roll", f"{defaults.roll:%H:%M}"), table.get("timezone", defaults.timezone)
        if not isinstance(roll, str):
            self.fail(f"{key}.roll", 'a time of day as "HH:MM"', roll)
        if not isinstance(timezone, str):
            self.fail(f"{key}.timezone", 'an IANA time zone name such as "America/New_York"', timezone)
        try:
            parsed = parse_roll(roll)
        except TradingDayError as error:
            raise ConfigError(self.source, f"{key}.roll", str(error)) from None
        try:
            zone(timezone)
        except TradingDayError as error:
            raise ConfigError(self.source, f"{key}.timezone", str(error)) from None
        weekdays = self.weekdays(table["weekdays"], f"{key}.weekdays") if "weekdays" in table else defaults.weekdays
        holidays = self.holidays(table["holidays"], f"{key}.holidays") if "holidays" in table else defaults.holidays
        return TradingCalendar(parsed, timezone, weekdays, holidays)

    def weekdays(self, value: object, key: str) -> frozenset[int]:
        """ISO weekday numbers or names ("mon" .. "sun", any case), at least one, each once."""
        days = self.distinct(
            value, key, _weekday_or_none, 'an ISO weekday (1 = Monday .. 7 = Sunday) or its name ("mon" .. "sun")',
            array='an array of ISO weekdays such as [1, 2, 3, 4, 5] or ["mon", "tue"]', what="a weekday",
        )  # fmt: skip
        if not days:
            raise ConfigError(self.source, key, "expected at least one trading weekday, found an empty array")
        return frozenset(days)

    def holidays(self, value: object, key: str) -> frozenset[date]:
        """Dates as "YYYY-MM-DD" strings (or TOML dates), each once."""
        days = self.distinct(
            value, key, _date_or_none, 'a date as "YYYY-MM-DD"', array='an array of dates such as ["2026-12-25"]',
            what="a date",
        )  # fmt: skip
        return frozenset(days)

    def distinct(
        self, value: object, key: str, parse: Callable[[object], _T | None], expected: str, *, array: str, what: str
    ) -> list[_T]:
        """An array whose items ``parse`` reads (None: not one), each once; refused naming the item's key."""
        if not isinstance(value, list):
            self.fail(key, array, value)
        items: list[_T] = []
        for index, item in enumerate(value):
            parsed = parse(item)
            if parsed is None:
                self.fail(f"{key}[{index}]", expected, item)
            if parsed in items:
                self.fail(f"{key}[{index}]", f"{what} not listed before (also at {key}[{items.index(parsed)}])", item)
            items.append(parsed)
        return items

    def unique(self, names: list[str], section: str, field_name: str) -> None:
        first: dict[str, int] = {}
        for index, name in enumerate(names):
            if name in first:
                key = f"{section}[{index}].{field_name}"
                expected = f"a {field_name} not used before (also at {section}[{first[name]}])"
                self.fail(key, expected, name)
            first[name] = index

    def instrument(self, entry: dict[str, Any], key: str) -> InstrumentConfig:
        table = self.table(entry, key, _INSTRUMENT_KEYS)
        symbol = self.text(self.required(table, key, "symbol", "a symbol"), f"{key}.symbol", _SYMBOL, "a symbol")
        scale = self.integer(table.get("price_scale", 4), f"{key}.price_scale", 0, 8)
        tick_key = f"{key}.tick_size"
        tick_size = self.scaled(table.get("tick_size", "0.01"), tick_key, scale, "a tick size")
        if tick_size <= 0:
            self.fail(tick_key, "a positive tick size", table["tick_size"])
        lot_size = self.integer(table.get("lot_size", 1), f"{key}.lot_size", 1)
        currency = self.text(
            table.get("currency", "USD"), f"{key}.currency", _CURRENCY, 'a currency code such as "USD"'
        )
        instrument = Instrument(
            symbol=symbol, tick_size=tick_size, price_scale=scale, lot_size=lot_size, currency=currency
        )
        price_key = f"{key}.start_price"
        written = self.required(table, key, "start_price", "a price")
        start = self.scaled(written, price_key, scale, "a price")
        if start <= 0 or not instrument.is_on_tick(start):
            grid = format(instrument.to_decimal(tick_size).normalize(), "f")
            self.fail(price_key, f"a positive price on the tick grid of {grid}", written)
        sim_key = f"{key}.sim"
        sim_table = self.table(table.get("sim", {}), sim_key, SIM_SETTINGS)
        sim = {name: self.number(value, _child(sim_key, name)) for name, value in sim_table.items()}
        for name, value in sim.items():
            if name in _INTEGER_SIM_SETTINGS and not isinstance(value, int):
                self.fail(_child(sim_key, name), "an integer", value)
        return InstrumentConfig(instrument=instrument, start_price=start, sim=sim)

    def account(self, entry: dict[str, Any], key: str) -> AccountConfig:
        table = self.table(entry, key, _ACCOUNT_KEYS)
        name = self.text(self.required(table, key, "name", "an account name"), f"{key}.name", _SYMBOL, "a name")
        currency = self.text(
            table.get("currency", "USD"), f"{key}.currency", _CURRENCY, 'a currency code such as "USD"'
        )
        if "risk" not in table:
            return AccountConfig(name=name, currency=currency)
        risk_key = f"{key}.risk"
        risk: dict[str, dict[str, RiskParam]] = {}
        for check, params in self.table(table["risk"], risk_key).items():
            check_key = _child(risk_key, check)
            risk[check] = {
                param: self.risk_param(value, _child(check_key, param))
                for param, value in self.table(params, check_key).items()
            }
        return AccountConfig(name=name, currency=currency, risk=risk)

    def risk_param(self, value: object, key: str) -> RiskParam:
        if isinstance(value, list) and all(isinstance(item, str) for item in value):
            return ",".join(cast(list[str], value))  # a list of symbols travels as one comma-separated text
        if isinstance(value, float) and not math.isfinite(value):
            self.fail(key, "a finite number", value)
        if not isinstance(value, int | float | str):
            self.fail(key, "a number, a string, a boolean or an array of strings", value)
        return value

    def simulator(self, value: object, key: str) -> SimulatorConfig:
        table = self.table(value, key, _SIMULATOR_KEYS)
        base = SimulatorConfig()
        stp = table.get("stp", base.stp_mode)
        if stp not in STP_MODES:
            self.fail(f"{key}.stp", " or ".join(json.dumps(mode) for mode in STP_MODES), stp)
        return SimulatorConfig(
            seed=self.integer(table.get("seed", base.seed), f"{key}.seed", 0),
            order_latency_ns=self.duration(table, key, "order_latency_us", base.order_latency_ns, NANOS_PER_MICRO),
            market_data_latency_ns=self.duration(
                table, key, "market_data_latency_us", base.market_data_latency_ns, NANOS_PER_MICRO
            ),
            publish_interval_ns=self.duration(
                table, key, "publish_interval_ms", base.publish_interval_ns, NANOS_PER_MILLI, minimum=1
            ),
            maker_fee_bps=self.fee(table, key, "maker_fee_bps", base.maker_fee_bps),
            taker_fee_bps=self.fee(table, key, "taker_fee_bps", base.taker_fee_bps),
            stp_mode=cast(StpMode, stp),
            itch=self.itch(table["itch"], f"{key}.itch") if "itch" in table else None,
        )

    def itch(self, value: object, key: str) -> ItchFeedSettings:
        table = self.table(value, key, _ITCH_KEYS)
        address = 'an IP address and UDP port such as "127.0.0.1:26400"'
        written = self.required(table, key, "publish", address)
        match = _ADDRESS.fullmatch(written) if isinstance(written, str) else None
        if match is None:
            self.fail(f"{key}.publish", address, written)
        host, port = match["host"].strip("[]"), int(match["port"])
        allow_remote = self.boolean(table.get("allow_remote", False), f"{key}.allow_remote")
        try:
            remote = not ipaddress.ip_address(host).is_loopback
        except ValueError:
            self.fail(f"{key}.publish", address, written)
        if not 0 < port <= 0xFFFF:
            self.fail(f"{key}.publish", f"{address} (port within 1..65535)", written)
        if remote and not allow_remote:
            self.fail(f"{key}.publish", "a loopback address (or allow_remote = true)", written)
        session = table.get("session")
        if session is not None and (not isinstance(session, str) or not session_name_ok(session)):
            self.fail(f"{key}.session", "a MoldUDP64 session name of 1 to 10 ASCII letters or digits", session)
        count = table.get("max_messages_per_packet")
        if count is not None:
            count = self.integer(count, f"{key}.max_messages_per_packet", 1, MAX_MESSAGES_PER_PACKET)
        heartbeat_ns = self.duration(table, key, "heartbeat_ms", NANOS_PER_SECOND, NANOS_PER_MILLI)
        return ItchFeedSettings(
            host=host,
            port=port,
            session=session,
            max_messages_per_packet=count,
            heartbeat_ns=heartbeat_ns,
            allow_remote=allow_remote,
        )

    def publishable(self, instruments: Sequence[InstrumentConfig]) -> None:
        for index, entry in enumerate(instruments):
            problem = check_publishable(entry.instrument)
            if problem is not None:
                key = "price_scale" if entry.instrument.price_scale != 4 else "symbol"
                raise ConfigError(self.source, f"instruments[{index}].{key}", f"{problem} ([simulator.itch] is set)")

    def venue(self, value: object, key: str) -> VenueConfig:
        table = dict(self.table(value, key))
        name = table.pop("name", SIM_VENUE)
        if not isinstance(name, str) or not _SYMBOL.fullmatch(name):
            self.fail(f"{key}.name", 'a venue plugin name such as "ouch"', name)
        for setting, written in table.items():
            if _is_password(setting):
                expected = f"no password in the file (set {setting}_env to the environment variable holding it)"
                self.fail(_child(key, setting), expected, written)
        if name == SIM_VENUE and table:
            setting = next(iter(table))
            problem = "unknown key: the simulated exchange is configured in [simulator] (expected only name)"
            raise ConfigError(self.source, _child(key, setting), problem)
        return VenueConfig(name=name, settings=table)

    def fix(self, value: object, key: str) -> FixConfig:
        table = self.table(value, key, _FIX_KEYS)
        retention = self.integer(
            table.get("resend_retention_days", DEFAULT_RESEND_RETENTION_DAYS), f"{key}.resend_retention_days", 1
        )
        if "sessions" not in table:
            return FixConfig(resend_retention_days=retention)
        sessions_key = f"{key}.sessions"
        entries = self.tables(table["sessions"], sessions_key)
        sessions = tuple(self.fix_session(entry, f"{sessions_key}[{i}]") for i, entry in enumerate(entries))
        first: dict[tuple[str, str], int] = {}
        for index, session in enumerate(sessions):
            pair = (session.sender_comp_id, session.target_comp_id)
            if pair in first:
                expected = f"a CompID pair not used before (also at {sessions_key}[{first[pair]}])"
                self.fail(f"{sessions_key}[{index}].target_comp_id", expected, session.target_comp_id)
            first[pair] = index
        return FixConfig(sessions=sessions, resend_retention_days=retention)

    def fix_session(self, entry: dict[str, Any], key: str) -> FixSessionSettings:
        table = self.table(entry, key, _FIX_SESSION_KEYS)
        comp_id = "a CompID (1 to 64 printable ASCII characters, no space or colon)"
        sender = self.text(table.get("sender_comp_id", "ENGINE"), f"{key}.sender_comp_id", _COMP_ID, comp_id)
        target = self.text(
            self.required(table, key, "target_comp_id", comp_id), f"{key}.target_comp_id", _COMP_ID, comp_id
        )
        flags = {
            name: self.boolean(table.get(name, False), _child(key, name))
            for name in ("reset_on_logon", "reset_on_logout", "reset_on_disconnect", "reset_at_roll")
        }
        auth = table.get("auth", "password")
        if auth not in FIX_AUTH_MODES:
            self.fail(f"{key}.auth", " or ".join(json.dumps(mode) for mode in FIX_AUTH_MODES), auth)
        cancel = table.get("cancel_on_disconnect")
        accounts: tuple[str, ...] | None = None
        if "accounts" in table:
            listed = table["accounts"]
            if not isinstance(listed, list) or not all(isinstance(a, str) and _SYMBOL.fullmatch(a) for a in listed):
                self.fail(f"{key}.accounts", 'an array of account names (["*"] for every account)', listed)
            accounts = tuple(listed)
        return FixSessionSettings(
            sender_comp_id=sender,
            target_comp_id=target,
            reset_on_logon=flags["reset_on_logon"],
            reset_on_logout=flags["reset_on_logout"],
            reset_on_disconnect=flags["reset_on_disconnect"],
            reset_at_roll=flags["reset_at_roll"],
            auth=cast(FixAuth, auth),
            cancel_on_disconnect=None if cancel is None else self.boolean(cancel, f"{key}.cancel_on_disconnect"),
            accounts=accounts,
            sending_time_tolerance_s=self.integer(
                table.get("sending_time_tolerance_s", 120), f"{key}.sending_time_tolerance_s", 0
            ),
        )

    def boolean(self, value: object, key: str) -> bool:
        if not isinstance(value, bool):
            self.fail(key, "true or false", value)
        return value

    def fee(self, table: dict[str, Any], key: str, name: str, default: Decimal) -> Decimal:
        return self.decimal(table[name], _child(key, name)) if name in table else default

    def duration(
        self, table: dict[str, Any], key: str, name: str, default_ns: int, unit_ns: int, minimum: int = 0
    ) -> Nanos:
        if name not in table:
            return default_ns
        return self.integer(table[name], _child(key, name), minimum) * unit_ns


# --- writing ---------------------------------------------------------------------------------------------------


def dump_default_config() -> str:
    """The default configuration as a commented TOML file a user can start from."""
    return dump_config(default_config())


def dump_config(config: EngineConfig) -> str:
    """``config`` as a commented TOML text that :func:`load_config` reads back equal (but for ``source``).

    Raises ValueError when a latency is not a whole number of the file's unit (microseconds, milliseconds).
    """
    sim = config.simulator
    lines = [
        "# Workstation engine configuration. Every section and key is optional; what is left out takes the",
        '# default shown here. Prices and fees are decimal strings (quote them: "190.00") or integers.',
        "",
    ]
    if config.database_url is None:
        lines.append("# Default database: SQLite in the user's data directory. For a shared one:")
        lines.append('# database_url = "postgresql+psycopg://user@dbhost/workstation"')
    else:
        lines.append(f"database_url = {_toml(config.database_url)}")
    lines += [
        "",
        "[simulator]",
        _line("seed", sim.seed, "the same seed replays the same session"),
        _line("order_latency_us", _whole(sim.order_latency_ns, NANOS_PER_MICRO), "order entry to matching"),
        _line("market_data_latency_us", _whole(sim.market_data_latency_ns, NANOS_PER_MICRO), "matching to feed"),
        _line("publish_interval_ms", _whole(sim.publish_interval_ns, NANOS_PER_MILLI), "book updates coalesced"),
        _line("maker_fee_bps", _plain(sim.maker_fee_bps), "basis points of notional; negative: a rebate"),
        _line("taker_fee_bps", _plain(sim.taker_fee_bps), ""),
        _line("stp", sim.stp_mode, "self-trade prevention: " + ", ".join(STP_MODES)),
        *_itch_lines(sim.itch),
        "",
        "# Instruments: this list replaces the default one.",
    ]
    for index, entry in enumerate(config.instruments):
        lines += _instrument_lines(entry, first=index == 0)
    lines += [
        "",
        "# Accounts: without a risk table an account gets the default limits shown here; with one, it gets",
        "# exactly the checks listed. Money limits are decimal strings in the account currency.",
    ]
    for account in config.accounts:
        lines += ["", "[[accounts]]", _line("name", account.name, ""), _line("currency", account.currency, "")]
        if not account.risk:
            lines.append(_line("risk", {}, "no risk checks"))
        for check, params in account.risk.items():
            lines += ["", f"[accounts.risk.{_toml_key(check)}]"]
            lines += [_line(param, value, _RISK_NOTES.get((check, param), "")) for param, value in params.items()]
    lines += [
        "",
        "# The trading day: at the roll, day orders expire and the day's P&L (and the daily loss) starts again.",
        "# It rolls on trading dates only (the weekdays but the holidays): Friday's 17:00 roll begins Monday's day.",
        "[trading_day]",
        _line("roll", f"{config.trading_day.roll:%H:%M}", "local time of the roll, HH:MM"),
        _line("timezone", config.trading_day.timezone, "an IANA time zone name"),
        *_trading_date_lines(config.trading_day),
    ]
    lines += _fix_lines(config.fix)
    lines += _venue_lines(config.venue)
    return "\n".join(lines) + "\n"


def _trading_date_lines(calendar: TradingCalendar) -> list[str]:
    weekdays = _line("weekdays", sorted(calendar.weekdays), 'ISO weekdays with a roll: 1 = Monday (or "mon")')
    holidays = [day.isoformat() for day in sorted(calendar.holidays)]
    if len(holidays) <= 2:
        return [weekdays, _line("holidays", holidays, 'dates without a roll, "YYYY-MM-DD"')]
    return [
        weekdays,
        '# Dates without a roll, "YYYY-MM-DD".',
        "holidays = [",
        *(f"    {_toml(day)}," for day in holidays),
        "]",
    ]


def _itch_lines(itch: ItchFeedSettings | None) -> list[str]:
    lines = ["", "# The books as an ITCH 5.0 feed over MoldUDP64 (UDP), published while the exchange runs."]
    if itch is None:
        return [*lines, "# [simulator.itch]", '# publish = "127.0.0.1:26400"']
    host = f"[{itch.host}]" if ":" in itch.host else itch.host
    lines += ["[simulator.itch]", _line("publish", f"{host}:{itch.port}", "a loopback address unless allow_remote")]
    if itch.session is not None:
        lines.append(_line("session", itch.session, "default: the start time in epoch seconds"))
    if itch.max_messages_per_packet is not None:
        lines.append(_line("max_messages_per_packet", itch.max_messages_per_packet, ""))
    lines.append(_line("heartbeat_ms", _whole(itch.heartbeat_ns, NANOS_PER_MILLI), "while idle; 0: none"))
    if itch.allow_remote:
        lines.append(_line("allow_remote", True, "publish beyond this host"))
    return lines


def _venue_lines(venue: VenueConfig) -> list[str]:
    lines = ["", "# The venue orders go to: a venue plugin by name, and its own settings (default: the simulator)."]
    if venue.name == SIM_VENUE:
        return [*lines, "# [venue]", '# name = "ouch"', '# host = "127.0.0.1"', "# port = 15000"]
    lines += ["[venue]", _line("name", venue.name, "")]
    tables = {key: value for key, value in venue.settings.items() if isinstance(value, dict)}
    lines += [_line(key, value, "") for key, value in venue.settings.items() if key not in tables]
    for key, table in tables.items():
        lines += ["", f"[venue.{_toml_key(key)}]"] + [_line(name, value, "") for name, value in table.items()]
    return lines


def _fix_lines(fix: FixConfig) -> list[str]:
    lines = [
        "",
        "# FIX sessions the engine's server accepts (workstation-engine serve). Without any, every user of the",
        '# users file may log on with SenderCompID = the user name and TargetCompID = "ENGINE".',
        "[fix]",
        _line("resend_retention_days", fix.resend_retention_days, "sent messages kept this long for resends"),
    ]
    if not fix.sessions:
        lines += [
            "# [[fix.sessions]]",
            '# sender_comp_id = "ENGINE"',
            '# target_comp_id = "alice"',
        ]
    for session in fix.sessions:
        lines += [
            "",
            "[[fix.sessions]]",
            _line("sender_comp_id", session.sender_comp_id, "the engine's CompID"),
            _line("target_comp_id", session.target_comp_id, "the client's CompID"),
            _line("reset_on_logon", session.reset_on_logon, ""),
            _line("reset_on_logout", session.reset_on_logout, ""),
            _line("reset_on_disconnect", session.reset_on_disconnect, ""),
            _line("reset_at_roll", session.reset_at_roll, "log out and start again at 1 at the day's roll"),
            _line("auth", session.auth, '"password" (users file) or "none" (loopback only)'),
        ]
        if session.cancel_on_disconnect is not None:
            lines.append(_line("cancel_on_disconnect", session.cancel_on_disconnect, ""))
        if session.accounts is not None:
            lines.append(f"accounts = [{', '.join(_toml(account) for account in session.accounts)}]")
        lines.append(_line("sending_time_tolerance_s", session.sending_time_tolerance_s, ""))
    return lines


_INSTRUMENT_NOTES = {
    "tick_size": "minimum price increment",
    "price_scale": "decimals of the integer price unit",
    "lot_size": "quantity increment",
    "start_price": "where the simulated market opens",
}
_RISK_NOTES = {
    ("max_order_quantity", "limit"): "largest quantity of one order",
    ("max_order_notional", "limit"): "largest price x quantity of one order",
    ("price_band", "max_percent"): "farthest a limit price may be from the reference, in percent (or: max_ticks)",
    ("max_position", "limit"): "largest absolute position in one instrument",
    ("max_gross_exposure", "limit"): "largest sum of absolute position values",
    ("daily_loss", "limit"): "largest loss of the day, fees included",
    ("daily_loss", "flatten"): "also close every position when it is reached",
    ("order_rate", "max_orders"): "orders allowed per window",
    ("order_rate", "window_ms"): "",
    ("restricted_instruments", "symbols"): "comma-separated symbols (or an array) never traded",
}


def _instrument_lines(entry: InstrumentConfig, *, first: bool) -> list[str]:
    instrument = entry.instrument
    tick = instrument.to_decimal(instrument.tick_size)
    exponent = tick.normalize().as_tuple().exponent
    decimals = max(0, -exponent) if isinstance(exponent, int) else 0
    start = instrument.to_decimal(entry.start_price).quantize(Decimal(1).scaleb(-decimals))
    notes = _INSTRUMENT_NOTES if first else {}
    lines = [
        "",
        "[[instruments]]",
        _line("symbol", instrument.symbol, ""),
        _line("tick_size", _plain(tick), notes.get("tick_size", "")),
        _line("price_scale", instrument.price_scale, notes.get("price_scale", "")),
        _line("lot_size", instrument.lot_size, notes.get("lot_size", "")),
        _line("currency", instrument.currency, ""),
        _line("start_price", format(start, "f"), notes.get("start_price", "")),
    ]
    if entry.sim:
        lines += ["", "[instruments.sim]"] + [_line(name, value, "") for name, value in entry.sim.items()]
    elif first:
        lines.append("# [instruments.sim]  # the simulator's order-flow settings for this instrument")
    return lines


class _Text(str):
    """A value already written as TOML (a quoted decimal)."""


def _plain(number: Decimal) -> _Text:
    return _Text(json.dumps(format(number.normalize(), "f")))


def _whole(nanos: int, unit: int) -> int:
    if nanos % unit:
        raise ValueError(f"{nanos} ns is not a whole number of {unit} ns")
    return nanos // unit


def _toml(value: object) -> str:
    if isinstance(value, _Text):
        return str(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{_toml_key(k)} = {_toml(v)}" for k, v in value.items()) + " }" if value else "{}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml(item) for item in value) + "]"
    return repr(value)


def _toml_key(name: str) -> str:
    return name if _BARE_KEY.fullmatch(name) else json.dumps(name, ensure_ascii=False)


def _line(key: str, value: object, comment: str) -> str:
    text = f"{_toml_key(key)} = {_toml(value)}"
    return f"{text:<31} # {comment}" if comment else text
