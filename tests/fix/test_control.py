"""Engine control over FIX: strategies and risk limits round trip with their typed values, validate against the
extended dictionary, and bad requests name the reject to send."""

from __future__ import annotations

from decimal import Decimal

import pytest

from core.params import Param
from engine.client.protocol import StrategyInfo, StrategyState
from engine.config import default_risk_limits
from engine.fix import control as c
from engine.fix.app_codec import BusinessRejectReason, FixAppError, RejectAs, decode_business_reject, encode_app_reject
from engine.fix.codec import FixParser, encode
from engine.fix.dictionary import SessionRejectReason, fix44
from engine.fix.message import FixMessage

DICTIONARY = c.extend_dictionary(fix44())
TS = 1_717_248_600_123_456_789


def wire(message: FixMessage) -> FixMessage:
    """``message`` as the other side reads it: given a header, encoded, parsed back, and valid."""
    header = [(49, b"ENGINE"), (56, b"CLIENT1"), (34, b"3"), (52, b"20240601-13:30:00.123")]
    body = [field for field in message.fields if field[0] not in (8, 9, 10, 35, 49, 56, 34, 52)]
    (parsed,) = FixParser().feed(encode([(35, message.msg_type.encode()), *header, *body]))
    problem = DICTIONARY.validate(parsed)
    assert problem is None, (problem, parsed)
    return parsed


STATE = StrategyState(
    strategy_id="mm-1",
    strategy="market_maker",
    account="ACC-1",
    instruments=("AAPL", "MSFT"),
    params={"spread": 3, "skew": 0.25, "limit": Decimal("1000.50"), "hedge": True, "tag": "a b=c", "empty": ""},
    running=True,
    realized=-123_456_789,
    unrealized=50_000_000,
    fees=1,
    ts_ns=TS,
)
INFO = StrategyInfo(
    name="market_maker",
    description="quotes both sides",
    params=(
        Param(name="spread", type=int, default=2, minimum=1, maximum=50, description="ticks from mid"),
        Param(name="skew", type=float, default=0.1, minimum=0.0),
        Param(name="limit", type=Decimal, default=Decimal("500"), maximum=Decimal("1e6")),
        Param(name="hedge", type=bool, default=False),
        Param(name="mode", type=str, default="passive", choices=("passive", "aggressive")),
        Param(name="note", type=str, default=""),
    ),
    min_instruments=1,
    max_instruments=None,
)


def test_strategy_list_round_trips_infos_and_instances() -> None:
    stopped = StrategyState(
        strategy_id="tw-2", strategy="twap", account="ACC-2", instruments=("ESM4",), params={}, running=False,
        error="price band: order refused", ts_ns=TS,
    )  # fmt: skip
    pairs = StrategyInfo(name="pairs", min_instruments=2, max_instruments=2)
    listing = c.StrategyList(request_id="L-1", strategies=(INFO, pairs), instances=(STATE, stopped))
    assert c.decode_strategy_list(wire(c.encode_strategy_list(listing))) == listing
    empty = c.StrategyList(request_id="L-2")
    assert c.decode_control(wire(c.encode_strategy_list(empty))) == empty


def test_strategy_parameters_keep_their_types() -> None:
    decoded = c.decode_strategy_status(wire(c.encode_strategy_status(c.StrategyStatus(state=STATE)))).state
    assert decoded == STATE
    assert [type(value) for value in decoded.params.values()] == [int, float, Decimal, bool, str, str]
    assert decoded.net == STATE.net


@pytest.mark.parametrize(
    "message",
    [
        c.StrategyListRequest(request_id="L-1"),
        c.StrategyStart(
            request_id="S-1", strategy="market_maker", account="ACC-1", instruments=("AAPL",),
            params={"spread": 4, "mode": "aggressive"}, ts_ns=TS,
        ),
        c.StrategyStart(
            request_id="S-2", strategy="twap", account="ACC-1", instruments=("AAPL", "MSFT"), strategy_id="tw-9"
        ),
        c.StrategyStop(request_id="S-3", strategy_id="mm-1", ts_ns=TS),
        c.StrategyStatus(state=STATE, request_id="S-1"),
        c.RiskLimitsRequest(request_id="R-1", account="ACC-1"),
        c.RiskLimitsRequest(request_id="R-2"),
    ],
    ids=["list-request", "start", "start-with-id", "stop", "status", "risk-request", "risk-request-all"],
)  # fmt: skip
def test_control_messages_round_trip(message: c.ControlMessage) -> None:
    encoders = {
        c.StrategyListRequest: c.encode_strategy_list_request,
        c.StrategyStart: c.encode_strategy_start,
        c.StrategyStop: c.encode_strategy_stop,
        c.StrategyStatus: c.encode_strategy_status,
        c.RiskLimitsRequest: c.encode_risk_limits_request,
    }
    encoded = encoders[type(message)](message)  # type: ignore[operator]
    assert encoded.msg_type in c.CONTROL_TYPES
    assert c.decode_control(wire(encoded)) == message


