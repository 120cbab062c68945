"""Deadlines: many instants to act at (a message's TTL, its phone request), behind one timer.

A task per message sleeping until its instant was a task, a future and two
loop iterations per instant, most of a storm replay's loop work. Here the
instants wait in a heap, and one timer stands for the earliest: a loop
callback where the clock offers one (:meth:`sessionmgr.clock.LoopClock.call_at`),
else one task sleeping on the clock. Instants are compared in whole
nanoseconds, as the clock keeps them, so no sub-nanosecond sleep repeats.
"""

from __future__ import annotations

import asyncio
import heapq
import logging
from collections.abc import Callable
from typing import Any, Generic, Protocol, TypeVar

from sessionmgr.clock import Clock, to_ns
from sessionmgr.recovery.tasks import TaskSupervisor

__all__ = ["Deadlines"]

T = TypeVar("T")
_log = logging.getLogger("sessionmgr.manager")


class _Cancellable(Protocol):
    def cancel(self) -> object: ...


class Deadlines(Generic[T]):
    """Calls ``fire(when, item)`` for each pushed item once its instant ``when`` (monotonic) has come, in order."""

    def __init__(self, clock: Clock, tasks: TaskSupervisor, fire: Callable[[float, T], None]) -> None:
        self._clock = clock
        self._tasks = tasks
        self._fire = fire
        self._call_at: Callable[[float, Callable[[], None]], _Cancellable] | None = getattr(clock, "call_at", None)
        # (whole ns, as compared; the instant; tiebreak; push order; item): the ns first orders as the
        # instant does (a float's ns never exceed a later float's), and is worked out once
        self._heap: list[tuple[int, float, Any, int, T]] = []
        self._order = 0
        self._timer: _Cancellable | None = None
        self._timer_at: float | None = None
        self._firing = False
        #: a task the supervisor owns while a loop callback is armed: cancelling it (the manager
        #: closing, TaskSupervisor.cancel_all) disarms the callback, so no instant outlives us
        self._guardian: asyncio.Task[None] | None = None

    def __len__(self) -> int:
        return len(self._heap)

    def push(self, when: float, item: T, *, tiebreak: Any = ()) -> None:
        """Fire ``item`` at ``when``; items due at the same instant fire by ``tiebreak``, then as pushed."""
        heapq.heappush(self._heap, (to_ns(when), when, tiebreak, self._order, item))
        self._order += 1
        if not self._firing and (self._timer_at is None or when < self._timer_at):
            self._arm(when)

    def close(self) -> None:
        """Stop the timer (the manager is closing); what is pending never fires."""
        if self._timer is not None:
            self._timer.cancel()
        self._timer = self._timer_at = None

    def _arm(self, when: float) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer_at = when
        if self._call_at is not None:
            if self._guardian is None or self._guardian.done():
                self._guardian = self._tasks.timer(self._guard())
                # a done callback, not a finally: a task cancelled before it ever ran runs no finally
                self._guardian.add_done_callback(lambda _: self.close())
            self._timer = self._call_at(when, self._on_timer)
        else:
            self._timer = self._tasks.timer(self._sleep_until(when))

    async def _guard(self) -> None:
        await asyncio.get_running_loop().create_future()  # until cancelled

    async def _sleep_until(self, when: float) -> None:
        await self._clock.sleep(max(0.0, when - self._clock.monotonic()))
        self._on_timer()

    def _on_timer(self) -> None:
        self._timer = self._timer_at = None
        heap = self._heap
        self._firing = True
        try:
            now = to_ns(self._clock.monotonic())
            while heap and heap[0][0] <= now:
                _, when, _, _, item = heapq.heappop(heap)
                try:
                    self._fire(when, item)
                except Exception:
                    _log.exception("manager task failed")  # as a failing timer task was logged; the rest still fire
        finally:
            self._firing = False
        if heap:
            self._arm(heap[0][1])
