"""The audit trail the desktop shows: engine, risk, plugin and connection events, every reject with its reason."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from enum import StrEnum

from core.numbers import Nanos

AUDIT_HISTORY = 100_000


class Severity(StrEnum):
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One line of the audit log: when, how serious, from where (engine, risk, plugin, order...), what."""

    ts_ns: Nanos
    severity: Severity
    source: str
    message: str


class AuditLog:
    """The latest entries, oldest first; ``total`` counts every entry ever added (entries beyond the history
    are dropped from the front)."""

    def __init__(self, capacity: int = AUDIT_HISTORY) -> None:
        self.entries: deque[AuditEntry] = deque(maxlen=capacity)
        self.total = 0

    def add(self, ts_ns: Nanos, severity: Severity, source: str, message: str) -> None:
        self.entries.append(AuditEntry(ts_ns, severity, source, message))
        self.total += 1
