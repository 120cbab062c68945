"""TaskSupervisor.every: idle ticks are skipped until activity, on the same grid."""

from __future__ import annotations

import asyncio

import pytest

from sessionmgr.clock import LoopClock
from sessionmgr.events import DecryptOk, HealthChecked
from sessionmgr.recovery.tasks import TaskSupervisor

pytestmark = [pytest.mark.asyncio, pytest.mark.virtual_time]

DAY = 86_400.0


class Job:
    """A periodic job that records when it ran and says it is idle once ``busy`` runs are done."""

    def __init__(self, busy: int = 1) -> None:
        self.busy = busy
        self.ran: list[float] = []

    async def __call__(self) -> None:
        self.ran.append(asyncio.get_running_loop().time())

    def idle(self) -> bool:
        return len(self.ran) >= self.busy


def activity(at: float) -> DecryptOk:
    event = DecryptOk(session="bot")
    object.__setattr__(event, "t", at)
    return event


async def test_an_idle_job_costs_no_ticks_across_a_hundred_quiet_days() -> None:
    """A job that says it is idle runs once, not every 120 s, through a hundred days of nothing."""
    tasks = TaskSupervisor(LoopClock())
    job = Job()
    tasks.every(120, job, name="job", idle=job.idle)
    await asyncio.sleep(100 * DAY)
    await tasks.cancel_all()
    assert job.ran == [120.0]


async def test_activity_wakes_an_idle_job_at_its_next_tick_on_the_same_grid() -> None:
    """After activity at t = 1000.5 an idle 120 s job runs at 1080, its own grid's next tick, then idles again."""
    tasks = TaskSupervisor(LoopClock())
    job = Job(busy=1)
    tasks.every(120, job, name="job", idle=lambda: len(job.ran) not in (2,) and job.idle())
    await asyncio.sleep(1000.5)
    tasks.notice(activity(1000.5))
    job.busy = 2  # the woken tick finds work, the one after it does not
    await asyncio.sleep(DAY)
    await tasks.cancel_all()
    assert job.ran == [120.0, 1080.0, 1200.0]


async def test_activity_at_the_instant_of_a_skipped_tick_waits_for_the_next_tick() -> None:
    """The skipped tick came first and saw nothing to do: activity at that instant is taken at the next tick."""
    tasks = TaskSupervisor(LoopClock())
    job = Job()
    tasks.every(120, job, name="job", idle=job.idle)
    await asyncio.sleep(239)
    await asyncio.sleep(1)  # due after the tick at 240 (set later), which was skipped at this same instant
    tasks.notice(activity(240))
    job.busy = 2
    await asyncio.sleep(1000)
    await tasks.cancel_all()
    assert job.ran == [120.0, 360.0]


async def test_routine_reports_are_not_activity() -> None:
    """A health report published by a periodic job does not wake the idle jobs (they would wake each other)."""
    tasks = TaskSupervisor(LoopClock())
    job = Job()
    tasks.every(120, job, name="job", idle=job.idle)
    await asyncio.sleep(500)
    report = HealthChecked(session="*", sessions=0, unhealthy=0, corrupted=0)
    object.__setattr__(report, "t", 500.0)
    tasks.notice(report)
    job.busy = 2
    await asyncio.sleep(DAY)
    await tasks.cancel_all()
    assert job.ran == [120.0]


async def test_a_job_keeps_its_ticks_for_linger_seconds_after_activity() -> None:
    """Within ``linger`` seconds of the last activity an idle job still runs at every tick, then stops."""
    tasks = TaskSupervisor(LoopClock())
    job = Job(busy=0)
    tasks.notice(activity(0.0))
    tasks.every(120, job, name="job", idle=job.idle, linger=300)
    await asyncio.sleep(DAY)
    await tasks.cancel_all()
    assert job.ran == [120.0, 240.0]


async def test_a_job_without_idle_ticks_as_it_always_did() -> None:
    """Without ``idle`` a job runs at every tick, each ``interval`` after the previous run ended."""
    tasks = TaskSupervisor(LoopClock())
    job = Job()
    tasks.every(120, job, name="job")
    await asyncio.sleep(610)
    await tasks.cancel_all()
    assert job.ran == [120.0, 240.0, 360.0, 480.0, 600.0]


async def _wake_order(jobs: int) -> list[int]:
    """The order in which ``jobs`` idle jobs, due at one instant after activity, run."""
    tasks = TaskSupervisor(LoopClock())
    order: list[int] = []

    class Recording(Job):
        def __init__(self, index: int) -> None:
            super().__init__()
            self.index = index

        async def __call__(self) -> None:
            await super().__call__()
            if len(self.ran) > 1:
                order.append(self.index)

    each = [Recording(i) for i in range(jobs)]
    for job in each:
        tasks.every(120, job, name=f"job-{job.index}", idle=job.idle)
    start = asyncio.get_running_loop().time()
    await asyncio.sleep(DAY)  # all ran once and sleep until activity
    tasks.notice(activity(start + DAY))
    for job in each:
        job.busy = len(job.ran) + 1  # the activity gives each one more run's work
    await asyncio.sleep(240)
    await tasks.cancel_all()
    return order


async def test_idle_jobs_due_at_one_instant_wake_in_the_same_order_every_run() -> None:
    """Jobs due together after a wake run in a fixed order, not one that follows object addresses."""
    first = await _wake_order(40)
    assert sorted(first) == list(range(40))
    for _ in range(3):
        assert await _wake_order(40) == first
