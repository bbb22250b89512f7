"""Enumerations of the order domain, valued with their FIX 4.4 codes so the FIX layer maps them one to one."""

from __future__ import annotations

from enum import StrEnum


class Side(StrEnum):
    """Order side (FIX tag 54)."""

    BUY = "1"
    SELL = "2"

    @property
    def sign(self) -> int:
        """+1 for a buy, -1 for a sell: the sign of the position change."""
        return 1 if self is Side.BUY else -1

    @property
    def opposite(self) -> Side:
        return Side.SELL if self is Side.BUY else Side.BUY


class OrderType(StrEnum):
    """Order type (FIX tag 40)."""

    MARKET = "1"
    LIMIT = "2"


class TimeInForce(StrEnum):
    """Time in force (FIX tag 59)."""

    DAY = "0"
    GTC = "1"
    IOC = "3"
    FOK = "4"


class OrdStatus(StrEnum):
    """Order status (FIX tag 39)."""

    NEW = "0"
    PARTIALLY_FILLED = "1"
    FILLED = "2"
    CANCELED = "4"
    REPLACED = "5"
    PENDING_CANCEL = "6"
    REJECTED = "8"
    PENDING_NEW = "A"
    EXPIRED = "C"
    PENDING_REPLACE = "E"


class ExecType(StrEnum):
    """Execution type (FIX tag 150)."""

    NEW = "0"
    CANCELED = "4"
    REPLACED = "5"
    PENDING_CANCEL = "6"
    REJECTED = "8"
    PENDING_NEW = "A"
    EXPIRED = "C"
    PENDING_REPLACE = "E"
    TRADE = "F"
    TRADE_CANCEL = "H"
    """A venue broke (busted) an earlier fill: ``ref_exec_id`` names it (FIX ExecRefID, 19)."""
    ORDER_STATUS = "I"


FILL_EXEC_TYPES: frozenset[ExecType] = frozenset({ExecType.TRADE, ExecType.TRADE_CANCEL})
"""The reports that change what an order has filled: a fill, and the bust that takes one out."""


class Liquidity(StrEnum):
    """Who provided liquidity on a fill (FIX tag 851)."""

    MAKER = "1"
    TAKER = "2"
    NONE = "0"
