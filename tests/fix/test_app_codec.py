"""FIX application messages: every message round trips through the wire and validates, prices stay exact, and
decoding errors carry the answer the server must send."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal, localcontext

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.commands import CancelAll, CancelOrder, ReplaceOrder, SubmitOrder
from core.enums import ExecType, Liquidity, OrderType, OrdStatus, Side, TimeInForce
from core.events import ASK, BID, BookUpdate, CancelReject, ExecutionReport, PositionUpdate, TradeTick
from core.instruments import Instrument
from engine.fix import app_codec as ac
from engine.fix.app_codec import FixAppError, RejectAs
from engine.fix.codec import FixParser, encode
from engine.fix.control import extend_dictionary
from engine.fix.dictionary import FixDictionary, fix44
from engine.fix.message import FixMessage

ENGINE_DICTIONARY = extend_dictionary(fix44())
AAPL = Instrument(symbol="AAPL", tick_size=100, price_scale=4)
BTC = Instrument(symbol="BTC-USD", tick_size=1, price_scale=8, lot_size=1, currency="USD")
ES = Instrument(symbol="ESM4", tick_size=25, price_scale=2, lot_size=1)
WHOLE = Instrument(symbol="WHOLE", tick_size=5, price_scale=0, lot_size=100, currency="JPY")
INSTRUMENTS = {i.symbol: i for i in (AAPL, BTC, ES, WHOLE)}
TS = 1_717_248_600_123_456_789
"""2024-06-01 13:30:00.123456789 UTC."""


def wire(message: FixMessage) -> FixMessage:
    """``message`` as the other side reads it: given a header, encoded, parsed back."""
    header = [(49, b"CLIENT1"), (56, b"ENGINE"), (34, b"7"), (52, b"20240601-13:30:00.123")]
    body = [field for field in message.fields if field[0] not in (8, 9, 10, 35, 49, 56, 34, 52)]
    frame = encode([(35, message.msg_type.encode()), *header, *body])
    (parsed,) = FixParser(data_lengths=ENGINE_DICTIONARY.data_lengths).feed(frame)
    return parsed


def valid(message: FixMessage, dictionary: FixDictionary = ENGINE_DICTIONARY) -> FixMessage:
    """``message`` off the wire, after checking it passes ``dictionary``'s validation."""
    parsed = wire(message)
    assert dictionary.validate(parsed) is None, (dictionary.validate(parsed), parsed)
    return parsed


def replaced(message: FixMessage, tag: int, value: bytes | None) -> FixMessage:
    """``message`` with ``tag`` set to ``value`` (appended if absent), or removed when ``value`` is None."""
    fields = [(t, v) for t, v in message.fields if t != tag]
    if value is None:
        return FixMessage(fields)
    if tag in message:
        return FixMessage([(t, value if t == tag else v) for t, v in message.fields])
    return FixMessage([*fields, (tag, value)])


def order(**changes: object) -> SubmitOrder:
    base = SubmitOrder(
        client_order_id="ORD-1",
        account="ACC-1",
        instrument="AAPL",
        side=Side.BUY,
        quantity=100,
        order_type=OrderType.LIMIT,
        price=1_872_500,
        time_in_force=TimeInForce.DAY,
        ts_ns=TS,
    )
    return base._replace(**changes)


# --- orders -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "request_",
    [
        order(),
        order(side=Side.SELL, time_in_force=TimeInForce.IOC, ts_ns=TS - TS % 1_000_000),
        order(order_type=OrderType.MARKET, price=None, time_in_force=TimeInForce.FOK),
        order(instrument="BTC-USD", price=1, quantity=3, time_in_force=TimeInForce.GTC),
        order(instrument="BTC-USD", price=6_543_210_987_654_321, ts_ns=0),
        order(instrument="WHOLE", price=38_505, quantity=300),
        order(instrument="ESM4", price=-25, account=""),
    ],
    ids=["limit", "sell-ioc-millis", "market", "smallest-tick", "large-price", "scale-0", "negative-no-account"],
)
def test_new_order_round_trips_exactly(request_: SubmitOrder) -> None:
    instrument = INSTRUMENTS[request_.instrument]
    message = valid(ac.encode_new_order(request_, instrument), fix44())
    assert ac.decode_new_order(message, INSTRUMENTS) == request_


def test_new_order_prices_are_fix_decimals() -> None:
    message = ac.encode_new_order(order(instrument="BTC-USD", price=1), BTC)
    assert message.get(44) == b"0.00000001"
    assert ac.encode_new_order(order(price=1_872_500), AAPL).get(44) == b"187.25"
    assert ac.encode_new_order(order(instrument="WHOLE", price=38_505), WHOLE).get(44) == b"38505"


def test_new_order_reads_trailing_zeros_and_any_timestamp_precision() -> None:
    message = ac.encode_new_order(order(), AAPL)
    message = replaced(replaced(message, 44, b"187.250000"), 60, b"20240601-13:30:00.123456")
    decoded = ac.decode_new_order(wire(message), INSTRUMENTS)
    assert decoded.price == 1_872_500
    assert decoded.ts_ns == TS - 789
    defaults = ac.decode_new_order(wire(replaced(replaced(message, 59, None), 1, None)), INSTRUMENTS)
    assert (defaults.time_in_force, defaults.account) == (TimeInForce.DAY, "")


