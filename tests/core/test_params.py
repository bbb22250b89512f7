"""Declared parameters: coercion from text, bounds, choices, booleans and unknown names."""

from __future__ import annotations

from decimal import Decimal

import pytest

from core.params import Param, ParamError, parse_assignments, resolve_params

SPREAD = Param(name="spread_ticks", type=int, default=2, minimum=1, maximum=50)
RATIO = Param(name="ratio", type=float, default=0.5, minimum=0.0, maximum=1.0)
FEE = Param(name="fee_rate", type=Decimal, default=Decimal("0.0001"), minimum=Decimal(0))
HEDGE = Param(name="hedge", type=bool, default=False)
MODE = Param(name="mode", type=str, default="passive", choices=("passive", "aggressive"))


def test_param_error_is_a_value_error() -> None:
    assert issubclass(ParamError, ValueError)


@pytest.mark.parametrize(("text", "expected"), [("42", 42), (" 7 ", 7), ("1", 1), (Decimal("3"), 3), (9, 9)])
def test_int_from_text_and_numbers(text: object, expected: int) -> None:
    value = SPREAD.coerce(text)
    assert value == expected
    assert type(value) is int


@pytest.mark.parametrize("value", ["4.5", "four", "", 4.0, Decimal("3.5"), True])
def test_int_refuses_what_is_not_a_whole_number(value: object) -> None:
    with pytest.raises(ParamError, match="spread_ticks: expected int"):
        SPREAD.coerce(value)


def test_float_and_decimal_from_text() -> None:
    assert RATIO.coerce("0.25") == 0.25
    assert type(RATIO.coerce(1)) is float
    assert FEE.coerce("0.0002") == Decimal("0.0002")
    assert FEE.coerce(0.1) == Decimal("0.1")  # through its shortest text, not the binary expansion
    with pytest.raises(ParamError, match="fee_rate: expected Decimal"):
        FEE.coerce("cheap")
    with pytest.raises(ParamError, match="ratio: expected float"):
        RATIO.coerce("half")


def test_text_parameters_take_only_text() -> None:
    assert MODE.coerce("aggressive") == "aggressive"
    with pytest.raises(ParamError, match="mode: expected text"):
        MODE.coerce(5)


@pytest.mark.parametrize("text", ["true", "TRUE", " yes ", "on", "1", True])
def test_boolean_true_spellings(text: object) -> None:
    assert HEDGE.coerce(text) is True


@pytest.mark.parametrize("text", ["false", "False", "no", "off", " 0", False])
def test_boolean_false_spellings(text: object) -> None:
    assert HEDGE.coerce(text) is False


@pytest.mark.parametrize("value", ["maybe", "", "2", 1, None])
def test_boolean_refuses_anything_else(value: object) -> None:
    with pytest.raises(ParamError, match="hedge: expected a boolean"):
        HEDGE.coerce(value)


def test_bounds_are_inclusive_and_named_in_errors() -> None:
    assert SPREAD.coerce("1") == 1
    assert SPREAD.coerce("50") == 50
    with pytest.raises(ParamError, match="spread_ticks: '0' is below the minimum 1"):
        SPREAD.coerce("0")
    with pytest.raises(ParamError, match="spread_ticks: '51' is above the maximum 50"):
        SPREAD.coerce("51")
    with pytest.raises(ParamError, match="below the minimum"):
        FEE.coerce("-0.0001")


def test_choices() -> None:
    assert MODE.coerce("passive") == "passive"
    with pytest.raises(ParamError, match="mode: 'reckless' is not one of passive, aggressive"):
        MODE.coerce("reckless")


def test_declaration_checks_the_default_and_the_type() -> None:
    with pytest.raises(ParamError, match="above the maximum"):
        Param(name="levels", type=int, default=11, maximum=10)
    with pytest.raises(ParamError, match="not one of"):
        Param(name="mode", type=str, default="x", choices=("a", "b"))
    with pytest.raises(TypeError, match="unsupported type"):
        Param(name="prices", type=list, default="[]")


def test_resolve_params_overlays_coerced_values_on_defaults() -> None:
    resolved = resolve_params([SPREAD, RATIO, HEDGE, MODE], {"spread_ticks": "5", "hedge": "yes"}, owner="mm")
    assert resolved == {"spread_ticks": 5, "ratio": 0.5, "hedge": True, "mode": "passive"}


def test_resolve_params_names_unknown_and_known_parameters() -> None:
    expected = r"mm: unknown parameter\(s\) size, zeta \(known: ratio, spread_ticks\)"
    with pytest.raises(ParamError, match=expected):
        resolve_params([SPREAD, RATIO], {"zeta": "1", "size": "2", "ratio": "0.1"}, owner="mm")
    with pytest.raises(ParamError, match=r"known: none"):
        resolve_params([], {"x": "1"}, owner="empty")


def test_resolve_params_refuses_a_bad_value() -> None:
    with pytest.raises(ParamError, match="spread_ticks"):
        resolve_params([SPREAD], {"spread_ticks": "500"}, owner="mm")


def test_parse_assignments() -> None:
    assert parse_assignments([]) == {}
    assert parse_assignments(["a=1", " b = x=y ", "c="]) == {"a": "1", "b": "x=y", "c": ""}
    assert parse_assignments(["a=1", "a=2"]) == {"a": "2"}


@pytest.mark.parametrize("pair", ["novalue", "=3", "  =3"])
def test_parse_assignments_refuses_a_pair_without_a_key(pair: str) -> None:
    with pytest.raises(ParamError, match="expected key=value"):
        parse_assignments([pair])


def test_command_line_to_typed_values() -> None:
    given = parse_assignments(["spread_ticks=3", "mode=aggressive"])
    assert resolve_params([SPREAD, MODE], given, owner="mm") == {"spread_ticks": 3, "mode": "aggressive"}


def test_float_nan_is_refused_when_bounded() -> None:
    with pytest.raises(ParamError):
        RATIO.coerce("nan")


def test_decimal_nan_is_a_param_error() -> None:
    with pytest.raises(ParamError):
        FEE.coerce("NaN")


def test_int_infinity_is_a_param_error() -> None:
    with pytest.raises(ParamError):
        SPREAD.coerce(Decimal("Infinity"))
