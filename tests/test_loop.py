"""The virtual-time loop: jumps, integers, deadlock injection, Runner and pytest-asyncio."""

from __future__ import annotations

import asyncio
import datetime as dt
import socket

import pytest

from harness.loop import DEFAULT_EPOCH, VirtualLoop, VirtualTimeDeadlock, run


def test_a_day_of_timers_takes_no_real_time() -> None:
    """24 virtual hours of sleeps finish at exactly 86400 s."""

    async def day() -> float:
        for _ in range(24):
            await asyncio.sleep(3600)
        return asyncio.get_running_loop().time()

    assert run(day()) == 86400.0


def test_time_is_integer_and_does_not_drift() -> None:
    """A million 1 ms steps land exactly on 1000 s: time is kept in integer nanoseconds."""

    async def steps() -> int:
        loop = asyncio.get_running_loop()
        assert isinstance(loop, VirtualLoop)
        for _ in range(100_000):
            await asyncio.sleep(0.01)
        return loop.time_ns()

    assert run(steps()) == 1_000 * 1_000_000_000


def test_deadlock_is_injected_into_the_waiting_task() -> None:
    """When every task waits with no timer, the waiter gets a clear deadlock error."""

    async def stuck() -> None:
        await asyncio.Event().wait()

    with pytest.raises(VirtualTimeDeadlock, match="deadlock at virtual t="):
        run(stuck())


def test_deadlock_reaches_tasks_waiting_on_tasks() -> None:
    """A task awaiting a deadlocked task sees the same error."""

    async def outer() -> None:
        inner = asyncio.create_task(asyncio.Queue[int]().get())
        await inner

    with pytest.raises(VirtualTimeDeadlock):
        run(outer())


def test_real_io_is_still_polled() -> None:
    """A socket pair still delivers data on the virtual loop."""

    async def echo() -> bytes:
        a, b = socket.socketpair()
        reader, writer = await asyncio.open_connection(sock=a)
        b.sendall(b"ping")
        data = await reader.readexactly(4)
        writer.close()
        b.close()
        return data

    assert run(echo()) == b"ping"


def test_wall_clock_follows_virtual_time_through_freezegun() -> None:
    """With the wall clock frozen, datetime.now() moves with the loop."""

    async def later() -> tuple[dt.datetime, dt.datetime]:
        before = dt.datetime.now(dt.UTC)
        await asyncio.sleep(90.5)
        return before, dt.datetime.now(dt.UTC)

    before, after = run(later(), loop_factory=lambda: VirtualLoop(freeze_wall_clock=True))
    assert before == DEFAULT_EPOCH
    assert after - before == dt.timedelta(seconds=90.5)


def test_advance_refuses_to_go_back() -> None:
    """Virtual time only moves forward."""
    loop = VirtualLoop()
    try:
        with pytest.raises(ValueError, match="only moves forward"):
            loop.advance(-1)
    finally:
        loop.close()


@pytest.mark.asyncio
@pytest.mark.virtual_time
async def test_pytest_asyncio_runs_marked_tests_on_the_virtual_loop() -> None:
    """The plugin hands virtual_time tests the virtual loop through pytest-asyncio."""
    loop = asyncio.get_running_loop()
    assert isinstance(loop, VirtualLoop)
    await asyncio.sleep(3600)
    assert loop.time() == 3600


def test_a_timer_due_past_194_days_of_virtual_time_runs() -> None:
    """Past 2**24 s a float step exceeds 1 ns, yet a timer due now still runs (it used to spin forever)."""
    loop = VirtualLoop()
    try:
        loop.advance(2.0**25)
        ran: list[float] = []
        loop.call_at(loop.time(), lambda: ran.append(loop.time()))
        loop.call_soon(loop.stop)
        loop.run_forever()  # one iteration: the stop callback ends it
        assert ran == [2.0**25]
    finally:
        loop.close()