SPELLINGS = [
    (38, b"100.", {}), (38, b"100.0", {}), (38, b"0100", {}), (44, b"187.2500", {}), (44, b"187.250000", {}),
    (44, b"0187.25", {}), (44, b"187.25", {}), (59, b"", {}), (59, b"3", {"time_in_force": TimeInForce.IOC}),
    (60, b"", {"ts_ns": 0}), (60, b"20240601-13:30:00", {"ts_ns": TS - TS % 1_000_000_000}), (1, b"", {"account": ""}),
    (1, None, {"account": ""}), (11, b"\xc3\xa9t\xc3\xa9", {"client_order_id": "été"}),
]  # fmt: skip


@pytest.mark.parametrize(("tag", "value", "changes"), SPELLINGS)
def test_new_order_reads_the_same_order_however_its_values_are_written(
    tag: int, value: bytes | None, changes: dict[str, object]
) -> None:
    message = wire(replaced(ac.encode_new_order(order(), AAPL), tag, value))
    assert ac.decode_new_order(message, INSTRUMENTS) == order(**changes)


def test_market_order_with_an_empty_price_is_a_market_order() -> None:
    market = order(order_type=OrderType.MARKET, price=None)
    message = wire(replaced(ac.encode_new_order(market, AAPL), 44, b""))
    assert ac.decode_new_order(message, INSTRUMENTS) == market


NEW_ORDER_ERRORS = [
    ("no ClOrdID", 11, None, RejectAs.BUSINESS, "5"),
    ("no side", 54, None, RejectAs.BUSINESS, "5"),
    ("garbage side", 54, b"12", RejectAs.BUSINESS, "0"),
    ("short sell", 54, b"5", RejectAs.ORDER, "11"),
    ("unknown symbol", 55, b"MSFT", RejectAs.ORDER, "1"),
    ("no symbol", 55, None, RejectAs.ORDER, "1"),
    ("more decimals than the scale", 44, b"187.25001", RejectAs.ORDER, "99"),
    ("off the tick grid", 44, b"187.2501", RejectAs.ORDER, "99"),
    ("not a price", 44, b"1e3", RejectAs.ORDER, "99"),
    ("fractional quantity", 38, b"10.5", RejectAs.ORDER, "13"),
    ("zero quantity", 38, b"0", RejectAs.ORDER, "13"),
    ("no quantity", 38, None, RejectAs.ORDER, "13"),
    ("stop order", 40, b"3", RejectAs.ORDER, "11"),
    ("limit without price", 44, None, RejectAs.ORDER, "99"),
    ("good till date", 59, b"6", RejectAs.ORDER, "11"),
    ("bad TransactTime", 60, b"2024-06-01", RejectAs.ORDER, "99"),
]


@pytest.mark.parametrize(
    ("case", "tag", "value", "answer", "reason"), NEW_ORDER_ERRORS, ids=[c[0] for c in NEW_ORDER_ERRORS]
)
def test_new_order_errors_say_how_to_answer(
    case: str, tag: int, value: bytes | None, answer: RejectAs, reason: str
) -> None:
    message = wire(replaced(ac.encode_new_order(order(), AAPL), tag, value))
    with pytest.raises(FixAppError) as caught:
        ac.decode_new_order(message, INSTRUMENTS)
    error = caught.value
    assert (error.answer, error.reason, error.ref_tag, error.ref_msg_type) == (answer, reason, tag, "D")
    assert error.ref_id == (None if tag == 11 else "ORD-1")
    assert isinstance(error, ValueError)
    answer_message = valid(ac.encode_app_reject(error, ts_ns=TS, exec_id="E-9", ref_seq_num=7), fix44())
    assert answer_message.msg_type == answer.value
    assert answer_message.get(error.reason_tag) == reason.encode()
    if answer is RejectAs.ORDER:
        assert (answer_message.get(39), answer_message.get(150), answer_message.get(11)) == (b"8", b"8", b"ORD-1")
        assert answer_message.get(17) == b"E-9"
    else:
        assert (answer_message.get(45), answer_message.get(372)) == (b"7", b"D")
        assert f"({tag})".encode() in answer_message.raw(58)


def test_market_order_with_a_price_is_refused() -> None:
    message = wire(replaced(ac.encode_new_order(order(order_type=OrderType.MARKET, price=None), AAPL), 44, b"187"))
    with pytest.raises(FixAppError, match=r"market order") as caught:
        ac.decode_new_order(message, INSTRUMENTS)
    assert (caught.value.answer, caught.value.ref_tag) == (RejectAs.ORDER, 44)


