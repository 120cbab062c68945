"""Clocks: the only way core code learns the time or waits."""

from __future__ import annotations

import asyncio
import heapq
import itertools
from datetime import UTC, datetime, timedelta
from typing import Protocol, runtime_checkable

__all__ = ["Clock", "LoopClock", "ManualClock", "to_ns"]


def to_ns(seconds: float) -> int:
    """Seconds as integer nanoseconds, so window comparisons are exact."""
    return round(seconds * 1_000_000_000)


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

    Wall time is ``epoch + loop.time()`` when an epoch is given, which keeps it
    exactly in step with virtual time; otherwise it is the system's UTC time.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop | None = None, *, epoch: datetime | None = None):
        self._loop = loop
        self._epoch = epoch

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        return self._loop if self._loop is not None else asyncio.get_running_loop()

    def monotonic(self) -> float:
        return self.loop.time()

    def wall(self) -> datetime:
        if self._epoch is not None:
            return self._epoch + timedelta(seconds=self.loop.time())
        return datetime.now(UTC)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


class ManualClock:
    """A clock that moves only when told to, and only forward.

    ``sleep`` waits until :meth:`advance` carries the clock past its deadline,
    so timer logic can be stepped through without an event loop of its own.
    """

    def __init__(self, start: float = 0.0, *, epoch: datetime = datetime(2026, 1, 1, tzinfo=UTC)):
        self._now = start
        self._epoch = epoch
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._seq = itertools.count()

    def monotonic(self) -> float:
        return self._now

    def wall(self) -> datetime:
        return self._epoch + timedelta(seconds=self._now)

    async def sleep(self, seconds: float) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (self._now + max(0.0, seconds), next(self._seq), future))
        await future

    def advance(self, seconds: float) -> None:
        """Move time forward by ``seconds``, waking every sleeper whose deadline passed."""
        if seconds < 0:
            raise ValueError(f"time only moves forward; cannot advance by {seconds}")
        self._now += seconds
        while self._sleepers and self._sleepers[0][0] <= self._now:
            _, _, future = heapq.heappop(self._sleepers)
            if not future.done():
                future.set_result(None)

    @property
    def next_deadline(self) -> float | None:
        """When the earliest sleeper wakes, if any is waiting."""
        return self._sleepers[0][0] if self._sleepers else None
