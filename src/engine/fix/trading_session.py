"""The engine's trading day over FIX: TradingSessionStatusRequest (g) and TradingSessionStatus (h).

A client asks with a g (TradSesReqID 335, SubscriptionRequestType 263: 0 snapshot, 1 snapshot and updates, 2 stop
the updates). The answer is an h with the request's 335: TradingSessionID (336) is the trading day as a FIX
LocalMktDate (``YYYYMMDD``), TradSesStatus (340) is 2 (open), TradSesEndTime (345) is the next roll (UTC), and
UnsolicitedIndicator (325) is N. A subscriber gets a new h, with 325=Y, at every roll.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from core.numbers import Nanos
from engine.fix.app_codec import FieldReader, SubscriptionType
from engine.fix.message import FixMessage, format_utc_timestamp, parse_utc_timestamp

TRADING_SESSION_STATUS_REQUEST = "g"
TRADING_SESSION_STATUS = "h"
_OPEN = b"2"


@dataclass(frozen=True, slots=True, kw_only=True)
class TradingSessionStatusRequest:
    """A g: its TradSesReqID and SubscriptionRequestType."""

    request_id: str
    subscription: SubscriptionType


def decode_trading_session_status_request(message: FixMessage) -> TradingSessionStatusRequest:
    """The request of a g (the session has checked it against the data dictionary: 263 is 0, 1 or 2)."""
    reader = FieldReader(message)
    return TradingSessionStatusRequest(request_id=reader.text(335), subscription=reader.enum(263, SubscriptionType))


def encode_trading_session_status_request(request_id: str, subscription: SubscriptionType) -> FixMessage:
    """A g asking for the trading day (snapshot), with an h at every roll (subscribe), or no more of them."""
    return FixMessage(
        [(35, TRADING_SESSION_STATUS_REQUEST.encode()), (335, request_id.encode()), (263, subscription.value.encode())]
    )


def encode_trading_session_status(
    day: date, rolls_at_ns: Nanos | None, *, request_id: str | None, unsolicited: bool
) -> FixMessage:
    """The h telling trading day ``day`` (and its next roll, when known)."""
    fields: list[tuple[int, bytes]] = [(35, TRADING_SESSION_STATUS.encode())]
    if request_id is not None:
        fields.append((335, request_id.encode()))
    fields += [(336, f"{day:%Y%m%d}".encode()), (325, b"Y" if unsolicited else b"N"), (340, _OPEN)]
    if rolls_at_ns is not None:
        fields.append((345, format_utc_timestamp(rolls_at_ns)))
    return FixMessage(fields)


def decode_trading_session_status(message: FixMessage) -> tuple[date, Nanos | None]:
    """The trading day and next roll of an h; raises ``ValueError`` when TradingSessionID is not a date."""
    session_id = message.get(336) or b""
    try:
        day = datetime.strptime(session_id.decode("ascii"), "%Y%m%d").date()
    except (UnicodeDecodeError, ValueError):
        raise ValueError(f"TradingSessionID (336) {session_id!r} is not a trading day (YYYYMMDD)") from None
    end = message.get(345)
    return day, parse_utc_timestamp(end) if end else None
