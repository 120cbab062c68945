"""Quiet observations, taken in batches: those that decide nothing are stamped as they come and published together."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Final

from sessionmgr.bus import EventBus, QuietRun
from sessionmgr.clock import Clock
from sessionmgr.events import Event
from sessionmgr.recovery.publish import Publisher
from sessionmgr.recovery.tasks import TaskSupervisor

__all__ = ["Advance", "QuietBatch"]

#: Events held before they are published anyway (memory stays bounded on any input).
LIMIT: Final = 4096

#: Moves the clock to an event's instant (in monotonic seconds) if nothing would run before it
#: and says so; ``False``: something must run first, and the clock has not moved.
Advance = Callable[[float], bool]


class QuietBatch:
    """Observations the manager judges quiet, stamped when taken and published together.

    A quiet observation (a decryption that succeeded and resolves no open
    message, most of a trace) decides nothing and starts nothing: it only moves
    counters and windows in the subscribers, and the manager's own state (open
    messages, sleeping periodic jobs) that makes it quiet is state quiet events
    do not change. So it can be stamped at its own instant and delivered later
    with the others, and every subscriber ends as if each had been published
    alone (a property in tests/test_quiet_batch.py holds the two paths to that).

    When every subscriber takes quiet runs (the manager's own collaborators and
    a replay's report do), the batch keeps only each success's session and
    stamp, in columns, and no event object is stamped or delivered at all;
    otherwise it keeps the events, stamped, for their handlers.

    The caller's part: nothing else may run, and the clock may not move, between
    an :meth:`offer` and the :meth:`flush` after it, other than by the batch's own
    ``advance``: flush before letting the loop run (an ``await``), moving the clock
    or handing the manager any other observation.
    """

    def __init__(
        self,
        emit: Publisher,
        bus: EventBus,
        tasks: TaskSupervisor,
        clock: Clock,
        *,
        named: Callable[[Event], Event],
        name: Callable[[str], str],
        quiet: Callable[[Event, str], bool],
        advance: Advance | None = None,
        limit: int = LIMIT,
    ) -> None:
        self._emit = emit
        self._bus = bus
        self._tasks = tasks
        self._clock = clock
        self._now = clock.monotonic
        self._named = named
        self._name = name
        self._quiet = quiet
        self._advance = advance
        self._limit = limit
        self._events: list[Event] = []  # taken as events (a subscriber wants them)
        self._sessions: list[str] = []  # or in columns: each one's session name and stamp
        self._ts: list[float] = []
        self._first_at: datetime | None = None
        #: observations taken so far
        self.taken = 0

    def __len__(self) -> int:
        return len(self._events) + len(self._sessions)

    def offer(self, event: Event, at: float | None = None) -> bool:
        """Take ``event`` (handed over: the caller keeps no reference) if it is quiet; ``False``: observe it.

        ``at``: the event's instant (monotonic seconds), which the batch's ``advance`` moves the
        clock to before taking it (``False``, the clock unmoved, if something must run first).
        Without it, or without an ``advance``, the event is taken now.
        """
        # A sleeping periodic job wakes on the next event and must run before the one after:
        # that event is not quiet.
        if self._tasks.waiting:
            return False
        columns = self._bus.takes_runs
        if columns:
            if self._events:
                self.flush()  # a subscriber that wanted events has gone: keep their order
            session = self._name(event.session)
        else:
            if self._sessions:
                self.flush()  # a subscriber that wants events has come
            event = self._named(event)
            session = event.session
        if not self._quiet(event, session) or (at is not None and self._advance is not None and not self._advance(at)):
            return False
        if columns:
            if not self._sessions:
                self._first_at = self._clock.wall()
            self._sessions.append(session)
            self._ts.append(self._now())
        else:
            self._emit.stamp(event)
            self._events.append(event)
        self.taken += 1
        if len(self) >= self._limit:
            self.flush()
        return True

    def flush(self) -> None:
        """Publish what was taken, in the order it came."""
        if self._sessions:
            assert self._first_at is not None
            # the clock has not moved since the last was taken: now is its instant
            run = QuietRun(self._sessions, self._ts, self._first_at, self._clock.wall())
            self._sessions, self._ts = [], []
            self._bus.publish_quiet(run)
        if self._events:
            events, self._events = self._events, []
            self._emit.publish_batch(events)