def test_cancel_round_trip_keys_the_command_by_the_original_order() -> None:
    command = CancelOrder(client_order_id="ORD-1", account="ACC-1", ts_ns=TS)
    message = valid(ac.encode_cancel(command, cl_ord_id="CXL-1", symbol="AAPL", side=Side.BUY, quantity=100), fix44())
    assert (message.get(41), message.get(11)) == (b"ORD-1", b"CXL-1")
    assert ac.decode_cancel(message) == ac.CancelRequest(command, "CXL-1")
    # After a replace under REP-1 the order is still ORD-1 for the engine.
    chained = wire(replaced(message, 41, b"REP-1"))
    assert ac.decode_cancel(chained, aliases={"REP-1": "ORD-1"}).command == command


def test_cancel_without_the_order_is_answered_with_a_cancel_reject() -> None:
    command = CancelOrder(client_order_id="ORD-1", account="ACC-1", ts_ns=TS)
    message = wire(replaced(ac.encode_cancel(command, cl_ord_id="CXL-1", symbol="AAPL", side=Side.BUY), 41, None))
    with pytest.raises(FixAppError) as caught:
        ac.decode_cancel(message)
    assert (caught.value.answer, caught.value.ref_tag, caught.value.ref_id) == (RejectAs.CANCEL, 41, "CXL-1")
    answer = valid(ac.encode_app_reject(caught.value, ts_ns=TS), fix44())
    assert (answer.msg_type, answer.get(434), answer.get(11), answer.get(39)) == ("9", b"1", b"CXL-1", b"8")


@pytest.mark.parametrize(
    "command",
    [
        ReplaceOrder(client_order_id="ORD-1", account="ACC-1", quantity=200, price=1_873_000, ts_ns=TS),
        ReplaceOrder(client_order_id="ORD-1", account="ACC-1", price=1_873_000, ts_ns=TS),
        ReplaceOrder(client_order_id="ORD-1", account="", quantity=50, ts_ns=TS),
    ],
    ids=["both", "price-only", "quantity-only"],
)
def test_replace_round_trips(command: ReplaceOrder) -> None:
    message = valid(ac.encode_replace(command, AAPL, cl_ord_id="REP-1", side=Side.BUY), fix44())
    assert ac.decode_replace(message, INSTRUMENTS) == ac.ReplaceRequest(command, "REP-1")


def test_replace_off_the_tick_is_a_cancel_reject_for_a_replace() -> None:
    command = ReplaceOrder(client_order_id="ORD-1", account="ACC-1", price=1_873_000, ts_ns=TS)
    message = wire(replaced(ac.encode_replace(command, AAPL, cl_ord_id="REP-1", side=Side.BUY), 44, b"187.305"))
    with pytest.raises(FixAppError, match="tick") as caught:
        ac.decode_replace(message, INSTRUMENTS)
    assert (caught.value.answer, caught.value.ref_tag) == (RejectAs.CANCEL, 44)
    answer = valid(ac.encode_app_reject(caught.value, ts_ns=TS, order_id="X-1", ord_status=OrdStatus.NEW), fix44())
    assert (answer.get(434), answer.get(37), answer.get(39), answer.get(41)) == (b"2", b"X-1", b"0", b"ORD-1")


def test_order_status_request_round_trips() -> None:
    request = ac.OrderStatusRequest(cl_ord_id="ORD-1", symbol="AAPL", side=Side.SELL, order_id="X-1")
    assert ac.decode_order_status_request(valid(ac.encode_order_status_request(request), fix44())) == request
    with pytest.raises(FixAppError) as caught:
        ac.decode_order_status_request(wire(replaced(ac.encode_order_status_request(request), 11, None)))
    assert (caught.value.answer, caught.value.reason, caught.value.ref_tag) == (RejectAs.BUSINESS, "5", 11)


# --- execution reports --------------------------------------------------------------------------------------


def report(**changes: object) -> ExecutionReport:
    values: dict[str, object] = {
        "exec_id": "EX-1",
        "order_id": "O-1",
        "client_order_id": "ORD-1",
        "account": "ACC-1",
        "instrument": "AAPL",
        "side": Side.BUY,
        "order_type": OrderType.LIMIT,
        "exec_type": ExecType.NEW,
        "ord_status": OrdStatus.NEW,
        "quantity": 150,
        "price": 1_872_600,
        "cum_qty": 0,
        "leaves_qty": 150,
        "ts_ns": TS,
    }
    values.update(changes)
    return ExecutionReport(**values)  # type: ignore[arg-type]


