"""Eager start: a coroutine runs where it is started, and goes on as a task only from its first wait."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

import pytest

from sessionmgr.recovery.eager import start_eagerly

pytestmark = pytest.mark.asyncio


def _spawner(spawned: list[asyncio.Task[Any]]) -> Any:
    def spawn(coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(coro)
        spawned.append(task)
        return task

    return spawn


async def test_a_coroutine_that_never_waits_runs_at_once_without_a_task() -> None:
    """Its effects are there when start_eagerly returns, and no task was made."""
    seen: list[str] = []

    async def act() -> None:
        seen.append("done")

    spawned: list[asyncio.Task[Any]] = []
    assert start_eagerly(act(), _spawner(spawned)) is None
    assert seen == ["done"] and spawned == []


async def test_a_coroutine_that_waits_goes_on_as_a_task_with_its_results() -> None:
    """Up to its first wait it runs now; the rest runs in the task, which gets the awaited results."""
    seen: list[object] = []
    gate: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    async def act() -> str:
        seen.append("before")
        seen.append(await gate)
        await asyncio.sleep(0)
        seen.append("after")
        return "result"

    spawned: list[asyncio.Task[Any]] = []
    task = start_eagerly(act(), _spawner(spawned))
    assert seen == ["before"] and spawned == [task]
    gate.set_result(7)
    assert task is not None and await task == "result"
    assert seen == ["before", 7, "after"]


async def test_cancelling_the_task_cancels_the_coroutine_inside() -> None:
    """A cancellation reaches the coroutine at its wait, so its cleanup runs."""
    cleaned: list[bool] = []

    async def act() -> None:
        try:
            await asyncio.sleep(3600)
        finally:
            cleaned.append(True)

    task = start_eagerly(act(), _spawner([]))
    assert task is not None
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert cleaned == [True]


@pytest.mark.handler_errors_expected
async def test_an_error_before_the_first_wait_is_logged_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    """As a failed task's would be: logged, and the caller that decided the action goes on."""

    async def act() -> None:
        raise RuntimeError("backend broke")

    assert start_eagerly(act(), _spawner([])) is None
    assert any("manager task failed" in r.message and r.exc_info for r in caplog.records)
