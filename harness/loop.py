"""An asyncio event loop on virtual time: it jumps to the next timer whenever nothing is ready."""

from __future__ import annotations

import asyncio
import math
import selectors
from collections.abc import Callable, Coroutine, Mapping
from concurrent.futures import Executor
from datetime import UTC, datetime, timedelta
from typing import Any, Final, TypeVar, TypeVarTuple

__all__ = ["DEFAULT_EPOCH", "VirtualLoop", "VirtualTimeDeadlock", "run"]

T = TypeVar("T")
Ts = TypeVarTuple("Ts")

#: Where virtual wall-clock time starts unless told otherwise: fixed, so runs reproduce.
DEFAULT_EPOCH: Final = datetime(2026, 1, 1, tzinfo=UTC)
#: One microsecond: ``epoch + _MICROSECOND * n`` is 2.5x quicker than ``timedelta(microseconds=n)``, and exact.
_MICROSECOND: Final = timedelta(microseconds=1)


class VirtualTimeDeadlock(RuntimeError):
    """Every task is waiting, no timer is set and no real I/O can arrive."""


class _VirtualSelector(selectors.BaseSelector):
    """Wraps a real selector: real I/O is still polled, but waiting is virtual."""

    def __init__(self) -> None:
        self._real = selectors.DefaultSelector()
        self.loop: VirtualLoop | None = None

    def register(self, fileobj: Any, events: int, data: Any = None) -> selectors.SelectorKey:
        return self._real.register(fileobj, events, data)

    def unregister(self, fileobj: Any) -> selectors.SelectorKey:
        return self._real.unregister(fileobj)

    def modify(self, fileobj: Any, events: int, data: Any = None) -> selectors.SelectorKey:
        return self._real.modify(fileobj, events, data)

    def get_map(self) -> Mapping[Any, selectors.SelectorKey]:
        return self._real.get_map()

    def close(self) -> None:
        self._real.close()

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        ready = self._real.select(0)
        if ready or (timeout is not None and timeout <= 0) or self.loop is None:
            return ready
        # Nothing can run now. asyncio asked to wait `timeout`: either until the
        # next timer (jump there) or, with no timer at all, forever. Work in an
        # executor is waited for in real time first: it wakes us through the self-pipe.
        if self.loop._in_executor:
            return self._real.select(None)
        if timeout is not None:
            self.loop._jump_to_next_timer()
            return []
        if self.loop._has_real_io():
            return self._real.select(None)
        self.loop._break_deadlock()
        return []


