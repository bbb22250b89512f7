"""Declared, typed parameters of strategies and risk checks, with defaults and bounds.

The CLI parses ``--param key=value`` through them, config files are validated by them, and the desktop's
backtest lab builds its forms from them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

ParamValue = int | float | Decimal | bool | str

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


class ParamError(ValueError):
    """A parameter value is unknown, of the wrong type or out of bounds; the message names the parameter."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Param:
    """One declared parameter: name, type (``int``, ``float``, ``Decimal``, ``bool`` or ``str``), default, bounds."""

    name: str
    type: type
    default: ParamValue
    minimum: ParamValue | None = None
    maximum: ParamValue | None = None
    choices: tuple[str, ...] | None = None
    description: str = ""

    def __post_init__(self) -> None:
        if self.type not in (int, float, Decimal, bool, str):
            raise TypeError(f"parameter {self.name}: unsupported type {self.type!r}")
        self.coerce(self.default)

    def coerce(self, value: Any) -> ParamValue:
        """``value`` (a typed value or its text) converted to this parameter's type and checked against bounds."""
        converted = self._convert(value)
        if isinstance(converted, float | Decimal) and converted != converted:
            raise ParamError(f"parameter {self.name}: {value!r} is not a number")
        if self.choices is not None and converted not in self.choices:
            raise ParamError(f"parameter {self.name}: {value!r} is not one of {', '.join(self.choices)}")
        if self.minimum is not None and converted < self.minimum:  # type: ignore[operator]
            raise ParamError(f"parameter {self.name}: {value!r} is below the minimum {self.minimum}")
        if self.maximum is not None and converted > self.maximum:  # type: ignore[operator]
            raise ParamError(f"parameter {self.name}: {value!r} is above the maximum {self.maximum}")
        return converted

    def _convert(self, value: Any) -> ParamValue:
        expected = self.type.__name__
        if self.type is bool:
            if isinstance(value, bool):
                return value
            if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
                return value.strip().lower() in _TRUE
            raise ParamError(f"parameter {self.name}: expected a boolean, got {value!r}")
        if isinstance(value, bool):
            raise ParamError(f"parameter {self.name}: expected {expected}, got a boolean")
        try:
            if self.type is int:
                if isinstance(value, float) or (isinstance(value, Decimal) and value != int(value)):
                    raise ValueError
                return int(value)
            if self.type is float:
                return float(value)
            if self.type is Decimal:
                return Decimal(str(value))
        except (ValueError, InvalidOperation, OverflowError):
            raise ParamError(f"parameter {self.name}: expected {expected}, got {value!r}") from None
        if not isinstance(value, str):
            raise ParamError(f"parameter {self.name}: expected text, got {value!r}")
        return value


def resolve_params(declared: Sequence[Param], given: Mapping[str, Any], *, owner: str) -> dict[str, ParamValue]:
    """Defaults overlaid with ``given`` values, each coerced; an undeclared name raises :class:`ParamError`."""
    by_name = {param.name: param for param in declared}
    unknown = sorted(set(given) - set(by_name))
    if unknown:
        known = ", ".join(sorted(by_name)) or "none"
        raise ParamError(f"{owner}: unknown parameter(s) {', '.join(unknown)} (known: {known})")
    resolved = {param.name: param.default for param in declared}
    for name, value in given.items():
        resolved[name] = by_name[name].coerce(value)
    return resolved


def parse_assignments(pairs: Sequence[str]) -> dict[str, str]:
    """``["k=v", ...]`` from the command line as a dict; a pair without ``=`` raises :class:`ParamError`."""
    result: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ParamError(f"expected key=value, got {pair!r}")
        result[key.strip()] = value.strip()
    return result
