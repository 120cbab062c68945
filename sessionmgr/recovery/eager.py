"""Eager start: run a coroutine at once, and only if it has to wait, as a task from where it stopped.

A decision's action (a retry receipt, say) used to start as a task that ran on
the next loop iteration; with a backend that answers at once (a replay's mock,
a simulated world) that was a task, a loop step and a done callback per failed
message, most of a storm replay's time. Started eagerly, it runs to its end
right where it was decided, in the same order as before: it was the next
thing to run. One that must wait (a slow backend, a retry's backoff) goes on as
a task from its first wait, as the task would have (Python 3.12's
``asyncio.eager_task_factory`` does this for a whole loop; this is for one call).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine, Generator
from typing import Any, TypeVar

__all__ = ["start_eagerly"]

T = TypeVar("T")
R = TypeVar("R")
_log = logging.getLogger("sessionmgr.manager")


def start_eagerly(coro: Coroutine[Any, Any, T], spawn: Callable[[Coroutine[Any, Any, T]], R]) -> R | None:
    """Run ``coro`` now; if it suspends, ``spawn`` (a task supervisor's ``action``, say) a task that finishes it.

    Returns what ``spawn`` returned (the task), or ``None`` if ``coro`` ran to its end.

    An exception before its first wait is logged as a failed task's would be:
    the caller that decided the action goes on.
    """
    try:
        first = coro.send(None)
    except StopIteration:
        return None
    except Exception:
        _log.exception("manager task failed")
        return None
    return spawn(_Resumed(coro, first).finish())


class _Resumed:
    """A coroutine that already ran up to ``first`` (what it awaits), continued under a task."""

    __slots__ = ("_coro", "_first")

    def __init__(self, coro: Coroutine[Any, Any, Any], first: Any) -> None:
        self._coro = coro
        self._first = first

    async def finish(self) -> Any:
        return await self

    def __await__(self) -> Generator[Any, Any, Any]:
        # ``yield from`` for a coroutine already started: what the task sends or throws
        # (a result, a cancellation) goes on to it, what it yields goes to the task
        coro, pending = self._coro, self._first
        while True:
            try:
                sent = yield pending
            except GeneratorExit:
                coro.close()
                raise
            except BaseException as exc:  # a result the task throws in (a cancellation, say) goes on to it
                try:
                    pending = coro.throw(exc)
                except StopIteration as stop:
                    return stop.value
                continue
            try:
                pending = coro.send(sent)
            except StopIteration as stop:
                return stop.value
