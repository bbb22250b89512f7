"""Reading a plugin's settings table key by key, with errors that name the setting.

A venue factory gets its settings as TOML values (:class:`core.contracts.VenueSetup`). :class:`SettingsReader`
checks them and raises :class:`core.contracts.SettingError` with the setting's key and what was expected against
what was found, which the engine reports against the configuration file (``venue.port``)::

    read = SettingsReader(setup.settings, ("host", "port", "password_env"), owner="the XYZ venue")
    host = read.text("host", "127.0.0.1")
    port = read.integer("port", minimum=1, maximum=65535, what="a TCP port")
    password = read.secret("password", os.environ)
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any, Final

from core.contracts import SettingError

_REQUIRED: Final = object()
_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def describe_value(value: object) -> str:
    """A value as an error message shows what was found: ``"text"``, ``42``, ``the float 1.5``, ``a table``."""
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, float):
        return f"the float {value!r}"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Mapping):
        return "a table"
    if isinstance(value, list | tuple):
        return "an array"
    return f"a {type(value).__name__}"


def child_key(parent: str, name: str) -> str:
    """``parent.name`` as a key path, ``name`` quoted when it is not a bare TOML key."""
    shown = name if _BARE_KEY.fullmatch(name) else json.dumps(name, ensure_ascii=False)
    return f"{parent}.{shown}" if parent else shown


class SettingsReader:
    """The settings of one plugin (``owner``, as in "the OUCH venue"), checked one by one.

    Every key of ``settings`` must be one of ``allowed``. With a ``prefix`` (the FIX venue's ``fix_``) each key may
    also be written with it; errors then name the key as it was written. ``path`` is where the table sits inside
    the plugin's settings (``"itch"`` for a sub-table), prepended to every key reported.
    """

    def __init__(
        self,
        settings: Mapping[str, Any],
        allowed: Sequence[str],
        *,
        owner: str,
        prefix: str = "",
        path: str = "",
    ) -> None:
        self.owner = owner
        self.path = path
        self._prefix = prefix
        self._values: dict[str, Any] = {}
        self._written: dict[str, str] = {}
        for written, value in settings.items():
            name = written.removeprefix(prefix) if prefix else written
            if name not in allowed:
                close = difflib.get_close_matches(name, allowed, n=1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                raise SettingError(
                    child_key(path, written),
                    f"unknown setting of {owner} (expected one of: {', '.join(allowed)}{hint})",
                )
            if name in self._values:
                raise SettingError(child_key(path, written), f"given twice (also as {self._written[name]})")
            self._values[name] = value
            self._written[name] = written

    def has(self, name: str) -> bool:
        """True when the setting is given (and not None)."""
        return self._values.get(name) is not None

    def key(self, name: str) -> str:
        """The setting's key path as errors report it (as written, or with the prefix when the rest used it)."""
        written = self._written.get(name)
        if written is None:
            uses_prefix = bool(self._prefix) and any(k.startswith(self._prefix) for k in self._written.values())
            written = self._prefix + name if uses_prefix else name
        return child_key(self.path, written)

    def fail(self, name: str, expected: str, found: object = _REQUIRED) -> SettingError:
        """The error for setting ``name``: ``expected ..., found ...`` (found nothing when not given)."""
        shown = f"nothing ({self.owner} needs the setting)" if found is _REQUIRED else describe_value(found)
        return SettingError(self.key(name), f"expected {expected}, found {shown}")

    def _get(self, name: str, default: object, expected: str) -> Any:
        value = self._values.get(name)
        if value is None:
            if default is _REQUIRED:
                raise self.fail(name, expected)
            return default
        return value

    def text(self, name: str, default: Any = _REQUIRED, *, what: str = "a non-empty string") -> Any:
        """A non-empty string (``default`` when not given; required without one)."""
        value = self._get(name, default, what)
        if value is default:
            return value
        if not isinstance(value, str) or not value.strip():
            raise self.fail(name, what, value)
        return value

    def integer(
        self,
        name: str,
        default: Any = _REQUIRED,
        *,
        minimum: int | None = None,
        maximum: int | None = None,
        what: str = "an integer",
    ) -> Any:
        """An integer within ``minimum..maximum`` (a string of decimal digits is read as one)."""
        value = self._get(name, default, what)
        if value is default:
            return value
        number = value
        if isinstance(value, str) and value.strip().isdecimal():
            number = int(value)
        if not isinstance(number, int) or isinstance(number, bool):
            raise self.fail(name, what, value)
        if (minimum is not None and number < minimum) or (maximum is not None and number > maximum):
            low = "" if minimum is None else str(minimum)
            high = "" if maximum is None else str(maximum)
            raise self.fail(name, f"{what} within {low}..{high}", value)
        return number

    def number(self, name: str, default: Any = _REQUIRED, *, minimum: float = 0.0, what: str = "a number") -> Any:
        """A finite number of at least ``minimum``, as a float (a numeric string is read as one)."""
        value = self._get(name, default, what)
        if value is default:
            return value
        number: object = value
        if isinstance(value, str):
            try:
                number = float(value)
            except ValueError:
                raise self.fail(name, what, value) from None
        if not isinstance(number, int | float) or isinstance(number, bool) or not minimum <= number < float("inf"):
            raise self.fail(name, f"{what} >= {minimum:g}", value)
        return float(number)

    def boolean(self, name: str, default: Any = _REQUIRED) -> Any:
        """True or false."""
        value = self._get(name, default, "true or false")
        if value is not default and not isinstance(value, bool):
            raise self.fail(name, "true or false", value)
        return value

    def texts(self, name: str, default: Any = _REQUIRED, *, what: str = "an array of strings") -> Any:
        """A non-empty tuple of non-empty strings, from an array (or one comma-separated string)."""
        value = self._get(name, default, what)
        if value is default:
            return value
        items = value.split(",") if isinstance(value, str) else value
        if not isinstance(items, list | tuple) or not all(isinstance(item, str) and item.strip() for item in items):
            raise self.fail(name, what, value)
        if not items:
            raise self.fail(name, f"{what} (at least one)", value)
        return tuple(item.strip() for item in items)

    def table(self, name: str) -> Mapping[str, Any] | None:
        """A sub-table (None when not given); read it with a reader whose ``path`` is :meth:`key`."""
        value = self._values.get(name)
        if value is not None and not isinstance(value, Mapping):
            raise self.fail(name, "a table", value)
        return value

    def secret(self, name: str, environ: Mapping[str, str]) -> str:
        """A password: ``<name>`` given in code, or ``<name>_env``, the environment variable holding it.

        The engine never passes ``<name>`` from its configuration file (it refuses a password written there).
        """
        if self.has(name):
            return str(self.text(name))
        env_name = f"{name}_env"
        if not self.has(env_name):
            raise self.fail(env_name, "the name of the environment variable holding the password")
        variable = self.text(env_name, what="an environment variable name")
        value = environ.get(variable)
        if value is None:
            raise SettingError(self.key(env_name), f"the environment variable {variable} is not set")
        return value