REPORTS = {
    "new": report(),
    "fill-maker-fee": report(
        exec_type=ExecType.TRADE, ord_status=OrdStatus.PARTIALLY_FILLED, cum_qty=100, leaves_qty=50, last_qty=100,
        last_price=1_872_500, fee=-12_345_678, liquidity=Liquidity.MAKER, venue="SIM",
    ),
    "fill-taker": report(
        exec_type=ExecType.TRADE, ord_status=OrdStatus.FILLED, cum_qty=150, leaves_qty=0, last_qty=50,
        last_price=1_872_600, fee=250_000_000, liquidity=Liquidity.TAKER, strategy_id="mm-1",
    ),
    "rejected": report(
        exec_type=ExecType.REJECTED, ord_status=OrdStatus.REJECTED, leaves_qty=0, order_id="",
        reason="max_order_quantity: 150 > 100 — refused",
    ),
    "canceled-market": report(
        exec_type=ExecType.CANCELED, ord_status=OrdStatus.CANCELED, order_type=OrderType.MARKET, price=None,
        leaves_qty=0, reason="IOC remainder",
    ),
    "pending-replace": report(exec_type=ExecType.PENDING_REPLACE, ord_status=OrdStatus.PENDING_REPLACE),
    "fine-price": report(instrument="BTC-USD", price=123_456_789, last_price=1, ts_ns=0),
}  # fmt: skip


@pytest.mark.parametrize("name", REPORTS)
def test_execution_report_round_trips(name: str) -> None:
    original = REPORTS[name]
    message = ac.encode_execution_report(original, INSTRUMENTS[original.instrument])
    if original.strategy_id is None and not original.venue:
        valid(message, fix44())
    assert ac.decode_execution_report(valid(message), INSTRUMENTS) == original


def test_execution_report_fields_a_fix_client_reads() -> None:
    fill = REPORTS["fill-maker-fee"]
    message = valid(ac.encode_execution_report(fill, AAPL, filled_cost=1_872_500 * 100))
    assert message.get(31) == b"187.25"
    assert (message.get(32), message.get(14), message.get(151)) == (b"100", b"100", b"50")
    assert (message.get(12), message.get(13), message.get(851)) == (b"-0.12345678", b"3", b"1")
    assert message.get(6) == b"187.25"
    rejected = valid(
        ac.encode_execution_report(REPORTS["rejected"], AAPL, ord_rej_reason=ac.OrdRejReason.ORDER_EXCEEDS_LIMIT)
    )
    assert (rejected.get(37), rejected.get(103)) == (b"NONE", b"3")
    assert "—" in rejected.get_str(58).encode("latin-1").decode("utf-8")


def test_average_price_is_exact_to_four_more_decimals() -> None:
    filled_cost = 1_872_500 * 100 + 1_872_600 * 50
    assert ac.average_price(filled_cost, 150, 4) == b"187.25333333"
    assert ac.average_price(1_872_500 * 3, 3, 4) == b"187.25"
    assert ac.average_price(0, 0, 4) == b"0"
    assert ac.average_price(5, 2, 0) == b"2.5"
    filled = REPORTS["fill-taker"]
    message = ac.encode_execution_report(filled, AAPL, filled_cost=filled_cost)
    assert message.get(6) == b"187.25333333"


@settings(max_examples=300, deadline=None)
@given(
    filled_cost=st.integers(min_value=-(10**20), max_value=10**20),
    cum_qty=st.integers(min_value=1, max_value=10**12),
    price_scale=st.integers(min_value=0, max_value=8),
    extra=st.sampled_from([0, 1, 4, 6]),
)
def test_average_price_is_the_quotient_rounded_half_even(
    filled_cost: int, cum_qty: int, price_scale: int, extra: int
) -> None:
    with localcontext() as context:
        context.prec = 80
        value = (Decimal(filled_cost) / Decimal(cum_qty)).scaleb(-price_scale)
        value = value.quantize(Decimal(1).scaleb(-(price_scale + extra)), rounding=ROUND_HALF_EVEN)
    text = format(value, "f")
    expected = text.rstrip("0").rstrip(".") if "." in text else text
    assert ac.average_price(filled_cost, cum_qty, price_scale, extra) == expected.encode()


def test_execution_report_wire_bytes_with_every_optional_field() -> None:
    fill = report(
        exec_type=ExecType.TRADE, ord_status=OrdStatus.PARTIALLY_FILLED, cum_qty=50, leaves_qty=50, last_qty=50,
        last_price=1_872_600, fee=-12_345_678, liquidity=Liquidity.MAKER, reason="part\x01filled",
        venue="XNAS", strategy_id="mm-1",
    )  # fmt: skip
    message = ac.encode_execution_report(fill, AAPL, filled_cost=1_872_600 * 50, cl_ord_id="C-2", orig_cl_ord_id="C-1")
    expected = [
        (35, b"8"), (37, fill.order_id.encode()), (11, b"C-2"), (41, b"C-1"), (17, fill.exec_id.encode()),
        (150, b"F"), (39, b"1"), (1, fill.account.encode()), (55, b"AAPL"), (54, b"1"), (38, b"150"), (40, b"2"),
        (44, b"187.26"), (32, b"50"), (31, b"187.26"), (151, b"50"), (14, b"50"), (6, b"187.26"),
        (60, b"20240601-13:30:00.123456789"), (12, b"-0.12345678"), (13, b"3"), (58, b"part filled"), (851, b"1"),
        (5002, b"mm-1"), (5003, b"XNAS"),
    ]  # fmt: skip
    assert message == FixMessage(expected)
    assert message.msg_type == "8"
    assert message.get(58) == b"part filled"
    assert message.body_bytes() == b"".join(b"%d=%s\x01" % field for field in expected[1:])


