"""Quiet observations, taken in batches: those that decide nothing are stamped as they come and published together."""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from sessionmgr.events import Event
from sessionmgr.recovery.publish import Publisher
from sessionmgr.recovery.tasks import TaskSupervisor

__all__ = ["QuietBatch"]

#: Events held before they are published anyway (memory stays bounded on any input).
LIMIT: Final = 4096


class QuietBatch:
    """Observations the manager judges quiet, stamped when offered and published together.

    A quiet observation (a decryption that succeeded and resolves no open
    message, most of a trace) decides nothing and starts nothing: it only moves
    counters and windows in the subscribers, and the manager's own state (open
    messages, sleeping periodic jobs) that makes it quiet is state quiet events
    do not change. So it can be stamped at its own instant and delivered later
    with the others, and every subscriber ends as if each had been published
    alone (a property in tests/test_quiet_batch.py holds the two paths to that).

    The caller's part: nothing else may run between an :meth:`offer` and the
    :meth:`flush` after it: flush before letting the loop run (an ``await``)
    or handing the manager any other observation.
    """

    def __init__(
        self,
        emit: Publisher,
        tasks: TaskSupervisor,
        *,
        named: Callable[[Event], Event],
        quiet: Callable[[Event], bool],
        limit: int = LIMIT,
    ) -> None:
        self._emit = emit
        self._tasks = tasks
        self._named = named
        self._quiet = quiet
        self._limit = limit
        self._events: list[Event] = []
        #: observations taken so far
        self.taken = 0

    def __len__(self) -> int:
        return len(self._events)

    def offer(self, event: Event) -> bool:
        """Take ``event`` (handed over: the caller keeps no reference) if it is quiet now; ``False``: observe it."""
        # A sleeping periodic job wakes on the next event and must run before the one after:
        # that event is not quiet.
        if self._tasks.waiting:
            return False
        event = self._named(event)
        if not self._quiet(event):
            return False
        self._emit.stamp(event)
        self._events.append(event)
        self.taken += 1
        if len(self._events) >= self._limit:
            self.flush()
        return True

    def flush(self) -> None:
        """Publish what was taken, in the order it came."""
        if self._events:
            events, self._events = self._events, []
            self._emit.publish_batch(events)
