"""Task supervision: actions (awaited by drain), timers (not awaited), periodic jobs that skip idle stretches."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from typing import Any, TypeVar

from sessionmgr.bus import EventBus, QuietRun
from sessionmgr.clock import Clock, to_ns
from sessionmgr.events import Event, HealthChecked, LeasesHeld

__all__ = ["TaskSupervisor"]

T = TypeVar("T")
#: Says whether a periodic job's run now could change nothing, nor any later run until something happens.
Idle = Callable[[], bool]
#: The periodic jobs' own routine reports: publishing them is not activity (or the jobs would wake each other).
_ROUTINE: tuple[type[Event], ...] = (HealthChecked, LeasesHeld)
_log = logging.getLogger("sessionmgr.manager")


class TaskSupervisor:
    """Owns every task the manager starts, so none outlives it and none fails unseen.

    Actions (backend calls) are awaited by :meth:`drain`; timers (alert
    deadlines, recovery watchers) are not, since waiting for them would carry
    virtual time forward.
    """

    def __init__(self, clock: Clock, bus: EventBus | None = None) -> None:
        self._clock = clock
        self._actions: set[asyncio.Task[Any]] = set()
        self._timers: set[asyncio.Task[Any]] = set()
        self._periodic: list[asyncio.Task[None]] = []
        # A dict, not a set: woken in the order they slept. A set's order follows the Events'
        # addresses, so jobs due at one instant (health and cleanup at 1200 s) ran in an order
        # that changed from run to run, and a replay's health counts with it.
        #: wake-ups of the periodic jobs now waiting for activity
        self._idle: dict[asyncio.Event, None] = {}
        #: when the last activity happened (clock nanoseconds)
        self._active_at = 0
        if bus is not None:
            bus.subscribe(self.notice, batch=self.notice_batch, quiet=self.notice_quiet)

    def action(self, coro: Coroutine[Any, Any, T]) -> asyncio.Task[T]:
        """Run an action that :meth:`drain` waits for."""
        return self._spawn(coro, self._actions)

    def timer(self, coro: Coroutine[Any, Any, T]) -> asyncio.Task[T]:
        """Run a timer that :meth:`drain` does not wait for."""
        return self._spawn(coro, self._timers)

    def every(
        self,
        interval: float,
        job: Callable[[], Awaitable[object]],
        *,
        name: str,
        idle: Idle | None = None,
        linger: float = 0.0,
    ) -> None:
        """Run ``job`` every ``interval`` seconds of the clock until :meth:`cancel_all`.

        With ``idle``: a tick more than ``linger`` seconds after the last activity
        at which ``idle()`` holds is skipped, and so is every later one until
        :meth:`notice` sees activity; the job then wakes at its first tick after
        it, on the same grid, and asks again. An empty stretch of time costs no
        ticks: a replay can jump a year of virtual time.
        """
        task = asyncio.create_task(self._every(name, interval, job, idle, to_ns(linger)), name=name)
        self._periodic.append(task)

    def notice(self, event: Event) -> None:
        """Any event but the periodic jobs' routine reports is activity: it wakes the idle jobs."""
        if not isinstance(event, _ROUTINE):
            self._activity(event.t)

    def notice_batch(self, events: Sequence[Event]) -> None:
        """:meth:`notice` each of ``events``: only the latest activity counts."""
        latest = max((e for e in events if not isinstance(e, _ROUTINE)), key=lambda e: e.t, default=None)
        if latest is not None:
            self.notice(latest)

    def notice_quiet(self, run: QuietRun) -> None:
        """:meth:`notice` each success of ``run``: only the last is the latest activity."""
        self._activity(run.ts[-1])

    def _activity(self, t: float) -> None:
        """Something happened at monotonic ``t``: wake the idle jobs."""
        self._active_at = max(self._active_at, to_ns(t))
        for wake in self._idle:
            wake.set()

    @property
    def waiting(self) -> bool:
        """Whether a periodic job sleeps until activity (the next event wakes it)."""
        return bool(self._idle)

    async def drain(self) -> None:
        """Wait until no action is in flight (actions may start more actions)."""
        while self._actions:
            await asyncio.gather(*tuple(self._actions), return_exceptions=True)

    async def cancel_all(self) -> None:
        """Cancel periodic jobs, actions and timers, and wait for them to end."""
        pending = [*self._periodic, *self._actions, *self._timers]
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        self._periodic.clear()

    def __len__(self) -> int:
        """Actions and timers in flight."""
        return len(self._actions) + len(self._timers)

    def _spawn(self, coro: Coroutine[Any, Any, T], into: set[asyncio.Task[Any]]) -> asyncio.Task[T]:
        task = asyncio.get_running_loop().create_task(coro)
        into.add(task)
        task.add_done_callback(self._done)
        return task

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._actions.discard(task)
        self._timers.discard(task)
        if not task.cancelled() and task.exception() is not None:
            _log.error("manager task failed", exc_info=task.exception())

    async def _every(
        self, name: str, interval: float, job: Callable[[], Awaitable[object]], idle: Idle | None, linger: int
    ) -> None:
        step = max(1, to_ns(interval))
        delay = interval
        while True:
            await self._clock.sleep(delay)
            delay = interval  # after a run the grid starts again from its end, as it always did
            if idle is None or to_ns(self._clock.monotonic()) - self._active_at <= linger or not idle():
                try:
                    await job()
                except Exception:
                    _log.exception("periodic job %s failed", name)
                continue
            skipped = to_ns(self._clock.monotonic())
            await self._until_activity()
            # The first tick of the grid strictly after the activity: the skipped tick came first
            # (it saw nothing to do), so an activity at its very instant waits for the next one.
            now = to_ns(self._clock.monotonic())
            delay = (skipped + ((now - skipped) // step + 1) * step - now) / 1e9

    async def _until_activity(self) -> None:
        wake = asyncio.Event()
        self._idle[wake] = None
        try:
            await wake.wait()
        finally:
            self._idle.pop(wake, None)