def test_execution_report_answering_a_replace_carries_the_request_ids() -> None:
    replaced_report = report(exec_type=ExecType.REPLACED, ord_status=OrdStatus.NEW, quantity=200)
    message = valid(ac.encode_execution_report(replaced_report, AAPL, cl_ord_id="REP-1", orig_cl_ord_id="ORD-1"))
    assert (message.get(11), message.get(41)) == (b"REP-1", b"ORD-1")


@pytest.mark.parametrize(
    "reject",
    [
        CancelReject(client_order_id="ORD-1", order_id="O-1", account="ACC-1", ts_ns=TS, reason="too late"),
        CancelReject(client_order_id="ORD-9", order_id="", account="", ts_ns=TS, reason="unknown", is_replace=True),
    ],
    ids=["known", "unknown-replace"],
)
def test_cancel_reject_round_trips(reject: CancelReject) -> None:
    message = valid(ac.encode_cancel_reject(reject), fix44())
    assert ac.decode_cancel_reject(message) == reject
    assert message.get(102) == (b"1" if not reject.order_id else b"99")
    assert message.get(434) == (b"2" if reject.is_replace else b"1")


def test_cancel_reject_of_a_chained_request() -> None:
    reject = CancelReject(client_order_id="ORD-1", order_id="O-1", account="ACC-1", ts_ns=TS, reason="late")
    message = valid(
        ac.encode_cancel_reject(
            reject, cl_ord_id="CXL-2", ord_status=OrdStatus.FILLED, reason=ac.CxlRejReason.TOO_LATE_TO_CANCEL
        )
    )
    assert (message.get(11), message.get(41), message.get(39), message.get(102)) == (b"CXL-2", b"ORD-1", b"2", b"0")
    assert ac.decode_cancel_reject(message) == reject


# --- mass cancel --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "command",
    [
        CancelAll(ts_ns=TS),
        CancelAll(account="ACC-1", instrument="AAPL", ts_ns=TS),
        CancelAll(account="ACC-1", strategy_id="mm-1", ts_ns=TS),
    ],
    ids=["all", "account-symbol", "strategy"],
)
def test_mass_cancel_round_trips(command: CancelAll) -> None:
    message = ac.encode_mass_cancel(command, cl_ord_id="MC-1")
    if command.account is None:
        valid(message, fix44())
    assert ac.decode_mass_cancel(valid(message)) == ac.MassCancelRequest(command, "MC-1")
    assert message.get(530) == (b"1" if command.instrument else b"7")


@pytest.mark.parametrize(
    ("tag", "value", "reason"), [(530, b"3", "99"), (55, None, "1")], ids=["product", "security-without-symbol"]
)
def test_mass_cancel_errors_are_rejected_mass_cancel_reports(tag: int, value: bytes | None, reason: str) -> None:
    message = wire(
        replaced(ac.encode_mass_cancel(CancelAll(instrument="AAPL", ts_ns=TS), cl_ord_id="MC-1"), tag, value)
    )
    with pytest.raises(FixAppError) as caught:
        ac.decode_mass_cancel(message)
    assert (caught.value.answer, caught.value.reason, caught.value.ref_tag) == (RejectAs.MASS_CANCEL, reason, tag)
    answer = valid(ac.encode_app_reject(caught.value, ts_ns=TS), fix44())
    assert (answer.get(531), answer.get(532), answer.get(11)) == (b"0", reason.encode(), b"MC-1")


@pytest.mark.parametrize(
    "report_",
    [
        ac.MassCancelReport(
            report_id="MCR-1", cl_ord_id="MC-1", request_type="7", accepted=True, affected=12, ts_ns=TS
        ),
        ac.MassCancelReport(
            report_id="MCR-2", cl_ord_id="MC-2", request_type="1", accepted=False, ts_ns=TS, text="kill switch",
            reject_reason=ac.MassCancelRejectReason.OTHER,
        ),
    ],
    ids=["accepted", "rejected"],
)  # fmt: skip
def test_mass_cancel_report_round_trips(report_: ac.MassCancelReport) -> None:
    message = valid(ac.encode_mass_cancel_report(report_), fix44())
    assert ac.decode_mass_cancel_report(message) == report_
    assert message.get(531) == (report_.request_type.encode() if report_.accepted else b"0")


# --- market data --------------------------------------------------------------------------------------------


def book(symbol: str, rows: list[tuple[int, int, int]], *, ts_ns: int = TS, sequence: int = 41) -> BookUpdate:
    deltas = np.array(rows, dtype=np.int64).reshape(-1, 3)
    deltas.flags.writeable = False
    bids = {p: q for s, p, q in rows if s == BID and q}
    asks = {p: q for s, p, q in rows if s == ASK and q}
    return BookUpdate(
        instrument=symbol,
        ts_ns=ts_ns,
        sequence=sequence,
        deltas=deltas,
        best_bid=max(bids) if bids else None,
        best_bid_qty=bids[max(bids)] if bids else 0,
        best_ask=min(asks) if asks else None,
        best_ask_qty=asks[min(asks)] if asks else 0,
    )


