"""User-defined FIX messages that control the engine (strategies, risk limits) and the dictionary that knows them.

FIX reserves MsgTypes beginning with ``U`` and tags 5000-9999 for user definition. The engine uses:

======  ==================  =====================================================================
MsgType Name                Direction and answer
======  ==================  =====================================================================
UA      StrategyListRequest client -> engine; answered by UB
UB      StrategyList        the strategies the engine can run and every strategy instance
UC      StrategyStart       client -> engine; answered by UE, or BusinessMessageReject (j) naming why
UD      StrategyStop        client -> engine; answered by UE, or j
UE      StrategyStatus      engine -> client: one instance (as an answer, or whenever it changes)
UF      RiskLimitsRequest   client -> engine; answered by UG
UG      RiskLimitsReport    engine -> client: every risk check parameter of the account(s) (as an answer, or
                            unsolicited to every other session that may see an account whose limits changed)
UH      RiskLimitsSet       client -> engine: parameters to change; answered by UG, or j
======  ==================  =====================================================================

Typed values (strategy parameters, risk limits) travel as text with their type (ParamType, 5108: ``int``,
``float``, ``decimal``, ``bool``, ``str``), so they come back as the same Python values; an empty text has no
ParamValue (5109). Money is a decimal amount exact to 1e-8. Each request carries a ControlReqID (5100) that its
answer echoes (a j answer carries it as BusinessRejectRefID, 379).

:func:`extend_dictionary` (or the JSON-ready :func:`dictionary_extension`) adds these messages and the
user-defined fields of :mod:`engine.fix.app_codec` to a FIX 4.4 dictionary, so session validation accepts them.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, TypeAlias

from core.numbers import Nanos
from core.params import Param, ParamValue
from engine.client.protocol import StrategyInfo, StrategyState
from engine.fix.app_codec import (
    AGGRESSOR_SIDE,
    STRATEGY_ID,
    USER_FIELD_PLACES,
    USER_FIELDS,
    FieldReader,
    FixAppError,
    money_value,
    shown,
    text_value,
    timestamp_value,
    unsupported,
)
from engine.fix.dictionary import FieldDef, FixDictionary, GroupDef, Layout, MessageDef
from engine.fix.message import FieldValue, FixMessage

STRATEGY_LIST_REQUEST = "UA"
STRATEGY_LIST = "UB"
STRATEGY_START = "UC"
STRATEGY_STOP = "UD"
STRATEGY_STATUS = "UE"
RISK_LIMITS_REQUEST = "UF"
RISK_LIMITS_REPORT = "UG"
RISK_LIMITS_SET = "UH"

CONTROL_REQ_ID = 5100
NO_STRATEGY_DEFS = 5101
STRATEGY_NAME = 5102
STRATEGY_DESCRIPTION = 5103
MIN_INSTRUMENTS = 5104
MAX_INSTRUMENTS = 5105
NO_PARAM_DEFS = 5106
PARAM_NAME = 5107
PARAM_TYPE = 5108
PARAM_VALUE = 5109
PARAM_DEFAULT = 5110
PARAM_MIN = 5111
PARAM_MAX = 5112
NO_PARAM_CHOICES = 5113
PARAM_CHOICE = 5114
PARAM_DESCRIPTION = 5115
NO_STRATEGIES = 5120
STRATEGY_RUNNING = 5121
STRATEGY_ERROR = 5122
STRATEGY_REALIZED = 5123
STRATEGY_UNREALIZED = 5124
STRATEGY_FEES = 5125
NO_STRATEGY_INSTRUMENTS = 5130
NO_STRATEGY_PARAMS = 5140
NO_RISK_LIMITS = 5150
RISK_CHECK = 5151
USER_READ_ONLY = 5152

_PARAM_TYPES: dict[type, str] = {int: "int", float: "float", Decimal: "decimal", bool: "bool", str: "str"}
_TYPES_BY_NAME = {name: kind for kind, name in _PARAM_TYPES.items()}

CONTROL_FIELDS: dict[int, tuple[str, str]] = {
    CONTROL_REQ_ID: ("ControlReqID", "STRING"),
    NO_STRATEGY_DEFS: ("NoStrategyDefs", "NUMINGROUP"),
    STRATEGY_NAME: ("StrategyName", "STRING"),
    STRATEGY_DESCRIPTION: ("StrategyDescription", "STRING"),
    MIN_INSTRUMENTS: ("MinInstruments", "INT"),
    MAX_INSTRUMENTS: ("MaxInstruments", "INT"),
    NO_PARAM_DEFS: ("NoParamDefs", "NUMINGROUP"),
    PARAM_NAME: ("ParamName", "STRING"),
    PARAM_TYPE: ("ParamType", "STRING"),
    PARAM_VALUE: ("ParamValue", "STRING"),
    PARAM_DEFAULT: ("ParamDefault", "STRING"),
    PARAM_MIN: ("ParamMin", "STRING"),
    PARAM_MAX: ("ParamMax", "STRING"),
    NO_PARAM_CHOICES: ("NoParamChoices", "NUMINGROUP"),
    PARAM_CHOICE: ("ParamChoice", "STRING"),
    PARAM_DESCRIPTION: ("ParamDescription", "STRING"),
    NO_STRATEGIES: ("NoStrategies", "NUMINGROUP"),
    STRATEGY_RUNNING: ("StrategyRunning", "BOOLEAN"),
    STRATEGY_ERROR: ("StrategyError", "STRING"),
    STRATEGY_REALIZED: ("StrategyRealizedPnL", "AMT"),
    STRATEGY_UNREALIZED: ("StrategyUnrealizedPnL", "AMT"),
    STRATEGY_FEES: ("StrategyFees", "AMT"),
    NO_STRATEGY_INSTRUMENTS: ("NoStrategyInstruments", "NUMINGROUP"),
    NO_STRATEGY_PARAMS: ("NoStrategyParams", "NUMINGROUP"),
    NO_RISK_LIMITS: ("NoRiskLimits", "NUMINGROUP"),
    RISK_CHECK: ("RiskCheck", "STRING"),
    USER_READ_ONLY: ("UserReadOnly", "BOOLEAN"),
}
"""The control messages' user-defined fields: tag -> (name, FIX type)."""

