"""The desktop's state, fed by the engine client's event stream and read by the panels on their frame timer."""

from workstation.state.audit import AuditEntry, AuditLog, Severity
from workstation.state.market import InstrumentMarket
from workstation.state.orders import ExecutionTable, OrderTable, WorkingOrder
from workstation.state.positions import PositionBook
from workstation.state.store import DesktopState

__all__ = [
    "AuditEntry",
    "AuditLog",
    "DesktopState",
    "ExecutionTable",
    "InstrumentMarket",
    "OrderTable",
    "PositionBook",
    "Severity",
    "WorkingOrder",
]