def same_book(left: BookUpdate, right: BookUpdate) -> bool:
    fields = ("instrument", "ts_ns", "sequence", "best_bid", "best_bid_qty", "best_ask", "best_ask_qty")
    return all(getattr(left, f) == getattr(right, f) for f in fields) and np.array_equal(left.deltas, right.deltas)


@pytest.mark.parametrize(
    "request_",
    [
        ac.MarketDataRequest(request_id="MD-1", subscription=ac.SubscriptionType.SUBSCRIBE, symbols=("AAPL", "ESM4")),
        ac.MarketDataRequest(
            request_id="MD-2", subscription=ac.SubscriptionType.SNAPSHOT, symbols=("AAPL",),
            entry_types=(ac.MDEntryType.BID, ac.MDEntryType.OFFER), depth=1,
        ),
        ac.MarketDataRequest(request_id="MD-1", subscription=ac.SubscriptionType.UNSUBSCRIBE, symbols=("AAPL",)),
    ],
    ids=["subscribe", "snapshot-top", "unsubscribe"],
)  # fmt: skip
def test_market_data_request_round_trips(request_: ac.MarketDataRequest) -> None:
    message = valid(ac.encode_market_data_request(request_), fix44())
    assert ac.decode_market_data_request(message, INSTRUMENTS) == request_


MD_ERRORS = [
    ("unknown symbol", 55, b"MSFT", RejectAs.MARKET_DATA, "0"),
    ("subscription type", 263, b"5", RejectAs.MARKET_DATA, "4"),
    ("entry type", 269, b"4", RejectAs.MARKET_DATA, "8"),
    ("full refresh updates", 265, b"0", RejectAs.MARKET_DATA, "6"),
    ("negative depth", 264, b"-1", RejectAs.MARKET_DATA, "5"),
    ("no MDReqID", 262, None, RejectAs.BUSINESS, "5"),
]


@pytest.mark.parametrize(("case", "tag", "value", "answer", "reason"), MD_ERRORS, ids=[c[0] for c in MD_ERRORS])
def test_market_data_request_errors(case: str, tag: int, value: bytes | None, answer: RejectAs, reason: str) -> None:
    request = ac.MarketDataRequest(request_id="MD-1", subscription=ac.SubscriptionType.SUBSCRIBE, symbols=("AAPL",))
    message = wire(replaced(ac.encode_market_data_request(request), tag, value))
    with pytest.raises(FixAppError) as caught:
        ac.decode_market_data_request(message, INSTRUMENTS)
    assert (caught.value.answer, caught.value.reason) == (answer, reason)
    answer_message = valid(ac.encode_app_reject(caught.value, ts_ns=TS), fix44())
    if answer is RejectAs.MARKET_DATA:
        assert (answer_message.get(262), answer_message.get(281)) == (b"MD-1", reason.encode())


def test_snapshot_round_trips_with_the_last_trade() -> None:
    full = book("AAPL", [(BID, 1_872_500, 300), (BID, 1_872_400, 100), (ASK, 1_872_600, 200), (ASK, 1_873_000, 5)])
    message = valid(ac.encode_market_data_snapshot(full, AAPL, request_id="MD-1", last_price=1_872_500, last_qty=40))
    books = ac.L2Books()
    snapshot = ac.decode_market_data_snapshot(message, INSTRUMENTS, books)
    assert same_book(snapshot.book, full)
    assert (snapshot.request_id, snapshot.last_price, snapshot.last_qty) == ("MD-1", 1_872_500, 40)
    assert books.levels("AAPL") == ({1_872_500: 300, 1_872_400: 100}, {1_872_600: 200, 1_873_000: 5})
    entries = ac.group_entries(message, 268, 269, frozenset({269, 270, 271, 272, 273}))
    assert (entries[0].get(269), entries[0].get(270), entries[0].get(271)) == (b"0", b"187.25", b"300")
    assert (entries[0].get(272), entries[0].get(273)) == (b"20240601", b"13:30:00.123456789")


def test_empty_snapshot_takes_its_time_from_the_header() -> None:
    empty = book("ESM4", [], ts_ns=1_717_248_600_123_000_000, sequence=0)
    snapshot = ac.decode_market_data_snapshot(valid(ac.encode_market_data_snapshot(empty, ES)), INSTRUMENTS)
    assert same_book(snapshot.book, empty)
    assert snapshot.last_price is None


