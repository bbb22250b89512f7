"""The engine's typed message bus.

Handlers subscribe to an event type, optionally narrowed to a topic (an instrument symbol for market data, a
strategy id for its execution reports). Publishing calls handlers synchronously in subscription order; a handler
that raises is reported through the error callback and the others still run, so one broken panel or strategy
never stops market data.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar

log = logging.getLogger(__name__)

E = TypeVar("E")
Handler = Callable[[Any], None]
ErrorCallback = Callable[[Handler, object, BaseException], None]


def _log_error(handler: Handler, event: object, error: BaseException) -> None:
    log.error("handler %r failed on %s: %r", handler, type(event).__name__, error, exc_info=error)


class MessageBus:
    """Typed publish/subscribe with per-handler isolation."""

    def __init__(self, on_error: ErrorCallback = _log_error) -> None:
        self._handlers: dict[tuple[type, str | None], list[Handler]] = {}
        self._wanted: dict[type, int] = {}
        self._on_error = on_error
        self.published = 0

    def subscribe(
        self, event_type: type[E], handler: Callable[[E], None], *, topic: str | None = None
    ) -> Callable[[], None]:
        """Call ``handler`` with every ``event_type`` event (of ``topic`` only, when given).

        Returns a function that removes this subscription.
        """
        key = (event_type, topic)
        self._handlers.setdefault(key, []).append(handler)
        self._wanted[event_type] = self._wanted.get(event_type, 0) + 1

        def unsubscribe() -> None:
            handlers = self._handlers.get(key, [])
            if handler in handlers:
                handlers.remove(handler)
                self._wanted[event_type] -= 1

        return unsubscribe

    def wants(self, event_type: type) -> bool:
        """True when at least one handler listens to ``event_type`` (publishers may skip building the event)."""
        return self._wanted.get(event_type, 0) > 0

    def publish(self, event: object, topic: str | None = None) -> None:
        """Deliver ``event`` to the handlers of its type: those of ``topic`` first, then the unfiltered ones."""
        self.published += 1
        event_type = type(event)
        if topic is not None:
            topical = self._handlers.get((event_type, topic))
            if topical:
                self._deliver(topical, event)
        general = self._handlers.get((event_type, None))
        if general:
            self._deliver(general, event)

    def _deliver(self, handlers: list[Handler], event: object) -> None:
        for handler in tuple(handlers) if len(handlers) > 1 else handlers:
            try:
                handler(event)
            except Exception as error:  # noqa: BLE001 - isolation is the point: report and go on
                self._on_error(handler, event, error)