class VirtualLoop(asyncio.SelectorEventLoop):
    """A selector event loop whose ``time()`` is virtual.

    Time is kept as integer nanoseconds and only moves forward: when no
    callback is ready the loop jumps straight to the next timer, so a day of
    timers runs in milliseconds. If every task waits and no timer is set, each
    waiting task gets :class:`VirtualTimeDeadlock` raised at its ``await``.

    ``freeze_wall_clock=True`` makes ``datetime.now()``, ``time.time()`` and
    log-record times follow virtual time (through freezegun) from ``epoch``.
    """

    def __init__(self, *, epoch: datetime = DEFAULT_EPOCH, freeze_wall_clock: bool = False) -> None:
        selector = _VirtualSelector()
        super().__init__(selector)
        selector.loop = self
        self._now_ns = 0
        #: calls running in an executor: virtual time waits for them rather than jumping
        self._in_executor = 0
        self.epoch = epoch
        self._freezer: Any = None
        self._frozen: Any = None
        if freeze_wall_clock:
            self._freeze()

    def _freeze(self) -> None:
        import freezegun.api  # an extra: only needed when asked for

        self._frozen = freezegun.api.freeze_time(self.epoch, real_asyncio=False)
        factory = self._frozen.start()
        factories = getattr(freezegun.api, "freeze_factories", None)
        if isinstance(factories, list) and factories and factories[-1] is factory:
            # freezegun asks its newest factory for the time on every read: answer
            # from the loop, so a time jump costs nothing (a replay jumps per event)
            factories[-1] = lambda: self.wall().replace(tzinfo=None)
        else:
            self._freezer = factory  # a freezegun that works otherwise: move it on each jump

    def time(self) -> float:
        return self._now_ns / 1_000_000_000

    # asyncio runs the timers due before ``time() + _clock_resolution`` (1 ns). Past 2**24 s
    # (194 days) of virtual time a float step is wider than that: ``time() + 1e-9 == time()``,
    # a timer due now is never run and the loop spins forever. The resolution is the float
    # step at the current time, at least 1 ns.
    @property
    def _clock_resolution(self) -> float:
        return max(1e-9, 2 * math.ulp(self._now_ns / 1_000_000_000))

    @_clock_resolution.setter
    def _clock_resolution(self, _: float) -> None:
        pass  # set once by asyncio's constructor: ours follows the time

    def time_ns(self) -> int:
        """Virtual time in integer nanoseconds since the loop started."""
        return self._now_ns

    def wall(self) -> datetime:
        """Virtual wall-clock time: ``epoch`` plus the virtual time elapsed."""
        return self.epoch + _MICROSECOND * (self._now_ns // 1000)

    def advance(self, seconds: float) -> None:
        """Move virtual time forward by hand; timers that come due run on the next iteration."""
        if seconds < 0:
            raise ValueError(f"virtual time only moves forward; cannot advance by {seconds}")
        self._set_ns(self._now_ns + round(seconds * 1_000_000_000))

    def advance_to(self, seconds: float) -> bool:
        """Move time straight to ``seconds`` if nothing would run before then.

        Returns ``False`` (and leaves time alone) when a callback is ready or a
        timer is due first: then the caller must ``await asyncio.sleep`` so
        they run in order. Lets a replay skip the loop for quiet stretches.
        """
        target = round(seconds * 1_000_000_000)
        if target <= self._now_ns:
            return True
        scheduled: list[asyncio.TimerHandle] = self._scheduled  # type: ignore[attr-defined]
        if self._ready or (scheduled and scheduled[0].when() <= seconds):  # type: ignore[attr-defined]
            return False
        self._set_ns(target)
        return True

    def close(self) -> None:
        if self._frozen is not None:
            self._frozen.stop()
            self._frozen = self._freezer = None
        super().close()

    # --- the selector's hooks ---------------------------------------------------

    def _jump_to_next_timer(self) -> None:
        scheduled: list[asyncio.TimerHandle] = self._scheduled  # type: ignore[attr-defined]
        if not scheduled:
            return
        # Round, never bump: asyncio runs handles due within its clock resolution
        # (1 ns), and bumping would add a nanosecond of drift per timer.
        target = round(scheduled[0].when() * 1_000_000_000)
        if target > self._now_ns:
            self._set_ns(target)

    def _set_ns(self, ns: int) -> None:
        self._now_ns = ns
        if self._freezer is not None:
            self._freezer.move_to(self.wall())

    def run_in_executor(self, executor: Executor | None, func: Callable[[*Ts], T], *args: *Ts) -> asyncio.Future[T]:
        # Work on another thread takes real time; virtual time must not race
        # ahead meanwhile, or a database write would land at an arbitrary instant.
        future = super().run_in_executor(executor, func, *args)
        self._in_executor += 1
        future.add_done_callback(self._executor_done)
        return future

    def _executor_done(self, _: object) -> None:
        self._in_executor -= 1

    def _has_real_io(self) -> bool:
        own = self._ssock.fileno()  # type: ignore[attr-defined]
        return any(key.fd != own for key in self._selector.get_map().values())  # type: ignore[attr-defined]

    def _break_deadlock(self) -> None:
        # Inject the error where each task waits; a task waiting on another task
        # gets it when that one fails. Raising here would escape run_forever().
        injected = False
        for task in asyncio.all_tasks(self):
            waiter = getattr(task, "_fut_waiter", None)
            if isinstance(waiter, asyncio.Future) and not isinstance(waiter, asyncio.Task) and not waiter.done():
                waiter.set_exception(
                    VirtualTimeDeadlock(
                        f"deadlock at virtual t={self.time():.3f}s: every task is waiting, "
                        f"no timer is set and no I/O can arrive (task {task.get_name()!r})"
                    )
                )
                injected = True
        if not injected:
            self.stop()


def run(main: Coroutine[Any, Any, T], *, loop_factory: Callable[[], VirtualLoop] = VirtualLoop) -> T:
    """Run a coroutine to completion on a fresh virtual-time loop (like ``asyncio.run``)."""
    with asyncio.Runner(loop_factory=loop_factory) as runner:
        return runner.run(main)