# --- values -------------------------------------------------------------------------------------------------


def value_fields(value: ParamValue) -> list[tuple[int, FieldValue]]:
    """ParamType (5108) and ParamValue (5109, left out when the text is empty) of a typed value."""
    kind = _PARAM_TYPES.get(type(value))
    if kind is None:
        raise TypeError(f"unsupported parameter value {value!r} of type {type(value).__name__}")
    text = _value_text(value)
    return [(PARAM_TYPE, kind), (PARAM_VALUE, text_value(text))] if text else [(PARAM_TYPE, kind)]


def _value_text(value: ParamValue) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    return str(value)


def _parse_value(kind: str, text: str) -> ParamValue:
    """The typed value of ``text`` of ParamType ``kind``; raises ValueError."""
    if kind == "str":
        return text
    if kind == "bool":
        if text not in ("true", "false"):
            raise ValueError(f"{text!r} is not true or false")
        return text == "true"
    if kind == "int":
        return int(text)
    if kind == "float":
        return float(text)
    if kind == "decimal":
        try:
            return Decimal(text)
        except InvalidOperation:
            raise ValueError(f"{text!r} is not a decimal") from None
    raise ValueError(f"unknown ParamType {kind!r}")


def _read_value(r: FieldReader, value_tag: int = PARAM_VALUE, kind: str | None = None) -> ParamValue:
    kind = kind or r.text(PARAM_TYPE)
    text = r.optional_text(value_tag) or ""
    try:
        return _parse_value(kind, text)
    except ValueError as error:
        raise r.error(value_tag, f"ParamValue ({value_tag}): {error}") from None


def _params_fields(params: Mapping[str, ParamValue]) -> list[tuple[int, FieldValue]]:
    fields: list[tuple[int, FieldValue]] = [(NO_STRATEGY_PARAMS, len(params))]
    for name, value in params.items():
        fields += [(PARAM_NAME, text_value(name)), *value_fields(value)]
    return fields


_PARAM_MEMBERS = frozenset({PARAM_NAME, PARAM_TYPE, PARAM_VALUE})


def _read_params(r: FieldReader) -> dict[str, ParamValue]:
    params: dict[str, ParamValue] = {}
    for entry in r.entries(NO_STRATEGY_PARAMS, PARAM_NAME, _PARAM_MEMBERS):
        e = r.entry(entry)
        params[e.text(PARAM_NAME)] = _read_value(e)
    return params