def test_incremental_refresh_round_trips_through_both_books() -> None:
    server, client = ac.L2Books(), ac.L2Books()
    start = book("AAPL", [(BID, 1_872_500, 300), (ASK, 1_872_600, 200)], sequence=10)
    ac.decode_market_data_snapshot(wire(ac.encode_market_data_snapshot(start, AAPL, books=server)), INSTRUMENTS, client)
    change = book("AAPL", [(BID, 1_872_500, 0), (BID, 1_872_400, 50), (ASK, 1_872_600, 150)], ts_ns=TS + 1, sequence=11)
    trade = TradeTick(instrument="AAPL", ts_ns=TS + 1, price=1_872_500, quantity=300, aggressor=Side.SELL, match_id=77)
    other = book("ESM4", [(ASK, 530_025, 9)], ts_ns=TS + 2, sequence=3)
    message = valid(
        ac.encode_market_data_incremental([trade, change, other], INSTRUMENTS, request_id="MD-1", books=server)
    )
    entries = ac.group_entries(message, 268, 279, frozenset(range(1, 6000)) - {279})
    assert [(e.get(279), e.get(269), e.get(270), e.get(271)) for e in entries] == [
        (b"0", b"2", b"187.25", b"300"),
        (b"2", b"0", b"187.25", None),
        (b"0", b"0", b"187.24", b"50"),
        (b"1", b"1", b"187.26", b"150"),
        (b"0", b"1", b"5300.25", b"9"),
    ]
    events = ac.decode_market_data_incremental(message, INSTRUMENTS, client)
    assert events[0] == trade
    decoded_change, decoded_other = events[1], events[2]
    assert isinstance(decoded_change, BookUpdate)
    assert isinstance(decoded_other, BookUpdate)
    expected_change = book(
        "AAPL", [(BID, 1_872_500, 0), (BID, 1_872_400, 50), (ASK, 1_872_600, 150)], ts_ns=TS + 1, sequence=11
    )
    assert np.array_equal(decoded_change.deltas, expected_change.deltas)
    assert (decoded_change.best_bid, decoded_change.best_bid_qty) == (1_872_400, 50)
    assert (decoded_change.best_ask, decoded_change.best_ask_qty, decoded_change.sequence) == (1_872_600, 150, 11)
    assert same_book(decoded_other, other)
    assert client.levels("AAPL") == server.levels("AAPL")


def test_incremental_refresh_without_level_tracking_sends_changes() -> None:
    update = book("AAPL", [(BID, 1_872_500, 10)])
    message = valid(ac.encode_market_data_incremental([update], INSTRUMENTS))
    assert message.get(279) == b"1"


def test_market_data_reject_round_trips() -> None:
    reject = ac.MarketDataReject(request_id="MD-1", reason=ac.MDReqRejReason.INSUFFICIENT_PERMISSIONS, text="no")
    assert ac.decode_market_data_reject(valid(ac.encode_market_data_reject(reject), fix44())) == reject


# --- security list ------------------------------------------------------------------------------------------


def test_security_list_rebuilds_instruments_exactly() -> None:
    request = ac.SecurityListRequest(request_id="SL-1")
    assert ac.decode_security_list_request(valid(ac.encode_security_list_request(request), fix44())) == request
    one = ac.SecurityListRequest(request_id="SL-2", symbol="AAPL")
    assert ac.decode_security_list_request(valid(ac.encode_security_list_request(one), fix44())) == one
    answer = ac.SecurityList(request_id="SL-1", response_id="R-1", instruments=tuple(INSTRUMENTS.values()))
    message = valid(ac.encode_security_list(answer))
    assert ac.decode_security_list(message) == answer
    empty = ac.SecurityList(
        request_id="SL-3", response_id="R-3", instruments=(), result=ac.SecurityRequestResult.NO_INSTRUMENTS_FOUND
    )
    assert ac.decode_security_list(valid(ac.encode_security_list(empty), fix44())) == empty


def test_unsupported_security_list_request_is_answered_with_an_empty_list() -> None:
    message = wire(replaced(ac.encode_security_list_request(ac.SecurityListRequest(request_id="SL-1")), 559, b"2"))
    with pytest.raises(FixAppError) as caught:
        ac.decode_security_list_request(message)
    answer = valid(ac.encode_app_reject(caught.value, ts_ns=TS), fix44())
    assert (answer.msg_type, answer.get(320), answer.get(560)) == ("y", b"SL-1", b"1")


# --- positions ----------------------------------------------------------------------------------------------


def test_position_request_round_trips() -> None:
    for request in (
        ac.PositionRequest(request_id="P-1", account="ACC-1", ts_ns=TS),
        ac.PositionRequest(request_id="P-2", subscription=ac.SubscriptionType.SUBSCRIBE, ts_ns=TS),
    ):
        assert ac.decode_position_request(valid(ac.encode_position_request(request), fix44())) == request
    trades = wire(replaced(ac.encode_position_request(ac.PositionRequest(request_id="P-3")), 724, b"1"))
    with pytest.raises(FixAppError) as caught:
        ac.decode_position_request(trades)
    assert (caught.value.answer, caught.value.ref_tag, caught.value.ref_id) == (RejectAs.BUSINESS, 724, "P-3")


