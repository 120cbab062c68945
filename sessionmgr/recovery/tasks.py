"""Task supervision: actions (awaited by drain), timers (not awaited), periodic jobs."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

from sessionmgr.clock import Clock

__all__ = ["TaskSupervisor"]

T = TypeVar("T")
_log = logging.getLogger("sessionmgr.manager")


class TaskSupervisor:
    """Owns every task the manager starts, so none outlives it and none fails unseen.

    Actions (backend calls) are awaited by :meth:`drain`; timers (alert
    deadlines, recovery watchers) are not, since waiting for them would carry
    virtual time forward.
    """

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._actions: set[asyncio.Task[Any]] = set()
        self._timers: set[asyncio.Task[Any]] = set()
        self._periodic: list[asyncio.Task[None]] = []

    def action(self, coro: Coroutine[Any, Any, T]) -> asyncio.Task[T]:
        """Run an action that :meth:`drain` waits for."""
        return self._spawn(coro, self._actions)

    def timer(self, coro: Coroutine[Any, Any, T]) -> asyncio.Task[T]:
        """Run a timer that :meth:`drain` does not wait for."""
        return self._spawn(coro, self._timers)

    def every(self, interval: float, job: Callable[[], Awaitable[object]], *, name: str) -> None:
        """Run ``job`` every ``interval`` seconds of the clock until :meth:`cancel_all`."""
        self._periodic.append(asyncio.create_task(self._every(interval, job), name=name))

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

    async def _every(self, interval: float, job: Callable[[], Awaitable[object]]) -> None:
        while True:
            await self._clock.sleep(interval)
            try:
                await job()
            except Exception:
                _log.exception("periodic job %s failed", getattr(job, "__name__", job))