def _instruments_fields(instruments: Sequence[str]) -> list[tuple[int, FieldValue]]:
    return [(NO_STRATEGY_INSTRUMENTS, len(instruments)), *((55, text_value(symbol)) for symbol in instruments)]


def _read_instruments(r: FieldReader) -> tuple[str, ...]:
    entries = r.entries(NO_STRATEGY_INSTRUMENTS, 55, frozenset({55}))
    return tuple(r.entry(entry).text(55) for entry in entries)


def _build(msg_type: str, fields: Iterable[tuple[int, FieldValue | None]]) -> FixMessage:
    return FixMessage.build(msg_type, [(tag, value) for tag, value in fields if value is not None])


def _request_reader(message: FixMessage, *, required: bool = True) -> FieldReader:
    r = FieldReader(message)
    r.ref_id = r.text(CONTROL_REQ_ID) if required else r.optional_text(CONTROL_REQ_ID)
    return r


# --- strategies ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class StrategyListRequest:
    """UA: asks for the strategies the engine can run and every strategy instance."""

    request_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class StrategyList:
    """UB: the strategies the engine can run (with their parameters) and every instance, running or stopped."""

    request_id: str
    strategies: tuple[StrategyInfo, ...] = ()
    instances: tuple[StrategyState, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class StrategyStart:
    """UC: start ``strategy`` for ``account`` on ``instruments`` with ``params`` (typed values or their text)."""

    request_id: str
    strategy: str
    account: str
    instruments: tuple[str, ...]
    params: Mapping[str, ParamValue] = field(default_factory=dict)
    strategy_id: str | None = None
    ts_ns: Nanos = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class StrategyStop:
    """UD: stop the instance ``strategy_id`` (its orders are cancelled)."""

    request_id: str
    strategy_id: str
    ts_ns: Nanos = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class StrategyStatus:
    """UE: one instance's state, answering ``request_id`` or (None) unsolicited."""

    state: StrategyState
    request_id: str | None = None


def encode_strategy_list_request(request: StrategyListRequest) -> FixMessage:
    """UA of ``request``."""
    return _build(STRATEGY_LIST_REQUEST, [(CONTROL_REQ_ID, text_value(request.request_id))])


def decode_strategy_list_request(message: FixMessage) -> StrategyListRequest:
    """The :class:`StrategyListRequest` of a UA message."""
    return StrategyListRequest(request_id=_request_reader(message).text(CONTROL_REQ_ID))


def _param_def_fields(param: Param) -> list[tuple[int, FieldValue | None]]:
    kind = _PARAM_TYPES[param.type]
    choices = param.choices or ()
    return [
        (PARAM_NAME, text_value(param.name)),
        (PARAM_TYPE, kind),
        (PARAM_DEFAULT, text_value(_value_text(param.default)) if _value_text(param.default) else None),
        (PARAM_MIN, None if param.minimum is None else text_value(_value_text(param.minimum))),
        (PARAM_MAX, None if param.maximum is None else text_value(_value_text(param.maximum))),
        (NO_PARAM_CHOICES, len(choices) if choices else None),
        *((PARAM_CHOICE, text_value(choice)) for choice in choices),
        (PARAM_DESCRIPTION, text_value(param.description) if param.description else None),
    ]


def _info_fields(info: StrategyInfo) -> list[tuple[int, FieldValue | None]]:
    fields: list[tuple[int, FieldValue | None]] = [
        (STRATEGY_NAME, text_value(info.name)),
        (STRATEGY_DESCRIPTION, text_value(info.description) if info.description else None),
        (MIN_INSTRUMENTS, info.min_instruments),
        (MAX_INSTRUMENTS, info.max_instruments),
        (NO_PARAM_DEFS, len(info.params) if info.params else None),
    ]
    for param in info.params:
        fields += _param_def_fields(param)
    return fields


def _state_fields(state: StrategyState) -> list[tuple[int, FieldValue | None]]:
    """The fields of one instance, StrategyID (5002) first (the delimiter of a NoStrategies entry)."""
    return [
        (STRATEGY_ID, text_value(state.strategy_id)),
        (STRATEGY_NAME, text_value(state.strategy)),
        (1, text_value(state.account)),
        *_instruments_fields(state.instruments),
        *_params_fields(state.params),
        (STRATEGY_RUNNING, state.running),
        (STRATEGY_ERROR, text_value(state.error) if state.error else None),
        (STRATEGY_REALIZED, money_value(state.realized)),
        (STRATEGY_UNREALIZED, money_value(state.unrealized)),
        (STRATEGY_FEES, money_value(state.fees)),
        (60, timestamp_value(state.ts_ns)),
    ]


def encode_strategy_list(strategy_list: StrategyList) -> FixMessage:
    """UB of ``strategy_list``: NoStrategyDefs (5101) then NoStrategies (5120)."""
    fields: list[tuple[int, FieldValue | None]] = [
        (CONTROL_REQ_ID, text_value(strategy_list.request_id)),
        (NO_STRATEGY_DEFS, len(strategy_list.strategies)),
    ]
    for info in strategy_list.strategies:
        fields += _info_fields(info)
    fields.append((NO_STRATEGIES, len(strategy_list.instances)))
    for state in strategy_list.instances:
        fields += _state_fields(state)
    return _build(STRATEGY_LIST, fields)


_PARAM_DEF_MEMBERS = frozenset(
    {PARAM_NAME, PARAM_TYPE, PARAM_DEFAULT, PARAM_MIN, PARAM_MAX, NO_PARAM_CHOICES, PARAM_CHOICE, PARAM_DESCRIPTION}
)
_INFO_MEMBERS = frozenset(
    {STRATEGY_NAME, STRATEGY_DESCRIPTION, MIN_INSTRUMENTS, MAX_INSTRUMENTS, NO_PARAM_DEFS} | _PARAM_DEF_MEMBERS
)
_STATE_MEMBERS = frozenset(
    {STRATEGY_ID, STRATEGY_NAME, 1, NO_STRATEGY_INSTRUMENTS, 55, NO_STRATEGY_PARAMS, STRATEGY_RUNNING, STRATEGY_ERROR}
    | {STRATEGY_REALIZED, STRATEGY_UNREALIZED, STRATEGY_FEES, 60}
    | _PARAM_MEMBERS
)


def _read_param_def(e: FieldReader) -> Param:
    name = e.text(PARAM_NAME)
    kind_name = e.text(PARAM_TYPE)
    kind = _TYPES_BY_NAME.get(kind_name)
    if kind is None:
        raise e.error(PARAM_TYPE, f"parameter {name!r}: unknown ParamType {kind_name!r}")
    bounds = [_read_value(e, tag, kind_name) if e.message.get(tag) else None for tag in (PARAM_MIN, PARAM_MAX)]
    choices = e.entries(NO_PARAM_CHOICES, PARAM_CHOICE, frozenset({PARAM_CHOICE}))
    try:
        return Param(
            name=name,
            type=kind,
            default=_read_value(e, PARAM_DEFAULT, kind_name),
            minimum=bounds[0],
            maximum=bounds[1],
            choices=tuple(e.entry(c).text(PARAM_CHOICE) for c in choices) if choices else None,
            description=e.optional_text(PARAM_DESCRIPTION) or "",
        )
    except (TypeError, ValueError) as error:
        if isinstance(error, FixAppError):
            raise
        raise e.error(PARAM_NAME, f"parameter {name!r}: {error}") from None


def _read_state(r: FieldReader) -> StrategyState:
    running = r.raw(STRATEGY_RUNNING)
    if running not in (b"Y", b"N"):
        raise r.error(STRATEGY_RUNNING, f"StrategyRunning (5121): {shown(running)} is not Y or N")
    return StrategyState(
        strategy_id=r.text(STRATEGY_ID),
        strategy=r.text(STRATEGY_NAME),
        account=r.text(1),
        instruments=_read_instruments(r),
        params=_read_params(r),
        running=running == b"Y",
        error=r.optional_text(STRATEGY_ERROR),
        realized=r.money(STRATEGY_REALIZED, default=0),
        unrealized=r.money(STRATEGY_UNREALIZED, default=0),
        fees=r.money(STRATEGY_FEES, default=0),
        ts_ns=r.time(60, default=0),
    )


def decode_strategy_list(message: FixMessage) -> StrategyList:
    """The :class:`StrategyList` of a UB message."""
    r = _request_reader(message)
    infos: list[StrategyInfo] = []
    for entry in r.entries(NO_STRATEGY_DEFS, STRATEGY_NAME, _INFO_MEMBERS):
        e = r.entry(entry)
        params = tuple(_read_param_def(e.entry(p)) for p in e.entries(NO_PARAM_DEFS, PARAM_NAME, _PARAM_DEF_MEMBERS))
        infos.append(
            StrategyInfo(
                name=e.text(STRATEGY_NAME),
                description=e.optional_text(STRATEGY_DESCRIPTION) or "",
                params=params,
                min_instruments=e.integer(MIN_INSTRUMENTS, default=1),
                max_instruments=e.integer(MAX_INSTRUMENTS) if entry.get(MAX_INSTRUMENTS) else None,
            )
        )
    instances = tuple(_read_state(r.entry(entry)) for entry in r.entries(NO_STRATEGIES, STRATEGY_ID, _STATE_MEMBERS))
    return StrategyList(request_id=r.text(CONTROL_REQ_ID), strategies=tuple(infos), instances=instances)


def encode_strategy_start(start: StrategyStart) -> FixMessage:
    """UC of ``start``."""
    return _build(
        STRATEGY_START,
        [
            (CONTROL_REQ_ID, text_value(start.request_id)),
            (STRATEGY_NAME, text_value(start.strategy)),
            (STRATEGY_ID, text_value(start.strategy_id) if start.strategy_id else None),
            (1, text_value(start.account)),
            *_instruments_fields(start.instruments),
            *_params_fields(start.params),
            (60, timestamp_value(start.ts_ns)),
        ],
    )


def decode_strategy_start(message: FixMessage) -> StrategyStart:
    """The :class:`StrategyStart` of a UC message (parameters are checked by the engine when it starts)."""
    r = _request_reader(message)
    return StrategyStart(
        request_id=r.text(CONTROL_REQ_ID),
        strategy=r.text(STRATEGY_NAME),
        account=r.text(1),
        instruments=_read_instruments(r),
        params=_read_params(r),
        strategy_id=r.optional_text(STRATEGY_ID),
        ts_ns=r.time(60, default=0),
    )


def encode_strategy_stop(stop: StrategyStop) -> FixMessage:
    """UD of ``stop``."""
    return _build(
        STRATEGY_STOP,
        [
            (CONTROL_REQ_ID, text_value(stop.request_id)),
            (STRATEGY_ID, text_value(stop.strategy_id)),
            (60, timestamp_value(stop.ts_ns)),
        ],
    )


def decode_strategy_stop(message: FixMessage) -> StrategyStop:
    """The :class:`StrategyStop` of a UD message."""
    r = _request_reader(message)
    return StrategyStop(request_id=r.text(CONTROL_REQ_ID), strategy_id=r.text(STRATEGY_ID), ts_ns=r.time(60, default=0))


def encode_strategy_status(status: StrategyStatus) -> FixMessage:
    """UE of ``status``."""
    request = status.request_id
    return _build(
        STRATEGY_STATUS,
        [(CONTROL_REQ_ID, text_value(request) if request else None), *_state_fields(status.state)],
    )


def decode_strategy_status(message: FixMessage) -> StrategyStatus:
    """The :class:`StrategyStatus` of a UE message."""
    r = _request_reader(message, required=False)
    return StrategyStatus(state=_read_state(r), request_id=r.ref_id)


# --- risk limits --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class RiskLimit:
    """One parameter of one risk check of one account; ``param`` None lists an enabled check without parameters."""

    account: str
    check: str
    param: str | None = None
    value: ParamValue = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class RiskLimitsRequest:
    """UF: the risk limits of ``account``, or of every account the user may see (None)."""

    request_id: str
    account: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class RiskLimits:
    """UG (a report, ``request_id`` None when unsolicited) or UH (limits to set).

    ``read_only`` (UserReadOnly, 5152, UG only) tells the receiving session whether its user may only see: it
    can then neither trade nor change limits. None leaves the field out.
    """

    limits: tuple[RiskLimit, ...]
    request_id: str | None = None
    read_only: bool | None = None


RiskLimitsMapping: TypeAlias = Mapping[str, Mapping[str, Mapping[str, Any]]]
"""Per account, each risk check and its parameters (as :attr:`SessionInfo.risk_limits` has them)."""


def risk_limit_rows(limits: RiskLimitsMapping) -> tuple[RiskLimit, ...]:
    """The rows of per-account, per-check parameters (a check without parameters is one row without ``param``)."""
    rows: list[RiskLimit] = []
    for account, checks in limits.items():
        for check, params in checks.items():
            if not params:
                rows.append(RiskLimit(account=account, check=check))
            rows.extend(RiskLimit(account=account, check=check, param=name, value=v) for name, v in params.items())
    return tuple(rows)


def risk_limits_mapping(rows: Iterable[RiskLimit]) -> dict[str, dict[str, dict[str, ParamValue]]]:
    """The per-account, per-check parameters of ``rows`` (the reverse of :func:`risk_limit_rows`)."""
    result: dict[str, dict[str, dict[str, ParamValue]]] = {}
    for row in rows:
        params = result.setdefault(row.account, {}).setdefault(row.check, {})
        if row.param is not None:
            params[row.param] = row.value
    return result


def encode_risk_limits_request(request: RiskLimitsRequest) -> FixMessage:
    """UF of ``request``."""
    return _build(
        RISK_LIMITS_REQUEST,
        [
            (CONTROL_REQ_ID, text_value(request.request_id)),
            (1, text_value(request.account) if request.account else None),
        ],
    )


def decode_risk_limits_request(message: FixMessage) -> RiskLimitsRequest:
    """The :class:`RiskLimitsRequest` of a UF message."""
    r = _request_reader(message)
    return RiskLimitsRequest(request_id=r.text(CONTROL_REQ_ID), account=r.optional_text(1))


def _risk_fields(msg_type: str, limits: RiskLimits) -> FixMessage:
    fields: list[tuple[int, FieldValue | None]] = [
        (CONTROL_REQ_ID, text_value(limits.request_id) if limits.request_id else None),
        (USER_READ_ONLY, limits.read_only if msg_type == RISK_LIMITS_REPORT else None),
        (NO_RISK_LIMITS, len(limits.limits)),
    ]
    for row in limits.limits:
        fields += [(1, text_value(row.account)), (RISK_CHECK, text_value(row.check))]
        if row.param is not None:
            fields += [(PARAM_NAME, text_value(row.param)), *value_fields(row.value)]
    return _build(msg_type, fields)


def encode_risk_limits_report(limits: RiskLimits) -> FixMessage:
    """UG of ``limits``."""
    return _risk_fields(RISK_LIMITS_REPORT, limits)


def encode_risk_limits_set(limits: RiskLimits) -> FixMessage:
    """UH of ``limits`` (``request_id`` is required)."""
    if not limits.request_id:
        raise ValueError("a RiskLimitsSet needs a request id")
    return _risk_fields(RISK_LIMITS_SET, limits)


_RISK_MEMBERS = frozenset({1, RISK_CHECK, PARAM_NAME, PARAM_TYPE, PARAM_VALUE})


def decode_risk_limits(message: FixMessage) -> RiskLimits:
    """The :class:`RiskLimits` of a UG or UH message."""
    r = _request_reader(message, required=message.msg_type == RISK_LIMITS_SET)
    rows: list[RiskLimit] = []
    for entry in r.entries(NO_RISK_LIMITS, 1, _RISK_MEMBERS):
        e = r.entry(entry)
        param = e.optional_text(PARAM_NAME)
        rows.append(
            RiskLimit(
                account=e.text(1),
                check=e.text(RISK_CHECK),
                param=param,
                value="" if param is None else _read_value(e),
            )
        )
    read_only = r.raw(USER_READ_ONLY) if message.get(USER_READ_ONLY) is not None else None
    if read_only not in (None, b"Y", b"N"):
        raise r.error(USER_READ_ONLY, f"UserReadOnly (5152): {shown(read_only)} is not Y or N")
    return RiskLimits(
        limits=tuple(rows), request_id=r.ref_id, read_only=None if read_only is None else read_only == b"Y"
    )


ControlMessage: TypeAlias = (
    StrategyListRequest | StrategyList | StrategyStart | StrategyStop | StrategyStatus | RiskLimitsRequest | RiskLimits
)

_DECODERS: dict[str, Callable[[FixMessage], ControlMessage]] = {
    STRATEGY_LIST_REQUEST: decode_strategy_list_request,
    STRATEGY_LIST: decode_strategy_list,
    STRATEGY_START: decode_strategy_start,
    STRATEGY_STOP: decode_strategy_stop,
    STRATEGY_STATUS: decode_strategy_status,
    RISK_LIMITS_REQUEST: decode_risk_limits_request,
    RISK_LIMITS_REPORT: decode_risk_limits,
    RISK_LIMITS_SET: decode_risk_limits,
}

CONTROL_TYPES = frozenset(_DECODERS)
"""Every control MsgType."""


def decode_control(message: FixMessage) -> ControlMessage:
    """The typed control message of ``message``; raises :class:`FixAppError` (a BusinessMessageReject whose
    BusinessRejectRefID is the ControlReqID) when it cannot be read, or is not a control message."""
    decoder = _DECODERS.get(message.msg_type)
    if decoder is None:
        raise unsupported(message)
    return decoder(message)


# --- the dictionary -----------------------------------------------------------------------------------------


def _f(tag: int, required: bool = False) -> list[Any]:
    return ["field", tag, required]


def _g(tag: int, required: bool, items: list[list[Any]]) -> list[Any]:
    return ["group", tag, required, items]


def _state_items(id_required: bool) -> list[list[Any]]:
    return [
        _f(STRATEGY_ID, id_required),
        _f(STRATEGY_NAME, True),
        _f(1, True),
        _g(NO_STRATEGY_INSTRUMENTS, False, [_f(55, True)]),
        _g(NO_STRATEGY_PARAMS, False, _param_items()),
        _f(STRATEGY_RUNNING, True),
        _f(STRATEGY_ERROR),
        _f(STRATEGY_REALIZED),
        _f(STRATEGY_UNREALIZED),
        _f(STRATEGY_FEES),
        _f(60),
    ]


def _param_items() -> list[list[Any]]:
    return [_f(PARAM_NAME, True), _f(PARAM_TYPE, True), _f(PARAM_VALUE)]


def _risk_items() -> list[list[Any]]:
    return [_f(1, True), _f(RISK_CHECK, True), _f(PARAM_NAME), _f(PARAM_TYPE), _f(PARAM_VALUE)]


def dictionary_extension() -> dict[str, Any]:
    """The engine's additions to FIX 4.4, JSON-ready in the layout of ``fix44.json``.

    ``fields`` and ``messages`` are as there (items ``["field", tag, required]`` and ``["group", tag, required,
    items]``); ``additions`` maps a MsgType, or ``MsgType/NoXxx`` for the entries of one of its repeating groups,
    to optional fields it may also hold.
    """
    fields: dict[str, dict[str, Any]] = {
        str(tag): {"name": name, "type": kind} for tag, (name, kind) in {**USER_FIELDS, **CONTROL_FIELDS}.items()
    }
    fields[str(PARAM_TYPE)]["values"] = {name: name.upper() for name in _TYPES_BY_NAME}
    fields[str(AGGRESSOR_SIDE)]["values"] = {"1": "BUY", "2": "SELL"}
    param_def = [
        _f(PARAM_NAME, True),
        _f(PARAM_TYPE, True),
        _f(PARAM_DEFAULT),
        _f(PARAM_MIN),
        _f(PARAM_MAX),
        _g(NO_PARAM_CHOICES, False, [_f(PARAM_CHOICE, True)]),
        _f(PARAM_DESCRIPTION),
    ]
    strategy_def = [
        _f(STRATEGY_NAME, True),
        _f(STRATEGY_DESCRIPTION),
        _f(MIN_INSTRUMENTS),
        _f(MAX_INSTRUMENTS),
        _g(NO_PARAM_DEFS, False, param_def),
    ]
    messages: dict[str, tuple[str, list[list[Any]]]] = {
        STRATEGY_LIST_REQUEST: ("StrategyListRequest", [_f(CONTROL_REQ_ID, True)]),
        STRATEGY_LIST: (
            "StrategyList",
            [
                _f(CONTROL_REQ_ID, True),
                _g(NO_STRATEGY_DEFS, False, strategy_def),
                _g(NO_STRATEGIES, False, _state_items(True)),
            ],
        ),
        STRATEGY_START: (
            "StrategyStart",
            [
                _f(CONTROL_REQ_ID, True),
                _f(STRATEGY_NAME, True),
                _f(STRATEGY_ID),
                _f(1, True),
                _g(NO_STRATEGY_INSTRUMENTS, False, [_f(55, True)]),
                _g(NO_STRATEGY_PARAMS, False, _param_items()),
                _f(60),
            ],
        ),
        STRATEGY_STOP: ("StrategyStop", [_f(CONTROL_REQ_ID, True), _f(STRATEGY_ID, True), _f(60)]),
        STRATEGY_STATUS: ("StrategyStatus", [_f(CONTROL_REQ_ID), *_state_items(True)]),
        RISK_LIMITS_REQUEST: ("RiskLimitsRequest", [_f(CONTROL_REQ_ID, True), _f(1)]),
        RISK_LIMITS_REPORT: (
            "RiskLimitsReport",
            [_f(CONTROL_REQ_ID), _f(USER_READ_ONLY), _g(NO_RISK_LIMITS, False, _risk_items())],
        ),
        RISK_LIMITS_SET: ("RiskLimitsSet", [_f(CONTROL_REQ_ID, True), _g(NO_RISK_LIMITS, True, _risk_items())]),
    }
    return {
        "fields": fields,
        "messages": {
            msg_type: {"name": name, "category": "app", "items": items} for msg_type, (name, items) in messages.items()
        },
        "additions": {place: [_f(tag) for tag in tags] for place, tags in USER_FIELD_PLACES.items()},
    }


def _layout(items: list[list[Any]]) -> Layout:
    tags: list[int] = []
    required: set[int] = set()
    groups: dict[int, GroupDef] = {}
    for item in items:
        tag = int(item[1])
        tags.append(tag)
        if item[2]:
            required.add(tag)
        if item[0] == "group":
            entry = _layout(item[3])
            groups[tag] = GroupDef(count_tag=tag, delimiter=entry.tags[0], layout=entry)
    return Layout(tags=tuple(tags), members=frozenset(tags), required=frozenset(required), groups=groups)


def _with_fields(layout: Layout, path: Sequence[int], items: list[list[Any]]) -> Layout:
    """``layout`` with optional fields ``items`` added to it, or to the group entries at ``path`` inside it."""
    if path:
        group = layout.groups[path[0]]
        inner = _with_fields(group.layout, path[1:], items)
        groups = {
            **layout.groups,
            path[0]: GroupDef(count_tag=group.count_tag, delimiter=group.delimiter, layout=inner),
        }
        return Layout(tags=layout.tags, members=layout.members, required=layout.required, groups=groups)
    new = tuple(int(item[1]) for item in items if int(item[1]) not in layout.members)
    return Layout(
        tags=layout.tags + new, members=layout.members | frozenset(new), required=layout.required, groups=layout.groups
    )


def extend_dictionary(dictionary: FixDictionary, extension: Mapping[str, Any] | None = None) -> FixDictionary:
    """A copy of ``dictionary`` that also knows ``extension`` (by default :func:`dictionary_extension`): the
    control messages (added to MsgType's values too) and the user-defined fields of the application messages.
    ``dictionary`` is not changed."""
    spec = dictionary_extension() if extension is None else extension
    extended = copy.copy(dictionary)
    extended.fields = dict(dictionary.fields)
    for tag, definition in spec.get("fields", {}).items():
        extended.fields[int(tag)] = FieldDef(
            tag=int(tag), name=definition["name"], type=definition["type"], values=definition.get("values", {})
        )
    extended.tags = {definition.name: tag for tag, definition in extended.fields.items()}
    extended.messages = dict(dictionary.messages)
    msg_types = extended.fields[35]
    new_types = {msg_type: definition["name"] for msg_type, definition in spec.get("messages", {}).items()}
    extended.fields[35] = FieldDef(
        tag=35, name=msg_types.name, type=msg_types.type, values={**msg_types.values, **new_types}
    )
    for msg_type, definition in spec.get("messages", {}).items():
        extended.messages[msg_type] = MessageDef(
            msg_type=msg_type,
            name=definition["name"],
            category=definition.get("category", "app"),
            layout=_layout(definition["items"]),
        )
    for place, items in spec.get("additions", {}).items():
        msg_type, *path = place.split("/")
        message = extended.messages[msg_type]
        extended.messages[msg_type] = MessageDef(
            msg_type=message.msg_type,
            name=message.name,
            category=message.category,
            layout=_with_fields(message.layout, [int(tag) for tag in path], items),
        )
    return extended
