"""Clocks: the only way core code learns the time or waits."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Protocol, runtime_checkable

__all__ = ["Clock", "LoopClock", "iso_z", "to_ns"]


def to_ns(seconds: float) -> int:
    """Seconds as integer nanoseconds, so window comparisons are exact."""
    return round(seconds * 1_000_000_000)


def iso_z(at: datetime, timespec: str = "milliseconds") -> str:
    """``at`` in ISO-8601 as traces, logs and reports write times: a UTC offset is written ``Z``."""
    return at.isoformat(timespec=timespec).replace("+00:00", "Z")


@runtime_checkable
class Clock(Protocol):
    """Monotonic time for decisions, wall time for stamps, and a way to wait."""

    def monotonic(self) -> float:
        """Seconds on a clock that never goes back."""

    def wall(self) -> datetime:
        """The current UTC wall-clock time, for timestamps only."""

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` of this clock's time."""


class LoopClock:
    """The running event loop's clock: real in production, virtual under the harness.

    Wall time is ``epoch + loop.time()`` when an epoch is given; otherwise the
    loop's own ``wall()`` if it keeps one (the harness's virtual loop does, so
    stamps follow virtual time); otherwise the system's UTC time.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop | None = None, *, epoch: datetime | None = None):
        self._loop = loop
        self._epoch = epoch
        self._own_wall: Callable[[], datetime] | None = None
        if loop is not None:
            self.bind(loop)

    def bind(self, loop: asyncio.AbstractEventLoop | None) -> None:
        """Read ``loop`` from now on (``None``: whichever loop is running at each read).

        A manager binds the clock it made to the loop it starts on: asking
        ``get_running_loop()`` on every read cost a syscall, twice per event.
        """
        self._loop = loop
        self._own_wall = getattr(loop, "wall", None) if loop is not None else None

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        return self._loop if self._loop is not None else asyncio.get_running_loop()

    def monotonic(self) -> float:
        loop = self._loop
        return (loop if loop is not None else asyncio.get_running_loop()).time()

    def wall(self) -> datetime:
        loop = self._loop
        if loop is None:
            loop = asyncio.get_running_loop()
            own_wall: Callable[[], datetime] | None = getattr(loop, "wall", None)
        else:
            own_wall = self._own_wall
        if self._epoch is not None:
            return self._epoch + timedelta(seconds=loop.time())
        return own_wall() if own_wall is not None else datetime.now(UTC)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)

    def call_at(self, when: float, callback: Callable[[], None]) -> asyncio.TimerHandle:
        """Run ``callback`` on the loop at monotonic ``when``: a timer without a task (see recovery/deadlines.py)."""
        return self.loop.call_at(when, callback)