def test_risk_limits_report_and_set_round_trip() -> None:
    limits = {"ACC-1": default_risk_limits(), "ACC-2": {"kill_switch": {}, "max_position": {"limit": 10}}}
    rows = c.risk_limit_rows(limits)
    assert c.risk_limits_mapping(rows) == limits
    report = c.RiskLimits(limits=rows, request_id="R-1")
    decoded = c.decode_control(wire(c.encode_risk_limits_report(report)))
    assert decoded == report
    assert isinstance(decoded, c.RiskLimits)
    assert c.risk_limits_mapping(decoded.limits)["ACC-1"]["daily_loss"] == {"limit": "50000", "flatten": False}
    unsolicited = c.RiskLimits(limits=rows[:2])
    assert c.decode_risk_limits(wire(c.encode_risk_limits_report(unsolicited))) == unsolicited
    change = c.RiskLimits(
        limits=(c.RiskLimit(account="ACC-1", check="max_order_quantity", param="limit", value=500),),
        request_id="R-2",
    )
    message = wire(c.encode_risk_limits_set(change))
    assert message.msg_type == c.RISK_LIMITS_SET
    assert c.decode_risk_limits(message) == change
    with pytest.raises(ValueError, match="request id"):
        c.encode_risk_limits_set(c.RiskLimits(limits=change.limits))


def test_requests_without_their_id_are_business_rejects() -> None:
    message = FixMessage([field for field in c.encode_strategy_stop(c.StrategyStop(request_id="S", strategy_id="x"))
                          .fields if field[0] != c.CONTROL_REQ_ID])  # fmt: skip
    with pytest.raises(FixAppError) as caught:
        c.decode_control(message)
    error = caught.value
    assert (error.answer, error.reason, error.ref_tag, error.ref_msg_type) == (RejectAs.BUSINESS, "5", 5100, "UD")


def test_bad_values_are_business_rejects_naming_the_request() -> None:
    start = c.encode_strategy_start(
        c.StrategyStart(request_id="S-1", strategy="mm", account="A", instruments=("AAPL",), params={"n": 3})
    )
    broken = FixMessage([(tag, b"abc" if tag == c.PARAM_VALUE else value) for tag, value in start.fields])
    with pytest.raises(FixAppError, match="ParamValue") as caught:
        c.decode_strategy_start(broken)
    assert (caught.value.ref_id, caught.value.ref_tag) == ("S-1", c.PARAM_VALUE)
    answer = decode_business_reject(wire(encode_app_reject(caught.value, ts_ns=TS, ref_seq_num=4)))
    assert (answer.ref_id, answer.ref_msg_type, answer.ref_seq_num) == ("S-1", "UC", 4)


def test_unknown_control_type_is_unsupported() -> None:
    with pytest.raises(FixAppError) as caught:
        c.decode_control(FixMessage.build("UZ", [(c.CONTROL_REQ_ID, b"1")]))
    assert caught.value.reason == str(BusinessRejectReason.UNSUPPORTED_MESSAGE_TYPE.value)


def test_dictionary_extension_leaves_fix44_alone_and_validates_control_messages() -> None:
    plain = fix44()
    status = wire(c.encode_strategy_status(c.StrategyStatus(state=STATE)))
    rejection = plain.validate(status)
    assert rejection is not None
    assert rejection.reason is SessionRejectReason.INVALID_MSGTYPE
    assert "UE" not in plain.messages
    assert 5002 not in plain.fields
    assert DICTIONARY.message("UE").name == "StrategyStatus"
    assert DICTIONARY.field("ParamType").values.keys() == {"int", "float", "decimal", "bool", "str"}
    assert {5002, 5003}.issubset(DICTIONARY.message("8").layout.members)
    assert 5001 in DICTIONARY.message("y").layout.groups[146].layout.members
    assert 5006 in DICTIONARY.message("X").layout.groups[268].layout.members
    twice = c.extend_dictionary(DICTIONARY)
    assert twice.message("8").layout.tags == DICTIONARY.message("8").layout.tags


@pytest.mark.parametrize(
    ("tag", "value", "reason"),
    [(c.PARAM_TYPE, b"complex", SessionRejectReason.VALUE_IS_INCORRECT),
     (c.STRATEGY_RUNNING, b"maybe", SessionRejectReason.INCORRECT_DATA_FORMAT),
     (c.STRATEGY_REALIZED, b"1,5", SessionRejectReason.INCORRECT_DATA_FORMAT)],
    ids=["param-type", "running", "money"],
)  # fmt: skip
def test_session_validation_catches_malformed_control_fields(
    tag: int, value: bytes, reason: SessionRejectReason
) -> None:
    good = wire(c.encode_strategy_status(c.StrategyStatus(state=STATE)))
    bad = FixMessage([(t, value if t == tag else v) for t, v in good.fields])
    (parsed,) = FixParser().feed(encode(list(bad.fields)))
    rejection = DICTIONARY.validate(parsed)
    assert rejection is not None
    assert (rejection.reason, rejection.ref_tag) == (reason, tag)


def test_extension_is_json_ready() -> None:
    import json

    spec = json.loads(json.dumps(c.dictionary_extension()))
    assert spec["messages"]["UB"]["category"] == "app"
    assert spec["additions"]["y/146"] == [["field", 5001, False], ["field", 5005, False]]
    rebuilt = c.extend_dictionary(fix44(), spec)
    assert rebuilt.validate(wire(c.encode_strategy_list(c.StrategyList(request_id="L", strategies=(INFO,))))) is None