@pytest.mark.parametrize(
    ("quantity", "cost", "mark"),
    [(300, 1_872_500 * 300, 1_873_000), (-50, -1_872_600 * 50, 1_872_000), (0, 0, None)],
    ids=["long", "short", "flat"],
)
def test_position_report_round_trips(quantity: int, cost: int, mark: int | None) -> None:
    unrealized = 0 if mark is None else (mark * quantity - cost) * 10_000
    update = PositionUpdate(
        account="ACC-1", instrument="AAPL", ts_ns=TS, quantity=quantity, cost=cost, realized=-123_456_789,
        unrealized=unrealized, fees=5_000_000,
    )  # fmt: skip
    message = valid(ac.encode_position_report(update, AAPL, report_id="PR-1", request_id="P-1", total_reports=3))
    decoded = ac.decode_position_report(message, INSTRUMENTS)
    assert decoded.update == update
    assert (decoded.report_id, decoded.request_id, decoded.total_reports) == ("PR-1", "P-1", 3)
    assert decoded.mark == (mark or 0)
    assert (message.get(704), message.get(705)) == (b"%d" % max(quantity, 0), b"%d" % max(-quantity, 0))


@pytest.mark.parametrize("start_unrealized", [-7_500_000, 0, None], ids=["known", "flat", "not-known-yet"])
def test_position_report_carries_where_the_trading_day_began(start_unrealized: int | None) -> None:
    update = PositionUpdate(
        account="ACC-1", instrument="AAPL", ts_ns=TS, quantity=100, cost=1_872_500 * 100, realized=-123_456_789,
        unrealized=0, fees=5_000_000, start_realized=-100_000_000, start_fees=4_000_000,
        start_unrealized=start_unrealized,
    )  # fmt: skip
    message = valid(ac.encode_position_report(update, AAPL, report_id="PR-1"))
    assert ac.decode_position_report(message, INSTRUMENTS).update == update
    assert (ac.START_UNREALIZED_PNL in message) is (start_unrealized is not None)


def test_a_position_report_without_a_day_began_it_flat() -> None:
    update = PositionUpdate(
        account="ACC-1", instrument="AAPL", ts_ns=TS, quantity=0, cost=0, realized=10, unrealized=0, fees=1,
        start_realized=5, start_fees=1,
    )  # fmt: skip
    fields = [
        field
        for field in ac.encode_position_report(update, AAPL, report_id="PR-1").fields
        if field[0] not in (ac.START_REALIZED_PNL, ac.START_FEES, ac.START_UNREALIZED_PNL)
    ]
    decoded = ac.decode_position_report(valid(FixMessage(fields)), INSTRUMENTS).update
    assert decoded is not None
    assert (decoded.start_realized, decoded.start_fees, decoded.start_unrealized) == (0, 0, 0)


def test_no_positions_report() -> None:
    request = ac.PositionRequest(request_id="P-1", account="ACC-2")
    message = valid(ac.encode_no_positions(request, report_id="PR-9", ts_ns=TS, text="none"), fix44())
    decoded = ac.decode_position_report(message, INSTRUMENTS)
    assert (decoded.update, decoded.result, decoded.request_id) == (None, ac.PosReqResult.NO_POSITIONS_FOUND, "P-1")


# --- business reject ----------------------------------------------------------------------------------------


def test_business_reject_round_trips_and_unsupported_types_are_reason_3() -> None:
    reject = ac.BusinessReject(
        ref_msg_type="AD", reason=ac.BusinessRejectReason.NOT_AUTHORIZED, text="read-only", ref_seq_num=12, ref_id="X"
    )
    assert ac.decode_business_reject(valid(ac.encode_business_reject(reject), fix44())) == reject
    error = ac.unsupported(wire(FixMessage.build("AD", [(568, b"T-1"), (569, b"0")])))
    answer = ac.decode_business_reject(valid(ac.encode_app_reject(error, ts_ns=TS, ref_seq_num=7), fix44()))
    assert (answer.reason, answer.ref_msg_type, answer.ref_seq_num) == (ac.BusinessRejectReason(3), "AD", 7)


def test_text_is_utf8_and_never_breaks_the_frame() -> None:
    message = valid(ac.encode_market_data_reject(ac.MarketDataReject(request_id="M", text="bad\x01 ≥ 5")), fix44())
    assert ac.decode_market_data_reject(message).text == "bad  ≥ 5"


# --- an independent FIX implementation ----------------------------------------------------------------------


def test_simplefix_reads_and_writes_the_same_messages() -> None:
    import simplefix  # type: ignore[import-not-found]

    ours = wire(ac.encode_new_order(order(), AAPL))
    parser = simplefix.FixParser()
    parser.append_buffer(encode(list(ours.fields)))
    theirs = parser.get_message()
    assert theirs is not None
    for tag, value in ours.fields:
        if tag not in (9, 10):
            assert theirs.get(tag) == value
    built = simplefix.FixMessage()
    built.append_pair(8, "FIX.4.4")
    built.append_pair(35, "D")
    for tag, value in ours.fields:
        if tag not in (8, 9, 10, 35):
            built.append_pair(tag, value)
    (parsed,) = FixParser().feed(built.encode())
    assert ENGINE_DICTIONARY.validate(parsed) is None
    assert ac.decode_new_order(parsed, INSTRUMENTS) == order()
