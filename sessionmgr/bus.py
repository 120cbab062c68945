"""An in-process event bus: the manager publishes, sinks subscribe."""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable

from sessionmgr.events import Event

__all__ = ["EventBus", "Handler"]

Handler = Callable[[Event], None]
_log = logging.getLogger("sessionmgr.bus")


class EventBus:
    """Delivers each event to every subscriber, in publication order.

    An event published from inside a handler is queued and delivered after the
    current one, so every subscriber sees the same order. A failing handler is
    logged and skipped: a broken sink must never stop the manager.
    """

    def __init__(self) -> None:
        self._handlers: list[Handler] = []
        self._pending: deque[Event] = deque()
        self._delivering = False

    def subscribe(self, handler: Handler) -> Callable[[], None]:
        """Call ``handler`` with every event from now on; returns an unsubscribe function."""
        self._handlers.append(handler)

        def unsubscribe() -> None:
            if handler in self._handlers:
                self._handlers.remove(handler)

        return unsubscribe

    def publish(self, event: Event) -> None:
        self._pending.append(event)
        if self._delivering:
            return
        self._delivering = True
        try:
            while self._pending:
                current = self._pending.popleft()
                for handler in tuple(self._handlers):
                    try:
                        handler(current)
                    except Exception:
                        _log.exception("event handler %r failed on %s", handler, current.kind)
        finally:
            self._delivering = False
