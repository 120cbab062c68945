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
        #: the handlers as delivered to: rebuilt on (un)subscribe, not copied per event
        self._delivery: tuple[Handler, ...] = ()
        self._pending: deque[Event] = deque()
        self._delivering = False

    def subscribe(self, handler: Handler) -> Callable[[], None]:
        """Call ``handler`` with every event from now on; returns an unsubscribe function."""
        self._handlers.append(handler)
        self._delivery = tuple(self._handlers)

        def unsubscribe() -> None:
            if handler in self._handlers:
                self._handlers.remove(handler)
                self._delivery = tuple(self._handlers)

        return unsubscribe

    def publish(self, event: Event) -> None:
        if self._delivering:
            self._pending.append(event)
            return
        self._delivering = True
        try:
            self._deliver(event)
            pending = self._pending
            while pending:
                self._deliver(pending.popleft())
        finally:
            self._delivering = False

    def _deliver(self, event: Event) -> None:
        # the tuple as it is now: a handler that (un)subscribes affects the next event, as before
        for handler in self._delivery:
            try:
                handler(event)
            except Exception:
                _log.exception("event handler %r failed on %s", handler, event.kind)
