"""The root conftest's swallowed-error fixture, exercised in a separate pytest run (pytester).

The bus logs and skips a failing handler, and the task supervisor logs a failed task or periodic job, so
that production keeps running; in a test each of those must fail the test instead.
"""

from __future__ import annotations

from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

ROOT_CONFTEST = Path(__file__).resolve().parents[1] / "conftest.py"

# Each inner test provokes one kind of swallowed error; the last one is marked as expecting it.
INNER = """
import pytest

from harness import run
from sessionmgr import EventBus
from sessionmgr.clock import LoopClock
from sessionmgr.events import HealthChecked
from sessionmgr.recovery.tasks import TaskSupervisor


def explode(event):
    raise RuntimeError("evaluator bug")


def publish_to_a_broken_handler():
    bus = EventBus()
    bus.subscribe(explode)
    bus.publish(HealthChecked(session="*", sessions=0, unhealthy=0, corrupted=0))


def test_handler_raises():
    publish_to_a_broken_handler()


def test_action_task_raises():
    async def main():
        tasks = TaskSupervisor(LoopClock())

        async def broken():
            raise RuntimeError("sink bug")

        tasks.action(broken())
        await tasks.drain()

    run(main())


def test_periodic_job_raises():
    async def main():
        clock = LoopClock()
        tasks = TaskSupervisor(clock)

        async def broken():
            raise RuntimeError("stats bug")

        tasks.every(10, broken, name="broken")
        await clock.sleep(15)
        await tasks.cancel_all()

    run(main())


def test_clean():
    bus = EventBus()
    bus.subscribe(lambda event: None)
    bus.publish(HealthChecked(session="*", sessions=0, unhealthy=0, corrupted=0))


@pytest.mark.handler_errors_expected
def test_expected():
    publish_to_a_broken_handler()
"""


def test_swallowed_errors_fail_their_test_unless_marked_expected(pytester: pytest.Pytester) -> None:
    """A raising bus handler, action task or periodic job fails its test, naming logger and traceback; marked ones pass."""
    pytester.makeini("[pytest]\naddopts = --strict-markers\n")
    pytester.makeconftest(ROOT_CONFTEST.read_text(encoding="utf-8"))
    pytester.makepyfile(test_inner=INNER)
    # a subprocess, so the inner run's deliberate errors never reach this test's own fixture
    outcome = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-rA")
    outcome.assert_outcomes(passed=5, errors=3)
    lines = outcome.stdout.lines
    errored = sorted(line.split("::")[1].split()[0] for line in lines if line.startswith("ERROR test_inner.py::"))
    assert errored == ["test_action_task_raises", "test_handler_raises", "test_periodic_job_raises"]
    passed = sorted(line.split("::")[1].split()[0] for line in lines if line.startswith("PASSED test_inner.py::"))
    assert passed == sorted(["test_action_task_raises", "test_clean", "test_expected", "test_handler_raises",
                             "test_periodic_job_raises"])  # fmt: skip
    outcome.stdout.fnmatch_lines(
        [
            "*1 error(s) swallowed by sessionmgr during the test; first from sessionmgr.bus: event handler*failed on*",
            "*RuntimeError: evaluator bug*",
        ]
    )
    outcome.stdout.fnmatch_lines(["*first from sessionmgr.manager: manager task failed*", "*RuntimeError: sink bug*"])
    outcome.stdout.fnmatch_lines(["*first from sessionmgr.manager: periodic job*failed*", "*RuntimeError: stats bug*"])
