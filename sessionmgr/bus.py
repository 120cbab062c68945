"""An in-process event bus: the manager publishes, sinks subscribe."""

from __future__ import annotations

import dataclasses
import logging
from collections import deque
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TypeVar

from sessionmgr.events import Event

__all__ = ["BatchHandler", "EventBus", "Handler", "QuietHandler", "QuietRun", "ignore_quiet"]


@dataclasses.dataclass(frozen=True, slots=True)
class QuietRun:
    """Quiet successes in columns: what a run of ``DecryptOk`` events that resolved nothing tells a subscriber.

    Each stands for a ``DecryptOk`` the manager published: ``sessions[i]`` is its
    session's name and ``ts[i]`` its monotonic stamp, in publication order (``ts``
    never goes down); ``first_at`` and ``last_at`` are the wall-clock stamps of
    the first and the last. The rest of each event (peer, message type) is what
    no subscriber that takes runs reads, so it is not kept.
    """

    sessions: list[str]
    ts: list[float]
    first_at: datetime
    last_at: datetime

    def __len__(self) -> int:
        return len(self.sessions)


def ignore_quiet(run: QuietRun) -> None:
    """The quiet-run handler of a subscriber that keeps only decisions: a run holds none."""


Handler = Callable[[Event], None]
#: Takes several events at once, as if each had been given to its :data:`Handler` in turn.
BatchHandler = Callable[[Sequence[Event]], None]
#: Takes a :class:`QuietRun`, as if each success in it had been given to its :data:`Handler` in turn.
QuietHandler = Callable[[QuietRun], None]
_log = logging.getLogger("sessionmgr.bus")
T = TypeVar("T")


class EventBus:
    """Delivers each event to every subscriber, in publication order.

    An event published from inside a handler is queued and delivered after the
    current one, so every subscriber sees the same order. A failing handler is
    logged and skipped: a broken sink must never stop the manager.
    """

    def __init__(self) -> None:
        self._subscribers: list[tuple[Handler, BatchHandler | None, QuietHandler | None]] = []
        #: the handlers as delivered to: rebuilt on (un)subscribe, not copied per event
        self._delivery: tuple[Handler, ...] = ()
        self._batch_delivery: tuple[tuple[Handler, BatchHandler | None], ...] = ()
        self._quiet_delivery: tuple[QuietHandler, ...] = ()
        #: whether every subscriber takes quiet runs (then :meth:`publish_quiet` may be used)
        self.takes_runs = True
        self._pending: deque[Event] = deque()
        self._delivering = False

    def subscribe(
        self, handler: Handler, *, batch: BatchHandler | None = None, quiet: QuietHandler | None = None
    ) -> Callable[[], None]:
        """Call ``handler`` with every event from now on; returns an unsubscribe function.

        ``batch``, if given, takes the events of a :meth:`publish_batch` at once, and ``quiet``
        the runs of :meth:`publish_quiet`; each must leave the subscriber as ``handler`` called
        with each of the events in turn would.
        """
        entry = (handler, batch, quiet)
        self._subscribers.append(entry)
        self._rebuild()

        def unsubscribe() -> None:
            if entry in self._subscribers:
                self._subscribers.remove(entry)
                self._rebuild()

        return unsubscribe

    def _rebuild(self) -> None:
        self._batch_delivery = tuple((handler, batch) for handler, batch, _ in self._subscribers)
        self._delivery = tuple(handler for handler, _, _ in self._subscribers)
        self._quiet_delivery = tuple(quiet for _, _, quiet in self._subscribers if quiet is not None)
        self.takes_runs = len(self._quiet_delivery) == len(self._subscribers)

    def publish_quiet(self, run: QuietRun) -> None:
        """Deliver a run of quiet successes to each subscriber in turn (every one must take runs).

        As :meth:`publish_batch`, for events whose handling publishes nothing. Not from
        inside a handler: a run cannot wait in the queue of events published meanwhile.
        """
        if not self.takes_runs:
            raise RuntimeError("a subscriber takes no quiet runs: publish these successes as events")
        if self._delivering:
            raise RuntimeError("a quiet run is published from outside the bus's handlers, not from one")
        self._exclusively(self._deliver_quiet, run)

    def _deliver_quiet(self, run: QuietRun) -> None:
        for quiet in self._quiet_delivery:
            try:
                quiet(run)
            except Exception:
                _log.exception("event handler %r failed on a run of %d successes", quiet, len(run))

    def publish_batch(self, events: Sequence[Event]) -> None:
        """Deliver ``events`` to each subscriber in turn: all of them to the first, then to the next.

        For events whose handling publishes nothing (the manager batches only those), every
        subscriber ends as it would had each been published alone; a subscriber only sees them
        later, all at once.
        """
        if self._delivering:
            self._pending.extend(events)
            return
        self._exclusively(self._deliver_batch, events)

    def publish(self, event: Event) -> None:
        if self._delivering:
            self._pending.append(event)
            return
        self._exclusively(self._deliver, event)

    def _exclusively(self, deliver: Callable[[T], None], what: T) -> None:
        """``deliver(what)``, then what its handlers published meanwhile, in order; nothing else meanwhile."""
        self._delivering = True
        try:
            deliver(what)
            pending = self._pending
            while pending:
                self._deliver(pending.popleft())
        finally:
            self._delivering = False

    def _deliver_batch(self, events: Sequence[Event]) -> None:
        for handler, batch in self._batch_delivery:
            if batch is not None:
                try:
                    batch(events)
                except Exception:
                    _log.exception("event handler %r failed on a batch of %d events", batch, len(events))
                continue
            for event in events:
                try:
                    handler(event)
                except Exception:
                    _log.exception("event handler %r failed on %s", handler, event.kind)

    def _deliver(self, event: Event) -> None:
        # the tuple as it is now: a handler that (un)subscribes affects the next event, as before
        for handler in self._delivery:
            try:
                handler(event)
            except Exception:
                _log.exception("event handler %r failed on %s", handler, event.kind)
