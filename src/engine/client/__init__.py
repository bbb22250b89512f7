"""How a desktop (or any front end) talks to an engine: one interface, an embedded and a remote implementation."""

from engine.client.protocol import (
    ClientEvent,
    ConnectionEvent,
    ConnectionState,
    EngineClient,
    EventHandler,
    RiskLimitsChanged,
    SessionInfo,
    StrategyInfo,
    StrategyState,
)

__all__ = [
    "ClientEvent",
    "ConnectionEvent",
    "ConnectionState",
    "EngineClient",
    "EventHandler",
    "RiskLimitsChanged",
    "SessionInfo",
    "StrategyInfo",
    "StrategyState",
]
