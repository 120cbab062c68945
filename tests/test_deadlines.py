"""Deadlines: many instants behind one timer fire in order, on time, with a loop callback or a sleeping task."""

from __future__ import annotations

import asyncio
from datetime import datetime

import pytest

from sessionmgr.clock import Clock, LoopClock
from sessionmgr.recovery.deadlines import Deadlines
from sessionmgr.recovery.tasks import TaskSupervisor

pytestmark = [pytest.mark.asyncio, pytest.mark.virtual_time]


class SleepOnlyClock:
    """A clock with no ``call_at``: Deadlines must fall back to one sleeping task."""

    def __init__(self) -> None:
        self._inner = LoopClock()

    def monotonic(self) -> float:
        return self._inner.monotonic()

    def wall(self) -> datetime:
        return self._inner.wall()

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


@pytest.mark.parametrize("make_clock", [LoopClock, SleepOnlyClock], ids=["call_at", "sleeping task"])
async def test_instants_fire_in_order_on_time_even_when_an_earlier_one_comes_later(make_clock: type) -> None:
    """Pushed out of order (an earlier instant after a later one), each fires at its own time, ties by tiebreak."""
    clock: Clock = make_clock()
    loop = asyncio.get_running_loop()
    fired: list[tuple[str, float, float]] = []
    deadlines: Deadlines[str] = Deadlines(clock, TaskSupervisor(clock), lambda when, item: fired.append(
        (item, when, loop.time())))  # fmt: skip
    deadlines.push(10.0, "late")
    await asyncio.sleep(1)
    deadlines.push(4.0, "b", tiebreak="b")
    deadlines.push(4.0, "a", tiebreak="a")
    deadlines.push(2.0, "early")
    await asyncio.sleep(20)
    assert fired == [("early", 2.0, 2.0), ("a", 4.0, 4.0), ("b", 4.0, 4.0), ("late", 10.0, 10.0)]
    assert len(deadlines) == 0


async def test_cancelling_the_supervisors_tasks_disarms_the_callback() -> None:
    """Once the manager's tasks are cancelled (it closes), nothing pending fires, even armed in the same step."""
    clock = LoopClock()
    tasks = TaskSupervisor(clock)
    fired: list[str] = []
    deadlines: Deadlines[str] = Deadlines(clock, tasks, lambda when, item: fired.append(item))
    deadlines.push(5.0, "x")
    await tasks.cancel_all()
    await asyncio.sleep(10)
    assert fired == []


@pytest.mark.handler_errors_expected
async def test_a_failing_instant_is_logged_and_the_rest_still_fire(caplog: pytest.LogCaptureFixture) -> None:
    """One item's error is logged as a failed manager task's; later items are not lost with it."""
    clock = LoopClock()
    fired: list[str] = []

    def fire(when: float, item: str) -> None:
        if item == "bad":
            raise RuntimeError("broken")
        fired.append(item)

    deadlines: Deadlines[str] = Deadlines(clock, TaskSupervisor(clock), fire)
    for when, item in ((1.0, "bad"), (1.0, "ok"), (2.0, "later")):
        deadlines.push(when, item)
    await asyncio.sleep(3)
    assert fired == ["ok", "later"]
    assert any("manager task failed" in r.message for r in caplog.records)
